#include "enclave/platform_evidence.h"

#include <utility>

#include "attest/envelope.h"
#include "attest/report_binding.h"
#include "attest/tdx/quote.h"

namespace eml::enclave {
namespace {

constexpr char kIssuerPrefix[] = "ephemeralml-enclave/";

std::vector<uint8_t> CopyOrEmpty(std::optional<std::span<const uint8_t>> bytes) {
  return bytes.has_value() ? std::vector<uint8_t>(bytes->begin(), bytes->end())
                           : std::vector<uint8_t>{};
}

std::optional<std::vector<uint8_t>> CopyOptional(std::optional<std::span<const uint8_t>> bytes) {
  if (!bytes.has_value()) {
    return std::nullopt;
  }
  return std::vector<uint8_t>(bytes->begin(), bytes->end());
}

// Wrap builds the envelope for evidence that binds (key, BoundNonce(nonce, user_data)).
Result<std::vector<uint8_t>> Wrap(std::string_view platform, std::vector<uint8_t> evidence,
                                  std::vector<uint8_t> public_key, std::vector<uint8_t> nonce,
                                  std::span<const uint8_t> user_data) {
  attest::EvidenceEnvelope envelope;
  envelope.platform = std::string(platform);
  envelope.evidence = std::move(evidence);
  envelope.public_key = std::move(public_key);
  envelope.nonce = std::move(nonce);
  envelope.user_data.assign(user_data.begin(), user_data.end());
  return attest::EncodeEnvelope(envelope);
}

std::vector<uint8_t> Copy(std::span<const uint8_t> bytes) {
  return std::vector<uint8_t>(bytes.begin(), bytes.end());
}

}  // namespace

// ---- Nitro ---------------------------------------------------------------------------------

Result<std::unique_ptr<NitroEvidenceSource>> NitroEvidenceSource::Create(
    std::unique_ptr<attest::nitro::NsmTransport> transport, std::string issuer) {
  std::unique_ptr<NitroEvidenceSource> source(
      new NitroEvidenceSource(std::move(transport), std::move(issuer)));
  attest::nitro::NsmClient client(source->transport_.get());
  std::vector<uint8_t>* slots[] = {&source->measurements_.pcr0, &source->measurements_.pcr1,
                                   &source->measurements_.pcr2};
  for (uint16_t index = 0; index < 3; ++index) {
    EML_ASSIGN_OR_RETURN(attest::nitro::PcrDescription pcr, client.DescribePcr(index));
    if (pcr.data.size() != air::kPcrBytes) {
      return Error{ErrorCode::kNsmMalformedResponse,
                   "PCR" + std::to_string(index) + " is not a SHA-384 value"};
    }
    *slots[index] = std::move(pcr.data);
  }
  source->measurements_.measurement_type = std::string(air::kMeasurementTypeNitro);
  return source;
}

Result<std::vector<uint8_t>> NitroEvidenceSource::Attest(
    std::optional<std::span<const uint8_t>> public_key,
    std::optional<std::span<const uint8_t>> nonce, std::span<const uint8_t> user_data) const {
  attest::nitro::NsmAttestationRequest request;
  request.public_key = CopyOptional(public_key);
  request.nonce = CopyOptional(nonce);
  if (!user_data.empty()) {
    request.user_data = Copy(user_data);
  }
  std::lock_guard<std::mutex> lock(mutex_);
  attest::nitro::NsmClient client(transport_.get());
  return client.Attest(request);
}

// ---- configfs-tsm (TDX, SEV-SNP) -----------------------------------------------------------

Result<std::unique_ptr<TsmEvidenceSource>> TsmEvidenceSource::Create(
    std::string_view platform, attest::tsm::TsmOptions options, std::string issuer) {
  if (platform == kPlatformTdx) {
    options.expected_provider = attest::tsm::kProviderTdx;
  } else if (platform == kPlatformSevSnp) {
    options.expected_provider = attest::tsm::kProviderSevSnp;
  } else {
    return Error{ErrorCode::kInvalidArgument, "configfs-tsm serves tdx or sev-snp only"};
  }
  EML_ASSIGN_OR_RETURN(attest::tsm::TsmProvider provider,
                       attest::tsm::TsmProvider::Create(std::move(options)));
  std::unique_ptr<TsmEvidenceSource> source(
      new TsmEvidenceSource(std::string(platform), std::move(provider), std::move(issuer)));
  if (platform == kPlatformTdx) {
    // The TD's registers as the TDX module reports them now (nothing bound).
    EML_ASSIGN_OR_RETURN(std::vector<uint8_t> quote, source->provider_.Attest({}, {}));
    EML_ASSIGN_OR_RETURN(attest::tdx::ParsedQuote parsed, attest::tdx::ParseQuote(quote));
    air::Measurements& m = source->measurements_;
    m.measurement_type = std::string(air::kMeasurementTypeTdx);
    m.pcr0 = Copy(parsed.body.mrtd);
    m.pcr1 = Copy(parsed.body.rtmr[0]);
    m.pcr2 = Copy(parsed.body.rtmr[1]);
    m.pcr3 = Copy(parsed.body.rtmr[2]);
  }
  return source;
}

Result<std::vector<uint8_t>> TsmEvidenceSource::Attest(
    std::optional<std::span<const uint8_t>> public_key,
    std::optional<std::span<const uint8_t>> nonce, std::span<const uint8_t> user_data) const {
  std::vector<uint8_t> key = CopyOrEmpty(public_key);
  std::vector<uint8_t> plain_nonce = CopyOrEmpty(nonce);
  EML_ASSIGN_OR_RETURN(std::vector<uint8_t> evidence,
                       provider_.Attest(key, attest::BoundNonce(plain_nonce, user_data)));
  return Wrap(platform_, std::move(evidence), std::move(key), std::move(plain_nonce), user_data);
}

// ---- Confidential Space --------------------------------------------------------------------

Result<std::vector<uint8_t>> GcpEvidenceSource::Attest(
    std::optional<std::span<const uint8_t>> public_key,
    std::optional<std::span<const uint8_t>> nonce, std::span<const uint8_t> user_data) const {
  std::vector<uint8_t> key = CopyOrEmpty(public_key);
  std::vector<uint8_t> plain_nonce = CopyOrEmpty(nonce);
  EML_ASSIGN_OR_RETURN(std::string token,
                       client_.AttestBinding(audience_, token_type_, key,
                                             attest::BoundNonce(plain_nonce, user_data)));
  return Wrap(kPlatformGcpCs, std::vector<uint8_t>(token.begin(), token.end()), std::move(key),
              std::move(plain_nonce), user_data);
}

// ---- Factory (the wiring table of STYLE L3) ------------------------------------------------

Result<std::unique_ptr<EvidenceSource>> CreatePlatformEvidenceSource(
    const PlatformEvidenceOptions& options) {
  const std::string platform =
      options.platform == "nitro" ? std::string(kPlatformAwsNitro) : options.platform;
  const std::string issuer = options.issuer.empty() ? kIssuerPrefix + platform : options.issuer;
  if (platform == kPlatformAwsNitro) {
    EML_ASSIGN_OR_RETURN(std::unique_ptr<attest::nitro::DevNsm> nsm,
                         attest::nitro::DevNsm::Open(options.nsm_device_path));
    EML_ASSIGN_OR_RETURN(std::unique_ptr<NitroEvidenceSource> source,
                         NitroEvidenceSource::Create(std::move(nsm), issuer));
    return std::unique_ptr<EvidenceSource>(std::move(source));
  }
  if (platform == kPlatformTdx || platform == kPlatformSevSnp) {
    attest::tsm::TsmOptions tsm;
    tsm.root = options.configfs_tsm_root;
    EML_ASSIGN_OR_RETURN(std::unique_ptr<TsmEvidenceSource> source,
                         TsmEvidenceSource::Create(platform, std::move(tsm), issuer));
    return std::unique_ptr<EvidenceSource>(std::move(source));
  }
  if (platform == kPlatformGcpCs) {
    if (options.audience.empty()) {
      return Error{ErrorCode::kInvalidArgument, "gcp-cs evidence needs an audience"};
    }
    if (options.token_type != "PKI" && options.token_type != "OIDC") {
      return Error{ErrorCode::kInvalidArgument, "gcp-cs token type must be PKI or OIDC"};
    }
    attest::gcp::TokenClientOptions client;
    client.socket_path = options.token_socket_path;
    return std::unique_ptr<EvidenceSource>(std::make_unique<GcpEvidenceSource>(
        std::move(client), options.audience, options.token_type, issuer));
  }
  return Error{ErrorCode::kInvalidArgument,
               "platform must be aws-nitro, tdx, sev-snp or gcp-cs (sim has its own source)"};
}

}  // namespace eml::enclave
