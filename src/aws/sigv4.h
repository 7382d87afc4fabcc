#pragma once
// Posture: signs requests the caller builds; no untrusted input.
//
// eml::aws SigV4 (AWS Signature Version 4, header form): canonical request, string to sign,
// derived signing key (HMAC-SHA256 chain over date, region, service, "aws4_request") and the
// Authorization header. Checked against AWS's published signature test suite values.
//
// Thread safety: pure functions.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "common/secret_bytes.h"

namespace eml::aws {

struct Credentials {
  std::string access_key_id;
  SecretBytes secret_access_key;
  std::optional<std::string> session_token;  // sent as x-amz-security-token
};

// CredentialsFromEnvironment reads AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and optional
// AWS_SESSION_TOKEN. Errors: kAwsNoCredentials.
Result<Credentials> CredentialsFromEnvironment();

struct SignableRequest {
  std::string method;
  std::string host;  // as in the Host header (with :port when not default)
  std::string path;  // already URI-encoded as it goes on the wire, e.g. "/b/k%20x"
  std::vector<std::pair<std::string, std::string>> query;    // unencoded name/value
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers to sign
  std::string payload_sha256_hex;  // hex SHA-256 of the body, or "UNSIGNED-PAYLOAD"
  // S3 requires the payload hash as a signed x-amz-content-sha256 header; KMS does not.
  bool add_content_sha256_header = false;
};

struct SigningScope {
  std::string region;     // e.g. "us-east-1"
  std::string service;    // "s3", "kms"
  int64_t time_unix = 0;  // request time (x-amz-date)
};

struct SignedHeaders {
  // Headers to send: host, x-amz-date, x-amz-content-sha256 (when add_content_sha256_header),
  // x-amz-security-token (when set), the request's own headers, and authorization. All of them
  // but authorization are signed.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string canonical_request;  // for tests and debugging (no secrets in it)
  std::string string_to_sign;
};

// Sign computes the SigV4 Authorization header for `request`.
// Errors: kInvalidArgument (empty method/host/region/service, negative time, a header name
// that is empty or not a token, a header value with CR, LF or NUL, a header that Sign adds
// itself given again).
Result<SignedHeaders> Sign(const SignableRequest& request, const SigningScope& scope,
                           const Credentials& credentials);

// UriEncode percent-encodes `text` as SigV4 asks (RFC 3986: every byte but A-Z a-z 0-9 - _ . ~
// becomes %XX, upper-case hex); '/' is kept when `keep_slash` (object key paths).
std::string UriEncode(std::string_view text, bool keep_slash);

// AmzDate formats `time_unix` as YYYYMMDDTHHMMSSZ (UTC).
std::string AmzDate(int64_t time_unix);

}  // namespace eml::aws
