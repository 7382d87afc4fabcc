#include "attest/envelope.h"

#include <string_view>
#include <utility>

#include "attest/policy.h"
#include "cbor/decoder.h"
#include "cbor/encoder.h"
#include "cbor/value.h"

namespace eml::attest {
namespace {

constexpr uint8_t kMapOfSixHead = 0xA6;
constexpr size_t kEnvelopeKeys = 6;

constexpr char kKeyVersion[] = "v";
constexpr char kKeyPlatform[] = "platform";
constexpr char kKeyEvidence[] = "evidence";
constexpr char kKeyPublicKey[] = "public_key";
constexpr char kKeyNonce[] = "nonce";
constexpr char kKeyUserData[] = "user_data";

bool IsEnvelopePlatform(std::string_view platform) {
  return platform == kPlatformTdx || platform == kPlatformSevSnp || platform == kPlatformGcpCs;
}

Error Malformed(std::string detail) {
  return Error{ErrorCode::kEnvelopeMalformed, "evidence envelope: " + std::move(detail)};
}

// BytesField copies the byte string stored under `key` (present: the key set was checked).
Result<std::vector<uint8_t>> BytesField(const cbor::Value& map, const char* key) {
  const cbor::Value* value = map.MapFind(std::string_view(key));
  if (value == nullptr || !value->is_bytes()) {
    return Malformed(std::string("\"") + key + "\" must be a byte string");
  }
  const std::span<const uint8_t> bytes = *value->AsBytes();
  return std::vector<uint8_t>(bytes.begin(), bytes.end());
}

}  // namespace

bool LooksLikeEnvelope(std::span<const uint8_t> bytes) {
  return !bytes.empty() && bytes.front() == kMapOfSixHead;
}

Result<std::vector<uint8_t>> EncodeEnvelope(const EvidenceEnvelope& envelope) {
  if (!IsEnvelopePlatform(envelope.platform)) {
    return Error{ErrorCode::kEnvelopeUnknownPlatform,
                 "evidence envelope: platform \"" + envelope.platform + "\" cannot be wrapped"};
  }
  if (envelope.evidence.empty()) {
    return Malformed("the evidence is empty");
  }
  const cbor::Value map = cbor::Value::Map({
      {cbor::Value::Text(kKeyVersion), cbor::Value::Uint(kEnvelopeVersion)},
      {cbor::Value::Text(kKeyPlatform), cbor::Value::Text(envelope.platform)},
      {cbor::Value::Text(kKeyEvidence), cbor::Value::Bytes(envelope.evidence)},
      {cbor::Value::Text(kKeyPublicKey), cbor::Value::Bytes(envelope.public_key)},
      {cbor::Value::Text(kKeyNonce), cbor::Value::Bytes(envelope.nonce)},
      {cbor::Value::Text(kKeyUserData), cbor::Value::Bytes(envelope.user_data)},
  });
  EML_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, cbor::Encode(map));
  if (bytes.size() > kMaxEnvelopeBytes) {
    return Error{ErrorCode::kEnvelopeTooLarge,
                 "evidence envelope over " + std::to_string(kMaxEnvelopeBytes) + " bytes"};
  }
  return bytes;
}

Result<EvidenceEnvelope> DecodeEnvelope(std::span<const uint8_t> bytes) {
  if (bytes.size() > kMaxEnvelopeBytes) {
    return Error{ErrorCode::kEnvelopeTooLarge,
                 "evidence envelope over " + std::to_string(kMaxEnvelopeBytes) + " bytes"};
  }
  cbor::DecodeLimits limits;
  limits.max_input_bytes = kMaxEnvelopeBytes;
  limits.max_depth = 1;
  limits.max_items = 1 + 2 * kEnvelopeKeys;
  limits.max_string_bytes = kMaxEnvelopeBytes;
  limits.strict = true;
  limits.require_canonical = true;
  Result<cbor::Decoded> decoded = cbor::Decode(bytes, limits);
  if (!decoded.has_value()) {
    return Malformed(ToString(decoded.error()));
  }
  const cbor::Value& map = decoded->value;
  if (!map.is_map()) {
    return Malformed("not a CBOR map");
  }
  // The version first: a later version may use other keys.
  const cbor::Value* version = map.MapFind(std::string_view(kKeyVersion));
  if (version == nullptr || !version->is_uint()) {
    return Malformed("\"v\" must be an unsigned integer");
  }
  if (*version->AsUint() != kEnvelopeVersion) {
    return Error{ErrorCode::kEnvelopeUnsupportedVersion,
                 "evidence envelope version " + std::to_string(*version->AsUint())};
  }
  for (const auto& [key, value] : map.map_entries()) {
    Result<std::string_view> name = key.AsText();
    if (!name.has_value() ||
        (*name != kKeyVersion && *name != kKeyPlatform && *name != kKeyEvidence &&
         *name != kKeyPublicKey && *name != kKeyNonce && *name != kKeyUserData)) {
      return Malformed("unknown key");
    }
  }
  // Decode refuses duplicate keys, so six known keys are all six keys.
  if (map.map_entries().size() != kEnvelopeKeys) {
    return Malformed("a key is missing");
  }
  const cbor::Value* platform = map.MapFind(std::string_view(kKeyPlatform));
  if (!platform->is_text()) {
    return Malformed("\"platform\" must be a text string");
  }
  EvidenceEnvelope out;
  out.platform = std::string(*platform->AsText());
  if (!IsEnvelopePlatform(out.platform)) {
    return Error{ErrorCode::kEnvelopeUnknownPlatform,
                 "evidence envelope: the platform is not tdx, sev-snp or gcp-cs"};
  }
  EML_ASSIGN_OR_RETURN(out.evidence, BytesField(map, kKeyEvidence));
  EML_ASSIGN_OR_RETURN(out.public_key, BytesField(map, kKeyPublicKey));
  EML_ASSIGN_OR_RETURN(out.nonce, BytesField(map, kKeyNonce));
  EML_ASSIGN_OR_RETURN(out.user_data, BytesField(map, kKeyUserData));
  if (out.evidence.empty()) {
    return Malformed("the evidence is empty");
  }
  return out;
}

}  // namespace eml::attest
