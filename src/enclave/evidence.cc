#include "enclave/evidence.h"

#include <chrono>
#include <map>
#include <utility>

#include "crypto/hash.h"

namespace eml::enclave {
namespace {

uint64_t SystemNowMs() {
  const auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch).count());
}

std::vector<uint8_t> PcrOrEmpty(const std::map<uint32_t, std::vector<uint8_t>>& pcrs,
                                uint32_t index) {
  const auto it = pcrs.find(index);
  return it == pcrs.end() ? std::vector<uint8_t>{} : it->second;
}

std::optional<std::vector<uint8_t>> Copy(std::optional<std::span<const uint8_t>> bytes) {
  if (!bytes.has_value()) {
    return std::nullopt;
  }
  return std::vector<uint8_t>(bytes->begin(), bytes->end());
}

}  // namespace

SimEvidenceSource::SimEvidenceSource(attest::sim::SimProvider provider, NowMs now_ms)
    : provider_(std::make_shared<const attest::sim::SimProvider>(std::move(provider))),
      now_ms_(now_ms ? std::move(now_ms) : NowMs(SystemNowMs)) {
  measurements_.measurement_type = std::string(air::kMeasurementTypeNitro);
  measurements_.pcr0 = PcrOrEmpty(provider_->pcrs(), 0);
  measurements_.pcr1 = PcrOrEmpty(provider_->pcrs(), 1);
  measurements_.pcr2 = PcrOrEmpty(provider_->pcrs(), 2);
  issuer_ = "ephemeralml-enclave/" + provider_->module_id();
}

std::shared_ptr<const attest::sim::SimProvider> SimEvidenceSource::provider() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return provider_;
}

Result<std::shared_ptr<const attest::sim::SimProvider>> SimEvidenceSource::CurrentProvider(
    int64_t now_s) const {
  std::lock_guard<std::mutex> lock(mutex_);
  if (now_s < provider_->leaf().not_after_unix() - kRenewBeforeS) {
    return provider_;
  }
  Result<attest::sim::SimProvider> renewed = provider_->Renewed(now_s);
  if (renewed.has_value()) {
    provider_ = std::make_shared<const attest::sim::SimProvider>(*std::move(renewed));
  } else if (now_s >= provider_->leaf().not_after_unix()) {
    return renewed.error();  // the old leaf cannot sign any more: say why renewal failed
  }
  return provider_;
}

Result<std::vector<uint8_t>> SimEvidenceSource::Attest(
    std::optional<std::span<const uint8_t>> public_key,
    std::optional<std::span<const uint8_t>> nonce, std::span<const uint8_t> user_data) const {
  attest::sim::AttestationRequest request;
  request.public_key = Copy(public_key);
  request.nonce = Copy(nonce);
  request.user_data = std::vector<uint8_t>(user_data.begin(), user_data.end());
  const uint64_t now_ms = now_ms_();
  EML_ASSIGN_OR_RETURN(std::shared_ptr<const attest::sim::SimProvider> provider,
                       CurrentProvider(static_cast<int64_t>(now_ms / 1000)));
  return provider->Attest(request, now_ms);
}

Result<std::vector<uint8_t>> HandshakeAttester::Attest(std::span<const uint8_t> nonce,
                                                       std::span<const uint8_t> public_key) {
  EML_ASSIGN_OR_RETURN(std::vector<uint8_t> document,
                       source_->Attest(public_key, nonce, user_data_));
  document_sha256_ = crypto::Sha256(document);
  public_key_.assign(public_key.begin(), public_key.end());
  document_ = document;
  return document;
}

}  // namespace eml::enclave
