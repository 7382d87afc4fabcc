#pragma once
// The record layer (docs/protocol.md "Record layer"): ChaCha20-Poly1305 with nonce = 4 zero
// bytes || u64 BE counter and a 43-byte AAD = version || msg_type || flags || session_id ||
// u64 BE sequence. The frame header's sequence field carries the counter. A sealer numbers
// records 0, 1, 2, ... and stops after 2^32 - 1; an opener accepts only sequences above the
// last accepted one (gaps allowed), only ENCRYPTED frames, never Hello.
//
// Posture: RecordOpener::Open reads the peer's frames after the handshake. Limits:
// FrameLimits::max_payload_bytes (32 MiB by default). The frame decoder under it is fuzzed by
// tests/fuzz/channel_frame_fuzz.cc; authentication failures never release plaintext.
//
// Thread safety: a sealer or opener is used by one thread at a time (they hold counters). Seal
// and Open allocate nothing besides growing the caller's output buffer.

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "channel/frame.h"
#include "channel/key_schedule.h"
#include "common/result.h"
#include "common/secret_bytes.h"
#include "crypto/aead.h"

namespace eml::channel {

inline constexpr size_t kRecordAadSize = 43;
inline constexpr size_t kRecordTagSize = crypto::Aead::kTagSize;

// RecordNonce returns 4 zero bytes || u64 BE sequence.
std::array<uint8_t, crypto::Aead::kNonceSize> RecordNonce(uint64_t sequence);
// RecordAad returns the 43-byte associated data of a record.
std::array<uint8_t, kRecordAadSize> RecordAad(FrameType type, uint8_t flags,
                                              const Bytes32& session_id, uint64_t sequence);

class RecordSealer {
 public:
  // New keys a sealer with a copy of the 32-byte key. Errors: kCryptoBadKeyLength.
  static Result<RecordSealer> New(const SecretBytes& key, const Bytes32& session_id,
                                  const FrameLimits& limits = {});

  // Seal writes one complete frame (header || ciphertext || tag) into `out` (resized to fit)
  // with the ENCRYPTED flag added to `flags`, and advances the sequence.
  // Errors: kChannelUnexpectedFrame (type Hello), kChannelPayloadTooLarge (ciphertext over the
  // frame limit), kChannelSequenceExhausted (2^32 records sealed). On error `out` is cleared
  // and the sequence is unchanged.
  Status Seal(FrameType type, uint8_t flags, std::span<const uint8_t> plaintext,
              std::vector<uint8_t>* out);

  uint64_t next_sequence() const { return next_sequence_; }
  void SetNextSequenceForTest(uint64_t sequence) { next_sequence_ = sequence; }

 private:
  RecordSealer(std::unique_ptr<crypto::Aead> aead, const Bytes32& session_id,
               const FrameLimits& limits)
      : aead_(std::move(aead)), session_id_(session_id), limits_(limits) {}

  std::unique_ptr<crypto::Aead> aead_;
  Bytes32 session_id_;
  FrameLimits limits_;
  uint64_t next_sequence_ = 0;
};

class RecordOpener {
 public:
  // New keys an opener with a copy of the 32-byte key. Errors: kCryptoBadKeyLength.
  static Result<RecordOpener> New(const SecretBytes& key, const Bytes32& session_id,
                                  const FrameLimits& limits = {});

  // Open decodes one complete frame, checks it and writes the plaintext into `out` (resized).
  // Returns the frame header. Errors: the DecodeFrame codes; kChannelUnexpectedFrame (a Hello
  // frame); kChannelNotEncrypted (ENCRYPTED flag clear); kChannelReplayedRecord (sequence not
  // above the last accepted); kChannelRecordOpenFailed (authentication failed or payload
  // shorter than the tag). On error `out` is cleared and the opener state is unchanged.
  Result<FrameHeader> Open(std::span<const uint8_t> frame, std::vector<uint8_t>* out);

 private:
  RecordOpener(std::unique_ptr<crypto::Aead> aead, const Bytes32& session_id,
               const FrameLimits& limits)
      : aead_(std::move(aead)), session_id_(session_id), limits_(limits) {}

  std::unique_ptr<crypto::Aead> aead_;
  Bytes32 session_id_;
  FrameLimits limits_;
  bool any_accepted_ = false;
  uint64_t last_sequence_ = 0;
};

}  // namespace eml::channel
