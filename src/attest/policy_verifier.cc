// PolicyVerifier (attest/policy.h): evidence kind detection and dispatch to the platform
// verifiers, plus the checks the policy adds on top of them. The wiring table of STYLE L3 is
// the switch in PolicyVerifier::Verify.

#include <algorithm>
#include <memory>
#include <utility>

#include <fstream>

#include "attest/envelope.h"
#include "attest/gcp/claims.h"
#include "attest/gcp/gcp_verifier.h"
#include "attest/gcp/jwks.h"
#include "attest/gcp/jwt.h"
#include "attest/nitro/document.h"
#include "attest/nitro/nitro_verifier.h"
#include "attest/policy.h"
#include "attest/report_binding.h"
#include "attest/sevsnp/snp_verifier.h"
#include "attest/tdx/tdx_verifier.h"
#include "common/byte_reader.h"
#include "common/encoding.h"
#include "common/secret_bytes.h"
#include "crypto/hash.h"

namespace eml::attest {
namespace {

constexpr int64_t kMaxVerificationTimeS = int64_t{9} * 1000 * 1000 * 1000;  // year 2255
constexpr size_t kSevSnpReportBytes = 0x4A0;
constexpr size_t kSevSnpSignatureAlgoOffset = 0x34;
constexpr size_t kTdxQuoteMinBytes = 48 + 584;  // header + TD report body (v4)
constexpr uint32_t kTdxTeeType = 0x81;

StepResult Step(const char* name, StepStatus status, ErrorCode code = ErrorCode::kOk,
                std::string detail = {}) {
  return StepResult{name, status, code, std::move(detail)};
}

StepResult Passed(const char* name, std::string detail = {}) {
  return Step(name, StepStatus::kPassed, ErrorCode::kOk, std::move(detail));
}

StepResult Failed(const char* name, ErrorCode code, std::string detail) {
  return Step(name, StepStatus::kFailed, code, std::move(detail));
}

StepResult NotApplicable(const char* name) { return Step(name, StepStatus::kNotApplicable); }

// A report for evidence the policy refuses before any platform verifier runs.
Verification Refused(std::span<const uint8_t> evidence, int64_t now_unix, std::string platform,
                     std::vector<StepResult> steps) {
  Verification v;
  v.report.platform = std::move(platform);
  v.report.verification_time_unix = now_unix;
  v.report.document_sha256 = crypto::Sha256(evidence);
  v.report.steps = std::move(steps);
  v.report.verified = false;
  return v;
}

// NitroPolicy: the Nitro verifier's policy for one sim / aws-nitro entry and binding.
nitro::Policy NitroPolicy(const EvidencePolicy& policy, const PlatformPolicy& platform,
                          const BindingExpectation& binding) {
  nitro::Policy out;
  out.pcr_pins = platform.pcr_pins;
  out.allow_debug = policy.allow_debug;
  out.max_age_s = policy.max_evidence_age_s;
  out.expected_nonce = binding.nonce;
  out.expected_public_key = binding.public_key;
  return out;
}

// BindingStep: TDX / SEV-SNP report data must equal BindingDigest(key, nonce).
StepResult BindingStep(const VerificationReport& report, const BindingExpectation& binding) {
  if (!binding.nonce.has_value() && !binding.public_key.has_value()) {
    return NotApplicable("binding");
  }
  const std::vector<uint8_t> none;
  const std::array<uint8_t, kReportDataBytes> expected =
      BindingDigest(binding.public_key.value_or(none), binding.nonce.value_or(none));
  if (!report.report_data.has_value() || !ConstantTimeEquals(expected, *report.report_data)) {
    return Failed("binding", ErrorCode::kPolicyBindingMismatch,
                  "report data does not bind the expected key and nonce");
  }
  return Passed("binding");
}

// BindingRequiredStep: the policy's "binding" requirement against what the caller expects.
StepResult BindingRequiredStep(const BindingRequirement& required,
                               const BindingExpectation& binding) {
  if (!required.require_public_key && !required.require_nonce) {
    return NotApplicable("binding_required");
  }
  std::string missing;
  if (required.require_public_key &&
      (!binding.public_key.has_value() || binding.public_key->empty())) {
    missing = "a public key";
  }
  if (required.require_nonce && (!binding.nonce.has_value() || binding.nonce->empty())) {
    missing += missing.empty() ? "a nonce" : " and a nonce";
  }
  if (!missing.empty()) {
    return Failed(
        "binding_required", ErrorCode::kPolicyBindingRequired,
        "the policy requires the evidence to bind " + missing + " but the verifier was given none");
  }
  return Passed("binding_required");
}

// SupportAttributesStep: every attribute the gcp-cs policy lists is among the token's
// submods.confidential_space.support_attributes. The token's signature is the GCP verifier's
// business; this step only reads the claims (not_run when they do not decode).
StepResult SupportAttributesStep(const PlatformPolicy& platform, std::span<const uint8_t> token) {
  if (platform.support_attributes.empty()) {
    return NotApplicable("support_attributes");
  }
  Result<gcp::ParsedJwt> jwt = gcp::ParseJwt(token);
  Result<gcp::Claims> claims =
      jwt.has_value() ? gcp::DecodeClaims(jwt->payload) : Result<gcp::Claims>(jwt.error());
  if (!claims.has_value()) {
    return Step("support_attributes", StepStatus::kNotRun, ErrorCode::kOk,
                "the token's claims do not decode");
  }
  for (const std::string& wanted : platform.support_attributes) {
    if (std::find(claims->support_attributes.begin(), claims->support_attributes.end(), wanted) ==
        claims->support_attributes.end()) {
      return Failed("support_attributes", ErrorCode::kPolicySupportAttribute,
                    "the token's support_attributes lack \"" + wanted + "\"");
    }
  }
  return Passed("support_attributes");
}

Result<std::vector<uint8_t>> ReadSmallFile(const std::filesystem::path& path, size_t max_bytes) {
  std::error_code ec;
  const uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec) {
    return Error{ErrorCode::kNotFound, "cannot stat " + path.string()};
  }
  if (size > max_bytes) {
    return Error{ErrorCode::kLimitExceeded, path.string() + " is larger than the limit"};
  }
  std::ifstream in(path, std::ios::binary);
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  std::vector<char> buffer(bytes.size());
  if (!in || !in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()))) {
    return Error{ErrorCode::kIoError, "cannot read " + path.string()};
  }
  std::copy(buffer.begin(), buffer.end(), bytes.begin());
  return bytes;
}

