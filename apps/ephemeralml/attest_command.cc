#include "attest_command.h"

#include <ctime>
#include <filesystem>
#include <iostream>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "attest/builtin_roots.h"
#include "attest/envelope.h"
#include "attest/nitro/document.h"
#include "attest/nitro/nitro_verifier.h"
#include "attest/policy.h"
#include "cli_util.h"
#include "common/encoding.h"
#include "crypto/x509.h"

namespace eml::apps {
namespace {

constexpr size_t kMaxRootFileBytes = 64 * 1024;
// The largest evidence of any platform: a TDX quote with its PCK chain, an SEV-SNP report with
// its certificate table (64 KiB), a Confidential Space token.
constexpr size_t kMaxEvidenceFileBytes = 256 * 1024;

struct AttestVerifyFlags {
  std::string file;
  std::string platform = "auto";
  std::string policy;
  std::string root;
  std::string collateral;
  std::string jwks;
  std::string audience;
  std::string at = "now";
  std::vector<std::string> expect_pcr;
  std::string expect_nonce;
  std::string expect_public_key;
  int64_t max_age_s = -1;  // -1: no freshness limit
  bool production = false;
  std::string format = "text";
};

// LoadCertificates reads a PEM (one or more certificates) or DER file.
Result<std::vector<crypto::Certificate>> LoadCertificates(const std::string& path,
                                                          const char* flag) {
  EML_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ReadFileCapped(path, kMaxRootFileBytes));
  const std::string text(bytes.begin(), bytes.end());
  if (text.find("-----BEGIN") != std::string::npos) {
    Result<std::vector<crypto::Certificate>> pem = crypto::Certificate::ParsePemBundle(text);
    if (pem.has_value() && !pem->empty()) {
      return pem;
    }
  }
  Result<crypto::Certificate> der = crypto::Certificate::FromDer(bytes);
  if (!der.has_value()) {
    return Error{ErrorCode::kInvalidArgument,
                 std::string(flag) + ": " + path + " is not a PEM or DER certificate"};
  }
  std::vector<crypto::Certificate> out;
  out.push_back(*std::move(der));
  return out;
}

// PlatformOf maps --platform (or, for auto, the detected evidence kind) to a policy name.
Result<std::string> PlatformOf(const std::string& flag, std::span<const uint8_t> evidence) {
  if (flag == "nitro") {
    return std::string(attest::kPlatformAwsNitro);
  }
  if (flag == "tdx" || flag == "sev-snp" || flag == "gcp-cs") {
    return flag;
  }
  if (flag != "auto") {
    return Error{ErrorCode::kInvalidArgument,
                 "--platform must be auto, nitro, tdx, sev-snp or gcp-cs"};
  }
  switch (attest::DetectEvidenceKind(evidence)) {
    case attest::EvidenceKind::kNitroDocument:
      return std::string(attest::kPlatformAwsNitro);
    case attest::EvidenceKind::kTdxQuote:
      return std::string(attest::kPlatformTdx);
    case attest::EvidenceKind::kSevSnpReport:
      return std::string(attest::kPlatformSevSnp);
    case attest::EvidenceKind::kJwt:
      return std::string(attest::kPlatformGcpCs);
    case attest::EvidenceKind::kEnvelope: {
      // The envelope names its platform; a broken one is reported by the policy verifier.
      Result<attest::EvidenceEnvelope> envelope = attest::DecodeEnvelope(evidence);
      if (envelope.has_value()) {
        return envelope->platform;
      }
      break;
    }
    case attest::EvidenceKind::kUnknown:
      break;
  }
  // Let the policy verifier report the unknown format (exit 1, POLICY_UNKNOWN_EVIDENCE).
  return std::string(attest::kPlatformAwsNitro);
}

// SnpCertificates loads every certificate file of an SEV-SNP --collateral folder.
Result<std::vector<crypto::Certificate>> SnpCertificates(const std::string& dir) {
  std::vector<crypto::Certificate> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string ext = entry.path().extension().string();
    if (entry.is_regular_file() &&
        (ext == ".pem" || ext == ".der" || ext == ".crt" || ext == ".cer")) {
      EML_ASSIGN_OR_RETURN(std::vector<crypto::Certificate> certs,
                           LoadCertificates(entry.path().string(), "--collateral"));
      for (crypto::Certificate& c : certs) {
        out.push_back(std::move(c));
      }
    }
  }
  if (ec) {
    return Error{ErrorCode::kIoError, "--collateral: cannot list " + dir};
  }
  return out;
}

