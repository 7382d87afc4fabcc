#include "air/json.h"

#include <algorithm>
#include <array>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>
#include <vector>

#include "common/encoding.h"

namespace eml::air {
namespace {

using Json = nlohmann::json;

Error BadJson(std::string detail) { return Error{ErrorCode::kBadJson, std::move(detail)}; }

Result<Json> ParseObject(std::string_view text) {
  Json j = Json::parse(text.begin(), text.end(), /*cb=*/nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return BadJson("not a JSON object");
  }
  return j;
}

// Reads fields of one JSON object and remembers which were read, so Finish() can reject the
// rest. Every getter returns an error for a wrong type.
class ObjectReader {
 public:
  explicit ObjectReader(const Json& object, std::string where)
      : object_(object), where_(std::move(where)) {}

  bool Has(const std::string& key) {
    read_.insert(key);
    return object_.contains(key) && !object_.at(key).is_null();
  }
  Result<std::string> Text(const std::string& key) {
    if (!Has(key) || !object_.at(key).is_string()) {
      return BadJson(where_ + key + " must be a string");
    }
    return object_.at(key).get<std::string>();
  }
  Result<uint64_t> Uint(const std::string& key) {
    if (!Has(key) || !object_.at(key).is_number_unsigned()) {
      return BadJson(where_ + key + " must be a non-negative integer");
    }
    return object_.at(key).get<uint64_t>();
  }
  Result<int64_t> Int(const std::string& key) {
    if (!Has(key) || !object_.at(key).is_number_integer()) {
      return BadJson(where_ + key + " must be an integer");
    }
    if (object_.at(key).is_number_unsigned() &&
        object_.at(key).get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
      return BadJson(where_ + key + " is out of range");
    }
    return object_.at(key).get<int64_t>();
  }
  Result<bool> Bool(const std::string& key) {
    if (!Has(key) || !object_.at(key).is_boolean()) {
      return BadJson(where_ + key + " must be a boolean");
    }
    return object_.at(key).get<bool>();
  }
  Result<std::vector<uint8_t>> Hex(const std::string& key) {
    EML_ASSIGN_OR_RETURN(std::string text, Text(key));
    return HexDecode(text);
  }
  template <size_t kSize>
  Result<std::array<uint8_t, kSize>> HexArray(const std::string& key) {
    EML_ASSIGN_OR_RETURN(std::string text, Text(key));
    EML_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, HexDecodeExact(text, kSize));
    std::array<uint8_t, kSize> out{};
    std::copy(bytes.begin(), bytes.end(), out.begin());
    return out;
  }
  const Json& Raw(const std::string& key) {
    read_.insert(key);
    return object_.at(key);
  }
  Status Finish() const {
    for (const auto& item : object_.items()) {
      if (read_.count(item.key()) == 0) {
        return BadJson(where_ + item.key() + " is not a known field");
      }
    }
    return OkStatus();
  }

