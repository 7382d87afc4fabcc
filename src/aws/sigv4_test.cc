#include "aws/sigv4.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <string>

#include "common/encoding.h"
#include "crypto/hash.h"
#include "testing/test_util.h"

namespace eml::aws {
namespace {

using ::eml::testing::HasError;
using ::eml::testing::IsOk;

// Example credentials and request time of AWS's published "Signature Version 4 test suite"
// (IAM User Guide, signature-v4-test-suite): 2015-08-30T12:36:00Z, us-east-1, "service".
constexpr int64_t kSuiteTime = 1440938160;
constexpr char kEmptySha256[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

Credentials SuiteCredentials() {
  Credentials c;
  c.access_key_id = "AKIDEXAMPLE";
  c.secret_access_key = SecretBytes::CopyFrom(AsBytes("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"));
  return c;
}

SigningScope SuiteScope() { return SigningScope{"us-east-1", "service", kSuiteTime}; }

std::string HeaderValue(const SignedHeaders& signed_headers, const std::string& name) {
  for (const auto& [n, v] : signed_headers.headers) {
    if (n == name) {
      return v;
    }
  }
  ADD_FAILURE() << "no header " << name;
  return "";
}

std::string Sha256Hex(std::string_view text) { return HexEncode(crypto::Sha256(AsBytes(text))); }

// Test suite case "get-vanilla".
TEST(SigV4Test, SuiteGetVanilla) {
  SignableRequest request{"GET", "example.amazonaws.com", "/", {}, {}, kEmptySha256};
  auto signed_headers = Sign(request, SuiteScope(), SuiteCredentials());
  ASSERT_THAT(signed_headers, IsOk());
  EXPECT_EQ(signed_headers->canonical_request,
            "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
            "host;x-amz-date\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(signed_headers->string_to_sign,
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
            "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63");
  EXPECT_EQ(HeaderValue(*signed_headers, "authorization"),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
            "SignedHeaders=host;x-amz-date, "
            "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
  EXPECT_EQ(HeaderValue(*signed_headers, "host"), "example.amazonaws.com");
  EXPECT_EQ(HeaderValue(*signed_headers, "x-amz-date"), "20150830T123600Z");
}

// Test suite case "get-vanilla-query-order-key-case": GET /?Param2=value2&Param1=value1.
TEST(SigV4Test, SuiteGetVanillaQueryOrderKeyCase) {
  SignableRequest request{"GET", "example.amazonaws.com",
                          "/",   {{"Param2", "value2"}, {"Param1", "value1"}},
                          {},    kEmptySha256};
  auto signed_headers = Sign(request, SuiteScope(), SuiteCredentials());
  ASSERT_THAT(signed_headers, IsOk());
  EXPECT_THAT(signed_headers->canonical_request,
              ::testing::StartsWith("GET\n/\nParam1=value1&Param2=value2\n"));
  EXPECT_THAT(HeaderValue(*signed_headers, "authorization"),
              ::testing::EndsWith(
                  "Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"));
}

// Test suite case "post-x-www-form-urlencoded": body "Param1=value1", content-type signed.
TEST(SigV4Test, SuitePostFormUrlencoded) {
  EXPECT_EQ(Sha256Hex("Param1=value1"),
            "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e");
  SignableRequest request{"POST",
                          "example.amazonaws.com",
                          "/",
                          {},
                          {{"Content-Type", "application/x-www-form-urlencoded"}},
                          Sha256Hex("Param1=value1")};
  auto signed_headers = Sign(request, SuiteScope(), SuiteCredentials());
  ASSERT_THAT(signed_headers, IsOk());
  EXPECT_EQ(HeaderValue(*signed_headers, "authorization"),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
            "SignedHeaders=content-type;host;x-amz-date, "
            "Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a");
  // The request's own header is sent under its own name.
  EXPECT_EQ(HeaderValue(*signed_headers, "Content-Type"), "application/x-www-form-urlencoded");
}

// Test suite case "get-header-value-trim": values are trimmed and inner runs of spaces collapse.
TEST(SigV4Test, SuiteGetHeaderValueTrim) {
  SignableRequest request{"GET",
                          "example.amazonaws.com",
                          "/",
                          {},
                          {{"My-Header1", " value1"}, {"My-Header2", " \"a   b   c\""}},
                          kEmptySha256};
  auto signed_headers = Sign(request, SuiteScope(), SuiteCredentials());
  ASSERT_THAT(signed_headers, IsOk());
  EXPECT_EQ(signed_headers->canonical_request,
            "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value1\nmy-header2:\"a b c\"\n"
            "x-amz-date:20150830T123600Z\n\nhost;my-header1;my-header2;x-amz-date\n" +
                std::string(kEmptySha256));
  EXPECT_THAT(HeaderValue(*signed_headers, "authorization"),
              ::testing::EndsWith(
                  "Signature=acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"));
}

// The S3 API reference's worked examples ("Signature Calculations for the Authorization Header:
// Transferring Payload in a Single Chunk", Amazon S3 API Reference, sig-v4-header-based-auth):
// AKIAIOSFODNN7EXAMPLE, bucket examplebucket, 2013-05-24T00:00:00Z, us-east-1.
constexpr int64_t kS3DocTime = 1369353600;

Credentials S3DocCredentials() {
  Credentials c;
  c.access_key_id = "AKIAIOSFODNN7EXAMPLE";
  c.secret_access_key = SecretBytes::CopyFrom(AsBytes("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"));
  return c;
}

TEST(SigV4Test, S3DocGetObjectWithRange) {
  SignableRequest request{"GET", "examplebucket.s3.amazonaws.com", "/test.txt",
                          {},    {{"Range", "bytes=0-9"}},         kEmptySha256};
  request.add_content_sha256_header = true;
  auto signed_headers =
      Sign(request, SigningScope{"us-east-1", "s3", kS3DocTime}, S3DocCredentials());
  ASSERT_THAT(signed_headers, IsOk());
  EXPECT_EQ(signed_headers->canonical_request,
            "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
            "x-amz-content-sha256:"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
            "x-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(signed_headers->string_to_sign,
            "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
            "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
  EXPECT_EQ(HeaderValue(*signed_headers, "authorization"),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  EXPECT_EQ(HeaderValue(*signed_headers, "x-amz-content-sha256"), kEmptySha256);
}

TEST(SigV4Test, S3DocPutObject) {
  const std::string body_hash = Sha256Hex("Welcome to Amazon S3.");
  EXPECT_EQ(body_hash, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
  SignableRequest request{
      "PUT",
      "examplebucket.s3.amazonaws.com",
      "/" + UriEncode("test$file.text", true),
      {},
      {{"Date", "Fri, 24 May 2013 00:00:00 GMT"}, {"x-amz-storage-class", "REDUCED_REDUNDANCY"}},
      body_hash};
  request.add_content_sha256_header = true;
  auto signed_headers =
      Sign(request, SigningScope{"us-east-1", "s3", kS3DocTime}, S3DocCredentials());
  ASSERT_THAT(signed_headers, IsOk());
  EXPECT_THAT(signed_headers->canonical_request,
              ::testing::StartsWith("PUT\n/test%24file.text\n\n"));
  EXPECT_EQ(signed_headers->string_to_sign,
            "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
            "9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d");
  EXPECT_EQ(HeaderValue(*signed_headers, "authorization"),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
            "SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class, "
            "Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

TEST(SigV4Test, S3DocGetBucketLifecycleAndList) {
  SignableRequest lifecycle{
      "GET", "examplebucket.s3.amazonaws.com", "/", {{"lifecycle", ""}}, {}, kEmptySha256};
  lifecycle.add_content_sha256_header = true;
  auto a = Sign(lifecycle, SigningScope{"us-east-1", "s3", kS3DocTime}, S3DocCredentials());
  ASSERT_THAT(a, IsOk());
  EXPECT_THAT(HeaderValue(*a, "authorization"),
              ::testing::EndsWith(
                  "Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"));
  SignableRequest list{"GET", "examplebucket.s3.amazonaws.com",
                       "/",   {{"prefix", "J"}, {"max-keys", "2"}},
                       {},    kEmptySha256};
  list.add_content_sha256_header = true;
  auto b = Sign(list, SigningScope{"us-east-1", "s3", kS3DocTime}, S3DocCredentials());
  ASSERT_THAT(b, IsOk());
  EXPECT_THAT(b->canonical_request, ::testing::StartsWith("GET\n/\nmax-keys=2&prefix=J\n"));
  EXPECT_THAT(HeaderValue(*b, "authorization"),
              ::testing::EndsWith(
                  "Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"));
}

TEST(SigV4Test, SessionTokenIsSentAndSigned) {
  Credentials credentials = SuiteCredentials();
  credentials.session_token = "token-value";
  SignableRequest request{"GET", "example.amazonaws.com", "/", {}, {}, kEmptySha256};
  auto signed_headers = Sign(request, SuiteScope(), credentials);
  ASSERT_THAT(signed_headers, IsOk());
  EXPECT_EQ(HeaderValue(*signed_headers, "x-amz-security-token"), "token-value");
  EXPECT_THAT(HeaderValue(*signed_headers, "authorization"),
              ::testing::HasSubstr("SignedHeaders=host;x-amz-date;x-amz-security-token,"));
}

TEST(SigV4Test, SecretNeverAppearsInOutput) {
  SignableRequest request{"GET", "example.amazonaws.com", "/", {}, {}, kEmptySha256};
  auto signed_headers = Sign(request, SuiteScope(), SuiteCredentials());
  ASSERT_THAT(signed_headers, IsOk());
  for (const auto& [name, value] : signed_headers->headers) {
    EXPECT_EQ(value.find("wJalrXUtnFEMI"), std::string::npos) << name;
  }
  EXPECT_EQ(signed_headers->canonical_request.find("wJalrXUtnFEMI"), std::string::npos);
}

TEST(SigV4Test, RejectsBadInput) {
  const Credentials c = SuiteCredentials();
  SignableRequest good{"GET", "example.amazonaws.com", "/", {}, {}, kEmptySha256};
  ASSERT_THAT(Sign(good, SuiteScope(), c), IsOk());
  SignableRequest r = good;
  r.method.clear();
  EXPECT_THAT(Sign(r, SuiteScope(), c), HasError(ErrorCode::kInvalidArgument));
  r = good;
  r.host.clear();
  EXPECT_THAT(Sign(r, SuiteScope(), c), HasError(ErrorCode::kInvalidArgument));
  EXPECT_THAT(Sign(good, SigningScope{"", "s3", 0}, c), HasError(ErrorCode::kInvalidArgument));
  EXPECT_THAT(Sign(good, SigningScope{"us-east-1", "", 0}, c),
              HasError(ErrorCode::kInvalidArgument));
  EXPECT_THAT(Sign(good, SigningScope{"us-east-1", "s3", -1}, c),
              HasError(ErrorCode::kInvalidArgument));
  r = good;
  r.headers = {{"X-Bad", "a\r\nInjected: 1"}};
  EXPECT_THAT(Sign(r, SuiteScope(), c), HasError(ErrorCode::kInvalidArgument));
  r.headers = {{"Bad Name", "v"}};
  EXPECT_THAT(Sign(r, SuiteScope(), c), HasError(ErrorCode::kInvalidArgument));
  r.headers = {{"Host", "other.example"}};
  EXPECT_THAT(Sign(r, SuiteScope(), c), HasError(ErrorCode::kInvalidArgument));
  r.headers = {{"Authorization", "x"}};
  EXPECT_THAT(Sign(r, SuiteScope(), c), HasError(ErrorCode::kInvalidArgument));
}

TEST(SigV4Test, UriEncodeAndDate) {
  EXPECT_EQ(UriEncode("a/b c+~*", true), "a/b%20c%2B~%2A");
  EXPECT_EQ(UriEncode("a/b", false), "a%2Fb");
  EXPECT_EQ(UriEncode("\xe1\x88\xb4", false), "%E1%88%B4");
  EXPECT_EQ(AmzDate(kSuiteTime), "20150830T123600Z");
  EXPECT_EQ(AmzDate(0), "19700101T000000Z");
}

TEST(SigV4Test, CredentialsFromEnvironment) {
  ::setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
  ::setenv("AWS_SECRET_ACCESS_KEY", "secret-from-env", 1);
  ::unsetenv("AWS_SESSION_TOKEN");
  auto c = CredentialsFromEnvironment();
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->access_key_id, "AKIDENV");
  EXPECT_EQ(c->secret_access_key.size(), 15u);
  EXPECT_FALSE(c->session_token.has_value());
  ::setenv("AWS_SESSION_TOKEN", "tok", 1);
  c = CredentialsFromEnvironment();
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->session_token, "tok");
  ::unsetenv("AWS_SECRET_ACCESS_KEY");
  EXPECT_THAT(CredentialsFromEnvironment(), HasError(ErrorCode::kAwsNoCredentials));
  ::unsetenv("AWS_ACCESS_KEY_ID");
  ::unsetenv("AWS_SESSION_TOKEN");
}

}  // namespace
}  // namespace eml::aws
