// Property tests: any valid claim set issues and verifies back to itself, and any single-bit
// change to a receipt makes verification fail.

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <string>
#include <vector>

#include "air/issuer.h"
#include "air/testing/golden.h"
#include "air/verifier.h"

namespace eml::air {
namespace {

// Verified: the verified receipt of a report known to be verified (aborts otherwise).
const VerifiedReceipt& Verified(const VerificationReport& report) {
  EML_CHECK(report.verified_receipt() != nullptr);
  return *report.verified_receipt();
}

const crypto::Ed25519PrivateKey& Key() {
  static const crypto::Ed25519PrivateKey* key = new crypto::Ed25519PrivateKey(testing::GoldenKey());
  return *key;
}

// Printable ASCII and some multi-byte UTF-8, 1..max bytes.
rc::Gen<std::string> GenText(size_t max_bytes) {
  return rc::gen::map(
      rc::gen::container<std::vector<int>>(rc::gen::inRange(0, 100)),
      [max_bytes](std::vector<int> cps) {
        std::string out;
        for (int cp : cps) {
          const std::string piece =
              cp < 90 ? std::string(1, static_cast<char>(' ' + cp))
                      : (cp < 95 ? std::string("\xc3\xa9") : std::string("\xe2\x82\xac"));
          if (out.size() + piece.size() > max_bytes) {
            break;
          }
          out += piece;
        }
        return out.empty() ? std::string("x") : out;
      });
}

template <size_t kSize>
rc::Gen<std::array<uint8_t, kSize>> GenNonZeroArray() {
  return rc::gen::map(rc::gen::arbitrary<std::array<uint8_t, kSize>>(),
                      [](std::array<uint8_t, kSize> a) {
                        a[kSize - 1] |= 1;  // never all zero
                        return a;
                      });
}

rc::Gen<std::vector<uint8_t>> GenBytes(size_t min, size_t max) {
  return rc::gen::mapcat(rc::gen::inRange(min, max + 1), [](size_t n) {
    return rc::gen::container<std::vector<uint8_t>>(n, rc::gen::arbitrary<uint8_t>());
  });
}

Claims GenClaims() {
  Claims c;
  c.iss = *GenText(kMaxIssBytes);
  c.iat = *rc::gen::inRange<uint64_t>(1, UINT64_MAX);
  c.cti = *GenNonZeroArray<kCtiBytes>();
  if (*rc::gen::arbitrary<bool>()) {
    c.eat_nonce = *GenBytes(kMinNonceBytes, kMaxNonceBytes);
  }
  c.model_id = *GenText(kMaxModelIdBytes);
  c.model_version = *GenText(kMaxModelVersionBytes);
  c.model_hash = *GenNonZeroArray<kHashBytes>();
  c.request_hash = *rc::gen::arbitrary<Sha256Digest>();
  c.response_hash = *rc::gen::arbitrary<Sha256Digest>();
  c.attestation_doc_hash = *rc::gen::arbitrary<Sha256Digest>();
  const bool tdx = *rc::gen::arbitrary<bool>();
  Measurements& m = c.enclave_measurements;
  m.measurement_type = std::string(tdx ? kMeasurementTypeTdx : kMeasurementTypeNitro);
  m.pcr0 = *GenBytes(kPcrBytes, kPcrBytes);
  m.pcr1 = *GenBytes(kPcrBytes, kPcrBytes);
  m.pcr2 = *GenBytes(kPcrBytes, kPcrBytes);
  if (*rc::gen::arbitrary<bool>()) {
    m.pcr3 = *GenBytes(kPcrBytes, kPcrBytes);
  }
  if (*rc::gen::arbitrary<bool>()) {
    m.pcr4 = *GenBytes(kPcrBytes, kPcrBytes);
  }
  if (!tdx && *rc::gen::arbitrary<bool>()) {
    m.pcr8 = *GenBytes(kPcrBytes, kPcrBytes);
  }
  c.policy_version = *GenText(kMaxPolicyVersionBytes);
  c.sequence_number = *rc::gen::arbitrary<uint64_t>();
  c.execution_time_ms = *rc::gen::arbitrary<uint64_t>();
  c.memory_peak_mb = *rc::gen::arbitrary<uint64_t>();
  c.security_mode =
      std::string(*rc::gen::element(kSecurityModeProduction, kSecurityModeEvaluation));
  if (*rc::gen::arbitrary<bool>()) {
    c.model_hash_scheme = std::string(
        *rc::gen::element(kSchemeSha256Single, kSchemeSha256Concat, kSchemeSha256Manifest));
  }
  return c;
}

VerifyPolicy PermissivePolicy() {
  VerifyPolicy policy;
  policy.max_age_s = 0;
  policy.allow_evaluation = true;
  return policy;
}

RC_GTEST_PROP(AirPropertyTest, IssueThenVerifyRoundTrips, ()) {
  const Claims claims = GenClaims();
  Result<std::vector<uint8_t>> receipt = IssueReceipt(claims, Key());
  RC_ASSERT(receipt.has_value());
  Result<VerificationReport> report =
      VerifyReceipt(*receipt, Key().public_key(), PermissivePolicy());
  RC_ASSERT(report.has_value());
  RC_ASSERT(report->verified());
  RC_ASSERT(Verified(*report).claims() == claims);
}

RC_GTEST_PROP(AirPropertyTest, AnySingleBitFlipFailsVerification, ()) {
  const Claims claims = GenClaims();
  Result<std::vector<uint8_t>> receipt = IssueReceipt(claims, Key());
  RC_ASSERT(receipt.has_value());
  std::vector<uint8_t> flipped = *receipt;
  const size_t bit = *rc::gen::inRange<size_t>(0, flipped.size() * 8);
  flipped[bit / 8] = static_cast<uint8_t>(flipped[bit / 8] ^ (1u << (bit % 8)));
  Result<VerificationReport> report =
      VerifyReceipt(flipped, Key().public_key(), PermissivePolicy());
  RC_ASSERT(report.has_value());
  RC_ASSERT(!report->verified());
  RC_ASSERT(report->verified_receipt() == nullptr);
}

}  // namespace
}  // namespace eml::air
