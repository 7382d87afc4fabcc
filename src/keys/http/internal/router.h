#pragma once
// Private to keys/http: maps one parsed HTTP request to one KeyBroker call and a JSON reply.
// No I/O here (server.cc owns the sockets), so the routing rules read as one table.
//
// Posture: method, target, Authorization value and body are untrusted client bytes; the body
// has already been capped by the server. Body parsing is api.h's (fuzzed as keys_http_body).
//
// Thread safety: Handle may run concurrently (KeyBroker is thread-safe; Router is immutable).

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error.h"
#include "common/secret_bytes.h"
#include "keys/key_broker.h"

namespace eml::keys::http::internal {

struct RequestView {
  std::string_view method;  // "GET", "POST", ...
  std::string_view target;  // origin-form: path and optional "?query"
  std::string_view authorization;
  bool has_authorization = false;
  std::span<const uint8_t> body;
};

struct Reply {
  int status = 200;
  std::string body;  // JSON text
  std::vector<std::pair<std::string, std::string>> headers;
  bool close = false;               // send Connection: close and end the connection
  ErrorCode code = ErrorCode::kOk;  // for the request log; kOk on success
};

// HttpStatusFor maps an error code to the HTTP status the API documents: 400 malformed input,
// 401 admin token, 403 release denial, 404 unknown key or route, 409 exists, 413 too large,
// 500 anything else.
int HttpStatusFor(ErrorCode code);

// ErrorReply builds {"error": {"code", "name", "message"}}. A 500 never carries the detail.
// Error replies other than 403 / 404 / 409 close the connection.
Reply ErrorReply(const Error& error);

class Router {
 public:
  // `broker` must outlive the router. `admin_token` is kept only as its SHA-256, compared in
  // constant time with the SHA-256 of the presented token.
  Router(KeyBroker& broker, const SecretBytes& admin_token);

  Reply Handle(const RequestView& request) const;

 private:
  bool Authorized(const RequestView& request) const;
  Reply Admin(std::string_view method, std::string_view path, std::string_view query,
              std::span<const uint8_t> body) const;

  KeyBroker& broker_;
  std::array<uint8_t, 32> token_sha256_{};
};

}  // namespace eml::keys::http::internal
