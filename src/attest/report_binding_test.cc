#include "attest/report_binding.h"

#include <gtest/gtest.h>

#include <vector>

#include "common/encoding.h"

namespace eml::attest {
namespace {

// Known answers computed independently with Python's hashlib:
//   sha512(b"EphemeralML evidence binding v1" + u32be(len(pk)) + pk + u32be(len(n)) + n).
TEST(ReportBindingTest, KnownAnswer) {
  std::vector<uint8_t> pk(32);
  for (size_t i = 0; i < pk.size(); ++i) {
    pk[i] = static_cast<uint8_t>(i);
  }
  const std::vector<uint8_t> nonce(16, 0xAA);
  EXPECT_EQ(HexEncode(BindingDigest(pk, nonce)),
            "fb5f73379795ed6e906d0b2f7d60e0d611cdb14a0071f96e6213b0630786f47fc27b0d0d5dba125837e3"
            "7ddc1537016e61d81b968c615fb84e636f5f36e85d27");
  EXPECT_EQ(GcpBindingNonce(pk, nonce),
            "fb5f73379795ed6e906d0b2f7d60e0d611cdb14a0071f96e6213b0630786f47f");
  EXPECT_EQ(GcpBindingNonce(pk, nonce).size(), kGcpBindingNonceChars);
}

TEST(ReportBindingTest, EmptyInputsAreLengthPrefixed) {
  EXPECT_EQ(HexEncode(BindingDigest({}, {})),
            "95d2d4d2e8b18810fe1c81fdb767168e936ea77a64ccf8c4a0d875eb47bc88d8921bd4b980e8b76f4748"
            "dd02100969ddc7ada54d041bb90fb8e559ade6db31d2");
}

TEST(ReportBindingTest, KeyAndNonceDoNotShiftIntoEachOther) {
  const std::vector<uint8_t> ab = {1, 2}, a = {1}, b = {2};
  EXPECT_NE(BindingDigest(ab, {}), BindingDigest(a, b));
  EXPECT_NE(BindingDigest(a, b), BindingDigest(b, a));
}

}  // namespace
}  // namespace eml::attest
