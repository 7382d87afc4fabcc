#include "channel/record.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "common/byte_writer.h"

namespace eml::channel {
namespace {

template <size_t kSize>
std::array<uint8_t, kSize> ToArray(const ByteWriter& writer) {
  EML_CHECK(writer.ok() && writer.size() == kSize);
  std::array<uint8_t, kSize> out{};
  std::copy(writer.bytes().begin(), writer.bytes().end(), out.begin());
  return out;
}

}  // namespace

std::array<uint8_t, crypto::Aead::kNonceSize> RecordNonce(uint64_t sequence) {
  ByteWriter writer = ByteWriter::Fixed(crypto::Aead::kNonceSize);
  writer.PutU32Be(0);
  writer.PutU64Be(sequence);
  return ToArray<crypto::Aead::kNonceSize>(writer);
}

std::array<uint8_t, kRecordAadSize> RecordAad(FrameType type, uint8_t flags,
                                              const Bytes32& session_id, uint64_t sequence) {
  ByteWriter writer = ByteWriter::Fixed(kRecordAadSize);
  writer.PutU8(kProtocolVersion);
  writer.PutU8(static_cast<uint8_t>(type));
  writer.PutU8(flags);
  writer.PutBytes(session_id);
  writer.PutU64Be(sequence);
  return ToArray<kRecordAadSize>(writer);
}

Result<RecordSealer> RecordSealer::New(const SecretBytes& key, const Bytes32& session_id,
                                       const FrameLimits& limits) {
  EML_ASSIGN_OR_RETURN(std::unique_ptr<crypto::Aead> aead,
                       crypto::Aead::New(crypto::AeadAlgorithm::kChaCha20Poly1305, key));
  return RecordSealer(std::move(aead), session_id, limits);
}

Status RecordSealer::Seal(FrameType type, uint8_t flags, std::span<const uint8_t> plaintext,
                          std::vector<uint8_t>* out) {
  out->clear();
  if (type == FrameType::kHello) {
    return Error{ErrorCode::kChannelUnexpectedFrame, "Hello is not a record type"};
  }
  if (next_sequence_ > std::numeric_limits<uint32_t>::max()) {
    return Error{ErrorCode::kChannelSequenceExhausted, "all 2^32 record sequences used"};
  }
  if (plaintext.size() > limits_.max_payload_bytes ||
      limits_.max_payload_bytes - plaintext.size() < kRecordTagSize) {
    return Error{ErrorCode::kChannelPayloadTooLarge, "record over the frame limit"};
  }
  const uint8_t sealed_flags = flags | kFlagEncrypted;
  const uint64_t sequence = next_sequence_;
  const size_t payload_size = plaintext.size() + kRecordTagSize;
  const FrameHeader header{type, sealed_flags, static_cast<uint32_t>(sequence),
                           static_cast<uint32_t>(payload_size)};
  const std::array<uint8_t, kFrameHeaderSize> head = EncodeFrameHeader(header);
  const auto nonce = RecordNonce(sequence);
  const auto aad = RecordAad(type, sealed_flags, session_id_, sequence);
  out->resize(kFrameHeaderSize + payload_size);
  std::span<uint8_t> whole(*out);
  std::copy(head.begin(), head.end(), whole.begin());
  Status sealed = aead_->SealInto(nonce, plaintext, aad, whole.subspan(kFrameHeaderSize));
  if (!sealed.has_value()) {
    out->clear();
    return sealed;
  }
  next_sequence_ = sequence + 1;
  return OkStatus();
}

Result<RecordOpener> RecordOpener::New(const SecretBytes& key, const Bytes32& session_id,
                                       const FrameLimits& limits) {
  EML_ASSIGN_OR_RETURN(std::unique_ptr<crypto::Aead> aead,
                       crypto::Aead::New(crypto::AeadAlgorithm::kChaCha20Poly1305, key));
  return RecordOpener(std::move(aead), session_id, limits);
}

Result<FrameHeader> RecordOpener::Open(std::span<const uint8_t> frame, std::vector<uint8_t>* out) {
  out->clear();
  EML_ASSIGN_OR_RETURN(FrameView view, DecodeFrame(frame, limits_));
  const FrameHeader& header = view.header;
  if (header.type == FrameType::kHello) {
    return Error{ErrorCode::kChannelUnexpectedFrame, "Hello frame after the handshake"};
  }
  if ((header.flags & kFlagEncrypted) == 0) {
    return Error{ErrorCode::kChannelNotEncrypted, "post-handshake frame without ENCRYPTED"};
  }
  if (any_accepted_ && header.sequence <= last_sequence_) {
    return Error{ErrorCode::kChannelReplayedRecord, "record sequence not above the last one"};
  }
  if (view.payload.size() < kRecordTagSize) {
    return Error{ErrorCode::kChannelRecordOpenFailed, "record shorter than the tag"};
  }
  const auto nonce = RecordNonce(header.sequence);
  const auto aad = RecordAad(header.type, header.flags, session_id_, header.sequence);
  out->resize(view.payload.size() - kRecordTagSize);
  Status opened = aead_->OpenInto(nonce, view.payload, aad, *out);
  if (!opened.has_value()) {
    out->clear();
    return Error{ErrorCode::kChannelRecordOpenFailed, "record authentication failed"};
  }
  any_accepted_ = true;
  last_sequence_ = header.sequence;
  return header;
}

}  // namespace eml::channel
