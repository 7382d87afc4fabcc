#include "attest/gcp/jwt.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "attest/gcp/claims.h"
#include "attest/gcp/jwks.h"
#include "common/encoding.h"
#include "testing/test_util.h"

namespace eml::attest::gcp {
namespace {

using ::eml::testing::HasError;
using ::eml::testing::IsOk;
using ::eml::testing::ReadFileText;
using ::eml::testing::ReadJson;
using ::eml::testing::SharedVectorPath;
using ::eml::testing::SourcePath;

std::string RealToken(const std::string& name) {
  return ReadFileText(SharedVectorPath("gcp/oak/" + name));
}

std::string B64(const std::string& text) { return Base64UrlEncode(AsBytes(text)); }

// Token joins base64url(header) . base64url(payload) . base64url(signature).
std::string Token(const std::string& header, const std::string& payload,
                  const std::string& signature = "sig") {
  return B64(header) + "." + B64(payload) + "." + B64(signature);
}

Result<ParsedJwt> Parse(const std::string& token, const JwtLimits& limits = {}) {
  return ParseJwt(AsBytes(token), limits);
}

constexpr char kHeader[] = R"({"alg":"RS256","typ":"JWT","kid":"k"})";
constexpr char kPayload[] = R"({"iss":"x"})";

TEST(JwtTest, ParsesRealTokens) {
  const nlohmann::json expected = ReadJson(SharedVectorPath("gcp/expected.json"));
  for (const char* name : {"valid.jwt", "ctf_sha2-sample.jwt", "invalid_signature.jwt"}) {
    SCOPED_TRACE(name);
    const std::string token = RealToken(name);
    Result<ParsedJwt> jwt = Parse(token);
    ASSERT_THAT(jwt, IsOk());
    const nlohmann::json& want = expected["tokens"][std::string("oak/") + name];
    EXPECT_EQ(jwt->header.alg, "RS256");
    EXPECT_EQ(jwt->header.typ, "JWT");
    EXPECT_EQ(jwt->header.kid, want["kid"].get<std::string>());
    EXPECT_EQ(jwt->header.x5c.size(), 3u);
    EXPECT_EQ(jwt->signature.size(), 256u);
    const std::string signing_input = token.substr(0, token.rfind('.'));
    EXPECT_EQ(std::string(jwt->signing_input.begin(), jwt->signing_input.end()), signing_input);
  }
}

TEST(JwtTest, DecodesRealClaims) {
  const nlohmann::json expected = ReadJson(SharedVectorPath("gcp/expected.json"));
  for (const char* name : {"valid.jwt", "ctf_sha2-sample.jwt"}) {
    SCOPED_TRACE(name);
    Result<ParsedJwt> jwt = Parse(RealToken(name));
    ASSERT_THAT(jwt, IsOk());
    Result<Claims> claims = DecodeClaims(jwt->payload);
    ASSERT_THAT(claims, IsOk());
    const nlohmann::json& want = expected["tokens"][std::string("oak/") + name];
    EXPECT_EQ(claims->issuer, want["iss"].get<std::string>());
    EXPECT_EQ(claims->audiences, std::vector<std::string>{want["aud"].get<std::string>()});
    EXPECT_EQ(claims->issued_at_unix, want["iat"].get<int64_t>());
    EXPECT_EQ(claims->expires_at_unix, want["exp"].get<int64_t>());
    EXPECT_EQ(claims->not_before_unix, want["iat"].get<int64_t>());
    EXPECT_EQ(claims->hwmodel, want["hwmodel"].get<std::string>());
    EXPECT_EQ(claims->swname, want["swname"].get<std::string>());
    EXPECT_EQ(claims->swversion, want["swversion"].get<std::vector<std::string>>());
    EXPECT_EQ(claims->dbgstat, want["dbgstat"].get<std::string>());
    EXPECT_EQ(claims->secboot, want["secboot"].get<bool>());
    EXPECT_EQ(claims->eat_nonces, std::vector<std::string>{want["eat_nonce"].get<std::string>()});
    EXPECT_EQ(claims->image_digest, want["image_digest"].get<std::string>());
    EXPECT_EQ("sha256:" + HexEncode(claims->image_digest_sha256), claims->image_digest);
    EXPECT_EQ(claims->image_reference, want["image_reference"].get<std::string>());
  }
}

TEST(JwtTest, WrongPartCountIsMalformed) {
  const std::string two = B64(kHeader) + "." + B64(kPayload);
  EXPECT_THAT(Parse(two), HasError(ErrorCode::kGcpMalformedToken));
  EXPECT_THAT(Parse(Token(kHeader, kPayload) + ".x"), HasError(ErrorCode::kGcpMalformedToken));
  EXPECT_THAT(Parse(""), HasError(ErrorCode::kGcpMalformedToken));
  EXPECT_THAT(Parse(".."), HasError(ErrorCode::kGcpMalformedToken));
  EXPECT_THAT(Parse("." + B64(kPayload) + ".c2ln"), HasError(ErrorCode::kGcpMalformedToken));
}

TEST(JwtTest, Base64UrlIsStrict) {
  const std::string good = Token(kHeader, kPayload);
  ASSERT_THAT(Parse(good), IsOk());
  EXPECT_THAT(Parse(good + "\n"), HasError(ErrorCode::kGcpMalformedToken));
  EXPECT_THAT(Parse(" " + good), HasError(ErrorCode::kGcpMalformedToken));
  EXPECT_THAT(Parse(good + "="), HasError(ErrorCode::kGcpMalformedToken));  // Padding.
  // "sig" encodes as "c2ln"; the standard alphabet's '+' and '/' are not base64url.
  std::string plus = B64(kHeader) + "." + B64(kPayload) + ".c2l+";
  EXPECT_THAT(Parse(plus), HasError(ErrorCode::kGcpMalformedToken));
  std::string slash = B64(kHeader) + "." + B64(kPayload) + ".c2l/";
  EXPECT_THAT(Parse(slash), HasError(ErrorCode::kGcpMalformedToken));
  // One leftover character (length 1 mod 4) cannot be base64.
  EXPECT_THAT(Parse(B64(kHeader) + "." + B64(kPayload) + ".c2lnA"),
              HasError(ErrorCode::kGcpMalformedToken));
}

TEST(JwtTest, HeaderAndPayloadMustBeJsonObjects) {
  EXPECT_THAT(Parse(Token("not json", kPayload)), HasError(ErrorCode::kGcpMalformedToken));
  EXPECT_THAT(Parse(Token("[1]", kPayload)), HasError(ErrorCode::kGcpMalformedToken));
  EXPECT_THAT(Parse(Token(kHeader, "\"text\"")), HasError(ErrorCode::kGcpMalformedToken));
  EXPECT_THAT(Parse(Token(kHeader, R"({"a":1} {})")), HasError(ErrorCode::kGcpMalformedToken));
  EXPECT_THAT(Parse(Token(kHeader, "{\"a\":\"\xff\"}")), HasError(ErrorCode::kGcpMalformedToken));
}

TEST(JwtTest, DuplicateKeysRejected) {
  EXPECT_THAT(Parse(Token(R"({"alg":"RS256","alg":"none"})", kPayload)),
              HasError(ErrorCode::kGcpDuplicateJsonKey));
  EXPECT_THAT(Parse(Token(kHeader, R"({"aud":"a","aud":"b"})")),
              HasError(ErrorCode::kGcpDuplicateJsonKey));
  EXPECT_THAT(Parse(Token(kHeader, R"({"submods":{"container":{"d":1,"d":2}}})")),
              HasError(ErrorCode::kGcpDuplicateJsonKey));
  // The same key in different objects is fine.
  EXPECT_THAT(Parse(Token(kHeader, R"({"a":{"a":{"a":1}},"b":[{"a":1},{"a":2}]})")), IsOk());
}

TEST(JwtTest, LimitsEnforced) {
  std::string deep(20, '[');
  deep += std::string(20, ']');
  EXPECT_THAT(Parse(Token(kHeader, R"({"a":)" + deep + "}")),
              HasError(ErrorCode::kGcpTokenTooLarge));
  std::string at_limit = R"({"a":)" + std::string(14, '[') + std::string(14, ']') + "}";
  EXPECT_THAT(Parse(Token(kHeader, at_limit)), IsOk());

  JwtLimits small;
  small.max_token_bytes = 100;
  const std::string big_payload = R"({"a":")" + std::string(200, 'x') + "\"}";
  EXPECT_THAT(Parse(Token(kHeader, big_payload), small), HasError(ErrorCode::kGcpTokenTooLarge));
  JwtLimits small_payload;
  small_payload.max_payload_bytes = 64;
  EXPECT_THAT(Parse(Token(kHeader, big_payload), small_payload),
              HasError(ErrorCode::kGcpTokenTooLarge));
  JwtLimits small_signature;
  small_signature.max_signature_bytes = 2;
  EXPECT_THAT(Parse(Token(kHeader, kPayload), small_signature),
              HasError(ErrorCode::kGcpTokenTooLarge));
  JwtLimits small_header;
  small_header.max_header_bytes = 10;
  EXPECT_THAT(Parse(Token(kHeader, kPayload), small_header),
              HasError(ErrorCode::kGcpTokenTooLarge));
  JwtLimits one_cert;
  one_cert.max_x5c_certificates = 2;
  EXPECT_THAT(Parse(RealToken("valid.jwt"), one_cert), HasError(ErrorCode::kGcpTokenTooLarge));
  const std::string huge_cert = "\"" + std::string(90000, 'A') + "\"";
  EXPECT_THAT(Parse(Token(R"({"alg":"RS256","x5c":[)" + huge_cert + "]}", kPayload)),
              HasError(ErrorCode::kGcpTokenTooLarge));
}

TEST(JwtTest, HeaderFieldsChecked) {
  const auto header_error = [](const std::string& header) {
    return Parse(Token(header, kPayload));
  };
  EXPECT_THAT(header_error(R"({"typ":"JWT"})"), HasError(ErrorCode::kGcpBadHeader));
  EXPECT_THAT(header_error(R"({"alg":256})"), HasError(ErrorCode::kGcpBadHeader));
  EXPECT_THAT(header_error(R"({"alg":""})"), HasError(ErrorCode::kGcpBadHeader));
  EXPECT_THAT(header_error(R"({"alg":"RS256","typ":"JOSE"})"), HasError(ErrorCode::kGcpBadHeader));
  EXPECT_THAT(header_error(R"({"alg":"RS256","typ":7})"), HasError(ErrorCode::kGcpBadHeader));
  EXPECT_THAT(header_error(R"({"alg":"RS256","crit":["exp"]})"),
              HasError(ErrorCode::kGcpBadHeader));
  EXPECT_THAT(header_error(R"({"alg":"RS256","kid":""})"), HasError(ErrorCode::kGcpBadHeader));
  EXPECT_THAT(header_error(R"({"alg":"RS256","kid":"k)" + std::string(256, 'k') + "\"}"),
              HasError(ErrorCode::kGcpBadHeader));
  EXPECT_THAT(header_error(R"({"alg":"RS256","x5c":"MIIB"})"), HasError(ErrorCode::kGcpBadHeader));
  EXPECT_THAT(header_error(R"({"alg":"RS256","x5c":[]})"), HasError(ErrorCode::kGcpBadHeader));
  EXPECT_THAT(header_error(R"({"alg":"RS256","x5c":[1]})"), HasError(ErrorCode::kGcpBadHeader));
  // x5c is padded base64, not base64url.
  EXPECT_THAT(header_error(R"({"alg":"RS256","x5c":["AQID_-"]})"),
              HasError(ErrorCode::kGcpBadHeader));
  // typ is case-insensitive; other header fields (jku, x5u) are ignored, never fetched.
  Result<ParsedJwt> ok = Parse(Token(
      R"({"alg":"RS256","typ":"jwt","jku":"https://evil.example","x5c":["AQID"]})", kPayload));
  ASSERT_THAT(ok, IsOk());
  EXPECT_EQ(ok->header.x5c, (std::vector<std::vector<uint8_t>>{{1, 2, 3}}));
  EXPECT_FALSE(ok->header.kid.has_value());
}

// alg "none" tokens have an empty signature part; they parse so that the verifier's algorithm
// step (not the parser) rejects them with its own code.
TEST(JwtTest, EmptySignatureParses) {
  Result<ParsedJwt> jwt = Parse(B64(R"({"alg":"none"})") + "." + B64(kPayload) + ".");
  ASSERT_THAT(jwt, IsOk());
  EXPECT_EQ(jwt->header.alg, "none");
  EXPECT_TRUE(jwt->signature.empty());
}

// The claims decoder on hand-made payloads: every required claim, types and ranges.
TEST(ClaimsTest, RequiredClaimsAndTypes) {
  nlohmann::json base = {
      {"iss", "https://confidentialcomputing.googleapis.com"},
      {"aud", "a"},
      {"iat", 100},
      {"exp", 200},
      {"hwmodel", "GCP_AMD_SEV"},
      {"swname", "CONFIDENTIAL_SPACE"},
      {"dbgstat", "disabled-since-boot"},
      {"submods", {{"container", {{"image_digest", "sha256:" + std::string(64, 'a')}}}}}};
  const auto decode = [](const nlohmann::json& json) { return DecodeClaims(AsBytes(json.dump())); };
  ASSERT_THAT(decode(base), IsOk());
  for (const char* name : {"iss", "aud", "iat", "exp", "hwmodel", "swname", "dbgstat", "submods"}) {
    SCOPED_TRACE(name);
    nlohmann::json missing = base;
    missing.erase(name);
    EXPECT_THAT(decode(missing), HasError(ErrorCode::kGcpBadClaim));
  }
  const auto with = [&base](const char* name, nlohmann::json value) {
    nlohmann::json changed = base;
    changed[name] = std::move(value);
    return changed;
  };
  EXPECT_THAT(decode(with("iat", 100.5)), HasError(ErrorCode::kGcpBadClaim));
  EXPECT_THAT(decode(with("iat", -1)), HasError(ErrorCode::kGcpBadClaim));
  EXPECT_THAT(decode(with("exp", 100)), HasError(ErrorCode::kGcpBadClaim));  // Not after iat.
  EXPECT_THAT(decode(with("exp", uint64_t{1} << 63)), HasError(ErrorCode::kGcpBadClaim));
  EXPECT_THAT(decode(with("nbf", "100")), HasError(ErrorCode::kGcpBadClaim));
  EXPECT_THAT(decode(with("aud", nlohmann::json::array())), HasError(ErrorCode::kGcpBadClaim));
  EXPECT_THAT(decode(with("aud", {"a", 1})), HasError(ErrorCode::kGcpBadClaim));
  EXPECT_THAT(decode(with("eat_nonce", 5)), HasError(ErrorCode::kGcpBadClaim));
  EXPECT_THAT(decode(with("eat_nonce", "")), HasError(ErrorCode::kGcpBadClaim));
  EXPECT_THAT(decode(with("eat_nonce", std::string(513, 'n'))), HasError(ErrorCode::kGcpBadClaim));
  EXPECT_THAT(decode(with("hwmodel", std::string(2049, 'h'))), HasError(ErrorCode::kGcpBadClaim));
  EXPECT_THAT(decode(with("secboot", "yes")), HasError(ErrorCode::kGcpBadClaim));
  EXPECT_THAT(decode(with("submods", {{"container", {{"image_digest", "sha256:abc"}}}})),
              HasError(ErrorCode::kGcpBadClaim));
  EXPECT_THAT(decode(with("submods", {{"container", 1}})), HasError(ErrorCode::kGcpBadClaim));

  Result<Claims> arrays = decode(with("aud", {"a", "b"}));
  ASSERT_THAT(arrays, IsOk());
  EXPECT_EQ(arrays->audiences, (std::vector<std::string>{"a", "b"}));
  Result<Claims> nonces = decode(with("eat_nonce", {"n1", "n2"}));
  ASSERT_THAT(nonces, IsOk());
  EXPECT_EQ(nonces->eat_nonces, (std::vector<std::string>{"n1", "n2"}));
}

TEST(ClaimsTest, ParseImageDigest) {
  Result<std::array<uint8_t, 32>> digest = ParseImageDigest("sha256:" + std::string(64, 'F'));
  ASSERT_THAT(digest, IsOk());
  EXPECT_EQ((*digest)[0], 0xff);
  EXPECT_THAT(ParseImageDigest(std::string(64, 'a')), HasError(ErrorCode::kInvalidArgument));
  EXPECT_THAT(ParseImageDigest("sha512:" + std::string(64, 'a')),
              HasError(ErrorCode::kInvalidArgument));
  EXPECT_THAT(ParseImageDigest("sha256:" + std::string(63, 'a') + "g"),
              HasError(ErrorCode::kInvalidArgument));
}

TEST(JwksTest, ParsesGeneratedSet) {
  Result<Jwks> jwks = Jwks::Parse(AsBytes(ReadFileText(SourcePath("tests/vectors/gcp/jwks.json"))));
  ASSERT_THAT(jwks, IsOk());
  // The EC key and the encryption key are skipped.
  EXPECT_EQ(jwks->size(), 2u);
  ASSERT_NE(jwks->Find("eml-test-key-1"), nullptr);
  EXPECT_EQ(jwks->Find("eml-test-key-1")->modulus_bits(), 2048);
  EXPECT_NE(jwks->Find("eml-test-key-2"), nullptr);
  EXPECT_EQ(jwks->Find("eml-test-ec"), nullptr);
  EXPECT_EQ(jwks->Find("eml-test-encryption-key"), nullptr);
  EXPECT_EQ(jwks->Find("missing"), nullptr);
}

TEST(JwksTest, RejectsMalformedSets) {
  nlohmann::json set = ReadJson(SourcePath("tests/vectors/gcp/jwks.json"));
  const auto parse = [](const nlohmann::json& json) { return Jwks::Parse(AsBytes(json.dump())); };
  nlohmann::json repeated = set;
  repeated["keys"][1]["kid"] = "eml-test-key-1";
  EXPECT_THAT(parse(repeated), HasError(ErrorCode::kGcpBadJwks));
  nlohmann::json bad_n = set;
  bad_n["keys"][0]["n"] = "AAEC";  // Leading zero byte, and far too short.
  EXPECT_THAT(parse(bad_n), HasError(ErrorCode::kGcpBadJwks));
  nlohmann::json padded_n = set;
  padded_n["keys"][0]["n"] = padded_n["keys"][0]["n"].get<std::string>() + "=";
  EXPECT_THAT(parse(padded_n), HasError(ErrorCode::kGcpBadJwks));
  nlohmann::json no_kid = set;
  no_kid["keys"][0].erase("kid");
  EXPECT_THAT(parse(no_kid), HasError(ErrorCode::kGcpBadJwks));
  nlohmann::json no_e = set;
  no_e["keys"][0].erase("e");
  EXPECT_THAT(parse(no_e), HasError(ErrorCode::kGcpBadJwks));
  EXPECT_THAT(parse(nlohmann::json{{"keys", nlohmann::json::array()}}),
              HasError(ErrorCode::kGcpBadJwks));
  EXPECT_THAT(parse(nlohmann::json{{"keys", {1}}}), HasError(ErrorCode::kGcpBadJwks));
  EXPECT_THAT(parse(nlohmann::json{{"other", 1}}), HasError(ErrorCode::kGcpBadJwks));
  EXPECT_THAT(Jwks::Parse(AsBytes("[]")), HasError(ErrorCode::kGcpBadJwks));
  EXPECT_THAT(Jwks::Parse(AsBytes(R"({"keys":[],"keys":[]})")),
              HasError(ErrorCode::kGcpDuplicateJsonKey));
  EXPECT_THAT(Jwks::Parse(std::vector<uint8_t>(kMaxJwksBytes + 1, ' ')),
              HasError(ErrorCode::kGcpBadJwks));
}

}  // namespace
}  // namespace eml::attest::gcp
