#pragma once
// Posture: the Parse* functions read untrusted request bodies and query strings from any HTTP
// client (release and challenge are unauthenticated). Bodies are capped by the caller (the
// server refuses more than kMaxRequestBodyBytes before parsing); JSON nesting is capped at
// kMaxJsonDepth, duplicate keys, unknown keys, wrong types and trailing text are refused, and
// nlohmann-json is wrapped so that no exception escapes. Fuzz target: keys_http_body.
//
// The Parse*Answer functions read the broker's answers on the enclave side (the broker and the
// host in between are untrusted there): at most kMaxAnswerBytes, the same strict JSON rules,
// exact field sets and exact decoded sizes. Fuzz target: keys_http_body.
//
// eml::keys::http wire format of the key broker's HTTP API (docs/keybroker.md, "HTTP API"):
// the request bodies the server accepts and the clients (the keys CLI, the enclave, tests)
// send, and the answers of the release routes. Binary fields are base64url without padding.
// This file holds no I/O and no broker state, so that the fuzz build (which has no Asio)
// compiles it.
//
// Thread safety: pure functions.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/secret_bytes.h"

namespace eml::keys::http {

inline constexpr size_t kMaxRequestBodyBytes = 256 * 1024;
inline constexpr size_t kMaxJsonDepth = 32;
// Decoded values are bounded, so anything accepted re-encodes (every byte escaped: 3x) to a
// segment and a query that are accepted again.
inline constexpr size_t kMaxPathSegmentBytes = 256;  // after percent-decoding
inline constexpr size_t kMaxQueryBytes = 4096;
inline constexpr size_t kDefaultAuditLimit = 100;
inline constexpr size_t kMaxAuditLimit = 1000;
// Answers of the release routes, as the enclave reads them.
inline constexpr size_t kMaxAnswerBytes = 16 * 1024;
inline constexpr size_t kChallengeNonceBytes = 32;     // keys::kChallengeSize
inline constexpr size_t kReleaseEncBytes = 32;         // DHKEM(X25519) enc
inline constexpr size_t kReleaseCiphertextBytes = 48;  // 32-byte key + 16-byte tag
inline constexpr size_t kMaxKeyIdBytes = 64;
inline constexpr size_t kMaxErrorNameBytes = 64;
inline constexpr size_t kMaxErrorMessageBytes = 1024;

// POST /v1/release
struct ReleaseBody {
  std::string model_id;
  std::string version;
  std::vector<uint8_t> evidence;
  std::vector<uint8_t> challenge;
  std::vector<uint8_t> recipient_key;
};

// POST /v1/admin/keys. data_key holds exactly 32 bytes.
struct RegisterBody {
  std::string model_id;
  std::string version;
  SecretBytes data_key;
  std::string policy_json;  // the "policy" object, compact
};

// PUT /v1/admin/keys/{model}/{version}/policy
struct PolicyBody {
  std::string policy_json;  // the "policy" object, compact
};

// GET /v1/admin/audit?model_id=&version=&after=&limit=
struct AuditParams {
  std::optional<std::string> model_id;  // both or neither
  std::optional<std::string> version;
  int64_t after_id = 0;
  size_t limit = kDefaultAuditLimit;
};

// POST /v1/challenge answer (200).
struct ChallengeAnswer {
  std::vector<uint8_t> nonce;  // kChallengeNonceBytes
  int64_t expires_at = 0;      // unix seconds
};

// POST /v1/release answer (200).
struct ReleaseAnswer {
  std::string key_id;
  std::vector<uint8_t> enc;         // kReleaseEncBytes
  std::vector<uint8_t> ciphertext;  // kReleaseCiphertextBytes
  std::array<uint8_t, 32> evidence_sha256{};
};

// Any error answer: {"error": {"code", "name", "message"}}.
struct ErrorAnswer {
  int code = 0;         // an eml::ErrorCode value (as the broker's build numbers it)
  std::string name;     // e.g. "BROKER_MEASUREMENT_MISMATCH"
  std::string message;  // one printable line
};

// CheckStrictJsonObject succeeds when `text` is exactly one JSON object in the rules every
// Parse* function applies (valid UTF-8, no duplicate keys, nesting at most kMaxJsonDepth, at
// most kMaxRequestBodyBytes). The CLI checks policy files with it before sending them.
// Errors: kBrokerHttpBadBody.
Status CheckStrictJsonObject(std::span<const uint8_t> text);

// ParseReleaseBody: {"model_id", "version", "evidence", "challenge", "recipient_key"}, all
// required strings, the last three base64url. Field lengths are the broker's to check.
// Errors: kBrokerHttpBadBody.
Result<ReleaseBody> ParseReleaseBody(std::span<const uint8_t> body);

// ParseRegisterBody: {"model_id", "version", "data_key" (base64url of 32 bytes), "policy"
// (object)}. Temporary copies of the key are wiped. Errors: kBrokerHttpBadBody.
Result<RegisterBody> ParseRegisterBody(std::span<const uint8_t> body);

// ParsePolicyBody: {"policy": object}. Errors: kBrokerHttpBadBody.
Result<PolicyBody> ParsePolicyBody(std::span<const uint8_t> body);

// ParseEmptyBody accepts an empty body or an empty JSON object (challenge, revoke).
// Errors: kBrokerHttpBadBody.
Status ParseEmptyBody(std::span<const uint8_t> body);

// ParseAuditQuery parses the query string (without '?'): keys model_id, version, after, limit,
// each at most once, percent-decoded; model_id and version come together; after >= 0;
// 1 <= limit <= kMaxAuditLimit. Errors: kBrokerHttpBadBody.
Result<AuditParams> ParseAuditQuery(std::string_view query);

// PercentDecode decodes %XX escapes (no '+' rule) of a path segment or query value; a stray
// '%', a bad hex digit, an escaped NUL, a raw control byte, more than 3 x kMaxPathSegmentBytes
// of input or more than kMaxPathSegmentBytes decoded is refused.
// Errors: kBrokerHttpBadBody.
Result<std::string> PercentDecode(std::string_view text);
// PercentEncode escapes every byte outside [A-Za-z0-9._~-].
std::string PercentEncode(std::string_view text);

// ParseChallengeAnswer: {"nonce" (base64url of kChallengeNonceBytes), "expires_at" (integer
// >= 0)}. Errors: kReleaseBadAnswer.
Result<ChallengeAnswer> ParseChallengeAnswer(std::span<const uint8_t> body);

// ParseReleaseAnswer: {"key_id" (1..kMaxKeyIdBytes printable ASCII), "enc", "ciphertext",
// "evidence_sha256" (base64url of exactly kReleaseEncBytes, kReleaseCiphertextBytes and 32
// bytes)}. Errors: kReleaseBadAnswer.
Result<ReleaseAnswer> ParseReleaseAnswer(std::span<const uint8_t> body);

// ParseErrorAnswer: {"error": {"code" (integer 1..65535), "name" (1..kMaxErrorNameBytes of
// [A-Z0-9_]), "message" (string)}}. The message is made one printable line: bytes outside
// 0x20..0x7e become '?', and it is cut at kMaxErrorMessageBytes. Errors: kReleaseBadAnswer.
Result<ErrorAnswer> ParseErrorAnswer(std::span<const uint8_t> body);

// Encoders for clients: the exact bodies the parsers accept. `policy_json` must be a JSON
// object's text (Errors: kBrokerHttpBadBody otherwise).
std::string EncodeReleaseBody(const ReleaseBody& body);
Result<std::string> EncodeRegisterBody(const RegisterBody& body);
Result<std::string> EncodePolicyBody(std::string_view policy_json);
std::string EncodeAuditQuery(const AuditParams& params);
// Encoders for the server: the exact answers the Parse*Answer functions accept.
std::string EncodeChallengeAnswer(const ChallengeAnswer& answer);
std::string EncodeReleaseAnswer(const ReleaseAnswer& answer);

}  // namespace eml::keys::http
