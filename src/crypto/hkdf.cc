#include "crypto/hkdf.h"

#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <array>

#include "common/check.h"
#include "crypto/hmac.h"
#include "crypto/internal/openssl_util.h"

namespace eml::crypto {
namespace {

EVP_KDF* HkdfKdf() {
  static EVP_KDF* const kdf = [] {
    EVP_KDF* k = EVP_KDF_fetch(nullptr, OSSL_KDF_NAME_HKDF, nullptr);
    EML_CHECK(k != nullptr);
    return k;
  }();
  return kdf;
}

}  // namespace

SecretBytes HkdfSha256Extract(std::span<const uint8_t> salt, const SecretBytes& ikm) {
  // RFC 5869: PRK = HMAC-Hash(salt, IKM); an empty salt is HashLen zeros, which HMAC pads to
  // the same block as the empty key, so no special case is needed.
  SecretBytes salt_key = SecretBytes::CopyFrom(salt);
  std::array<uint8_t, kHmacSha256Size> prk =
      HmacSha256(salt_key, ikm.Reveal(InsecureSecretAccess::Get()));
  SecretBytes out = SecretBytes::CopyFrom(prk);
  OPENSSL_cleanse(prk.data(), prk.size());
  return out;
}

Result<SecretBytes> HkdfSha256Expand(const SecretBytes& prk, std::span<const uint8_t> info,
                                     size_t length) {
  if (length > kHkdfSha256MaxOutputSize) {
    return Error{ErrorCode::kCryptoOutputTooLong, "HKDF-SHA256 output limited to 8160 bytes"};
  }
  if (prk.size() < kHkdfSha256PrkSize) {
    return Error{ErrorCode::kCryptoBadKeyLength, "HKDF PRK shorter than 32 bytes"};
  }
  if (length == 0) {
    return SecretBytes();
  }
  internal::EvpKdfCtxPtr ctx(EVP_KDF_CTX_new(HkdfKdf()));
  if (ctx == nullptr) {
    return internal::OpenSslError(ErrorCode::kCryptoLibraryFailure, "EVP_KDF_CTX_new");
  }
  std::span<const uint8_t> prk_bytes = prk.Reveal(InsecureSecretAccess::Get());
  int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
  char digest_name[] = "SHA2-256";
  // OSSL_PARAM wants non-const pointers; OpenSSL only reads these buffers.
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode),
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest_name, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<uint8_t*>(prk_bytes.data()),
                                        prk_bytes.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
                                        const_cast<unsigned char*>(internal::DataOrEmpty(info)),
                                        info.size()),
      OSSL_PARAM_construct_end(),
  };
  SecretBytes out(length);
  std::span<uint8_t> out_bytes = out.MutableReveal(InsecureSecretAccess::Get());
  if (EVP_KDF_derive(ctx.get(), out_bytes.data(), out_bytes.size(), params) != 1) {
    return internal::OpenSslError(ErrorCode::kCryptoLibraryFailure, "HKDF expand");
  }
  return out;
}

Result<SecretBytes> HkdfSha256(std::span<const uint8_t> salt, const SecretBytes& ikm,
                               std::span<const uint8_t> info, size_t length) {
  if (length > kHkdfSha256MaxOutputSize) {
    return Error{ErrorCode::kCryptoOutputTooLong, "HKDF-SHA256 output limited to 8160 bytes"};
  }
  SecretBytes prk = HkdfSha256Extract(salt, ikm);
  return HkdfSha256Expand(prk, info, length);
}

}  // namespace eml::crypto
