#include "channel/handshake_messages.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "common/byte_reader.h"
#include "common/byte_writer.h"

namespace eml::channel {

FrameLimits HandshakeFrameLimits(const HandshakeLimits& limits) {
  const size_t max_payload = limits.max_handshake_frame_bytes > kFrameHeaderSize
                                 ? limits.max_handshake_frame_bytes - kFrameHeaderSize
                                 : 0;
  FrameLimits frame_limits;
  frame_limits.max_payload_bytes =
      static_cast<uint32_t>(std::min<size_t>(max_payload, kDefaultMaxPayloadBytes));
  return frame_limits;
}

Result<std::vector<uint8_t>> EncodeHello(HelloKind kind, const HelloMessage& hello,
                                         const HandshakeLimits& limits) {
  if (hello.attestation_doc.size() > limits.max_attestation_doc_bytes ||
      hello.attestation_doc.size() > UINT32_MAX) {
    return Error{ErrorCode::kChannelAttestationTooLarge, "attestation document over the limit"};
  }
  ByteWriter writer;
  writer.PutU8(static_cast<uint8_t>(kind));
  writer.PutBytes(hello.public_key);
  writer.PutBytes(hello.nonce);
  writer.PutU32Be(static_cast<uint32_t>(hello.attestation_doc.size()));
  writer.PutBytes(hello.attestation_doc);
  std::optional<std::vector<uint8_t>> out = std::move(writer).Finish();
  EML_CHECK(out.has_value());
  return std::move(*out);
}

Result<HelloMessage> ParseHello(HelloKind kind, std::span<const uint8_t> payload,
                                const HandshakeLimits& limits) {
  ByteReader reader(payload);
  uint8_t number = 0;
  if (!reader.ReadU8(&number)) {
    return Error{ErrorCode::kChannelTruncated, "empty hello payload"};
  }
  if (number != static_cast<uint8_t>(kind)) {
    return Error{ErrorCode::kChannelBadHandshakeMessage, "unexpected handshake message number"};
  }
  HelloMessage hello;
  uint32_t doc_len = 0;
  if (!reader.CopyBytes(hello.public_key) || !reader.CopyBytes(hello.nonce) ||
      !reader.ReadU32Be(&doc_len)) {
    return Error{ErrorCode::kChannelTruncated, "hello payload truncated"};
  }
  if (doc_len > limits.max_attestation_doc_bytes) {
    return Error{ErrorCode::kChannelAttestationTooLarge, "attestation document over the limit"};
  }
  std::span<const uint8_t> doc;
  if (!reader.ReadBytes(doc_len, &doc)) {
    return Error{ErrorCode::kChannelTruncated, "attestation document truncated"};
  }
  if (!reader.empty()) {
    return Error{ErrorCode::kChannelTrailingBytes, "bytes after the hello"};
  }
  hello.attestation_doc.assign(doc.begin(), doc.end());
  return hello;
}

std::vector<uint8_t> EncodeConfirmation(const std::array<uint8_t, kConfirmationHashSize>& hash) {
  std::vector<uint8_t> out;
  out.reserve(1 + kConfirmationHashSize);
  out.push_back(kConfirmationMessageNumber);
  out.insert(out.end(), hash.begin(), hash.end());
  return out;
}

Result<std::array<uint8_t, kConfirmationHashSize>> ParseConfirmation(
    std::span<const uint8_t> payload) {
  ByteReader reader(payload);
  uint8_t number = 0;
  if (!reader.ReadU8(&number)) {
    return Error{ErrorCode::kChannelTruncated, "empty confirmation payload"};
  }
  if (number != kConfirmationMessageNumber) {
    return Error{ErrorCode::kChannelBadHandshakeMessage, "unexpected handshake message number"};
  }
  std::array<uint8_t, kConfirmationHashSize> hash{};
  if (!reader.CopyBytes(hash)) {
    return Error{ErrorCode::kChannelTruncated, "confirmation hash truncated"};
  }
  if (!reader.empty()) {
    return Error{ErrorCode::kChannelTrailingBytes, "bytes after the confirmation hash"};
  }
  return hash;
}

}  // namespace eml::channel
