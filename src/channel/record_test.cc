#include "channel/record.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <limits>

#include "channel/testing/kat.h"
#include "testing/test_util.h"

namespace eml::channel {
namespace {

using ::eml::channel::testing::HandshakeBytes32;
using ::eml::channel::testing::HandshakeSecret;
using ::eml::channel::testing::Kat;
using ::eml::channel::testing::KatBytes;
using ::eml::testing::HasError;
using ::eml::testing::IsOk;
using ::testing::ElementsAreArray;
using ::testing::IsEmpty;

const char* KeyField(const nlohmann::json& record) {
  return record.at("direction") == "i2r" ? "key_initiator_to_responder"
                                         : "key_responder_to_initiator";
}

RecordSealer MakeSealer(const char* key_field) {
  Result<RecordSealer> sealer =
      RecordSealer::New(HandshakeSecret(key_field), HandshakeBytes32("session_id"));
  EML_CHECK(sealer.has_value());
  return std::move(*sealer);
}

RecordOpener MakeOpener(const char* key_field) {
  Result<RecordOpener> opener =
      RecordOpener::New(HandshakeSecret(key_field), HandshakeBytes32("session_id"));
  EML_CHECK(opener.has_value());
  return std::move(*opener);
}

TEST(RecordTest, NonceAndAadMatchKat) {
  for (const nlohmann::json& r : Kat().at("records")) {
    const uint64_t seq = r.at("sequence").get<uint64_t>();
    EXPECT_THAT(RecordNonce(seq), ElementsAreArray(KatBytes(r, "nonce")));
    EXPECT_THAT(RecordAad(static_cast<FrameType>(r.at("msg_type").get<uint8_t>()),
                          r.at("flags").get<uint8_t>(), HandshakeBytes32("session_id"), seq),
                ElementsAreArray(KatBytes(r, "aad")));
  }
}

TEST(RecordTest, SealMatchesKat) {
  const nlohmann::json& records = Kat().at("records");
  ASSERT_EQ(records.size(), 5u);
  for (const nlohmann::json& r : records) {
    RecordSealer sealer = MakeSealer(KeyField(r));
    sealer.SetNextSequenceForTest(r.at("sequence").get<uint64_t>());
    std::vector<uint8_t> frame;
    // The KAT flags include ENCRYPTED; Seal adds it either way.
    ASSERT_THAT(sealer.Seal(static_cast<FrameType>(r.at("msg_type").get<uint8_t>()),
                            static_cast<uint8_t>(r.at("flags").get<uint8_t>() & ~kFlagEncrypted),
                            KatBytes(r, "plaintext"), &frame),
                IsOk());
    EXPECT_EQ(frame, KatBytes(r, "frame"));
    EXPECT_EQ(sealer.next_sequence(), r.at("sequence").get<uint64_t>() + 1);
  }
}

TEST(RecordTest, OpenKatRecordsInOrder) {
  RecordOpener i2r = MakeOpener("key_initiator_to_responder");
  RecordOpener r2i = MakeOpener("key_responder_to_initiator");
  for (const nlohmann::json& r : Kat().at("records")) {
    RecordOpener& opener = r.at("direction") == "i2r" ? i2r : r2i;
    std::vector<uint8_t> plaintext;
    Result<FrameHeader> header = opener.Open(KatBytes(r, "frame"), &plaintext);
    ASSERT_TRUE(header.has_value()) << ToString(header.error());
    EXPECT_EQ(header->sequence, r.at("sequence").get<uint32_t>());
    EXPECT_EQ(plaintext, KatBytes(r, "plaintext"));
  }
}

TEST(RecordTest, ReplayRejected) {
  const nlohmann::json& first = Kat().at("records").at(0);
  RecordOpener opener = MakeOpener("key_initiator_to_responder");
  std::vector<uint8_t> plaintext;
  ASSERT_TRUE(opener.Open(KatBytes(first, "frame"), &plaintext).has_value());
  EXPECT_THAT(opener.Open(KatBytes(first, "frame"), &plaintext),
              HasError(ErrorCode::kChannelReplayedRecord));
  EXPECT_THAT(plaintext, IsEmpty());
}

TEST(RecordTest, ReorderRejectedAndGapsAllowed) {
  const nlohmann::json& records = Kat().at("records");
  RecordOpener opener = MakeOpener("key_initiator_to_responder");
  std::vector<uint8_t> plaintext;
  // Sequence 2 first (a gap over 0 and 1 is allowed), then 0 and 1 are too old.
  ASSERT_TRUE(opener.Open(KatBytes(records.at(2), "frame"), &plaintext).has_value());
  EXPECT_THAT(opener.Open(KatBytes(records.at(0), "frame"), &plaintext),
              HasError(ErrorCode::kChannelReplayedRecord));
  EXPECT_THAT(opener.Open(KatBytes(records.at(1), "frame"), &plaintext),
              HasError(ErrorCode::kChannelReplayedRecord));
}

TEST(RecordTest, EveryBitFlipRejected) {
  const std::vector<uint8_t> good = KatBytes(Kat().at("records").at(0), "frame");
  for (size_t i = 0; i < good.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::vector<uint8_t> bad = good;
      bad[i] = static_cast<uint8_t>(bad[i] ^ (1 << bit));
      RecordOpener opener = MakeOpener("key_initiator_to_responder");
      std::vector<uint8_t> plaintext;
      EXPECT_FALSE(opener.Open(bad, &plaintext).has_value()) << "byte " << i << " bit " << bit;
      EXPECT_THAT(plaintext, IsEmpty());
    }
  }
}

TEST(RecordTest, TamperedCiphertextFailsAuthentication) {
  std::vector<uint8_t> frame = KatBytes(Kat().at("records").at(0), "frame");
  frame.back() ^= 0x80;
  RecordOpener opener = MakeOpener("key_initiator_to_responder");
  std::vector<uint8_t> plaintext;
  EXPECT_THAT(opener.Open(frame, &plaintext), HasError(ErrorCode::kChannelRecordOpenFailed));
  // A failed record does not move the window: the genuine one still opens.
  frame.back() ^= 0x80;
  EXPECT_TRUE(opener.Open(frame, &plaintext).has_value());
}

TEST(RecordTest, WrongDirectionKeyFails) {
  RecordOpener opener = MakeOpener("key_responder_to_initiator");
  std::vector<uint8_t> plaintext;
  EXPECT_THAT(opener.Open(KatBytes(Kat().at("records").at(0), "frame"), &plaintext),
              HasError(ErrorCode::kChannelRecordOpenFailed));
}

TEST(RecordTest, UnencryptedFrameRejected) {
  Result<std::vector<uint8_t>> frame =
      EncodeFrame(FrameType::kData, 0, 0, std::vector<uint8_t>(20, 1), {});
  ASSERT_TRUE(frame.has_value());
  RecordOpener opener = MakeOpener("key_initiator_to_responder");
  std::vector<uint8_t> plaintext;
  EXPECT_THAT(opener.Open(*frame, &plaintext), HasError(ErrorCode::kChannelNotEncrypted));
}

TEST(RecordTest, HelloAfterHandshakeRejected) {
  Result<std::vector<uint8_t>> frame =
      EncodeFrame(FrameType::kHello, kFlagEncrypted, 3, std::vector<uint8_t>(20, 1), {});
  ASSERT_TRUE(frame.has_value());
  RecordOpener opener = MakeOpener("key_initiator_to_responder");
  std::vector<uint8_t> plaintext;
  EXPECT_THAT(opener.Open(*frame, &plaintext), HasError(ErrorCode::kChannelUnexpectedFrame));
  RecordSealer sealer = MakeSealer("key_initiator_to_responder");
  EXPECT_THAT(sealer.Seal(FrameType::kHello, 0, {}, &plaintext),
              HasError(ErrorCode::kChannelUnexpectedFrame));
}

TEST(RecordTest, PayloadShorterThanTag) {
  Result<std::vector<uint8_t>> frame =
      EncodeFrame(FrameType::kData, kFlagEncrypted, 0, std::vector<uint8_t>(15, 1), {});
  ASSERT_TRUE(frame.has_value());
  RecordOpener opener = MakeOpener("key_initiator_to_responder");
  std::vector<uint8_t> plaintext;
  EXPECT_THAT(opener.Open(*frame, &plaintext), HasError(ErrorCode::kChannelRecordOpenFailed));
}

TEST(RecordTest, SequenceExhaustedAfterU32Max) {
  RecordSealer sealer = MakeSealer("key_initiator_to_responder");
  RecordOpener opener = MakeOpener("key_initiator_to_responder");
  const uint64_t last = std::numeric_limits<uint32_t>::max();
  sealer.SetNextSequenceForTest(last);
  std::vector<uint8_t> frame;
  ASSERT_THAT(sealer.Seal(FrameType::kData, 0, std::vector<uint8_t>{1}, &frame), IsOk());
  std::vector<uint8_t> plaintext;
  Result<FrameHeader> header = opener.Open(frame, &plaintext);
  ASSERT_TRUE(header.has_value());
  EXPECT_EQ(header->sequence, last);
  EXPECT_THAT(sealer.Seal(FrameType::kData, 0, std::vector<uint8_t>{1}, &frame),
              HasError(ErrorCode::kChannelSequenceExhausted));
  EXPECT_THAT(frame, IsEmpty());
}

TEST(RecordTest, SealRespectsFrameLimit) {
  Result<RecordSealer> sealer =
      RecordSealer::New(HandshakeSecret("key_initiator_to_responder"),
                        HandshakeBytes32("session_id"), FrameLimits{.max_payload_bytes = 32});
  ASSERT_TRUE(sealer.has_value());
  std::vector<uint8_t> frame;
  EXPECT_THAT(sealer->Seal(FrameType::kData, 0, std::vector<uint8_t>(16), &frame), IsOk());
  EXPECT_THAT(sealer->Seal(FrameType::kData, 0, std::vector<uint8_t>(17), &frame),
              HasError(ErrorCode::kChannelPayloadTooLarge));
  EXPECT_EQ(sealer->next_sequence(), 1u);
}

TEST(RecordTest, BadKeyLength) {
  EXPECT_THAT(RecordSealer::New(SecretBytes(16), {}), HasError(ErrorCode::kCryptoBadKeyLength));
  EXPECT_THAT(RecordOpener::New(SecretBytes(16), {}), HasError(ErrorCode::kCryptoBadKeyLength));
}

}  // namespace
}  // namespace eml::channel
