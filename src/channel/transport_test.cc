#include "channel/transport.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "channel/mock_attestation.h"
#include "channel/testing/kat.h"
#include "testing/test_util.h"

namespace eml::channel {
namespace {

using ::eml::channel::testing::HandshakeBytes;
using ::eml::testing::HasError;
using ::eml::testing::Hex;
using ::eml::testing::IsOk;
using ::testing::IsEmpty;

// A Stream over fixed input bytes; it records what was read and written.
class ScriptedStream final : public Stream {
 public:
  explicit ScriptedStream(std::vector<uint8_t> input) : input_(std::move(input)) {}

  Status ReadExact(std::span<uint8_t> out, int /*timeout_ms*/) override {
    if (input_.size() - offset_ < out.size()) {
      return Error{ErrorCode::kChannelClosed, "script ended"};
    }
    std::copy_n(input_.begin() + static_cast<std::ptrdiff_t>(offset_), out.size(), out.begin());
    offset_ += out.size();
    return OkStatus();
  }
  Status WriteAll(std::span<const uint8_t> bytes, int /*timeout_ms*/) override {
    written_.insert(written_.end(), bytes.begin(), bytes.end());
    return OkStatus();
  }
  void Cancel() override { ADD_FAILURE() << "ReadFrame and the handshakes never cancel"; }

  size_t bytes_read() const { return offset_; }
  const std::vector<uint8_t>& written() const { return written_; }

 private:
  std::vector<uint8_t> input_;
  size_t offset_ = 0;
  std::vector<uint8_t> written_;
};

TEST(TransportTest, ReadsFramesBackToBack) {
  std::vector<uint8_t> script = HandshakeBytes("initiator_hello_frame");
  const std::vector<uint8_t> second = HandshakeBytes("confirmation_frame");
  script.insert(script.end(), second.begin(), second.end());
  ScriptedStream stream(script);
  std::vector<uint8_t> frame;
  ASSERT_THAT(ReadFrame(&stream, {}, 1000, &frame), IsOk());
  EXPECT_EQ(frame, HandshakeBytes("initiator_hello_frame"));
  ASSERT_THAT(ReadFrame(&stream, {}, 1000, &frame), IsOk());
  EXPECT_EQ(frame, second);
}

TEST(TransportTest, OversizedHeaderRejectedBeforePayload) {
  // payload_len 0x00010000 with a 1 KiB limit: nothing after the header is read.
  ScriptedStream stream(Hex("cf4d04020100000000000100000000"));
  std::vector<uint8_t> frame;
  EXPECT_THAT(ReadFrame(&stream, FrameLimits{.max_payload_bytes = 1024}, 1000, &frame),
              HasError(ErrorCode::kChannelPayloadTooLarge));
  EXPECT_EQ(stream.bytes_read(), kFrameHeaderSize);
  EXPECT_THAT(frame, IsEmpty());
}

TEST(TransportTest, ShortStreamIsClosed) {
  ScriptedStream stream(
      Hex("cf4d0402010000000000000003"
          "0102"));
  std::vector<uint8_t> frame;
  EXPECT_THAT(ReadFrame(&stream, {}, 1000, &frame), HasError(ErrorCode::kChannelClosed));
  EXPECT_THAT(frame, IsEmpty());
}

TEST(TransportTest, ResponderHandshakeOverScript) {
  // The KAT initiator's frames drive a KAT responder; it answers with the KAT responder Hello.
  std::vector<uint8_t> script = HandshakeBytes("initiator_hello_frame");
  const std::vector<uint8_t> confirmation = HandshakeBytes("confirmation_frame");
  script.insert(script.end(), confirmation.begin(), confirmation.end());
  ScriptedStream stream(script);
  MockAttestationProvider provider;
  MockAttestationVerifier verifier;
  Result<crypto::X25519PrivateKey> key = crypto::X25519PrivateKey::FromBytes(
      ::eml::channel::testing::HandshakeSecret("responder_private"));
  ASSERT_TRUE(key.has_value());
  Responder responder = Responder::Create(
      std::move(*key), ::eml::channel::testing::HandshakeBytes32("responder_nonce"), &provider,
      &verifier);
  Result<Session> session = RunResponderHandshake(&stream, &responder);
  ASSERT_TRUE(session.has_value()) << ToString(session.error());
  EXPECT_EQ(stream.written(), HandshakeBytes("responder_hello_frame"));
  EXPECT_EQ(session->session_id(), ::eml::channel::testing::HandshakeBytes32("session_id"));
}

}  // namespace
}  // namespace eml::channel
