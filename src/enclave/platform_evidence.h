#pragma once
// Posture: the sources read bytes from inside the TEE, from the platform's own interfaces:
// NSM responses (attest/nitro/nsm.h limits; fuzz target attest_nsm_response), configfs-tsm
// blobs (attest/tsm/tsm_provider.h caps; at creation the TDX quote is parsed by
// attest::tdx::ParseQuote, fuzz target attest_tdx_quote) and the launcher's HTTP answer
// (attest/gcp/token_client.h cap). The evidence is carried, not verified: verifiers do that.
//
// eml::enclave hardware evidence sources (DESIGN.md section 5; docs/attestation.md "Evidence
// envelope"): the EvidenceSource implementations for real TEEs, and the factory the enclave's
// --platform flag uses.
//
//   NitroEvidenceSource  AWS Nitro: Nitro attestation documents from the NSM (/dev/nsm), which
//                        carry public_key, nonce and user_data themselves. Measurements:
//                        PCR0, PCR1, PCR2 read with DescribePCR at creation, type "nitro-pcr".
//   TsmEvidenceSource    Intel TDX / AMD SEV-SNP through configfs-tsm: evidence envelopes
//                        (attest/envelope.h) around a quote / report whose report data is
//                        BindingDigest(public_key, BoundNonce(nonce, user_data)). TDX
//                        measurements come from one quote made at creation: MRTD, RTMR0, RTMR1,
//                        RTMR2 as pcr0..pcr3 of type "tdx-mrtd-rtmr" (AIR v1 section 4.2).
//                        RTMR3 is left out: software in the TD may extend it at run time, which
//                        would break every later receipt's MEASUREMENTS check.
//   GcpEvidenceSource    Confidential Space: evidence envelopes around a launcher token whose
//                        eat_nonce is GcpBindingNonce(public_key, BoundNonce(nonce, user_data)).
// AIR v1 registers measurement types only for Nitro PCRs and TDX registers, so SEV-SNP and
// Confidential Space sources report an empty measurement_type: they attest (handshakes, key
// release), but a Service refuses them (it cannot issue receipts that AIR v1 can express).
// All of them report security_mode "production".
//
// Thread safety: every source is safe to call concurrently (NitroEvidenceSource serialises its
// NSM calls; configfs-tsm and the token socket take one request per call).

#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "air/claims.h"
#include "attest/gcp/token_client.h"
#include "attest/nitro/nsm.h"
#include "attest/nitro/nsm_device.h"
#include "attest/tsm/tsm_provider.h"
#include "common/result.h"
#include "enclave/evidence.h"

namespace eml::enclave {

inline constexpr std::string_view kPlatformAwsNitro = "aws-nitro";
inline constexpr std::string_view kPlatformTdx = "tdx";
inline constexpr std::string_view kPlatformSevSnp = "sev-snp";
inline constexpr std::string_view kPlatformGcpCs = "gcp-cs";

// NitroEvidenceSource: see the file comment.
class NitroEvidenceSource final : public EvidenceSource {
 public:
  // Create reads PCR0..2 through `transport` (48 bytes each). Errors: the transport's,
  // ParseDescribePcrResponse's, kNsmMalformedResponse (a PCR that is not 48 bytes).
  static Result<std::unique_ptr<NitroEvidenceSource>> Create(
      std::unique_ptr<attest::nitro::NsmTransport> transport, std::string issuer);

  // Attest asks the NSM for a document; an empty user_data is left out. Errors:
  // kNsmBadRequest (a field over the NSM's 1 KiB bounds) and NsmClient::Attest's.
  Result<std::vector<uint8_t>> Attest(std::optional<std::span<const uint8_t>> public_key,
                                      std::optional<std::span<const uint8_t>> nonce,
                                      std::span<const uint8_t> user_data) const override;
  std::string_view platform() const override { return kPlatformAwsNitro; }
  const air::Measurements& measurements() const override { return measurements_; }
  std::string_view security_mode() const override { return air::kSecurityModeProduction; }
  const std::string& issuer() const override { return issuer_; }

 private:
  NitroEvidenceSource(std::unique_ptr<attest::nitro::NsmTransport> transport, std::string issuer)
      : transport_(std::move(transport)), issuer_(std::move(issuer)) {}

