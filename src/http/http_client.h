#pragma once
// Posture: response bytes come from any server (untrusted): the body is capped at
// Request::max_response_bytes, headers at kMaxResponseHeaderBytes in total; nothing is parsed
// beyond the status line and header fields.
//
// eml::http::HttpClient: one blocking HTTP/1.1 exchange over libcurl (http:// and https://
// with certificate verification always on). Used by the S3 store, the KMS client and the key
// broker CLI. No redirects are followed; no proxy from the environment is used, only the one a
// Request names (an HTTP CONNECT proxy such as the host's egress proxy, host/egress_proxy.h).
// Request::via reaches a host proxy over a Unix socket or VSock instead of TCP.
//
// Thread safety: an HttpClient may be used by one thread at a time; make one per thread.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace eml::http {

inline constexpr size_t kMaxResponseHeaderBytes = 64 * 1024;

struct Request {
  std::string method = "GET";  // GET, PUT, POST, HEAD, DELETE
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;  // sent in this order
  std::vector<uint8_t> body;
  // body_file, when not empty, names a file whose bytes are streamed as the body (in bounded
  // memory; `body` must then be empty). Its size is taken when the exchange starts.
  std::string body_file;
  int64_t timeout_ms = 10000;  // whole exchange
  int64_t connect_timeout_ms = 3000;
  size_t max_response_bytes = 16 * 1024 * 1024;
  // ca_file, when not empty, is a PEM bundle used instead of the system's trust store.
  std::string ca_file;
  // proxy, when not empty, is "http://HOST:PORT" of an HTTP CONNECT proxy: every request (http://
  // and https:// URLs alike) goes through a tunnel that the proxy opens to the URL's host and
  // port, with TLS end to end inside it for https://. A proxy reached over a socket is named by
  // its channel address instead ("unix:PATH" or "vsock:CID:PORT", as `via` below; `via` must
  // then be empty). Empty: direct.
  std::string proxy;
  // via, when not empty, is a channel address "unix:PATH" or "vsock:CID:PORT" (channel/address.h
  // forms): the connection libcurl would open over TCP (to the proxy when one is set, else to
  // the URL's host) is made to it instead, connected within connect_timeout_ms. The URL's host
  // then only names the server in the Host header. Connections are reused only between
  // requests with the same via.
  std::string via;
};

// CheckProxy accepts what Request::proxy accepts: "http://HOST:PORT", "unix:PATH" or
// "vsock:CID:PORT". Errors: kHttpBadUrl.
Status CheckProxy(std::string_view proxy);
// CheckVia accepts what Request::via accepts. Errors: kHttpBadUrl.
Status CheckVia(std::string_view via);

struct Response {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::vector<uint8_t> body;
  // Header returns the first value of `lower_case_name`, or nullptr.
  const std::string* Header(std::string_view lower_case_name) const;
};

class HttpClient {
 public:
  // Create makes a client (libcurl is initialised once per process). Errors:
  // kHttpLibraryFailure.
  static Result<std::unique_ptr<HttpClient>> Create();
  ~HttpClient();
  // Send performs one exchange. Any HTTP status is a success here (callers map statuses).
  // Errors: kHttpBadUrl (also a bad proxy or via, or both a socket proxy and via), kHttpConnect
  // (refused / DNS / TLS, the proxy refused the tunnel, the via socket did not connect, or the
  // connection dropped before a response),
  // kHttpTimeout, kHttpResponseTooLarge, kHttpProtocol (malformed or cut-off response),
  // kInvalidArgument (bad method, header with CR/LF, body and body_file both set),
  // kIoError (body_file unreadable), kHttpLibraryFailure.
  Result<Response> Send(const Request& request);

 private:
  HttpClient() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace eml::http
