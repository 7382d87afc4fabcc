#include "channel/handshake.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>

#include "channel/mock_attestation.h"
#include "channel/testing/kat.h"
#include "testing/test_util.h"

namespace eml::channel {
namespace {

using ::eml::channel::testing::HandshakeBytes;
using ::eml::channel::testing::HandshakeBytes32;
using ::eml::channel::testing::HandshakeSecret;
using ::eml::testing::HasError;
using ::eml::testing::IsOk;

crypto::X25519PrivateKey KatKey(const char* field) {
  Result<crypto::X25519PrivateKey> key =
      crypto::X25519PrivateKey::FromBytes(HandshakeSecret(field));
  EML_CHECK(key.has_value());
  return std::move(*key);
}

// A mock provider that can lie about what it binds.
class SkewedProvider final : public AttestationProvider {
 public:
  std::optional<std::vector<uint8_t>> key_override;
  std::optional<std::vector<uint8_t>> nonce_override;
  std::optional<Error> fail_with;

  Result<std::vector<uint8_t>> Attest(std::span<const uint8_t> nonce,
                                      std::span<const uint8_t> public_key) override {
    if (fail_with.has_value()) {
      return *fail_with;
    }
    MockEnvelope envelope;
    envelope.nonce = nonce_override.value_or(std::vector<uint8_t>(nonce.begin(), nonce.end()));
    envelope.public_key =
        key_override.value_or(std::vector<uint8_t>(public_key.begin(), public_key.end()));
    return EncodeMockEnvelope(envelope);
  }
};

struct KatPair {
  MockAttestationProvider provider;
  MockAttestationVerifier verifier;
  Initiator initiator = Initiator::Create(
      KatKey("initiator_private"), HandshakeBytes32("initiator_nonce"), &provider, &verifier);
  Responder responder = Responder::Create(
      KatKey("responder_private"), HandshakeBytes32("responder_nonce"), &provider, &verifier);
};

TEST(HandshakeTest, KnownAnswerHandshake) {
  KatPair pair;
  Result<std::vector<uint8_t>> hello_i = pair.initiator.Start();
  ASSERT_TRUE(hello_i.has_value());
  EXPECT_EQ(*hello_i, HandshakeBytes("initiator_hello_frame"));
  Result<std::vector<uint8_t>> hello_r = pair.responder.HandleInitiatorHello(*hello_i);
  ASSERT_TRUE(hello_r.has_value()) << ToString(hello_r.error());
  EXPECT_EQ(*hello_r, HandshakeBytes("responder_hello_frame"));
  Result<Initiator::Finished> finished = pair.initiator.HandleResponderHello(*hello_r);
  ASSERT_TRUE(finished.has_value()) << ToString(finished.error());
  EXPECT_EQ(finished->confirmation_frame, HandshakeBytes("confirmation_frame"));
  Result<Session> responder_session =
      pair.responder.HandleConfirmation(finished->confirmation_frame);
  ASSERT_TRUE(responder_session.has_value()) << ToString(responder_session.error());
  Session& client = finished->session;
  EXPECT_EQ(client.session_id(), HandshakeBytes32("session_id"));
  EXPECT_EQ(responder_session->session_id(), HandshakeBytes32("session_id"));
  EXPECT_EQ(client.peer().public_key, HandshakeBytes("responder_public"));

  // The first initiator record equals the KAT record under k_i2r.
  std::vector<uint8_t> frame;
  ASSERT_THAT(client.Seal(FrameType::kData, 0,
                          std::vector<uint8_t>{'h', 'e', 'l', 'l', 'o', ' ', 'e', 'n', 'c', 'l',
                                               'a', 'v', 'e'},
                          &frame),
              IsOk());
  EXPECT_EQ(frame, ::eml::channel::testing::KatBytes(
                       ::eml::channel::testing::Kat().at("records").at(0), "frame"));
  std::vector<uint8_t> plaintext;
  ASSERT_TRUE(responder_session->Open(frame, &plaintext).has_value());
  EXPECT_EQ(std::string(plaintext.begin(), plaintext.end()), "hello enclave");
}

TEST(HandshakeTest, RandomHandshakeBothWays) {
  MockAttestationProvider provider;
  MockAttestationVerifier verifier;
  Result<Initiator> initiator = Initiator::New(&provider, &verifier);
  Result<Responder> responder = Responder::New(&provider, &verifier);
  ASSERT_TRUE(initiator.has_value() && responder.has_value());
  Result<std::vector<uint8_t>> hello_i = initiator->Start();
  ASSERT_TRUE(hello_i.has_value());
  Result<std::vector<uint8_t>> hello_r = responder->HandleInitiatorHello(*hello_i);
  ASSERT_TRUE(hello_r.has_value());
  Result<Initiator::Finished> finished = initiator->HandleResponderHello(*hello_r);
  ASSERT_TRUE(finished.has_value());
  Result<Session> server = responder->HandleConfirmation(finished->confirmation_frame);
  ASSERT_TRUE(server.has_value());
  EXPECT_EQ(server->session_id(), finished->session.session_id());
  std::vector<uint8_t> frame;
  std::vector<uint8_t> plaintext;
  for (int i = 0; i < 3; ++i) {
    const std::vector<uint8_t> message(static_cast<size_t>(i * 100), static_cast<uint8_t>(i));
    ASSERT_THAT(server->Seal(FrameType::kData, 0, message, &frame), IsOk());
    ASSERT_TRUE(finished->session.Open(frame, &plaintext).has_value());
    EXPECT_EQ(plaintext, message);
    ASSERT_THAT(finished->session.Seal(FrameType::kTensor, kFlagTensorPayload, message, &frame),
                IsOk());
    Result<FrameHeader> header = server->Open(frame, &plaintext);
    ASSERT_TRUE(header.has_value());
    EXPECT_EQ(header->type, FrameType::kTensor);
    EXPECT_EQ(plaintext, message);
  }
}

TEST(HandshakeTest, ConfirmationMismatch) {
  KatPair pair;
  std::vector<uint8_t> confirmation = HandshakeBytes("confirmation_frame");
  confirmation.back() ^= 0x01;
  ASSERT_TRUE(
      pair.responder.HandleInitiatorHello(HandshakeBytes("initiator_hello_frame")).has_value());
  EXPECT_THAT(pair.responder.HandleConfirmation(confirmation),
              HasError(ErrorCode::kChannelConfirmationMismatch));
}

TEST(HandshakeTest, ResponderBindsDifferentKey) {
  SkewedProvider skewed;
  skewed.key_override = std::vector<uint8_t>(32, 0x42);
  MockAttestationProvider provider;
  MockAttestationVerifier verifier;
  Initiator initiator = Initiator::Create(
      KatKey("initiator_private"), HandshakeBytes32("initiator_nonce"), &provider, &verifier);
  Responder responder = Responder::Create(KatKey("responder_private"),
                                          HandshakeBytes32("responder_nonce"), &skewed, &verifier);
  Result<std::vector<uint8_t>> hello_i = initiator.Start();
  ASSERT_TRUE(hello_i.has_value());
  Result<std::vector<uint8_t>> hello_r = responder.HandleInitiatorHello(*hello_i);
  ASSERT_TRUE(hello_r.has_value());
  EXPECT_THAT(initiator.HandleResponderHello(*hello_r),
              HasError(ErrorCode::kChannelBindingMismatch));
}

TEST(HandshakeTest, InitiatorBindsDifferentNonce) {
  SkewedProvider skewed;
  skewed.nonce_override = std::vector<uint8_t>(32, 0x42);
  MockAttestationProvider provider;
  MockAttestationVerifier verifier;
  Initiator initiator = Initiator::Create(KatKey("initiator_private"),
                                          HandshakeBytes32("initiator_nonce"), &skewed, &verifier);
  Responder responder = Responder::Create(
      KatKey("responder_private"), HandshakeBytes32("responder_nonce"), &provider, &verifier);
  Result<std::vector<uint8_t>> hello_i = initiator.Start();
  ASSERT_TRUE(hello_i.has_value());
  EXPECT_THAT(responder.HandleInitiatorHello(*hello_i),
              HasError(ErrorCode::kChannelBindingMismatch));
}

TEST(HandshakeTest, MissingBindingRejected) {
  SkewedProvider skewed;
  skewed.key_override = std::vector<uint8_t>{};
  MockAttestationProvider provider;
  MockAttestationVerifier verifier;
  Initiator initiator = Initiator::Create(KatKey("initiator_private"),
                                          HandshakeBytes32("initiator_nonce"), &skewed, &verifier);
  Responder responder = Responder::Create(
      KatKey("responder_private"), HandshakeBytes32("responder_nonce"), &provider, &verifier);
  Result<std::vector<uint8_t>> hello_i = initiator.Start();
  ASSERT_TRUE(hello_i.has_value());
  EXPECT_THAT(responder.HandleInitiatorHello(*hello_i),
              HasError(ErrorCode::kChannelBindingMismatch));
}

TEST(HandshakeTest, AllZeroSharedSecretRejected) {
  // A responder "key" of order 1 (u = 0), honestly bound by its mock document.
  KatPair pair;
  ASSERT_TRUE(pair.initiator.Start().has_value());
  HelloMessage hello;
  hello.nonce = HandshakeBytes32("responder_nonce");
  MockEnvelope envelope;
  envelope.nonce.assign(hello.nonce.begin(), hello.nonce.end());
  envelope.public_key.assign(32, 0);
  Result<std::vector<uint8_t>> doc = EncodeMockEnvelope(envelope);
  ASSERT_TRUE(doc.has_value());
  hello.attestation_doc = *doc;
  Result<std::vector<uint8_t>> payload = EncodeHello(HelloKind::kResponder, hello, {});
  ASSERT_TRUE(payload.has_value());
  Result<std::vector<uint8_t>> frame = EncodeFrame(FrameType::kHello, 0, 0, *payload, {});
  ASSERT_TRUE(frame.has_value());
  EXPECT_THAT(pair.initiator.HandleResponderHello(*frame),
              HasError(ErrorCode::kCryptoAllZeroSharedSecret));
}

TEST(HandshakeTest, UnexpectedHandshakeFrames) {
  const std::vector<uint8_t> hello_i = HandshakeBytes("initiator_hello_frame");
  {
    KatPair pair;  // Hello with sequence 1.
    std::vector<uint8_t> frame = hello_i;
    frame[8] = 1;
    EXPECT_THAT(pair.responder.HandleInitiatorHello(frame),
                HasError(ErrorCode::kChannelUnexpectedFrame));
  }
  {
    KatPair pair;  // ENCRYPTED flag on a Hello.
    std::vector<uint8_t> frame = hello_i;
    frame[4] = kFlagEncrypted;
    EXPECT_THAT(pair.responder.HandleInitiatorHello(frame),
                HasError(ErrorCode::kChannelUnexpectedFrame));
  }
  {
    KatPair pair;  // A Data frame where the Hello belongs.
    std::vector<uint8_t> frame = hello_i;
    frame[3] = static_cast<uint8_t>(FrameType::kData);
    EXPECT_THAT(pair.responder.HandleInitiatorHello(frame),
                HasError(ErrorCode::kChannelUnexpectedFrame));
  }
  {
    KatPair pair;  // The confirmation must carry sequence 1.
    ASSERT_TRUE(pair.responder.HandleInitiatorHello(hello_i).has_value());
    std::vector<uint8_t> frame = HandshakeBytes("confirmation_frame");
    frame[8] = 0;
    EXPECT_THAT(pair.responder.HandleConfirmation(frame),
                HasError(ErrorCode::kChannelUnexpectedFrame));
  }
  {
    KatPair pair;  // An initiator Hello where the responder Hello belongs.
    ASSERT_TRUE(pair.initiator.Start().has_value());
    EXPECT_THAT(pair.initiator.HandleResponderHello(hello_i),
                HasError(ErrorCode::kChannelBadHandshakeMessage));
  }
}

TEST(HandshakeTest, OversizedHandshakeFrame) {
  KatPair pair;
  std::vector<uint8_t> frame = HandshakeBytes("initiator_hello_frame");
  frame.resize(kDefaultMaxHandshakeFrameBytes + 1);
  EXPECT_THAT(pair.responder.HandleInitiatorHello(frame),
              HasError(ErrorCode::kChannelPayloadTooLarge));
}

TEST(HandshakeTest, CallsOutOfOrder) {
  KatPair pair;
  EXPECT_THAT(pair.initiator.HandleResponderHello(HandshakeBytes("responder_hello_frame")),
              HasError(ErrorCode::kChannelBadState));
  EXPECT_THAT(pair.responder.HandleConfirmation(HandshakeBytes("confirmation_frame")),
              HasError(ErrorCode::kChannelBadState));
  ASSERT_TRUE(pair.initiator.Start().has_value());
  EXPECT_THAT(pair.initiator.Start(), HasError(ErrorCode::kChannelBadState));
  // A failed step ends the handshake: the genuine frame is refused afterwards.
  std::vector<uint8_t> bad = HandshakeBytes("responder_hello_frame");
  bad[20] ^= 1;
  EXPECT_FALSE(pair.initiator.HandleResponderHello(bad).has_value());
  EXPECT_THAT(pair.initiator.HandleResponderHello(HandshakeBytes("responder_hello_frame")),
              HasError(ErrorCode::kChannelBadState));
}

TEST(HandshakeTest, VerifierErrorPassesThrough) {
  KatPair pair;
  std::vector<uint8_t> frame = HandshakeBytes("initiator_hello_frame");
  // Byte 13 + 69 is the first byte of the document magic.
  frame[kFrameHeaderSize + 69] = 'X';
  EXPECT_THAT(pair.responder.HandleInitiatorHello(frame),
              HasError(ErrorCode::kChannelBadMockAttestation));
}

TEST(HandshakeTest, ProviderErrorPassesThrough) {
  SkewedProvider failing;
  failing.fail_with = Error{ErrorCode::kCryptoRandomFailed, "test"};
  MockAttestationVerifier verifier;
  Initiator initiator = Initiator::Create(KatKey("initiator_private"),
                                          HandshakeBytes32("initiator_nonce"), &failing, &verifier);
  EXPECT_THAT(initiator.Start(), HasError(ErrorCode::kCryptoRandomFailed));
}

}  // namespace
}  // namespace eml::channel
