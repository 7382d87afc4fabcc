#include "crypto/x25519.h"

#include <openssl/crypto.h>

#include <algorithm>

#include "crypto/internal/openssl_util.h"
#include "crypto/random.h"

namespace eml::crypto {

Result<X25519PublicKey> X25519PublicKey::FromBytes(std::span<const uint8_t> bytes) {
  if (bytes.size() != kX25519KeySize) {
    return Error{ErrorCode::kCryptoBadKeyLength, "X25519 public key must be 32 bytes"};
  }
  std::array<uint8_t, kX25519KeySize> key;
  std::copy(bytes.begin(), bytes.end(), key.begin());
  return X25519PublicKey(key);
}

Result<X25519PrivateKey> X25519PrivateKey::Generate() {
  EML_ASSIGN_OR_RETURN(SecretBytes scalar, RandomSecret(kX25519KeySize));
  return FromBytes(scalar);
}

Result<X25519PrivateKey> X25519PrivateKey::FromBytes(const SecretBytes& scalar) {
  if (scalar.size() != kX25519KeySize) {
    return Error{ErrorCode::kCryptoBadKeyLength, "X25519 private key must be 32 bytes"};
  }
  std::span<const uint8_t> raw = scalar.Reveal(InsecureSecretAccess::Get());
  internal::PkeyRef pkey(
      EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, raw.data(), raw.size()));
  if (!pkey) {
    return internal::OpenSslError(ErrorCode::kCryptoLibraryFailure, "X25519 private key");
  }
  std::array<uint8_t, kX25519KeySize> pub;
  size_t pub_len = pub.size();
  if (EVP_PKEY_get_raw_public_key(pkey.get(), pub.data(), &pub_len) != 1 || pub_len != pub.size()) {
    return internal::OpenSslError(ErrorCode::kCryptoLibraryFailure, "X25519 public key");
  }
  return X25519PrivateKey(std::move(pkey), X25519PublicKey(pub));
}

SecretBytes X25519PrivateKey::ExportBytesForTest() const {
  SecretBytes out(kX25519KeySize);
  std::span<uint8_t> raw = out.MutableReveal(InsecureSecretAccess::Get());
  size_t len = raw.size();
  EML_CHECK(EVP_PKEY_get_raw_private_key(pkey_.get(), raw.data(), &len) == 1 &&
            len == kX25519KeySize);
  return out;
}

Result<SecretBytes> X25519PrivateKey::Agree(const X25519PublicKey& peer) const {
  internal::EvpPkeyPtr peer_key(EVP_PKEY_new_raw_public_key(
      EVP_PKEY_X25519, nullptr, peer.bytes().data(), peer.bytes().size()));
  if (peer_key == nullptr) {
    return internal::OpenSslError(ErrorCode::kCryptoLibraryFailure, "X25519 peer key");
  }
  internal::EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey_.get(), nullptr));
  if (ctx == nullptr || EVP_PKEY_derive_init(ctx.get()) != 1 ||
      EVP_PKEY_derive_set_peer(ctx.get(), peer_key.get()) != 1) {
    return internal::OpenSslError(ErrorCode::kCryptoLibraryFailure, "X25519 derive setup");
  }
  SecretBytes shared(kX25519KeySize);
  std::span<uint8_t> out = shared.MutableReveal(InsecureSecretAccess::Get());
  size_t out_len = out.size();
  // With a valid private key and a 32-byte peer value, OpenSSL's X25519 derivation fails only
  // when the result is all zeros (the peer is of low order), which it refuses to return.
  if (EVP_PKEY_derive(ctx.get(), out.data(), &out_len) != 1) {
    internal::ClearOpenSslErrors();
    return Error{ErrorCode::kCryptoAllZeroSharedSecret, "X25519 peer key is of low order"};
  }
  if (out_len != kX25519KeySize) {
    return Error{ErrorCode::kCryptoLibraryFailure, "X25519 derive returned a short secret"};
  }
  // Defense in depth in case a future OpenSSL stops refusing the zero output itself.
  static constexpr std::array<uint8_t, kX25519KeySize> kZeros{};
  if (CRYPTO_memcmp(out.data(), kZeros.data(), kZeros.size()) == 0) {
    return Error{ErrorCode::kCryptoAllZeroSharedSecret, "X25519 peer key is of low order"};
  }
  return shared;
}

}  // namespace eml::crypto