  mutable std::mutex mutex_;  // one NSM call at a time
  std::unique_ptr<attest::nitro::NsmTransport> transport_;
  air::Measurements measurements_;
  std::string issuer_;
};

// TsmEvidenceSource: see the file comment.
class TsmEvidenceSource final : public EvidenceSource {
 public:
  // Create opens configfs-tsm at options.root for `platform` (kPlatformTdx or kPlatformSevSnp;
  // options.expected_provider is set to match) and, for TDX, reads the measurements from one
  // quote. Errors: kInvalidArgument (another platform), TsmProvider::Create's and Attest's,
  // ParseQuote's codes for a TDX outblob that is not a quote.
  static Result<std::unique_ptr<TsmEvidenceSource>> Create(std::string_view platform,
                                                           attest::tsm::TsmOptions options,
                                                           std::string issuer);

  // Attest returns an envelope (absent key / nonce = empty). Errors: TsmProvider::Attest's,
  // EncodeEnvelope's (kEnvelopeTooLarge).
  Result<std::vector<uint8_t>> Attest(std::optional<std::span<const uint8_t>> public_key,
                                      std::optional<std::span<const uint8_t>> nonce,
                                      std::span<const uint8_t> user_data) const override;
  std::string_view platform() const override { return platform_; }
  const air::Measurements& measurements() const override { return measurements_; }
  std::string_view security_mode() const override { return air::kSecurityModeProduction; }
  const std::string& issuer() const override { return issuer_; }

 private:
  TsmEvidenceSource(std::string platform, attest::tsm::TsmProvider provider, std::string issuer)
      : platform_(std::move(platform)),
        provider_(std::move(provider)),
        issuer_(std::move(issuer)) {}

  std::string platform_;
  attest::tsm::TsmProvider provider_;
  air::Measurements measurements_;
  std::string issuer_;
};

// GcpEvidenceSource: see the file comment.
class GcpEvidenceSource final : public EvidenceSource {
 public:
  // GcpEvidenceSource asks the launcher at options.socket_path for tokens with `audience` and
  // `token_type` ("PKI" or "OIDC"); both are checked on each Attest.
  GcpEvidenceSource(attest::gcp::TokenClientOptions options, std::string audience,
                    std::string token_type, std::string issuer)
      : client_(std::move(options)),
        audience_(std::move(audience)),
        token_type_(std::move(token_type)),
        issuer_(std::move(issuer)) {}

  // Attest returns an envelope around a fresh token. Errors: TokenClient::AttestBinding's,
  // EncodeEnvelope's.
  Result<std::vector<uint8_t>> Attest(std::optional<std::span<const uint8_t>> public_key,
                                      std::optional<std::span<const uint8_t>> nonce,
                                      std::span<const uint8_t> user_data) const override;
  std::string_view platform() const override { return kPlatformGcpCs; }
  const air::Measurements& measurements() const override { return measurements_; }
  std::string_view security_mode() const override { return air::kSecurityModeProduction; }
  const std::string& issuer() const override { return issuer_; }

 private:
  attest::gcp::TokenClient client_;
  std::string audience_;
  std::string token_type_;
  air::Measurements measurements_;  // empty: AIR v1 has no type for Confidential Space
  std::string issuer_;
};

// What CreatePlatformEvidenceSource needs; each platform reads only its own fields.
struct PlatformEvidenceOptions {
  // platform: "aws-nitro" (or "nitro"), "tdx", "sev-snp" or "gcp-cs". The sim platform is
  // SimEvidenceSource's (it needs a state directory), not this factory's.
  std::string platform;
  std::string nsm_device_path = attest::nitro::kNsmDevicePath;
  std::filesystem::path configfs_tsm_root = attest::tsm::kDefaultConfigfsTsmRoot;
  std::filesystem::path token_socket_path = attest::gcp::kDefaultLauncherSocket;
  std::string audience;            // gcp-cs: required
  std::string token_type = "PKI";  // gcp-cs: "PKI" or "OIDC"
  // issuer: receipts' iss; empty gives "ephemeralml-enclave/<platform>".
  std::string issuer;
};

// CreatePlatformEvidenceSource opens the source for options.platform on this machine.
// Errors: kInvalidArgument (unknown platform, "sim", gcp-cs without an audience or with a
// token_type other than PKI / OIDC), kNsmDeviceError (no /dev/nsm), kTsmUnavailable (no
// configfs-tsm), and the sources' Create errors.
Result<std::unique_ptr<EvidenceSource>> CreatePlatformEvidenceSource(
    const PlatformEvidenceOptions& options);

}  // namespace eml::enclave
