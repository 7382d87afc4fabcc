#pragma once
// eml::enclave evidence: where the enclave's attestation documents come from, and the adapter
// that lets the channel handshake attest through it.
//
// EvidenceSource is the platform seam (sim today; /dev/nsm and configfs-tsm later): it makes a
// document binding an optional public key, an optional nonce and the enclave's user_data, and
// reports the measurements and security mode that receipts must repeat. SimEvidenceSource runs
// attest::sim::SimProvider (Nitro-format documents under the local sim root).
//
// HandshakeAttester is a channel::AttestationProvider for ONE session: the handshake asks it to
// bind the responder's ephemeral X25519 key and nonce; it adds the enclave's user_data (receipt
// key, protocol 4, loaded models; protocol::UserData) and remembers the document it made, so the
// session's receipts can carry attestation_doc_hash = SHA-256 of exactly that document and the
// "evidence" op can mint a fresh document for the same key and user_data.
//
// Thread safety: EvidenceSource implementations are safe to call concurrently. A
// HandshakeAttester belongs to one session thread.

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "air/claims.h"
#include "attest/sim/sim_provider.h"
#include "channel/attestation.h"
#include "common/result.h"

namespace eml::enclave {

inline constexpr std::string_view kPlatformSim = "sim";

class EvidenceSource {
 public:
  virtual ~EvidenceSource() = default;
  // Attest returns a new document binding the given values (absent ones are left out).
  // Errors: the platform's (for sim: kInvalidArgument for a field over the Nitro limits or a
  // time outside the signing certificate's validity; crypto errors).
  virtual Result<std::vector<uint8_t>> Attest(std::optional<std::span<const uint8_t>> public_key,
                                              std::optional<std::span<const uint8_t>> nonce,
                                              std::span<const uint8_t> user_data) const = 0;
  // platform: the evidence platform name ("sim").
  virtual std::string_view platform() const = 0;
  // measurements: the values receipts carry as enclave_measurements (the attested ones).
  virtual const air::Measurements& measurements() const = 0;
  // security_mode: kSecurityModeEvaluation for sim, kSecurityModeProduction on hardware.
  virtual std::string_view security_mode() const = 0;
  // issuer: a stable name of this enclave instance (receipts' iss).
  virtual const std::string& issuer() const = 0;
};

// SimEvidenceSource: sim documents. Receipts from it are "evaluation": the sim root proves
// nothing about hardware. Measurements are PCR0, PCR1 and PCR2 of the provider, type
// "nitro-pcr" (the sim format is Nitro's). The provider's leaf lives kLeafLifetimeS (3 h); from
// kRenewBeforeS before its end, Attest renews it (SimProvider::Renewed: same root, PCRs and
// module id) so an enclave keeps attesting for as long as it runs. A failed renewal is
// retried on the next Attest while the old leaf is still valid, then reported.
class SimEvidenceSource final : public EvidenceSource {
 public:
  // NowMs returns Unix milliseconds (the document timestamp).
  using NowMs = std::function<uint64_t()>;

  // SimEvidenceSource takes the provider; `now_ms` defaults to the system clock.
  explicit SimEvidenceSource(attest::sim::SimProvider provider, NowMs now_ms = {});

  Result<std::vector<uint8_t>> Attest(std::optional<std::span<const uint8_t>> public_key,
                                      std::optional<std::span<const uint8_t>> nonce,
                                      std::span<const uint8_t> user_data) const override;
  std::string_view platform() const override { return kPlatformSim; }
  const air::Measurements& measurements() const override { return measurements_; }
  std::string_view security_mode() const override { return air::kSecurityModeEvaluation; }
  const std::string& issuer() const override { return issuer_; }

  // provider: the provider in use now (renewal replaces it; the PCRs and root never change).
  std::shared_ptr<const attest::sim::SimProvider> provider() const;

  static constexpr int64_t kRenewBeforeS = 15 * 60;

 private:
  // CurrentProvider returns a provider whose leaf is valid for at least kRenewBeforeS after
  // `now_s` when renewal works, else the current one while its leaf lasts, else the renewal's
  // error.
  Result<std::shared_ptr<const attest::sim::SimProvider>> CurrentProvider(int64_t now_s) const;

  mutable std::mutex mutex_;
  mutable std::shared_ptr<const attest::sim::SimProvider> provider_;  // guarded by mutex_
  NowMs now_ms_;
  air::Measurements measurements_;
  std::string issuer_;
};

// HandshakeAttester: see the file comment. `source` must outlive it; `user_data` is copied.
class HandshakeAttester final : public channel::AttestationProvider {
 public:
  HandshakeAttester(const EvidenceSource* source, std::span<const uint8_t> user_data)
      : source_(source), user_data_(user_data.begin(), user_data.end()) {}

  // Attest binds `public_key` and `nonce` (and the user_data) and records the document.
  // Errors: the source's.
  Result<std::vector<uint8_t>> Attest(std::span<const uint8_t> nonce,
                                      std::span<const uint8_t> public_key) override;

  // has_document: Attest succeeded at least once. The accessors below describe the latest one.
  bool has_document() const { return !document_.empty(); }
  const std::vector<uint8_t>& document() const EML_LIFETIME_BOUND { return document_; }
  const std::vector<uint8_t>& public_key() const EML_LIFETIME_BOUND { return public_key_; }
  const std::array<uint8_t, 32>& document_sha256() const EML_LIFETIME_BOUND {
    return document_sha256_;
  }

 private:
  const EvidenceSource* source_;
  std::vector<uint8_t> user_data_;
  std::vector<uint8_t> document_;
  std::vector<uint8_t> public_key_;
  std::array<uint8_t, 32> document_sha256_{};
};

}  // namespace eml::enclave
