// Fuzz target keys_kms_response: the KMS JSON reply parsers of eml::keys::kms on arbitrary
// bytes (a forged KMS reply). Properties: never crashes or throws; every parser fails only with
// kKmsBadResponse; a parsed GenerateDataKey reply has a non-empty blob and either a 32-byte
// plaintext (no Recipient) or CiphertextForRecipient (Recipient), never both; ErrorType returns
// at most 128 printable ASCII characters and MapErrorType maps it to a KMS or AWS code.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "common/check.h"
#include "common/error.h"
#include "keys/kms/kms_messages.h"

namespace {

using eml::ErrorCode;

void CheckParseError(ErrorCode code) { EML_CHECK(code == ErrorCode::kKmsBadResponse); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> body(data, size);
  for (bool recipient : {false, true}) {
    auto key = eml::keys::kms::ParseGenerateDataKeyResponse(body, recipient);
    if (key.has_value()) {
      EML_CHECK(!key->ciphertext_blob.empty());
      EML_CHECK(!key->key_id.empty());
      if (recipient) {
        EML_CHECK(key->plaintext.empty() && !key->ciphertext_for_recipient.empty());
      } else {
        EML_CHECK(key->plaintext.size() == eml::keys::kms::kAes256DataKeySize &&
                  key->ciphertext_for_recipient.empty());
      }
    } else {
      CheckParseError(key.code());
    }
    auto decrypted = eml::keys::kms::ParseDecryptResponse(body, recipient);
    if (decrypted.has_value()) {
      EML_CHECK(recipient == decrypted->plaintext.empty());
      EML_CHECK(recipient != decrypted->ciphertext_for_recipient.empty());
    } else {
      CheckParseError(decrypted.code());
    }
  }
  auto encrypted = eml::keys::kms::ParseEncryptResponse(body);
  if (!encrypted.has_value()) {
    CheckParseError(encrypted.code());
  }
  auto arn = eml::keys::kms::ParseCreateKeyResponse(body);
  if (!arn.has_value()) {
    CheckParseError(arn.code());
  }
  std::string type = eml::keys::kms::ErrorType(body, nullptr);
  EML_CHECK(type.size() <= 128);
  for (char c : type) {
    EML_CHECK(c >= 0x20 && c <= 0x7e);
  }
  ErrorCode mapped = eml::keys::kms::MapErrorType(400, type).code;
  EML_CHECK(mapped == ErrorCode::kKmsAccessDenied || mapped == ErrorCode::kKmsNotFound ||
            mapped == ErrorCode::kKmsInvalidState || mapped == ErrorCode::kKmsInvalidCiphertext ||
            mapped == ErrorCode::kAwsAuthFailed || mapped == ErrorCode::kKmsUnavailable ||
            mapped == ErrorCode::kKmsRequestRejected);
  return 0;
}
