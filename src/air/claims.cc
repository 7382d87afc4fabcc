#include "air/claims.h"

#include <algorithm>
#include <utility>

#include "cbor/encoder.h"

namespace eml::air {
namespace {

Error Invalid(std::string detail) { return Error{ErrorCode::kAirInvalidClaims, std::move(detail)}; }

bool AllZero(std::span<const uint8_t> bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](uint8_t b) { return b == 0; });
}

// IsWellFormedUtf8: RFC 3629 (no overlongs, no surrogates, nothing above U+10FFFF), because the
// verifier's CBOR decoder rejects text that is not.
bool IsWellFormedUtf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const auto b0 = static_cast<uint8_t>(text[i]);
    size_t extra = 0;
    uint8_t lo = 0x80;
    uint8_t hi = 0xbf;
    if (b0 < 0x80) {
      ++i;
      continue;
    } else if (b0 >= 0xc2 && b0 <= 0xdf) {
      extra = 1;
    } else if (b0 >= 0xe0 && b0 <= 0xef) {
      extra = 2;
      lo = b0 == 0xe0 ? 0xa0 : 0x80;
      hi = b0 == 0xed ? 0x9f : 0xbf;
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
      extra = 3;
      lo = b0 == 0xf0 ? 0x90 : 0x80;
      hi = b0 == 0xf4 ? 0x8f : 0xbf;
    } else {
      return false;
    }
    if (text.size() - i <= extra) {
      return false;
    }
    for (size_t k = 1; k <= extra; ++k) {
      const auto b = static_cast<uint8_t>(text[i + k]);
      const uint8_t min = k == 1 ? lo : 0x80;
      const uint8_t max = k == 1 ? hi : 0xbf;
      if (b < min || b > max) {
        return false;
      }
    }
    i += extra + 1;
  }
  return true;
}

Status CheckText(std::string_view name, std::string_view value, size_t max_bytes) {
  if (value.empty() || value.size() > max_bytes) {
    return Invalid(std::string(name) + " must be 1.." + std::to_string(max_bytes) + " bytes");
  }
  if (!IsWellFormedUtf8(value)) {
    return Invalid(std::string(name) + " is not valid UTF-8");
  }
  return OkStatus();
}

Status ValidateMeasurements(const Measurements& m) {
  if (!IsWellFormedUtf8(m.measurement_type) || !IsKnownMeasurementType(m.measurement_type)) {
    return Invalid("unknown measurement_type");
  }
  const std::pair<const char*, const std::vector<uint8_t>*> pcrs[] = {
      {"pcr0", &m.pcr0},
      {"pcr1", &m.pcr1},
      {"pcr2", &m.pcr2},
      {"pcr3", m.pcr3 ? &*m.pcr3 : nullptr},
      {"pcr4", m.pcr4 ? &*m.pcr4 : nullptr},
      {"pcr8", m.pcr8 ? &*m.pcr8 : nullptr},
  };
  for (const auto& [name, value] : pcrs) {
    if (value != nullptr && value->size() != kPcrBytes) {
      return Invalid(std::string(name) + " must be 48 bytes");
    }
  }
  if (m.measurement_type == kMeasurementTypeTdx && m.pcr8.has_value()) {
    return Invalid("pcr8 is not allowed with tdx-mrtd-rtmr");
  }
  return OkStatus();
}

}  // namespace

std::optional<std::string_view> ClaimName(int64_t key) {
  switch (key) {
    case kKeyIss:
      return "iss";
    case kKeyIat:
      return "iat";
    case kKeyCti:
      return "cti";
    case kKeyEatNonce:
      return "eat_nonce";
    case kKeyEatProfile:
      return "eat_profile";
    case kKeyModelId:
      return "model_id";
    case kKeyModelVersion:
      return "model_version";
    case kKeyModelHash:
      return "model_hash";
    case kKeyRequestHash:
      return "request_hash";
    case kKeyResponseHash:
      return "response_hash";
    case kKeyAttestationDocHash:
      return "attestation_doc_hash";
    case kKeyEnclaveMeasurements:
      return "enclave_measurements";
    case kKeyPolicyVersion:
      return "policy_version";
    case kKeySequenceNumber:
      return "sequence_number";
    case kKeyExecutionTimeMs:
      return "execution_time_ms";
    case kKeyMemoryPeakMb:
      return "memory_peak_mb";
    case kKeySecurityMode:
      return "security_mode";
    case kKeyModelHashScheme:
      return "model_hash_scheme";
    default:
      return std::nullopt;
  }
}

bool IsKnownMeasurementType(std::string_view value) {
  return value == kMeasurementTypeNitro || value == kMeasurementTypeTdx;
}

bool IsKnownSecurityMode(std::string_view value) {
  return value == kSecurityModeProduction || value == kSecurityModeEvaluation;
}

bool IsKnownModelHashScheme(std::string_view value) {
  return value == kSchemeSha256Single || value == kSchemeSha256Concat ||
         value == kSchemeSha256Manifest;
}

