#pragma once
// The vocabulary of an AIR v1 verification report: the checks the verifier runs (Check), the
// layer each belongs to, and the finding codes (CheckCode). Display strings are contract: they
// are the spec's names (SIG, SIG_FAILED, ...) and appear in JSON reports and test vectors, so a
// value is never renamed or reused. See docs/formats.md ("AIR v1 receipt") for the list.
// Thread safety: pure functions over constants.

#include <cstdint>
#include <optional>
#include <string_view>

namespace eml::air {

// Layers, in the order the verifier runs them.
enum class Layer : uint8_t {
  kParse = 1,   // envelope and claims decoding
  kCrypto = 2,  // signature
  kClaims = 3,  // claim values that the CDDL cannot express
  kPolicy = 4,  // the verifier's own expectations
};

enum class Check : uint8_t {
  // Layer 1.
  kSize,          // SIZE
  kCoseDecode,    // COSE_DECODE
  kUnprotected,   // UNPROTECTED
  kAlg,           // ALG
  kContentType,   // CONTENT_TYPE
  kProtected,     // PROTECTED: no header parameters besides alg and content type
  kPayload,       // PAYLOAD
  kClaimsDecode,  // CLAIMS_DECODE
  kEatProfile,    // EAT_PROFILE
  kCanonical,     // CANONICAL: deterministic encoding of envelope, header and payload
  // Layer 2.
  kSig,  // SIG
  // Layer 3.
  kCti,           // CTI
  kMhashPresent,  // MHASH_PRESENT
  kMeas,          // MEAS
  kMtype,         // MTYPE
  kMhashScheme,   // MHASH_SCHEME
  kSecurityMode,  // SECURITY_MODE
  // Layer 4.
  kFresh,               // FRESH
  kMhash,               // MHASH
  kRhash,               // RHASH
  kOhash,               // OHASH
  kAdhash,              // ADHASH
  kModel,               // MODEL
  kSecurityModePolicy,  // SECURITY_MODE_POLICY
  kPlatform,            // PLATFORM
  kNonce,               // NONCE
  kReplay,              // REPLAY
};

inline constexpr int kNumChecks = static_cast<int>(Check::kReplay) + 1;

enum class CheckStatus : uint8_t { kPass, kFail, kSkip };

enum class CheckCode : uint8_t {
  kReceiptTooLarge,             // RECEIPT_TOO_LARGE: over 65,536 bytes (SIZE)
  kCoseDecodeFailed,            // COSE_DECODE_FAILED: not a COSE_Sign1 (COSE_DECODE)
  kUntaggedReceipt,             // UNTAGGED_RECEIPT: COSE_Sign1 without tag 18 (COSE_DECODE)
  kNonEmptyUnprotected,         // NON_EMPTY_UNPROTECTED (UNPROTECTED)
  kBadAlg,                      // BAD_ALG: alg missing or not -8 (ALG)
  kBadContentType,              // BAD_CONTENT_TYPE: content type missing or not 61 (CONTENT_TYPE)
  kUnexpectedHeaderParam,       // UNEXPECTED_HEADER_PARAM: protected label other than 1, 3
  kMissingPayload,              // MISSING_PAYLOAD: nil or empty payload (PAYLOAD)
  kPayloadDecodeFailed,         // PAYLOAD_DECODE_FAILED: payload is not one CBOR item
  kPayloadNotMap,               // PAYLOAD_NOT_MAP: payload is CBOR but not a map
  kUnknownClaim,                // UNKNOWN_CLAIM: key outside the closed claim or measurement set
  kDuplicateClaim,              // DUPLICATE_CLAIM: a key twice in the claims or measurements map
  kWrongType,                   // WRONG_TYPE: a claim of the wrong CBOR type
  kMissingClaim,                // MISSING_CLAIM: a required claim or measurement absent
  kBadHashLength,               // BAD_HASH_LENGTH: a SHA-256 claim not 32 bytes
  kBadCtiLength,                // BAD_CTI_LENGTH: cti not 16 bytes
  kBadNonceLength,              // BAD_NONCE_LENGTH: eat_nonce outside 8..64 bytes
  kTextBounds,                  // TEXT_BOUNDS: a text claim empty or too long
  kZeroIat,                     // ZERO_IAT: iat is 0
  kWrongProfile,                // WRONG_PROFILE: eat_profile is not the AIR v1 URI (EAT_PROFILE)
  kNonCanonicalEncoding,        // NON_CANONICAL_ENCODING: valid but not deterministic (CANONICAL)
  kBadSigLength,                // BAD_SIG_LENGTH: signature not 64 bytes (SIG)
  kSigFailed,                   // SIG_FAILED: Ed25519 strict verification failed (SIG)
  kZeroCti,                     // ZERO_CTI: cti is all zero (CTI)
  kZeroModelHash,               // ZERO_MODEL_HASH (MHASH_PRESENT)
  kBadMeasurementLength,        // BAD_MEASUREMENT_LENGTH: a PCR not 48 bytes (MEAS)
  kTdxWithPcr8,                 // TDX_WITH_PCR8: pcr8 present with tdx-mrtd-rtmr (MEAS)
  kUnknownMtype,                // UNKNOWN_MTYPE (MTYPE)
  kUnknownModelHashScheme,      // UNKNOWN_MODEL_HASH_SCHEME (MHASH_SCHEME)
  kUnknownSecurityMode,         // UNKNOWN_SECURITY_MODE (SECURITY_MODE)
  kTimestampStale,              // TIMESTAMP_STALE (FRESH)
  kTimestampFuture,             // TIMESTAMP_FUTURE (FRESH)
  kClockError,                  // CLOCK_ERROR: the verifier's clock is unusable (FRESH)
  kModelHashMismatch,           // MODEL_HASH_MISMATCH (MHASH)
  kRequestHashMismatch,         // REQUEST_HASH_MISMATCH (RHASH)
  kResponseHashMismatch,        // RESPONSE_HASH_MISMATCH (OHASH)
  kAttestationDocHashMismatch,  // ATTESTATION_DOC_HASH_MISMATCH (ADHASH)
  kModelIdMismatch,             // MODEL_ID_MISMATCH (MODEL)
  kSecurityModeMismatch,        // SECURITY_MODE_MISMATCH (SECURITY_MODE_POLICY)
  kEvaluationModeRejected,      // EVALUATION_MODE_REJECTED (SECURITY_MODE_POLICY)
  kPlatformMismatch,            // PLATFORM_MISMATCH (PLATFORM)
  kNonceMismatch,               // NONCE_MISMATCH (NONCE)
  kNonceMissing,                // NONCE_MISSING (NONCE)
  kReplayCti,                   // REPLAY_CTI (REPLAY)
};

// CheckName: the spec's display name ("SIG", "CLAIMS_DECODE", ...).
std::string_view CheckName(Check check);
// CheckLayer: the layer `check` belongs to.
Layer CheckLayer(Check check);
// IsCriticalCheck: a critical check that is skipped makes a receipt unverified (layers 1-3).
bool IsCriticalCheck(Check check);
// CheckCodeName: the display string ("SIG_FAILED", ...).
std::string_view CheckCodeName(CheckCode code);
std::string_view CheckStatusName(CheckStatus status);  // "PASS", "FAIL", "SKIP"

// ParseCheck / ParseCheckCode: the inverse of CheckName / CheckCodeName (for vector files).
std::optional<Check> ParseCheck(std::string_view name);
std::optional<CheckCode> ParseCheckCode(std::string_view name);

}  // namespace eml::air
