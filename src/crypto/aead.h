#pragma once
// Authenticated encryption with associated data: ChaCha20-Poly1305 (RFC 8439) and
// AES-128/256-GCM (NIST SP 800-38D), all with a 12-byte nonce and a 16-byte tag. The caller
// owns nonce uniqueness: never seal two messages with the same key and nonce.
//
// Posture: Open reads attacker-supplied ciphertext; the only parsing is the tag split, and
// nothing is released before the tag has been checked (E7: never partial output).
//
// Thread safety: an Aead is immutable after New; Seal/Open may run on many threads at once
// (each call uses its own OpenSSL context).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "common/result.h"
#include "common/secret_bytes.h"

namespace eml::crypto {

enum class AeadAlgorithm { kChaCha20Poly1305, kAes128Gcm, kAes256Gcm };

class Aead {
 public:
  static constexpr size_t kNonceSize = 12;
  static constexpr size_t kTagSize = 16;

  // New returns an Aead for `algorithm` keyed with a copy of `key`.
  // Errors: kCryptoBadKeyLength if key.size() != KeySize(algorithm).
  static Result<std::unique_ptr<Aead>> New(AeadAlgorithm algorithm, const SecretBytes& key);

  // KeySize: 32 for ChaCha20-Poly1305 and AES-256-GCM, 16 for AES-128-GCM.
  static size_t KeySize(AeadAlgorithm algorithm);

  ~Aead();
  Aead(const Aead&) = delete;
  Aead& operator=(const Aead&) = delete;

  AeadAlgorithm algorithm() const { return algorithm_; }

  // Seal returns ciphertext || tag (plaintext.size() + 16 bytes).
  // Errors: kCryptoBadNonceLength (nonce not 12 bytes), kCryptoMessageTooLong (plaintext over
  // the algorithm's limit: 2^36 - 32 bytes for GCM, 2^38 - 64 for ChaCha20-Poly1305).
  Result<std::vector<uint8_t>> Seal(std::span<const uint8_t> nonce,
                                    std::span<const uint8_t> plaintext,
                                    std::span<const uint8_t> aad) const;

  // Open checks and decrypts ciphertext || tag and returns the plaintext.
  // Errors: kCryptoBadNonceLength, kCryptoCiphertextTooShort (fewer than 16 bytes),
  // kCryptoMessageTooLong, kCryptoAeadOpenFailed (wrong key, nonce, AAD or tampered bytes).
  // On any error no plaintext is returned.
  Result<std::vector<uint8_t>> Open(std::span<const uint8_t> nonce,
                                    std::span<const uint8_t> ciphertext_and_tag,
                                    std::span<const uint8_t> aad) const;

  // OpenDetached is Open for formats that carry the tag apart from the ciphertext.
  // Errors: as Open, plus kCryptoBadTagLength if tag.size() != 16 (truncated tags are not
  // supported).
  Result<std::vector<uint8_t>> OpenDetached(std::span<const uint8_t> nonce,
                                            std::span<const uint8_t> ciphertext,
                                            std::span<const uint8_t> tag,
                                            std::span<const uint8_t> aad) const;

  // SealInto / OpenInto are the no-allocation forms for hot paths. `out` must be exactly
  // plaintext.size() + 16 bytes (SealInto) or ciphertext_and_tag.size() - 16 bytes (OpenInto),
  // else kInvalidArgument. `out` must not overlap the inputs. On any error `out` is zeroed.
  // Errors: as Seal / Open.
  Status SealInto(std::span<const uint8_t> nonce, std::span<const uint8_t> plaintext,
                  std::span<const uint8_t> aad, std::span<uint8_t> out) const;
  Status OpenInto(std::span<const uint8_t> nonce, std::span<const uint8_t> ciphertext_and_tag,
                  std::span<const uint8_t> aad, std::span<uint8_t> out) const;

 private:
  Aead(AeadAlgorithm algorithm, SecretBytes key);
  Status OpenDetachedInto(std::span<const uint8_t> nonce, std::span<const uint8_t> ciphertext,
                          std::span<const uint8_t> tag, std::span<const uint8_t> aad,
                          std::span<uint8_t> out) const;

  AeadAlgorithm algorithm_;
  SecretBytes key_;
};

}  // namespace eml::crypto
