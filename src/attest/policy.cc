#include "attest/policy.h"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

#include "attest/builtin_roots.h"
#include "attest/nitro/document.h"
#include "attest/nitro/nitro_verifier.h"
#include "attest/report_binding.h"
#include "attest/tdx/tdx_verifier.h"
#include "common/byte_reader.h"
#include "common/encoding.h"
#include "crypto/hash.h"

namespace eml::attest {
namespace {

using Json = nlohmann::json;

struct MeasurementSpec {
  const char* platform;
  const char* name;
  size_t size_bytes;
};

constexpr MeasurementSpec kMeasurementSpecs[] = {
    {kPlatformTdx, "mrtd", 48},
    {kPlatformTdx, "rtmr0", 48},
    {kPlatformTdx, "rtmr1", 48},
    {kPlatformTdx, "rtmr2", 48},
    {kPlatformTdx, "rtmr3", 48},
    {kPlatformTdx, "mrconfigid", 48},
    {kPlatformTdx, "mrowner", 48},
    {kPlatformTdx, "mrownerconfig", 48},
    {kPlatformSevSnp, "measurement", 48},
    {kPlatformSevSnp, "host_data", 32},
    {kPlatformSevSnp, "id_key_digest", 48},
    {kPlatformSevSnp, "author_key_digest", 48},
    {kPlatformGcpCs, "image_digest", 32},
};

// Keys each platform entry may hold.
struct PlatformSpec {
  const char* name;
  std::vector<std::string> keys;
};

const std::vector<PlatformSpec>& PlatformSpecs() {
  static const auto* specs = new std::vector<PlatformSpec>{
      {kPlatformSim, {"roots", "pcrs"}},
      {kPlatformAwsNitro, {"roots", "pcrs"}},
      {kPlatformTdx, {"roots", "measurements", "tcb_statuses", "collateral_dir"}},
      {kPlatformSevSnp,
       {"roots", "measurements", "certificates", "allow_smt", "allow_migration_agent", "max_vmpl",
        "minimum_tcb"}},
      {kPlatformGcpCs,
       {"roots", "measurements", "jwks", "audience", "hwmodels", "support_attributes"}},
  };
  return *specs;
}

const PlatformSpec* FindPlatformSpec(std::string_view name) {
  for (const PlatformSpec& spec : PlatformSpecs()) {
    if (name == spec.name) {
      return &spec;
    }
  }
  return nullptr;
}

const MeasurementSpec* FindMeasurementSpec(std::string_view platform, std::string_view name) {
  for (const MeasurementSpec& spec : kMeasurementSpecs) {
    if (platform == spec.platform && name == spec.name) {
      return &spec;
    }
  }
  return nullptr;
}

Error PolicyError(ErrorCode code, const std::string& where, const std::string& what) {
  return Error{code, where + ": " + what};
}

// ---- Parsing -------------------------------------------------------------------------------

// Rejects duplicate keys (nlohmann keeps the last one silently) while parsing.
class DuplicateKeyGuard {
 public:
  bool OnEvent(int depth, Json::parse_event_t event, Json& parsed) {
    switch (event) {
      case Json::parse_event_t::object_start:
        keys_.emplace_back();
        break;
      case Json::parse_event_t::object_end:
        if (!keys_.empty()) {
          keys_.pop_back();
        }
        break;
      case Json::parse_event_t::key:
        if (!keys_.empty() && parsed.is_string() &&
            !keys_.back().insert(parsed.get_ref<const std::string&>()).second) {
          duplicate_ = true;
        }
        break;
      case Json::parse_event_t::array_start:
      case Json::parse_event_t::array_end:
      case Json::parse_event_t::value:
        break;
    }
    (void)depth;
    return true;
  }
  bool duplicate() const { return duplicate_; }

