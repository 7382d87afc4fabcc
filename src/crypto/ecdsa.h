#pragma once
// ECDSA over NIST P-256 (with SHA-256) and P-384 (with SHA-384), FIPS 186-4. Signatures come
// either raw (r || s, each left-padded to the field size: COSE, IEEE P1363) or as strict DER
// (X.509, TLS): exactly SEQUENCE { INTEGER r, INTEGER s } with minimal lengths and minimal,
// positive integers, nothing after it. BER variants are rejected.
//
// Posture: FromSec1, FromSpkiDer, VerifyRaw, VerifyDer and VerifyDigestRaw read untrusted bytes
// (attestation documents, certificates, COSE messages); the DER signature parser reads through
// ByteReader and accepts at most one SEQUENCE of two INTEGERs of field size. Fuzz target:
// crypto_ecdsa_der.
//
// Thread safety: keys are immutable after creation; use them from any number of threads.
// Public keys are copyable values; private keys are move-only.

#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "common/result.h"
#include "common/secret_bytes.h"
#include "crypto/openssl_handle.h"

namespace eml::crypto {

// The curve fixes the message hash: SHA-256 for P-256, SHA-384 for P-384.
enum class EcdsaCurve { kP256, kP384 };

// EcdsaFieldSize: 32 for P-256, 48 for P-384 (a raw signature is twice this).
size_t EcdsaFieldSize(EcdsaCurve curve);

class EcdsaPublicKey {
 public:
  // FromSec1 takes an uncompressed (0x04 || x || y) or compressed SEC 1 point.
  // Errors: kCryptoBadKey (wrong length, not on the curve, point at infinity).
  static Result<EcdsaPublicKey> FromSec1(EcdsaCurve curve, std::span<const uint8_t> point);
  // FromSpkiDer takes a DER SubjectPublicKeyInfo for id-ecPublicKey on P-256 or P-384.
  // Errors: kCryptoBadKey (not DER, other algorithm or curve, trailing bytes).
  static Result<EcdsaPublicKey> FromSpkiDer(std::span<const uint8_t> spki);

  EcdsaCurve curve() const { return curve_; }
  // ToSec1Uncompressed returns 0x04 || x || y.
  std::vector<uint8_t> ToSec1Uncompressed() const;
  // SpkiDer returns the DER SubjectPublicKeyInfo (uncompressed point).
  std::vector<uint8_t> SpkiDer() const;

  // VerifyRaw checks a raw r || s signature over `message` (hashed with the curve's hash).
  // Errors: kCryptoBadSignatureLength (not 2 * field size), kCryptoSignatureInvalid (including
  // r or s zero or >= n).
  Status VerifyRaw(std::span<const uint8_t> message, std::span<const uint8_t> r_s) const;
  // VerifyDer checks a strict-DER signature. Errors: kCryptoBadSignatureLength (not strict DER,
  // trailing bytes, integer longer than the field), kCryptoSignatureInvalid.
  Status VerifyDer(std::span<const uint8_t> message, std::span<const uint8_t> der_signature) const;
  // VerifyDigestRaw checks a raw signature over a digest the caller computed (any length;
  // truncated or padded as FIPS 186-4 says). Errors: as VerifyRaw.
  Status VerifyDigestRaw(std::span<const uint8_t> digest, std::span<const uint8_t> r_s) const;

 private:
  EcdsaPublicKey(EcdsaCurve curve, internal::PkeyRef pkey)
      : curve_(curve), pkey_(std::move(pkey)) {}
  friend class EcdsaPrivateKey;

  EcdsaCurve curve_;
  internal::PkeyRef pkey_;
};

class EcdsaPrivateKey {
 public:
  // Generate makes a fresh key. Errors: kCryptoLibraryFailure (includes CSPRNG failure).
  static Result<EcdsaPrivateKey> Generate(EcdsaCurve curve);
  // FromPkcs8Der takes an unencrypted PKCS#8 PrivateKeyInfo for P-256 or P-384.
  // Errors: kCryptoBadKey (not PKCS#8, not EC, other curve).
  static Result<EcdsaPrivateKey> FromPkcs8Der(const SecretBytes& pkcs8);

  EcdsaPrivateKey(const EcdsaPrivateKey&) = delete;
  EcdsaPrivateKey& operator=(const EcdsaPrivateKey&) = delete;
  EcdsaPrivateKey(EcdsaPrivateKey&&) noexcept = default;
  EcdsaPrivateKey& operator=(EcdsaPrivateKey&&) noexcept = default;

  const EcdsaPublicKey& public_key() const EML_LIFETIME_BOUND { return public_key_; }

  // SignRaw returns a randomized raw r || s signature over `message`.
  // Errors: kCryptoLibraryFailure (e.g. CSPRNG failure).
  Result<std::vector<uint8_t>> SignRaw(std::span<const uint8_t> message) const;
  // ToPkcs8Der returns the unencrypted PKCS#8 encoding (for sealed storage only).
  SecretBytes ToPkcs8Der() const;

 private:
  EcdsaPrivateKey(internal::PkeyRef pkey, EcdsaPublicKey public_key)
      : pkey_(std::move(pkey)), public_key_(std::move(public_key)) {}

  internal::PkeyRef pkey_;
  EcdsaPublicKey public_key_;
};

}  // namespace eml::crypto
