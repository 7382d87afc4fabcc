#pragma once
// RSA private keys for RSAES-OAEP decryption with SHA-256 as the label hash and MGF1 with
// SHA-1 or SHA-256 (RFC 8017 section 7.1). Used to unwrap keys encrypted to an enclave (e.g. the
// KMS "RSAES_OAEP_SHA_256" recipient format, which uses MGF1-SHA-256).
// RSA public keys for RSASSA-PKCS1-v1_5 with SHA-256 verification (RFC 8017 section 8.2; JWS
// "RS256", RFC 7518 section 3.3), e.g. Google Confidential Space attestation tokens.
//
// Posture: DecryptOaepSha256 reads attacker-supplied ciphertext; OpenSSL checks length and
// padding in constant time, and every padding failure gives the same error.
// RsaPublicKey::FromSpkiDer / FromComponents / VerifyPkcs1Sha256 read untrusted bytes (keys
// from certificates and JWKS documents, token signatures); sizes are bounded by
// kRsaMaxModulusBits, DER trailing bytes are rejected. Fuzzed through attest_gcp_jwt.
//
// Thread safety: keys are immutable after creation; use them from any number of threads.
// Keys are move-only.

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "common/result.h"
#include "common/secret_bytes.h"
#include "crypto/openssl_handle.h"

namespace eml::crypto {

enum class OaepMgf1Hash { kSha1, kSha256 };

inline constexpr int kRsaMinModulusBits = 2048;
inline constexpr int kRsaMaxModulusBits = 8192;

class RsaPublicKey {
 public:
  // FromSpkiDer takes a DER SubjectPublicKeyInfo for rsaEncryption. Errors: kCryptoBadKey (not
  // DER, not RSA, trailing bytes, n or e even, e below 3 or over 64 bits), kCryptoBadKeyLength
  // (modulus outside kRsaMinModulusBits..kRsaMaxModulusBits). The costly SP 800-56B public key
  // check is not run (see rsa.cc): these keys only verify signatures.
  static Result<RsaPublicKey> FromSpkiDer(std::span<const uint8_t> spki);
  // FromComponents takes the unsigned big-endian modulus and public exponent in their minimal
  // encoding (JWK "n" and "e", RFC 7518 section 6.3.1). Errors: kCryptoBadKey (a leading zero
  // byte, n or e even, e < 3 or over 64 bits), kCryptoBadKeyLength.
  static Result<RsaPublicKey> FromComponents(std::span<const uint8_t> modulus,
                                             std::span<const uint8_t> exponent);

  int modulus_bits() const;
  // SpkiDer returns the DER SubjectPublicKeyInfo.
  std::vector<uint8_t> SpkiDer() const;

  // VerifyPkcs1Sha256 checks an RSASSA-PKCS1-v1_5 signature with SHA-256 over `message`.
  // Errors: kCryptoBadSignatureLength (not exactly the modulus length in bytes),
  // kCryptoSignatureInvalid (including a representative >= n).
  Status VerifyPkcs1Sha256(std::span<const uint8_t> message,
                           std::span<const uint8_t> signature) const;

 private:
  explicit RsaPublicKey(internal::PkeyRef pkey) : pkey_(std::move(pkey)) {}
  friend class RsaPrivateKey;

  internal::PkeyRef pkey_;
};

class RsaPrivateKey {
 public:
  // FromPkcs8Der takes an unencrypted PKCS#8 PrivateKeyInfo holding an RSA key of 2048 to
  // 8192 bits. Errors: kCryptoBadKey (not PKCS#8 RSA, fails the consistency check),
  // kCryptoBadKeyLength (modulus size outside the range).
  static Result<RsaPrivateKey> FromPkcs8Der(const SecretBytes& pkcs8);
  // Generate makes a fresh key with e = 65537. Errors: kInvalidArgument (bits outside 2048 to
  // 8192 or not a multiple of 8), kCryptoLibraryFailure.
  static Result<RsaPrivateKey> Generate(int bits);

  RsaPrivateKey(const RsaPrivateKey&) = delete;
  RsaPrivateKey& operator=(const RsaPrivateKey&) = delete;
  RsaPrivateKey(RsaPrivateKey&&) noexcept = default;
  RsaPrivateKey& operator=(RsaPrivateKey&&) noexcept = default;

  // DecryptOaepSha256 returns the message inside an OAEP ciphertext (label hash SHA-256).
  // Errors: kCryptoDecryptFailed (wrong length, wrong key, bad padding or label; one code for
  // all so that the caller cannot become a padding oracle).
  Result<SecretBytes> DecryptOaepSha256(std::span<const uint8_t> ciphertext, OaepMgf1Hash mgf1,
                                        std::span<const uint8_t> label = {}) const;

  // EncryptOaepSha256 encrypts to this key's public half (tests and tools; the sender side
  // normally lives outside the enclave). Errors: kCryptoMessageTooLong, kCryptoLibraryFailure.
  Result<std::vector<uint8_t>> EncryptOaepSha256(std::span<const uint8_t> message,
                                                 OaepMgf1Hash mgf1,
                                                 std::span<const uint8_t> label = {}) const;

  // PublicKeySpkiDer returns the DER SubjectPublicKeyInfo of the public half.
  std::vector<uint8_t> PublicKeySpkiDer() const;

  // SignPkcs1Sha256 returns an RSASSA-PKCS1-v1_5 SHA-256 signature over `message` (modulus
  // length bytes; deterministic). Errors: kCryptoLibraryFailure.
  Result<std::vector<uint8_t>> SignPkcs1Sha256(std::span<const uint8_t> message) const;

 private:
  explicit RsaPrivateKey(internal::PkeyRef pkey) : pkey_(std::move(pkey)) {}

  internal::PkeyRef pkey_;
};

}  // namespace eml::crypto