 private:
  const Json& object_;
  std::string where_;
  std::set<std::string> read_;
};

Status ReadMeasurements(ObjectReader& parent, Measurements* m) {
  if (!parent.Has("enclave_measurements") || !parent.Raw("enclave_measurements").is_object()) {
    return BadJson("enclave_measurements must be an object");
  }
  ObjectReader r(parent.Raw("enclave_measurements"), "enclave_measurements.");
  EML_ASSIGN_OR_RETURN(m->measurement_type, r.Text("measurement_type"));
  EML_ASSIGN_OR_RETURN(m->pcr0, r.Hex("pcr0_hex"));
  EML_ASSIGN_OR_RETURN(m->pcr1, r.Hex("pcr1_hex"));
  EML_ASSIGN_OR_RETURN(m->pcr2, r.Hex("pcr2_hex"));
  std::pair<const char*, std::optional<std::vector<uint8_t>>*> optional_pcrs[] = {
      {"pcr3_hex", &m->pcr3}, {"pcr4_hex", &m->pcr4}, {"pcr8_hex", &m->pcr8}};
  for (auto& [key, slot] : optional_pcrs) {
    if (r.Has(key)) {
      EML_ASSIGN_OR_RETURN(*slot, r.Hex(key));
    }
  }
  return r.Finish();
}

Result<Claims> ReadClaims(const Json& object) {
  ObjectReader r(object, "claims.");
  Claims c;
  EML_ASSIGN_OR_RETURN(c.iss, r.Text("iss"));
  EML_ASSIGN_OR_RETURN(c.iat, r.Uint("iat"));
  EML_ASSIGN_OR_RETURN(c.cti, r.HexArray<kCtiBytes>("cti_hex"));
  if (r.Has("eat_nonce_hex")) {
    EML_ASSIGN_OR_RETURN(c.eat_nonce, r.Hex("eat_nonce_hex"));
  }
  if (r.Has("eat_nonce")) {  // the vectors write "eat_nonce": null for "absent"
    return BadJson("claims.eat_nonce must be null (use eat_nonce_hex)");
  }
  if (r.Has("eat_profile")) {
    EML_ASSIGN_OR_RETURN(std::string profile, r.Text("eat_profile"));
    if (profile != kEatProfileUri) {
      return BadJson("claims.eat_profile must be " + std::string(kEatProfileUri));
    }
  }
  EML_ASSIGN_OR_RETURN(c.model_id, r.Text("model_id"));
  EML_ASSIGN_OR_RETURN(c.model_version, r.Text("model_version"));
  EML_ASSIGN_OR_RETURN(c.model_hash, r.HexArray<kHashBytes>("model_hash_hex"));
  EML_ASSIGN_OR_RETURN(c.request_hash, r.HexArray<kHashBytes>("request_hash_hex"));
  EML_ASSIGN_OR_RETURN(c.response_hash, r.HexArray<kHashBytes>("response_hash_hex"));
  EML_ASSIGN_OR_RETURN(c.attestation_doc_hash, r.HexArray<kHashBytes>("attestation_doc_hash_hex"));
  EML_RETURN_IF_ERROR(ReadMeasurements(r, &c.enclave_measurements));
  EML_ASSIGN_OR_RETURN(c.policy_version, r.Text("policy_version"));
  EML_ASSIGN_OR_RETURN(c.sequence_number, r.Uint("sequence_number"));
  EML_ASSIGN_OR_RETURN(c.execution_time_ms, r.Uint("execution_time_ms"));
  EML_ASSIGN_OR_RETURN(c.memory_peak_mb, r.Uint("memory_peak_mb"));
  EML_ASSIGN_OR_RETURN(c.security_mode, r.Text("security_mode"));
  if (r.Has("model_hash_scheme")) {
    EML_ASSIGN_OR_RETURN(c.model_hash_scheme, r.Text("model_hash_scheme"));
  }
  EML_RETURN_IF_ERROR(r.Finish());
  return c;
}

template <size_t kSize>
Status ReadOptionalDigest(ObjectReader& r, const std::string& key,
                          std::optional<std::array<uint8_t, kSize>>* out) {
  if (r.Has(key)) {
    EML_ASSIGN_OR_RETURN(*out, r.HexArray<kSize>(key));
  }
  return OkStatus();
}

Status ReadSeenCti(ObjectReader& r, VerifyPolicy* p) {
  if (!r.Has("seen_cti_hex")) {
    return OkStatus();
  }
  const Json& list = r.Raw("seen_cti_hex");
  if (!list.is_array()) {
    return BadJson("verify_policy.seen_cti_hex must be a list");
  }
  // Fixed-size keys: GCC 12 at -O3 warns (falsely) on set<vector<uint8_t>> comparisons.
  auto seen = std::make_shared<std::set<Cti>>();
  for (const Json& item : list) {
    if (!item.is_string()) {
      return BadJson("verify_policy.seen_cti_hex items must be strings");
    }
    EML_ASSIGN_OR_RETURN(std::vector<uint8_t> cti,
                         HexDecodeExact(item.get<std::string>(), kCtiBytes));
    Cti key{};
    std::copy(cti.begin(), cti.end(), key.begin());
    seen->insert(key);
  }
  p->is_cti_seen = [seen](std::span<const uint8_t> cti) {
    if (cti.size() != kCtiBytes) {
      return false;
    }
    Cti key{};
    std::copy(cti.begin(), cti.end(), key.begin());
    return seen->count(key) != 0;
  };
  return OkStatus();
}

Result<VerifyPolicy> ReadPolicy(const Json& object, const VerifyPolicy& base) {
  ObjectReader r(object, "verify_policy.");
  VerifyPolicy p = base;
  if (r.Has("max_age_secs")) {
    EML_ASSIGN_OR_RETURN(p.max_age_s, r.Uint("max_age_secs"));
  }
  if (r.Has("clock_skew_secs")) {
    EML_ASSIGN_OR_RETURN(p.clock_skew_s, r.Uint("clock_skew_secs"));
  }
  if (r.Has("now_unix")) {
    EML_ASSIGN_OR_RETURN(p.now_unix, r.Int("now_unix"));
  }
  EML_RETURN_IF_ERROR(ReadOptionalDigest(r, "expected_model_hash_hex", &p.expected_model_hash));
  EML_RETURN_IF_ERROR(ReadOptionalDigest(r, "expected_request_hash_hex", &p.expected_request_hash));
  EML_RETURN_IF_ERROR(
      ReadOptionalDigest(r, "expected_response_hash_hex", &p.expected_response_hash));
  EML_RETURN_IF_ERROR(
      ReadOptionalDigest(r, "expected_attestation_doc_hash_hex", &p.expected_attestation_doc_hash));
  if (r.Has("expected_model_id")) {
    EML_ASSIGN_OR_RETURN(p.expected_model_id, r.Text("expected_model_id"));
  }
  if (r.Has("expected_security_mode")) {
    EML_ASSIGN_OR_RETURN(std::string mode, r.Text("expected_security_mode"));
    if (mode == kSecurityModeProduction) {
      p.expected_security_mode = SecurityMode::kProduction;
    } else if (mode == kSecurityModeEvaluation) {
      p.expected_security_mode = SecurityMode::kEvaluation;
    } else {
      return BadJson("verify_policy.expected_security_mode must be production or evaluation");
    }
  }
  if (r.Has("expected_platform")) {
    EML_ASSIGN_OR_RETURN(std::string platform, r.Text("expected_platform"));
    Result<Platform> parsed = ParsePlatform(platform);
    if (!parsed.has_value()) {
      return BadJson("verify_policy.expected_platform: " + parsed.error().detail);
    }
    p.expected_platform = *parsed;
  }
  if (r.Has("expected_nonce_hex")) {
    EML_ASSIGN_OR_RETURN(p.expected_nonce, r.Hex("expected_nonce_hex"));
  }
  std::pair<const char*, bool*> flags[] = {
      {"require_nonce", &p.require_nonce},
      {"allow_evaluation", &p.allow_evaluation},
      {"allow_non_canonical", &p.allow_non_canonical},
      {"map_legacy_gateway_only", &p.map_legacy_gateway_only},
  };
  for (auto& [key, flag] : flags) {
    if (r.Has(key)) {
      EML_ASSIGN_OR_RETURN(*flag, r.Bool(key));
    }
  }
  EML_RETURN_IF_ERROR(ReadSeenCti(r, &p));
  EML_RETURN_IF_ERROR(r.Finish());
  return p;
}

Json ClaimsToJsonValue(const Claims& c) {
  Json j;
  j["iss"] = c.iss;
  j["iat"] = c.iat;
  j["cti_hex"] = HexEncode(c.cti);
  j["eat_nonce_hex"] = c.eat_nonce ? Json(HexEncode(*c.eat_nonce)) : Json(nullptr);
  j["eat_profile"] = std::string(kEatProfileUri);
  j["model_id"] = c.model_id;
  j["model_version"] = c.model_version;
  j["model_hash_hex"] = HexEncode(c.model_hash);
  j["request_hash_hex"] = HexEncode(c.request_hash);
  j["response_hash_hex"] = HexEncode(c.response_hash);
  j["attestation_doc_hash_hex"] = HexEncode(c.attestation_doc_hash);
  const Measurements& m = c.enclave_measurements;
  Json meas;
  meas["measurement_type"] = m.measurement_type;
  meas["pcr0_hex"] = HexEncode(m.pcr0);
  meas["pcr1_hex"] = HexEncode(m.pcr1);
  meas["pcr2_hex"] = HexEncode(m.pcr2);
  meas["pcr3_hex"] = m.pcr3 ? Json(HexEncode(*m.pcr3)) : Json(nullptr);
  meas["pcr4_hex"] = m.pcr4 ? Json(HexEncode(*m.pcr4)) : Json(nullptr);
  meas["pcr8_hex"] = m.pcr8 ? Json(HexEncode(*m.pcr8)) : Json(nullptr);
  j["enclave_measurements"] = meas;
  j["policy_version"] = c.policy_version;
  j["sequence_number"] = c.sequence_number;
  j["execution_time_ms"] = c.execution_time_ms;
  j["memory_peak_mb"] = c.memory_peak_mb;
  j["security_mode"] = c.security_mode;
  j["model_hash_scheme"] = c.model_hash_scheme ? Json(*c.model_hash_scheme) : Json(nullptr);
  return j;
}

}  // namespace

