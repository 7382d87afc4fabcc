#include "keys/http/api.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/encoding.h"
#include "testing/test_util.h"

namespace eml::keys::http {
namespace {

using ::eml::testing::HasError;
using ::eml::testing::IsOk;

constexpr ErrorCode kBad = ErrorCode::kBrokerHttpBadBody;

std::span<const uint8_t> B(const std::string& text) { return AsBytes(text); }

std::string Key32() { return Base64UrlEncode(std::vector<uint8_t>(32, 0x42)); }

TEST(ReleaseBodyTest, ParsesAllFields) {
  const std::string body = R"({"model_id":"m","version":"1","evidence":"AAEC","challenge":"AwQ",)"
                           R"("recipient_key":"BQ"})";
  Result<ReleaseBody> r = ParseReleaseBody(B(body));
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->model_id, "m");
  EXPECT_EQ(r->version, "1");
  EXPECT_EQ(r->evidence, (std::vector<uint8_t>{0, 1, 2}));
  EXPECT_EQ(r->challenge, (std::vector<uint8_t>{3, 4}));
  EXPECT_EQ(r->recipient_key, (std::vector<uint8_t>{5}));
}

TEST(ReleaseBodyTest, EncodeParseRoundTrip) {
  ReleaseBody body{"model-a", "v2", {1, 2, 3, 250}, std::vector<uint8_t>(32, 7), {9}};
  Result<ReleaseBody> back = ParseReleaseBody(B(EncodeReleaseBody(body)));
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(back->model_id, body.model_id);
  EXPECT_EQ(back->evidence, body.evidence);
  EXPECT_EQ(back->challenge, body.challenge);
  EXPECT_EQ(back->recipient_key, body.recipient_key);
}

TEST(ReleaseBodyTest, RefusesUnknownMissingAndMistypedFields) {
  const std::string ok_fields =
      R"("model_id":"m","version":"1","evidence":"AA","challenge":"AA","recipient_key":"AA")";
  EXPECT_THAT(ParseReleaseBody(B("{" + ok_fields + R"(,"extra":1})")), HasError(kBad));
  EXPECT_THAT(ParseReleaseBody(B(R"({"model_id":"m"})")), HasError(kBad));
  EXPECT_THAT(ParseReleaseBody(B(R"({"model_id":1,"version":"1","evidence":"AA",)"
                                 R"("challenge":"AA","recipient_key":"AA"})")),
              HasError(kBad));
  EXPECT_THAT(ParseReleaseBody(B(R"({"model_id":"m","version":"1","evidence":"AA==",)"
                                 R"("challenge":"AA","recipient_key":"AA"})")),
              HasError(kBad));  // padded base64 is refused
}

TEST(StrictJsonTest, RefusesDuplicatesDepthTrailingAndNonObjects) {
  EXPECT_THAT(CheckStrictJsonObject(B(R"({"a":1,"a":2})")), HasError(kBad));
  EXPECT_THAT(CheckStrictJsonObject(B(R"({"a":{"b":1,"b":1}})")), HasError(kBad));
  EXPECT_THAT(CheckStrictJsonObject(B(R"({"a":1} x)")), HasError(kBad));
  EXPECT_THAT(CheckStrictJsonObject(B("[1]")), HasError(kBad));
  EXPECT_THAT(CheckStrictJsonObject(B("")), HasError(kBad));
  EXPECT_THAT(CheckStrictJsonObject(B("{\"a\":\"\xff\"}")), HasError(kBad));  // bad UTF-8
  std::string deep = "{\"a\":";
  for (size_t i = 0; i < kMaxJsonDepth + 5; ++i) {
    deep += "[";
  }
  for (size_t i = 0; i < kMaxJsonDepth + 5; ++i) {
    deep += "]";
  }
  deep += "}";
  EXPECT_THAT(CheckStrictJsonObject(B(deep)), HasError(kBad));
  EXPECT_THAT(CheckStrictJsonObject(B(R"({"a":[[[1]]]})")), IsOk());
  EXPECT_THAT(CheckStrictJsonObject(B(std::string(kMaxRequestBodyBytes + 1, ' '))), HasError(kBad));
}

TEST(RegisterBodyTest, ParsesKeyAndPolicy) {
  const std::string body = R"({"model_id":"m","version":"1","data_key":")" + Key32() +
                           R"(","policy":{"version":1,"b":[true]}})";
  Result<RegisterBody> r = ParseRegisterBody(B(body));
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->data_key.size(), 32u);
  EXPECT_EQ(r->data_key.Reveal(InsecureSecretAccess::Get())[0], 0x42);
  EXPECT_EQ(r->policy_json, R"({"b":[true],"version":1})");
}

