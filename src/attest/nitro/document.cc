#include "attest/nitro/document.h"

#include <string_view>
#include <utility>

#include "cbor/decoder.h"

namespace eml::attest::nitro {
namespace {

Error Bad(ErrorCode code, std::string detail) { return Error{code, std::move(detail)}; }

// OptionalBytes reads a bstr-or-null field bounded by `max_bytes`.
Result<std::optional<std::vector<uint8_t>>> OptionalBytes(const cbor::Value& v,
                                                          std::string_view name, size_t max_bytes) {
  if (v.is_null()) {
    return std::optional<std::vector<uint8_t>>();
  }
  if (!v.is_bytes()) {
    return Bad(ErrorCode::kAttestBadField, std::string(name) + " is not a byte string");
  }
  EML_ASSIGN_OR_RETURN(std::span<const uint8_t> bytes, v.AsBytes());
  if (bytes.size() > max_bytes) {
    return Bad(ErrorCode::kAttestBadField, std::string(name) + " is too long");
  }
  return std::optional<std::vector<uint8_t>>(std::vector<uint8_t>(bytes.begin(), bytes.end()));
}

Result<std::vector<uint8_t>> CertificateBytes(const cbor::Value& v, std::string_view name) {
  if (!v.is_bytes()) {
    return Bad(ErrorCode::kAttestBadField, std::string(name) + " is not a byte string");
  }
  EML_ASSIGN_OR_RETURN(std::span<const uint8_t> bytes, v.AsBytes());
  if (bytes.empty() || bytes.size() > kMaxCertificateBytes) {
    return Bad(ErrorCode::kAttestBadField, std::string(name) + " has a bad size");
  }
  return std::vector<uint8_t>(bytes.begin(), bytes.end());
}

Result<std::map<uint32_t, std::vector<uint8_t>>> DecodePcrs(const cbor::Value& v) {
  if (!v.is_map()) {
    return Bad(ErrorCode::kAttestBadField, "pcrs is not a map");
  }
  std::map<uint32_t, std::vector<uint8_t>> pcrs;
  for (const auto& [key, value] : v.map_entries()) {
    if (!key.is_uint()) {
      return Bad(ErrorCode::kAttestBadField, "a PCR index is not an unsigned integer");
    }
    EML_ASSIGN_OR_RETURN(uint64_t index, key.AsUint());
    if (index > kMaxPcrIndex) {
      return Bad(ErrorCode::kAttestBadField, "PCR index over 31");
    }
    if (!value.is_bytes()) {
      return Bad(ErrorCode::kAttestBadField, "a PCR value is not a byte string");
    }
    EML_ASSIGN_OR_RETURN(std::span<const uint8_t> bytes, value.AsBytes());
    if (bytes.size() != kSha384PcrBytes) {
      return Bad(ErrorCode::kAttestBadField, "a PCR is not 48 bytes (SHA-384)");
    }
    // Duplicate keys were refused by the decoder.
    pcrs.emplace(static_cast<uint32_t>(index), std::vector<uint8_t>(bytes.begin(), bytes.end()));
  }
  for (uint32_t required : {0u, 1u, 2u}) {
    if (!pcrs.contains(required)) {
      return Bad(ErrorCode::kAttestMissingField, "PCR0, PCR1 and PCR2 are required");
    }
  }
  return pcrs;
}

Status DecodeField(std::string_view name, const cbor::Value& value, Payload& out) {
  if (name == "module_id") {
    if (!value.is_text()) {
      return Bad(ErrorCode::kAttestBadField, "module_id is not a text string");
    }
    EML_ASSIGN_OR_RETURN(std::string_view text, value.AsText());
    if (text.empty() || text.size() > kMaxModuleIdBytes) {
      return Bad(ErrorCode::kAttestBadField, "module_id is empty or too long");
    }
    out.module_id = std::string(text);
  } else if (name == "digest") {
    if (!value.is_text()) {
      return Bad(ErrorCode::kAttestBadField, "digest is not a text string");
    }
    EML_ASSIGN_OR_RETURN(std::string_view text, value.AsText());
    if (text != "SHA384") {
      return Bad(ErrorCode::kAttestUnsupportedDigest, "digest is not SHA384");
    }
    out.digest = std::string(text);
  } else if (name == "timestamp") {
    if (!value.is_uint()) {
      return Bad(ErrorCode::kAttestBadField, "timestamp is not an unsigned integer");
    }
    EML_ASSIGN_OR_RETURN(out.timestamp_ms, value.AsUint());
    if (out.timestamp_ms == 0 || out.timestamp_ms > kMaxTimestampMs) {
      return Bad(ErrorCode::kAttestBadField, "timestamp is zero or out of range");
    }
  } else if (name == "pcrs") {
    EML_ASSIGN_OR_RETURN(out.pcrs, DecodePcrs(value));
  } else if (name == "certificate") {
    EML_ASSIGN_OR_RETURN(out.certificate, CertificateBytes(value, "certificate"));
  } else if (name == "cabundle") {
    if (!value.is_array()) {
      return Bad(ErrorCode::kAttestBadField, "cabundle is not an array");
    }
    const std::vector<cbor::Value>& items = value.array_items();
    if (items.empty() || items.size() > kMaxCabundleCertificates) {
      return Bad(ErrorCode::kAttestBadField, "cabundle is empty or too long");
    }
    for (const cbor::Value& item : items) {
      EML_ASSIGN_OR_RETURN(std::vector<uint8_t> der, CertificateBytes(item, "cabundle entry"));
      out.cabundle.push_back(std::move(der));
    }
  } else if (name == "public_key") {
    EML_ASSIGN_OR_RETURN(out.public_key, OptionalBytes(value, name, kMaxPublicKeyBytes));
  } else if (name == "user_data") {
    EML_ASSIGN_OR_RETURN(out.user_data, OptionalBytes(value, name, kMaxUserDataBytes));
  } else if (name == "nonce") {
    EML_ASSIGN_OR_RETURN(out.nonce, OptionalBytes(value, name, kMaxNonceBytes));
  } else {
    return Bad(ErrorCode::kAttestBadField, "unknown payload key");
  }
  return OkStatus();
}

}  // namespace

Result<cose::ParsedSign1> ParseEnvelope(std::span<const uint8_t> bytes) {
  if (bytes.size() > kMaxDocumentBytes) {
    return Bad(ErrorCode::kAttestMalformed, "document larger than kMaxDocumentBytes");
  }
  cose::ParseOptions options;
  options.tag_rule = cose::TagRule::kRequireUntagged;
  options.limits.max_input_bytes = kMaxDocumentBytes;
  options.limits.max_string_bytes = kMaxDocumentBytes;
  options.limits.max_depth = 4;
  options.limits.max_items = 64;
  return cose::ParseSign1(bytes, options);
}

Status CheckAlgorithm(const cose::ParsedSign1& envelope) {
  if (envelope.algorithm() != static_cast<int64_t>(cose::Algorithm::kES384)) {
    return Bad(ErrorCode::kAttestBadAlgorithm, "protected alg is not ES384 (-35)");
  }
  return OkStatus();
}

Result<Payload> DecodePayload(std::span<const uint8_t> payload) {
  cbor::DecodeLimits limits;
  limits.max_input_bytes = kMaxDocumentBytes;
  limits.max_string_bytes = kMaxDocumentBytes;
  limits.max_depth = 3;  // map -> pcrs map / cabundle array -> bstr
  limits.max_items = 256;
  EML_ASSIGN_OR_RETURN(cbor::Decoded decoded, cbor::Decode(payload, limits));
  const cbor::Value& map = decoded.value;
  if (!map.is_map()) {
    return Bad(ErrorCode::kAttestMalformed, "payload is not a map");
  }
  Payload out;
  bool seen_module_id = false, seen_digest = false, seen_timestamp = false, seen_pcrs = false,
       seen_certificate = false, seen_cabundle = false;
  for (const auto& [key, value] : map.map_entries()) {
    if (!key.is_text()) {
      return Bad(ErrorCode::kAttestMalformed, "payload key is not a text string");
    }
    EML_ASSIGN_OR_RETURN(std::string_view name, key.AsText());
    EML_RETURN_IF_ERROR(DecodeField(name, value, out));
    seen_module_id |= name == "module_id";
    seen_digest |= name == "digest";
    seen_timestamp |= name == "timestamp";
    seen_pcrs |= name == "pcrs";
    seen_certificate |= name == "certificate";
    seen_cabundle |= name == "cabundle";
  }
  if (!(seen_module_id && seen_digest && seen_timestamp && seen_pcrs && seen_certificate &&
        seen_cabundle)) {
    return Bad(ErrorCode::kAttestMissingField, "a required payload field is absent");
  }
  return out;
}

bool PcrIsZero(std::span<const uint8_t> pcr) {
  for (uint8_t b : pcr) {
    if (b != 0) {
      return false;
    }
  }
  return true;
}

}  // namespace eml::attest::nitro