bool AllPassed(const VerificationReport& report) {
  return std::none_of(report.steps.begin(), report.steps.end(),
                      [](const StepResult& s) { return s.status == StepStatus::kFailed; });
}

}  // namespace

EvidenceKind DetectEvidenceKind(std::span<const uint8_t> evidence) {
  ByteReader r(evidence);
  uint8_t first = 0;
  if (!r.PeekU8(&first)) {
    return EvidenceKind::kUnknown;
  }
  if (LooksLikeEnvelope(evidence)) {
    return EvidenceKind::kEnvelope;
  }
  // COSE_Sign1: a CBOR array of 4, untagged (Nitro) or with tag 18 (refused later, clearly).
  if (first == 0x84 || first == 0xD2) {
    return EvidenceKind::kNitroDocument;
  }
  // Compact JWS: the base64url of '{"' is "eyJ".
  if (evidence.size() >= 3 && evidence[0] == 'e' && evidence[1] == 'y' && evidence[2] == 'J') {
    return EvidenceKind::kJwt;
  }
  uint16_t version = 0;
  uint16_t key_type = 0;
  uint32_t tee_type = 0;
  if (evidence.size() >= kTdxQuoteMinBytes && r.ReadU16Le(&version) && r.ReadU16Le(&key_type) &&
      r.ReadU32Le(&tee_type) && (version == 4 || version == 5) && key_type == 2 &&
      tee_type == kTdxTeeType) {
    return EvidenceKind::kTdxQuote;
  }
  // SEV-SNP: the report (optionally followed by a certificate table) starts with its version
  // and has signature_algo 1 (ECDSA P-384) at offset 0x34.
  ByteReader snp(evidence);
  uint32_t snp_version = 0;
  uint32_t signature_algo = 0;
  if (evidence.size() >= kSevSnpReportBytes && snp.ReadU32Le(&snp_version) && snp_version >= 2 &&
      snp_version <= 5 && snp.Skip(kSevSnpSignatureAlgoOffset - 4) &&
      snp.ReadU32Le(&signature_algo) && signature_algo == 1) {
    return EvidenceKind::kSevSnpReport;
  }
  return EvidenceKind::kUnknown;
}

