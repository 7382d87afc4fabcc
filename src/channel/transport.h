#pragma once
// The seam between the channel and a byte stream (TCP, Unix socket, VSock): a Stream moves
// bytes with a deadline on every call, and ReadFrame / RunInitiatorHandshake /
// RunResponderHandshake drive frames and the handshake state machines over it. Stream
// implementations live in subfolders (src/channel/net/ for TCP and Unix sockets).
//
// Posture: ReadFrame reads the peer's bytes: the 13-byte header is checked against the limits
// before any payload byte is read or any buffer sized (fuzz target: channel_frame).
//
// Thread safety: a Stream is used by one thread at a time, except Cancel, which any thread may
// call while another uses the stream (until the stream is destroyed).

#include <cstdint>
#include <span>
#include <vector>

#include "channel/frame.h"
#include "channel/handshake.h"
#include "common/result.h"

namespace eml::channel {

inline constexpr int kDefaultHandshakeTimeoutMs = 30'000;

class Stream {
 public:
  virtual ~Stream() = default;
  // ReadExact fills all of `out` within timeout_ms. Errors: kChannelTimeout, kChannelClosed
  // (end of stream first), kChannelIoError. On error the stream is unusable.
  virtual Status ReadExact(std::span<uint8_t> out, int timeout_ms) = 0;
  // WriteAll writes all of `bytes` within timeout_ms. Errors: kChannelTimeout, kChannelIoError.
  virtual Status WriteAll(std::span<const uint8_t> bytes, int timeout_ms) = 0;
  // Cancel shuts the connection down: a ReadExact or WriteAll blocked in another thread returns
  // promptly, and it and every later call fail with kChannelCancelled. Idempotent.
  virtual void Cancel() = 0;
};

// ReadFrame reads one frame into `out` (header || payload, resized to fit; cleared on error):
// the header within header_timeout_ms (a server's idle wait between records), then the payload
// within payload_timeout_ms (a peer that announced a payload must deliver it promptly).
// Errors: the Stream's codes and the DecodeFrameHeader codes.
Status ReadFrame(Stream* stream, const FrameLimits& limits, int header_timeout_ms,
                 int payload_timeout_ms, std::vector<uint8_t>* out);
inline Status ReadFrame(Stream* stream, const FrameLimits& limits, int timeout_ms,
                        std::vector<uint8_t>* out) {
  return ReadFrame(stream, limits, timeout_ms, timeout_ms, out);
}

// RunInitiatorHandshake sends the initiator Hello, reads the responder Hello, sends the
// confirmation and returns the session, all within timeout_ms in total (a peer that trickles
// each step just inside a per-step timeout still runs out). Errors: the Stream's codes
// (kChannelTimeout when the deadline passes) and the Initiator's codes.
Result<Session> RunInitiatorHandshake(Stream* stream, Initiator* initiator,
                                      const HandshakeLimits& limits = {},
                                      int timeout_ms = kDefaultHandshakeTimeoutMs);

// RunResponderHandshake reads the initiator Hello, answers, reads the confirmation and returns
// the session, within timeout_ms in total. Errors: the Stream's and the Responder's codes.
Result<Session> RunResponderHandshake(Stream* stream, Responder* responder,
                                      const HandshakeLimits& limits = {},
                                      int timeout_ms = kDefaultHandshakeTimeoutMs);

}  // namespace eml::channel
