#pragma once
// Posture: accepts TCP connections from anyone who can reach the listen address. Request
// headers are capped at ServerOptions::max_header_bytes and bodies at max_body_bytes (413
// before the body is read when Content-Length says more); every read and write has a deadline;
// a connection serves at most max_requests_per_connection requests; at most max_connections
// are open at once (more are closed on accept). Bodies are parsed by keys/http/api.h (fuzz
// target keys_http_body). Admin routes need `Authorization: Bearer <token>`, compared as
// SHA-256 digests in constant time.
//
// eml::keys::http::BrokerServer: the key broker's HTTP/1.1 JSON API (docs/keybroker.md,
// "HTTP API") over Boost.Beast on a small fixed pool of threads:
//   GET  /healthz
//   POST /v1/challenge                              -> {"nonce", "expires_at"}
//   POST /v1/release                                -> {"key_id", "enc", "ciphertext",
//                                                       "evidence_sha256"}
//   POST /v1/admin/keys                             -> KeyInfo (201)
//   GET  /v1/admin/keys                             -> {"keys": [KeyInfo]}
//   PUT  /v1/admin/keys/{model}/{version}/policy    -> KeyInfo
//   POST /v1/admin/keys/{model}/{version}/revoke    -> {"model_id", "version", "state"}
//   GET  /v1/admin/audit?model_id=&version=&after=&limit=  -> {"rows": [...]}
// Errors are {"error": {"code": <ErrorCode value>, "name": "<ERROR_NAME>", "message"}} with
// 400 / 401 / 403 (release denied) / 404 / 409 / 413 / 500 (no detail); error replies other
// than 403, 404 and 409 carry `Connection: close`. Key bytes and the token are never logged.
//
// Thread safety: Start, port and Stop may be called from any thread; Stop is idempotent.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/error.h"
#include "common/result.h"
#include "common/secret_bytes.h"
#include "keys/key_broker.h"

namespace eml::keys::http {

inline constexpr size_t kMinAdminTokenBytes = 16;
inline constexpr size_t kMaxAdminTokenBytes = 256;

// One line per answered request for the operator's log: never bodies, headers or the query.
struct RequestLogEntry {
  std::string method;
  std::string path;
  int status = 0;
  ErrorCode code = ErrorCode::kOk;
};

struct ServerOptions {
  std::string listen_host = "127.0.0.1";  // IP literal or "localhost"
  uint16_t listen_port = 0;               // 0 picks a free port (see BrokerServer::port)
  SecretBytes admin_token;                // required (CheckAdminToken)
  int num_threads = 4;
  size_t max_body_bytes = 256 * 1024;
  size_t max_header_bytes = 16 * 1024;
  int64_t read_timeout_ms = 10'000;  // one request's headers and body; also keep-alive idle
  int64_t write_timeout_ms = 10'000;
  int max_requests_per_connection = 100;
  int max_connections = 256;
  // Called from the server's threads after each reply is queued (may be empty).
  std::function<void(const RequestLogEntry&)> on_request;
};

class BrokerServer {
 public:
  // Start binds and listens, then serves on options.num_threads threads until Stop. `broker`
  // must outlive the server. Errors: kInvalidArgument (options out of range),
  // kBrokerHttpBadToken, kBrokerHttpListenFailed (bad address, port taken).
  static Result<std::unique_ptr<BrokerServer>> Start(KeyBroker& broker, ServerOptions options);

  ~BrokerServer();  // Stop()
  BrokerServer(const BrokerServer&) = delete;
  BrokerServer& operator=(const BrokerServer&) = delete;

  // port is the bound TCP port.
  uint16_t port() const;
  // Stop closes the listener and every connection and joins the threads; a request already in
  // the broker finishes first.
  void Stop();

 private:
  BrokerServer() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// CheckAdminToken: kMinAdminTokenBytes..kMaxAdminTokenBytes of printable ASCII without spaces.
// Errors: kBrokerHttpBadToken (the detail never shows the token).
Status CheckAdminToken(const SecretBytes& token);

// ReadAdminTokenFile reads a token file: a regular file of mode 0600 (no group or other bits),
// the token with an optional trailing newline. Errors: kIoError (cannot open / read),
// kBrokerHttpBadToken (mode, size or content).
Result<SecretBytes> ReadAdminTokenFile(const std::string& path);

// GenerateAdminToken returns a new random token: 43 base64url characters (32 random bytes).
// Errors: kCryptoRandomFailed.
Result<SecretBytes> GenerateAdminToken();

}  // namespace eml::keys::http
