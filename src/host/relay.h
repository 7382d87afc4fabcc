#pragma once
// eml::host::Relay: the host's blind relay between clients and the enclave. It accepts client
// TCP connections, opens one upstream connection per client to the enclave transport (TCP, Unix
// socket or VSock), and moves channel frames both ways. It parses nothing beyond the 13-byte
// frame header, which it checks (magic, version, type, payload_len against the limits of
// channel/frame.h; Hello frames against the handshake frame limit) so that frame boundaries and
// sizes are enforced before a payload byte is forwarded. It holds no key and cannot read the
// records; it forwards payloads in chunks through fixed buffers, so memory per connection is
// bounded by 2 * buffer_bytes whatever the frame size.
//
// Posture: reads untrusted bytes from clients and from the enclave side (the host is outside
// the TEE: both peers are untrusted to it). Only DecodeFrameHeader (fuzz target channel_frame)
// reads them; limits: RelayOptions below.
//
// A connection ends, on both sides at once, when either peer closes, on the first invalid
// header, when a frame stalls past frame_timeout_ms, when nothing moves for idle_timeout_ms, or
// on any socket or --record error; its ConnectionReport names why.
//
// --record (record_dir) writes every byte the relay forwards, per connection and direction, to
// record_dir/conn-<id>-c2e.bin (client to enclave) and conn-<id>-e2c.bin. They hold only what
// crossed the host, which is what the blindness test searches.
//
// Thread safety: Relay's public methods may be called from any thread. The relay runs its
// sockets on one internal I/O thread; option callbacks are called on that thread.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "channel/address.h"
#include "channel/frame.h"
#include "common/result.h"

namespace eml::host {

enum class Direction { kClientToEnclave, kEnclaveToClient };

inline constexpr int kDefaultMaxConnections = 64;
inline constexpr int kDefaultIdleTimeoutMs = 300'000;
inline constexpr int kDefaultFrameTimeoutMs = 30'000;
inline constexpr int kDefaultConnectTimeoutMs = 5'000;
inline constexpr size_t kDefaultRelayBufferBytes = size_t{64} << 10;

// Where a piece of a forwarded frame sits; given to tamper_for_test.
struct FramePiece {
  uint64_t connection_id = 0;
  Direction direction = Direction::kClientToEnclave;
  uint64_t frame_index = 0;     // 0 for the first frame of this connection and direction
  uint64_t offset = 0;          // of bytes[0] in the frame (the header is offset 0..12)
  channel::FrameHeader header;  // the frame's decoded header
};

// Why and how a connection ended. close_reason is kOk when a peer closed cleanly between
// frames; otherwise the error that ended it (kChannelBadMagic, ..., kChannelPayloadTooLarge for
// a bad header, kChannelClosed for a peer that closed inside a frame, kHostIdleTimeout,
// kHostUpstreamUnavailable, kHostTooManyConnections, kHostRecordFailed, kChannelIoError).
struct ConnectionReport {
  uint64_t id = 0;
  ErrorCode close_reason = ErrorCode::kOk;
  Direction reason_direction = Direction::kClientToEnclave;  // which side's bytes or socket
  uint64_t bytes_c2e = 0;
  uint64_t bytes_e2c = 0;
  uint64_t frames_c2e = 0;  // complete frames forwarded
  uint64_t frames_e2c = 0;
};

struct RelayOptions {
  std::string listen_host = "127.0.0.1";  // IP literal or localhost
  uint16_t listen_port = 0;               // 0: the kernel picks (see Relay::port)
  // Where the enclave listens (channel::ParseAddress; a TCP host is an IP literal or localhost,
  // the port not 0).
  channel::Address enclave;
  int max_connections = kDefaultMaxConnections;   // open at once; more are refused
  int idle_timeout_ms = kDefaultIdleTimeoutMs;    // no byte moved either way
  int frame_timeout_ms = kDefaultFrameTimeoutMs;  // a started frame must be forwarded in time
  int connect_timeout_ms = kDefaultConnectTimeoutMs;
  uint32_t max_payload_bytes = channel::kDefaultMaxPayloadBytes;
  size_t buffer_bytes = kDefaultRelayBufferBytes;  // per direction and connection
  std::filesystem::path record_dir;                // empty: no recording
  // Called once per ended connection (accepted or refused).
  std::function<void(const ConnectionReport&)> on_close;
  // Test-only: may change the bytes of each piece just before they are forwarded (and
  // recorded); the relay's own framing uses the header it decoded before the call.
  std::function<void(const FramePiece&, std::span<uint8_t>)> tamper_for_test;
};

inline constexpr size_t kMaxRecentReports = 1024;

// Counters of a relay or egress proxy (Report: its per-connection report).
template <typename Report>
struct ConnectionStats {
  uint64_t accepted = 0;  // connections accepted (whatever became of them)
  uint64_t refused = 0;   // connections refused at accept (max_connections)
  uint64_t active = 0;
  uint64_t closed = 0;         // accepted connections that have ended
  std::vector<Report> recent;  // the last kMaxRecentReports ended connections
};

using RelayStats = ConnectionStats<ConnectionReport>;

class Relay {
 public:
  // Start binds the listener, checks (and creates) record_dir, and starts the I/O thread.
  // Errors: kInvalidArgument (a limit out of range), kChannelBadAddress, kChannelIoError (bind),
  // kHostRecordFailed (record_dir cannot be created).
  static Result<std::unique_ptr<Relay>> Start(RelayOptions options);
  ~Relay();  // Stop()
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;

  uint16_t port() const { return port_; }
  RelayStats Stats() const;
  // WaitForClosed waits until at least `count` accepted or refused connections have ended, or
  // timeout_ms passes; returns whether they have.
  bool WaitForClosed(uint64_t count, int timeout_ms) const;
  // Stop closes the listener and every connection and joins the I/O thread. Idempotent.
  void Stop();

  class Impl;

 private:
  explicit Relay(std::unique_ptr<Impl> impl, uint16_t port);
  std::unique_ptr<Impl> impl_;
  uint16_t port_ = 0;
};

}  // namespace eml::host
