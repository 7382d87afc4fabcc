#pragma once
// Posture: the Decode* functions read untrusted bytes: request records from any client
// (enclave side), response and result records and the attested user_data from an enclave
// (client side). Every input is bounded before it is parsed (Limits below: 4 MiB requests,
// 24 MiB responses, 1024 inputs of at most 64 KiB each, 1 KiB user_data), decoded as strict
// deterministic CBOR with depth <= 4, and walked field by field; unknown keys are errors.
// Fuzz target: tests/fuzz/protocol_messages_fuzz.cc (protocol_messages).
//
// eml::protocol: the application messages carried inside the secure channel (docs/protocol.md
// section 2). One channel record holds one message: one deterministic CBOR map with text keys.
//
//   Request          {"v": 1, "id": uint, "op": "embed" | "evidence", ? "nonce": bstr,
//                     embed only: "inputs": [+ tstr], ? "model": tstr}
//   Response (ok)    {"v": 1, "id": uint, "result": bstr, "receipt": bstr}
//   Response (error) {"v": 1, "id": uint, "error": {"code": uint, "message": tstr}}
//   Embed result     {"model": tstr, "dim": uint, "count": uint, "embeddings": bstr,
//                     "token_counts": [* uint]}
//   Evidence result  {"attestation_doc": bstr}
//   User data        {"v": 1, "protocol": 4, "receipt_key": bstr .size 32,
//                     "models": [+ {"id": tstr, "model_hash": bstr .size 32,
//                                   "model_hash_scheme": tstr}]}
//
// "result" carries the encoded result map as a byte string, so that a receipt's response_hash
// is SHA-256 of exactly those bytes; request_hash is SHA-256 of the whole request record.
//
// Every Encode* function validates what it encodes with the same rules its Decode* twin
// applies, so what we send always decodes on the other side; Decode(Encode(x)) == x and
// Encode(Decode(b)) == b for every accepted b (decoding accepts only the deterministic
// encoding).
//
// Errors common to every Decode*: kProtocolMessageTooLarge (bytes over the limit),
// kProtocolBadCbor (not exactly one well-formed CBOR item within the depth / item / string
// bounds, duplicate keys, invalid UTF-8), kProtocolNonCanonical (well-formed but not the
// deterministic encoding: non-shortest heads, indefinite lengths, unsorted keys), kProtocolBadField
// (the top level is not a map, a key is not text, a value has the wrong type or size),
// kProtocolUnknownKey, kProtocolMissingField, kProtocolUnsupportedVersion.
//
// Thread safety: plain data and pure functions.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace eml::protocol {

// The application message version ("v") and the channel protocol version named in user_data.
inline constexpr uint64_t kMessageVersion = 1;
inline constexpr uint64_t kChannelProtocolVersion = 4;

// Default limits (named so that both sides and the docs agree).
inline constexpr size_t kDefaultMaxRequestBytes = size_t{4} << 20;    // 4 MiB
inline constexpr size_t kDefaultMaxResponseBytes = size_t{24} << 20;  // below the 32 MiB record
inline constexpr size_t kDefaultMaxInputs = 1024;                     // texts per embed request
inline constexpr size_t kDefaultMaxInputBytes = size_t{64} << 10;     // bytes per text
inline constexpr size_t kMinNonceBytes = 1;
inline constexpr size_t kMaxNonceBytes = 64;
inline constexpr size_t kMaxModelIdBytes = 256;
inline constexpr size_t kMaxModelHashSchemeBytes = 64;
inline constexpr size_t kMaxErrorMessageBytes = 1024;
inline constexpr size_t kMaxEmbeddingDim = 4096;
inline constexpr size_t kMaxReceiptBytes = 65536;         // AIR v1's cap
inline constexpr size_t kMaxAttestationDocBytes = 65536;  // the channel's document cap
inline constexpr size_t kMaxUserDataBytes = 1024;         // the Nitro user_data cap
inline constexpr size_t kMaxUserDataModels = 8;
inline constexpr size_t kHashBytes = 32;
inline constexpr size_t kReceiptKeyBytes = 32;
// The deepest nesting any message has (user_data: map -> array -> map).
inline constexpr size_t kMaxDepth = 4;

struct Limits {
  size_t max_request_bytes = kDefaultMaxRequestBytes;
  size_t max_response_bytes = kDefaultMaxResponseBytes;  // responses and result maps
  size_t max_inputs = kDefaultMaxInputs;
  size_t max_input_bytes = kDefaultMaxInputBytes;
};

enum class Op { kEmbed, kEvidence };

// OpName returns the wire name: "embed" or "evidence".
std::string_view OpName(Op op);

struct Request {
  uint64_t id = 0;
  Op op = Op::kEmbed;
  std::optional<std::vector<uint8_t>> nonce;  // 1..64 bytes when present
  std::vector<std::string> inputs;            // embed: 1..max_inputs texts; evidence: none
  std::optional<std::string> model;           // embed only; 1..256 bytes when present

  friend bool operator==(const Request&, const Request&) = default;
};

// EncodeRequest returns the request record. Errors: kProtocolNoInputs, kProtocolTooManyInputs,
// kProtocolInputTooLarge, kProtocolBadNonce, kProtocolBadField (model id length; inputs or a
// model on an evidence request), kProtocolMessageTooLarge.
Result<std::vector<uint8_t>> EncodeRequest(const Request& request, const Limits& limits = {});

