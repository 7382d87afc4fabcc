#include "common/encoding.h"

#include <gtest/gtest.h>

#include "testing/test_util.h"

namespace eml {
namespace {

using ::eml::testing::HasError;

TEST(EncodingTest, HexRoundTrip) {
  const std::vector<uint8_t> bytes = {0x00, 0x7f, 0x80, 0xff};
  EXPECT_EQ(HexEncode(bytes), "007f80ff");
  EXPECT_EQ(*HexDecode("007F80ff"), bytes);
}

TEST(EncodingTest, HexRejectsBadInput) {
  EXPECT_THAT(HexDecode("abc"), HasError(ErrorCode::kBadHex));
  EXPECT_THAT(HexDecode("zz"), HasError(ErrorCode::kBadHex));
  EXPECT_THAT(HexDecodeExact("aabb", 3), HasError(ErrorCode::kBadHex));
}

// RFC 4648 section 10 test vectors.
TEST(EncodingTest, Base64Rfc4648Vectors) {
  const std::pair<const char*, const char*> cases[] = {{"", ""},
                                                       {"f", "Zg=="},
                                                       {"fo", "Zm8="},
                                                       {"foo", "Zm9v"},
                                                       {"foob", "Zm9vYg=="},
                                                       {"fooba", "Zm9vYmE="},
                                                       {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : cases) {
    EXPECT_EQ(Base64Encode(AsBytes(plain)), encoded);
    auto decoded = Base64Decode(encoded);
    ASSERT_TRUE(decoded.has_value());
    EXPECT_EQ(std::string(decoded->begin(), decoded->end()), plain);
  }
}

TEST(EncodingTest, Base64UrlIsUnpaddedWithUrlAlphabet) {
  const std::vector<uint8_t> bytes = {0xfb, 0xff, 0xbf};
  EXPECT_EQ(Base64UrlEncode(bytes), "-_-_");
  EXPECT_EQ(Base64UrlEncode(AsBytes("f")), "Zg");
  EXPECT_EQ(*Base64UrlDecode("-_-_"), bytes);
}

TEST(EncodingTest, Base64RejectsBadInput) {
  EXPECT_THAT(Base64Decode("Zg="), HasError(ErrorCode::kBadBase64));      // length
  EXPECT_THAT(Base64Decode("Zh=="), HasError(ErrorCode::kBadBase64));     // padding bits
  EXPECT_THAT(Base64Decode("Z!=="), HasError(ErrorCode::kBadBase64));     // character
  EXPECT_THAT(Base64UrlDecode("Z"), HasError(ErrorCode::kBadBase64));     // impossible length
  EXPECT_THAT(Base64UrlDecode("Zg=="), HasError(ErrorCode::kBadBase64));  // padding in url form
}

}  // namespace
}  // namespace eml
