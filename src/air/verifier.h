#pragma once
// Posture: reads untrusted bytes (AIR v1 receipts from enclaves, gateways, files and clients).
// Refuses input over kMaxReceiptBytes (64 KiB) before parsing; the CBOR decoder runs with that
// size cap and its default depth/item limits. Fuzz target: tests/fuzz/air_verify_fuzz.cc
// (air_verify).
//
// eml::air::VerifyReceipt: the four-layer AIR v1 verifier (layer 1 parse, 2 signature,
// 3 claim values, 4 policy). It returns a report of every check with the spec's check names and
// codes; later layers still run after an earlier failure whenever their inputs exist, so one
// report lists every problem it can see. Verified claims are reachable only through
// VerifiedReceipt, which only the verifier creates (STYLE.md B5).
//
// Determinism: AIR v1 requires deterministic CBOR (RFC 8949 section 4.2). A receipt whose
// envelope, protected header or claims are valid CBOR but not deterministically encoded fails
// CANONICAL with NON_CANONICAL_ENCODING; VerifyPolicy::allow_non_canonical turns that into a
// PASS that still carries the code (a warning).
// Thread safety: VerifyReceipt is reentrant; the report is an immutable value once returned.
// The policy's is_cti_seen callback is called at most once per call, from the calling thread.

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "air/check.h"
#include "air/claims.h"
#include "common/result.h"
#include "crypto/ed25519.h"

namespace eml::air {

inline constexpr uint64_t kDefaultMaxAgeS = 3600;
inline constexpr uint64_t kDefaultClockSkewS = 60;

enum class Platform : uint8_t { kAny, kNitroPcr, kTdxMrtdRtmr };
enum class SecurityMode : uint8_t { kProduction, kEvaluation };

struct VerifyPolicy {
  // FRESH: now - max_age_s <= iat <= now + clock_skew_s. max_age_s = 0 skips the check.
  uint64_t max_age_s = kDefaultMaxAgeS;
  uint64_t clock_skew_s = kDefaultClockSkewS;
  // The verifier's clock (Unix seconds); nullopt reads the system clock. Negative: CLOCK_ERROR.
  std::optional<int64_t> now_unix;

  // Each expectation is checked only when set (compared in constant time).
  std::optional<Sha256Digest> expected_model_hash;            // MHASH
  std::optional<Sha256Digest> expected_request_hash;          // RHASH
  std::optional<Sha256Digest> expected_response_hash;         // OHASH
  std::optional<Sha256Digest> expected_attestation_doc_hash;  // ADHASH
  std::optional<std::string> expected_model_id;               // MODEL (1..256 bytes)
  std::optional<SecurityMode> expected_security_mode;         // SECURITY_MODE_POLICY
  Platform expected_platform = Platform::kAny;                // PLATFORM
  std::optional<std::vector<uint8_t>> expected_nonce;         // NONCE (8..64 bytes)
  bool require_nonce = false;        // NONCE: fail with NONCE_MISSING when eat_nonce is absent
  bool allow_evaluation = false;     // SECURITY_MODE_POLICY: evaluation receipts are rejected
  bool allow_non_canonical = false;  // CANONICAL: see the header comment
  // Compatibility: accept the legacy security_mode "GatewayOnly" as production. Off: the value
  // is unknown and SECURITY_MODE fails with UNKNOWN_SECURITY_MODE.
  bool map_legacy_gateway_only = false;
  // REPLAY: returns true when the 16-byte cti was seen before. Unset: REPLAY is skipped. The
  // verifier only asks; recording a cti after a successful verification is the caller's job.
  std::function<bool(std::span<const uint8_t>)> is_cti_seen;
};

struct CheckResult {
  Check check;
  Layer layer;
  CheckStatus status;
  std::optional<CheckCode> code;  // set on FAIL, and on a PASS that carries a warning
  std::string detail;             // for people; never branched on
};

// VerifiedReceipt: claims from a receipt whose every check passed. Only the verifier makes one.
class VerifiedReceipt {
 public:
  const Claims& claims() const { return claims_; }
  // security_mode: the mode the verifier accepted (a mapped legacy value reads kProduction).
  SecurityMode security_mode() const { return security_mode_; }
  Platform platform() const { return platform_; }
  size_t receipt_size_bytes() const { return receipt_size_bytes_; }

 private:
  friend class ReceiptVerifier;
  VerifiedReceipt(Claims claims, SecurityMode mode, Platform platform, size_t size)
      : claims_(std::move(claims)),
        security_mode_(mode),
        platform_(platform),
        receipt_size_bytes_(size) {}

  Claims claims_;
  SecurityMode security_mode_;
  Platform platform_;
  size_t receipt_size_bytes_;
};

class VerificationReport {
 public:
  // verified: no check failed and no critical check (layers 1-3) was skipped.
  bool verified() const { return verified_receipt_.has_value(); }
  // checks: every check in run order, each exactly once.
  const std::vector<CheckResult>& checks() const { return checks_; }
  const CheckResult& Get(Check check) const;
  // failures: the FAIL results, in run order.
  std::vector<CheckResult> failures() const;
  // verified_receipt: non-null iff verified(); lives as long as the report.
  const VerifiedReceipt* verified_receipt() const EML_LIFETIME_BOUND {
    return verified_receipt_ ? &*verified_receipt_ : nullptr;
  }

 private:
  friend class ReceiptVerifier;
  VerificationReport() = default;

  std::vector<CheckResult> checks_;
  std::optional<VerifiedReceipt> verified_receipt_;
};

// VerifyReceipt runs every check on `receipt` with `key` under `policy`.
// Errors (it could not run at all): kAirBadPolicy when a policy value is malformed
// (expected_nonce outside 8..64 bytes, expected_model_id empty or over 256 bytes).
// Everything wrong with the receipt is a finding in the report, never an error.
Result<VerificationReport> VerifyReceipt(std::span<const uint8_t> receipt,
                                         const crypto::Ed25519PublicKey& key,
                                         const VerifyPolicy& policy);

}  // namespace eml::air
