#include "crypto/rsa.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <cstring>

#include "common/check.h"
#include "crypto/internal/openssl_util.h"

namespace eml::crypto {
namespace {

// Large enough for an 8192-bit key in PKCS#8 with all CRT values, and some slack.
constexpr size_t kMaxPkcs8Size = 8 * 1024;

const EVP_MD* Mgf1Md(OaepMgf1Hash mgf1) {
  switch (mgf1) {
    case OaepMgf1Hash::kSha1:
      return internal::Sha1Md();
    case OaepMgf1Hash::kSha256:
      return internal::Sha256Md();
  }
  EML_CHECK(false);
  return nullptr;
}

// SetOaep configures an encrypt/decrypt context for OAEP with SHA-256 and `label`.
bool SetOaep(EVP_PKEY_CTX* ctx, OaepMgf1Hash mgf1, std::span<const uint8_t> label) {
  if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) != 1 ||
      EVP_PKEY_CTX_set_rsa_oaep_md(ctx, internal::Sha256Md()) != 1 ||
      EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, Mgf1Md(mgf1)) != 1) {
    return false;
  }
  if (label.empty()) {
    return true;
  }
  int label_len = 0;
  if (!internal::IntLength(label.size(), &label_len)) {
    return false;
  }
  // set0 takes ownership of an OPENSSL_malloc'ed copy.
  void* copy = OPENSSL_memdup(label.data(), label.size());
  if (copy == nullptr) {
    return false;
  }
  if (EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, copy, label_len) != 1) {
    OPENSSL_free(copy);
    return false;
  }
  return true;
}

}  // namespace

Result<RsaPrivateKey> RsaPrivateKey::FromPkcs8Der(const SecretBytes& pkcs8) {
  std::span<const uint8_t> der = pkcs8.Reveal(InsecureSecretAccess::Get());
  if (der.size() > kMaxPkcs8Size) {
    return Error{ErrorCode::kCryptoBadKey, "PKCS#8 too large"};
  }
  const unsigned char* p = der.data();
  internal::Pkcs8Ptr info(
      d2i_PKCS8_PRIV_KEY_INFO(nullptr, &p, static_cast<long>(der.size())));  // NOLINT
  if (info == nullptr || p != der.data() + der.size()) {
    return internal::OpenSslError(ErrorCode::kCryptoBadKey, "not DER PKCS#8");
  }
  internal::PkeyRef pkey(EVP_PKCS82PKEY(info.get()));
  if (!pkey || EVP_PKEY_get_base_id(pkey.get()) != EVP_PKEY_RSA) {
    return internal::OpenSslError(ErrorCode::kCryptoBadKey, "not an RSA key");
  }
  int bits = EVP_PKEY_get_bits(pkey.get());
  if (bits < kRsaMinModulusBits || bits > kRsaMaxModulusBits) {
    return Error{ErrorCode::kCryptoBadKeyLength, "RSA modulus size outside 2048..8192 bits"};
  }
  // The pairwise check confirms n, e, d and the CRT values belong together, so a corrupted key
  // cannot turn decryption into a fault oracle.
  internal::EvpPkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
  if (check == nullptr || EVP_PKEY_pairwise_check(check.get()) != 1) {
    return internal::OpenSslError(ErrorCode::kCryptoBadKey, "RSA key pair check failed");
  }
  return RsaPrivateKey(std::move(pkey));
}

Result<RsaPrivateKey> RsaPrivateKey::Generate(int bits) {
  if (bits < kRsaMinModulusBits || bits > kRsaMaxModulusBits || bits % 8 != 0) {
    return Error{ErrorCode::kInvalidArgument, "RSA size must be 2048..8192 bits, whole bytes"};
  }
  internal::EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
  EVP_PKEY* raw = nullptr;
  if (ctx == nullptr || EVP_PKEY_keygen_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), bits) != 1 ||
      EVP_PKEY_keygen(ctx.get(), &raw) != 1) {
    return internal::OpenSslError(ErrorCode::kCryptoLibraryFailure, "RSA key generation");
  }
  return RsaPrivateKey(internal::PkeyRef(raw));
}

Result<SecretBytes> RsaPrivateKey::DecryptOaepSha256(std::span<const uint8_t> ciphertext,
                                                     OaepMgf1Hash mgf1,
                                                     std::span<const uint8_t> label) const {
  internal::EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey_.get(), nullptr));
  if (ctx == nullptr || EVP_PKEY_decrypt_init(ctx.get()) != 1 || !SetOaep(ctx.get(), mgf1, label)) {
    return internal::OpenSslError(ErrorCode::kCryptoLibraryFailure, "RSA-OAEP setup");
  }
  SecretBytes buffer(static_cast<size_t>(EVP_PKEY_get_size(pkey_.get())));
  std::span<uint8_t> out = buffer.MutableReveal(InsecureSecretAccess::Get());
  size_t out_len = out.size();
  if (EVP_PKEY_decrypt(ctx.get(), out.data(), &out_len, internal::DataOrEmpty(ciphertext),
                       ciphertext.size()) != 1 ||
      out_len > out.size()) {
    // One code and no OpenSSL reason text for every failure: no padding oracle.
    internal::ClearOpenSslErrors();
    return Error{ErrorCode::kCryptoDecryptFailed, "RSA-OAEP decryption failed"};
  }
  return SecretBytes::CopyFrom(out.first(out_len));
}

Result<std::vector<uint8_t>> RsaPrivateKey::EncryptOaepSha256(
    std::span<const uint8_t> message, OaepMgf1Hash mgf1, std::span<const uint8_t> label) const {
  // RFC 8017 section 7.1.1: mLen <= k - 2*hLen - 2 with hLen = 32 (SHA-256).
  size_t k = static_cast<size_t>(EVP_PKEY_get_size(pkey_.get()));
  if (message.size() + 2 * 32 + 2 > k) {
    return Error{ErrorCode::kCryptoMessageTooLong, "message too long for RSA-OAEP"};
  }
  internal::EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey_.get(), nullptr));
  if (ctx == nullptr || EVP_PKEY_encrypt_init(ctx.get()) != 1 || !SetOaep(ctx.get(), mgf1, label)) {
    return internal::OpenSslError(ErrorCode::kCryptoLibraryFailure, "RSA-OAEP setup");
  }
  std::vector<uint8_t> out(k);
  size_t out_len = out.size();
  if (EVP_PKEY_encrypt(ctx.get(), out.data(), &out_len, internal::DataOrEmpty(message),
                       message.size()) != 1) {
    return internal::OpenSslError(ErrorCode::kCryptoLibraryFailure, "RSA-OAEP encrypt");
  }
  out.resize(out_len);
  return out;
}

std::vector<uint8_t> RsaPrivateKey::PublicKeySpkiDer() const {
  int len = i2d_PUBKEY(pkey_.get(), nullptr);
  EML_CHECK(len > 0);
  std::vector<uint8_t> out(static_cast<size_t>(len));
  unsigned char* p = out.data();
  EML_CHECK(i2d_PUBKEY(pkey_.get(), &p) == len);
  return out;
}

}  // namespace eml::crypto
