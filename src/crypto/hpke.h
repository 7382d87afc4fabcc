#pragma once
// HPKE (RFC 9180), implemented here on top of eml::crypto's X25519, HKDF-SHA256 and AEAD
// primitives. Supported: modes base (0x00) and psk (0x01); KEM DHKEM(X25519, HKDF-SHA256)
// (0x0020); KDF HKDF-SHA256 (0x0001); AEADs AES-128-GCM (0x0001), AES-256-GCM (0x0002),
// ChaCha20-Poly1305 (0x0003) and export-only (0xFFFF). The auth modes (0x02, 0x03) are not
// implemented.
//
// Posture: the encapsulated key `enc` and the ciphertexts passed to the recipient side come from
// the network (a peer we do not trust). `enc` must be exactly 32 bytes and must not be a
// small-order X25519 point (kHpkeBadEncapsulatedKey); a ciphertext is authenticated as a whole
// before any plaintext is returned (kHpkeOpenFailed, never partial output). There is no parser
// beyond these length checks; sizes are bounded by the caller's buffers (the AEAD's own limits
// apply). Fuzz target: crypto_hpke_open (tests/fuzz/crypto_hpke_open_fuzz.cc).
//
// Typical use (one message, base mode):
//   EML_ASSIGN_OR_RETURN(HpkeSuite suite, HpkeSuite::Create(0x0020, 0x0001, 0x0003));
//   EML_ASSIGN_OR_RETURN(HpkeSealed sealed, HpkeSeal(suite, recipient_pk, info, aad, plaintext));
//   ... send sealed.enc and sealed.ciphertext ...
//   EML_ASSIGN_OR_RETURN(std::vector<uint8_t> pt,
//                        HpkeOpen(suite, sealed.enc, recipient_sk, info, aad, sealed.ciphertext));

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "common/result.h"
#include "common/secret_bytes.h"
#include "crypto/x25519.h"

namespace eml::crypto {

// Algorithm identifiers from the RFC 9180 IANA registries. Only the values listed are supported.
enum class HpkeKem : uint16_t { kDhkemX25519HkdfSha256 = 0x0020 };
enum class HpkeKdf : uint16_t { kHkdfSha256 = 0x0001 };
enum class HpkeAead : uint16_t {
  kAes128Gcm = 0x0001,
  kAes256Gcm = 0x0002,
  kChaCha20Poly1305 = 0x0003,
  kExportOnly = 0xFFFF,  // No Seal/Open; the context only exports secrets.
};

// HPKE modes (RFC 9180 section 5, table 1). Only base and psk are implemented.
enum class HpkeMode : uint8_t { kBase = 0x00, kPsk = 0x01 };

// Fixed sizes for DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256.
inline constexpr size_t kHpkeX25519EncSize = 32;        // Nenc
inline constexpr size_t kHpkeSha256HashSize = 32;       // Nh
inline constexpr size_t kHpkeMaxExportSize = 255 * 32;  // 255 * Nh
inline constexpr size_t kHpkeMinPskSize = 32;           // RFC 9180 section 5.1.2: >= 32 bytes
inline constexpr size_t kHpkeMinIkmSize = 32;           // Nsk, for HpkeDeriveKeyPair

// HpkeSuite: a validated (KEM, KDF, AEAD) triple. A value type; copy freely.
class HpkeSuite {
 public:
  // Create returns the suite for these IANA identifiers, or kHpkeUnsupportedSuite if any of
  // them is not one of the supported values above.
  static Result<HpkeSuite> Create(uint16_t kem_id, uint16_t kdf_id, uint16_t aead_id);
  // Create from the enums; still validates (an enum can hold any value through a cast).
  static Result<HpkeSuite> Create(HpkeKem kem, HpkeKdf kdf, HpkeAead aead);

  HpkeKem kem() const { return kem_; }
  HpkeKdf kdf() const { return kdf_; }
  HpkeAead aead() const { return aead_; }
  bool is_export_only() const { return aead_ == HpkeAead::kExportOnly; }

  bool operator==(const HpkeSuite&) const = default;

