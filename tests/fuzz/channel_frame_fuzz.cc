// Fuzz target channel_frame: eml::channel::DecodeFrame and RecordOpener::Open on arbitrary bytes
// (STYLE F2). Properties: decoding never crashes and fails only with frame codes; a decoded
// frame re-encodes byte-identical and its first 13 bytes decode alone to the same header; Open
// with a fixed key never crashes and leaves no plaintext on failure; the input sealed as a
// record opens to itself.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "channel/frame.h"
#include "channel/record.h"
#include "common/check.h"

namespace {

bool IsFrameCode(eml::ErrorCode code) {
  using eml::ErrorCode;
  return code == ErrorCode::kChannelBadMagic || code == ErrorCode::kChannelBadVersion ||
         code == ErrorCode::kChannelUnknownFrameType ||
         code == ErrorCode::kChannelPayloadTooLarge || code == ErrorCode::kChannelTruncated ||
         code == ErrorCode::kChannelTrailingBytes;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace eml::channel;  // NOLINT: fuzz driver
  const std::span<const uint8_t> input(data, size);
  const FrameLimits limits{.max_payload_bytes = 1u << 16};

  auto frame = DecodeFrame(input, limits);
  if (frame.has_value()) {
    auto again = EncodeFrame(frame->header.type, frame->header.flags, frame->header.sequence,
                             frame->payload, limits);
    EML_CHECK(again.has_value());
    EML_CHECK(std::equal(again->begin(), again->end(), input.begin(), input.end()));
    auto header = DecodeFrameHeader(input.first(kFrameHeaderSize), limits);
    EML_CHECK(header.has_value());
    EML_CHECK(header->sequence == frame->header.sequence);
    EML_CHECK(header->payload_len == frame->payload.size());
  } else {
    EML_CHECK(IsFrameCode(frame.error().code));
  }

  const eml::SecretBytes key = eml::SecretBytes::CopyFrom(std::vector<uint8_t>(32, 0x5A));
  const Bytes32 session_id{};
  auto opener = RecordOpener::New(key, session_id, limits);
  auto sealer = RecordSealer::New(key, session_id, limits);
  EML_CHECK(opener.has_value() && sealer.has_value());
  std::vector<uint8_t> out = {1};
  auto opened = opener->Open(input, &out);
  if (!opened.has_value()) {
    EML_CHECK(out.empty());
  }

  // Round trip: the input as a plaintext record, to a fresh opener.
  if (size + kRecordTagSize <= limits.max_payload_bytes) {
    auto fresh = RecordOpener::New(key, session_id, limits);
    EML_CHECK(fresh.has_value());
    std::vector<uint8_t> sealed;
    EML_CHECK(sealer->Seal(FrameType::kData, 0, input, &sealed).has_value());
    std::vector<uint8_t> plaintext;
    EML_CHECK(fresh->Open(sealed, &plaintext).has_value());
    EML_CHECK(std::equal(plaintext.begin(), plaintext.end(), input.begin(), input.end()));
    sealed.back() ^= 1;
    EML_CHECK(fresh->Open(sealed, &plaintext).code() == eml::ErrorCode::kChannelReplayedRecord);
  }
  return 0;
}