// PolicyFromFlags builds a one-platform evidence policy from the command-line flags.
Result<attest::EvidencePolicy> PolicyFromFlags(const AttestVerifyFlags& flags,
                                               const std::string& platform) {
  attest::EvidencePolicy policy;
  policy.allow_debug = !flags.production;
  if (flags.max_age_s >= 0) {
    policy.max_evidence_age_s = flags.max_age_s;
  }
  attest::PlatformPolicy entry;
  if (!flags.root.empty()) {
    EML_ASSIGN_OR_RETURN(entry.roots, LoadCertificates(flags.root, "--root"));
  } else {
    EML_ASSIGN_OR_RETURN(entry.roots, attest::BuiltInRoots(platform));
  }
  for (const std::string& pin : flags.expect_pcr) {
    const size_t eq = pin.find('=');
    const std::string index = pin.substr(0, eq);
    if (eq == std::string::npos || index.empty() || index.size() > 2 ||
        index.find_first_not_of("0123456789") != std::string::npos) {
      return Error{ErrorCode::kInvalidArgument, "--expect-pcr must be N=HEX"};
    }
    EML_ASSIGN_OR_RETURN(std::vector<uint8_t> value,
                         HexDecodeExact(pin.substr(eq + 1), attest::nitro::kSha384PcrBytes));
    entry.pcr_pins[static_cast<uint32_t>(std::stoul(index))] = std::move(value);
  }
  if (!entry.pcr_pins.empty() && platform != attest::kPlatformAwsNitro) {
    return Error{ErrorCode::kInvalidArgument, "--expect-pcr is for Nitro documents"};
  }
  if (platform == attest::kPlatformTdx) {
    if (flags.collateral.empty()) {
      return Error{ErrorCode::kInvalidArgument,
                   "TDX needs --collateral DIR (Intel PCS tcbInfo, QE identity, CRLs)"};
    }
    entry.collateral_dir = flags.collateral;
    entry.tcb_statuses = {"UpToDate"};
    if (!flags.production) {
      // Without --production, report the TCB verdict instead of refusing a stale platform.
      entry.tcb_statuses = {"UpToDate",
                            "SWHardeningNeeded",
                            "ConfigurationNeeded",
                            "ConfigurationAndSWHardeningNeeded",
                            "OutOfDate",
                            "OutOfDateConfigurationNeeded",
                            "NotSupported"};
    }
  } else if (platform == attest::kPlatformSevSnp && !flags.collateral.empty()) {
    EML_ASSIGN_OR_RETURN(entry.certificates, SnpCertificates(flags.collateral));
  } else if (platform == attest::kPlatformGcpCs) {
    if (flags.audience.empty()) {
      return Error{ErrorCode::kInvalidArgument, "gcp-cs tokens need --audience"};
    }
    entry.audience = flags.audience;
    if (!flags.jwks.empty()) {
      entry.jwks_file = flags.jwks;
    }
  }
  std::string name = platform;
  if (platform == attest::kPlatformAwsNitro && !flags.root.empty()) {
    // A Nitro-format document under a root other than AWS's is, by the policy's rules, "sim".
    EML_ASSIGN_OR_RETURN(std::vector<crypto::Certificate> aws,
                         attest::BuiltInRoots(attest::kPlatformAwsNitro));
    const bool is_aws =
        entry.roots.size() == 1 && entry.roots[0].Sha256Fingerprint() == aws[0].Sha256Fingerprint();
    if (!is_aws) {
      name = attest::kPlatformSim;
    }
  }
  policy.platforms.emplace(name, std::move(entry));
  return policy;
}

