// Fuzz target keys_kms_key_file: ParseKmsKeyFile on arbitrary bytes (a kms-key.json forged by a
// store or host). Properties: never crashes; fails only with kKmsKeyFileMalformed; whatever
// parses re-serializes to exactly the input bytes (one canonical spelling), with a non-empty
// blob of at most kMaxCiphertextBlobBytes and an ARN that ValidateKeyArn accepts.

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "common/check.h"
#include "common/error.h"
#include "keys/kms/key_file.h"
#include "keys/kms/kms_messages.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> bytes(data, size);
  auto parsed = eml::keys::kms::ParseKmsKeyFile(bytes);
  if (!parsed.has_value()) {
    EML_CHECK(parsed.code() == eml::ErrorCode::kKmsKeyFileMalformed);
    return 0;
  }
  EML_CHECK(!parsed->ciphertext_blob.empty() &&
            parsed->ciphertext_blob.size() <= eml::keys::kms::kMaxCiphertextBlobBytes);
  EML_CHECK(eml::keys::kms::ValidateKeyArn(parsed->key_arn).has_value());
  auto again = eml::keys::kms::SerializeKmsKeyFile(*parsed);
  EML_CHECK(again.has_value());
  EML_CHECK(std::vector<uint8_t>(bytes.begin(), bytes.end()) == *again);
  return 0;
}
