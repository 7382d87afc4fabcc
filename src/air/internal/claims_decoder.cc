#include "air/internal/claims_decoder.h"

#include <bitset>
#include <optional>
#include <string_view>
#include <utility>

namespace eml::air::internal {
namespace {

using cbor::Value;

ClaimsFinding Finding(CheckCode code, std::string detail) {
  return ClaimsFinding{code, std::move(detail)};
}

// Copies a text claim after the bounds check; nullopt-returning helpers give the finding.
std::optional<ClaimsFinding> ReadText(const Value& v, std::string_view name, size_t max_bytes,
                                      std::string* out) {
  if (!v.is_text()) {
    return Finding(CheckCode::kWrongType, std::string(name) + " is not a text string");
  }
  const std::string_view text = *v.AsText();
  if (text.empty() || text.size() > max_bytes) {
    return Finding(CheckCode::kTextBounds,
                   std::string(name) + " must be 1.." + std::to_string(max_bytes) + " bytes");
  }
  out->assign(text);
  return std::nullopt;
}

std::optional<ClaimsFinding> ReadUint(const Value& v, std::string_view name, uint64_t* out) {
  if (!v.is_uint()) {
    return Finding(CheckCode::kWrongType, std::string(name) + " is not an unsigned integer");
  }
  *out = *v.AsUint();
  return std::nullopt;
}

template <size_t kSize>
std::optional<ClaimsFinding> ReadFixed(const Value& v, std::string_view name, CheckCode bad_len,
                                       std::array<uint8_t, kSize>* out) {
  if (!v.is_bytes()) {
    return Finding(CheckCode::kWrongType, std::string(name) + " is not a byte string");
  }
  const std::span<const uint8_t> bytes = *v.AsBytes();
  if (bytes.size() != kSize) {
    return Finding(bad_len, std::string(name) + " is " + std::to_string(bytes.size()) +
                                " bytes, expected " + std::to_string(kSize));
  }
  std::copy(bytes.begin(), bytes.end(), out->begin());
  return std::nullopt;
}

std::optional<ClaimsFinding> ReadBytes(const Value& v, std::string_view name,
                                       std::vector<uint8_t>* out) {
  if (!v.is_bytes()) {
    return Finding(CheckCode::kWrongType, std::string(name) + " is not a byte string");
  }
  const std::span<const uint8_t> bytes = *v.AsBytes();
  out->assign(bytes.begin(), bytes.end());
  return std::nullopt;
}

std::optional<ClaimsFinding> ReadMeasurements(const Value& v, Measurements* out) {
  if (!v.is_map()) {
    return Finding(CheckCode::kWrongType, "enclave_measurements is not a map");
  }
  static constexpr std::string_view kKeys[] = {
      "measurement_type", "pcr0", "pcr1", "pcr2", "pcr3", "pcr4", "pcr8"};
  std::bitset<7> seen;
  for (const auto& [key, value] : v.map_entries()) {
    if (!key.is_text()) {
      return Finding(CheckCode::kWrongType, "enclave_measurements key is not a text string");
    }
    const std::string_view name = *key.AsText();
    size_t index = 0;
    while (index < 7 && kKeys[index] != name) {
      ++index;
    }
    if (index == 7) {
      return Finding(CheckCode::kUnknownClaim, "unknown enclave_measurements key");
    }
    if (seen.test(index)) {
      return Finding(CheckCode::kDuplicateClaim, "duplicate enclave_measurements key");
    }
    seen.set(index);
    std::optional<ClaimsFinding> finding;
    switch (index) {
      case 0:
        if (!value.is_text()) {
          return Finding(CheckCode::kWrongType, "measurement_type is not a text string");
        }
        out->measurement_type.assign(*value.AsText());
        break;
      case 1:
        finding = ReadBytes(value, name, &out->pcr0);
        break;
      case 2:
        finding = ReadBytes(value, name, &out->pcr1);
        break;
      case 3:
        finding = ReadBytes(value, name, &out->pcr2);
        break;
      default: {
        std::optional<std::vector<uint8_t>>& slot =
            index == 4 ? out->pcr3 : (index == 5 ? out->pcr4 : out->pcr8);
        slot.emplace();
        finding = ReadBytes(value, name, &*slot);
        break;
      }
    }
    if (finding) {
      return finding;
    }
  }
  for (size_t i = 0; i < 4; ++i) {
    if (!seen.test(i)) {
      return Finding(CheckCode::kMissingClaim,
                     "enclave_measurements lacks " + std::string(kKeys[i]));
    }
  }
  return std::nullopt;
}

// The claim keys in a fixed order; the position is the bit in the `seen` set.
constexpr int64_t kAllKeys[] = {
    kKeyIss,
    kKeyIat,
    kKeyCti,
    kKeyEatNonce,
    kKeyEatProfile,
    kKeyModelId,
    kKeyModelVersion,
    kKeyModelHash,
    kKeyRequestHash,
    kKeyResponseHash,
    kKeyAttestationDocHash,
    kKeyEnclaveMeasurements,
    kKeyPolicyVersion,
    kKeySequenceNumber,
    kKeyExecutionTimeMs,
    kKeyMemoryPeakMb,
    kKeySecurityMode,
    kKeyModelHashScheme,
};
constexpr size_t kNumKeys = std::size(kAllKeys);

bool IsOptionalKey(int64_t key) { return key == kKeyEatNonce || key == kKeyModelHashScheme; }

std::optional<ClaimsFinding> ReadClaim(int64_t key, const Value& v, DecodedClaims* out) {
  Claims& c = out->claims;
  const std::string_view name = *ClaimName(key);
  switch (key) {
    case kKeyIss:
      return ReadText(v, name, kMaxIssBytes, &c.iss);
    case kKeyIat:
      if (auto f = ReadUint(v, name, &c.iat)) {
        return f;
      }
      if (c.iat == 0) {
        return Finding(CheckCode::kZeroIat, "iat is 0");
      }
      return std::nullopt;
    case kKeyCti:
      return ReadFixed(v, name, CheckCode::kBadCtiLength, &c.cti);
    case kKeyEatNonce:
      c.eat_nonce.emplace();
      if (auto f = ReadBytes(v, name, &*c.eat_nonce)) {
        return f;
      }
      if (c.eat_nonce->size() < kMinNonceBytes || c.eat_nonce->size() > kMaxNonceBytes) {
        return Finding(CheckCode::kBadNonceLength, "eat_nonce must be 8..64 bytes");
      }
      return std::nullopt;
    case kKeyEatProfile:
      if (!v.is_text()) {
        return Finding(CheckCode::kWrongType, "eat_profile is not a text string");
      }
      out->eat_profile.assign(*v.AsText());
      return std::nullopt;
    case kKeyModelId:
      return ReadText(v, name, kMaxModelIdBytes, &c.model_id);
    case kKeyModelVersion:
      return ReadText(v, name, kMaxModelVersionBytes, &c.model_version);
    case kKeyModelHash:
      return ReadFixed(v, name, CheckCode::kBadHashLength, &c.model_hash);
    case kKeyRequestHash:
      return ReadFixed(v, name, CheckCode::kBadHashLength, &c.request_hash);
    case kKeyResponseHash:
      return ReadFixed(v, name, CheckCode::kBadHashLength, &c.response_hash);
    case kKeyAttestationDocHash:
      return ReadFixed(v, name, CheckCode::kBadHashLength, &c.attestation_doc_hash);
    case kKeyEnclaveMeasurements:
      return ReadMeasurements(v, &c.enclave_measurements);
    case kKeyPolicyVersion:
      return ReadText(v, name, kMaxPolicyVersionBytes, &c.policy_version);
    case kKeySequenceNumber:
      return ReadUint(v, name, &c.sequence_number);
    case kKeyExecutionTimeMs:
      return ReadUint(v, name, &c.execution_time_ms);
    case kKeyMemoryPeakMb:
      return ReadUint(v, name, &c.memory_peak_mb);
    case kKeySecurityMode:
      return ReadText(v, name, kMaxSecurityModeBytes, &c.security_mode);
    case kKeyModelHashScheme:
      c.model_hash_scheme.emplace();
      return ReadText(v, name, kMaxModelHashSchemeBytes, &*c.model_hash_scheme);
    default:
      return Finding(CheckCode::kUnknownClaim, "unknown claim key");
  }
}

}  // namespace

std::variant<DecodedClaims, ClaimsFinding> DecodeClaimsMap(const cbor::Value& payload) {
  if (!payload.is_map()) {
    return Finding(CheckCode::kPayloadNotMap, "claims payload is not a CBOR map");
  }
  DecodedClaims out;
  std::bitset<kNumKeys> seen;
  for (const auto& [key, value] : payload.map_entries()) {
    // A closed map of integer keys: any other key, of any type, is an unknown claim.
    std::optional<int64_t> int_key;
    if (key.is_integer()) {
      if (auto k = key.AsInt64(); k.has_value()) {
        int_key = *k;
      }
    }
    size_t index = kNumKeys;
    if (int_key.has_value()) {
      index = 0;
      while (index < kNumKeys && kAllKeys[index] != *int_key) {
        ++index;
      }
    }
    if (index == kNumKeys) {
      return Finding(CheckCode::kUnknownClaim, "claim key outside the AIR v1 set");
    }
    if (seen.test(index)) {
      return Finding(CheckCode::kDuplicateClaim,
                     "duplicate claim " + std::string(*ClaimName(*int_key)));
    }
    seen.set(index);
    if (auto finding = ReadClaim(*int_key, value, &out)) {
      return *std::move(finding);
    }
  }
  for (size_t i = 0; i < kNumKeys; ++i) {
    if (!seen.test(i) && !IsOptionalKey(kAllKeys[i])) {
      return Finding(CheckCode::kMissingClaim,
                     "missing claim " + std::string(*ClaimName(kAllKeys[i])));
    }
  }
  return out;
}

}  // namespace eml::air::internal
