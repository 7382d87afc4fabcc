#pragma once
// AIR v1 claims (reference/air-v1/claim-mapping.md, cddl/air-v1.cddl): the typed claim set, the
// wire constants, and the rules a claim set must meet to be issued.
//
// Claims holds values exactly as they travel: text claims as UTF-8 strings (measurement_type,
// security_mode and model_hash_scheme included, so a verifier can hold and report an unknown
// value), fixed-size hashes as arrays, PCR values as byte vectors (their 48-byte rule is a
// layer-3 check). eat_profile is not a field: it is always kEatProfileUri.
// Thread safety: plain data and pure functions.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cbor/value.h"
#include "common/result.h"

namespace eml::air {

inline constexpr std::string_view kEatProfileUri = "https://spec.cyntrisec.com/air/v1";
inline constexpr size_t kMaxReceiptBytes = 65536;
// The protected header every AIR v1 receipt carries: {1: -8 (EdDSA), 3: 61 (application/cwt)}.
inline constexpr std::array<uint8_t, 6> kProtectedHeaderBytes = {0xa2, 0x01, 0x27,
                                                                 0x03, 0x18, 0x3d};
inline constexpr int64_t kAlgEdDSA = -8;
inline constexpr uint64_t kContentTypeCwt = 61;

// Claim keys.
inline constexpr int64_t kKeyIss = 1;
inline constexpr int64_t kKeyIat = 6;
inline constexpr int64_t kKeyCti = 7;
inline constexpr int64_t kKeyEatNonce = 10;
inline constexpr int64_t kKeyEatProfile = 265;
inline constexpr int64_t kKeyModelId = -65537;
inline constexpr int64_t kKeyModelVersion = -65538;
inline constexpr int64_t kKeyModelHash = -65539;
inline constexpr int64_t kKeyRequestHash = -65540;
inline constexpr int64_t kKeyResponseHash = -65541;
inline constexpr int64_t kKeyAttestationDocHash = -65542;
inline constexpr int64_t kKeyEnclaveMeasurements = -65543;
inline constexpr int64_t kKeyPolicyVersion = -65544;
inline constexpr int64_t kKeySequenceNumber = -65545;
inline constexpr int64_t kKeyExecutionTimeMs = -65546;
inline constexpr int64_t kKeyMemoryPeakMb = -65547;
inline constexpr int64_t kKeySecurityMode = -65548;
inline constexpr int64_t kKeyModelHashScheme = -65549;

// Bounds (bytes of UTF-8; every text claim is also non-empty).
inline constexpr size_t kMaxIssBytes = 256;
inline constexpr size_t kMaxModelIdBytes = 256;
inline constexpr size_t kMaxModelVersionBytes = 128;
inline constexpr size_t kMaxPolicyVersionBytes = 256;
inline constexpr size_t kMaxSecurityModeBytes = 64;
inline constexpr size_t kMaxModelHashSchemeBytes = 64;
inline constexpr size_t kMinNonceBytes = 8;
inline constexpr size_t kMaxNonceBytes = 64;
inline constexpr size_t kPcrBytes = 48;
inline constexpr size_t kHashBytes = 32;
inline constexpr size_t kCtiBytes = 16;

// Registered values.
inline constexpr std::string_view kMeasurementTypeNitro = "nitro-pcr";
inline constexpr std::string_view kMeasurementTypeTdx = "tdx-mrtd-rtmr";
inline constexpr std::string_view kSecurityModeProduction = "production";
inline constexpr std::string_view kSecurityModeEvaluation = "evaluation";
// The pre-v1 spelling some reference receipts carry; rejected unless a policy maps it.
inline constexpr std::string_view kSecurityModeLegacyGatewayOnly = "GatewayOnly";
inline constexpr std::string_view kSchemeSha256Single = "sha256-single";
inline constexpr std::string_view kSchemeSha256Concat = "sha256-concat";
inline constexpr std::string_view kSchemeSha256Manifest = "sha256-manifest";

using Sha256Digest = std::array<uint8_t, kHashBytes>;
using Cti = std::array<uint8_t, kCtiBytes>;

struct Measurements {
  std::string measurement_type;              // kMeasurementTypeNitro or kMeasurementTypeTdx
  std::vector<uint8_t> pcr0;                 // Nitro PCR0 / TDX MRTD
  std::vector<uint8_t> pcr1;                 // Nitro PCR1 / TDX RTMR0
  std::vector<uint8_t> pcr2;                 // Nitro PCR2 / TDX RTMR1
  std::optional<std::vector<uint8_t>> pcr3;  // Nitro PCR3 / TDX RTMR2
  std::optional<std::vector<uint8_t>> pcr4;  // Nitro PCR4 / TDX RTMR3
  std::optional<std::vector<uint8_t>> pcr8;  // Nitro only

  friend bool operator==(const Measurements&, const Measurements&) = default;
};

struct Claims {
  std::string iss;
  uint64_t iat = 0;                               // Unix seconds, non-zero
  Cti cti{};                                      // UUID v4 bytes, not all zero
  std::optional<std::vector<uint8_t>> eat_nonce;  // 8..64 bytes when present
  std::string model_id;
  std::string model_version;
  Sha256Digest model_hash{};  // not all zero
  Sha256Digest request_hash{};
  Sha256Digest response_hash{};
  Sha256Digest attestation_doc_hash{};
  Measurements enclave_measurements;
  std::string policy_version;
  uint64_t sequence_number = 0;
  uint64_t execution_time_ms = 0;
  uint64_t memory_peak_mb = 0;
  std::string security_mode;                     // kSecurityModeProduction / ...Evaluation
  std::optional<std::string> model_hash_scheme;  // one of kSchemeSha256*

  friend bool operator==(const Claims&, const Claims&) = default;
};

// ClaimName: the spec's name of claim `key` ("iss", "model_hash", ...), or nullopt.
std::optional<std::string_view> ClaimName(int64_t key);

// IsKnownMeasurementType / IsKnownSecurityMode / IsKnownModelHashScheme: registered values.
bool IsKnownMeasurementType(std::string_view value);
bool IsKnownSecurityMode(std::string_view value);
bool IsKnownModelHashScheme(std::string_view value);

// ValidateClaims checks every AIR v1 rule on `claims`: text bounds, iat != 0, cti and model_hash
// not all zero, nonce length, known measurement type / security mode / hash scheme, PCR lengths,
// no pcr8 with TDX. Errors: kAirInvalidClaims (detail names the claim).
Status ValidateClaims(const Claims& claims);

// ClaimsToCbor builds the claims map (eat_profile included). It does not validate.
cbor::Value ClaimsToCbor(const Claims& claims);

// EncodeClaims returns the deterministic CBOR payload for `claims` after ValidateClaims.
// Errors: kAirInvalidClaims.
Result<std::vector<uint8_t>> EncodeClaims(const Claims& claims);

}  // namespace eml::air
