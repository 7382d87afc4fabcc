#include "channel/frame.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "channel/testing/kat.h"
#include "testing/test_util.h"

namespace eml::channel {
namespace {

using ::eml::channel::testing::Kat;
using ::eml::channel::testing::KatBytes;
using ::eml::testing::HasError;
using ::eml::testing::Hex;
using ::testing::ElementsAreArray;

TEST(FrameTest, HeadersMatchKat) {
  const nlohmann::json& cases = Kat().at("frame_headers");
  ASSERT_EQ(cases.size(), 4u);
  for (const nlohmann::json& c : cases) {
    FrameHeader header;
    header.type = static_cast<FrameType>(c.at("msg_type").get<uint8_t>());
    header.flags = c.at("flags").get<uint8_t>();
    header.sequence = c.at("sequence").get<uint32_t>();
    header.payload_len = c.at("payload_len").get<uint32_t>();
    const std::vector<uint8_t> encoded = KatBytes(c, "encoded");
    EXPECT_THAT(EncodeFrameHeader(header), ElementsAreArray(encoded));
    // One case has a payload_len over the default limit: decode it without one.
    Result<FrameHeader> decoded =
        DecodeFrameHeader(encoded, FrameLimits{.max_payload_bytes = UINT32_MAX});
    ASSERT_TRUE(decoded.has_value());
    EXPECT_EQ(decoded->type, header.type);
    EXPECT_EQ(decoded->flags, header.flags);
    EXPECT_EQ(decoded->sequence, header.sequence);
    EXPECT_EQ(decoded->payload_len, header.payload_len);
  }
}

TEST(FrameTest, FrameRoundTrip) {
  const std::vector<uint8_t> payload = {1, 2, 3};
  Result<std::vector<uint8_t>> frame =
      EncodeFrame(FrameType::kData, kFlagEncrypted, 9, payload, {});
  ASSERT_TRUE(frame.has_value());
  EXPECT_EQ(*frame, Hex("cf4d0402010000000900000003010203"));
  Result<FrameView> view = DecodeFrame(*frame, {});
  ASSERT_TRUE(view.has_value());
  EXPECT_EQ(view->header.type, FrameType::kData);
  EXPECT_EQ(view->header.sequence, 9u);
  EXPECT_THAT(view->payload, ElementsAreArray(payload));
}

TEST(FrameTest, BadMagic) {
  EXPECT_THAT(DecodeFrameHeader(Hex("cf4e0402010000000000000000"), {}),
              HasError(ErrorCode::kChannelBadMagic));
}

TEST(FrameTest, BadVersion) {
  EXPECT_THAT(DecodeFrameHeader(Hex("cf4d0202010000000000000000"), {}),
              HasError(ErrorCode::kChannelBadVersion));
}

TEST(FrameTest, UnknownTypes) {
  EXPECT_THAT(DecodeFrameHeader(Hex("cf4d0400010000000000000000"), {}),
              HasError(ErrorCode::kChannelUnknownFrameType));
  EXPECT_THAT(DecodeFrameHeader(Hex("cf4d0407010000000000000000"), {}),
              HasError(ErrorCode::kChannelUnknownFrameType));
}

TEST(FrameTest, PayloadLimit) {
  // Exactly 32 MiB is allowed; one byte more is not.
  EXPECT_TRUE(DecodeFrameHeader(Hex("cf4d0402010000000002000000"), {}).has_value());
  EXPECT_THAT(DecodeFrameHeader(Hex("cf4d0402010000000002000001"), {}),
              HasError(ErrorCode::kChannelPayloadTooLarge));
  FrameLimits small{.max_payload_bytes = 2};
  EXPECT_THAT(DecodeFrame(Hex("cf4d0402010000000000000003010203"), small),
              HasError(ErrorCode::kChannelPayloadTooLarge));
  EXPECT_THAT(EncodeFrame(FrameType::kData, 0, 0, std::vector<uint8_t>(3), small),
              HasError(ErrorCode::kChannelPayloadTooLarge));
}

TEST(FrameTest, TruncatedHeader) {
  EXPECT_THAT(DecodeFrameHeader(Hex("cf4d04020100000000000000"), {}),
              HasError(ErrorCode::kChannelTruncated));
  EXPECT_THAT(DecodeFrame({}, {}), HasError(ErrorCode::kChannelTruncated));
}

TEST(FrameTest, TrailingBytesAfterHeader) {
  EXPECT_THAT(DecodeFrameHeader(Hex("cf4d040201000000000000000000"), {}),
              HasError(ErrorCode::kChannelTrailingBytes));
}

TEST(FrameTest, TruncatedPayload) {
  EXPECT_THAT(DecodeFrame(Hex("cf4d04020100000000000000030102"), {}),
              HasError(ErrorCode::kChannelTruncated));
}

TEST(FrameTest, TrailingBytesAfterPayload) {
  EXPECT_THAT(DecodeFrame(Hex("cf4d040201000000000000000301020304"), {}),
              HasError(ErrorCode::kChannelTrailingBytes));
}

}  // namespace
}  // namespace eml::channel
