#include "crypto/aead.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/mman.h>

#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "common/encoding.h"
#include "crypto/random.h"
#include "crypto/testing/wycheproof_util.h"
#include "testing/test_util.h"

namespace eml::crypto {
namespace {

using ::eml::testing::HasError;
using ::eml::testing::Hex;
using ::eml::testing::IsOk;
using ::testing::Each;
using ::testing::Eq;

std::unique_ptr<Aead> MakeAead(AeadAlgorithm algorithm, const std::vector<uint8_t>& key) {
  Result<std::unique_ptr<Aead>> aead = Aead::New(algorithm, SecretBytes::CopyFrom(key));
  EXPECT_THAT(aead, IsOk());
  return aead.has_value() ? std::move(aead).value() : nullptr;
}

// RFC 8439 section 2.8.2.
TEST(AeadTest, ChaCha20Poly1305Rfc8439) {
  auto aead = MakeAead(AeadAlgorithm::kChaCha20Poly1305,
                       Hex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"));
  ASSERT_NE(aead, nullptr);
  std::vector<uint8_t> nonce = Hex("070000004041424344454647");
  std::vector<uint8_t> aad = Hex("50515253c0c1c2c3c4c5c6c7");
  std::string_view plaintext =
      "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the "
      "future, sunscreen would be it.";
  const std::string expected =
      "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6"
      "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36"
      "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
      "3ff4def08e4b7a9de576d26586cec64b6116"
      "1ae10b594f09e26a7e902ecbd0600691";  // tag
  Result<std::vector<uint8_t>> sealed = aead->Seal(nonce, AsBytes(plaintext), aad);
  ASSERT_THAT(sealed, IsOk());
  EXPECT_EQ(HexEncode(*sealed), expected);
  Result<std::vector<uint8_t>> opened = aead->Open(nonce, *sealed, aad);
  ASSERT_THAT(opened, IsOk());
  EXPECT_EQ(std::string(opened->begin(), opened->end()), plaintext);
}

TEST(AeadTest, KeySizes) {
  EXPECT_EQ(Aead::KeySize(AeadAlgorithm::kChaCha20Poly1305), 32u);
  EXPECT_EQ(Aead::KeySize(AeadAlgorithm::kAes128Gcm), 16u);
  EXPECT_EQ(Aead::KeySize(AeadAlgorithm::kAes256Gcm), 32u);
}

TEST(AeadTest, BadKeyLength) {
  EXPECT_THAT(Aead::New(AeadAlgorithm::kAes128Gcm, SecretBytes(32)),
              HasError(ErrorCode::kCryptoBadKeyLength));
  EXPECT_THAT(Aead::New(AeadAlgorithm::kChaCha20Poly1305, SecretBytes(16)),
              HasError(ErrorCode::kCryptoBadKeyLength));
}

class AeadAllAlgorithmsTest : public ::testing::TestWithParam<AeadAlgorithm> {
 protected:
  void SetUp() override {
    Result<SecretBytes> key = RandomSecret(Aead::KeySize(GetParam()));
    ASSERT_THAT(key, IsOk());
    Result<std::unique_ptr<Aead>> aead = Aead::New(GetParam(), *key);
    ASSERT_THAT(aead, IsOk());
    aead_ = std::move(aead).value();
  }
  std::unique_ptr<Aead> aead_;
  std::vector<uint8_t> nonce_ = std::vector<uint8_t>(12, 0x42);
};

TEST_P(AeadAllAlgorithmsTest, RoundTripAndInto) {
  std::vector<uint8_t> plaintext(1000, 0x61);
  std::vector<uint8_t> aad = {1, 2, 3};
  std::vector<uint8_t> sealed(plaintext.size() + Aead::kTagSize);
  ASSERT_THAT(aead_->SealInto(nonce_, plaintext, aad, sealed), IsOk());
  Result<std::vector<uint8_t>> sealed2 = aead_->Seal(nonce_, plaintext, aad);
  ASSERT_THAT(sealed2, IsOk());
  EXPECT_EQ(sealed, *sealed2);
  std::vector<uint8_t> opened(plaintext.size());
  ASSERT_THAT(aead_->OpenInto(nonce_, sealed, aad, opened), IsOk());
  EXPECT_EQ(opened, plaintext);
  std::span<const uint8_t> all(sealed);
  Result<std::vector<uint8_t>> detached =
      aead_->OpenDetached(nonce_, all.first(plaintext.size()), all.subspan(plaintext.size()), aad);
  ASSERT_THAT(detached, IsOk());
  EXPECT_EQ(*detached, plaintext);
  // Empty plaintext and AAD.
  Result<std::vector<uint8_t>> empty = aead_->Seal(nonce_, {}, {});
  ASSERT_THAT(empty, IsOk());
  EXPECT_EQ(empty->size(), Aead::kTagSize);
  EXPECT_THAT(aead_->Open(nonce_, *empty, {}), IsOk());
}

TEST_P(AeadAllAlgorithmsTest, TamperedFailsWithoutPartialOutput) {
  std::vector<uint8_t> plaintext(64, 0x61);
  Result<std::vector<uint8_t>> sealed = aead_->Seal(nonce_, plaintext, {});
  ASSERT_THAT(sealed, IsOk());
  for (size_t i : {size_t{0}, sealed->size() - 1}) {
    std::vector<uint8_t> bad = *sealed;
    bad[i] ^= 1;
    EXPECT_THAT(aead_->Open(nonce_, bad, {}), HasError(ErrorCode::kCryptoAeadOpenFailed));
    std::vector<uint8_t> out(plaintext.size(), 0xee);
    EXPECT_THAT(aead_->OpenInto(nonce_, bad, {}, out), HasError(ErrorCode::kCryptoAeadOpenFailed));
    EXPECT_THAT(out, Each(Eq(0)));  // Decrypted bytes were wiped.
  }
  std::vector<uint8_t> wrong_aad = {9};
  EXPECT_THAT(aead_->Open(nonce_, *sealed, wrong_aad), HasError(ErrorCode::kCryptoAeadOpenFailed));
  std::vector<uint8_t> other_nonce(12, 0x43);
  EXPECT_THAT(aead_->Open(other_nonce, *sealed, {}), HasError(ErrorCode::kCryptoAeadOpenFailed));
}

TEST_P(AeadAllAlgorithmsTest, BadNonceLength) {
  std::vector<uint8_t> nonce(8);
  EXPECT_THAT(aead_->Seal(nonce, {}, {}), HasError(ErrorCode::kCryptoBadNonceLength));
  EXPECT_THAT(aead_->Open(nonce, std::vector<uint8_t>(16), {}),
              HasError(ErrorCode::kCryptoBadNonceLength));
}

TEST_P(AeadAllAlgorithmsTest, CiphertextTooShort) {
  EXPECT_THAT(aead_->Open(nonce_, std::vector<uint8_t>(15), {}),
              HasError(ErrorCode::kCryptoCiphertextTooShort));
  std::vector<uint8_t> out;
  EXPECT_THAT(aead_->OpenInto(nonce_, std::vector<uint8_t>(3), {}, out),
              HasError(ErrorCode::kCryptoCiphertextTooShort));
}

TEST_P(AeadAllAlgorithmsTest, BadTagLength) {
  std::vector<uint8_t> tag(12);
  EXPECT_THAT(aead_->OpenDetached(nonce_, std::vector<uint8_t>(4), tag, {}),
              HasError(ErrorCode::kCryptoBadTagLength));
}

TEST_P(AeadAllAlgorithmsTest, WrongOutputSize) {
  std::vector<uint8_t> plaintext(10);
  std::vector<uint8_t> out(10, 0xee);  // Should be 26.
  EXPECT_THAT(aead_->SealInto(nonce_, plaintext, {}, out), HasError(ErrorCode::kInvalidArgument));
  EXPECT_THAT(out, Each(Eq(0)));
  std::vector<uint8_t> sealed(30);  // Opens to 14 bytes, not 10.
  EXPECT_THAT(aead_->OpenInto(nonce_, sealed, {}, out), HasError(ErrorCode::kInvalidArgument));
}

// The length limit is checked before any byte is read, so a reserved but inaccessible region
// stands in for a plaintext of 64 GiB (nothing is committed or touched).
TEST_P(AeadAllAlgorithmsTest, MessageTooLong) {
  const size_t size = size_t{1} << 39;  // Above both limits (2^36 - 32 and 2^38 - 64).
  void* region = mmap(nullptr, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  ASSERT_NE(region, MAP_FAILED);
  std::span<const uint8_t> huge(static_cast<const uint8_t*>(region), size);
  EXPECT_THAT(aead_->Seal(nonce_, huge, {}), HasError(ErrorCode::kCryptoMessageTooLong));
  EXPECT_THAT(aead_->Open(nonce_, huge, {}), HasError(ErrorCode::kCryptoMessageTooLong));
  munmap(region, size);
}

INSTANTIATE_TEST_SUITE_P(All, AeadAllAlgorithmsTest,
                         ::testing::Values(AeadAlgorithm::kChaCha20Poly1305,
                                           AeadAlgorithm::kAes128Gcm, AeadAlgorithm::kAes256Gcm));

// Wycheproof driver shared by the AES-GCM and ChaCha20-Poly1305 files. Our API supports
// exactly 12-byte nonces and 16-byte tags (and 128/256-bit AES keys); a case outside that is
// "unsupported" and must be refused with the specific code whatever its expected result:
//   key size not 16/32 (AES-192)   -> kCryptoBadKeyLength from Aead::New;
//   nonce not 12 bytes             -> kCryptoBadNonceLength from Seal and Open;
//   tag not 16 bytes (truncated)   -> kCryptoBadTagLength from OpenDetached.
// Supported "valid" cases must seal to exactly ct || tag and open to msg; supported "invalid"
// cases must fail to open with kCryptoAeadOpenFailed. Neither file has "acceptable" cases.
void RunAeadWycheproof(const std::string& file, bool is_aes) {
  nlohmann::json doc = testing::LoadWycheproof(file);
  int cases = 0;
  std::map<std::string, int> unsupported;
  for (const auto& group : doc.at("testGroups")) {
    testing::ExpectOnlyFields(group, {"type", "source", "ivSize", "keySize", "tagSize", "tests"});
    size_t key_bits = group.at("keySize").get<size_t>();
    for (const auto& test : group.at("tests")) {
      ++cases;
      SCOPED_TRACE(testing::CaseName(file, test));
      testing::ExpectOnlyFields(
          test, {"tcId", "comment", "flags", "key", "iv", "aad", "msg", "ct", "tag", "result"});
      std::vector<uint8_t> key = testing::HexField(test, "key");
      std::vector<uint8_t> iv = testing::HexField(test, "iv");
      std::vector<uint8_t> aad = testing::HexField(test, "aad");
      std::vector<uint8_t> msg = testing::HexField(test, "msg");
      std::vector<uint8_t> ct = testing::HexField(test, "ct");
      std::vector<uint8_t> tag = testing::HexField(test, "tag");
      testing::WycheproofResult expected = testing::ResultOf(test);
      ASSERT_NE(expected, testing::WycheproofResult::kAcceptable) << "no allowlisted flags";
      ASSERT_EQ(key.size() * 8, key_bits);
      AeadAlgorithm algorithm = AeadAlgorithm::kChaCha20Poly1305;
      if (is_aes) {
        algorithm = key.size() == 16 ? AeadAlgorithm::kAes128Gcm : AeadAlgorithm::kAes256Gcm;
      }
      Result<std::unique_ptr<Aead>> aead = Aead::New(algorithm, SecretBytes::CopyFrom(key));
      if (is_aes && key.size() != 16 && key.size() != 32) {
        EXPECT_THAT(aead, HasError(ErrorCode::kCryptoBadKeyLength));
        ++unsupported["key size"];
        continue;
      }
      ASSERT_THAT(aead, IsOk());
      if (iv.size() != Aead::kNonceSize) {
        EXPECT_THAT((*aead)->Seal(iv, msg, aad), HasError(ErrorCode::kCryptoBadNonceLength));
        EXPECT_THAT((*aead)->OpenDetached(iv, ct, tag, aad),
                    HasError(ErrorCode::kCryptoBadNonceLength));
        ++unsupported["nonce size"];
        continue;
      }
      if (tag.size() != Aead::kTagSize) {
        EXPECT_THAT((*aead)->OpenDetached(iv, ct, tag, aad),
                    HasError(ErrorCode::kCryptoBadTagLength));
        ++unsupported["tag size"];
        continue;
      }
      std::vector<uint8_t> ct_and_tag = ct;
      ct_and_tag.insert(ct_and_tag.end(), tag.begin(), tag.end());
      Result<std::vector<uint8_t>> opened = (*aead)->Open(iv, ct_and_tag, aad);
      if (expected == testing::WycheproofResult::kValid) {
        Result<std::vector<uint8_t>> sealed = (*aead)->Seal(iv, msg, aad);
        ASSERT_THAT(sealed, IsOk());
        EXPECT_EQ(HexEncode(*sealed), HexEncode(ct_and_tag));
        ASSERT_THAT(opened, IsOk());
        EXPECT_EQ(HexEncode(*opened), HexEncode(msg));
      } else {
        EXPECT_THAT(opened, HasError(ErrorCode::kCryptoAeadOpenFailed));
      }
    }
  }
  EXPECT_EQ(cases, doc.at("numberOfTests").get<int>());
  for (const auto& [reason, count] : unsupported) {
    std::cout << file << ": " << count << " cases refused as unsupported (" << reason << ")\n";
  }
}

TEST(AeadWycheproofTest, AesGcm) { RunAeadWycheproof("aes_gcm_test.json", /*is_aes=*/true); }

TEST(AeadWycheproofTest, ChaCha20Poly1305) {
  RunAeadWycheproof("chacha20_poly1305_test.json", /*is_aes=*/false);
}

}  // namespace
}  // namespace eml::crypto
