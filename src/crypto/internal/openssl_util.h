#pragma once
// Private helpers for src/crypto: unique_ptr aliases with OpenSSL deleters, prefetched
// algorithms, and conversion of OpenSSL failures into eml::Error. Included only by src/crypto.
//
// Thread safety: all functions are safe from any thread (the algorithm fetches happen once,
// under C++ static-initialization guarantees).

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/x509.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "common/error.h"

namespace eml::crypto::internal {

template <typename T, void (*kFree)(T*)>
struct Deleter {
  void operator()(T* p) const { kFree(p); }
};

using BignumPtr = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>>;
using BnCtxPtr = std::unique_ptr<BN_CTX, Deleter<BN_CTX, BN_CTX_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, Deleter<ECDSA_SIG, ECDSA_SIG_free>>;
using EvpCipherCtxPtr =
    std::unique_ptr<EVP_CIPHER_CTX, Deleter<EVP_CIPHER_CTX, EVP_CIPHER_CTX_free>>;
using EvpMdCtxPtr = std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX, EVP_MD_CTX_free>>;
using EvpPkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX, EVP_PKEY_CTX_free>>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using EvpKdfCtxPtr = std::unique_ptr<EVP_KDF_CTX, Deleter<EVP_KDF_CTX, EVP_KDF_CTX_free>>;
using Pkcs8Ptr =
    std::unique_ptr<PKCS8_PRIV_KEY_INFO, Deleter<PKCS8_PRIV_KEY_INFO, PKCS8_PRIV_KEY_INFO_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using X509CrlPtr = std::unique_ptr<X509_CRL, Deleter<X509_CRL, X509_CRL_free>>;
using X509StorePtr = std::unique_ptr<X509_STORE, Deleter<X509_STORE, X509_STORE_free>>;
using X509StoreCtxPtr =
    std::unique_ptr<X509_STORE_CTX, Deleter<X509_STORE_CTX, X509_STORE_CTX_free>>;

// Prefetched message digests and ciphers (explicit fetches avoid a provider lookup per call).
const EVP_MD* Sha1Md();
const EVP_MD* Sha256Md();
const EVP_MD* Sha384Md();
const EVP_MD* Sha512Md();

// OpenSslError returns `code` with `what` and the (non-secret) OpenSSL reason in the detail,
// and clears the thread's OpenSSL error queue.
Error OpenSslError(ErrorCode code, std::string_view what);

// ClearOpenSslErrors empties the thread's error queue after an expected failure.
void ClearOpenSslErrors();

// IntLength converts a size to int for OpenSSL calls; false if it does not fit.
[[nodiscard]] bool IntLength(size_t size, int* out);

// Data pointers for OpenSSL calls that take (pointer, length); never null, so that OpenSSL
// functions that reject NULL with length 0 accept empty inputs.
const unsigned char* DataOrEmpty(std::span<const uint8_t> bytes);

}  // namespace eml::crypto::internal
