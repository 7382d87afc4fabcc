#include "attest/nitro/nitro_verifier.h"

#include <algorithm>
#include <limits>
#include <string>
#include <utility>

#include "attest/internal/report_builder.h"
#include "attest/nitro/document.h"
#include "common/secret_bytes.h"
#include "cose/sign1.h"
#include "crypto/hash.h"

namespace eml::attest::nitro {
namespace {

// Largest verification time accepted (matches kMaxTimestampMs), so *1000 cannot overflow.
constexpr int64_t kMaxVerificationTimeUnix = static_cast<int64_t>(kMaxTimestampMs / 1000);

bool SameBytes(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

using ::eml::attest::internal::ReportBuilder;

struct CertificateSet {
  crypto::Certificate leaf;
  std::vector<crypto::Certificate> cabundle;
};

Result<CertificateSet> ParseCertificates(const Payload& payload) {
  Result<crypto::Certificate> leaf = crypto::Certificate::FromDer(payload.certificate);
  if (!leaf.has_value()) {
    return Error{ErrorCode::kAttestBadCertificate, "leaf certificate: " + ToString(leaf.error())};
  }
  CertificateSet set{std::move(*leaf), {}};
  for (size_t i = 0; i < payload.cabundle.size(); ++i) {
    Result<crypto::Certificate> cert = crypto::Certificate::FromDer(payload.cabundle[i]);
    if (!cert.has_value()) {
      return Error{ErrorCode::kAttestBadCertificate,
                   "cabundle[" + std::to_string(i) + "]: " + ToString(cert.error())};
    }
    set.cabundle.push_back(std::move(*cert));
  }
  return set;
}

Status CheckLeaf(const crypto::Certificate& leaf) {
  if (leaf.is_ca()) {
    return Error{ErrorCode::kAttestLeafConstraints, "the signing certificate is a CA"};
  }
  Result<crypto::EcdsaPublicKey> key = leaf.EcdsaKey();
  if (!key.has_value() || key->curve() != crypto::EcdsaCurve::kP384) {
    return Error{ErrorCode::kAttestLeafConstraints, "the signing key is not P-384"};
  }
  return OkStatus();
}

Status CheckFreshness(uint64_t timestamp_ms, int64_t time_unix, const Policy& policy) {
  const int64_t timestamp = static_cast<int64_t>(timestamp_ms);  // <= kMaxTimestampMs
  const int64_t time_ms = time_unix * 1000;
  if (timestamp > time_ms + policy.max_clock_skew_s * 1000) {
    return Error{ErrorCode::kAttestFromFuture, "timestamp is after the verification time"};
  }
  if (policy.max_age_s.has_value() && time_ms - timestamp > *policy.max_age_s * 1000) {
    return Error{ErrorCode::kAttestStale, "document older than max_age_s"};
  }
  return OkStatus();
}

Status CheckPcrs(const std::map<uint32_t, std::vector<uint8_t>>& pcrs, const Policy& policy) {
  for (const auto& [index, expected] : policy.pcr_pins) {
    auto it = pcrs.find(index);
    if (it == pcrs.end()) {
      return Error{ErrorCode::kAttestMeasurementMismatch,
                   "pinned PCR" + std::to_string(index) + " is absent"};
    }
    if (!ConstantTimeEquals(it->second, expected)) {
      return Error{ErrorCode::kAttestMeasurementMismatch,
                   "PCR" + std::to_string(index) + " differs from its pin"};
    }
  }
  return OkStatus();
}

Status CheckBound(const std::optional<std::vector<uint8_t>>& actual,
                  const std::optional<std::vector<uint8_t>>& expected, ErrorCode code,
                  const char* what) {
  if (!actual.has_value()) {
    return Error{code, std::string(what) + " expected but absent"};
  }
  if (!ConstantTimeEquals(*actual, *expected)) {
    return Error{code, std::string(what) + " differs from the expected value"};
  }
  return OkStatus();
}

void CopyClaims(const Payload& payload, VerificationReport& report) {
  report.measurements = payload.pcrs;
  report.module_id = payload.module_id;
  report.timestamp_ms = payload.timestamp_ms;
  report.public_key = payload.public_key;
  report.user_data = payload.user_data;
  report.nonce = payload.nonce;
  report.debug = PcrIsZero(payload.pcrs.at(0));
}

// Steps that need the certificates; the payload checks run even when these fail.
void RunCertificateSteps(const cose::ParsedSign1& envelope, const Payload& payload,
                         const crypto::Certificate& root, int64_t time_unix, ReportBuilder& b) {
  Result<CertificateSet> certs = ParseCertificates(payload);
  if (!b.Record("certificates", certs.has_value() ? OkStatus() : Status(certs.error()))) {
    for (const char* name :
         {"root_pin", "certificate_chain", "leaf_constraints", "cose_signature"}) {
      b.NotRun(name);
    }
    return;
  }
  Status root_pin =
      SameBytes(certs->cabundle.front().der(), root.der())
          ? OkStatus()
          : Status(Error{ErrorCode::kAttestRootMismatch, "cabundle[0] is not the pinned root"});
  b.Record("root_pin", root_pin);
  crypto::ChainOptions options;
  options.verification_time_unix = time_unix;
  // Nitro instance CAs and leaves carry no key identifiers; all other strict checks apply.
  options.allow_missing_key_identifiers = true;
  std::span<const crypto::Certificate> intermediates(certs->cabundle);
  Result<crypto::VerifiedChain> chain =
      crypto::VerifyChain(certs->leaf, intermediates.subspan(1),
                          std::span<const crypto::Certificate>(&root, 1), options);
  b.Record("certificate_chain", chain.has_value() ? OkStatus() : Status(chain.error()));
  b.Record("leaf_constraints", CheckLeaf(certs->leaf));
  Result<crypto::EcdsaPublicKey> key = certs->leaf.EcdsaKey();
  if (!key.has_value()) {
    b.NotRun("cose_signature");
    return;
  }
  b.Record("cose_signature", cose::VerifySign1(envelope, *key));
}

void RunPolicySteps(const Payload& payload, int64_t time_unix, const Policy& policy,
                    ReportBuilder& b) {
  b.Record("freshness", CheckFreshness(payload.timestamp_ms, time_unix, policy));
  const bool debug = PcrIsZero(payload.pcrs.at(0));
  if (!debug) {
    b.Pass("debug_mode", "production enclave");
  } else if (policy.allow_debug) {
    b.Pass("debug_mode", "debug enclave (PCR0 all zero), allowed by policy");
  } else {
    b.Fail("debug_mode", Error{ErrorCode::kAttestDebugMode, "debug enclave (PCR0 all zero)"});
  }
  if (policy.pcr_pins.empty()) {
    b.Skip("pcr_policy", "no PCR pins");
  } else {
    b.Record("pcr_policy", CheckPcrs(payload.pcrs, policy));
  }
  if (!policy.expected_nonce.has_value()) {
    b.Skip("nonce", "no expected nonce");
  } else {
    b.Record("nonce", CheckBound(payload.nonce, policy.expected_nonce,
                                 ErrorCode::kAttestNonceMismatch, "nonce"));
  }
  if (!policy.expected_public_key.has_value()) {
    b.Skip("public_key", "no expected public key");
  } else {
    b.Record("public_key", CheckBound(payload.public_key, policy.expected_public_key,
                                      ErrorCode::kAttestPublicKeyMismatch, "public_key"));
  }
}

constexpr const char* kPayloadDependentSteps[] = {
    "certificates",   "root_pin",  "certificate_chain", "leaf_constraints",
    "cose_signature", "freshness", "debug_mode",        "pcr_policy",
    "nonce",          "public_key"};

}  // namespace

Result<std::unique_ptr<NitroVerifier>> NitroVerifier::New(crypto::Certificate root, Policy policy) {
  for (const auto& [index, value] : policy.pcr_pins) {
    if (index > kMaxPcrIndex || value.size() != kSha384PcrBytes) {
      return Error{ErrorCode::kAttestBadPolicy, "a PCR pin has a bad index or size"};
    }
  }
  if ((policy.max_age_s.has_value() &&
       (*policy.max_age_s < 0 || *policy.max_age_s > kMaxVerificationTimeUnix)) ||
      policy.max_clock_skew_s < 0 || policy.max_clock_skew_s > kMaxVerificationTimeUnix) {
    return Error{ErrorCode::kAttestBadPolicy, "max_age_s or max_clock_skew_s out of range"};
  }
  if ((policy.expected_nonce.has_value() && policy.expected_nonce->size() > kMaxNonceBytes) ||
      (policy.expected_public_key.has_value() &&
       policy.expected_public_key->size() > kMaxPublicKeyBytes)) {
    return Error{ErrorCode::kAttestBadPolicy, "expected nonce or public key too long"};
  }
  return std::unique_ptr<NitroVerifier>(new NitroVerifier(std::move(root), std::move(policy)));
}

Result<Verification> NitroVerifier::Verify(std::span<const uint8_t> evidence,
                                           int64_t verification_time_unix) const {
  if (verification_time_unix < 0 || verification_time_unix > kMaxVerificationTimeUnix) {
    return Error{ErrorCode::kInvalidArgument, "verification time out of range"};
  }
  Verification out;
  VerificationReport& report = out.report;
  report.platform = kPlatformName;
  report.verification_time_unix = verification_time_unix;
  report.document_sha256 = crypto::Sha256(evidence);
  ReportBuilder b(report);

  Result<cose::ParsedSign1> envelope = ParseEnvelope(evidence);
  Result<Payload> payload = Error{ErrorCode::kAttestMalformed, "not parsed"};
  const bool envelope_ok =
      b.Record("cose_structure", envelope.has_value() ? OkStatus() : Status(envelope.error()));
  bool algorithm_ok = false;
  if (envelope_ok) {
    algorithm_ok = b.Record("cose_algorithm", CheckAlgorithm(*envelope));
  } else {
    b.NotRun("cose_algorithm");
  }
  if (algorithm_ok) {
    payload = DecodePayload(*envelope->payload());
    b.Record("payload_fields", payload.has_value() ? OkStatus() : Status(payload.error()));
  } else {
    b.NotRun("payload_fields");
  }
  if (!payload.has_value()) {
    for (const char* name : kPayloadDependentSteps) {
      b.NotRun(name);
    }
    return out;
  }
  CopyClaims(*payload, report);
  RunCertificateSteps(*envelope, *payload, root_, verification_time_unix, b);
  RunPolicySteps(*payload, verification_time_unix, policy_, b);
  report.verified = !b.failed();
  if (report.verified) {
    out.evidence = MakeVerifiedEvidence(report);
  }
  return out;
}

}  // namespace eml::attest::nitro
