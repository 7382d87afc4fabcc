#pragma once
// Frames of the secure channel (cmt protocol version 4, docs/protocol.md "Frames"): a 13-byte
// big-endian header (magic 0xCF4D, version, msg_type, flags, sequence u32, payload_len u32)
// followed by payload_len bytes.
//
// Posture: DecodeFrameHeader / DecodeFrame read bytes straight from the peer's socket. Limits:
// FrameLimits::max_payload_bytes (32 MiB by default; the handshake passes a much smaller one).
// Fuzz target: tests/fuzz/channel_frame_fuzz.cc.
//
// Thread safety: all functions are pure and safe from any thread.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "common/check.h"
#include "common/result.h"

namespace eml::channel {

inline constexpr uint16_t kFrameMagic = 0xCF4D;
inline constexpr uint8_t kProtocolVersion = 4;
inline constexpr size_t kFrameHeaderSize = 13;
inline constexpr uint32_t kDefaultMaxPayloadBytes = 32u << 20;

enum class FrameType : uint8_t {
  kHello = 0x01,
  kData = 0x02,
  kError = 0x03,
  kHeartbeat = 0x04,
  kShutdown = 0x05,
  kTensor = 0x06,
};

inline constexpr uint8_t kFlagEncrypted = 0x01;
inline constexpr uint8_t kFlagTensorPayload = 0x02;
inline constexpr uint8_t kFlagBatch = 0x04;
inline constexpr uint8_t kFlagCompressed = 0x08;

struct FrameLimits {
  uint32_t max_payload_bytes = kDefaultMaxPayloadBytes;
};

struct FrameHeader {
  FrameType type = FrameType::kHello;
  uint8_t flags = 0;
  uint32_t sequence = 0;
  uint32_t payload_len = 0;
};

// A decoded frame. `payload` aliases the buffer given to DecodeFrame.
struct FrameView {
  FrameHeader header;
  std::span<const uint8_t> payload;
};

// EncodeFrameHeader returns the 13 header bytes. Cannot fail.
std::array<uint8_t, kFrameHeaderSize> EncodeFrameHeader(const FrameHeader& header);

// DecodeFrameHeader parses exactly kFrameHeaderSize bytes. Unknown flag bits are kept (the
// reference ignores them; the record layer authenticates them).
// Errors: kChannelTruncated (fewer than 13 bytes), kChannelTrailingBytes (more than 13),
// kChannelBadMagic, kChannelBadVersion, kChannelUnknownFrameType, kChannelPayloadTooLarge
// (payload_len above limits.max_payload_bytes).
Result<FrameHeader> DecodeFrameHeader(std::span<const uint8_t> bytes, const FrameLimits& limits);

// DecodeFrame parses one complete frame that fills `bytes` exactly. The returned payload view
// aliases `bytes`. Errors: as DecodeFrameHeader, plus kChannelTruncated (payload shorter than
// payload_len) and kChannelTrailingBytes (bytes after the payload).
Result<FrameView> DecodeFrame(std::span<const uint8_t> bytes EML_LIFETIME_BOUND,
                              const FrameLimits& limits);

// EncodeFrame returns header || payload with payload_len = payload.size().
// Errors: kChannelPayloadTooLarge (payload over limits.max_payload_bytes).
Result<std::vector<uint8_t>> EncodeFrame(FrameType type, uint8_t flags, uint32_t sequence,
                                         std::span<const uint8_t> payload,
                                         const FrameLimits& limits);

// IsKnownFrameType: true for the six msg_type values of protocol version 4.
bool IsKnownFrameType(uint8_t msg_type);

}  // namespace eml::channel
