#pragma once
// Posture: accepts connections (TCP, Unix socket or VSock) from anyone who can reach the listen
// address (the enclave side of the host). Only GET and HEAD with an empty body are served; request
// heads are capped at max_header_bytes, the target and Range header are parsed by store_request.h
// (fuzz target host_store_path); every read and write has a deadline; a connection serves at most
// max_requests_per_connection requests; at most max_connections are open at once (more are
// closed on accept). No reply body is larger than max_response_bytes.
//
// eml::host::StoreProxy: the host's storage proxy (DESIGN.md section 3.2 step 3, issue 5
// section 4; docs/stores.md "Through the host"). It serves a read-only view of a backing
// model::ModelStore (file:// or s3://, opened by the host with the host's credentials) over
// HTTP/1.1 (Boost.Beast), so that the enclave fetches the signed manifest and the encrypted
// segments through the host (model::stores::HttpStore is the client):
//   HEAD /v1/store/{model_id}/{version}/{file}                -> 200, Content-Length = size
//   GET  /v1/store/{model_id}/{version}/{file}                -> 200, the whole file, when it
//                                                                 is at most max_response_bytes
//   GET  ... with "Range: bytes=A-B"                          -> 206 + Content-Range (a range
//                                                                 past the end is shortened to
//                                                                 it, as RFC 9110 says)
// Errors are {"error": {"code": <ErrorCode value>, "name": "<ERROR_NAME>"}} (no detail):
//   400 malformed target or Range, a body (kStoreProxyBadPath, kStoreProxyBadRange);
//   404 not in the store (kStoreNotFound); 405 any other method (with Allow: GET, HEAD);
//   413 whole file or range above max_response_bytes (kStoreProxyTooLarge: use ranges);
//   416 range starting at or past the end (kStoreBadRange, Content-Range: bytes */SIZE) or a
//       form not served (kStoreProxyRangeUnsupported);
//   502 the backing store failed (its code, e.g. kIoError, kS3Unavailable).
// The proxy sees only what the store holds: a signed manifest and ciphertext. With record_dir
// set, each connection's request heads and replies (heads and bodies, as sent) are written to
// record_dir/store-<id>-req.bin and store-<id>-resp.bin (host/record.h).
//
// Thread safety: Start, port and Stop may be called from any thread; Stop is idempotent. The
// backing store is called from the server's threads one call at a time (a mutex), as
// model::ModelStore requires.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "channel/address.h"
#include "common/result.h"
#include "model/store.h"

namespace eml::host {

inline constexpr size_t kDefaultStoreProxyMaxResponseBytes = size_t{16} << 20;

struct StoreProxyOptions {
  // Listen address: TCP (IP literal or localhost), a new Unix socket file (removed by Stop) or
  // VSock; port 0 picks a free port (see StoreProxy::address).
  channel::Address listen{
      .kind = channel::Address::Kind::kTcp, .tcp = {"127.0.0.1", 0}, .unix_path = {}, .vsock = {}};
  int num_threads = 2;
  size_t max_response_bytes = kDefaultStoreProxyMaxResponseBytes;  // per reply body
  size_t max_header_bytes = 8 * 1024;
  int64_t read_timeout_ms = 30'000;  // one request head; also keep-alive idle
  int64_t write_timeout_ms = 60'000;
  int max_requests_per_connection = 10'000;
  int max_connections = 64;
  std::filesystem::path record_dir;  // empty: no recording
};

class StoreProxy {
 public:
  // Start binds and listens, then serves on options.num_threads threads until Stop. `store`
  // must outlive the proxy. Errors: kInvalidArgument (options out of range),
  // kStoreProxyListenFailed (bad address, port taken, an existing Unix socket path),
  // kHostRecordFailed (record_dir).
  static Result<std::unique_ptr<StoreProxy>> Start(model::ModelStore& store,
                                                   StoreProxyOptions options);

  ~StoreProxy();  // Stop()
  StoreProxy(const StoreProxy&) = delete;
  StoreProxy& operator=(const StoreProxy&) = delete;

  // address is the bound listen address (with the port the kernel picked); port is its TCP
  // port (0 for Unix and VSock).
  const channel::Address& address() const;
  uint16_t port() const;
  // Stop closes the listener and every connection and joins the threads.
  void Stop();

 private:
  StoreProxy() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace eml::host
