#include "crypto/hmac.h"

#include <openssl/hmac.h>

#include "common/check.h"
#include "crypto/internal/openssl_util.h"

namespace eml::crypto {

std::array<uint8_t, kHmacSha256Size> HmacSha256(const SecretBytes& key,
                                                std::span<const uint8_t> data) {
  std::span<const uint8_t> key_bytes = key.Reveal(InsecureSecretAccess::Get());
  int key_len = 0;
  // Keys longer than INT_MAX bytes cannot come from anywhere sensible; treat as a bug.
  EML_CHECK(internal::IntLength(key_bytes.size(), &key_len));
  std::array<uint8_t, kHmacSha256Size> out;
  unsigned int out_len = 0;
  EML_CHECK(HMAC(internal::Sha256Md(), internal::DataOrEmpty(key_bytes), key_len,
                 internal::DataOrEmpty(data), data.size(), out.data(), &out_len) != nullptr);
  EML_CHECK(out_len == kHmacSha256Size);
  return out;
}

}  // namespace eml::crypto
