// Fuzz target keys_kms_cms: eml::keys::kms::ParseEnvelopedData and UnwrapCiphertextForRecipient
// on arbitrary bytes (the CiphertextForRecipient field a host could forge). Properties: never
// crashes; parsing fails only with kCmsMalformed / kCmsBadAlgorithm; a parsed message has a
// non-empty encrypted key and content; unwrapping with a fixed RSA-2048 key fails only with CMS
// codes, and exactly as parsing does when parsing fails.

#include <cstddef>
#include <cstdint>
#include <span>

#include "common/check.h"
#include "common/error.h"
#include "crypto/rsa.h"
#include "keys/kms/cms_unwrap.h"

namespace {

bool IsCmsCode(eml::ErrorCode code) {
  return code == eml::ErrorCode::kCmsMalformed || code == eml::ErrorCode::kCmsBadAlgorithm ||
         code == eml::ErrorCode::kCmsWrongRecipient || code == eml::ErrorCode::kCmsDecryptFailed;
}

const eml::crypto::RsaPrivateKey& FixedKey() {
  static const eml::crypto::RsaPrivateKey* key =
      new eml::crypto::RsaPrivateKey(eml::crypto::RsaPrivateKey::Generate(2048).value());
  return *key;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> input(data, size);
  auto parsed = eml::keys::kms::ParseEnvelopedData(input);
  if (!parsed.has_value()) {
    EML_CHECK(parsed.code() == eml::ErrorCode::kCmsMalformed ||
              parsed.code() == eml::ErrorCode::kCmsBadAlgorithm);
  } else {
    EML_CHECK(!parsed->encrypted_key.empty());
    EML_CHECK(!parsed->encrypted_content.empty());
  }
  auto plain = eml::keys::kms::UnwrapCiphertextForRecipient(input, FixedKey());
  if (!plain.has_value()) {
    EML_CHECK(IsCmsCode(plain.code()));
    if (!parsed.has_value()) {
      EML_CHECK(plain.code() == parsed.code());
    }
  } else {
    EML_CHECK(parsed.has_value());
  }
  return 0;
}
