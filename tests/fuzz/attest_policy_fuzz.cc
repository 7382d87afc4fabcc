// Fuzz target attest_policy: ParseEvidencePolicy on arbitrary text (base folder that does not
// exist, so relative root files never load) and DetectEvidenceKind / PolicyVerifier::Verify on
// the same bytes as evidence under a fixed aws-nitro + sim-free policy. Properties: no crash and
// no exception; the parser fails only with policy codes (770-778) or the built-in root codes;
// a parsed policy passes ValidateEvidencePolicy, allows at least one platform, and every entry
// has a root; Verify always runs and reports evidence_kind first, `verified` only when no step
// failed (it never is, here: the input is not real evidence signed by AWS at that time).

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string_view>

#include "attest/policy.h"

namespace {

void Require(bool condition) {
  if (!condition) {
    std::abort();
  }
}

bool IsPolicyCode(eml::ErrorCode code) {
  const auto value = static_cast<uint16_t>(code);
  return (value >= 770 && value <= 778) || code == eml::ErrorCode::kNotFound;
}

const eml::attest::PolicyVerifier& FixedVerifier() {
  static const eml::attest::PolicyVerifier* verifier = [] {
    auto policy = eml::attest::ParseEvidencePolicy(
        R"({"version": 1, "platforms": {"aws-nitro": {}}, "max_evidence_age_s": 600})", "/");
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
  const std::string text(bytes.begin(), bytes.end());
  auto policy = eml::attest::ParseEvidencePolicy(text, "/nonexistent-eml-fuzz-base");
  if (policy.has_value()) {
    Require(eml::attest::ValidateEvidencePolicy(*policy).has_value());
    Require(!policy->platforms.empty());
    for (const auto& [name, platform] : policy->platforms) {
      Require(!platform.roots.empty());
    }
  } else {
    Require(IsPolicyCode(policy.error().code));
  }

  (void)eml::attest::EvidenceKindName(eml::attest::DetectEvidenceKind(bytes));
  auto v = FixedVerifier().Verify(bytes, 1631182761, {});
  Require(v.has_value());
  Require(!v->report.steps.empty() && v->report.steps.front().name == "evidence_kind");
  Require(v->report.verified == v->evidence.has_value());
  if (v->report.verified) {
    Require(v->report.FirstFailure() == eml::ErrorCode::kOk);
  }
  return 0;
}