// PolicyFromFile loads --policy; --platform then keeps only that platform's entries.
Result<attest::EvidencePolicy> PolicyFromFile(const AttestVerifyFlags& flags) {
  if (!flags.root.empty() || !flags.collateral.empty() || !flags.jwks.empty() ||
      !flags.audience.empty() || !flags.expect_pcr.empty() || flags.max_age_s >= 0) {
    return Error{ErrorCode::kInvalidArgument,
                 "--policy replaces --root, --collateral, --jwks, --audience, --expect-pcr and "
                 "--max-age"};
  }
  EML_ASSIGN_OR_RETURN(attest::EvidencePolicy policy, attest::LoadEvidencePolicyFile(flags.policy));
  if (flags.production) {
    policy.allow_debug = false;
  }
  if (flags.platform != "auto") {
    EML_ASSIGN_OR_RETURN(std::string keep, PlatformOf(flags.platform, {}));
    for (auto it = policy.platforms.begin(); it != policy.platforms.end();) {
      const bool nitro_pair =
          keep == attest::kPlatformAwsNitro && it->first == attest::kPlatformSim;
      it = (it->first == keep || nitro_pair) ? std::next(it) : policy.platforms.erase(it);
    }
    if (policy.platforms.empty()) {
      return Error{ErrorCode::kInvalidArgument,
                   "--platform " + flags.platform + ": the policy does not allow it"};
    }
  }
  return policy;
}

Result<int64_t> ParseTime(const std::string& at) {
  if (at == "now") {
    return static_cast<int64_t>(std::time(nullptr));
  }
  if (at.empty() || at.size() > 12 || at.find_first_not_of("0123456789") != std::string::npos) {
    return Error{ErrorCode::kInvalidArgument, "--at must be unix seconds or 'now'"};
  }
  return static_cast<int64_t>(std::stoll(at));
}

void PrintText(const attest::VerificationReport& r, std::ostream& out) {
  out << "platform: " << r.platform << "\n";
  out << "verified: " << (r.verified ? "yes" : "no") << "\n";
  out << "verification_time_unix: " << r.verification_time_unix << "\n";
  out << "document_sha256: " << HexEncode(r.document_sha256) << "\n";
  for (const attest::StepResult& step : r.steps) {
    out << "  " << step.name << ": " << attest::StepStatusName(step.status);
    if (step.status == attest::StepStatus::kFailed) {
      out << " " << ErrorCodeName(step.code);
    }
    out << "\n";
  }
  if (!r.module_id.empty()) {
    out << "module_id: " << r.module_id << "\n";
  }
  if (r.timestamp_ms.has_value()) {
    out << "timestamp_ms: " << *r.timestamp_ms << "\n";
  }
  out << "debug: " << (r.debug ? "yes" : "no") << "\n";
  for (const auto& [index, value] : r.measurements) {
    out << "pcr" << index << ": " << HexEncode(value) << "\n";
  }
  for (const auto& [name, value] : r.named_measurements) {
    out << name << ": " << HexEncode(value) << "\n";
  }
  for (const auto& [name, value] : r.attributes) {
    out << name << ": " << value << "\n";
  }
  if (!r.tcb_status.empty()) {
    out << "tcb_status: " << r.tcb_status << "\n";
  }
  auto optional_hex = [&out](const char* name, const std::optional<std::vector<uint8_t>>& v) {
    out << name << ": " << (v.has_value() ? HexEncode(*v) : std::string("(none)")) << "\n";
  };
  optional_hex("public_key", r.public_key);
  optional_hex("user_data", r.user_data);
  optional_hex("nonce", r.nonce);
  if (r.report_data.has_value()) {
    optional_hex("report_data", r.report_data);
  }
}