TEST(RegisterBodyTest, EncodeParseRoundTrip) {
  RegisterBody body{"m", "1", SecretBytes::CopyFrom(std::vector<uint8_t>(32, 9)), R"({"x":1})"};
  Result<std::string> text = EncodeRegisterBody(body);
  ASSERT_THAT(text, IsOk());
  Result<RegisterBody> back = ParseRegisterBody(B(*text));
  ASSERT_THAT(back, IsOk());
  EXPECT_TRUE(ConstantTimeEquals(back->data_key.Reveal(InsecureSecretAccess::Get()),
                                 body.data_key.Reveal(InsecureSecretAccess::Get())));
  EXPECT_EQ(back->policy_json, R"({"x":1})");
  body.policy_json = "[1]";
  EXPECT_THAT(EncodeRegisterBody(body), HasError(kBad));
}

TEST(RegisterBodyTest, RefusesShortKeyAndNonObjectPolicy) {
  const std::string short_key = Base64UrlEncode(std::vector<uint8_t>(31, 1));
  EXPECT_THAT(ParseRegisterBody(B(R"({"model_id":"m","version":"1","data_key":")" + short_key +
                                  R"(","policy":{}})")),
              HasError(kBad));
  EXPECT_THAT(ParseRegisterBody(B(R"({"model_id":"m","version":"1","data_key":")" + Key32() +
                                  R"(","policy":"{}"})")),
              HasError(kBad));
}

TEST(PolicyBodyTest, ParsesAndRefuses) {
  Result<PolicyBody> r = ParsePolicyBody(B(R"({"policy":{"z":1,"a":2}})"));
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->policy_json, R"({"a":2,"z":1})");
  EXPECT_THAT(ParsePolicyBody(B(R"({"policy":{},"x":0})")), HasError(kBad));
  Result<std::string> encoded = EncodePolicyBody(R"({"k":"v"})");
  ASSERT_THAT(encoded, IsOk());
  EXPECT_EQ(*encoded, R"({"policy":{"k":"v"}})");
}

TEST(EmptyBodyTest, AcceptsNothingOrEmptyObject) {
  EXPECT_THAT(ParseEmptyBody({}), IsOk());
  EXPECT_THAT(ParseEmptyBody(B("{}")), IsOk());
  EXPECT_THAT(ParseEmptyBody(B(R"({"a":1})")), HasError(kBad));
  EXPECT_THAT(ParseEmptyBody(B("null")), HasError(kBad));
}

TEST(AuditQueryTest, ParsesAndRoundTrips) {
  Result<AuditParams> r = ParseAuditQuery("model_id=a%2Fb&version=1&after=7&limit=20");
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(*r->model_id, "a/b");
  EXPECT_EQ(*r->version, "1");
  EXPECT_EQ(r->after_id, 7);
  EXPECT_EQ(r->limit, 20u);
  Result<AuditParams> back = ParseAuditQuery(EncodeAuditQuery(*r));
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(*back->model_id, "a/b");
  EXPECT_EQ(back->limit, 20u);
  Result<AuditParams> none = ParseAuditQuery("");
  ASSERT_THAT(none, IsOk());
  EXPECT_FALSE(none->model_id.has_value());
  EXPECT_EQ(none->limit, kDefaultAuditLimit);
}