 private:
  HpkeSuite(HpkeKem kem, HpkeKdf kdf, HpkeAead aead) : kem_(kem), kdf_(kdf), aead_(aead) {}

  HpkeKem kem_;
  HpkeKdf kdf_;
  HpkeAead aead_;
};

namespace internal {
class HpkeContextCore;  // Defined in hpke.cc: key, base nonce, exporter secret, sequence number.
}  // namespace internal

// HpkeSenderContext: the sender side of an HPKE context (RFC 9180 section 5.2). Move-only; a
// moved-from context must not be used (an always-on check fails). Not thread-safe: Seal mutates
// the sequence number, so give each thread its own context or serialize calls.
class HpkeSenderContext {
 public:
  HpkeSenderContext(HpkeSenderContext&&) noexcept;
  HpkeSenderContext& operator=(HpkeSenderContext&&) noexcept;
  HpkeSenderContext(const HpkeSenderContext&) = delete;
  HpkeSenderContext& operator=(const HpkeSenderContext&) = delete;
  ~HpkeSenderContext();

  // Seal encrypts `plaintext` with `aad` under the next sequence number and returns
  // ciphertext || 16-byte tag. Errors: kHpkeExportOnly for an export-only suite;
  // kHpkeSequenceOverflow once the 64-bit sequence number has reached its maximum (the last
  // message is sealed with seq = 2^64 - 2). On error the sequence number is unchanged.
  Result<std::vector<uint8_t>> Seal(std::span<const uint8_t> plaintext,
                                    std::span<const uint8_t> aad);

  // Export returns `length` bytes derived from the exporter secret and `exporter_context`
  // (RFC 9180 section 5.3). kHpkeExportTooLong if length > kHpkeMaxExportSize. Does not touch the
  // sequence number.
  Result<SecretBytes> Export(std::span<const uint8_t> exporter_context, size_t length) const;

  const HpkeSuite& suite() const;
  uint64_t sequence_number() const;
  // Test hook: jump the sequence number (to test nonce computation and overflow).
  void SetSequenceNumberForTest(uint64_t seq);

 private:
  friend class HpkeContextFactory;
  explicit HpkeSenderContext(std::unique_ptr<internal::HpkeContextCore> core);
  std::unique_ptr<internal::HpkeContextCore> core_;
};

// HpkeRecipientContext: the recipient side (RFC 9180 section 5.2). Same ownership and thread
// safety rules as HpkeSenderContext.
class HpkeRecipientContext {
 public:
  HpkeRecipientContext(HpkeRecipientContext&&) noexcept;
  HpkeRecipientContext& operator=(HpkeRecipientContext&&) noexcept;
  HpkeRecipientContext(const HpkeRecipientContext&) = delete;
  HpkeRecipientContext& operator=(const HpkeRecipientContext&) = delete;
  ~HpkeRecipientContext();

  // Open authenticates and decrypts `ciphertext` (ciphertext || tag) with `aad` under the next
  // sequence number and returns the plaintext. Errors: kHpkeOpenFailed (wrong key, tampered
  // ciphertext/tag/aad, wrong order, too short; no partial output; the sequence number is
  // unchanged so the next message can still be opened), kHpkeExportOnly, kHpkeSequenceOverflow.
  Result<std::vector<uint8_t>> Open(std::span<const uint8_t> ciphertext,
                                    std::span<const uint8_t> aad);

  // Export: as HpkeSenderContext::Export; both sides derive the same bytes.
  Result<SecretBytes> Export(std::span<const uint8_t> exporter_context, size_t length) const;

  const HpkeSuite& suite() const;
  uint64_t sequence_number() const;
  void SetSequenceNumberForTest(uint64_t seq);

