#include "crypto/hpke.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/byte_writer.h"
#include "common/check.h"
#include "common/encoding.h"
#include "crypto/aead.h"
#include "crypto/hkdf.h"
#include "crypto/internal/hpke_internal.h"
#include "crypto/x25519.h"

namespace eml::crypto {
namespace {

constexpr std::string_view kHpkeVersionLabel = "HPKE-v1";
constexpr uint64_t kMaxSequenceNumber = std::numeric_limits<uint64_t>::max();

std::span<const uint8_t> Bytes(std::string_view text) { return AsBytes(text); }

Error MakeError(ErrorCode code, std::string detail) { return Error{code, std::move(detail)}; }

// Copies the concatenation of `parts` into one secret buffer (inputs to LabeledExtract may
// carry secrets: the DH output, the PSK, the IKM of DeriveKeyPair).
SecretBytes ConcatSecret(std::initializer_list<std::span<const uint8_t>> parts) {
  size_t total = 0;
  for (const auto& part : parts) {
    total += part.size();
  }
  SecretBytes out(total);
  std::span<uint8_t> dst = out.MutableReveal(InsecureSecretAccess::Get());
  for (const auto& part : parts) {
    std::ranges::copy(part, dst.begin());
    dst = dst.subspan(part.size());
  }
  return out;
}

bool IsSupportedAead(uint16_t aead_id) {
  return aead_id == static_cast<uint16_t>(HpkeAead::kAes128Gcm) ||
         aead_id == static_cast<uint16_t>(HpkeAead::kAes256Gcm) ||
         aead_id == static_cast<uint16_t>(HpkeAead::kChaCha20Poly1305) ||
         aead_id == static_cast<uint16_t>(HpkeAead::kExportOnly);
}

// Nk for the suite's AEAD, and the matching primitive (not used for export-only).
size_t AeadKeySize(HpkeAead aead) {
  switch (aead) {
    case HpkeAead::kAes128Gcm:
      return 16;
    case HpkeAead::kAes256Gcm:
    case HpkeAead::kChaCha20Poly1305:
      return 32;
    case HpkeAead::kExportOnly:
      return 0;
  }
  EML_CHECK(false);  // HpkeSuite::Create admits only the values above.
  return 0;
}

AeadAlgorithm ToAeadAlgorithm(HpkeAead aead) {
  switch (aead) {
    case HpkeAead::kAes128Gcm:
      return AeadAlgorithm::kAes128Gcm;
    case HpkeAead::kAes256Gcm:
      return AeadAlgorithm::kAes256Gcm;
    case HpkeAead::kChaCha20Poly1305:
      return AeadAlgorithm::kChaCha20Poly1305;
    case HpkeAead::kExportOnly:
      break;
  }
  EML_CHECK(false);  // Callers never ask for the export-only pseudo-AEAD.
  return AeadAlgorithm::kChaCha20Poly1305;
}

Status CheckNotExportOnly(const HpkeSuite& suite) {
  if (suite.is_export_only()) {
    return MakeError(ErrorCode::kHpkeExportOnly, "suite is export-only");
  }
  return OkStatus();
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// HpkeSuite

Result<HpkeSuite> HpkeSuite::Create(uint16_t kem_id, uint16_t kdf_id, uint16_t aead_id) {
  if (kem_id != static_cast<uint16_t>(HpkeKem::kDhkemX25519HkdfSha256)) {
    return MakeError(ErrorCode::kHpkeUnsupportedSuite,
                     "unsupported KEM id " + std::to_string(kem_id));
  }
  if (kdf_id != static_cast<uint16_t>(HpkeKdf::kHkdfSha256)) {
    return MakeError(ErrorCode::kHpkeUnsupportedSuite,
                     "unsupported KDF id " + std::to_string(kdf_id));
  }
  if (!IsSupportedAead(aead_id)) {
    return MakeError(ErrorCode::kHpkeUnsupportedSuite,
                     "unsupported AEAD id " + std::to_string(aead_id));
  }
  return HpkeSuite(static_cast<HpkeKem>(kem_id), static_cast<HpkeKdf>(kdf_id),
                   static_cast<HpkeAead>(aead_id));
}

Result<HpkeSuite> HpkeSuite::Create(HpkeKem kem, HpkeKdf kdf, HpkeAead aead) {
  return Create(static_cast<uint16_t>(kem), static_cast<uint16_t>(kdf),
                static_cast<uint16_t>(aead));
}

// ---------------------------------------------------------------------------------------------
// Labeled KDF, KEM and key schedule (RFC 9180 sections 4 and 5.1).

namespace internal {

std::array<uint8_t, 5> HpkeKemSuiteId(HpkeKem kem) {
  const auto id = static_cast<uint16_t>(kem);
  return {'K', 'E', 'M', static_cast<uint8_t>(id >> 8), static_cast<uint8_t>(id & 0xff)};
}

std::array<uint8_t, 10> HpkeSuiteId(const HpkeSuite& suite) {
  const auto kem = static_cast<uint16_t>(suite.kem());
  const auto kdf = static_cast<uint16_t>(suite.kdf());
  const auto aead = static_cast<uint16_t>(suite.aead());
  return {'H',
          'P',
          'K',
          'E',
          static_cast<uint8_t>(kem >> 8),
          static_cast<uint8_t>(kem & 0xff),
          static_cast<uint8_t>(kdf >> 8),
          static_cast<uint8_t>(kdf & 0xff),
          static_cast<uint8_t>(aead >> 8),
          static_cast<uint8_t>(aead & 0xff)};
}

SecretBytes HpkeLabeledExtract(std::span<const uint8_t> suite_id, std::span<const uint8_t> salt,
                               std::string_view label, std::span<const uint8_t> ikm) {
  const SecretBytes labeled_ikm =
      ConcatSecret({Bytes(kHpkeVersionLabel), suite_id, Bytes(label), ikm});
  return HkdfSha256Extract(salt, labeled_ikm);
}

Result<SecretBytes> HpkeLabeledExpand(std::span<const uint8_t> suite_id, const SecretBytes& prk,
                                      std::string_view label, std::span<const uint8_t> info,
                                      size_t length) {
  if (length > kHpkeMaxExportSize) {
    return MakeError(ErrorCode::kHpkeExportTooLong,
                     "requested " + std::to_string(length) + " bytes, limit 255 * Nh");
  }
  ByteWriter labeled_info;
  labeled_info.PutU16Be(static_cast<uint16_t>(length));  // < 8161, fits.
  labeled_info.PutBytes(Bytes(kHpkeVersionLabel));
  labeled_info.PutBytes(suite_id);
  labeled_info.PutBytes(Bytes(label));
  labeled_info.PutBytes(info);
  EML_CHECK(labeled_info.ok());  // growable writer
  return HkdfSha256Expand(prk, labeled_info.bytes(), length);
}

Result<SecretBytes> HpkeDeriveX25519SecretKey(const SecretBytes& ikm) {
  if (ikm.size() < kHpkeMinIkmSize) {
    return MakeError(ErrorCode::kHpkeIkmTooShort,
                     "ikm has " + std::to_string(ikm.size()) + " bytes, need 32");
  }
  const auto suite_id = HpkeKemSuiteId(HpkeKem::kDhkemX25519HkdfSha256);
  const SecretBytes dkp_prk =
      HpkeLabeledExtract(suite_id, {}, "dkp_prk", ikm.Reveal(InsecureSecretAccess::Get()));
  return HpkeLabeledExpand(suite_id, dkp_prk, "sk", {}, kX25519KeySize);
}

namespace {

// ExtractAndExpand(dh, kem_context) -> shared_secret (Nsecret = 32).
Result<SecretBytes> ExtractAndExpand(const SecretBytes& dh, std::span<const uint8_t> enc,
                                     std::span<const uint8_t> pk_rm) {
  const auto suite_id = HpkeKemSuiteId(HpkeKem::kDhkemX25519HkdfSha256);
  const SecretBytes eae_prk =
      HpkeLabeledExtract(suite_id, {}, "eae_prk", dh.Reveal(InsecureSecretAccess::Get()));
  ByteWriter kem_context;
  kem_context.PutBytes(enc);
  kem_context.PutBytes(pk_rm);
  EML_CHECK(kem_context.ok());
  return HpkeLabeledExpand(suite_id, eae_prk, "shared_secret", kem_context.bytes(),
                           kHpkeSha256HashSize);
}

}  // namespace

Result<HpkeEncapOutput> HpkeEncap(const X25519PublicKey& pk_r, const X25519PrivateKey& sk_e) {
  EML_ASSIGN_OR_RETURN(SecretBytes dh, sk_e.Agree(pk_r));
  const auto& pk_em = sk_e.public_key().bytes();
  HpkeEncapOutput out;
  out.enc.assign(pk_em.begin(), pk_em.end());
  EML_ASSIGN_OR_RETURN(out.shared_secret, ExtractAndExpand(dh, out.enc, pk_r.bytes()));
  return out;
}

Result<SecretBytes> HpkeDecap(std::span<const uint8_t> enc, const X25519PrivateKey& sk_r) {
  if (enc.size() != kHpkeX25519EncSize) {
    return MakeError(ErrorCode::kHpkeBadEncapsulatedKey,
                     "enc has " + std::to_string(enc.size()) + " bytes, need 32");
  }
  Result<X25519PublicKey> pk_e = X25519PublicKey::FromBytes(enc);
  if (!pk_e.has_value()) {
    return MakeError(ErrorCode::kHpkeBadEncapsulatedKey, "enc is not an X25519 public key");
  }
  Result<SecretBytes> dh = sk_r.Agree(*pk_e);
  if (!dh.has_value()) {
    if (dh.code() == ErrorCode::kCryptoAllZeroSharedSecret) {
      return MakeError(ErrorCode::kHpkeBadEncapsulatedKey, "enc is a small-order point");
    }
    return std::move(dh).error();
  }
  return ExtractAndExpand(*dh, enc, sk_r.public_key().bytes());
}

Result<HpkeKeyScheduleOutput> HpkeKeySchedule(const HpkeSuite& suite, HpkeMode mode,
                                              const SecretBytes& shared_secret,
                                              std::span<const uint8_t> info, const SecretBytes& psk,
                                              std::span<const uint8_t> psk_id) {
  // VerifyPSKInputs, with the added rule that a PSK has at least 32 bytes (section 5.1.2).
  switch (mode) {
    case HpkeMode::kBase:
      if (!psk.empty() || !psk_id.empty()) {
        return MakeError(ErrorCode::kHpkeBadPskInputs, "base mode takes no PSK");
      }
      break;
    case HpkeMode::kPsk:
      if (psk.empty() || psk_id.empty()) {
        return MakeError(ErrorCode::kHpkeBadPskInputs, "psk mode needs both psk and psk_id");
      }
      if (psk.size() < kHpkeMinPskSize) {
        return MakeError(ErrorCode::kHpkeBadPskInputs, "psk shorter than 32 bytes");
      }
      break;
  }

  const auto suite_id = HpkeSuiteId(suite);
  const SecretBytes psk_id_hash = HpkeLabeledExtract(suite_id, {}, "psk_id_hash", psk_id);
  const SecretBytes info_hash = HpkeLabeledExtract(suite_id, {}, "info_hash", info);

  HpkeKeyScheduleOutput out;
  ByteWriter context;
  context.PutU8(static_cast<uint8_t>(mode));
  // The two hashes are of public inputs, and key_schedule_context is public (RFC 9180 lists it
  // in the clear in its vectors), so revealing them here leaks nothing.
  context.PutBytes(psk_id_hash.Reveal(InsecureSecretAccess::Get()));
  context.PutBytes(info_hash.Reveal(InsecureSecretAccess::Get()));
  EML_CHECK(context.ok());
  out.key_schedule_context.assign(context.bytes().begin(), context.bytes().end());

  out.secret = HpkeLabeledExtract(suite_id, shared_secret.Reveal(InsecureSecretAccess::Get()),
                                  "secret", psk.Reveal(InsecureSecretAccess::Get()));
  if (!suite.is_export_only()) {
    EML_ASSIGN_OR_RETURN(out.key,
                         HpkeLabeledExpand(suite_id, out.secret, "key", out.key_schedule_context,
                                           AeadKeySize(suite.aead())));
    EML_ASSIGN_OR_RETURN(out.base_nonce,
                         HpkeLabeledExpand(suite_id, out.secret, "base_nonce",
                                           out.key_schedule_context, kHpkeNonceSize));
  }
  EML_ASSIGN_OR_RETURN(out.exporter_secret,
                       HpkeLabeledExpand(suite_id, out.secret, "exp", out.key_schedule_context,
                                         kHpkeSha256HashSize));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Context state.

HpkeContextCore::HpkeContextCore(const HpkeSuite& suite, std::unique_ptr<Aead> aead,
                                 SecretBytes base_nonce, SecretBytes exporter_secret)
    : suite_(suite),
      aead_(std::move(aead)),
      base_nonce_(std::move(base_nonce)),
      exporter_secret_(std::move(exporter_secret)) {
  EML_CHECK((aead_ == nullptr) == suite_.is_export_only());
  EML_CHECK(aead_ == nullptr || base_nonce_.size() == kHpkeNonceSize);
}

Status HpkeContextCore::CheckCanProcess() const {
  EML_RETURN_IF_ERROR(CheckNotExportOnly(suite_));
  // RFC 9180 IncrementSeq fails once seq reaches 2^(8*Nn) - 1; our counter is 64 bits, so the
  // limit is its maximum. Checking before use (rather than after, as the RFC's pseudocode
  // does) gives the same set of usable sequence numbers and never produces output we discard.
  if (seq_ == kMaxSequenceNumber) {
    return MakeError(ErrorCode::kHpkeSequenceOverflow, "sequence number exhausted");
  }
  return OkStatus();
}

std::array<uint8_t, kHpkeNonceSize> HpkeContextCore::ComputeNonce() const {
  std::array<uint8_t, kHpkeNonceSize> nonce;
  std::ranges::copy(base_nonce_.Reveal(InsecureSecretAccess::Get()), nonce.begin());
  // I2OSP(seq, Nn) has zeros in its first Nn - 8 bytes; XOR the 8-byte big-endian seq into the
  // tail.
  for (size_t i = 0; i < sizeof(uint64_t); ++i) {
    nonce[kHpkeNonceSize - 1 - i] ^= static_cast<uint8_t>(seq_ >> (8 * i));
  }
  return nonce;
}

Result<std::vector<uint8_t>> HpkeContextCore::Seal(std::span<const uint8_t> plaintext,
                                                   std::span<const uint8_t> aad) {
  EML_RETURN_IF_ERROR(CheckCanProcess());
  std::array<uint8_t, kHpkeNonceSize> nonce = ComputeNonce();
  Result<std::vector<uint8_t>> ciphertext = aead_->Seal(nonce, plaintext, aad);
  OPENSSL_cleanse(nonce.data(), nonce.size());
  if (ciphertext.has_value()) {
    ++seq_;
  }
  return ciphertext;
}

Result<std::vector<uint8_t>> HpkeContextCore::Open(std::span<const uint8_t> ciphertext,
                                                   std::span<const uint8_t> aad) {
  EML_RETURN_IF_ERROR(CheckCanProcess());
  std::array<uint8_t, kHpkeNonceSize> nonce = ComputeNonce();
  Result<std::vector<uint8_t>> plaintext = aead_->Open(nonce, ciphertext, aad);
  OPENSSL_cleanse(nonce.data(), nonce.size());
  if (!plaintext.has_value()) {
    if (plaintext.code() == ErrorCode::kCryptoAeadOpenFailed ||
        plaintext.code() == ErrorCode::kCryptoCiphertextTooShort) {
      return MakeError(ErrorCode::kHpkeOpenFailed, "HPKE open failed");
    }
    return plaintext;
  }
  ++seq_;
  return plaintext;
}

Result<SecretBytes> HpkeContextCore::Export(std::span<const uint8_t> exporter_context,
                                            size_t length) const {
  return HpkeLabeledExpand(HpkeSuiteId(suite_), exporter_secret_, "sec", exporter_context, length);
}

}  // namespace internal

// ---------------------------------------------------------------------------------------------
// Setup (RFC 9180 section 5.1.1 / 5.1.2) and the public context classes.

// HpkeContextFactory is the one place that turns key-schedule output into contexts; it is a
// friend of both context classes so their constructors stay private.
class HpkeContextFactory {
 public:
  static Result<std::unique_ptr<internal::HpkeContextCore>> MakeCore(
      const HpkeSuite& suite, internal::HpkeKeyScheduleOutput schedule) {
    std::unique_ptr<Aead> aead;
    if (!suite.is_export_only()) {
      EML_ASSIGN_OR_RETURN(aead, Aead::New(ToAeadAlgorithm(suite.aead()), schedule.key));
    }
    return std::make_unique<internal::HpkeContextCore>(suite, std::move(aead),
                                                       std::move(schedule.base_nonce),
                                                       std::move(schedule.exporter_secret));
  }

  static Result<HpkeSenderSetup> SetupSender(const HpkeSuite& suite, HpkeMode mode,
                                             const X25519PublicKey& pk_r,
                                             std::span<const uint8_t> info, const SecretBytes& psk,
                                             std::span<const uint8_t> psk_id,
                                             const X25519PrivateKey* sk_e_for_test) {
    // Check the PSK inputs before spending a key generation and a DH on a doomed setup.
    EML_RETURN_IF_ERROR(CheckPskInputs(mode, psk, psk_id));
    internal::HpkeEncapOutput encap;
    if (sk_e_for_test != nullptr) {
      EML_ASSIGN_OR_RETURN(encap, internal::HpkeEncap(pk_r, *sk_e_for_test));
    } else {
      EML_ASSIGN_OR_RETURN(X25519PrivateKey sk_e, X25519PrivateKey::Generate());
      EML_ASSIGN_OR_RETURN(encap, internal::HpkeEncap(pk_r, sk_e));
    }
    EML_ASSIGN_OR_RETURN(
        internal::HpkeKeyScheduleOutput schedule,
        internal::HpkeKeySchedule(suite, mode, encap.shared_secret, info, psk, psk_id));
    EML_ASSIGN_OR_RETURN(std::unique_ptr<internal::HpkeContextCore> core,
                         MakeCore(suite, std::move(schedule)));
    return HpkeSenderSetup{std::move(encap.enc), HpkeSenderContext(std::move(core))};
  }

  static Result<HpkeRecipientContext> SetupRecipient(const HpkeSuite& suite, HpkeMode mode,
                                                     std::span<const uint8_t> enc,
                                                     const X25519PrivateKey& sk_r,
                                                     std::span<const uint8_t> info,
                                                     const SecretBytes& psk,
                                                     std::span<const uint8_t> psk_id) {
    EML_RETURN_IF_ERROR(CheckPskInputs(mode, psk, psk_id));
    EML_ASSIGN_OR_RETURN(SecretBytes shared_secret, internal::HpkeDecap(enc, sk_r));
    EML_ASSIGN_OR_RETURN(internal::HpkeKeyScheduleOutput schedule,
                         internal::HpkeKeySchedule(suite, mode, shared_secret, info, psk, psk_id));
    EML_ASSIGN_OR_RETURN(std::unique_ptr<internal::HpkeContextCore> core,
                         MakeCore(suite, std::move(schedule)));
    return HpkeRecipientContext(std::move(core));
  }

 private:
  // The same checks HpkeKeySchedule makes, run first so that errors do not depend on the keys.
  static Status CheckPskInputs(HpkeMode mode, const SecretBytes& psk,
                               std::span<const uint8_t> psk_id) {
    if (mode == HpkeMode::kPsk && (psk.size() < kHpkeMinPskSize || psk_id.empty())) {
      return MakeError(ErrorCode::kHpkeBadPskInputs,
                       "psk mode needs a psk of >= 32 bytes and a non-empty psk_id");
    }
    return OkStatus();
  }
};

HpkeSenderContext::HpkeSenderContext(std::unique_ptr<internal::HpkeContextCore> core)
    : core_(std::move(core)) {}
HpkeSenderContext::HpkeSenderContext(HpkeSenderContext&&) noexcept = default;
HpkeSenderContext& HpkeSenderContext::operator=(HpkeSenderContext&&) noexcept = default;
HpkeSenderContext::~HpkeSenderContext() = default;

Result<std::vector<uint8_t>> HpkeSenderContext::Seal(std::span<const uint8_t> plaintext,
                                                     std::span<const uint8_t> aad) {
  EML_CHECK(core_ != nullptr);  // used after move
  return core_->Seal(plaintext, aad);
}

Result<SecretBytes> HpkeSenderContext::Export(std::span<const uint8_t> exporter_context,
                                              size_t length) const {
  EML_CHECK(core_ != nullptr);
  return core_->Export(exporter_context, length);
}

const HpkeSuite& HpkeSenderContext::suite() const {
  EML_CHECK(core_ != nullptr);
  return core_->suite();
}

uint64_t HpkeSenderContext::sequence_number() const {
  EML_CHECK(core_ != nullptr);
  return core_->seq();
}

void HpkeSenderContext::SetSequenceNumberForTest(uint64_t seq) {
  EML_CHECK(core_ != nullptr);
  core_->set_seq(seq);
}

HpkeRecipientContext::HpkeRecipientContext(std::unique_ptr<internal::HpkeContextCore> core)
    : core_(std::move(core)) {}
HpkeRecipientContext::HpkeRecipientContext(HpkeRecipientContext&&) noexcept = default;
HpkeRecipientContext& HpkeRecipientContext::operator=(HpkeRecipientContext&&) noexcept = default;
HpkeRecipientContext::~HpkeRecipientContext() = default;

Result<std::vector<uint8_t>> HpkeRecipientContext::Open(std::span<const uint8_t> ciphertext,
                                                        std::span<const uint8_t> aad) {
  EML_CHECK(core_ != nullptr);  // used after move
  return core_->Open(ciphertext, aad);
}

Result<SecretBytes> HpkeRecipientContext::Export(std::span<const uint8_t> exporter_context,
                                                 size_t length) const {
  EML_CHECK(core_ != nullptr);
  return core_->Export(exporter_context, length);
}

const HpkeSuite& HpkeRecipientContext::suite() const {
  EML_CHECK(core_ != nullptr);
  return core_->suite();
}

uint64_t HpkeRecipientContext::sequence_number() const {
  EML_CHECK(core_ != nullptr);
  return core_->seq();
}

void HpkeRecipientContext::SetSequenceNumberForTest(uint64_t seq) {
  EML_CHECK(core_ != nullptr);
  core_->set_seq(seq);
}

// ---------------------------------------------------------------------------------------------
// Public setup functions.

Result<HpkeSenderSetup> HpkeSetupBaseSender(const HpkeSuite& suite, const X25519PublicKey& pk_r,
                                            std::span<const uint8_t> info) {
  return HpkeContextFactory::SetupSender(suite, HpkeMode::kBase, pk_r, info, SecretBytes(), {},
                                         nullptr);
}

Result<HpkeRecipientContext> HpkeSetupBaseRecipient(const HpkeSuite& suite,
                                                    std::span<const uint8_t> enc,
                                                    const X25519PrivateKey& sk_r,
                                                    std::span<const uint8_t> info) {
  return HpkeContextFactory::SetupRecipient(suite, HpkeMode::kBase, enc, sk_r, info, SecretBytes(),
                                            {});
}

Result<HpkeSenderSetup> HpkeSetupPskSender(const HpkeSuite& suite, const X25519PublicKey& pk_r,
                                           std::span<const uint8_t> info, const SecretBytes& psk,
                                           std::span<const uint8_t> psk_id) {
  return HpkeContextFactory::SetupSender(suite, HpkeMode::kPsk, pk_r, info, psk, psk_id, nullptr);
}

Result<HpkeRecipientContext> HpkeSetupPskRecipient(
    const HpkeSuite& suite, std::span<const uint8_t> enc, const X25519PrivateKey& sk_r,
    std::span<const uint8_t> info, const SecretBytes& psk, std::span<const uint8_t> psk_id) {
  return HpkeContextFactory::SetupRecipient(suite, HpkeMode::kPsk, enc, sk_r, info, psk, psk_id);
}

Result<HpkeSenderSetup> HpkeSetupBaseSenderForTest(const HpkeSuite& suite,
                                                   const X25519PublicKey& pk_r,
                                                   std::span<const uint8_t> info,
                                                   const X25519PrivateKey& sk_e) {
  return HpkeContextFactory::SetupSender(suite, HpkeMode::kBase, pk_r, info, SecretBytes(), {},
                                         &sk_e);
}

Result<HpkeSenderSetup> HpkeSetupPskSenderForTest(
    const HpkeSuite& suite, const X25519PublicKey& pk_r, std::span<const uint8_t> info,
    const SecretBytes& psk, std::span<const uint8_t> psk_id, const X25519PrivateKey& sk_e) {
  return HpkeContextFactory::SetupSender(suite, HpkeMode::kPsk, pk_r, info, psk, psk_id, &sk_e);
}

Result<HpkeSealed> HpkeSeal(const HpkeSuite& suite, const X25519PublicKey& pk_r,
                            std::span<const uint8_t> info, std::span<const uint8_t> aad,
                            std::span<const uint8_t> plaintext) {
  EML_RETURN_IF_ERROR(CheckNotExportOnly(suite));
  EML_ASSIGN_OR_RETURN(HpkeSenderSetup setup, HpkeSetupBaseSender(suite, pk_r, info));
  EML_ASSIGN_OR_RETURN(std::vector<uint8_t> ciphertext, setup.context.Seal(plaintext, aad));
  return HpkeSealed{std::move(setup.enc), std::move(ciphertext)};
}

Result<std::vector<uint8_t>> HpkeOpen(const HpkeSuite& suite, std::span<const uint8_t> enc,
                                      const X25519PrivateKey& sk_r, std::span<const uint8_t> info,
                                      std::span<const uint8_t> aad,
                                      std::span<const uint8_t> ciphertext) {
  EML_RETURN_IF_ERROR(CheckNotExportOnly(suite));
  EML_ASSIGN_OR_RETURN(HpkeRecipientContext context,
                       HpkeSetupBaseRecipient(suite, enc, sk_r, info));
  return context.Open(ciphertext, aad);
}

Result<X25519PrivateKey> HpkeDeriveKeyPair(const HpkeSuite& suite, const SecretBytes& ikm) {
  EML_CHECK(suite.kem() == HpkeKem::kDhkemX25519HkdfSha256);  // the only KEM Create admits
  EML_ASSIGN_OR_RETURN(SecretBytes sk, internal::HpkeDeriveX25519SecretKey(ikm));
  return X25519PrivateKey::FromBytes(sk);
}

}  // namespace eml::crypto
