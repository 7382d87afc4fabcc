#include "model/manifest.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/encoding.h"
#include "testing/test_util.h"

namespace eml::model {
namespace {

using ::eml::testing::HasError;
using ::eml::testing::IsOk;

Sha256Digest Digest(uint8_t fill) {
  Sha256Digest d{};
  d.fill(fill);
  return d;
}

crypto::Ed25519PrivateKey Key(uint8_t fill) {
  return *crypto::Ed25519PrivateKey::FromSeed(
      SecretBytes::CopyFrom(std::vector<uint8_t>(32, fill)));
}

Manifest Sample() {
  Manifest m;
  m.model_id = "minilm-l6-v2";
  m.version = "1.0.0";
  m.architecture = "bert";
  m.format = "safetensors";
  ManifestFile config{"config.json", "config", 612, Digest(0x11), std::nullopt};
  ManifestFile weights{"model.safetensors", "weights", 1000, Digest(0x22), FileEncryption{}};
  weights.encryption->segment_size = 64;
  weights.encryption->file_id.fill(0xab);
  weights.encryption->encrypted_size = 68 + 1000 + 16 * 16;
  weights.encryption->encrypted_sha256 = Digest(0x33);
  m.files = {config, weights};
  m.model_hash = Digest(0x22);
  m.model_hash_scheme = "sha256-single";
  m.key_id = "dek-00112233";
  m.created_at = "2026-11-21T08:00:00Z";
  m.signer_key_id = SignerKeyId(Key(1).public_key());
  return m;
}

std::string Text(const Manifest& m) {
  Result<std::vector<uint8_t>> bytes = SerializeManifest(m);
  EXPECT_THAT(bytes, IsOk());
  return bytes.has_value() ? std::string(bytes->begin(), bytes->end()) : "";
}

Result<Manifest> ParseText(const std::string& text, ManifestLimits limits = {}) {
  return ParseManifest(AsBytes(text), limits);
}

// Replace swaps the first occurrence of `from` (which must exist) in the sample's text.
std::string Edited(const std::string& from, const std::string& to) {
  std::string text = Text(Sample());
  const size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) {
    text.replace(at, from.size(), to);
  }
  return text;
}

TEST(ManifestTest, CanonicalBytesArePinned) {
  const std::string text = Text(Sample());
  // Sorted keys, no whitespace, null for a plain file, integers as digits.
  EXPECT_EQ(
      text.rfind(R"({"architecture":"bert","created_at":"2026-11-21T08:00:00Z","files":[)", 0), 0u)
      << text;
  EXPECT_NE(text.find(R"("encryption":null,"name":"config.json","role":"config")"),
            std::string::npos);
  EXPECT_NE(text.find(R"("encrypted_size":1324,"file_id":"abababababababababababababababab",)"
                      R"("scheme":"eml-stream-v1","segment_size":64})"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(R"("model_hash_scheme":"sha256-single","model_id":"minilm-l6-v2",)"
                      R"("schema_version":1,"signer_key_id":"ed25519:)"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.back(), '}');
}

TEST(ManifestTest, RoundTrip) {
  const std::string text = Text(Sample());
  Result<Manifest> m = ParseText(text);
  ASSERT_THAT(m, IsOk());
  EXPECT_EQ(Text(*m), text);
  EXPECT_EQ(m->files[1].encryption->segment_size, 64u);
  EXPECT_FALSE(m->files[0].encryption.has_value());
  EXPECT_EQ(StoredPath(m->files[1]), "model.safetensors.enc");
}

TEST(ManifestTest, SignAndVerify) {
  const crypto::Ed25519PrivateKey key = Key(1);
  Result<SignedManifest> s = SignManifest(Sample(), key);
  ASSERT_THAT(s, IsOk());
  Result<VerifiedManifest> v =
      VerifiedManifest::Verify(s->manifest_json, s->signature, key.public_key());
  ASSERT_THAT(v, IsOk());
  EXPECT_EQ(v->manifest().model_id, "minilm-l6-v2");
  EXPECT_NE(v->Find("model.safetensors"), nullptr);
  EXPECT_EQ(v->Find("nope"), nullptr);
  // The signature file form parses back.
  Result<std::array<uint8_t, 64>> sig = ParseSignatureFile(SignatureFileBytes(s->signature));
  ASSERT_THAT(sig, IsOk());
  EXPECT_EQ(*sig, s->signature);
}

TEST(ManifestTest, EditedManifestFailsSignature) {
  const crypto::Ed25519PrivateKey key = Key(1);
  Result<SignedManifest> s = SignManifest(Sample(), key);
  ASSERT_THAT(s, IsOk());
  std::vector<uint8_t> edited = s->manifest_json;
  const std::string text(edited.begin(), edited.end());
  edited[text.find("1.0.0")] = '2';
  EXPECT_THAT(VerifiedManifest::Verify(edited, s->signature, key.public_key()),
              HasError(ErrorCode::kManifestSignatureInvalid));
  EXPECT_THAT(VerifiedManifest::Verify(s->manifest_json, s->signature, Key(2).public_key()),
              HasError(ErrorCode::kManifestSignatureInvalid));
}

TEST(ManifestTest, SignerMismatch) {
  // Signed by key 1 but naming key 2 as the signer.
  Manifest m = Sample();
  m.signer_key_id = SignerKeyId(Key(2).public_key());
  const std::vector<uint8_t> bytes = *SerializeManifest(m);
  const crypto::Ed25519PrivateKey key = Key(1);
  EXPECT_THAT(VerifiedManifest::Verify(bytes, key.Sign(bytes), key.public_key()),
              HasError(ErrorCode::kManifestSignerMismatch));
}

TEST(ManifestTest, MalformedSignatureFile) {
  for (const std::string& text :
       {std::string(127, 'a'), std::string(128, 'A'), std::string(128, 'a') + "\n\n",
        std::string(130, '0'), std::string()}) {
    EXPECT_THAT(ParseSignatureFile(AsBytes(text)),
                HasError(ErrorCode::kManifestMalformedSignature));
  }
  EXPECT_THAT(ParseSignatureFile(AsBytes(std::string(128, 'a'))), IsOk());
}

TEST(ManifestTest, NonCanonicalOrBadJson) {
  const std::string text = Text(Sample());
  EXPECT_THAT(ParseText(text + "\n"), HasError(ErrorCode::kManifestNonCanonical));
  EXPECT_THAT(ParseText(Edited(R"("size":612)", R"("size":612.0)")),
              HasError(ErrorCode::kManifestNonCanonical));
  EXPECT_THAT(ParseText(Edited(R"("size":612)", R"("size":0612)")),
              HasError(ErrorCode::kManifestBadJson));
  EXPECT_THAT(ParseText(text.substr(0, text.size() - 1)), HasError(ErrorCode::kManifestBadJson));
  EXPECT_THAT(ParseText(Edited(R"({"architecture":"bert",)",
                               R"({"architecture":"bert","architecture":"bert",)")),
              HasError(ErrorCode::kManifestDuplicateKey));
}

TEST(ManifestTest, UnknownFields) {
  EXPECT_THAT(ParseText(Edited(R"("version":"1.0.0")", R"("version":"1.0.0","zzz":1)")),
              HasError(ErrorCode::kManifestUnknownField));
  EXPECT_THAT(ParseText(Edited(R"("segment_size":64})", R"("segment_size":64,"zzz":0})")),
              HasError(ErrorCode::kManifestUnknownField));
  EXPECT_THAT(ParseText(Edited(R"("size":612})", R"("size":612,"zzz":0})")),
              HasError(ErrorCode::kManifestUnknownField));
}

TEST(ManifestTest, MissingFields) {
  EXPECT_THAT(ParseText(Edited(R"("architecture":"bert",)", "")),
              HasError(ErrorCode::kManifestMissingField));
  EXPECT_THAT(ParseText(Edited(R"("encryption":null,)", "")),
              HasError(ErrorCode::kManifestMissingField));
  EXPECT_THAT(ParseText(Edited(R"("encrypted_size":1324,)", "")),
              HasError(ErrorCode::kManifestMissingField));
}

TEST(ManifestTest, BadFields) {
  EXPECT_THAT(ParseText(Edited(R"("size":612)", R"("size":"612")")),
              HasError(ErrorCode::kManifestBadField));
  EXPECT_THAT(ParseText(Edited(R"("encryption":null)", R"("encryption":"none")")),
              HasError(ErrorCode::kManifestBadField));
  EXPECT_THAT(ParseText(Edited(R"("role":"config")", R"("role":"secret")")),
              HasError(ErrorCode::kManifestBadField));
  EXPECT_THAT(ParseText(Edited(R"("version":"1.0.0")", R"("version":"../x")")),
              HasError(ErrorCode::kManifestBadField));
  EXPECT_THAT(ParseText(Edited("2026-11-21T08:00:00Z", "2026-13-21T08:00:00Z")),
              HasError(ErrorCode::kManifestBadField));
  EXPECT_THAT(ParseText(Edited(R"("key_id":"dek-00112233")", R"("key_id":"a b")")),
              HasError(ErrorCode::kManifestBadField));
  EXPECT_THAT(ParseText(Edited("ed25519:", "rsa:")), HasError(ErrorCode::kManifestBadField));
  EXPECT_THAT(ParseText(Edited("abababababababababababababababab", "abab")),
              HasError(ErrorCode::kManifestBadField));
  Manifest m = Sample();
  m.files.clear();
  EXPECT_THAT(SerializeManifest(m), HasError(ErrorCode::kManifestBadField));
}

TEST(ManifestTest, KeyWrapFilesAreStoredPlain) {
  Manifest m = Sample();
  // Names sort: config.json, kms-key.json, model.safetensors.
  m.files.insert(m.files.begin() + 1, ManifestFile{"kms-key.json", std::string(kRoleKeyWrap), 90,
                                                   Digest(0x44), std::nullopt});
  const std::string text = Text(m);
  EXPECT_NE(text.find(R"("name":"kms-key.json","role":"key-wrap")"), std::string::npos) << text;
  EXPECT_THAT(ParseText(text), IsOk());
  m.files[1].encryption = m.files[2].encryption;
  EXPECT_THAT(SerializeManifest(m), HasError(ErrorCode::kManifestBadField));
}

TEST(ManifestTest, BadHashes) {
  EXPECT_THAT(ParseText(Edited(std::string(64, '1'), std::string(64, 'A'))),
              HasError(ErrorCode::kManifestBadHash));
  EXPECT_THAT(ParseText(Edited(std::string(64, '1'), std::string(63, '1'))),
              HasError(ErrorCode::kManifestBadHash));
  // model_hash must be the single weights file's sha256.
  Manifest m = Sample();
  m.model_hash = Digest(0x99);
  EXPECT_THAT(SerializeManifest(m), HasError(ErrorCode::kManifestBadHash));
}

TEST(ManifestTest, BadSizes) {
  EXPECT_THAT(ParseText(Edited(R"("encrypted_size":1324)", R"("encrypted_size":1323)")),
              HasError(ErrorCode::kManifestBadSize));
  EXPECT_THAT(ParseText(Edited(R"("segment_size":64)", R"("segment_size":63)")),
              HasError(ErrorCode::kManifestBadSize));
}

TEST(ManifestTest, UnsupportedVersionAndSchemes) {
  EXPECT_THAT(ParseText(Edited(R"("schema_version":1)", R"("schema_version":2)")),
              HasError(ErrorCode::kManifestUnsupportedVersion));
  EXPECT_THAT(ParseText(Edited(R"("scheme":"eml-stream-v1")", R"("scheme":"aes-gcm")")),
              HasError(ErrorCode::kManifestUnsupportedScheme));
  EXPECT_THAT(ParseText(Edited("sha256-single", "sha3-single")),
              HasError(ErrorCode::kManifestUnsupportedScheme));
}

TEST(ManifestTest, TooLarge) {
  ManifestLimits limits;
  limits.max_files = 1;
  EXPECT_THAT(ParseText(Text(Sample()), limits), HasError(ErrorCode::kManifestTooLarge));
  limits = {};
  limits.max_bytes = 100;
  EXPECT_THAT(ParseText(Text(Sample()), limits), HasError(ErrorCode::kManifestTooLarge));
}

TEST(ManifestTest, BadFileNames) {
  for (const std::string name :
       {"../config.json", "/etc/passwd", "a//b", "a/./b", "sp ace", "manifest.json", ""}) {
    Manifest m = Sample();
    m.files[0].name = name;
    EXPECT_THAT(SerializeManifest(m), HasError(ErrorCode::kManifestBadFileName)) << name;
  }
  Manifest m = Sample();
  m.files[0].name = "1_Pooling/config.json";
  EXPECT_THAT(SerializeManifest(m), IsOk());
}

TEST(ManifestTest, DuplicateFiles) {
  Manifest m = Sample();
  m.files[0].name = "model.safetensors";
  EXPECT_THAT(SerializeManifest(m), HasError(ErrorCode::kManifestDuplicateFile));
  // A plain file named like another's encrypted form.
  m = Sample();
  m.files.push_back(m.files[0]);
  m.files.back().name = "model.safetensors.enc";
  EXPECT_THAT(SerializeManifest(m), HasError(ErrorCode::kManifestDuplicateFile));
  // Files out of name order.
  m = Sample();
  std::swap(m.files[0], m.files[1]);
  EXPECT_THAT(SerializeManifest(m), HasError(ErrorCode::kManifestDuplicateFile));
}

}  // namespace
}  // namespace eml::model
