#pragma once
// Payloads of the three handshake Hello frames (docs/protocol.md "Handshake"):
//   initiator hello:  0x01 | public key (32) | nonce (32) | u32 BE doc_len | attestation doc
//   responder hello:  0x02 | public key (32) | nonce (32) | u32 BE doc_len | attestation doc
//   confirmation:     0x03 | SHA-256 confirmation hash (32)
//
// Posture: ParseHello / ParseConfirmation read the peer's handshake payloads. Limits: the
// attestation document is at most HandshakeLimits::max_attestation_doc_bytes (64 KiB by
// default); every message must fill its payload exactly. Fuzz target:
// tests/fuzz/channel_hello_fuzz.cc.
//
// Thread safety: pure functions, safe from any thread.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "channel/frame.h"
#include "common/result.h"

namespace eml::channel {

inline constexpr size_t kHandshakeKeySize = 32;
inline constexpr size_t kHandshakeNonceSize = 32;
inline constexpr size_t kConfirmationHashSize = 32;
inline constexpr size_t kDefaultMaxAttestationDocBytes = 64 * 1024;
// The largest handshake frame: a 64 KiB document plus header and 1 KiB of slack, as the
// reference bounds its handshake read buffer.
inline constexpr size_t kDefaultMaxHandshakeFrameBytes =
    kDefaultMaxAttestationDocBytes + kFrameHeaderSize + 1024;

struct HandshakeLimits {
  size_t max_attestation_doc_bytes = kDefaultMaxAttestationDocBytes;
  size_t max_handshake_frame_bytes = kDefaultMaxHandshakeFrameBytes;
};

// HandshakeFrameLimits: the frame limits that apply while the handshake runs.
FrameLimits HandshakeFrameLimits(const HandshakeLimits& limits);

enum class HelloKind : uint8_t { kInitiator = 0x01, kResponder = 0x02 };
inline constexpr uint8_t kConfirmationMessageNumber = 0x03;

struct HelloMessage {
  std::array<uint8_t, kHandshakeKeySize> public_key{};
  std::array<uint8_t, kHandshakeNonceSize> nonce{};
  std::vector<uint8_t> attestation_doc;
};

// EncodeHello returns the payload of an initiator or responder hello.
// Errors: kChannelAttestationTooLarge (document over the limit).
Result<std::vector<uint8_t>> EncodeHello(HelloKind kind, const HelloMessage& hello,
                                         const HandshakeLimits& limits);

// ParseHello parses a hello payload of the given kind (the document is copied out).
// Errors: kChannelTruncated, kChannelBadHandshakeMessage (wrong message number),
// kChannelAttestationTooLarge (doc_len over the limit), kChannelTrailingBytes.
Result<HelloMessage> ParseHello(HelloKind kind, std::span<const uint8_t> payload,
                                const HandshakeLimits& limits);

// EncodeConfirmation returns 0x03 || hash.
std::vector<uint8_t> EncodeConfirmation(const std::array<uint8_t, kConfirmationHashSize>& hash);

// ParseConfirmation returns the hash of a confirmation payload.
// Errors: kChannelTruncated, kChannelBadHandshakeMessage, kChannelTrailingBytes.
Result<std::array<uint8_t, kConfirmationHashSize>> ParseConfirmation(
    std::span<const uint8_t> payload);

}  // namespace eml::channel