TEST(AuditQueryTest, RefusesBadQueries) {
  EXPECT_THAT(ParseAuditQuery("model_id=a"), HasError(kBad));  // version missing
  EXPECT_THAT(ParseAuditQuery("limit=0"), HasError(kBad));
  EXPECT_THAT(ParseAuditQuery("limit=1001"), HasError(kBad));
  EXPECT_THAT(ParseAuditQuery("after=-1"), HasError(kBad));
  EXPECT_THAT(ParseAuditQuery("after=1x"), HasError(kBad));
  EXPECT_THAT(ParseAuditQuery("after=1&after=2"), HasError(kBad));
  EXPECT_THAT(ParseAuditQuery("color=red"), HasError(kBad));
  EXPECT_THAT(ParseAuditQuery("after"), HasError(kBad));
  EXPECT_THAT(ParseAuditQuery(std::string(kMaxQueryBytes + 1, 'a')), HasError(kBad));
}

TEST(PercentTest, DecodesStrictly) {
  EXPECT_EQ(*PercentDecode("a%20b%2f"), "a b/");
  EXPECT_THAT(PercentDecode("a%2"), HasError(kBad));
  EXPECT_THAT(PercentDecode("%zz"), HasError(kBad));
  EXPECT_THAT(PercentDecode("%00"), HasError(kBad));
  // Found by fuzz_keys_http_body: values accepted raw must stay acceptable once re-encoded.
  const std::string longest(kMaxPathSegmentBytes, '{');
  ASSERT_THAT(PercentDecode(longest), IsOk());
  EXPECT_EQ(*PercentDecode(PercentEncode(longest)), longest);
  EXPECT_THAT(PercentDecode(longest + "{"), HasError(kBad));
  EXPECT_THAT(PercentDecode(std::string(3 * kMaxPathSegmentBytes + 1, '%')), HasError(kBad));
  EXPECT_THAT(PercentDecode(std::string("a\0b", 3)), HasError(kBad));
  EXPECT_THAT(PercentDecode("a\x10"
                            "b"),
              HasError(kBad));
  EXPECT_EQ(*PercentDecode("a%10b"),
            "a\x10"
            "b");
  EXPECT_EQ(PercentEncode("m v/1~"), "m%20v%2F1~");
}

constexpr ErrorCode kBadAnswer = ErrorCode::kReleaseBadAnswer;

std::string B64(size_t size, uint8_t fill) {
  return Base64UrlEncode(std::vector<uint8_t>(size, fill));
}

TEST(ChallengeAnswerTest, RoundTripsAndChecksSizes) {
  const ChallengeAnswer answer{std::vector<uint8_t>(kChallengeNonceBytes, 9), 1700000060};
  Result<ChallengeAnswer> back = ParseChallengeAnswer(B(EncodeChallengeAnswer(answer)));
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(back->nonce, answer.nonce);
  EXPECT_EQ(back->expires_at, answer.expires_at);
  const std::string nonce = B64(kChallengeNonceBytes, 1);
  EXPECT_THAT(ParseChallengeAnswer(B(R"({"nonce":")" + B64(31, 1) + R"(","expires_at":1})")),
              HasError(kBadAnswer));
  EXPECT_THAT(ParseChallengeAnswer(B(R"({"nonce":")" + nonce + R"(","expires_at":-1})")),
              HasError(kBadAnswer));
  EXPECT_THAT(ParseChallengeAnswer(B(R"({"nonce":")" + nonce + R"(","expires_at":1.5})")),
              HasError(kBadAnswer));
  EXPECT_THAT(
      ParseChallengeAnswer(B(R"({"nonce":")" + nonce + R"(","expires_at":18446744073709551615})")),
      HasError(kBadAnswer));
  EXPECT_THAT(ParseChallengeAnswer(B(R"({"nonce":")" + nonce + R"(","expires_at":1,"x":1})")),
              HasError(kBadAnswer));
  EXPECT_THAT(ParseChallengeAnswer(B(R"({"nonce":")" + nonce + R"("})")), HasError(kBadAnswer));
  EXPECT_THAT(ParseChallengeAnswer(B("not json")), HasError(kBadAnswer));
  EXPECT_THAT(ParseChallengeAnswer(B(std::string(kMaxAnswerBytes + 1, ' '))), HasError(kBadAnswer));
}

