#include "channel/mock_attestation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "channel/testing/kat.h"
#include "crypto/hash.h"
#include "testing/test_util.h"

namespace eml::channel {
namespace {

using ::eml::channel::testing::HandshakeBytes;
using ::eml::testing::HasError;
using ::eml::testing::Hex;
using ::testing::ElementsAreArray;
using ::testing::IsEmpty;

TEST(MockAttestationTest, KatDocumentParses) {
  const std::vector<uint8_t> doc = HandshakeBytes("initiator_doc");
  Result<MockEnvelope> envelope = ParseMockEnvelope(doc);
  ASSERT_TRUE(envelope.has_value());
  EXPECT_THAT(envelope->user_data, IsEmpty());
  EXPECT_EQ(envelope->nonce, HandshakeBytes("initiator_nonce"));
  EXPECT_EQ(envelope->public_key, HandshakeBytes("initiator_public"));
  Result<std::vector<uint8_t>> encoded = EncodeMockEnvelope(*envelope);
  ASSERT_TRUE(encoded.has_value());
  EXPECT_EQ(*encoded, doc);
}

TEST(MockAttestationTest, ExactLayout) {
  MockEnvelope envelope{{0xAA}, {0xBB, 0xCC}, {}};
  Result<std::vector<uint8_t>> encoded = EncodeMockEnvelope(envelope);
  ASSERT_TRUE(encoded.has_value());
  EXPECT_EQ(*encoded, Hex("4d4f434b5f4154545f563100"
                          "01000000aa"
                          "02000000bbcc"
                          "00000000"));
}

TEST(MockAttestationTest, ProviderAndVerifierAgree) {
  MockAttestationProvider provider;
  MockAttestationVerifier verifier;
  const std::vector<uint8_t> nonce(32, 7);
  const std::vector<uint8_t> key(32, 9);
  Result<std::vector<uint8_t>> doc = provider.Attest(nonce, key);
  ASSERT_TRUE(doc.has_value());
  Result<AttestedBinding> binding = verifier.Verify(*doc);
  ASSERT_TRUE(binding.has_value());
  EXPECT_EQ(binding->nonce, nonce);
  EXPECT_EQ(binding->public_key, key);
  EXPECT_EQ(binding->document_hash, crypto::Sha256(*doc));
}

TEST(MockAttestationTest, BadMagic) {
  std::vector<uint8_t> doc = HandshakeBytes("initiator_doc");
  doc[10] = '2';
  EXPECT_THAT(ParseMockEnvelope(doc), HasError(ErrorCode::kChannelBadMockAttestation));
  EXPECT_THAT(ParseMockEnvelope(Hex("4d4f434b")), HasError(ErrorCode::kChannelBadMockAttestation));
}

TEST(MockAttestationTest, TruncatedField) {
  const std::vector<uint8_t> doc = HandshakeBytes("initiator_doc");
  for (size_t len = 12; len < doc.size(); ++len) {
    EXPECT_THAT(ParseMockEnvelope(std::span(doc).first(len)),
                HasError(ErrorCode::kChannelBadMockAttestation))
        << len;
  }
}

TEST(MockAttestationTest, TrailingBytes) {
  std::vector<uint8_t> doc = HandshakeBytes("initiator_doc");
  doc.push_back(0);
  EXPECT_THAT(ParseMockEnvelope(doc), HasError(ErrorCode::kChannelTrailingBytes));
}

TEST(MockAttestationTest, TooLarge) {
  MockEnvelope envelope;
  envelope.user_data.assign(kDefaultMaxMockEnvelopeBytes, 0);
  Result<std::vector<uint8_t>> doc = EncodeMockEnvelope(envelope);
  ASSERT_TRUE(doc.has_value());
  EXPECT_THAT(ParseMockEnvelope(*doc), HasError(ErrorCode::kChannelAttestationTooLarge));
  EXPECT_TRUE(ParseMockEnvelope(*doc, doc->size()).has_value());
}

}  // namespace
}  // namespace eml::channel