Result<Claims> ClaimsFromJson(std::string_view json_text) {
  EML_ASSIGN_OR_RETURN(Json j, ParseObject(json_text));
  return ReadClaims(j);
}

std::string ClaimsToJson(const Claims& claims) {
  return ClaimsToJsonValue(claims).dump(2, ' ', false, Json::error_handler_t::replace);
}

Result<VerifyPolicy> PolicyFromJson(std::string_view json_text, const VerifyPolicy& base) {
  EML_ASSIGN_OR_RETURN(Json j, ParseObject(json_text));
  return ReadPolicy(j, base);
}

Result<Platform> ParsePlatform(std::string_view text) {
  if (text == "any") {
    return Platform::kAny;
  }
  if (text == kMeasurementTypeNitro) {
    return Platform::kNitroPcr;
  }
  if (text == kMeasurementTypeTdx) {
    return Platform::kTdxMrtdRtmr;
  }
  return Error{ErrorCode::kInvalidArgument, "platform must be nitro-pcr, tdx-mrtd-rtmr or any"};
}

std::string ReportToJson(const VerificationReport& report, int indent) {
  Json j;
  j["verified"] = report.verified();
  Json checks = Json::array();
  for (const CheckResult& r : report.checks()) {
    Json item;
    item["layer"] = static_cast<int>(r.layer);
    item["check"] = std::string(CheckName(r.check));
    item["status"] = std::string(CheckStatusName(r.status));
    item["code"] = r.code ? Json(std::string(CheckCodeName(*r.code))) : Json(nullptr);
    item["detail"] = r.detail;
    checks.push_back(std::move(item));
  }
  j["checks"] = std::move(checks);
  const VerifiedReceipt* verified = report.verified_receipt();
  j["claims"] = verified != nullptr ? ClaimsToJsonValue(verified->claims()) : Json(nullptr);
  // Details may quote decoder messages; replace invalid UTF-8 rather than throw.
  return j.dump(indent, ' ', false, Json::error_handler_t::replace);
}

}  // namespace eml::air
