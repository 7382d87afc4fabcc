#include "air/verifier.h"

#include <algorithm>
#include <chrono>
#include <utility>
#include <variant>

#include "air/internal/claims_decoder.h"
#include "cbor/decoder.h"
#include "common/secret_bytes.h"
#include "cose/sign1.h"

namespace eml::air {

// ReceiptVerifier runs the checks of one VerifyReceipt call in order and fills the report.
// Every check is recorded exactly once: Run() marks whatever a stopping failure left unrun as
// SKIP, so the report always lists all kNumChecks checks.
class ReceiptVerifier {
 public:
  ReceiptVerifier(std::span<const uint8_t> receipt, const crypto::Ed25519PublicKey& key,
                  const VerifyPolicy& policy)
      : receipt_(receipt), key_(key), policy_(policy) {}

  VerificationReport Run();

 private:
  // Each layer returns false when the following ones cannot run.
  bool RunEnvelope();
  void RunClaimsDecode();
  void RunSignature();
  void RunClaimValues();
  void RunPolicy();
  void RunFreshness(const Claims& c);
  void RunHash(Check check, CheckCode code, const std::optional<Sha256Digest>& expected,
               const Sha256Digest& actual);
  void RunSecurityModePolicy(const Claims& c);
  void RunNonce(const Claims& c);

  void Pass(Check check, std::string detail = {}) {
    Record(check, CheckStatus::kPass, std::nullopt, std::move(detail));
  }
  void Fail(Check check, CheckCode code, std::string detail) {
    Record(check, CheckStatus::kFail, code, std::move(detail));
  }
  void Skip(Check check, std::string detail) {
    Record(check, CheckStatus::kSkip, std::nullopt, std::move(detail));
  }
  void Record(Check check, CheckStatus status, std::optional<CheckCode> code, std::string detail);
  void SkipUnrun(const std::string& detail);
  std::optional<SecurityMode> AcceptedSecurityMode(std::string_view value) const;

  std::span<const uint8_t> receipt_;
  const crypto::Ed25519PublicKey& key_;
  const VerifyPolicy& policy_;
  VerificationReport report_;
  bool recorded_[kNumChecks] = {};

