#include "enclave/kms_key_source.h"

#include <chrono>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "crypto/hash.h"
#include "crypto/rsa.h"
#include "keys/kms/cms_unwrap.h"
#include "keys/kms/key_file.h"
#include "keys/kms/kms_messages.h"

namespace eml::enclave {
namespace {

constexpr int kRecipientKeyBits = 2048;

uint64_t MicrosSince(std::chrono::steady_clock::time_point start) {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                   std::chrono::steady_clock::now() - start)
                                   .count());
}

Error Mismatch(std::string detail) {
  return Error{ErrorCode::kKmsKeyFileMismatch, std::move(detail)};
}

// FetchKeyFile reads kms-key.json from the store and checks it against the signed manifest.
Result<keys::kms::KmsKeyFile> FetchKeyFile(model::ModelStore& store,
                                           const model::VerifiedManifest& verified,
                                           const std::string& arn) {
  const model::Manifest& m = verified.manifest();
  const model::ManifestFile* entry = verified.Find(keys::kms::kKmsKeyFileName);
  if (entry == nullptr || entry->role != model::kRoleKeyWrap || entry->encryption.has_value() ||
      entry->size > keys::kms::kMaxKmsKeyFileBytes) {
    return Mismatch("the manifest lists no plain key-wrap kms-key.json of at most " +
                    std::to_string(keys::kms::kMaxKmsKeyFileBytes) + " bytes");
  }
  EML_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes,
                       store.Fetch(m.model_id, m.version, keys::kms::kKmsKeyFileName,
                                   keys::kms::kMaxKmsKeyFileBytes));
  if (bytes.size() != entry->size ||
      !ConstantTimeEquals(crypto::Sha256(bytes), std::span<const uint8_t>(entry->sha256))) {
    return Mismatch("kms-key.json differs from the signed manifest (size or SHA-256)");
  }
  EML_ASSIGN_OR_RETURN(keys::kms::KmsKeyFile file, keys::kms::ParseKmsKeyFile(bytes));
  if (file.key_arn != arn) {
    return Mismatch("kms-key.json names another key than the manifest's key_id");
  }
  return file;
}

}  // namespace

Result<SecretBytes> KmsDataKeySource::DataKey(const model::VerifiedManifest& manifest) {
  timings_ = {};
  EML_ASSIGN_OR_RETURN(std::string arn, keys::kms::KeyArnFromKeyId(manifest.manifest().key_id));
  EML_ASSIGN_OR_RETURN(keys::kms::KmsKeyFile file, FetchKeyFile(*store_, manifest, arn));

  const auto attest_start = std::chrono::steady_clock::now();
  EML_ASSIGN_OR_RETURN(crypto::RsaPrivateKey recipient_key,
                       crypto::RsaPrivateKey::Generate(kRecipientKeyBits));
  const std::vector<uint8_t> spki = recipient_key.PublicKeySpkiDer();
  EML_ASSIGN_OR_RETURN(std::vector<uint8_t> document,
                       evidence_->Attest(std::span<const uint8_t>(spki), std::nullopt, {}));
  timings_.attest_us = MicrosSince(attest_start);

  const auto release_start = std::chrono::steady_clock::now();
  EML_ASSIGN_OR_RETURN(keys::kms::KmsClientOptions client_options,
                       options_.client_options ? options_.client_options(arn)
                                               : keys::kms::OptionsFromEnvironment(arn));
  client_options.proxy = options_.proxy;
  EML_ASSIGN_OR_RETURN(std::unique_ptr<keys::kms::KmsClient> client,
                       keys::kms::KmsClient::Create(std::move(client_options)));
  const keys::kms::Recipient recipient{std::move(document)};
  EML_ASSIGN_OR_RETURN(SecretBytes key, keys::kms::DecryptToEnclave(*client, file.ciphertext_blob,
                                                                    arn, recipient, recipient_key));
  timings_.release_us = MicrosSince(release_start);
  if (key.size() != keys::kms::kAes256DataKeySize) {
    return Error{ErrorCode::kKmsBadResponse, "the KMS plaintext is not a 32-byte data key"};
  }
  return key;
}

}  // namespace eml::enclave