const char* EvidenceKindName(EvidenceKind kind) {
  switch (kind) {
    case EvidenceKind::kUnknown:
      return "unknown";
    case EvidenceKind::kNitroDocument:
      return "nitro-document";
    case EvidenceKind::kTdxQuote:
      return "tdx-quote";
    case EvidenceKind::kSevSnpReport:
      return "sev-snp-report";
    case EvidenceKind::kJwt:
      return "jwt";
    case EvidenceKind::kEnvelope:
      return "envelope";
  }
  return "unknown";
}

Result<PolicyVerifier> PolicyVerifier::Create(EvidencePolicy policy) {
  EML_RETURN_IF_ERROR(ValidateEvidencePolicy(policy));
  PolicyVerifier out(std::move(policy));
  const EvidencePolicy& p = out.policy_;
  for (const char* name : {kPlatformSim, kPlatformAwsNitro}) {
    if (const PlatformPolicy* nitro_policy = p.Find(name); nitro_policy != nullptr) {
      // Probe: the Nitro verifier's own limits on pins and ages, checked once here.
      EML_RETURN_IF_ERROR(nitro::NitroVerifier::New(nitro_policy->roots.front(),
                                                    NitroPolicy(p, *nitro_policy, {})));
    }
  }
  if (const PlatformPolicy* tdx_policy = p.Find(kPlatformTdx); tdx_policy != nullptr) {
    if (tdx_policy->roots.size() != 1) {
      return Error{ErrorCode::kPolicyBadValue, "platforms.tdx.roots: exactly one Intel root"};
    }
    EML_ASSIGN_OR_RETURN(tdx::Collateral collateral,
                         tdx::LoadCollateralDirectory(*tdx_policy->collateral_dir));
    tdx::Policy tp;
    tp.measurement_pins = tdx_policy->measurement_pins;
    tp.allow_debug = p.allow_debug;
    tp.allowed_tcb_statuses.clear();
    for (const std::string& name : tdx_policy->tcb_statuses) {
      EML_ASSIGN_OR_RETURN(tdx::TcbStatus status, tdx::TcbStatusFromName(name));
      tp.allowed_tcb_statuses.insert(status);
    }
    EML_ASSIGN_OR_RETURN(
        std::unique_ptr<tdx::TdxVerifier> v,
        tdx::TdxVerifier::New(tdx_policy->roots.front(), std::move(collateral), std::move(tp)));
    out.tdx_ = std::move(v);
  }
  if (const PlatformPolicy* snp_policy = p.Find(kPlatformSevSnp); snp_policy != nullptr) {
    sevsnp::Collateral collateral;
    collateral.arks = snp_policy->roots;
    for (const crypto::Certificate& cert : snp_policy->certificates) {
      (cert.is_ca() ? collateral.intermediates : collateral.endorsement_certs).push_back(cert);
    }
    sevsnp::Policy sp;
    auto pin = [snp_policy](const char* name) -> std::optional<std::vector<uint8_t>> {
      auto it = snp_policy->measurement_pins.find(name);
      return it == snp_policy->measurement_pins.end()
                 ? std::nullopt
                 : std::optional<std::vector<uint8_t>>(it->second);
    };
    sp.measurement = pin("measurement");
    sp.host_data = pin("host_data");
    sp.id_key_digest = pin("id_key_digest");
    sp.author_key_digest = pin("author_key_digest");
    sp.allow_debug = p.allow_debug;
    sp.allow_smt = snp_policy->allow_smt;
    sp.allow_migration_agent = snp_policy->allow_migration_agent;
    sp.max_vmpl = snp_policy->max_vmpl;
    sp.minimum_tcb = snp_policy->minimum_tcb;
    EML_ASSIGN_OR_RETURN(std::unique_ptr<sevsnp::SnpVerifier> v,
                         sevsnp::SnpVerifier::New(std::move(collateral), std::move(sp)));
    out.sev_snp_ = std::move(v);
  }
  if (const PlatformPolicy* gcp_policy = p.Find(kPlatformGcpCs); gcp_policy != nullptr) {
    if (gcp_policy->jwks_file.has_value()) {
      EML_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes,
                           ReadSmallFile(*gcp_policy->jwks_file, gcp::kMaxJwksBytes));
      EML_ASSIGN_OR_RETURN(gcp::Jwks jwks, gcp::Jwks::Parse(bytes));
      out.gcp_jwks_ = std::make_shared<const gcp::Jwks>(std::move(jwks));
    }
    // Probe the GCP verifier's limits once (audience, image digest pins, ages).
    EML_RETURN_IF_ERROR(out.MakeGcpVerifier({}));
  }
  return out;
}

