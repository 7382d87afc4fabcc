#pragma once
// Internal pieces of HPKE (RFC 9180), visible to hpke.cc and hpke_test.cc only: the labeled
// KDF calls, the DHKEM(X25519, HKDF-SHA256) Encap/Decap/DeriveKeyPair steps and the key
// schedule, each returning its intermediate values so the test can compare them with the RFC
// vectors. Not part of the eml::crypto API.

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/secret_bytes.h"
#include "crypto/aead.h"
#include "crypto/hpke.h"
#include "crypto/x25519.h"

namespace eml::crypto::internal {

inline constexpr size_t kHpkeNonceSize = 12;  // Nn for every supported AEAD

// "KEM" || I2OSP(kem_id, 2) (RFC 9180 section 4.1).
std::array<uint8_t, 5> HpkeKemSuiteId(HpkeKem kem);
// "HPKE" || I2OSP(kem_id, 2) || I2OSP(kdf_id, 2) || I2OSP(aead_id, 2) (section 5.1).
std::array<uint8_t, 10> HpkeSuiteId(const HpkeSuite& suite);

// LabeledExtract(salt, label, ikm) = Extract(salt, "HPKE-v1" || suite_id || label || ikm).
SecretBytes HpkeLabeledExtract(std::span<const uint8_t> suite_id, std::span<const uint8_t> salt,
                               std::string_view label, std::span<const uint8_t> ikm);
// LabeledExpand(prk, label, info, L) =
//   Expand(prk, I2OSP(L, 2) || "HPKE-v1" || suite_id || label || info, L).
// kHpkeExportTooLong if L > 255 * Nh.
Result<SecretBytes> HpkeLabeledExpand(std::span<const uint8_t> suite_id, const SecretBytes& prk,
                                      std::string_view label, std::span<const uint8_t> info,
                                      size_t length);

// DeriveKeyPair's secret scalar bytes (section 7.1.3, X25519: sk = LabeledExpand(dkp_prk, "sk",
// "", 32), no further processing). kHpkeIkmTooShort below kHpkeMinIkmSize.
Result<SecretBytes> HpkeDeriveX25519SecretKey(const SecretBytes& ikm);

struct HpkeEncapOutput {
  SecretBytes shared_secret;
  std::vector<uint8_t> enc;
};
// Encap(pkR) with the given ephemeral key (section 4.1).
Result<HpkeEncapOutput> HpkeEncap(const X25519PublicKey& pk_r, const X25519PrivateKey& sk_e);
// Decap(enc, skR). kHpkeBadEncapsulatedKey for a malformed or small-order `enc`.
Result<SecretBytes> HpkeDecap(std::span<const uint8_t> enc, const X25519PrivateKey& sk_r);

struct HpkeKeyScheduleOutput {
  std::vector<uint8_t> key_schedule_context;  // mode || psk_id_hash || info_hash (public)
  SecretBytes secret;
  SecretBytes key;         // empty for export-only
  SecretBytes base_nonce;  // empty for export-only
  SecretBytes exporter_secret;
};
// KeySchedule (section 5.1) including VerifyPSKInputs: in base mode `psk` and `psk_id` must
// be empty, in psk mode both must be present and psk >= kHpkeMinPskSize (kHpkeBadPskInputs).
Result<HpkeKeyScheduleOutput> HpkeKeySchedule(const HpkeSuite& suite, HpkeMode mode,
                                              const SecretBytes& shared_secret,
                                              std::span<const uint8_t> info, const SecretBytes& psk,
                                              std::span<const uint8_t> psk_id);

// The state shared by sender and recipient contexts.
class HpkeContextCore {
 public:
  // `aead` is null exactly when the suite is export-only.
  HpkeContextCore(const HpkeSuite& suite, std::unique_ptr<Aead> aead, SecretBytes base_nonce,
                  SecretBytes exporter_secret);

  Result<std::vector<uint8_t>> Seal(std::span<const uint8_t> plaintext,
                                    std::span<const uint8_t> aad);
  Result<std::vector<uint8_t>> Open(std::span<const uint8_t> ciphertext,
                                    std::span<const uint8_t> aad);
  Result<SecretBytes> Export(std::span<const uint8_t> exporter_context, size_t length) const;

  const HpkeSuite& suite() const { return suite_; }
  uint64_t seq() const { return seq_; }
  void set_seq(uint64_t seq) { seq_ = seq; }

 private:
  // Status before use: export-only or exhausted sequence number.
  Status CheckCanProcess() const;
  // ComputeNonce(seq) = base_nonce XOR I2OSP(seq, Nn).
  std::array<uint8_t, kHpkeNonceSize> ComputeNonce() const;

  HpkeSuite suite_;
  std::unique_ptr<Aead> aead_;
  SecretBytes base_nonce_;
  SecretBytes exporter_secret_;
  uint64_t seq_ = 0;
};

}  // namespace eml::crypto::internal
