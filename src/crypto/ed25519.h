#pragma once
// Ed25519 signatures (RFC 8032, pure Ed25519, no context or prehash) with STRICT verification,
// matching ed25519-dalek's `verify_strict`, which AIR v1 requires. Beyond RFC 8032, Verify
// rejects: public keys whose y is not canonical (y >= p) or whose point has small order (one of
// the 8 torsion points, any encoding); signatures whose S is not canonical (S >= L); and
// signatures whose R is of small order or not canonically encoded. These rules make a
// signature non-malleable and stop a key from "verifying" for many messages. Verification is
// cofactorless ([S]B == R + [k]A, compared as encodings), done by libsodium after our checks.
//
// Posture: Ed25519PublicKey::FromBytes and Verify take untrusted bytes (keys from receipts and
// manifests, signatures from anyone); fixed sizes only, no parsing beyond length checks.
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

namespace eml::crypto {

inline constexpr size_t kEd25519PublicKeySize = 32;
inline constexpr size_t kEd25519SeedSize = 32;
inline constexpr size_t kEd25519SignatureSize = 64;

class Ed25519PublicKey {
 public:
  // FromBytes checks and wraps a 32-byte encoded public key.
  // Errors: kCryptoBadKeyLength (not 32 bytes), kCryptoNonCanonicalKey (y >= p),
  // kCryptoSmallOrderKey (a torsion point), kCryptoBadKey (not a point on the curve).
  static Result<Ed25519PublicKey> FromBytes(std::span<const uint8_t> bytes);

  const std::array<uint8_t, kEd25519PublicKeySize>& bytes() const EML_LIFETIME_BOUND {
    return bytes_;
  }

  // Verify checks `signature` (R || S, 64 bytes) over `message` with the strict rules above.
  // Errors: kCryptoBadSignatureLength (not 64 bytes), kCryptoNonCanonicalSignature (S >= L, R
  // not canonical or of small order), kCryptoSignatureInvalid (the equation does not hold).
  Status Verify(std::span<const uint8_t> message, std::span<const uint8_t> signature) const;

 private:
  explicit Ed25519PublicKey(const std::array<uint8_t, kEd25519PublicKeySize>& bytes)
      : bytes_(bytes) {}
  friend class Ed25519PrivateKey;

  std::array<uint8_t, kEd25519PublicKeySize> bytes_;
};

class Ed25519PrivateKey {
 public:
  // Generate makes a key from a fresh random seed. Errors: kCryptoRandomFailed.
  static Result<Ed25519PrivateKey> Generate();
  // FromSeed derives the key pair from a 32-byte RFC 8032 seed ("private key").
  // Errors: kCryptoBadKeyLength, kCryptoLibraryFailure.
  static Result<Ed25519PrivateKey> FromSeed(const SecretBytes& seed);

  Ed25519PrivateKey(const Ed25519PrivateKey&) = delete;
  Ed25519PrivateKey& operator=(const Ed25519PrivateKey&) = delete;
  Ed25519PrivateKey(Ed25519PrivateKey&&) noexcept = default;
  Ed25519PrivateKey& operator=(Ed25519PrivateKey&&) noexcept = default;

  const Ed25519PublicKey& public_key() const EML_LIFETIME_BOUND { return public_key_; }

  // Sign returns the deterministic 64-byte signature of `message`. Cannot fail (a library
  // failure here stops the process with EML_CHECK; it would mean a broken library).
  std::array<uint8_t, kEd25519SignatureSize> Sign(std::span<const uint8_t> message) const;

 private:
  Ed25519PrivateKey(SecretBytes secret, Ed25519PublicKey public_key)
      : secret_(std::move(secret)), public_key_(std::move(public_key)) {}

  SecretBytes secret_;  // libsodium's form: seed || public key
  Ed25519PublicKey public_key_;
};

}  // namespace eml::crypto
