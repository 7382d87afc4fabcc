#pragma once
// Posture: S3 responses are untrusted (like every store, see model/store.h): bodies are capped
// (Fetch's max_bytes, a ranged read's length, plus a small allowance for error documents),
// headers at http::kMaxResponseHeaderBytes; only Content-Length, Content-Range and the <Code>
// of an error document are parsed, each bounded. Callers verify the bytes against the signed
// manifest.
//
// eml::model::stores::S3Store: a ModelStore on an S3 bucket (s3://BUCKET/PREFIX URLs). Objects
// are PREFIX/<model_id>/<version>/<stored path>. Requests are signed with AWS SigV4 (payload
// hash signed, x-amz-content-sha256) and sent over libcurl:
//   Size      HEAD, Content-Length
//   Fetch     GET, refused above max_bytes (kLimitExceeded)
//   ReadRange GET with Range; the reply must be 206 with the exact Content-Range asked for
//   Publish   HEAD manifest.json (kStoreVersionExists if present), then PUT every file streamed
//             from disk, manifest.sig, and manifest.json LAST (with If-None-Match: *), so a
//             version is visible only once complete. Files above max_put_bytes (S3's single-PUT
//             limit, 5 GiB) are refused with kS3ObjectTooLarge; multipart upload is not done.
// Connection errors, timeouts, 5xx and throttling are retried with exponential backoff
// (max_attempts in all), then reported as kS3Unavailable. Status mapping: 403 ->
// kAwsAuthFailed, 404 -> kStoreNotFound, 416 -> kStoreBadRange, others -> kS3UnexpectedStatus.
//
// Thread safety: one thread at a time (one HTTP connection per store).

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "aws/sigv4.h"
#include "model/store.h"

namespace eml::http {
class HttpClient;
struct Response;
}  // namespace eml::http

namespace eml::model::stores {

struct S3StoreOptions {
  std::string bucket;  // 3..63 of [a-z0-9.-]
  std::string prefix;  // "" or '/'-separated components of [A-Za-z0-9._-] (no "." or "..")
  std::string region = "us-east-1";
  // endpoint: "" for AWS (https://BUCKET.s3.REGION.amazonaws.com, virtual-host style; buckets
  // with dots use path style on s3.REGION.amazonaws.com); otherwise http(s)://HOST[:PORT] of an
  // S3-compatible server, addressed path style (ENDPOINT/BUCKET/KEY).
  std::string endpoint;
  aws::Credentials credentials;
  int max_attempts = 5;               // per request, first try included (>= 1)
  int64_t retry_base_delay_ms = 200;  // doubles per retry, capped at 10 s
  int64_t timeout_ms = 600000;        // per request (a whole PUT or GET)
  int64_t connect_timeout_ms = 5000;
  uint64_t max_put_bytes = uint64_t{5} << 30;  // S3's single-PUT limit
};

class S3Store final : public ModelStore {
 public:
  // Open checks the options and makes the HTTP client (no request is sent).
  // Errors: kStoreBadUrl (bucket, prefix, region or endpoint malformed), kInvalidArgument
  // (max_attempts < 1, negative delay), kHttpLibraryFailure.
  static Result<std::unique_ptr<ModelStore>> Open(S3StoreOptions options);

  // OpenFromEnvironment opens `bucket_and_prefix` (the part of an s3:// URL after the scheme)
  // with credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, the
  // region from AWS_REGION (default us-east-1) and the endpoint from EPHEMERALML_S3_ENDPOINT.
  // Errors: as Open, kAwsNoCredentials.
  static Result<std::unique_ptr<ModelStore>> OpenFromEnvironment(
      std::string_view bucket_and_prefix);

  ~S3Store() override;

  // Publish, Size, Fetch, ReadRange: see ModelStore; in addition each may fail with
  // kAwsAuthFailed, kS3Unavailable, kS3UnexpectedStatus, kS3BadResponse, kHttpBadUrl,
  // kHttpResponseTooLarge; Publish also with kS3ObjectTooLarge.
  Status Publish(const std::filesystem::path& package_dir) override;
  Result<uint64_t> Size(std::string_view model_id, std::string_view version,
                        std::string_view name) override;
  Result<std::vector<uint8_t>> Fetch(std::string_view model_id, std::string_view version,
                                     std::string_view name, size_t max_bytes) override;
  Result<std::vector<uint8_t>> ReadRange(std::string_view model_id, std::string_view version,
                                         std::string_view name, uint64_t offset,
                                         size_t length) override;

 private:
  struct Call;
  S3Store(S3StoreOptions options, std::unique_ptr<http::HttpClient> client);
  Result<std::string> KeyOf(std::string_view model_id, std::string_view version,
                            std::string_view name) const;
  Result<http::Response> Exchange(const Call& call);
  Status PutFile(const std::string& key, const std::filesystem::path& path, uint64_t size,
                 bool if_none_match);

  S3StoreOptions options_;
  std::unique_ptr<http::HttpClient> client_;
  std::string scheme_host_;  // "https://bucket.s3.us-east-1.amazonaws.com"
  std::string host_;         // Host header value
  std::string path_prefix_;  // "" (virtual host) or "/bucket" (path style)
};

}  // namespace eml::model::stores
