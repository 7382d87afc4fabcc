// Fuzz target air_verify: eml::air::VerifyReceipt on arbitrary bytes with the golden key.
// Properties: never crashes; every report lists every check once; `verified` agrees with the
// checks; and a receipt that verifies is exactly what IssueReceipt produces for its claims
// (the deterministic encoding and the deterministic Ed25519 signature leave no other form).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "air/issuer.h"
#include "air/testing/golden.h"
#include "air/verifier.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace eml::air;
  static const auto* key = new eml::crypto::Ed25519PrivateKey(testing::GoldenKey());
  VerifyPolicy policy;
  policy.max_age_s = 0;
  policy.allow_evaluation = true;
  const std::span<const uint8_t> receipt(data, size);
  eml::Result<VerificationReport> report = VerifyReceipt(receipt, key->public_key(), policy);
  if (!report.has_value() || report->checks().size() != static_cast<size_t>(kNumChecks)) {
    std::abort();
  }
  bool any_fail = false;
  for (const CheckResult& r : report->checks()) {
    any_fail = any_fail || r.status == CheckStatus::kFail;
  }
  if (report->verified() == any_fail) {
    std::abort();
  }
  if (const VerifiedReceipt* verified = report->verified_receipt()) {
    eml::Result<std::vector<uint8_t>> again = IssueReceipt(verified->claims(), *key);
    if (!again.has_value() ||
        !std::equal(again->begin(), again->end(), receipt.begin(), receipt.end())) {
      std::abort();
    }
  }
  return 0;
}
