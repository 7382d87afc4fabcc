#pragma once
// Private to attest/gcp: strict JSON parsing of untrusted token parts and JWKS documents.
// nlohmann-json is wrapped here so that no exception leaves the library (STYLE E5).
//
// Posture: reads untrusted bytes (JWT header and payload, JWKS text) already bounded in size by
// the caller; nesting is limited by `max_depth`, every object is checked for duplicate keys
// (RFC 8259 leaves them undefined; RFC 7515 section 5.2 says reject them), invalid UTF-8 and
// trailing non-whitespace are rejected. Fuzz target: attest_gcp_jwt.
//
// Thread safety: a pure function.

#include <cstddef>
#include <cstdint>
#include <span>

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace eml::attest::gcp::internal {

// ParseStrictJsonObject parses `text` as one JSON object. Errors: `malformed` (not JSON, not an
// object), kGcpTokenTooLarge (nesting deeper than max_depth), kGcpDuplicateJsonKey.
Result<nlohmann::json> ParseStrictJsonObject(std::span<const uint8_t> text, size_t max_depth,
                                             ErrorCode malformed);

}  // namespace eml::attest::gcp::internal