 private:
  std::vector<std::set<std::string>> keys_;
  bool duplicate_ = false;
};

Status CheckKeys(const Json& object, const std::vector<std::string>& allowed,
                 const std::string& where) {
  for (const auto& item : object.items()) {
    if (std::find(allowed.begin(), allowed.end(), item.key()) == allowed.end()) {
      return PolicyError(ErrorCode::kPolicyUnknownKey, where, "unknown key \"" + item.key() + "\"");
    }
  }
  return {};
}

Result<const Json*> GetTyped(const Json& object, const char* key, Json::value_t type,
                             const std::string& where) {
  auto it = object.find(key);
  if (it == object.end()) {
    return static_cast<const Json*>(nullptr);
  }
  const bool ok =
      type == Json::value_t::number_integer ? it->is_number_integer() : it->type() == type;
  if (!ok) {
    return PolicyError(ErrorCode::kPolicyMalformed, where + "." + key,
                       std::string("must be a JSON ") + Json(type).type_name());
  }
  return &*it;
}

Result<std::vector<uint8_t>> ReadCapped(const std::filesystem::path& path, size_t max_bytes,
                                        ErrorCode too_large, const std::string& where) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return PolicyError(ErrorCode::kNotFound, where, "no such file " + path.string());
  }
  // Only regular files: a FIFO or device would block or never end.
  if (!std::filesystem::is_regular_file(path, ec)) {
    return PolicyError(ErrorCode::kIoError, where, path.string() + " is not a regular file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return PolicyError(ErrorCode::kIoError, where, "cannot open " + path.string());
  }
  std::vector<uint8_t> bytes;
  std::vector<char> chunk(16 * 1024);
  while (in) {
    in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    const auto got = static_cast<size_t>(in.gcount());
    if (bytes.size() + got > max_bytes) {
      return PolicyError(too_large, where, path.string() + " is larger than the limit");
    }
    bytes.insert(bytes.end(), chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(got));
  }
  if (in.bad()) {
    return PolicyError(ErrorCode::kIoError, where, "cannot read " + path.string());
  }
  return bytes;
}

std::filesystem::path Resolve(const std::filesystem::path& base_dir, const std::string& path) {
  std::filesystem::path p(path);
  return p.is_absolute() ? p : base_dir / p;
}

Result<std::vector<crypto::Certificate>> LoadRootFile(const std::filesystem::path& path,
                                                      const std::string& where) {
  Result<std::vector<uint8_t>> bytes =
      ReadCapped(path, kMaxPolicyRootFileBytes, ErrorCode::kPolicyBadRoot, where);
  if (!bytes.has_value()) {
    return PolicyError(ErrorCode::kPolicyBadRoot, where, bytes.error().detail);
  }
  const std::string text(bytes->begin(), bytes->end());
  if (text.find("-----BEGIN") != std::string::npos) {
    Result<std::vector<crypto::Certificate>> pem = crypto::Certificate::ParsePemBundle(text);
    if (!pem.has_value() || pem->empty()) {
      return PolicyError(ErrorCode::kPolicyBadRoot, where,
                         path.string() + " is not a PEM certificate bundle");
    }
    return pem;
  }
  Result<crypto::Certificate> der = crypto::Certificate::FromDer(*bytes);
  if (!der.has_value()) {
    return PolicyError(ErrorCode::kPolicyBadRoot, where,
                       path.string() + " is not a PEM or DER certificate");
  }
  std::vector<crypto::Certificate> out;
  out.push_back(*std::move(der));
  return out;
}

// LoadCertificateEntry reads one "roots" / "certificates" entry: inline PEM text when it starts
// with kInlinePemPrefix (policies kept as text, such as the key broker's, carry their roots this
// way), otherwise a file name resolved against base_dir.
Result<std::vector<crypto::Certificate>> LoadCertificateEntry(const std::filesystem::path& base_dir,
                                                              const std::string& entry,
                                                              const std::string& where) {
  if (entry.rfind(kInlinePemPrefix, 0) != 0) {
    return LoadRootFile(Resolve(base_dir, entry), where);
  }
  if (entry.size() > kMaxPolicyRootFileBytes) {
    return PolicyError(ErrorCode::kPolicyBadRoot, where, "inline PEM is larger than the limit");
  }
  Result<std::vector<crypto::Certificate>> pem = crypto::Certificate::ParsePemBundle(entry);
  if (!pem.has_value() || pem->empty()) {
    return PolicyError(ErrorCode::kPolicyBadRoot, where, "inline PEM is not a certificate bundle");
  }
  return pem;
}

Result<std::vector<uint8_t>> DecodePinHex(std::string text, size_t size_bytes,
                                          const std::string& where) {
  if (text.rfind("sha256:", 0) == 0 && size_bytes == crypto::kSha256Size) {
    text.erase(0, 7);
  }
  Result<std::vector<uint8_t>> bytes = HexDecodeExact(text, size_bytes);
  if (!bytes.has_value()) {
    return PolicyError(ErrorCode::kPolicyBadValue, where,
                       "must be " + std::to_string(size_bytes * 2) + " hex digits");
  }
  return bytes;
}

Result<uint32_t> ParsePcrIndex(const std::string& key, const std::string& where) {
  const bool digits = !key.empty() && key.size() <= 2 &&
                      key.find_first_not_of("0123456789") == std::string::npos &&
                      (key.size() == 1 || key[0] != '0');
  if (!digits || std::stoul(key) > nitro::kMaxPcrIndex) {
    return PolicyError(ErrorCode::kPolicyBadValue, where, "PCR index \"" + key + "\" is not 0..31");
  }
  return static_cast<uint32_t>(std::stoul(key));
}

Result<bool> GetBool(const Json& object, const char* key, bool fallback, const std::string& where) {
  EML_ASSIGN_OR_RETURN(const Json* value, GetTyped(object, key, Json::value_t::boolean, where));
  return value == nullptr ? fallback : value->get<bool>();
}

// GetSmallUint reads an optional integer 0..max at `key`.
Result<std::optional<uint32_t>> GetSmallUint(const Json& object, const char* key, uint32_t max,
                                             const std::string& where) {
  EML_ASSIGN_OR_RETURN(const Json* value,
                       GetTyped(object, key, Json::value_t::number_integer, where));
  if (value == nullptr) {
    return std::optional<uint32_t>();
  }
  if (!value->is_number_unsigned() || value->get<uint64_t>() > max) {
    return PolicyError(ErrorCode::kPolicyBadValue, where + "." + key,
                       "must be an integer 0.." + std::to_string(max));
  }
  return std::optional<uint32_t>(static_cast<uint32_t>(value->get<uint64_t>()));
}

// ParseSnpGuestPolicy reads the sev-snp keys allow_smt, allow_migration_agent, max_vmpl and
// minimum_tcb.
Status ParseSnpGuestPolicy(const Json& entry, const std::string& where, PlatformPolicy* out) {
  EML_ASSIGN_OR_RETURN(out->allow_smt, GetBool(entry, "allow_smt", true, where));
  EML_ASSIGN_OR_RETURN(out->allow_migration_agent,
                       GetBool(entry, "allow_migration_agent", false, where));
  EML_ASSIGN_OR_RETURN(out->max_vmpl, GetSmallUint(entry, "max_vmpl", kMaxSnpVmpl, where));
  EML_ASSIGN_OR_RETURN(const Json* tcb,
                       GetTyped(entry, "minimum_tcb", Json::value_t::object, where));
  if (tcb == nullptr) {
    return {};
  }
  const std::string tcb_where = where + ".minimum_tcb";
  EML_RETURN_IF_ERROR(CheckKeys(*tcb, {"bootloader", "tee", "snp", "microcode", "fmc"}, tcb_where));
  if (tcb->empty()) {
    return PolicyError(ErrorCode::kPolicyBadValue, tcb_where, "names no TCB component");
  }
  sevsnp::TcbVersion min;
  const std::pair<const char*, uint8_t*> components[] = {{"bootloader", &min.bootloader},
                                                         {"tee", &min.tee},
                                                         {"snp", &min.snp},
                                                         {"microcode", &min.microcode},
                                                         {"fmc", &min.fmc}};
  for (const auto& component : components) {
    EML_ASSIGN_OR_RETURN(std::optional<uint32_t> value,
                         GetSmallUint(*tcb, component.first, 255, tcb_where));
    *component.second = static_cast<uint8_t>(value.value_or(0));
  }
  out->minimum_tcb = min;
  return {};
}

// GetStringList reads an optional array of 1..kMaxGcpPolicyStrings distinct non-empty strings.
Result<std::vector<std::string>> GetStringList(const Json& object, const char* key,
                                               const std::string& where) {
  EML_ASSIGN_OR_RETURN(const Json* list, GetTyped(object, key, Json::value_t::array, where));
  std::vector<std::string> out;
  if (list == nullptr) {
    return out;
  }
  const std::string key_where = where + "." + key;
  if (list->empty() || list->size() > kMaxGcpPolicyStrings) {
    return PolicyError(ErrorCode::kPolicyBadValue, key_where,
                       "must list 1.." + std::to_string(kMaxGcpPolicyStrings) + " values");
  }
  for (const Json& item : *list) {
    if (!item.is_string()) {
      return PolicyError(ErrorCode::kPolicyMalformed, key_where, "entries must be strings");
    }
    const std::string& text = item.get_ref<const std::string&>();
    if (text.empty() || text.size() > kMaxAudienceBytes) {
      return PolicyError(ErrorCode::kPolicyBadValue, key_where, "entries must be non-empty");
    }
    if (std::find(out.begin(), out.end(), text) != out.end()) {
      return PolicyError(ErrorCode::kPolicyBadValue, key_where, "\"" + text + "\" appears twice");
    }
    out.push_back(text);
  }
  return out;
}

Status ParsePlatform(const std::string& name, const Json& entry,
                     const std::filesystem::path& base_dir, PlatformPolicy* out) {
  const std::string where = "platforms." + name;
  const PlatformSpec* spec = FindPlatformSpec(name);
  if (spec == nullptr) {
    return PolicyError(ErrorCode::kPolicyUnknownPlatform, "platforms",
                       "unknown platform \"" + name + "\"");
  }
  if (!entry.is_object()) {
    return PolicyError(ErrorCode::kPolicyMalformed, where, "must be a JSON object");
  }
  EML_RETURN_IF_ERROR(CheckKeys(entry, spec->keys, where));

  EML_ASSIGN_OR_RETURN(const Json* roots, GetTyped(entry, "roots", Json::value_t::array, where));
  if (roots != nullptr) {
    if (roots->size() > kMaxRootsPerPlatform) {
      return PolicyError(ErrorCode::kPolicyBadValue, where + ".roots", "too many roots");
    }
    for (const Json& root : *roots) {
      if (!root.is_string() || root.get_ref<const std::string&>().empty()) {
        return PolicyError(ErrorCode::kPolicyMalformed, where + ".roots",
                           "entries must be non-empty path strings");
      }
      EML_ASSIGN_OR_RETURN(
          std::vector<crypto::Certificate> certs,
          LoadCertificateEntry(base_dir, root.get_ref<const std::string&>(), where + ".roots"));
      for (crypto::Certificate& cert : certs) {
        out->roots.push_back(std::move(cert));
      }
    }
  }

  EML_ASSIGN_OR_RETURN(const Json* pcrs, GetTyped(entry, "pcrs", Json::value_t::object, where));
  if (pcrs != nullptr) {
    for (const auto& item : pcrs->items()) {
      const std::string key_where = where + ".pcrs." + item.key();
      EML_ASSIGN_OR_RETURN(uint32_t index, ParsePcrIndex(item.key(), key_where));
      if (!item.value().is_string()) {
        return PolicyError(ErrorCode::kPolicyMalformed, key_where, "must be a hex string");
      }
      EML_ASSIGN_OR_RETURN(out->pcr_pins[index], DecodePinHex(item.value().get<std::string>(),
                                                              nitro::kSha384PcrBytes, key_where));
    }
  }

  EML_ASSIGN_OR_RETURN(const Json* measurements,
                       GetTyped(entry, "measurements", Json::value_t::object, where));
  if (measurements != nullptr) {
    for (const auto& item : measurements->items()) {
      const std::string key_where = where + ".measurements." + item.key();
      const MeasurementSpec* m = FindMeasurementSpec(name, item.key());
      if (m == nullptr) {
        return PolicyError(ErrorCode::kPolicyBadValue, key_where, "not a measurement of " + name);
      }
      if (!item.value().is_string()) {
        return PolicyError(ErrorCode::kPolicyMalformed, key_where, "must be a hex string");
      }
      EML_ASSIGN_OR_RETURN(out->measurement_pins[item.key()],
                           DecodePinHex(item.value().get<std::string>(), m->size_bytes, key_where));
    }
  }

  EML_ASSIGN_OR_RETURN(const Json* statuses,
                       GetTyped(entry, "tcb_statuses", Json::value_t::array, where));
  if (statuses != nullptr) {
    if (statuses->empty() || statuses->size() > kMaxTcbStatuses) {
      return PolicyError(ErrorCode::kPolicyBadValue, where + ".tcb_statuses",
                         "must list 1.." + std::to_string(kMaxTcbStatuses) + " statuses");
    }
    for (const Json& status : *statuses) {
      if (!status.is_string() || status.get_ref<const std::string&>().empty()) {
        return PolicyError(ErrorCode::kPolicyMalformed, where + ".tcb_statuses",
                           "entries must be non-empty strings");
      }
      if (!tdx::TcbStatusFromName(status.get_ref<const std::string&>()).has_value()) {
        return PolicyError(ErrorCode::kPolicyBadValue, where + ".tcb_statuses",
                           "unknown TCB status \"" + status.get<std::string>() + "\"");
      }
      out->tcb_statuses.push_back(status.get<std::string>());
    }
  } else if (name == kPlatformTdx) {
    out->tcb_statuses = {"UpToDate"};
  }

  for (const char* key : {"collateral_dir", "jwks", "audience"}) {
    EML_ASSIGN_OR_RETURN(const Json* value, GetTyped(entry, key, Json::value_t::string, where));
    if (value == nullptr) {
      continue;
    }
    const std::string& text = value->get_ref<const std::string&>();
    if (text.empty() || text.size() > kMaxAudienceBytes) {
      return PolicyError(ErrorCode::kPolicyBadValue, where + "." + key,
                         "must be a non-empty string");
    }
    if (std::string_view(key) == "collateral_dir") {
      out->collateral_dir = Resolve(base_dir, text);
    } else if (std::string_view(key) == "jwks") {
      out->jwks_file = Resolve(base_dir, text);
    } else {
      out->audience = text;
    }
  }

  EML_ASSIGN_OR_RETURN(const Json* certificates,
                       GetTyped(entry, "certificates", Json::value_t::array, where));
  if (certificates != nullptr) {
    if (certificates->size() > kMaxRootsPerPlatform) {
      return PolicyError(ErrorCode::kPolicyBadValue, where + ".certificates",
                         "too many certificate files");
    }
    for (const Json& file : *certificates) {
      if (!file.is_string() || file.get_ref<const std::string&>().empty()) {
        return PolicyError(ErrorCode::kPolicyMalformed, where + ".certificates",
                           "entries must be non-empty path strings");
      }
      EML_ASSIGN_OR_RETURN(std::vector<crypto::Certificate> certs,
                           LoadCertificateEntry(base_dir, file.get_ref<const std::string&>(),
                                                where + ".certificates"));
      for (crypto::Certificate& cert : certs) {
        out->certificates.push_back(std::move(cert));
      }
    }
  }

  if (name == kPlatformSevSnp) {
    EML_RETURN_IF_ERROR(ParseSnpGuestPolicy(entry, where, out));
  }
  EML_ASSIGN_OR_RETURN(out->hwmodels, GetStringList(entry, "hwmodels", where));
  EML_ASSIGN_OR_RETURN(out->support_attributes, GetStringList(entry, "support_attributes", where));

  if (name == kPlatformTdx && !out->collateral_dir.has_value()) {
    return PolicyError(ErrorCode::kPolicyMissingKey, where + ".collateral_dir",
                       "tdx needs Intel PCS collateral");
  }
  if (name == kPlatformGcpCs && !out->audience.has_value()) {
    return PolicyError(ErrorCode::kPolicyMissingKey, where + ".audience",
                       "gcp-cs tokens must name this relying party");
  }
  if (out->roots.empty()) {
    if (name == kPlatformSim) {
      return PolicyError(ErrorCode::kPolicyMissingKey, where + ".roots",
                         "sim has no built-in root: name the sim root file");
    }
    EML_ASSIGN_OR_RETURN(out->roots, BuiltInRoots(name));
  }
  return {};
}

}  // namespace

