#pragma once
// Posture: ParseJwt reads untrusted bytes (a Google Confidential Space attestation token, from
// the peer or from an archive). Every size is bounded by JwtLimits (defaults below); parts are
// split and decoded through ByteReader and the strict base64url decoder (RFC 4648 section 5
// alphabet, no padding, no whitespace); header and payload are strict JSON objects without
// duplicate keys. Fuzz target: tests/fuzz/attest_gcp_jwt_fuzz.cc (attest_gcp_jwt).
//
// eml::attest::gcp::ParseJwt splits a JWS in compact serialization (RFC 7515 section 7.1) and
// decodes its JOSE header. It checks FORM only: nothing here verifies a signature or trusts a
// value; GcpVerifier (gcp_verifier.h) does that.
//
// Thread safety: pure functions over values.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"

namespace eml::attest::gcp {

// Real tokens are about 11 KB (three X.509 certificates in x5c make most of it).
inline constexpr size_t kDefaultMaxTokenBytes = 64 * 1024;
inline constexpr size_t kDefaultMaxHeaderBytes = 48 * 1024;   // Decoded header JSON.
inline constexpr size_t kDefaultMaxPayloadBytes = 32 * 1024;  // Decoded claims JSON.
inline constexpr size_t kDefaultMaxSignatureBytes = 1024;     // RSA-8192.
inline constexpr size_t kDefaultMaxX5cCertificates = 4;
inline constexpr size_t kDefaultMaxJsonDepth = 16;
inline constexpr size_t kMaxKeyIdBytes = 256;

struct JwtLimits {
  size_t max_token_bytes = kDefaultMaxTokenBytes;
  size_t max_header_bytes = kDefaultMaxHeaderBytes;
  size_t max_payload_bytes = kDefaultMaxPayloadBytes;
  size_t max_signature_bytes = kDefaultMaxSignatureBytes;
  size_t max_x5c_certificates = kDefaultMaxX5cCertificates;
  size_t max_json_depth = kDefaultMaxJsonDepth;
};

// The JOSE header fields this verifier reads (RFC 7515 section 4.1). Other fields are ignored,
// except "crit", which names extensions we do not implement and so is refused.
struct JwtHeader {
  std::string alg;                        // Required; ParseJwt does not judge its value.
  std::optional<std::string> typ;         // When present, "JWT" (any case).
  std::optional<std::string> kid;         // 1..kMaxKeyIdBytes bytes.
  std::vector<std::vector<uint8_t>> x5c;  // DER certificates, leaf first; empty when absent.
};

struct ParsedJwt {
  JwtHeader header;
  std::vector<uint8_t> payload;        // Decoded claims: a JSON object, no duplicate keys.
  std::vector<uint8_t> signature;      // Decoded; may be empty (e.g. alg "none").
  std::vector<uint8_t> signing_input;  // The ASCII bytes "<header>.<payload>" as received.
};

// ParseJwt decodes `token` (exactly three dot-separated base64url parts, nothing around them).
// Errors: kGcpTokenTooLarge (token, a decoded part, x5c count or JSON nesting over `limits`, an
// x5c certificate over crypto::kMaxCertificateSize),
// kGcpMalformedToken (not three parts, bad base64url, header or payload not a JSON object),
// kGcpDuplicateJsonKey, kGcpBadHeader (alg missing or not a string, typ not "JWT", kid empty
// or too long, x5c not a non-empty array of padded base64 strings, crit present).
Result<ParsedJwt> ParseJwt(std::span<const uint8_t> token, const JwtLimits& limits = {});

}  // namespace eml::attest::gcp