// DecodeRequest parses a request record. Errors: the common ones above, kProtocolUnknownOp,
// kProtocolNoInputs, kProtocolTooManyInputs (also when the CBOR item count passes what the
// inputs limit allows), kProtocolInputTooLarge, kProtocolBadNonce; "inputs" or "model" on an
// evidence request are kProtocolUnknownKey.
Result<Request> DecodeRequest(std::span<const uint8_t> bytes, const Limits& limits = {});

// PeekRequestId returns the "id" of a request record that does not decode, when the record is
// a well-formed map within the limits with a uint "id" (so an error response can echo it);
// nullopt otherwise.
std::optional<uint64_t> PeekRequestId(std::span<const uint8_t> bytes, const Limits& limits = {});

struct ResponseError {
  uint64_t code = 0;    // an eml::ErrorCode value
  std::string message;  // for people; at most kMaxErrorMessageBytes

  friend bool operator==(const ResponseError&, const ResponseError&) = default;
};

// Response: a success (result + receipt) or an error, never both.
struct Response {
  uint64_t id = 0;
  std::vector<uint8_t> result;         // encoded result map (success)
  std::vector<uint8_t> receipt;        // AIR v1 receipt (success)
  std::optional<ResponseError> error;  // set: failure, and result / receipt are empty

  bool ok() const { return !error.has_value(); }
  friend bool operator==(const Response&, const Response&) = default;
};

// EncodeResponse returns the response record. Errors: kProtocolBadField (an error with result or
// receipt bytes, a success with an empty result or receipt, a receipt over 64 KiB, an error
// message over 1 KiB), kProtocolMessageTooLarge.
Result<std::vector<uint8_t>> EncodeResponse(const Response& response, const Limits& limits = {});

// DecodeResponse parses a response record. Errors: the common ones; kProtocolBadField also when
// both or neither of "result" and "error" are present.
Result<Response> DecodeResponse(std::span<const uint8_t> bytes, const Limits& limits = {});

struct EmbedResult {
  std::string model;
  uint64_t dim = 0;                    // 1..kMaxEmbeddingDim
  uint64_t count = 0;                  // 1..max_inputs
  std::vector<uint8_t> embeddings;     // count * dim little-endian f32, row-major
  std::vector<uint64_t> token_counts;  // one per row

  friend bool operator==(const EmbedResult&, const EmbedResult&) = default;
};

// EncodeEmbedResult / DecodeEmbedResult: the embed result map. Errors: the common ones,
// kProtocolBadField (model id length, dim or count out of range),
// kProtocolEmbeddingSizeMismatch (embeddings not count * dim * 4 bytes, or token_counts not
// count entries).
Result<std::vector<uint8_t>> EncodeEmbedResult(const EmbedResult& result,
                                               const Limits& limits = {});
Result<EmbedResult> DecodeEmbedResult(std::span<const uint8_t> bytes, const Limits& limits = {});

// EncodeF32Le returns `values` as little-endian IEEE-754 binary32 bytes.
std::vector<uint8_t> EncodeF32Le(std::span<const float> values);
// DecodeF32Le is its inverse. Errors: kProtocolEmbeddingSizeMismatch (length not a multiple
// of 4).
Result<std::vector<float>> DecodeF32Le(std::span<const uint8_t> bytes);

struct EvidenceResult {
  std::vector<uint8_t> attestation_doc;  // 1..kMaxAttestationDocBytes

  friend bool operator==(const EvidenceResult&, const EvidenceResult&) = default;
};

// EncodeEvidenceResult / DecodeEvidenceResult: the evidence result map. Errors: the common
// ones; kProtocolBadField for an empty or oversized document.
Result<std::vector<uint8_t>> EncodeEvidenceResult(const EvidenceResult& result);
Result<EvidenceResult> DecodeEvidenceResult(std::span<const uint8_t> bytes);

struct ModelInfo {
  std::string id;                                // 1..256 bytes
  std::array<uint8_t, kHashBytes> model_hash{};  // AIR model_hash of the loaded weights
  std::string model_hash_scheme;                 // 1..64 bytes, e.g. "sha256-single"

  friend bool operator==(const ModelInfo&, const ModelInfo&) = default;
};

// UserData: what an enclave binds into its attestation documents.
struct UserData {
  uint64_t protocol = kChannelProtocolVersion;
  std::array<uint8_t, kReceiptKeyBytes> receipt_key{};  // Ed25519 public key of receipts
  std::vector<ModelInfo> models;                        // 1..kMaxUserDataModels

  friend bool operator==(const UserData&, const UserData&) = default;
};

// EncodeUserData / DecodeUserData: the user_data map (at most kMaxUserDataBytes). Errors: the
// common ones; kProtocolUnsupportedVersion when "protocol" is not 4; kProtocolBadField for no
// models, too many, duplicate model ids, or a text field out of its bounds.
Result<std::vector<uint8_t>> EncodeUserData(const UserData& user_data);
Result<UserData> DecodeUserData(std::span<const uint8_t> bytes);

}  // namespace eml::protocol