Status ValidateEvidencePolicy(const EvidencePolicy& policy) {
  if (policy.version != kEvidencePolicyVersion) {
    return PolicyError(ErrorCode::kPolicyUnsupportedVersion, "version",
                       "only version 1 is supported");
  }
  if (policy.platforms.empty()) {
    return PolicyError(ErrorCode::kPolicyNoPlatforms, "platforms", "no platform is allowed");
  }
  if (policy.max_evidence_age_s.has_value() &&
      (*policy.max_evidence_age_s < 0 || *policy.max_evidence_age_s > kMaxEvidenceAgeLimitS)) {
    return PolicyError(ErrorCode::kPolicyBadValue, "max_evidence_age_s",
                       "must be 0.." + std::to_string(kMaxEvidenceAgeLimitS));
  }
  for (const auto& [name, platform] : policy.platforms) {
    const std::string where = "platforms." + name;
    if (FindPlatformSpec(name) == nullptr) {
      return PolicyError(ErrorCode::kPolicyUnknownPlatform, "platforms",
                         "unknown platform \"" + name + "\"");
    }
    if (platform.roots.empty()) {
      return PolicyError(ErrorCode::kPolicyMissingKey, where + ".roots", "no trust root");
    }
    const bool nitro_format = name == kPlatformSim || name == kPlatformAwsNitro;
    if (!nitro_format && !platform.pcr_pins.empty()) {
      return PolicyError(ErrorCode::kPolicyBadValue, where + ".pcrs", "not a Nitro platform");
    }
    for (const auto& [index, value] : platform.pcr_pins) {
      if (index > nitro::kMaxPcrIndex || value.size() != nitro::kSha384PcrBytes) {
        return PolicyError(ErrorCode::kPolicyBadValue, where + ".pcrs", "bad PCR pin");
      }
    }
    for (const auto& [m_name, value] : platform.measurement_pins) {
      const MeasurementSpec* m = FindMeasurementSpec(name, m_name);
      if (m == nullptr || value.size() != m->size_bytes) {
        return PolicyError(ErrorCode::kPolicyBadValue, where + ".measurements." + m_name,
                           "unknown measurement or wrong size");
      }
    }
    for (const std::string& status : platform.tcb_statuses) {
      if (name != kPlatformTdx || !tdx::TcbStatusFromName(status).has_value()) {
        return PolicyError(ErrorCode::kPolicyBadValue, where + ".tcb_statuses",
                           "unknown TCB status \"" + status + "\"");
      }
    }
    if (name == kPlatformTdx && !platform.collateral_dir.has_value()) {
      return PolicyError(ErrorCode::kPolicyMissingKey, where + ".collateral_dir", "required");
    }
    if (platform.max_vmpl.has_value() &&
        (name != kPlatformSevSnp || *platform.max_vmpl > kMaxSnpVmpl)) {
      return PolicyError(ErrorCode::kPolicyBadValue, where + ".max_vmpl",
                         "sev-snp only, 0.." + std::to_string(kMaxSnpVmpl));
    }
    if (platform.minimum_tcb.has_value() && name != kPlatformSevSnp) {
      return PolicyError(ErrorCode::kPolicyBadValue, where + ".minimum_tcb", "sev-snp only");
    }
    if ((!platform.allow_smt || platform.allow_migration_agent) && name != kPlatformSevSnp) {
      return PolicyError(ErrorCode::kPolicyBadValue, where,
                         "allow_smt / allow_migration_agent are sev-snp only");
    }
    for (const auto* list : {&platform.hwmodels, &platform.support_attributes}) {
      if (list->empty()) {
        continue;
      }
      const char* key = list == &platform.hwmodels ? ".hwmodels" : ".support_attributes";
      if (name != kPlatformGcpCs || list->size() > kMaxGcpPolicyStrings) {
        return PolicyError(ErrorCode::kPolicyBadValue, where + key,
                           "gcp-cs only, at most " + std::to_string(kMaxGcpPolicyStrings));
      }
      for (const std::string& value : *list) {
        if (value.empty() || value.size() > kMaxAudienceBytes) {
          return PolicyError(ErrorCode::kPolicyBadValue, where + key, "an empty or long entry");
        }
      }
    }
    if (name == kPlatformGcpCs && (!platform.audience.has_value() || platform.audience->empty())) {
      return PolicyError(ErrorCode::kPolicyMissingKey, where + ".audience", "required");
    }
  }
  return {};
}

