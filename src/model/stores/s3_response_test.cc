#include "model/stores/s3_response.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/encoding.h"

namespace eml::model::stores {
namespace {

TEST(S3ResponseTest, Decimal) {
  EXPECT_EQ(ParseDecimalU64("0"), 0u);
  EXPECT_EQ(ParseDecimalU64("1234"), 1234u);
  EXPECT_EQ(ParseDecimalU64("18446744073709551615"), UINT64_MAX);
  for (const char* bad :
       {"", "-1", "+1", "01", " 1", "1 ", "1a", "18446744073709551616", "184467440737095516150"}) {
    EXPECT_FALSE(ParseDecimalU64(bad).has_value()) << bad;
  }
}

TEST(S3ResponseTest, ContentRange) {
  auto r = ParseContentRange("bytes 10-14/100");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->first, 10u);
  EXPECT_EQ(r->last, 14u);
  EXPECT_EQ(r->total, 100u);
  EXPECT_EQ(FormatContentRange(*r), "bytes 10-14/100");
  r = ParseContentRange("bytes 0-0/*");
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->total.has_value());
  for (const char* bad : {"bytes 14-10/100", "bytes 10-14/14", "bytes */100", "bytes 1-2",
                          "items 1-2/3", "bytes 1-2/3/4", "bytes -2/3", "bytes 01-2/3", ""}) {
    EXPECT_FALSE(ParseContentRange(bad).has_value()) << bad;
  }
}

TEST(S3ResponseTest, ErrorCode) {
  EXPECT_EQ(S3ErrorCode(AsBytes("<?xml version=\"1.0\"?><Error><Code>NoSuchKey</Code>"
                                "<Message>The key</Message></Error>")),
            "NoSuchKey");
  EXPECT_EQ(S3ErrorCode(AsBytes("<Error><Code>Bad Code</Code></Error>")), "");
  EXPECT_EQ(S3ErrorCode(AsBytes("<Error><Code></Code></Error>")), "");
  EXPECT_EQ(S3ErrorCode(AsBytes("<Error><Code>Open")), "");
  EXPECT_EQ(S3ErrorCode(AsBytes("<Code>" + std::string(65, 'A') + "</Code>")), "");
  // Only the first 16 KiB are looked at.
  EXPECT_EQ(S3ErrorCode(AsBytes(std::string(kMaxS3ErrorScanBytes, ' ') + "<Code>X</Code>")), "");
}

}  // namespace
}  // namespace eml::model::stores
