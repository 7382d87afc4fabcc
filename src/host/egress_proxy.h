#pragma once
// eml::host::EgressProxy: the host's way out for the enclave. The enclave reaches the key broker
// or KMS only through it: an HTTP/1.1 CONNECT proxy that opens a TCP tunnel to a destination on
// an allowlist and then moves bytes both ways without reading them. TLS runs end to end inside
// the tunnel (from the enclave to the destination), so the host sees only ciphertext for https
// destinations; it learns the destination's name and port, nothing else.
//
// Posture: reads untrusted bytes from clients (the enclave side). Only ParseConnectHead
// (host/connect_head.h, fuzz target host_connect_head) reads them: one request head of at most
// max_head_bytes (8 KiB by default), read within head_timeout_ms. The tunnelled bytes are never
// parsed. Limits: EgressProxyOptions below.
//
// A request is "CONNECT host:port HTTP/1.1" (or HTTP/1.0), header lines, an empty line, all with
// CRLF (ParseConnectHead). The destination must equal one allowlist entry exactly (host compared
// without regard to ASCII case, no wildcards; an empty allowlist refuses everything). Answers: 200
// and then the tunnel; 400 for a malformed or oversized head; 403 for a destination not on the list
// (nothing is resolved or connected); 502 when the destination does not resolve or connect within
// connect_timeout_ms; 503 when max_connections are open. A tunnel ends, on both sides, when both
// peers have closed their sending side (each half-close is passed on), when nothing moved for
// idle_timeout_ms, or on any socket or --record error.
//
// --record (record_dir) writes every tunnelled byte, per connection and direction, to
// record_dir/egress-<id>-out.bin (client to destination) and egress-<id>-in.bin (destination
// to client), beside the relay's files (host/record.h).
//
// Thread safety: EgressProxy's public methods may be called from any thread. The proxy runs its
// sockets on one internal I/O thread; on_close is called on that thread.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "channel/address.h"
#include "common/result.h"
#include "host/connect_head.h"
#include "host/relay.h"

namespace eml::host {

inline constexpr int kDefaultEgressHeadTimeoutMs = 10'000;
inline constexpr size_t kDefaultEgressBufferBytes = size_t{16} << 10;

// Why and how an egress connection ended. close_reason is kOk when both peers closed; otherwise
// kEgressBadRequest, kEgressHeadTooLarge, kEgressNotAllowed, kEgressConnectFailed,
// kHostTooManyConnections, kHostIdleTimeout (head not complete in time, or an idle tunnel),
// kHostRecordFailed, kChannelClosed (the client left before its head was complete) or
// kChannelIoError.
struct EgressReport {
  uint64_t id = 0;
  ErrorCode close_reason = ErrorCode::kOk;
  int status = 0;           // the HTTP status answered; 0 when none was sent
  std::string destination;  // "host:port" once the head parsed, else empty
  uint64_t bytes_out = 0;   // tunnelled client to destination
  uint64_t bytes_in = 0;    // tunnelled destination to client
};

struct EgressProxyOptions {
  // Listen address: TCP (IP literal or localhost), a new Unix socket file (removed by Stop) or
  // VSock; port 0 picks one.
  channel::Address listen;
  // Allowlist entries "host:port" (ParseConnectAuthority form).
  std::vector<std::string> allow;
  int max_connections = kDefaultMaxConnections;  // open at once; more get 503
  int head_timeout_ms = kDefaultEgressHeadTimeoutMs;
  int connect_timeout_ms = kDefaultConnectTimeoutMs;  // resolve and connect
  int idle_timeout_ms = kDefaultIdleTimeoutMs;        // nothing moved either way
  size_t max_head_bytes = kDefaultMaxConnectHeadBytes;
  size_t buffer_bytes = kDefaultEgressBufferBytes;  // per direction and connection
  std::filesystem::path record_dir;                 // empty: no recording
  // Called once per ended connection (accepted or refused).
  std::function<void(const EgressReport&)> on_close;
};

// ParseProxyListen parses a host proxy's listen flag (--egress-listen, --store-listen): a channel
// address (channel/address.h), or "HOST:PORT" for "tcp:HOST:PORT". Errors: kChannelBadAddress.
Result<channel::Address> ParseProxyListen(std::string_view text);

using EgressStats = ConnectionStats<EgressReport>;

class EgressProxy {
 public:
  // Start checks the options, binds the listener, checks (and creates) record_dir and starts
  // the I/O thread. Errors: kInvalidArgument (a limit out of range), kEgressBadAllowEntry,
  // kChannelBadAddress (listen address, an existing Unix socket file), kChannelIoError (bind),
  // kHostRecordFailed.
  static Result<std::unique_ptr<EgressProxy>> Start(EgressProxyOptions options);
  ~EgressProxy();  // Stop()
  EgressProxy(const EgressProxy&) = delete;
  EgressProxy& operator=(const EgressProxy&) = delete;

  // address is where clients connect: "HOST:PORT" (TCP, the bound port), "unix:PATH" or
  // "vsock:CID:PORT" (what ParseProxyListen reads back).
  const std::string& address() const { return address_; }
  uint16_t port() const { return port_; }  // 0 for Unix and VSock
  EgressStats Stats() const;
  // WaitForClosed waits until at least `count` accepted or refused connections have ended, or
  // timeout_ms passes; returns whether they have.
  bool WaitForClosed(uint64_t count, int timeout_ms) const;
  // Stop closes the listener and every connection and joins the I/O thread. Idempotent.
  void Stop();

  class Impl;

 private:
  EgressProxy(std::unique_ptr<Impl> impl, std::string address, uint16_t port);
  std::unique_ptr<Impl> impl_;
  std::string address_;
  uint16_t port_ = 0;
};

}  // namespace eml::host