const PlatformPolicy* EvidencePolicy::Find(std::string_view platform) const {
  auto it = platforms.find(std::string(platform));
  return it == platforms.end() ? nullptr : &it->second;
}

Result<EvidencePolicy> ParseEvidencePolicy(std::string_view json,
                                           const std::filesystem::path& base_dir) {
  if (json.size() > kMaxPolicyFileBytes) {
    return PolicyError(ErrorCode::kPolicyTooLarge, "policy", "larger than the limit");
  }
  DuplicateKeyGuard guard;
  Json doc = Json::parse(
      json.begin(), json.end(),
      [&guard](int depth, Json::parse_event_t event, Json& parsed) {
        return guard.OnEvent(depth, event, parsed);
      },
      /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    return PolicyError(ErrorCode::kPolicyMalformed, "policy", "not valid JSON");
  }
  if (guard.duplicate()) {
    return PolicyError(ErrorCode::kPolicyMalformed, "policy", "a key appears twice");
  }
  if (!doc.is_object()) {
    return PolicyError(ErrorCode::kPolicyMalformed, "policy", "must be a JSON object");
  }
  EML_RETURN_IF_ERROR(CheckKeys(
      doc, {"version", "platforms", "allow_debug", "max_evidence_age_s", "binding"}, "policy"));

  EvidencePolicy policy;
  EML_ASSIGN_OR_RETURN(const Json* version,
                       GetTyped(doc, "version", Json::value_t::number_integer, "policy"));
  if (version == nullptr) {
    return PolicyError(ErrorCode::kPolicyMissingKey, "version", "required");
  }
  if (!version->is_number_unsigned() ||
      version->get<uint64_t>() != static_cast<uint64_t>(kEvidencePolicyVersion)) {
    return PolicyError(ErrorCode::kPolicyUnsupportedVersion, "version",
                       "only version 1 is supported");
  }
  EML_ASSIGN_OR_RETURN(const Json* platforms,
                       GetTyped(doc, "platforms", Json::value_t::object, "policy"));
  if (platforms == nullptr) {
    return PolicyError(ErrorCode::kPolicyMissingKey, "platforms", "required");
  }
  for (const auto& item : platforms->items()) {
    PlatformPolicy platform;
    EML_RETURN_IF_ERROR(ParsePlatform(item.key(), item.value(), base_dir, &platform));
    policy.platforms.emplace(item.key(), std::move(platform));
  }
  EML_ASSIGN_OR_RETURN(const Json* allow_debug,
                       GetTyped(doc, "allow_debug", Json::value_t::boolean, "policy"));
  if (allow_debug != nullptr) {
    policy.allow_debug = allow_debug->get<bool>();
  }
  EML_ASSIGN_OR_RETURN(const Json* max_age, GetTyped(doc, "max_evidence_age_s",
                                                     Json::value_t::number_integer, "policy"));
  if (max_age != nullptr) {
    if (!max_age->is_number_unsigned() ||
        max_age->get<uint64_t>() > static_cast<uint64_t>(kMaxEvidenceAgeLimitS)) {
      return PolicyError(ErrorCode::kPolicyBadValue, "max_evidence_age_s",
                         "must be 0.." + std::to_string(kMaxEvidenceAgeLimitS));
    }
    policy.max_evidence_age_s = static_cast<int64_t>(max_age->get<uint64_t>());
  }
  EML_ASSIGN_OR_RETURN(const Json* binding,
                       GetTyped(doc, "binding", Json::value_t::object, "policy"));
  if (binding != nullptr) {
    EML_RETURN_IF_ERROR(CheckKeys(*binding, {"require_public_key", "require_nonce"}, "binding"));
    EML_ASSIGN_OR_RETURN(policy.binding.require_public_key,
                         GetBool(*binding, "require_public_key", false, "binding"));
    EML_ASSIGN_OR_RETURN(policy.binding.require_nonce,
                         GetBool(*binding, "require_nonce", false, "binding"));
  }
  EML_RETURN_IF_ERROR(ValidateEvidencePolicy(policy));
  return policy;
}

Result<EvidencePolicy> LoadEvidencePolicyFile(const std::filesystem::path& file) {
  Result<std::vector<uint8_t>> bytes =
      ReadCapped(file, kMaxPolicyFileBytes, ErrorCode::kPolicyTooLarge, "policy");
  if (!bytes.has_value()) {
    return bytes.error();
  }
  std::filesystem::path base = file.parent_path();
  if (base.empty()) {
    base = ".";
  }
  return ParseEvidencePolicy(std::string(bytes->begin(), bytes->end()), base);
}

}  // namespace eml::attest
