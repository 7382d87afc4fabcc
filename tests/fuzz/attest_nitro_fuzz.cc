// Fuzz target attest_nitro: eml::attest::nitro parsing and NitroVerifier::Verify on arbitrary
// bytes, with the pinned AWS Nitro root G1 at a fixed time (the timestamp of the real document
// fortanix-rust-sgx/request_proper.bin, so mutations of the seeds reach the chain and signature
// steps). Properties: never crashes; Verify always runs (the time is valid) and reports the 13
// steps once each, in order; a failed step carries a code, other steps carry kOk; `verified`
// holds exactly when no step failed and then VerifiedEvidence is present with the report's
// claims; the parse layer (ParseEnvelope, CheckAlgorithm, DecodePayload) agrees with the
// report's first three steps and respects every size limit.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>

#include "attest/nitro/aws_root.h"
#include "attest/nitro/document.h"
#include "attest/nitro/nitro_verifier.h"

namespace {

constexpr int64_t kVerificationTime = 1631182761;  // 2021-09-09T10:19:21Z
constexpr const char* kSteps[] = {"cose_structure",   "cose_algorithm", "payload_fields",
                                  "certificates",     "root_pin",       "certificate_chain",
                                  "leaf_constraints", "cose_signature", "freshness",
                                  "debug_mode",       "pcr_policy",     "nonce",
                                  "public_key"};

void Require(bool condition) {
  if (!condition) {
    std::abort();
  }
}

const eml::attest::nitro::NitroVerifier& FixedVerifier() {
  using namespace eml::attest::nitro;
  static const NitroVerifier* verifier = [] {
    auto root = AwsNitroRootG1();
    Require(root.has_value());
    Policy policy;
    policy.allow_debug = true;
    auto v = NitroVerifier::New(*root, policy);
    Require(v.has_value());
    return v->release();
  }();
  return *verifier;
}

void CheckParseLayer(std::span<const uint8_t> input, const eml::attest::VerificationReport& r) {
  using namespace eml::attest;
  auto envelope = nitro::ParseEnvelope(input);
  Require(envelope.has_value() == (r.steps[0].status == StepStatus::kPassed));
  if (!envelope.has_value()) {
    return;
  }
  if (!nitro::CheckAlgorithm(*envelope).has_value()) {
    Require(r.steps[1].status == StepStatus::kFailed);
    return;
  }
  auto payload = nitro::DecodePayload(*envelope->payload());
  Require(payload.has_value() == (r.steps[2].status == StepStatus::kPassed));
  if (!payload.has_value()) {
    Require(payload.error().code == r.steps[2].code);
    return;
  }
  Require(!payload->module_id.empty() && payload->module_id.size() <= nitro::kMaxModuleIdBytes);
  Require(payload->digest == "SHA384");
  Require(payload->timestamp_ms > 0 && payload->timestamp_ms <= nitro::kMaxTimestampMs);
  Require(payload->pcrs.contains(0) && payload->pcrs.contains(1) && payload->pcrs.contains(2));
  for (const auto& [index, value] : payload->pcrs) {
    Require(index <= nitro::kMaxPcrIndex && value.size() == nitro::kSha384PcrBytes);
  }
  Require(!payload->cabundle.empty() &&
          payload->cabundle.size() <= nitro::kMaxCabundleCertificates);
  Require(!payload->user_data || payload->user_data->size() <= nitro::kMaxUserDataBytes);
  Require(!payload->nonce || payload->nonce->size() <= nitro::kMaxNonceBytes);
  Require(!payload->public_key || payload->public_key->size() <= nitro::kMaxPublicKeyBytes);
  Require(r.measurements == payload->pcrs && r.nonce == payload->nonce &&
          r.timestamp_ms == payload->timestamp_ms);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace eml::attest;
  const std::span<const uint8_t> input(data, size);
  auto result = FixedVerifier().Verify(input, kVerificationTime);
  Require(result.has_value());
  const VerificationReport& r = result->report;
  Require(r.steps.size() == std::size(kSteps));
  bool any_failed = false;
  for (size_t i = 0; i < r.steps.size(); ++i) {
    Require(r.steps[i].name == kSteps[i]);
    const bool failed = r.steps[i].status == StepStatus::kFailed;
    Require(failed == (r.steps[i].code != eml::ErrorCode::kOk));
    any_failed = any_failed || failed;
  }
  Require(r.verified == !any_failed);
  Require(result->evidence.has_value() == r.verified);
  if (r.verified) {
    Require(result->evidence->measurements() == r.measurements);
    Require(result->evidence->nonce() == r.nonce);
    Require(result->evidence->document_sha256() == r.document_sha256);
  }
  CheckParseLayer(input, r);
  return 0;
}