 private:
  friend class HpkeContextFactory;
  explicit HpkeRecipientContext(std::unique_ptr<internal::HpkeContextCore> core);
  std::unique_ptr<internal::HpkeContextCore> core_;
};

// The sender's setup result: `enc` (32 bytes, send it to the recipient) and the context.
struct HpkeSenderSetup {
  std::vector<uint8_t> enc;
  HpkeSenderContext context;
};

// HpkeSetupBaseSender runs Encap with a fresh ephemeral key and the base-mode key schedule.
// Errors: kCryptoAllZeroSharedSecret if `pk_r` is a small-order point; kCryptoRandomFailed.
Result<HpkeSenderSetup> HpkeSetupBaseSender(const HpkeSuite& suite, const X25519PublicKey& pk_r,
                                            std::span<const uint8_t> info);

// HpkeSetupBaseRecipient runs Decap on `enc` with `sk_r` and the base-mode key schedule.
// Errors: kHpkeBadEncapsulatedKey if `enc` is not 32 bytes or is a small-order point.
// A wrong `sk_r` or `info` is only detected by the first Open (kHpkeOpenFailed).
Result<HpkeRecipientContext> HpkeSetupBaseRecipient(const HpkeSuite& suite,
                                                    std::span<const uint8_t> enc,
                                                    const X25519PrivateKey& sk_r,
                                                    std::span<const uint8_t> info);

// PSK mode: as the base-mode functions, plus a pre-shared key and its identifier. Errors in
// addition: kHpkeBadPskInputs if `psk` is shorter than kHpkeMinPskSize or `psk_id` is empty
// (RFC 9180 VerifyPSKInputs: psk mode needs both).
Result<HpkeSenderSetup> HpkeSetupPskSender(const HpkeSuite& suite, const X25519PublicKey& pk_r,
                                           std::span<const uint8_t> info, const SecretBytes& psk,
                                           std::span<const uint8_t> psk_id);
Result<HpkeRecipientContext> HpkeSetupPskRecipient(
    const HpkeSuite& suite, std::span<const uint8_t> enc, const X25519PrivateKey& sk_r,
    std::span<const uint8_t> info, const SecretBytes& psk, std::span<const uint8_t> psk_id);

// Single-shot base mode (RFC 9180 section 6.1): one message per encapsulation.
struct HpkeSealed {
  std::vector<uint8_t> enc;         // 32 bytes
  std::vector<uint8_t> ciphertext;  // ciphertext || tag
};

// HpkeSeal: HpkeSetupBaseSender + one Seal. Errors: those of both; kHpkeExportOnly is reported
// before any key agreement.
Result<HpkeSealed> HpkeSeal(const HpkeSuite& suite, const X25519PublicKey& pk_r,
                            std::span<const uint8_t> info, std::span<const uint8_t> aad,
                            std::span<const uint8_t> plaintext);

// HpkeOpen: HpkeSetupBaseRecipient + one Open. Errors: kHpkeExportOnly,
// kHpkeBadEncapsulatedKey, kHpkeOpenFailed.
Result<std::vector<uint8_t>> HpkeOpen(const HpkeSuite& suite, std::span<const uint8_t> enc,
                                      const X25519PrivateKey& sk_r, std::span<const uint8_t> info,
                                      std::span<const uint8_t> aad,
                                      std::span<const uint8_t> ciphertext);

// HpkeDeriveKeyPair: the KEM's deterministic DeriveKeyPair (RFC 9180 section 7.1.3). The same
// `ikm` always gives the same key; use it to derive recipient keys from a seed you keep secret,
// and in tests. Errors: kHpkeIkmTooShort if ikm is shorter than kHpkeMinIkmSize.
Result<X25519PrivateKey> HpkeDeriveKeyPair(const HpkeSuite& suite, const SecretBytes& ikm);

// Deterministic senders for the RFC test vectors: use `sk_e` as the ephemeral key instead of
// a fresh one. Reusing an ephemeral key across messages breaks HPKE's security; tests only.
Result<HpkeSenderSetup> HpkeSetupBaseSenderForTest(const HpkeSuite& suite,
                                                   const X25519PublicKey& pk_r,
                                                   std::span<const uint8_t> info,
                                                   const X25519PrivateKey& sk_e);
Result<HpkeSenderSetup> HpkeSetupPskSenderForTest(
    const HpkeSuite& suite, const X25519PublicKey& pk_r, std::span<const uint8_t> info,
    const SecretBytes& psk, std::span<const uint8_t> psk_id, const X25519PrivateKey& sk_e);

}  // namespace eml::crypto
