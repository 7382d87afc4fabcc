#include "channel/frame.h"

#include <string>

#include "common/byte_reader.h"
#include "common/byte_writer.h"

namespace eml::channel {

bool IsKnownFrameType(uint8_t msg_type) {
  return msg_type >= static_cast<uint8_t>(FrameType::kHello) &&
         msg_type <= static_cast<uint8_t>(FrameType::kTensor);
}

std::array<uint8_t, kFrameHeaderSize> EncodeFrameHeader(const FrameHeader& header) {
  ByteWriter writer = ByteWriter::Fixed(kFrameHeaderSize);
  writer.PutU16Be(kFrameMagic);
  writer.PutU8(kProtocolVersion);
  writer.PutU8(static_cast<uint8_t>(header.type));
  writer.PutU8(header.flags);
  writer.PutU32Be(header.sequence);
  writer.PutU32Be(header.payload_len);
  EML_CHECK(writer.ok() && writer.size() == kFrameHeaderSize);
  std::array<uint8_t, kFrameHeaderSize> out{};
  ByteReader reader(writer.bytes());
  EML_CHECK(reader.CopyBytes(out));
  return out;
}

namespace {

Result<FrameHeader> ReadHeader(ByteReader* reader, const FrameLimits& limits) {
  uint16_t magic = 0;
  uint8_t version = 0;
  uint8_t msg_type = 0;
  FrameHeader header;
  if (!reader->ReadU16Be(&magic) || !reader->ReadU8(&version) || !reader->ReadU8(&msg_type) ||
      !reader->ReadU8(&header.flags) || !reader->ReadU32Be(&header.sequence) ||
      !reader->ReadU32Be(&header.payload_len)) {
    return Error{ErrorCode::kChannelTruncated, "frame header shorter than 13 bytes"};
  }
  if (magic != kFrameMagic) {
    return Error{ErrorCode::kChannelBadMagic, "frame magic is not 0xCF4D"};
  }
  if (version != kProtocolVersion) {
    return Error{ErrorCode::kChannelBadVersion,
                 "frame version " + std::to_string(version) + ", want 4"};
  }
  if (!IsKnownFrameType(msg_type)) {
    return Error{ErrorCode::kChannelUnknownFrameType,
                 "unknown frame type " + std::to_string(msg_type)};
  }
  header.type = static_cast<FrameType>(msg_type);
  if (header.payload_len > limits.max_payload_bytes) {
    return Error{ErrorCode::kChannelPayloadTooLarge,
                 "payload_len " + std::to_string(header.payload_len) + " over limit " +
                     std::to_string(limits.max_payload_bytes)};
  }
  return header;
}

}  // namespace

Result<FrameHeader> DecodeFrameHeader(std::span<const uint8_t> bytes, const FrameLimits& limits) {
  ByteReader reader(bytes);
  EML_ASSIGN_OR_RETURN(FrameHeader header, ReadHeader(&reader, limits));
  if (!reader.empty()) {
    return Error{ErrorCode::kChannelTrailingBytes, "bytes after the 13-byte frame header"};
  }
  return header;
}

Result<FrameView> DecodeFrame(std::span<const uint8_t> bytes, const FrameLimits& limits) {
  ByteReader reader(bytes);
  FrameView frame;
  EML_ASSIGN_OR_RETURN(frame.header, ReadHeader(&reader, limits));
  if (!reader.ReadBytes(frame.header.payload_len, &frame.payload)) {
    return Error{ErrorCode::kChannelTruncated, "frame payload shorter than payload_len"};
  }
  if (!reader.empty()) {
    return Error{ErrorCode::kChannelTrailingBytes, "bytes after the frame payload"};
  }
  return frame;
}

Result<std::vector<uint8_t>> EncodeFrame(FrameType type, uint8_t flags, uint32_t sequence,
                                         std::span<const uint8_t> payload,
                                         const FrameLimits& limits) {
  if (payload.size() > limits.max_payload_bytes) {
    return Error{ErrorCode::kChannelPayloadTooLarge, "payload over the frame limit"};
  }
  FrameHeader header{type, flags, sequence, static_cast<uint32_t>(payload.size())};
  std::array<uint8_t, kFrameHeaderSize> head = EncodeFrameHeader(header);
  ByteWriter writer = ByteWriter::Fixed(kFrameHeaderSize + payload.size());
  writer.PutBytes(head);
  writer.PutBytes(payload);
  std::optional<std::vector<uint8_t>> out = std::move(writer).Finish();
  EML_CHECK(out.has_value());
  return std::move(*out);
}

}  // namespace eml::channel
