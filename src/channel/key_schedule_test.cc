#include "channel/key_schedule.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "channel/testing/kat.h"
#include "crypto/hash.h"
#include "crypto/x25519.h"
#include "testing/test_util.h"

namespace eml::channel {
namespace {

using ::eml::channel::testing::HandshakeBytes;
using ::eml::channel::testing::HandshakeBytes32;
using ::eml::channel::testing::HandshakeSecret;
using ::eml::channel::testing::Reveal;
using ::eml::testing::HasError;
using ::testing::ElementsAreArray;

TranscriptInputs KatTranscriptInputs() {
  TranscriptInputs inputs;
  inputs.init_attestation_hash = crypto::Sha256(HandshakeBytes("initiator_doc"));
  inputs.resp_attestation_hash = crypto::Sha256(HandshakeBytes("responder_doc"));
  inputs.initiator_public_key = HandshakeBytes32("initiator_public");
  inputs.responder_public_key = HandshakeBytes32("responder_public");
  inputs.combined_nonce =
      CombineNonces(HandshakeBytes32("initiator_nonce"), HandshakeBytes32("responder_nonce"));
  return inputs;
}

TEST(KeyScheduleTest, CombinedNonceMatchesKat) {
  EXPECT_EQ(KatTranscriptInputs().combined_nonce, HandshakeBytes32("combined_nonce"));
}

TEST(KeyScheduleTest, TranscriptMatchesKat) {
  // The generator also records the labelled bytes; their SHA-256 is the transcript.
  EXPECT_EQ(crypto::Sha256(HandshakeBytes("transcript_input")),
            HandshakeBytes32("transcript_hash"));
  EXPECT_EQ(ComputeTranscript(KatTranscriptInputs()), HandshakeBytes32("transcript_hash"));
}

TEST(KeyScheduleTest, TranscriptIgnoresWhoseKeyIsLow) {
  TranscriptInputs swapped = KatTranscriptInputs();
  std::swap(swapped.initiator_public_key, swapped.responder_public_key);
  EXPECT_EQ(ComputeTranscript(swapped), HandshakeBytes32("transcript_hash"));
}

TEST(KeyScheduleTest, TranscriptCoversEveryItem) {
  const Bytes32 base = ComputeTranscript(KatTranscriptInputs());
  for (int item = 0; item < 5; ++item) {
    TranscriptInputs changed = KatTranscriptInputs();
    Bytes32* fields[] = {&changed.init_attestation_hash, &changed.resp_attestation_hash,
                         &changed.initiator_public_key, &changed.responder_public_key,
                         &changed.combined_nonce};
    (*fields[item])[31] ^= 0x01;
    EXPECT_NE(ComputeTranscript(changed), base) << "item " << item;
  }
}

TEST(KeyScheduleTest, SharedSecretMatchesKat) {
  Result<crypto::X25519PrivateKey> initiator =
      crypto::X25519PrivateKey::FromBytes(HandshakeSecret("initiator_private"));
  ASSERT_TRUE(initiator.has_value());
  EXPECT_THAT(initiator->public_key().bytes(),
              ElementsAreArray(HandshakeBytes("initiator_public")));
  Result<crypto::X25519PublicKey> responder =
      crypto::X25519PublicKey::FromBytes(HandshakeBytes("responder_public"));
  ASSERT_TRUE(responder.has_value());
  Result<SecretBytes> shared = initiator->Agree(*responder);
  ASSERT_TRUE(shared.has_value());
  EXPECT_EQ(Reveal(*shared), HandshakeBytes("shared_secret"));
}

TEST(KeyScheduleTest, SessionKeysMatchKat) {
  Result<SessionKeys> keys =
      DeriveSessionKeys(HandshakeSecret("shared_secret"), HandshakeBytes32("transcript_hash"));
  ASSERT_TRUE(keys.has_value());
  EXPECT_EQ(Reveal(keys->initiator_to_responder), HandshakeBytes("key_initiator_to_responder"));
  EXPECT_EQ(Reveal(keys->responder_to_initiator), HandshakeBytes("key_responder_to_initiator"));
  EXPECT_EQ(keys->session_id, HandshakeBytes32("session_id"));
  EXPECT_EQ(ConfirmationHash(*keys), HandshakeBytes32("confirmation_hash"));
}

TEST(KeyScheduleTest, AllZeroSharedSecretRejected) {
  EXPECT_THAT(DeriveSessionKeys(SecretBytes(32), HandshakeBytes32("transcript_hash")),
              HasError(ErrorCode::kCryptoAllZeroSharedSecret));
}

TEST(KeyScheduleTest, WrongSizeSharedSecretRejected) {
  EXPECT_THAT(DeriveSessionKeys(SecretBytes::CopyFrom(std::vector<uint8_t>(31, 1)),
                                HandshakeBytes32("transcript_hash")),
              HasError(ErrorCode::kInvalidArgument));
}

}  // namespace
}  // namespace eml::channel
