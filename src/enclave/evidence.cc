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
    : provider_(std::move(provider)), now_ms_(now_ms ? std::move(now_ms) : NowMs(SystemNowMs)) {
  measurements_.measurement_type = std::string(air::kMeasurementTypeNitro);
  measurements_.pcr0 = PcrOrEmpty(provider_.pcrs(), 0);
  measurements_.pcr1 = PcrOrEmpty(provider_.pcrs(), 1);
  measurements_.pcr2 = PcrOrEmpty(provider_.pcrs(), 2);
  issuer_ = "ephemeralml-enclave/" + provider_.module_id();
}

Result<std::vector<uint8_t>> SimEvidenceSource::Attest(
    std::optional<std::span<const uint8_t>> public_key,
    std::optional<std::span<const uint8_t>> nonce, std::span<const uint8_t> user_data) const {
  attest::sim::AttestationRequest request;
  request.public_key = Copy(public_key);
  request.nonce = Copy(nonce);
  request.user_data = std::vector<uint8_t>(user_data.begin(), user_data.end());
  return provider_.Attest(request, now_ms_());
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
