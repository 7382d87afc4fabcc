#include "model/internal/canonical_json.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/encoding.h"
#include "testing/test_util.h"

namespace eml::model::internal {
namespace {

using ::eml::testing::HasError;
using ::eml::testing::IsOk;

Result<JsonValue> Parse(const std::string& text, CanonicalJsonLimits limits = {}) {
  return ParseCanonicalJson(AsBytes(text), limits);
}

std::string RoundTrip(const std::string& text) {
  Result<JsonValue> v = Parse(text);
  EXPECT_THAT(v, IsOk()) << text;
  if (!v.has_value()) {
    return "";
  }
  std::string out;
  WriteCanonicalJson(*v, &out);
  return out;
}

TEST(CanonicalJsonTest, CanonicalInputsRoundTripByteForByte) {
  for (const std::string text : {
           R"({})",
           R"({"a":1,"b":[true,false,null],"c":{"d":"e"}})",
           R"({"":0,"A":"x","a":9007199254740991})",
           R"({"s":"quote \" backslash \\ nl \n tab \t ctl \u0001 \u001f del )"
           "\x7f"
           R"("})",
           "{\"u\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"}",
           R"({"a":[],"b":[[1],[2,3]]})",
       }) {
    EXPECT_EQ(RoundTrip(text), text);
  }
}

TEST(CanonicalJsonTest, KeysSortedByBytes) {
  EXPECT_THAT(Parse(R"({"b":1,"a":2})"), HasError(ErrorCode::kManifestNonCanonical));
  EXPECT_THAT(Parse(R"({"a":1,"B":2})"), HasError(ErrorCode::kManifestNonCanonical));
  EXPECT_THAT(Parse(R"({"B":1,"a":2})"), IsOk());
  EXPECT_THAT(Parse("{\"z\":1,\"\xc3\xa9\":2}"), IsOk());  // UTF-8 bytes above ASCII sort last
}

TEST(CanonicalJsonTest, DuplicateKeys) {
  EXPECT_THAT(Parse(R"({"a":1,"a":1})"), HasError(ErrorCode::kManifestDuplicateKey));
  // Not adjacent: found before the order check.
  EXPECT_THAT(Parse(R"({"b":1,"a":2,"b":3})"), HasError(ErrorCode::kManifestNonCanonical));
  EXPECT_THAT(Parse(R"({"a":{"x":1,"x":2}})"), HasError(ErrorCode::kManifestDuplicateKey));
}

TEST(CanonicalJsonTest, WhitespaceIsNotCanonical) {
  for (const std::string text : {R"({ "a":1})", R"({"a" :1})", R"({"a": 1})", R"({"a":1} )", " {}",
                                 "{\"a\":[1, 2]}", "{\"a\":1\n}"}) {
    EXPECT_THAT(Parse(text), HasError(ErrorCode::kManifestNonCanonical)) << text;
  }
}

TEST(CanonicalJsonTest, NumbersOnlyNonNegativeIntegers) {
  for (const std::string text :
       {R"({"a":-1})", R"({"a":-0})", R"({"a":1.0})", R"({"a":1e3})", R"({"a":1E3})",
        R"({"a":9007199254740992})", R"({"a":123456789012345678901234567890})"}) {
    EXPECT_THAT(Parse(text), HasError(ErrorCode::kManifestNonCanonical)) << text;
  }
  for (const std::string text : {R"({"a":01})", R"({"a":1.})", R"({"a":.5})", R"({"a":1e})",
                                 R"({"a":+1})", R"({"a":--1})"}) {
    EXPECT_THAT(Parse(text), HasError(ErrorCode::kManifestBadJson)) << text;
  }
}

TEST(CanonicalJsonTest, StringEscapes) {
  for (const std::string text :
       {R"({"a":"\/"})", R"({"a":"\u0041"})", R"({"a":"\u000a"})", R"({"a":"\u001F"})",
        R"({"a":"\u00e9"})", R"({"a":"\ud83d\ude00"})"}) {
    EXPECT_THAT(Parse(text), HasError(ErrorCode::kManifestNonCanonical)) << text;
  }
  for (const std::string text : {R"({"a":"\x"})", R"({"a":"\u12"})", R"({"a":"\uzzzz"})",
                                 "{\"a\":\"tab\tliteral\"}", R"({"a":"unterminated)"}) {
    EXPECT_THAT(Parse(text), HasError(ErrorCode::kManifestBadJson)) << text;
  }
}

TEST(CanonicalJsonTest, InvalidUtf8) {
  for (const std::string text :
       {"{\"a\":\"\xc0\xaf\"}", "{\"a\":\"\xed\xa0\x80\"}", "{\"a\":\"\xf4\x90\x80\x80\"}",
        "{\"a\":\"\xe2\x82\"}", "{\"a\":\"\x80\"}", "{\"a\":\"\xff\"}"}) {
    EXPECT_THAT(Parse(text), HasError(ErrorCode::kManifestBadJson));
  }
}

TEST(CanonicalJsonTest, SyntaxErrors) {
  for (const std::string text :
       {"", "[]", "\"a\"", "{", R"({"a"})", R"({"a":})", R"({"a":1,})", R"({a:1})", R"({"a":[1,]})",
        R"({"a":tru})", R"({"a":nul})", R"({}{})", R"({"a":1}x)"}) {
    EXPECT_THAT(Parse(text), HasError(ErrorCode::kManifestBadJson)) << text;
  }
}

TEST(CanonicalJsonTest, Limits) {
  CanonicalJsonLimits limits;
  limits.max_bytes = 8;
  EXPECT_THAT(Parse(R"({"a":12345})", limits), HasError(ErrorCode::kManifestTooLarge));
  limits = {};
  limits.max_depth = 3;
  EXPECT_THAT(Parse(R"({"a":[[1]]})", limits), IsOk());
  EXPECT_THAT(Parse(R"({"a":[[[1]]]})", limits), HasError(ErrorCode::kManifestTooLarge));
  // Deep nesting is refused by depth, not by the stack.
  std::string deep = "{\"a\":" + std::string(100000, '[') + std::string(100000, ']') + "}";
  EXPECT_THAT(Parse(deep), HasError(ErrorCode::kManifestTooLarge));
}

}  // namespace
}  // namespace eml::model::internal
