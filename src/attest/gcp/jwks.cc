#include "attest/gcp/jwks.h"

#include <exception>

#include "attest/gcp/internal/strict_json.h"
#include "attest/gcp/jwt.h"
#include "common/encoding.h"

namespace eml::attest::gcp {
namespace {

using Json = nlohmann::json;

Error JwksError(const std::string& what) { return Error{ErrorCode::kGcpBadJwks, what}; }

// StringMember returns the member `name` of `object` when it is a string, else nullptr.
const std::string* StringMember(const Json& object, const char* name) {
  auto it = object.find(name);
  return it == object.end() ? nullptr : it->get_ptr<const std::string*>();
}

// OptionalStringIs: the member is absent, or a string equal to `expected`.
bool OptionalStringIs(const Json& key, const char* name, std::string_view expected) {
  const std::string* value = StringMember(key, name);
  return !key.contains(name) || (value != nullptr && *value == expected);
}

Result<std::vector<uint8_t>> Base64UrlMember(const Json& key, const char* name) {
  const std::string* text = StringMember(key, name);
  if (text == nullptr) {
    return JwksError(std::string("an RSA key lacks \"") + name + "\"");
  }
  Result<std::vector<uint8_t>> bytes = Base64UrlDecode(*text);
  if (!bytes.has_value()) {
    return JwksError(std::string("\"") + name + "\" is not base64url");
  }
  return bytes;
}

// ParseKeys appends the usable keys of the JWKS `json_bytes` to `keys`.
Status ParseKeys(std::span<const uint8_t> json_bytes,
                 std::vector<std::pair<std::string, crypto::RsaPublicKey>>& keys) {
  Result<Json> json =
      internal::ParseStrictJsonObject(json_bytes, kDefaultMaxJsonDepth, ErrorCode::kGcpBadJwks);
  if (!json.has_value()) {
    if (json.error().code == ErrorCode::kGcpDuplicateJsonKey) {
      return json.error();
    }
    return JwksError("not a JSON object: " + json.error().detail);
  }
  const Json& document = *json;
  if (!document.contains("keys") || !document["keys"].is_array() ||
      document["keys"].size() > kMaxJwksKeys) {
    return JwksError("\"keys\" is not an array of at most 32 keys");
  }
  for (const Json& key : document["keys"]) {
    if (!key.is_object()) {
      return JwksError("a key is not an object");
    }
    if (!OptionalStringIs(key, "kty", "RSA") || !key.contains("kty") ||
        !OptionalStringIs(key, "use", "sig") || !OptionalStringIs(key, "alg", "RS256")) {
      continue;  // Not an RS256 signing key: not one this verifier could use.
    }
    const std::string* kid = StringMember(key, "kid");
    if (kid == nullptr || kid->empty() || kid->size() > kMaxKeyIdBytes) {
      return JwksError("an RSA key has no kid of 1..256 bytes");
    }
    const std::string& name = *kid;
    for (const auto& [existing, unused] : keys) {
      if (existing == name) {
        return JwksError("kid \"" + name + "\" appears twice");
      }
    }
    EML_ASSIGN_OR_RETURN(std::vector<uint8_t> n, Base64UrlMember(key, "n"));
    EML_ASSIGN_OR_RETURN(std::vector<uint8_t> e, Base64UrlMember(key, "e"));
    Result<crypto::RsaPublicKey> rsa = crypto::RsaPublicKey::FromComponents(n, e);
    if (!rsa.has_value()) {
      return JwksError("key \"" + name + "\": " + ToString(rsa.error()));
    }
    keys.emplace_back(name, std::move(*rsa));
  }
  if (keys.empty()) {
    return JwksError("no RS256 signing key");
  }
  return OkStatus();
}

}  // namespace

Result<Jwks> Jwks::Parse(std::span<const uint8_t> json) {
  if (json.size() > kMaxJwksBytes) {
    return JwksError("JWKS is over its size limit");
  }
  std::vector<std::pair<std::string, crypto::RsaPublicKey>> keys;
  try {
    EML_RETURN_IF_ERROR(ParseKeys(json, keys));
  } catch (const std::exception&) {
    return JwksError("JWKS could not be decoded");
  }
  return Jwks(std::move(keys));
}

const crypto::RsaPublicKey* Jwks::Find(std::string_view kid) const {
  for (const auto& [name, key] : keys_) {
    if (name == kid) {
      return &key;
    }
  }
  return nullptr;
}

}  // namespace eml::attest::gcp
