#include "attest/gcp/jwt.h"

#include <algorithm>
#include <cctype>
#include <string_view>
#include <utility>

#include "attest/gcp/internal/strict_json.h"
#include "common/byte_reader.h"
#include "common/encoding.h"
#include "crypto/x509.h"

namespace eml::attest::gcp {
namespace {

using Json = nlohmann::json;

constexpr uint8_t kDot = '.';

// TakePart consumes bytes up to (not including) the next dot, or to the end when `last`.
// Returns false when a non-last part has no dot after it, or the last part contains one.
bool TakePart(ByteReader& reader, bool last, std::span<const uint8_t>* out) {
  ByteReader scan = reader;
  size_t length = 0;
  uint8_t byte = 0;
  while (scan.ReadU8(&byte)) {
    if (byte == kDot) {
      break;
    }
    ++length;
  }
  if (!reader.ReadBytes(length, out)) {
    return false;
  }
  if (last) {
    return reader.empty();
  }
  return reader.ReadU8(&byte) && byte == kDot;
}

Result<std::vector<uint8_t>> DecodePart(std::span<const uint8_t> part, size_t max_decoded,
                                        const char* name) {
  // Base64url without padding: 4 characters carry 3 bytes.
  if (part.size() / 4 * 3 > max_decoded + 3) {
    return Error{ErrorCode::kGcpTokenTooLarge, std::string(name) + " is over its size limit"};
  }
  Result<std::vector<uint8_t>> decoded = Base64UrlDecode(std::string(part.begin(), part.end()));
  if (!decoded.has_value()) {
    return Error{ErrorCode::kGcpMalformedToken, std::string(name) + " is not base64url"};
  }
  if (decoded->size() > max_decoded) {
    return Error{ErrorCode::kGcpTokenTooLarge, std::string(name) + " is over its size limit"};
  }
  return decoded;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

Error HeaderError(const char* what) { return Error{ErrorCode::kGcpBadHeader, what}; }

Result<std::vector<std::vector<uint8_t>>> DecodeX5c(const Json& x5c, const JwtLimits& limits) {
  if (!x5c.is_array() || x5c.empty()) {
    return HeaderError("x5c is not a non-empty array");
  }
  if (x5c.size() > limits.max_x5c_certificates) {
    return Error{ErrorCode::kGcpTokenTooLarge, "x5c holds too many certificates"};
  }
  std::vector<std::vector<uint8_t>> out;
  for (const Json& entry : x5c) {
    if (!entry.is_string()) {
      return HeaderError("an x5c entry is not a string");
    }
    const std::string& text = entry.get_ref<const std::string&>();
    if (text.size() / 4 * 3 > crypto::kMaxCertificateSize) {
      return Error{ErrorCode::kGcpTokenTooLarge, "an x5c certificate is too large"};
    }
    // RFC 7515 section 4.1.6: base64 (not base64url) DER, padded.
    Result<std::vector<uint8_t>> der = Base64Decode(text);
    if (!der.has_value() || der->empty()) {
      return HeaderError("an x5c entry is not base64 DER");
    }
    out.push_back(std::move(*der));
  }
  return out;
}

Result<JwtHeader> DecodeHeader(std::span<const uint8_t> json_bytes, const JwtLimits& limits) {
  EML_ASSIGN_OR_RETURN(Json json, internal::ParseStrictJsonObject(json_bytes, limits.max_json_depth,
                                                                  ErrorCode::kGcpMalformedToken));
  JwtHeader header;
  auto alg = json.find("alg");
  if (alg == json.end() || !alg->is_string() || alg->get_ref<const std::string&>().empty()) {
    return HeaderError("alg is missing or not a string");
  }
  header.alg = alg->get<std::string>();
  if (json.contains("crit")) {
    return HeaderError("crit names extensions this verifier does not implement");
  }
  if (auto typ = json.find("typ"); typ != json.end()) {
    if (!typ->is_string() || !EqualsIgnoreCase(typ->get_ref<const std::string&>(), "JWT")) {
      return HeaderError("typ is not JWT");
    }
    header.typ = typ->get<std::string>();
  }
  if (auto kid = json.find("kid"); kid != json.end()) {
    if (!kid->is_string() || kid->get_ref<const std::string&>().empty() ||
        kid->get_ref<const std::string&>().size() > kMaxKeyIdBytes) {
      return HeaderError("kid is not a string of 1..256 bytes");
    }
    header.kid = kid->get<std::string>();
  }
  if (auto x5c = json.find("x5c"); x5c != json.end()) {
    EML_ASSIGN_OR_RETURN(header.x5c, DecodeX5c(*x5c, limits));
  }
  return header;
}

Result<ParsedJwt> ParseJwtUnwrapped(std::span<const uint8_t> token, const JwtLimits& limits) {
  if (token.size() > limits.max_token_bytes) {
    return Error{ErrorCode::kGcpTokenTooLarge, "token is over its size limit"};
  }
  ByteReader reader(token);
  std::span<const uint8_t> header_part;
  std::span<const uint8_t> payload_part;
  std::span<const uint8_t> signature_part;
  if (!TakePart(reader, false, &header_part) || !TakePart(reader, false, &payload_part) ||
      !TakePart(reader, true, &signature_part)) {
    return Error{ErrorCode::kGcpMalformedToken, "not three dot-separated parts"};
  }
  if (header_part.empty() || payload_part.empty()) {
    return Error{ErrorCode::kGcpMalformedToken, "empty header or payload part"};
  }
  EML_ASSIGN_OR_RETURN(std::vector<uint8_t> header_json,
                       DecodePart(header_part, limits.max_header_bytes, "header"));
  EML_ASSIGN_OR_RETURN(std::vector<uint8_t> payload,
                       DecodePart(payload_part, limits.max_payload_bytes, "payload"));
  EML_ASSIGN_OR_RETURN(std::vector<uint8_t> signature,
                       DecodePart(signature_part, limits.max_signature_bytes, "signature"));
  ParsedJwt jwt;
  EML_ASSIGN_OR_RETURN(jwt.header, DecodeHeader(header_json, limits));
  // The claims are decoded by their consumer; here the payload must only be a strict object.
  EML_RETURN_IF_ERROR(internal::ParseStrictJsonObject(payload, limits.max_json_depth,
                                                      ErrorCode::kGcpMalformedToken));
  jwt.payload = std::move(payload);
  jwt.signature = std::move(signature);
  jwt.signing_input.reserve(header_part.size() + 1 + payload_part.size());
  jwt.signing_input.insert(jwt.signing_input.end(), header_part.begin(), header_part.end());
  jwt.signing_input.push_back(kDot);
  jwt.signing_input.insert(jwt.signing_input.end(), payload_part.begin(), payload_part.end());
  return jwt;
}

}  // namespace

Result<ParsedJwt> ParseJwt(std::span<const uint8_t> token, const JwtLimits& limits) {
  // nlohmann accessors used above are guarded by type checks; this catches what remains
  // (allocation failure) so that no exception leaves the library.
  try {
    return ParseJwtUnwrapped(token, limits);
  } catch (const std::exception&) {
    return Error{ErrorCode::kGcpMalformedToken, "token could not be decoded"};
  }
}

}  // namespace eml::attest::gcp