Status ValidateClaims(const Claims& c) {
  EML_RETURN_IF_ERROR(CheckText("iss", c.iss, kMaxIssBytes));
  EML_RETURN_IF_ERROR(CheckText("model_id", c.model_id, kMaxModelIdBytes));
  EML_RETURN_IF_ERROR(CheckText("model_version", c.model_version, kMaxModelVersionBytes));
  EML_RETURN_IF_ERROR(CheckText("policy_version", c.policy_version, kMaxPolicyVersionBytes));
  EML_RETURN_IF_ERROR(CheckText("security_mode", c.security_mode, kMaxSecurityModeBytes));
  if (c.iat == 0) {
    return Invalid("iat must not be 0");
  }
  if (AllZero(c.cti)) {
    return Invalid("cti must not be all zero");
  }
  if (c.eat_nonce.has_value() &&
      (c.eat_nonce->size() < kMinNonceBytes || c.eat_nonce->size() > kMaxNonceBytes)) {
    return Invalid("eat_nonce must be 8..64 bytes");
  }
  if (AllZero(c.model_hash)) {
    return Invalid("model_hash must not be all zero");
  }
  if (!IsKnownSecurityMode(c.security_mode)) {
    return Invalid("security_mode must be production or evaluation");
  }
  if (c.model_hash_scheme.has_value()) {
    EML_RETURN_IF_ERROR(
        CheckText("model_hash_scheme", *c.model_hash_scheme, kMaxModelHashSchemeBytes));
    if (!IsKnownModelHashScheme(*c.model_hash_scheme)) {
      return Invalid("unknown model_hash_scheme");
    }
  }
  return ValidateMeasurements(c.enclave_measurements);
}

cbor::Value ClaimsToCbor(const Claims& c) {
  using cbor::Value;
  const Measurements& m = c.enclave_measurements;
  std::vector<std::pair<Value, Value>> meas;
  meas.emplace_back(Value::Text("measurement_type"), Value::Text(m.measurement_type));
  meas.emplace_back(Value::Text("pcr0"), Value::Bytes(m.pcr0));
  meas.emplace_back(Value::Text("pcr1"), Value::Bytes(m.pcr1));
  meas.emplace_back(Value::Text("pcr2"), Value::Bytes(m.pcr2));
  if (m.pcr3) {
    meas.emplace_back(Value::Text("pcr3"), Value::Bytes(*m.pcr3));
  }
  if (m.pcr4) {
    meas.emplace_back(Value::Text("pcr4"), Value::Bytes(*m.pcr4));
  }
  if (m.pcr8) {
    meas.emplace_back(Value::Text("pcr8"), Value::Bytes(*m.pcr8));
  }

  std::vector<std::pair<Value, Value>> map;
  map.reserve(18);
  map.emplace_back(Value::Int(kKeyIss), Value::Text(c.iss));
  map.emplace_back(Value::Int(kKeyIat), Value::Uint(c.iat));
  map.emplace_back(Value::Int(kKeyCti), Value::Bytes(std::span<const uint8_t>(c.cti)));
  if (c.eat_nonce) {
    map.emplace_back(Value::Int(kKeyEatNonce), Value::Bytes(*c.eat_nonce));
  }
  map.emplace_back(Value::Int(kKeyEatProfile), Value::Text(std::string(kEatProfileUri)));
  map.emplace_back(Value::Int(kKeyModelId), Value::Text(c.model_id));
  map.emplace_back(Value::Int(kKeyModelVersion), Value::Text(c.model_version));
  map.emplace_back(Value::Int(kKeyModelHash), Value::Bytes(std::span<const uint8_t>(c.model_hash)));
  map.emplace_back(Value::Int(kKeyRequestHash),
                   Value::Bytes(std::span<const uint8_t>(c.request_hash)));
  map.emplace_back(Value::Int(kKeyResponseHash),
                   Value::Bytes(std::span<const uint8_t>(c.response_hash)));
  map.emplace_back(Value::Int(kKeyAttestationDocHash),
                   Value::Bytes(std::span<const uint8_t>(c.attestation_doc_hash)));
  map.emplace_back(Value::Int(kKeyEnclaveMeasurements), Value::Map(std::move(meas)));
  map.emplace_back(Value::Int(kKeyPolicyVersion), Value::Text(c.policy_version));
  map.emplace_back(Value::Int(kKeySequenceNumber), Value::Uint(c.sequence_number));
  map.emplace_back(Value::Int(kKeyExecutionTimeMs), Value::Uint(c.execution_time_ms));
  map.emplace_back(Value::Int(kKeyMemoryPeakMb), Value::Uint(c.memory_peak_mb));
  map.emplace_back(Value::Int(kKeySecurityMode), Value::Text(c.security_mode));
  if (c.model_hash_scheme) {
    map.emplace_back(Value::Int(kKeyModelHashScheme), Value::Text(*c.model_hash_scheme));
  }
  return Value::Map(std::move(map));
}

Result<std::vector<uint8_t>> EncodeClaims(const Claims& claims) {
  EML_RETURN_IF_ERROR(ValidateClaims(claims));
  // Keys are distinct by construction, so Encode cannot report a duplicate.
  return cbor::Encode(ClaimsToCbor(claims));
}

}  // namespace eml::air
