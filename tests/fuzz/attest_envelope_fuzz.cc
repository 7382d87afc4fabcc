// Fuzz target attest_envelope: DecodeEnvelope on arbitrary bytes, and PolicyVerifier::Verify on
// the same bytes under a fixed sev-snp + gcp-cs policy (built-in roots). Properties: no crash;
// DecodeEnvelope fails only with the envelope codes (1200-1203); a decoded envelope has a known
// platform and non-empty evidence, LooksLikeEnvelope agrees, and EncodeEnvelope gives back the
// input byte for byte (only the deterministic encoding is accepted); Verify always runs, reports
// evidence_kind first and, for envelope-shaped input, the "envelope" step second, failed exactly
// when DecodeEnvelope fails (with its code) or with kEnvelopePlatformMismatch; `verified` only
// when no step failed (never, here: nothing is signed by AMD or Google).

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "attest/envelope.h"
#include "attest/policy.h"

namespace {

void Require(bool condition) {
  if (!condition) {
    std::abort();
  }
}

bool IsEnvelopeDecodeCode(eml::ErrorCode code) {
  return code == eml::ErrorCode::kEnvelopeTooLarge || code == eml::ErrorCode::kEnvelopeMalformed ||
         code == eml::ErrorCode::kEnvelopeUnsupportedVersion ||
         code == eml::ErrorCode::kEnvelopeUnknownPlatform;
}

const eml::attest::PolicyVerifier& FixedVerifier() {
  static const eml::attest::PolicyVerifier* verifier = [] {
    auto policy = eml::attest::ParseEvidencePolicy(
        R"({"version": 1, "platforms": {"sev-snp": {},
            "gcp-cs": {"audience": "https://relying-party.example"}}})",
        "/");
    Require(policy.has_value());
    auto v = eml::attest::PolicyVerifier::Create(*std::move(policy));
    Require(v.has_value());
    return new eml::attest::PolicyVerifier(*std::move(v));
  }();
  return *verifier;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> bytes(data, size);
  auto envelope = eml::attest::DecodeEnvelope(bytes);
  if (envelope.has_value()) {
    Require(eml::attest::LooksLikeEnvelope(bytes));
    Require(!envelope->evidence.empty());
    auto again = eml::attest::EncodeEnvelope(*envelope);
    Require(again.has_value());
    Require(std::vector<uint8_t>(bytes.begin(), bytes.end()) == *again);
  } else {
    Require(IsEnvelopeDecodeCode(envelope.error().code));
  }

  auto v = FixedVerifier().Verify(bytes, 1700000000, {});
  Require(v.has_value());
  const auto& steps = v->report.steps;
  Require(!steps.empty() && steps.front().name == "evidence_kind");
  if (eml::attest::DetectEvidenceKind(bytes) == eml::attest::EvidenceKind::kEnvelope) {
    Require(steps.size() >= 2 && steps[1].name == "envelope");
    if (!envelope.has_value()) {
      Require(steps[1].status == eml::attest::StepStatus::kFailed &&
              steps[1].code == envelope.error().code);
    } else if (steps[1].status == eml::attest::StepStatus::kFailed) {
      Require(steps[1].code == eml::ErrorCode::kEnvelopePlatformMismatch);
    }
  }
  Require(v->report.verified == v->evidence.has_value());
  Require(!v->report.verified);
  return 0;
}
