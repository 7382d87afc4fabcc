#include "crypto/hmac.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/encoding.h"
#include "testing/test_util.h"

namespace eml::crypto {
namespace {

template <size_t N>
std::string HexOf(const std::array<uint8_t, N>& bytes) {
  return HexEncode(bytes);
}

// RFC 4231 test case 1.
TEST(HmacSha256Test, Rfc4231Case1) {
  SecretBytes key = SecretBytes::CopyFrom(std::vector<uint8_t>(20, 0x0b));
  EXPECT_EQ(HexOf(HmacSha256(key, AsBytes("Hi There"))),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

// RFC 4231 test case 2 (key "Jefe").
TEST(HmacSha256Test, Rfc4231Case2) {
  SecretBytes key = SecretBytes::CopyFrom(AsBytes("Jefe"));
  EXPECT_EQ(HexOf(HmacSha256(key, AsBytes("what do ya want for nothing?"))),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

}  // namespace
}  // namespace eml::crypto
