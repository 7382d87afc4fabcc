#pragma once
// X25519 Diffie-Hellman (RFC 7748). Public keys are 32-byte u-coordinates; as RFC 7748 asks,
// the top bit is ignored and non-canonical values (u >= p) are accepted and used reduced.
// Agreement with a low-order peer key yields the all-zero secret, which Agree refuses.
//
// Posture: X25519PublicKey::FromBytes takes peer-supplied bytes; it only checks the length.
//
// Thread safety: keys are immutable after creation; use them from any number of threads.
// Public keys are copyable values; private keys are move-only.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>

#include "common/check.h"
#include "common/result.h"
#include "common/secret_bytes.h"
#include "crypto/openssl_handle.h"

namespace eml::crypto {

inline constexpr size_t kX25519KeySize = 32;

class X25519PublicKey {
 public:
  // FromBytes wraps a 32-byte u-coordinate. Errors: kCryptoBadKeyLength.
  static Result<X25519PublicKey> FromBytes(std::span<const uint8_t> bytes);

  // bytes returns the encoding exactly as given to FromBytes.
  const std::array<uint8_t, kX25519KeySize>& bytes() const EML_LIFETIME_BOUND { return bytes_; }

 private:
  explicit X25519PublicKey(const std::array<uint8_t, kX25519KeySize>& bytes) : bytes_(bytes) {}
  friend class X25519PrivateKey;

  std::array<uint8_t, kX25519KeySize> bytes_;
};

class X25519PrivateKey {
 public:
  // Generate makes a fresh key from the CSPRNG. Errors: kCryptoRandomFailed.
  static Result<X25519PrivateKey> Generate();
  // FromBytes takes a 32-byte scalar (clamped when used, as RFC 7748 defines).
  // Errors: kCryptoBadKeyLength, kCryptoLibraryFailure.
  static Result<X25519PrivateKey> FromBytes(const SecretBytes& scalar);

  // Move-only: copies of private keys are not made by accident.
  X25519PrivateKey(const X25519PrivateKey&) = delete;
  X25519PrivateKey& operator=(const X25519PrivateKey&) = delete;
  X25519PrivateKey(X25519PrivateKey&&) noexcept = default;
  X25519PrivateKey& operator=(X25519PrivateKey&&) noexcept = default;

  const X25519PublicKey& public_key() const EML_LIFETIME_BOUND { return public_key_; }

  // Agree returns the 32-byte shared secret X25519(this, peer).
  // Errors: kCryptoAllZeroSharedSecret (peer is of low order), kCryptoLibraryFailure.
  Result<SecretBytes> Agree(const X25519PublicKey& peer) const;

  // ExportBytesForTest returns the 32-byte private scalar (tests and KATs only).
  SecretBytes ExportBytesForTest() const;

 private:
  X25519PrivateKey(internal::PkeyRef pkey, X25519PublicKey public_key)
      : pkey_(std::move(pkey)), public_key_(public_key) {}

  internal::PkeyRef pkey_;  // OpenSSL wipes the scalar when the last reference goes.
  X25519PublicKey public_key_;
};

}  // namespace eml::crypto
