#include "attest/gcp/claims.h"

#include <algorithm>
#include <exception>
#include <string_view>
#include <utility>

#include "attest/gcp/internal/strict_json.h"
#include "attest/gcp/jwt.h"
#include "common/encoding.h"

namespace eml::attest::gcp {
namespace {

using Json = nlohmann::json;

constexpr std::string_view kSha256Prefix = "sha256:";

Error ClaimError(std::string_view name, std::string_view what) {
  return Error{ErrorCode::kGcpBadClaim, std::string(name) + " " + std::string(what)};
}

// Field returns the member `name` of `object`, or null when absent.
const Json* Field(const Json& object, const char* name) {
  auto it = object.find(name);
  return it == object.end() ? nullptr : &*it;
}

Result<std::string> StringValue(const Json* value, const char* name) {
  if (value == nullptr || !value->is_string()) {
    return ClaimError(name, "is missing or not a string");
  }
  const std::string& text = value->get_ref<const std::string&>();
  if (text.size() > kMaxClaimStringBytes) {
    return ClaimError(name, "is too long");
  }
  return text;
}

Result<std::string> OptionalString(const Json& object, const char* name) {
  const Json* value = Field(object, name);
  if (value == nullptr) {
    return std::string();
  }
  return StringValue(value, name);
}

// StringOrArray accepts one string or a non-empty array of strings (aud, eat_nonce).
Result<std::vector<std::string>> StringOrArray(const Json* value, const char* name,
                                               size_t max_bytes) {
  std::vector<std::string> out;
  if (value != nullptr && value->is_string()) {
    out.push_back(value->get<std::string>());
  } else if (value != nullptr && value->is_array() && !value->empty() &&
             value->size() <= kMaxClaimArrayEntries) {
    for (const Json& entry : *value) {
      if (!entry.is_string()) {
        return ClaimError(name, "holds a non-string");
      }
      out.push_back(entry.get<std::string>());
    }
  } else {
    return ClaimError(name, "is not a string or an array of 1..16 strings");
  }
  for (const std::string& entry : out) {
    if (entry.empty() || entry.size() > max_bytes) {
      return ClaimError(name, "has an empty or too long value");
    }
  }
  return out;
}

Result<int64_t> TimeValue(const Json* value, const char* name) {
  // NumericDate (RFC 7519 section 2); Google writes integers, fractions are refused.
  if (value == nullptr || !value->is_number_integer()) {
    return ClaimError(name, "is missing or not an integer");
  }
  if (value->is_number_unsigned()) {
    uint64_t seconds = value->get<uint64_t>();
    if (seconds > static_cast<uint64_t>(kMaxTimeUnix)) {
      return ClaimError(name, "is out of range");
    }
    return static_cast<int64_t>(seconds);
  }
  int64_t seconds = value->get<int64_t>();
  if (seconds < 0 || seconds > kMaxTimeUnix) {
    return ClaimError(name, "is out of range");
  }
  return seconds;
}

Status DecodeTimes(const Json& json, Claims& claims) {
  EML_ASSIGN_OR_RETURN(claims.issued_at_unix, TimeValue(Field(json, "iat"), "iat"));
  EML_ASSIGN_OR_RETURN(claims.expires_at_unix, TimeValue(Field(json, "exp"), "exp"));
  if (const Json* nbf = Field(json, "nbf"); nbf != nullptr) {
    EML_ASSIGN_OR_RETURN(claims.not_before_unix, TimeValue(nbf, "nbf"));
  }
  if (claims.expires_at_unix <= claims.issued_at_unix) {
    return ClaimError("exp", "is not after iat");
  }
  return OkStatus();
}

Status DecodeContainer(const Json& json, Claims& claims) {
  const Json* submods = Field(json, "submods");
  const Json* container =
      submods != nullptr && submods->is_object() ? Field(*submods, "container") : nullptr;
  if (container == nullptr || !container->is_object()) {
    return ClaimError("submods.container", "is missing or not an object");
  }
  EML_ASSIGN_OR_RETURN(claims.image_digest,
                       StringValue(Field(*container, "image_digest"), "image_digest"));
  Result<std::array<uint8_t, 32>> digest = ParseImageDigest(claims.image_digest);
  if (!digest.has_value()) {
    return ClaimError("image_digest", "is not sha256:<64 hex>");
  }
  claims.image_digest_sha256 = *digest;
  EML_ASSIGN_OR_RETURN(claims.image_reference, OptionalString(*container, "image_reference"));
  // Optional: submods.confidential_space.support_attributes, an array of strings.
  const Json* space = Field(*submods, "confidential_space");
  const Json* support =
      space != nullptr && space->is_object() ? Field(*space, "support_attributes") : nullptr;
  if (support != nullptr) {
    if (!support->is_array() || support->size() > kMaxClaimArrayEntries) {
      return ClaimError("support_attributes", "is not an array of 0..16 strings");
    }
    for (const Json& entry : *support) {
      EML_ASSIGN_OR_RETURN(std::string value, StringValue(&entry, "support_attributes"));
      claims.support_attributes.push_back(std::move(value));
    }
  }
  return OkStatus();
}

Result<Claims> DecodeClaimsUnwrapped(std::span<const uint8_t> payload_json) {
  EML_ASSIGN_OR_RETURN(Json json,
                       internal::ParseStrictJsonObject(payload_json, kDefaultMaxJsonDepth,
                                                       ErrorCode::kGcpMalformedToken));
  Claims claims;
  EML_ASSIGN_OR_RETURN(claims.issuer, StringValue(Field(json, "iss"), "iss"));
  EML_ASSIGN_OR_RETURN(claims.audiences,
                       StringOrArray(Field(json, "aud"), "aud", kMaxClaimStringBytes));
  EML_RETURN_IF_ERROR(DecodeTimes(json, claims));
  EML_ASSIGN_OR_RETURN(claims.subject, OptionalString(json, "sub"));
  EML_ASSIGN_OR_RETURN(claims.hwmodel, StringValue(Field(json, "hwmodel"), "hwmodel"));
  EML_ASSIGN_OR_RETURN(claims.swname, StringValue(Field(json, "swname"), "swname"));
  EML_ASSIGN_OR_RETURN(claims.dbgstat, StringValue(Field(json, "dbgstat"), "dbgstat"));
  if (const Json* swversion = Field(json, "swversion"); swversion != nullptr) {
    EML_ASSIGN_OR_RETURN(claims.swversion,
                         StringOrArray(swversion, "swversion", kMaxClaimStringBytes));
  }
  if (const Json* secboot = Field(json, "secboot"); secboot != nullptr) {
    if (!secboot->is_boolean()) {
      return ClaimError("secboot", "is not a boolean");
    }
    claims.secboot = secboot->get<bool>();
  }
  EML_RETURN_IF_ERROR(DecodeContainer(json, claims));
  if (const Json* nonce = Field(json, "eat_nonce"); nonce != nullptr) {
    EML_ASSIGN_OR_RETURN(claims.eat_nonces, StringOrArray(nonce, "eat_nonce", kMaxNonceClaimBytes));
  }
  if (const Json* tdx = Field(json, "tdx"); tdx != nullptr && tdx->is_object()) {
    EML_ASSIGN_OR_RETURN(claims.tcb_status, OptionalString(*tdx, "gcp_attester_tcb_status"));
  }
  return claims;
}

}  // namespace

Result<std::array<uint8_t, 32>> ParseImageDigest(std::string_view text) {
  if (text.size() != kSha256Prefix.size() + 64 ||
      text.substr(0, kSha256Prefix.size()) != kSha256Prefix) {
    return Error{ErrorCode::kInvalidArgument, "image digest is not sha256:<64 hex>"};
  }
  Result<std::vector<uint8_t>> bytes = HexDecodeExact(text.substr(kSha256Prefix.size()), 32);
  if (!bytes.has_value()) {
    return Error{ErrorCode::kInvalidArgument, "image digest is not sha256:<64 hex>"};
  }
  std::array<uint8_t, 32> out{};
  std::copy(bytes->begin(), bytes->end(), out.begin());
  return out;
}

Result<Claims> DecodeClaims(std::span<const uint8_t> payload_json) {
  try {
    return DecodeClaimsUnwrapped(payload_json);
  } catch (const std::exception&) {
    return Error{ErrorCode::kGcpBadClaim, "claims could not be decoded"};
  }
}

}  // namespace eml::attest::gcp