Result<int> RunVerify(const AttestVerifyFlags& flags) {
  if (flags.format != "text" && flags.format != "json") {
    return Error{ErrorCode::kInvalidArgument, "--format must be text or json"};
  }
  EML_ASSIGN_OR_RETURN(int64_t time_unix, ParseTime(flags.at));
  attest::BindingExpectation binding;
  if (!flags.expect_nonce.empty()) {
    EML_ASSIGN_OR_RETURN(binding.nonce, HexDecode(flags.expect_nonce));
  }
  if (!flags.expect_public_key.empty()) {
    EML_ASSIGN_OR_RETURN(binding.public_key, HexDecode(flags.expect_public_key));
  }
  EML_ASSIGN_OR_RETURN(std::vector<uint8_t> doc, ReadFileCapped(flags.file, kMaxEvidenceFileBytes));
  attest::EvidencePolicy policy;
  if (!flags.policy.empty()) {
    EML_ASSIGN_OR_RETURN(policy, PolicyFromFile(flags));
  } else {
    EML_ASSIGN_OR_RETURN(std::string platform, PlatformOf(flags.platform, doc));
    EML_ASSIGN_OR_RETURN(policy, PolicyFromFlags(flags, platform));
  }
  EML_ASSIGN_OR_RETURN(attest::PolicyVerifier verifier,
                       attest::PolicyVerifier::Create(std::move(policy)));
  EML_ASSIGN_OR_RETURN(attest::Verification v, verifier.Verify(doc, time_unix, binding));
  if (flags.format == "json") {
    std::cout << v.report.ToJson() << "\n";
  } else {
    PrintText(v.report, std::cout);
  }
  if (v.report.verified) {
    if (v.report.debug) {
      std::cerr << "ephemeralml: warning: debug-mode evidence; use --production to reject\n";
    }
    return kExitOk;
  }
  for (const attest::StepResult& step : v.report.steps) {
    if (step.status == attest::StepStatus::kFailed) {
      std::cerr << "ephemeralml: attestation not verified: " << step.name << " "
                << ErrorCodeName(step.code) << "\n";
      break;
    }
  }
  return kExitNotVerified;
}

}  // namespace

void AddAttestCommands(CLI::App& app) {
  CLI::App* attest = GetOrAddSubcommand(app, "attest", "Attestation evidence");
  auto flags = std::make_shared<AttestVerifyFlags>();
  CLI::App* cmd = attest->add_subcommand(
      "verify",
      "Verify attestation evidence: Nitro/sim, TDX, SEV-SNP, GCP Confidential Space (exit 0 = "
      "verified)");
  cmd->add_option("FILE", flags->file,
                  "Evidence: Nitro document (CBOR), TDX quote, SEV-SNP report, or GCP token")
      ->required();
  cmd->add_option("--platform", flags->platform,
                  "auto (default: detect), nitro, tdx, sev-snp or gcp-cs");
  cmd->add_option("--policy", flags->policy,
                  "Evidence policy file (docs/attestation.md); replaces the pinning flags");
  cmd->add_option("--root", flags->root,
                  "Pinned root certificate(s), PEM or DER (default: the platform's built-in root)");
  cmd->add_option("--collateral", flags->collateral,
                  "TDX: Intel PCS collateral folder; SEV-SNP: folder of VCEK/ASK certificates");
  cmd->add_option("--jwks", flags->jwks, "GCP: JWKS file for OIDC tokens (default: PKI tokens)");
  cmd->add_option("--audience", flags->audience, "GCP: the audience the token must name");
  cmd->add_option("--at", flags->at, "Verification time: unix seconds or 'now' (default)");
  cmd->add_option("--expect-pcr", flags->expect_pcr, "Nitro PCR pin N=HEX (48 bytes); repeatable");
  cmd->add_option("--expect-nonce", flags->expect_nonce, "Expected bound nonce, hex");
  cmd->add_option("--expect-public-key", flags->expect_public_key,
                  "Expected bound public key, hex");
  cmd->add_option("--max-age", flags->max_age_s, "Maximum evidence age in seconds (default: none)");
  cmd->add_flag("--production", flags->production,
                "Reject debug evidence (and, for TDX, any TCB status but UpToDate)");
  cmd->add_option("--format", flags->format, "text (default) or json");
  cmd->callback([flags] { FinishCommand(RunVerify(*flags)); });
}

}  // namespace eml::apps
