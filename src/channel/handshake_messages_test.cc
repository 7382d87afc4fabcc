#include "channel/handshake_messages.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "channel/testing/kat.h"
#include "testing/test_util.h"

namespace eml::channel {
namespace {

using ::eml::channel::testing::HandshakeBytes;
using ::eml::channel::testing::HandshakeBytes32;
using ::eml::testing::HasError;
using ::testing::ElementsAreArray;

std::vector<uint8_t> PayloadOf(const char* frame_field) {
  std::vector<uint8_t> frame = HandshakeBytes(frame_field);
  Result<FrameView> view = DecodeFrame(frame, {});
  EXPECT_TRUE(view.has_value());
  return {view->payload.begin(), view->payload.end()};
}

TEST(HandshakeMessagesTest, InitiatorHelloMatchesKat) {
  const std::vector<uint8_t> payload = PayloadOf("initiator_hello_frame");
  Result<HelloMessage> hello = ParseHello(HelloKind::kInitiator, payload, {});
  ASSERT_TRUE(hello.has_value());
  EXPECT_EQ(hello->public_key, HandshakeBytes32("initiator_public"));
  EXPECT_EQ(hello->nonce, HandshakeBytes32("initiator_nonce"));
  EXPECT_EQ(hello->attestation_doc, HandshakeBytes("initiator_doc"));
  Result<std::vector<uint8_t>> encoded = EncodeHello(HelloKind::kInitiator, *hello, {});
  ASSERT_TRUE(encoded.has_value());
  EXPECT_EQ(*encoded, payload);
}

TEST(HandshakeMessagesTest, ResponderHelloMatchesKat) {
  const std::vector<uint8_t> payload = PayloadOf("responder_hello_frame");
  Result<HelloMessage> hello = ParseHello(HelloKind::kResponder, payload, {});
  ASSERT_TRUE(hello.has_value());
  EXPECT_EQ(hello->public_key, HandshakeBytes32("responder_public"));
  EXPECT_EQ(hello->nonce, HandshakeBytes32("responder_nonce"));
  EXPECT_EQ(hello->attestation_doc, HandshakeBytes("responder_doc"));
  Result<std::vector<uint8_t>> encoded = EncodeHello(HelloKind::kResponder, *hello, {});
  ASSERT_TRUE(encoded.has_value());
  EXPECT_EQ(*encoded, payload);
}

TEST(HandshakeMessagesTest, ConfirmationMatchesKat) {
  const std::vector<uint8_t> payload = PayloadOf("confirmation_frame");
  Result<Bytes32> hash = ParseConfirmation(payload);
  ASSERT_TRUE(hash.has_value());
  EXPECT_EQ(*hash, HandshakeBytes32("confirmation_hash"));
  EXPECT_EQ(EncodeConfirmation(*hash), payload);
}

TEST(HandshakeMessagesTest, WrongMessageNumber) {
  const std::vector<uint8_t> payload = PayloadOf("initiator_hello_frame");
  EXPECT_THAT(ParseHello(HelloKind::kResponder, payload, {}),
              HasError(ErrorCode::kChannelBadHandshakeMessage));
  EXPECT_THAT(ParseConfirmation(payload), HasError(ErrorCode::kChannelBadHandshakeMessage));
}

TEST(HandshakeMessagesTest, TruncatedHello) {
  const std::vector<uint8_t> payload = PayloadOf("initiator_hello_frame");
  EXPECT_THAT(ParseHello(HelloKind::kInitiator, {}, {}), HasError(ErrorCode::kChannelTruncated));
  for (size_t len : {size_t{1}, size_t{33}, size_t{65}, size_t{68}, payload.size() - 1}) {
    EXPECT_THAT(ParseHello(HelloKind::kInitiator, std::span(payload).first(len), {}),
                HasError(ErrorCode::kChannelTruncated))
        << len;
  }
}

TEST(HandshakeMessagesTest, TrailingBytesAfterHello) {
  std::vector<uint8_t> payload = PayloadOf("initiator_hello_frame");
  payload.push_back(0);
  EXPECT_THAT(ParseHello(HelloKind::kInitiator, payload, {}),
              HasError(ErrorCode::kChannelTrailingBytes));
}

TEST(HandshakeMessagesTest, AttestationDocumentLimit) {
  HelloMessage hello;
  hello.attestation_doc.assign(kDefaultMaxAttestationDocBytes, 0xAB);
  Result<std::vector<uint8_t>> at_limit = EncodeHello(HelloKind::kResponder, hello, {});
  ASSERT_TRUE(at_limit.has_value());
  EXPECT_TRUE(ParseHello(HelloKind::kResponder, *at_limit, {}).has_value());
  hello.attestation_doc.push_back(0);
  EXPECT_THAT(EncodeHello(HelloKind::kResponder, hello, {}),
              HasError(ErrorCode::kChannelAttestationTooLarge));
  // A doc_len above the limit is refused before any document byte is read.
  // 0x02 | 64 zero bytes | doc_len 0x00010001.
  const std::vector<uint8_t> header_only =
      ::eml::testing::Hex("02" + std::string(128, '0') + "00010001");
  EXPECT_THAT(ParseHello(HelloKind::kResponder, header_only, {}),
              HasError(ErrorCode::kChannelAttestationTooLarge));
}

TEST(HandshakeMessagesTest, ConfirmationErrors) {
  std::vector<uint8_t> payload = PayloadOf("confirmation_frame");
  EXPECT_THAT(ParseConfirmation({}), HasError(ErrorCode::kChannelTruncated));
  EXPECT_THAT(ParseConfirmation(std::span(payload).first(32)),
              HasError(ErrorCode::kChannelTruncated));
  payload.push_back(0);
  EXPECT_THAT(ParseConfirmation(payload), HasError(ErrorCode::kChannelTrailingBytes));
}

}  // namespace
}  // namespace eml::channel