TEST(ReleaseAnswerTest, RoundTripsAndChecksSizes) {
  ReleaseAnswer answer;
  answer.key_id = "kb-0123456789abcdef";
  answer.enc.assign(kReleaseEncBytes, 1);
  answer.ciphertext.assign(kReleaseCiphertextBytes, 2);
  answer.evidence_sha256.fill(3);
  Result<ReleaseAnswer> back = ParseReleaseAnswer(B(EncodeReleaseAnswer(answer)));
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(back->key_id, answer.key_id);
  EXPECT_EQ(back->enc, answer.enc);
  EXPECT_EQ(back->ciphertext, answer.ciphertext);
  EXPECT_EQ(back->evidence_sha256, answer.evidence_sha256);

  auto with = [&](const std::string& key_id, size_t enc, size_t ciphertext, size_t digest) {
    return R"({"key_id":")" + key_id + R"(","enc":")" + B64(enc, 1) + R"(","ciphertext":")" +
           B64(ciphertext, 2) + R"(","evidence_sha256":")" + B64(digest, 3) + R"("})";
  };
  EXPECT_THAT(ParseReleaseAnswer(B(with("kb-1", 32, 48, 32))), IsOk());
  EXPECT_THAT(ParseReleaseAnswer(B(with("kb-1", 31, 48, 32))), HasError(kBadAnswer));
  EXPECT_THAT(ParseReleaseAnswer(B(with("kb-1", 32, 47, 32))), HasError(kBadAnswer));
  EXPECT_THAT(ParseReleaseAnswer(B(with("kb-1", 32, 49, 32))), HasError(kBadAnswer));
  EXPECT_THAT(ParseReleaseAnswer(B(with("kb-1", 32, 48, 33))), HasError(kBadAnswer));
  EXPECT_THAT(ParseReleaseAnswer(B(with("", 32, 48, 32))), HasError(kBadAnswer));
  EXPECT_THAT(ParseReleaseAnswer(B(with("kb 1", 32, 48, 32))), HasError(kBadAnswer));
  EXPECT_THAT(ParseReleaseAnswer(B(with(std::string(kMaxKeyIdBytes + 1, 'k'), 32, 48, 32))),
              HasError(kBadAnswer));
}

TEST(ErrorAnswerTest, ParsesTheServersErrorShape) {
  Result<ErrorAnswer> answer = ParseErrorAnswer(
      B(R"({"error":{"code":1115,"name":"BROKER_MEASUREMENT_MISMATCH","message":"pcr1\u0007x"}})"));
  ASSERT_THAT(answer, IsOk());
  EXPECT_EQ(answer->code, 1115);
  EXPECT_EQ(answer->name, "BROKER_MEASUREMENT_MISMATCH");
  EXPECT_EQ(answer->message, "pcr1?x");
  EXPECT_THAT(ParseErrorAnswer(B(R"({"error":{"code":1,"name":"bad name","message":""}})")),
              HasError(kBadAnswer));
  EXPECT_THAT(ParseErrorAnswer(B(R"({"error":{"code":0,"name":"X","message":""}})")),
              HasError(kBadAnswer));
  EXPECT_THAT(ParseErrorAnswer(B(R"({"error":{"code":1,"name":"X"}})")), HasError(kBadAnswer));
  EXPECT_THAT(ParseErrorAnswer(B(R"({"error":"denied"})")), HasError(kBadAnswer));
  EXPECT_THAT(ParseErrorAnswer(B(R"({"error":{"code":1,"name":"X","message":"m"},"x":1})")),
              HasError(kBadAnswer));
}

}  // namespace
}  // namespace eml::keys::http
