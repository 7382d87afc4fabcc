#pragma once
// Posture: reads untrusted text (claims and policy files given to the CLI, vector files). The
// whole text is parsed by nlohmann-json (no depth limit of its own; the callers cap the file
// size at 1 MiB). No fuzz target: the JSON forms are operator and test inputs, not wire data.
//
// JSON forms of AIR v1 claims, verification policies and reports, in the shape of the shared
// vector files (vectors/air/*.json): readable claims with `_hex` byte fields and the
// `verify_policy` object. Readers are strict: an unknown field is an error, so a vector or
// claims file never carries a setting that was silently ignored.
// Errors: kBadJson (not JSON, wrong field type, unknown field, missing field, bad value),
// kBadHex (a `_hex` field that is not hex of the right length).
// Thread safety: pure functions.

#include <string>
#include <string_view>

#include "air/claims.h"
#include "air/verifier.h"
#include "common/result.h"

namespace eml::air {

// ClaimsFromJson reads the vectors' "claims" object: iss, iat, cti_hex, eat_nonce_hex
// (optional or null; the vectors' "eat_nonce": null is accepted), eat_profile (optional; must be
// kEatProfileUri), model_id, model_version, model_hash_hex, request_hash_hex, response_hash_hex,
// attestation_doc_hash_hex, enclave_measurements {measurement_type, pcr0_hex .. pcr4_hex,
// pcr8_hex (optional or null)}, policy_version, sequence_number, execution_time_ms,
// memory_peak_mb, security_mode, model_hash_scheme (optional). It does not run
// ValidateClaims: IssueReceipt does.
Result<Claims> ClaimsFromJson(std::string_view json_text);

// ClaimsToJson writes `claims` in the form ClaimsFromJson reads (eat_profile included).
std::string ClaimsToJson(const Claims& claims);

// PolicyFromJson reads a "verify_policy" object. Fields, all optional: max_age_secs,
// clock_skew_secs, now_unix, expected_model_hash_hex, expected_request_hash_hex,
// expected_response_hash_hex, expected_attestation_doc_hash_hex, expected_model_id,
// expected_security_mode ("production" | "evaluation"), expected_platform ("nitro-pcr" |
// "tdx-mrtd-rtmr" | "any"), expected_nonce_hex, require_nonce, allow_evaluation,
// allow_non_canonical, map_legacy_gateway_only, seen_cti_hex (list of 16-byte hex values; the
// policy's is_cti_seen then answers from that set). Fields absent keep `base`'s values.
Result<VerifyPolicy> PolicyFromJson(std::string_view json_text, const VerifyPolicy& base);

// ParsePlatform: "nitro-pcr", "tdx-mrtd-rtmr" or "any". Errors: kInvalidArgument.
Result<Platform> ParsePlatform(std::string_view text);

// ReportToJson: {"verified": bool, "checks": [{"layer", "check", "status", "code", "detail"}],
// "claims": {...} or null}. Claims are written only for a verified receipt.
std::string ReportToJson(const VerificationReport& report, int indent = 2);

}  // namespace eml::air
