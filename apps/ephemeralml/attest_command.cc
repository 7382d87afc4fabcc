#include "attest_command.h"

#include <ctime>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "attest/nitro/aws_root.h"
#include "attest/nitro/document.h"
#include "attest/nitro/nitro_verifier.h"
#include "cli_util.h"
#include "common/encoding.h"
#include "crypto/x509.h"

namespace eml::apps {
namespace {

constexpr size_t kMaxRootFileBytes = 64 * 1024;

struct AttestVerifyFlags {
  std::string file;
  std::string root;
  std::string at = "now";
  std::vector<std::string> expect_pcr;
  std::string expect_nonce;
  int64_t max_age_s = -1;  // -1: no freshness limit
  bool production = false;
  std::string format = "text";
};

Result<crypto::Certificate> LoadRoot(const std::string& path) {
  if (path.empty()) {
    return attest::nitro::AwsNitroRootG1();
  }
  EML_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ReadFileCapped(path, kMaxRootFileBytes));
  Result<crypto::Certificate> pem =
      crypto::Certificate::FromPem(std::string(bytes.begin(), bytes.end()));
  if (pem.has_value()) {
    return pem;
  }
  Result<crypto::Certificate> der = crypto::Certificate::FromDer(bytes);
  if (!der.has_value()) {
    return Error{ErrorCode::kInvalidArgument, "--root: not a PEM or DER certificate"};
  }
  return der;
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

Result<attest::nitro::Policy> BuildPolicy(const AttestVerifyFlags& flags) {
  attest::nitro::Policy policy;
  policy.allow_debug = !flags.production;
  for (const std::string& pin : flags.expect_pcr) {
    const size_t eq = pin.find('=');
    const std::string index = pin.substr(0, eq);
    if (eq == std::string::npos || index.empty() || index.size() > 2 ||
        index.find_first_not_of("0123456789") != std::string::npos) {
      return Error{ErrorCode::kInvalidArgument, "--expect-pcr must be N=HEX"};
    }
    EML_ASSIGN_OR_RETURN(std::vector<uint8_t> value,
                         HexDecodeExact(pin.substr(eq + 1), attest::nitro::kSha384PcrBytes));
    policy.pcr_pins[static_cast<uint32_t>(std::stoul(index))] = std::move(value);
  }
  if (!flags.expect_nonce.empty()) {
    EML_ASSIGN_OR_RETURN(policy.expected_nonce, HexDecode(flags.expect_nonce));
  }
  if (flags.max_age_s >= 0) {
    policy.max_age_s = flags.max_age_s;
  }
  return policy;
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
  out << "debug: " << (r.debug ? "yes (PCR0 all zero)" : "no") << "\n";
  for (const auto& [index, value] : r.measurements) {
    out << "pcr" << index << ": " << HexEncode(value) << "\n";
  }
  auto optional_hex = [&out](const char* name, const std::optional<std::vector<uint8_t>>& v) {
    out << name << ": " << (v.has_value() ? HexEncode(*v) : std::string("(none)")) << "\n";
  };
  optional_hex("public_key", r.public_key);
  optional_hex("user_data", r.user_data);
  optional_hex("nonce", r.nonce);
}

Result<int> RunVerify(const AttestVerifyFlags& flags) {
  if (flags.format != "text" && flags.format != "json") {
    return Error{ErrorCode::kInvalidArgument, "--format must be text or json"};
  }
  EML_ASSIGN_OR_RETURN(crypto::Certificate root, LoadRoot(flags.root));
  EML_ASSIGN_OR_RETURN(int64_t time_unix, ParseTime(flags.at));
  EML_ASSIGN_OR_RETURN(attest::nitro::Policy policy, BuildPolicy(flags));
  EML_ASSIGN_OR_RETURN(std::unique_ptr<attest::nitro::NitroVerifier> verifier,
                       attest::nitro::NitroVerifier::New(std::move(root), std::move(policy)));
  EML_ASSIGN_OR_RETURN(std::vector<uint8_t> doc,
                       ReadFileCapped(flags.file, attest::nitro::kMaxDocumentBytes));
  EML_ASSIGN_OR_RETURN(attest::Verification v, verifier->Verify(doc, time_unix));
  if (flags.format == "json") {
    std::cout << v.report.ToJson() << "\n";
  } else {
    PrintText(v.report, std::cout);
  }
  if (v.report.verified) {
    if (v.report.debug) {
      std::cerr << "ephemeralml: warning: debug-mode enclave (PCR0 all zero); use --production "
                   "to reject\n";
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
      "verify", "Verify an AWS Nitro (or sim) attestation document (exit 0 = verified)");
  cmd->add_option("FILE", flags->file, "Attestation document, raw CBOR")->required();
  cmd->add_option("--root", flags->root,
                  "Pinned root certificate, PEM or DER (default: AWS Nitro Enclaves Root-G1)");
  cmd->add_option("--at", flags->at, "Verification time: unix seconds or 'now' (default)");
  cmd->add_option("--expect-pcr", flags->expect_pcr, "PCR pin N=HEX (48 bytes); repeatable");
  cmd->add_option("--expect-nonce", flags->expect_nonce, "Expected nonce, hex");
  cmd->add_option("--max-age", flags->max_age_s, "Maximum document age in seconds (default: none)");
  cmd->add_flag("--production", flags->production, "Reject debug-mode enclaves");
  cmd->add_option("--format", flags->format, "text (default) or json");
  cmd->callback([flags] { FinishCommand(RunVerify(*flags)); });
}

}  // namespace eml::apps
