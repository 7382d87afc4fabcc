#pragma once
// Private to eml::air. Posture: reads a decoded (untrusted) claims payload; the caller bounds the
// bytes (64 KiB) and the CBOR decoder bounds depth and items. Fuzzed through air_verify.
//
// DecodeClaimsMap turns the claims payload into Claims, enforcing the CDDL shape: a closed map
// of integer keys, each claim of its CBOR type, required claims present, fixed lengths for cti
// (16) and the SHA-256 hashes (32), eat_nonce 8..64 bytes, text bounds, iat != 0, and the
// measurements map (text keys from its closed set, pcr0-2 and measurement_type required, PCR
// values byte strings). PCR lengths and the registered values of measurement_type,
// security_mode and model_hash_scheme are layer-3 checks and are NOT enforced here; neither is
// the eat_profile value (EAT_PROFILE).

#include <string>
#include <variant>

#include "air/check.h"
#include "air/claims.h"
#include "cbor/value.h"

namespace eml::air::internal {

struct DecodedClaims {
  Claims claims;
  std::string eat_profile;
};

struct ClaimsFinding {
  CheckCode code;
  std::string detail;
};

std::variant<DecodedClaims, ClaimsFinding> DecodeClaimsMap(const cbor::Value& payload);

}  // namespace eml::air::internal