Result<Verification> PolicyVerifier::Verify(std::span<const uint8_t> evidence,
                                            int64_t verification_time_unix) const {
  return Verify(evidence, verification_time_unix, BindingExpectation{});
}

Result<Verification> PolicyVerifier::Verify(std::span<const uint8_t> evidence, int64_t now_unix,
                                            const BindingExpectation& binding) const {
  if (now_unix < 0 || now_unix > kMaxVerificationTimeS) {
    return Error{ErrorCode::kInvalidArgument, "verification time out of range"};
  }
  const EvidenceKind kind = DetectEvidenceKind(evidence);
  switch (kind) {
    case EvidenceKind::kUnknown:
      return Refused(
          evidence, now_unix, "",
          {Failed("evidence_kind", ErrorCode::kPolicyUnknownEvidence,
                  "not a Nitro document, TDX quote, SEV-SNP report, JWT or evidence envelope")});
    case EvidenceKind::kNitroDocument:
      return VerifyNitro(evidence, now_unix, binding);
    case EvidenceKind::kTdxQuote:
    case EvidenceKind::kSevSnpReport:
    case EvidenceKind::kJwt:
      return VerifyTeeReport(kind, evidence, now_unix, binding, binding);
    case EvidenceKind::kEnvelope:
      return VerifyEnvelope(evidence, now_unix, binding);
  }
  return Error{ErrorCode::kInternal, "unreachable evidence kind"};
}

Result<Verification> PolicyVerifier::VerifyNitro(std::span<const uint8_t> evidence,
                                                 int64_t now_unix,
                                                 const BindingExpectation& binding) const {
  const StepResult kind_step = Passed("evidence_kind", "nitro-document");
  // Candidate roots in a fixed order: sim first, then aws-nitro.
  struct Candidate {
    const char* platform;
    const PlatformPolicy* policy;
  };
  std::vector<Candidate> candidates;
  for (const char* name : {kPlatformSim, kPlatformAwsNitro}) {
    if (const PlatformPolicy* p = policy_.Find(name); p != nullptr) {
      candidates.push_back({name, p});
    }
  }
  if (candidates.empty()) {
    return Refused(evidence, now_unix, kPlatformAwsNitro,
                   {kind_step, Failed("platform_allowed", ErrorCode::kPolicyPlatformNotAllowed,
                                      "the policy allows neither sim nor aws-nitro")});
  }

  // Pick the root by the document's own cabundle[0]; the Nitro verifier's root_pin and chain
  // steps then check it properly. If the document does not parse, the first candidate's
  // verifier reports why.
  const Candidate* chosen = nullptr;
  const crypto::Certificate* root = nullptr;
  StepResult allowed =
      Step("platform_allowed", StepStatus::kNotRun, ErrorCode::kOk, "the document does not parse");
  Result<cose::ParsedSign1> envelope = nitro::ParseEnvelope(evidence);
  if (envelope.has_value() && envelope->payload().has_value()) {
    Result<nitro::Payload> payload = nitro::DecodePayload(*envelope->payload());
    if (payload.has_value() && !payload->cabundle.empty()) {
      const std::vector<uint8_t>& named_root = payload->cabundle.front();
      for (const Candidate& c : candidates) {
        for (const crypto::Certificate& r : c.policy->roots) {
          if (chosen == nullptr &&
              std::equal(r.der().begin(), r.der().end(), named_root.begin(), named_root.end())) {
            chosen = &c;
            root = &r;
          }
        }
      }
      allowed = chosen != nullptr
                    ? Passed("platform_allowed", chosen->platform)
                    : Failed("platform_allowed", ErrorCode::kPolicyUntrustedRoot,
                             "the document's root is none of the policy's sim / aws-nitro roots");
    }
  }
  if (chosen == nullptr) {
    chosen = &candidates.front();
    root = &chosen->policy->roots.front();
  }

  EML_ASSIGN_OR_RETURN(
      std::unique_ptr<nitro::NitroVerifier> verifier,
      nitro::NitroVerifier::New(*root, NitroPolicy(policy_, *chosen->policy, binding)));
  EML_ASSIGN_OR_RETURN(Verification inner, verifier->Verify(evidence, now_unix));

  Verification out;
  out.report = std::move(inner.report);
  out.report.platform = chosen->platform;
  out.report.steps.insert(out.report.steps.begin(),
                          {kind_step, allowed, BindingRequiredStep(policy_.binding, binding)});
  out.report.verified =
      out.report.verified && allowed.status == StepStatus::kPassed && AllPassed(out.report);
  if (out.report.verified) {
    out.evidence = MakeVerifiedEvidence(out.report);
  }
  return out;
}

