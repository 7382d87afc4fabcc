#pragma once
// Posture: replies come from the host's storage proxy, which is untrusted (like every store,
// see model/store.h): bodies are capped (Fetch's max_bytes, a ranged read's length, plus
// kHttpStoreErrorAllowance for error documents), headers at http::kMaxResponseHeaderBytes; only
// Content-Length and Content-Range are parsed (model/stores/s3_response.h, fuzz target
// model_s3_response). Callers verify the bytes against the signed manifest.
//
// eml::model::stores::HttpStore: a read-only ModelStore over HTTP/1.1, the enclave's client of
// the host's storage proxy (host/store_proxy.h; docs/stores.md "Through the host"). URL
// "http://HOST:PORT[/PREFIX]"; a file is BASE/v1/store/<model_id>/<version>/<stored path>:
//   Size      HEAD, Content-Length (200)
//   Fetch     GET, refused above max_bytes (kLimitExceeded)
//   ReadRange GET with "Range: bytes=A-B"; the reply must be 206 with the exact Content-Range
//             asked for and a body of that length; a range the server shortens (past the end of
//             the file) or refuses with 416 is kStoreBadRange
//   Publish   refused (kStoreReadOnly): packages are published to the backing store
// Status mapping: 404 -> kStoreNotFound, 416 -> kStoreBadRange, 413 -> kLimitExceeded, 5xx ->
// kIoError (a transport-class error that BootModel retries), others ->
// kHttpStoreUnexpectedStatus. Connection failures and timeouts are the HTTP client's
// kHttpConnect / kHttpTimeout / kHttpProtocol, also retried by BootModel. Nothing is retried
// here: retries are the caller's.
//
// Thread safety: one thread at a time (one HTTP connection per store).

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "model/store.h"

namespace eml::http {
class HttpClient;
struct Response;
}  // namespace eml::http

namespace eml::model::stores {

inline constexpr size_t kHttpStoreErrorAllowance = 4096;

struct HttpStoreOptions {
  int64_t timeout_ms = 120'000;  // per request (one whole file or range)
  int64_t connect_timeout_ms = 5'000;
  // via, when not empty, is the proxy's channel address "unix:PATH" or "vsock:CID:PORT"
  // (http::Request::via): every request goes over it, the URL then only naming the Host.
  std::string via;
};

class HttpStore final : public ModelStore {
 public:
  // Open checks `url` ("http://HOST:PORT" with an optional path prefix of [A-Za-z0-9._-]
  // components; a trailing '/' is dropped) and makes the HTTP client (no request is sent).
  // Errors: kStoreBadUrl (also a malformed options.via), kInvalidArgument (timeouts not
  // positive), kHttpLibraryFailure.
  static Result<std::unique_ptr<ModelStore>> Open(std::string_view url,
                                                  HttpStoreOptions options = {});

  ~HttpStore() override;

  // Publish: always kStoreReadOnly. Size, Fetch, ReadRange: see ModelStore and the mapping
  // above; in addition kHttpStoreBadResponse (missing or wrong Content-Length / Content-Range,
  // 200 to a ranged request, a body of the wrong length), kHttpConnect, kHttpTimeout,
  // kHttpProtocol.
  Status Publish(const std::filesystem::path& package_dir) override;
  Result<uint64_t> Size(std::string_view model_id, std::string_view version,
                        std::string_view name) override;
  Result<std::vector<uint8_t>> Fetch(std::string_view model_id, std::string_view version,
                                     std::string_view name, size_t max_bytes) override;
  Result<std::vector<uint8_t>> ReadRange(std::string_view model_id, std::string_view version,
                                         std::string_view name, uint64_t offset,
                                         size_t length) override;

 private:
  HttpStore(std::string base_url, HttpStoreOptions options,
            std::unique_ptr<http::HttpClient> client);
  Result<std::string> UrlOf(std::string_view model_id, std::string_view version,
                            std::string_view name) const;
  Result<http::Response> Send(const std::string& method, const std::string& url,
                              const std::string& range, size_t max_response_bytes);

  std::string base_url_;  // "http://host:port[/prefix]"
  HttpStoreOptions options_;
  std::unique_ptr<http::HttpClient> client_;
};

}  // namespace eml::model::stores