  std::optional<cose::ParsedSign1> msg_;
  std::optional<internal::DecodedClaims> decoded_;
};

void ReceiptVerifier::Record(Check check, CheckStatus status, std::optional<CheckCode> code,
                             std::string detail) {
  recorded_[static_cast<int>(check)] = true;
  report_.checks_.push_back(CheckResult{check, CheckLayer(check), status, code, std::move(detail)});
}

void ReceiptVerifier::SkipUnrun(const std::string& detail) {
  for (int i = 0; i < kNumChecks; ++i) {
    if (!recorded_[i]) {
      Skip(static_cast<Check>(i), detail);
    }
  }
}

std::optional<SecurityMode> ReceiptVerifier::AcceptedSecurityMode(std::string_view value) const {
  if (value == kSecurityModeProduction) {
    return SecurityMode::kProduction;
  }
  if (value == kSecurityModeEvaluation) {
    return SecurityMode::kEvaluation;
  }
  if (value == kSecurityModeLegacyGatewayOnly && policy_.map_legacy_gateway_only) {
    return SecurityMode::kProduction;
  }
  return std::nullopt;
}

bool ReceiptVerifier::RunEnvelope() {
  if (receipt_.size() > kMaxReceiptBytes) {
    Fail(Check::kSize, CheckCode::kReceiptTooLarge,
         std::to_string(receipt_.size()) + " bytes > 65536");
    return false;
  }
  Pass(Check::kSize);
  cose::ParseOptions options;
  options.tag_rule = cose::TagRule::kAllowEither;
  options.allow_detached_payload = true;  // reported by PAYLOAD, after the header checks
  options.limits.max_input_bytes = kMaxReceiptBytes;
  options.limits.strict = false;  // non-deterministic forms are reported by CANONICAL
  Result<cose::ParsedSign1> parsed = cose::ParseSign1(receipt_, options);
  if (!parsed.has_value()) {
    Fail(Check::kCoseDecode, CheckCode::kCoseDecodeFailed, ToString(parsed.error()));
    return false;
  }
  if (!parsed->tagged()) {
    Fail(Check::kCoseDecode, CheckCode::kUntaggedReceipt, "COSE_Sign1 without tag 18");
    return false;
  }
  Pass(Check::kCoseDecode);
  msg_.emplace(*std::move(parsed));
  if (!msg_->unprotected_header().map_entries().empty()) {
    Fail(Check::kUnprotected, CheckCode::kNonEmptyUnprotected,
         "unprotected header has " +
             std::to_string(msg_->unprotected_header().map_entries().size()) + " entries");
    return false;
  }
  Pass(Check::kUnprotected);

  const cbor::Value& header = msg_->protected_header();
  if (msg_->algorithm() == kAlgEdDSA) {
    Pass(Check::kAlg);
  } else {
    Fail(Check::kAlg, CheckCode::kBadAlg,
         msg_->algorithm() ? "alg is " + std::to_string(*msg_->algorithm()) + ", expected -8"
                           : "alg missing");
  }
  const cbor::Value* content_type = header.MapFind(int64_t{3});
  if (content_type != nullptr && content_type->is_uint() &&
      *content_type->AsUint() == kContentTypeCwt) {
    Pass(Check::kContentType);
  } else {
    Fail(Check::kContentType, CheckCode::kBadContentType,
         content_type == nullptr ? "content type missing" : "content type is not 61");
  }
  const bool only_known =
      std::all_of(header.map_entries().begin(), header.map_entries().end(), [](const auto& entry) {
        return entry.first == cbor::Value::Int(1) || entry.first == cbor::Value::Int(3);
      });
  if (only_known) {
    Pass(Check::kProtected);
  } else {
    Fail(Check::kProtected, CheckCode::kUnexpectedHeaderParam,
         "protected header has labels besides alg and content type");
  }

  const std::optional<std::span<const uint8_t>> payload = msg_->payload();
  if (!payload.has_value() || payload->empty()) {
    Fail(Check::kPayload, CheckCode::kMissingPayload,
         payload.has_value() ? "payload is empty" : "payload is nil (detached)");
    return false;
  }
  Pass(Check::kPayload);
  return true;
}

void ReceiptVerifier::RunClaimsDecode() {
  cbor::DecodeLimits limits;
  limits.max_input_bytes = kMaxReceiptBytes;
  limits.strict = false;
  Result<cbor::Decoded> decoded = cbor::Decode(*msg_->payload(), limits);
  if (!decoded.has_value()) {
    const bool duplicate = decoded.error().code == ErrorCode::kCborDuplicateKey;
    Fail(Check::kClaimsDecode,
         duplicate ? CheckCode::kDuplicateClaim : CheckCode::kPayloadDecodeFailed,
         ToString(decoded.error()));
    return;
  }
  auto claims = internal::DecodeClaimsMap(decoded->value);
  if (auto* finding = std::get_if<internal::ClaimsFinding>(&claims)) {
    Fail(Check::kClaimsDecode, finding->code, std::move(finding->detail));
  } else {
    Pass(Check::kClaimsDecode);
    decoded_.emplace(std::get<internal::DecodedClaims>(std::move(claims)));
    if (decoded_->eat_profile == kEatProfileUri) {
      Pass(Check::kEatProfile);
    } else {
      Fail(Check::kEatProfile, CheckCode::kWrongProfile, "eat_profile is not the AIR v1 URI");
    }
  }

  // Deterministic encoding of all three layers of CBOR: envelope, protected header, claims.
  // The protected header must also be exactly the AIR v1 bytes once its content is right.
  const bool header_exact = std::ranges::equal(msg_->protected_bytes(), kProtectedHeaderBytes) ||
                            report_.Get(Check::kAlg).status == CheckStatus::kFail ||
                            report_.Get(Check::kContentType).status == CheckStatus::kFail ||
                            report_.Get(Check::kProtected).status == CheckStatus::kFail;
  if (msg_->canonical() && decoded->canonical && header_exact) {
    Pass(Check::kCanonical);
  } else if (policy_.allow_non_canonical) {
    Record(Check::kCanonical, CheckStatus::kPass, CheckCode::kNonCanonicalEncoding,
           "not deterministically encoded; accepted by allow_non_canonical");
  } else {
    Fail(Check::kCanonical, CheckCode::kNonCanonicalEncoding,
         msg_->canonical() && header_exact ? "claims payload is not deterministic CBOR"
                                           : "envelope or protected header is not deterministic");
  }
}

void ReceiptVerifier::RunSignature() {
  const std::span<const uint8_t> signature = msg_->signature();
  if (signature.size() != 64) {
    Fail(Check::kSig, CheckCode::kBadSigLength,
         "signature is " + std::to_string(signature.size()) + " bytes");
    return;
  }
  // Ed25519 strict verification over Sig_structure1 whatever alg says: ALG reports a wrong alg,
  // and a complete report tells whether the signature itself holds.
  const std::vector<uint8_t> to_be_signed =
      cose::SigStructure(msg_->protected_bytes(), {}, *msg_->payload());
  Status status = key_.Verify(to_be_signed, signature);
  if (status.has_value()) {
    Pass(Check::kSig);
  } else {
    Fail(Check::kSig, CheckCode::kSigFailed, ToString(status.error()));
  }
}

void ReceiptVerifier::RunClaimValues() {
  const Claims& c = decoded_->claims;
  if (std::all_of(c.cti.begin(), c.cti.end(), [](uint8_t b) { return b == 0; })) {
    Fail(Check::kCti, CheckCode::kZeroCti, "cti is all zero");
  } else {
    Pass(Check::kCti);
  }
  if (std::all_of(c.model_hash.begin(), c.model_hash.end(), [](uint8_t b) { return b == 0; })) {
    Fail(Check::kMhashPresent, CheckCode::kZeroModelHash, "model_hash is all zero");
  } else {
    Pass(Check::kMhashPresent);
  }

  const Measurements& m = c.enclave_measurements;
  const std::pair<const char*, const std::vector<uint8_t>*> pcrs[] = {
      {"pcr0", &m.pcr0},
      {"pcr1", &m.pcr1},
      {"pcr2", &m.pcr2},
      {"pcr3", m.pcr3 ? &*m.pcr3 : nullptr},
      {"pcr4", m.pcr4 ? &*m.pcr4 : nullptr},
      {"pcr8", m.pcr8 ? &*m.pcr8 : nullptr},
  };
  std::optional<std::string> bad_pcr;
  for (const auto& [name, value] : pcrs) {
    if (value != nullptr && value->size() != kPcrBytes && !bad_pcr) {
      bad_pcr = std::string(name) + " is " + std::to_string(value->size()) + " bytes, expected 48";
    }
  }
  if (bad_pcr) {
    Fail(Check::kMeas, CheckCode::kBadMeasurementLength, *bad_pcr);
  } else if (m.measurement_type == kMeasurementTypeTdx && m.pcr8.has_value()) {
    Fail(Check::kMeas, CheckCode::kTdxWithPcr8, "pcr8 present with tdx-mrtd-rtmr");
  } else {
    Pass(Check::kMeas);
  }
  if (IsKnownMeasurementType(m.measurement_type)) {
    Pass(Check::kMtype);
  } else {
    Fail(Check::kMtype, CheckCode::kUnknownMtype, "unknown measurement_type");
  }
  if (!c.model_hash_scheme.has_value()) {
    Pass(Check::kMhashScheme, "absent: model_hash is opaque");
  } else if (IsKnownModelHashScheme(*c.model_hash_scheme)) {
    Pass(Check::kMhashScheme);
  } else {
    Fail(Check::kMhashScheme, CheckCode::kUnknownModelHashScheme, "unknown model_hash_scheme");
  }
  if (!AcceptedSecurityMode(c.security_mode).has_value()) {
    Fail(Check::kSecurityMode, CheckCode::kUnknownSecurityMode,
         c.security_mode == kSecurityModeLegacyGatewayOnly
             ? "legacy GatewayOnly is not accepted without map_legacy_gateway_only"
             : "unknown security_mode");
  } else if (c.security_mode == kSecurityModeLegacyGatewayOnly) {
    Pass(Check::kSecurityMode, "legacy GatewayOnly mapped to production by policy");
  } else {
    Pass(Check::kSecurityMode);
  }
}

void ReceiptVerifier::RunFreshness(const Claims& c) {
  if (policy_.max_age_s == 0) {
    Skip(Check::kFresh, "max_age is 0");
    return;
  }
  int64_t now = 0;
  if (policy_.now_unix.has_value()) {
    now = *policy_.now_unix;
  } else {
    now = std::chrono::duration_cast<std::chrono::seconds>(
              std::chrono::system_clock::now().time_since_epoch())
              .count();
  }
  if (now < 0) {
    Fail(Check::kFresh, CheckCode::kClockError, "verifier clock is before 1970");
    return;
  }
  const auto now_s = static_cast<uint64_t>(now);
  if (c.iat > now_s && c.iat - now_s > policy_.clock_skew_s) {
    Fail(Check::kFresh, CheckCode::kTimestampFuture,
         "iat is " + std::to_string(c.iat - now_s) + " s in the future");
  } else if (now_s > c.iat && now_s - c.iat > policy_.max_age_s) {
    Fail(Check::kFresh, CheckCode::kTimestampStale,
         "receipt is " + std::to_string(now_s - c.iat) + " s old, max " +
             std::to_string(policy_.max_age_s));
  } else {
    Pass(Check::kFresh);
  }
}

void ReceiptVerifier::RunHash(Check check, CheckCode code,
                              const std::optional<Sha256Digest>& expected,
                              const Sha256Digest& actual) {
  if (!expected.has_value()) {
    Skip(check, "no expected value");
  } else if (ConstantTimeEquals(*expected, actual)) {
    Pass(check);
  } else {
    Fail(check, code, "does not match the expected value");
  }
}

void ReceiptVerifier::RunSecurityModePolicy(const Claims& c) {
  const std::optional<SecurityMode> mode = AcceptedSecurityMode(c.security_mode);
  if (!mode.has_value()) {
    Skip(Check::kSecurityModePolicy, "security_mode unknown");
  } else if (policy_.expected_security_mode.has_value() &&
             *policy_.expected_security_mode != *mode) {
    Fail(Check::kSecurityModePolicy, CheckCode::kSecurityModeMismatch,
         "security_mode differs from the expected one");
  } else if (*mode == SecurityMode::kEvaluation && !policy_.allow_evaluation) {
    Fail(Check::kSecurityModePolicy, CheckCode::kEvaluationModeRejected,
         "evaluation receipts are not accepted by this policy");
  } else {
    Pass(Check::kSecurityModePolicy);
  }
}

void ReceiptVerifier::RunNonce(const Claims& c) {
  if (policy_.expected_nonce.has_value()) {
    if (!c.eat_nonce.has_value()) {
      Fail(Check::kNonce, CheckCode::kNonceMissing, "expected a nonce; receipt has none");
    } else if (ConstantTimeEquals(*policy_.expected_nonce, *c.eat_nonce)) {
      Pass(Check::kNonce);
    } else {
      Fail(Check::kNonce, CheckCode::kNonceMismatch, "eat_nonce differs from the expected one");
    }
  } else if (policy_.require_nonce) {
    if (c.eat_nonce.has_value()) {
      Pass(Check::kNonce, "present (no expected value given)");
    } else {
      Fail(Check::kNonce, CheckCode::kNonceMissing, "policy requires eat_nonce");
    }
  } else {
    Skip(Check::kNonce, "no expected nonce");
  }
}

void ReceiptVerifier::RunPolicy() {
  const Claims& c = decoded_->claims;
  RunFreshness(c);
  RunHash(Check::kMhash, CheckCode::kModelHashMismatch, policy_.expected_model_hash, c.model_hash);
  RunHash(Check::kRhash, CheckCode::kRequestHashMismatch, policy_.expected_request_hash,
          c.request_hash);
  RunHash(Check::kOhash, CheckCode::kResponseHashMismatch, policy_.expected_response_hash,
          c.response_hash);
  RunHash(Check::kAdhash, CheckCode::kAttestationDocHashMismatch,
          policy_.expected_attestation_doc_hash, c.attestation_doc_hash);
  if (!policy_.expected_model_id.has_value()) {
    Skip(Check::kModel, "no expected model id");
  } else if (*policy_.expected_model_id == c.model_id) {
    Pass(Check::kModel);
  } else {
    Fail(Check::kModel, CheckCode::kModelIdMismatch, "model_id differs from the expected one");
  }
  RunSecurityModePolicy(c);
  const std::string_view mtype = c.enclave_measurements.measurement_type;
  const std::string_view wanted = policy_.expected_platform == Platform::kNitroPcr
                                      ? kMeasurementTypeNitro
                                      : kMeasurementTypeTdx;
  if (policy_.expected_platform == Platform::kAny) {
    Skip(Check::kPlatform, "any platform");
  } else if (mtype == wanted) {
    Pass(Check::kPlatform);
  } else {
    Fail(Check::kPlatform, CheckCode::kPlatformMismatch,
         "measurement_type is not " + std::string(wanted));
  }
  RunNonce(c);
  if (!policy_.is_cti_seen) {
    Skip(Check::kReplay, "no replay state");
  } else if (policy_.is_cti_seen(c.cti)) {
    Fail(Check::kReplay, CheckCode::kReplayCti, "cti was seen before");
  } else {
    Pass(Check::kReplay);
  }
}

VerificationReport ReceiptVerifier::Run() {
  report_.checks_.reserve(kNumChecks);
  if (RunEnvelope()) {
    RunClaimsDecode();
    RunSignature();
    if (decoded_.has_value()) {
      RunClaimValues();
      RunPolicy();
    }
  }
  SkipUnrun("not run: an earlier check failed");

  bool verified = true;
  for (const CheckResult& r : report_.checks_) {
    if (r.status == CheckStatus::kFail ||
        (r.status == CheckStatus::kSkip && IsCriticalCheck(r.check))) {
      verified = false;
    }
  }
  if (verified) {
    const Claims& c = decoded_->claims;
    const SecurityMode mode = *AcceptedSecurityMode(c.security_mode);
    const Platform platform = c.enclave_measurements.measurement_type == kMeasurementTypeNitro
                                  ? Platform::kNitroPcr
                                  : Platform::kTdxMrtdRtmr;
    report_.verified_receipt_ =
        VerifiedReceipt(std::move(decoded_->claims), mode, platform, receipt_.size());
  }
  return std::move(report_);
}

const CheckResult& VerificationReport::Get(Check check) const {
  for (const CheckResult& r : checks_) {
    if (r.check == check) {
      return r;
    }
  }
  // Every report lists every check (ReceiptVerifier::Run); a missing one is our bug.
  EML_CHECK(false);
  return checks_.front();
}

std::vector<CheckResult> VerificationReport::failures() const {
  std::vector<CheckResult> out;
  for (const CheckResult& r : checks_) {
    if (r.status == CheckStatus::kFail) {
      out.push_back(r);
    }
  }
  return out;
}

Result<VerificationReport> VerifyReceipt(std::span<const uint8_t> receipt,
                                         const crypto::Ed25519PublicKey& key,
                                         const VerifyPolicy& policy) {
  if (policy.expected_nonce.has_value() && (policy.expected_nonce->size() < kMinNonceBytes ||
                                            policy.expected_nonce->size() > kMaxNonceBytes)) {
    return Error{ErrorCode::kAirBadPolicy, "expected_nonce must be 8..64 bytes"};
  }
  if (policy.expected_model_id.has_value() &&
      (policy.expected_model_id->empty() || policy.expected_model_id->size() > kMaxModelIdBytes)) {
    return Error{ErrorCode::kAirBadPolicy, "expected_model_id must be 1..256 bytes"};
  }
  return ReceiptVerifier(receipt, key, policy).Run();
}

}  // namespace eml::air
