#include "channel/transport.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <thread>

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

// A Stream over fixed input bytes; it records what was read and written and the timeout of each
// read. With a delay, every read takes that long, and fails as a timeout when given less.
class ScriptedStream final : public Stream {
 public:
  explicit ScriptedStream(std::vector<uint8_t> input, int read_delay_ms = 0)
      : input_(std::move(input)), read_delay_ms_(read_delay_ms) {}

  Status ReadExact(std::span<uint8_t> out, int timeout_ms) override {
    read_timeouts_.push_back(timeout_ms);
    if (timeout_ms < read_delay_ms_) {
      std::this_thread::sleep_for(std::chrono::milliseconds(timeout_ms));
      return Error{ErrorCode::kChannelTimeout, "script: slower than the timeout"};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(read_delay_ms_));
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
  const std::vector<int>& read_timeouts() const { return read_timeouts_; }

 private:
  std::vector<uint8_t> input_;
  int read_delay_ms_;
  std::vector<int> read_timeouts_;
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

TEST(TransportTest, HeaderAndPayloadHaveTheirOwnTimeouts) {
  ScriptedStream stream(HandshakeBytes("initiator_hello_frame"));
  std::vector<uint8_t> frame;
  ASSERT_THAT(ReadFrame(&stream, {}, 60'000, 250, &frame), IsOk());
  EXPECT_EQ(stream.read_timeouts(), (std::vector<int>{60'000, 250}));
}

// The KAT handshake: both initiator frames, read by the KAT responder.
std::vector<uint8_t> InitiatorScript() {
  std::vector<uint8_t> script = HandshakeBytes("initiator_hello_frame");
  const std::vector<uint8_t> confirmation = HandshakeBytes("confirmation_frame");
  script.insert(script.end(), confirmation.begin(), confirmation.end());
  return script;
}

Result<Session> RespondOver(ScriptedStream* stream, int timeout_ms) {
  MockAttestationProvider provider;
  MockAttestationVerifier verifier;
  EML_ASSIGN_OR_RETURN(crypto::X25519PrivateKey key,
                       crypto::X25519PrivateKey::FromBytes(
                           ::eml::channel::testing::HandshakeSecret("responder_private")));
  Responder responder = Responder::Create(
      std::move(key), ::eml::channel::testing::HandshakeBytes32("responder_nonce"), &provider,
      &verifier);
  return RunResponderHandshake(stream, &responder, {}, timeout_ms);
}

TEST(TransportTest, ResponderHandshakeOverScript) {
  // The KAT initiator's frames drive a KAT responder; it answers with the KAT responder Hello.
  ScriptedStream stream(InitiatorScript());
  Result<Session> session = RespondOver(&stream, kDefaultHandshakeTimeoutMs);
  ASSERT_TRUE(session.has_value()) << ToString(session.error());
  EXPECT_EQ(stream.written(), HandshakeBytes("responder_hello_frame"));
  EXPECT_EQ(session->session_id(), ::eml::channel::testing::HandshakeBytes32("session_id"));
}

TEST(TransportTest, HandshakeTimeoutCoversAllSteps) {
  // Four reads of 150 ms each: every one fits a 400 ms step, the handshake does not.
  ScriptedStream slow(InitiatorScript(), /*read_delay_ms=*/150);
  EXPECT_THAT(RespondOver(&slow, 400), HasError(ErrorCode::kChannelTimeout));
  const std::vector<int>& timeouts = slow.read_timeouts();
  ASSERT_GE(timeouts.size(), 3u);
  EXPECT_TRUE(std::is_sorted(timeouts.rbegin(), timeouts.rend())) << "each step gets what is left";
  EXPECT_LT(timeouts.back(), 150);
  // Given enough time in total, the same slow peer completes.
  ScriptedStream patient(InitiatorScript(), /*read_delay_ms=*/150);
  EXPECT_THAT(RespondOver(&patient, 10'000), IsOk());
}

}  // namespace
}  // namespace eml::channel
