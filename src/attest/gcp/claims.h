#pragma once
// Posture: DecodeClaims reads untrusted bytes (the payload of a Confidential Space token, as
// ParseJwt returns it); strings, arrays and times are bounded by the constants below, unknown
// claims are ignored (Google adds claims over time). Fuzz target: attest_gcp_jwt.
//
// eml::attest::gcp::Claims: the claims of a Google Confidential Space attestation token that
// the verifier checks or reports (Google's "token claims" reference). Decoding checks form
// only; GcpVerifier judges values.
//
// Thread safety: pure functions over values.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace eml::attest::gcp {

inline constexpr size_t kMaxClaimStringBytes = 2048;
inline constexpr size_t kMaxClaimArrayEntries = 16;
inline constexpr size_t kMaxNonceClaimBytes = 512;
// Latest time accepted anywhere (9999-12-31T23:59:59Z), so seconds * 1000 cannot overflow.
inline constexpr int64_t kMaxTimeUnix = 253402300799;

struct Claims {
  std::string issuer;                      // iss
  std::vector<std::string> audiences;      // aud: one string or an array of them
  int64_t issued_at_unix = 0;              // iat
  int64_t expires_at_unix = 0;             // exp; after iat
  std::optional<int64_t> not_before_unix;  // nbf
  std::string subject;                     // sub (may be empty)
  std::string hwmodel;                     // e.g. GCP_AMD_SEV, GCP_INTEL_TDX
  std::string swname;                      // CONFIDENTIAL_SPACE for Confidential Space images
  std::vector<std::string> swversion;      // e.g. ["250301"]
  std::string dbgstat;                     // "disabled-since-boot" on production images
  std::optional<bool> secboot;
  std::string image_digest;  // submods.container.image_digest, "sha256:<64 hex>"
  std::array<uint8_t, 32> image_digest_sha256{};  // The same digest as bytes.
  std::string image_reference;          // submods.container.image_reference (may be empty)
  std::vector<std::string> eat_nonces;  // eat_nonce: one string or an array of them
  std::string tcb_status;               // tdx.gcp_attester_tcb_status when present
  // submods.confidential_space.support_attributes when present, e.g. ["LATEST", "STABLE",
  // "USABLE"]: the image's support status at issue time.
  std::vector<std::string> support_attributes;
};

// DecodeClaims decodes the claims JSON object. Required: iss, aud, iat, exp, hwmodel, swname,
// dbgstat, submods.container.image_digest. Errors: kGcpBadClaim (a required claim missing, a
// claim of the wrong type, over a size limit, a time outside 0..kMaxTimeUnix or exp not after
// iat, a malformed image digest), kGcpMalformedToken / kGcpDuplicateJsonKey /
// kGcpTokenTooLarge (not a strict JSON object within the nesting limit).
Result<Claims> DecodeClaims(std::span<const uint8_t> payload_json);

// ParseImageDigest parses "sha256:<64 hex digits>" (lowercase or uppercase hex).
// Errors: kInvalidArgument.
Result<std::array<uint8_t, 32>> ParseImageDigest(std::string_view text);

}  // namespace eml::attest::gcp
