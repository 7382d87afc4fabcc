#include "crypto/rsa.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/param_build.h>
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

// Largest DER SubjectPublicKeyInfo for an 8192-bit modulus and a 64-bit exponent, with slack.
constexpr size_t kMaxSpkiSize = 2048;
// Largest public exponent accepted, in bytes (65537 in practice).
constexpr size_t kMaxExponentBytes = 8;

using ParamBldPtr =
    std::unique_ptr<OSSL_PARAM_BLD, internal::Deleter<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free>>;
using ParamPtr = std::unique_ptr<OSSL_PARAM, internal::Deleter<OSSL_PARAM, OSSL_PARAM_free>>;

// CheckPublic enforces the modulus size range and an odd modulus and exponent (e >= 3) on
// `pkey`. OpenSSL's full public key check (SP 800-56B: a gcd of n with a primorial, about 1 ms
// per key) is not run: for signature verification it adds nothing, since whoever supplies the
// key could as well supply a well-formed one; OpenSSL's verify handles any n and e safely.
Status CheckPublic(EVP_PKEY* pkey) {
  if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA) {
    return Error{ErrorCode::kCryptoBadKey, "not an RSA key"};
  }
  int bits = EVP_PKEY_get_bits(pkey);
  if (bits < kRsaMinModulusBits || bits > kRsaMaxModulusBits) {
    return Error{ErrorCode::kCryptoBadKeyLength, "RSA modulus size outside 2048..8192 bits"};
  }
  BIGNUM* n_raw = nullptr;
  BIGNUM* e_raw = nullptr;
  const int n_ok = EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n_raw);
  const int e_ok = EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e_raw);
  internal::BignumPtr n(n_raw);
  internal::BignumPtr e(e_raw);
  if (n_ok != 1 || e_ok != 1) {
    return internal::OpenSslError(ErrorCode::kCryptoBadKey, "RSA key without n or e");
  }
  if (!BN_is_odd(n.get()) || !BN_is_odd(e.get()) || BN_is_one(e.get()) ||
      BN_num_bits(e.get()) > 64) {
    return Error{ErrorCode::kCryptoBadKey, "RSA n or e even, e below 3 or over 64 bits"};
  }
  return OkStatus();
}

}  // namespace

Result<RsaPublicKey> RsaPublicKey::FromSpkiDer(std::span<const uint8_t> spki) {
  if (spki.size() > kMaxSpkiSize) {
    return Error{ErrorCode::kCryptoBadKey, "SubjectPublicKeyInfo too large"};
  }
  const unsigned char* p = internal::DataOrEmpty(spki);
  internal::PkeyRef pkey(d2i_PUBKEY(nullptr, &p, static_cast<long>(spki.size())));  // NOLINT
  if (!pkey) {
    return internal::OpenSslError(ErrorCode::kCryptoBadKey, "not a DER SubjectPublicKeyInfo");
  }
  if (p != internal::DataOrEmpty(spki) + spki.size()) {
    return Error{ErrorCode::kCryptoBadKey, "trailing bytes after SubjectPublicKeyInfo"};
  }
  EML_RETURN_IF_ERROR(CheckPublic(pkey.get()));
  return RsaPublicKey(std::move(pkey));
}

Result<RsaPublicKey> RsaPublicKey::FromComponents(std::span<const uint8_t> modulus,
                                                  std::span<const uint8_t> exponent) {
  if (modulus.empty() || exponent.empty() || modulus.front() == 0 || exponent.front() == 0) {
    return Error{ErrorCode::kCryptoBadKey, "RSA n or e empty or not minimally encoded"};
  }
  if (modulus.size() > static_cast<size_t>(kRsaMaxModulusBits / 8)) {
    return Error{ErrorCode::kCryptoBadKeyLength, "RSA modulus over 8192 bits"};
  }
  if (exponent.size() > kMaxExponentBytes || (exponent.back() & 1) == 0 ||
      (exponent.size() == 1 && exponent.front() < 3)) {
    return Error{ErrorCode::kCryptoBadKey, "RSA public exponent even, below 3 or over 64 bits"};
  }
  int n_len = 0;
  int e_len = 0;
  EML_CHECK(internal::IntLength(modulus.size(), &n_len) &&
            internal::IntLength(exponent.size(), &e_len));
  internal::BignumPtr n(BN_bin2bn(modulus.data(), n_len, nullptr));
  internal::BignumPtr e(BN_bin2bn(exponent.data(), e_len, nullptr));
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (n == nullptr || e == nullptr || bld == nullptr ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e.get()) != 1) {
    return internal::OpenSslError(ErrorCode::kCryptoLibraryFailure, "RSA parameter build");
  }
  ParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
  internal::EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
  EVP_PKEY* raw = nullptr;
  if (params == nullptr || ctx == nullptr || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return internal::OpenSslError(ErrorCode::kCryptoBadKey, "RSA key from n and e");
  }
  internal::PkeyRef pkey(raw);
  EML_RETURN_IF_ERROR(CheckPublic(pkey.get()));
  return RsaPublicKey(std::move(pkey));
}

int RsaPublicKey::modulus_bits() const { return EVP_PKEY_get_bits(pkey_.get()); }

std::vector<uint8_t> RsaPublicKey::SpkiDer() const {
  int len = i2d_PUBKEY(pkey_.get(), nullptr);
  EML_CHECK(len > 0);
  std::vector<uint8_t> out(static_cast<size_t>(len));
  unsigned char* p = out.data();
  EML_CHECK(i2d_PUBKEY(pkey_.get(), &p) == len);
  return out;
}

Status RsaPublicKey::VerifyPkcs1Sha256(std::span<const uint8_t> message,
                                       std::span<const uint8_t> signature) const {
  if (signature.size() != static_cast<size_t>(EVP_PKEY_get_size(pkey_.get()))) {
    return Error{ErrorCode::kCryptoBadSignatureLength, "RSA signature is not modulus-sized"};
  }
  internal::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;  // Owned by ctx.
  if (ctx == nullptr ||
      EVP_DigestVerifyInit_ex(ctx.get(), &pctx, "SHA256", nullptr, nullptr, pkey_.get(), nullptr) !=
          1 ||
      EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) {
    return internal::OpenSslError(ErrorCode::kCryptoLibraryFailure, "RSA verify init");
  }
  int rc = EVP_DigestVerify(ctx.get(), signature.data(), signature.size(),
                            internal::DataOrEmpty(message), message.size());
  internal::ClearOpenSslErrors();
  if (rc != 1) {
    return Error{ErrorCode::kCryptoSignatureInvalid, "RSA PKCS#1 v1.5 signature does not verify"};
  }
  return OkStatus();
}

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

Result<std::vector<uint8_t>> RsaPrivateKey::SignPkcs1Sha256(
    std::span<const uint8_t> message) const {
  internal::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;  // Owned by ctx.
  std::vector<uint8_t> out(static_cast<size_t>(EVP_PKEY_get_size(pkey_.get())));
  size_t out_len = out.size();
  if (ctx == nullptr ||
      EVP_DigestSignInit_ex(ctx.get(), &pctx, "SHA256", nullptr, nullptr, pkey_.get(), nullptr) !=
          1 ||
      EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1 ||
      EVP_DigestSign(ctx.get(), out.data(), &out_len, internal::DataOrEmpty(message),
                     message.size()) != 1 ||
      out_len != out.size()) {
    return internal::OpenSslError(ErrorCode::kCryptoLibraryFailure, "RSA PKCS#1 v1.5 sign");
  }
  return out;
}

}  // namespace eml::crypto