Result<Verification> PolicyVerifier::VerifyTeeReport(EvidenceKind kind,
                                                     std::span<const uint8_t> evidence,
                                                     int64_t now_unix,
                                                     const BindingExpectation& binding,
                                                     const BindingExpectation& caller) const {
  const char* platform = kind == EvidenceKind::kTdxQuote       ? kPlatformTdx
                         : kind == EvidenceKind::kSevSnpReport ? kPlatformSevSnp
                                                               : kPlatformGcpCs;
  const StepResult kind_step = Passed("evidence_kind", EvidenceKindName(kind));
  if (!policy_.Allows(platform)) {
    return Refused(evidence, now_unix, platform,
                   {kind_step, Failed("platform_allowed", ErrorCode::kPolicyPlatformNotAllowed,
                                      std::string("the policy does not allow ") + platform)});
  }
  Verification inner;
  if (kind == EvidenceKind::kJwt) {
    EML_ASSIGN_OR_RETURN(std::unique_ptr<gcp::GcpVerifier> verifier, MakeGcpVerifier(binding));
    EML_ASSIGN_OR_RETURN(inner, verifier->Verify(evidence, now_unix));
  } else {
    const Verifier& verifier = kind == EvidenceKind::kTdxQuote ? *tdx_ : *sev_snp_;
    EML_ASSIGN_OR_RETURN(inner, verifier.Verify(evidence, now_unix));
  }
  VerificationReport report = std::move(inner.report);
  report.steps.insert(report.steps.begin(), {kind_step, Passed("platform_allowed", platform),
                                             BindingRequiredStep(policy_.binding, caller)});
  if (kind != EvidenceKind::kJwt) {
    report.steps.push_back(BindingStep(report, binding));
  } else {
    report.steps.push_back(SupportAttributesStep(*policy_.Find(kPlatformGcpCs), evidence));
  }
  report.verified = report.verified && AllPassed(report);
  Verification out;
  if (report.verified) {
    out.evidence = MakeVerifiedEvidence(report);
  }
  out.report = std::move(report);
  return out;
}

Result<Verification> PolicyVerifier::VerifyEnvelope(std::span<const uint8_t> evidence,
                                                    int64_t now_unix,
                                                    const BindingExpectation& binding) const {
  const StepResult kind_step = Passed("evidence_kind", EvidenceKindName(EvidenceKind::kEnvelope));
  Result<EvidenceEnvelope> envelope = DecodeEnvelope(evidence);
  if (!envelope.has_value()) {
    return Refused(evidence, now_unix, "",
                   {kind_step, Failed("envelope", envelope.error().code, envelope.error().detail)});
  }
  const EvidenceKind inner_kind = DetectEvidenceKind(envelope->evidence);
  const EvidenceKind expected_kind = envelope->platform == kPlatformTdx ? EvidenceKind::kTdxQuote
                                     : envelope->platform == kPlatformSevSnp
                                         ? EvidenceKind::kSevSnpReport
                                         : EvidenceKind::kJwt;
  if (inner_kind != expected_kind) {
    return Refused(evidence, now_unix, envelope->platform,
                   {kind_step, Failed("envelope", ErrorCode::kEnvelopePlatformMismatch,
                                      "a " + envelope->platform + " envelope holds " +
                                          EvidenceKindName(inner_kind) + " evidence")});
  }
  // The wrapped evidence must bind exactly what the envelope claims.
  BindingExpectation derived;
  derived.public_key = envelope->public_key;
  derived.nonce = BoundNonce(envelope->nonce, envelope->user_data);
  EML_ASSIGN_OR_RETURN(Verification inner,
                       VerifyTeeReport(inner_kind, envelope->evidence, now_unix, derived, binding));
  VerificationReport report = std::move(inner.report);
  // The wrapped evidence's own "evidence_kind" step becomes the "envelope" step.
  if (!report.steps.empty() && report.steps.front().name == "evidence_kind") {
    report.steps.erase(report.steps.begin());
  }
  report.steps.insert(report.steps.begin(),
                      {kind_step, Passed("envelope", envelope->platform + " evidence (" +
                                                         EvidenceKindName(inner_kind) + ")")});
  std::string mismatch;
  if (binding.public_key.has_value() && *binding.public_key != envelope->public_key) {
    mismatch = "public key";
  }
  if (binding.nonce.has_value() && *binding.nonce != envelope->nonce) {
    mismatch += mismatch.empty() ? "nonce" : " and nonce";
  }
  if (!binding.public_key.has_value() && !binding.nonce.has_value()) {
    report.steps.push_back(NotApplicable("envelope_binding"));
  } else if (!mismatch.empty()) {
    report.steps.push_back(Failed("envelope_binding", ErrorCode::kEnvelopeBindingMismatch,
                                  "the envelope's " + mismatch + " is not the expected one"));
  } else {
    report.steps.push_back(Passed("envelope_binding"));
  }
  auto claimed = [](const std::vector<uint8_t>& bytes) {
    return bytes.empty() ? std::nullopt : std::optional<std::vector<uint8_t>>(bytes);
  };
  report.platform = envelope->platform;
  report.public_key = claimed(envelope->public_key);
  report.nonce = claimed(envelope->nonce);
  report.user_data = claimed(envelope->user_data);
  report.document_sha256 = crypto::Sha256(evidence);
  report.verified = report.verified && AllPassed(report);
  Verification out;
  if (report.verified) {
    out.evidence = MakeVerifiedEvidence(report);
  }
  out.report = std::move(report);
  return out;
}

Result<std::unique_ptr<gcp::GcpVerifier>> PolicyVerifier::MakeGcpVerifier(
    const BindingExpectation& binding) const {
  const PlatformPolicy& platform = *policy_.Find(kPlatformGcpCs);
  gcp::Policy gp;
  gp.audience = platform.audience.value_or("");
  if (auto it = platform.measurement_pins.find("image_digest");
      it != platform.measurement_pins.end()) {
    gp.image_digests.push_back("sha256:" + HexEncode(it->second));
  }
  gp.allowed_hwmodels = platform.hwmodels;
  gp.allow_debug = policy_.allow_debug;
  gp.max_age_s = policy_.max_evidence_age_s;
  if (binding.nonce.has_value() || binding.public_key.has_value()) {
    const std::vector<uint8_t> none;
    const std::string nonce =
        GcpBindingNonce(binding.public_key.value_or(none), binding.nonce.value_or(none));
    gp.expected_nonce = std::vector<uint8_t>(nonce.begin(), nonce.end());
  }
  if (gcp_jwks_ != nullptr) {
    return gcp::GcpVerifier::NewOidc(*gcp_jwks_, std::move(gp));
  }
  return gcp::GcpVerifier::NewPki(platform.roots.front(), std::move(gp));
}

}  // namespace eml::attest
