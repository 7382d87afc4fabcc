#include "attest/tdx/internal/pcs_collateral.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <utility>

#include "common/encoding.h"

namespace eml::attest::tdx::internal {
namespace {

using Json = nlohmann::json;

constexpr size_t kTcbSignatureBytes = 64;
constexpr size_t kTdxModuleMrsignerBytes = 48;
constexpr size_t kTdxModuleAttributesBytes = 8;

Error Malformed(const std::string& what) { return Error{ErrorCode::kTdxCollateralMalformed, what}; }

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// JsonScanner walks the top level of a JSON text that nlohmann already accepted, to find the
// exact byte range of each member's value.
class JsonScanner {
 public:
  explicit JsonScanner(std::string_view text) : text_(text) {}

  void SkipSpace() {
    while (pos_ < text_.size() && IsSpace(text_[pos_])) {
      ++pos_;
    }
  }
  bool Consume(char c) {
    SkipSpace();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  // ReadString returns the raw text between the quotes (escapes kept).
  bool ReadString(std::string_view* out) {
    SkipSpace();
    if (pos_ >= text_.size() || text_[pos_] != '"') {
      return false;
    }
    const size_t start = ++pos_;
    while (pos_ < text_.size() && text_[pos_] != '"') {
      pos_ += text_[pos_] == '\\' ? 2u : 1u;
    }
    if (pos_ >= text_.size()) {
      return false;
    }
    *out = text_.substr(start, pos_ - start);
    ++pos_;
    return true;
  }
  // SkipValue moves past one value and returns its exact text.
  bool SkipValue(std::string_view* out) {
    SkipSpace();
    const size_t start = pos_;
    if (pos_ >= text_.size()) {
      return false;
    }
    std::string_view ignored;
    const char first = text_[pos_];
    if (first == '"') {
      if (!ReadString(&ignored)) {
        return false;
      }
    } else if (first == '{' || first == '[') {
      size_t depth = 0;
      while (pos_ < text_.size()) {
        const char c = text_[pos_];
        if (c == '"') {
          if (!ReadString(&ignored)) {
            return false;
          }
          continue;
        }
        ++pos_;
        if (c == '{' || c == '[') {
          ++depth;
        } else if ((c == '}' || c == ']') && --depth == 0) {
          break;
        }
      }
      if (depth != 0) {
        return false;
      }
    } else {
      while (pos_ < text_.size() && text_[pos_] != ',' && text_[pos_] != '}' &&
             text_[pos_] != ']' && !IsSpace(text_[pos_])) {
        ++pos_;
      }
    }
    *out = text_.substr(start, pos_ - start);
    return pos_ > start;
  }
  bool AtEnd() {
    SkipSpace();
    return pos_ == text_.size();
  }

 private:
  std::string_view text_;
  size_t pos_ = 0;
};

// Field access that turns nlohmann's exceptions and type mismatches into kTdxCollateralMalformed.
const Json* Member(const Json& object, const char* key) {
  if (!object.is_object()) {
    return nullptr;
  }
  auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

Result<std::string> GetString(const Json& object, const char* key) {
  const Json* value = Member(object, key);
  if (value == nullptr || !value->is_string()) {
    return Malformed(std::string("string field \"") + key + "\" missing");
  }
  return value->get<std::string>();
}

Result<uint32_t> GetUint(const Json& object, const char* key, uint32_t max) {
  const Json* value = Member(object, key);
  if (value == nullptr || !value->is_number_unsigned() || value->get<uint64_t>() > max) {
    return Malformed(std::string("integer field \"") + key + "\" missing or out of range");
  }
  return static_cast<uint32_t>(value->get<uint64_t>());
}

Result<std::vector<uint8_t>> GetHex(const Json& object, const char* key, size_t size) {
  EML_ASSIGN_OR_RETURN(std::string text, GetString(object, key));
  Result<std::vector<uint8_t>> bytes = HexDecodeExact(text, size);
  if (!bytes.has_value()) {
    return Malformed(std::string("hex field \"") + key + "\" has the wrong size or characters");
  }
  return std::move(*bytes);
}

template <size_t kSize>
Status GetHexArray(const Json& object, const char* key, std::array<uint8_t, kSize>* out) {
  EML_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, GetHex(object, key, kSize));
  std::copy(bytes.begin(), bytes.end(), out->begin());
  return OkStatus();
}

Result<Json> ParseJson(std::string_view text) {
  if (text.size() > kMaxCollateralJsonBytes) {
    return Error{ErrorCode::kLimitExceeded, "collateral JSON over the size limit"};
  }
  Json value = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) {
    return Malformed("not valid JSON");
  }
  return value;
}

Result<uint32_t> ParseHexU32(const Json& object, const char* key) {
  EML_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, GetHex(object, key, 4));
  // Intel writes MISCSELECT and its mask as a big-endian hex number ("00000000", "FFFFFFFF").
  uint32_t value = 0;
  for (uint8_t b : bytes) {
    value = (value << 8) | b;
  }
  return value;
}

Result<std::vector<IsvLevel>> ParseIsvLevels(const Json& levels) {
  if (!levels.is_array() || levels.empty() || levels.size() > kMaxTcbLevels) {
    return Malformed("tcbLevels missing, empty or too long");
  }
  std::vector<IsvLevel> out;
  for (const Json& level : levels) {
    const Json* tcb = Member(level, "tcb");
    if (tcb == nullptr) {
      return Malformed("tcbLevels[].tcb missing");
    }
    IsvLevel parsed;
    EML_ASSIGN_OR_RETURN(uint32_t isv_svn, GetUint(*tcb, "isvsvn", 0xFFFF));
    parsed.isv_svn = static_cast<uint16_t>(isv_svn);
    EML_ASSIGN_OR_RETURN(std::string status, GetString(level, "tcbStatus"));
    EML_ASSIGN_OR_RETURN(parsed.status, ParseTcbStatus(status));
    EML_ASSIGN_OR_RETURN(parsed.tcb_date, GetString(level, "tcbDate"));
    out.push_back(std::move(parsed));
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const IsvLevel& a, const IsvLevel& b) { return a.isv_svn > b.isv_svn; });
  return out;
}

Result<TdxModuleIdentity> ParseModule(const Json& module, bool with_levels) {
  TdxModuleIdentity out;
  if (with_levels) {
    EML_ASSIGN_OR_RETURN(out.id, GetString(module, "id"));
    const Json* levels = Member(module, "tcbLevels");
    if (levels == nullptr) {
      return Malformed("tdxModuleIdentities[].tcbLevels missing");
    }
    EML_ASSIGN_OR_RETURN(out.levels, ParseIsvLevels(*levels));
  }
  EML_ASSIGN_OR_RETURN(out.mrsigner, GetHex(module, "mrsigner", kTdxModuleMrsignerBytes));
  EML_ASSIGN_OR_RETURN(out.attributes, GetHex(module, "attributes", kTdxModuleAttributesBytes));
  EML_ASSIGN_OR_RETURN(out.attributes_mask,
                       GetHex(module, "attributesMask", kTdxModuleAttributesBytes));
  return out;
}

template <size_t kSize>
Status ParseSvnArray(const Json& tcb, const char* key, std::array<uint8_t, kSize>* out) {
  const Json* components = Member(tcb, key);
  if (components == nullptr || !components->is_array() || components->size() != kSize) {
    return Malformed(std::string(key) + " missing or not " + std::to_string(kSize) + " entries");
  }
  for (size_t i = 0; i < kSize; ++i) {
    EML_ASSIGN_OR_RETURN(uint32_t svn, GetUint((*components)[i], "svn", 0xFF));
    (*out)[i] = static_cast<uint8_t>(svn);
  }
  return OkStatus();
}

Result<TcbLevel> ParseTcbLevel(const Json& level) {
  const Json* tcb = Member(level, "tcb");
  if (tcb == nullptr) {
    return Malformed("tcbLevels[].tcb missing");
  }
  TcbLevel out;
  EML_RETURN_IF_ERROR(ParseSvnArray(*tcb, "sgxtcbcomponents", &out.sgx_svn));
  EML_RETURN_IF_ERROR(ParseSvnArray(*tcb, "tdxtcbcomponents", &out.tdx_svn));
  EML_ASSIGN_OR_RETURN(uint32_t pce_svn, GetUint(*tcb, "pcesvn", 0xFFFF));
  out.pce_svn = static_cast<uint16_t>(pce_svn);
  EML_ASSIGN_OR_RETURN(std::string status, GetString(level, "tcbStatus"));
  EML_ASSIGN_OR_RETURN(out.status, ParseTcbStatus(status));
  EML_ASSIGN_OR_RETURN(out.tcb_date, GetString(level, "tcbDate"));
  if (const Json* advisories = Member(level, "advisoryIDs"); advisories != nullptr) {
    if (!advisories->is_array()) {
      return Malformed("advisoryIDs is not an array");
    }
    for (const Json& id : *advisories) {
      if (!id.is_string()) {
        return Malformed("advisoryIDs entry is not a string");
      }
      out.advisory_ids.push_back(id.get<std::string>());
    }
  }
  return out;
}

// ParseDates reads issueDate / nextUpdate and checks issueDate <= nextUpdate.
Status ParseDates(const Json& body, int64_t* issue, int64_t* next) {
  EML_ASSIGN_OR_RETURN(std::string issue_text, GetString(body, "issueDate"));
  EML_ASSIGN_OR_RETURN(std::string next_text, GetString(body, "nextUpdate"));
  EML_ASSIGN_OR_RETURN(*issue, ParseIsoTime(issue_text));
  EML_ASSIGN_OR_RETURN(*next, ParseIsoTime(next_text));
  if (*next < *issue) {
    return Malformed("nextUpdate before issueDate");
  }
  return OkStatus();
}

bool SvnsAtLeast(std::span<const uint8_t> have, std::span<const uint8_t> want, size_t from) {
  for (size_t i = from; i < want.size(); ++i) {
    if (have[i] < want[i]) {
      return false;
    }
  }
  return true;
}

bool MaskedEqual(std::span<const uint8_t> value, std::span<const uint8_t> mask,
                 std::span<const uint8_t> expected) {
  if (value.size() != mask.size() || value.size() != expected.size()) {
    return false;
  }
  for (size_t i = 0; i < value.size(); ++i) {
    if ((value[i] & mask[i]) != expected[i]) {
      return false;
    }
  }
  return true;
}

Status CheckModule(const TdxModuleIdentity& module, std::span<const uint8_t> mrsignerseam,
                   std::span<const uint8_t> seam_attributes) {
  if (!std::equal(module.mrsigner.begin(), module.mrsigner.end(), mrsignerseam.begin(),
                  mrsignerseam.end())) {
    return Error{ErrorCode::kTdxModuleMismatch, "MRSIGNERSEAM differs from the tcbInfo"};
  }
  if (!MaskedEqual(seam_attributes, module.attributes_mask, module.attributes)) {
    return Error{ErrorCode::kTdxModuleMismatch, "SEAM attributes differ from the tcbInfo"};
  }
  return OkStatus();
}

}  // namespace

Result<SignedJson> FindSignedValue(std::string_view response, std::string_view value_key) {
  EML_ASSIGN_OR_RETURN(Json whole, ParseJson(response));
  if (!whole.is_object()) {
    return Malformed("response is not a JSON object");
  }
  JsonScanner scanner(response);
  if (!scanner.Consume('{')) {
    return Malformed("response is not a JSON object");
  }
  std::optional<std::string_view> body;
  std::optional<std::string_view> signature;
  do {
    std::string_view key;
    std::string_view value;
    if (!scanner.ReadString(&key) || !scanner.Consume(':') || !scanner.SkipValue(&value)) {
      return Malformed("response member does not scan");
    }
    std::optional<std::string_view>* slot = nullptr;
    if (key == value_key) {
      slot = &body;
    } else if (key == "signature") {
      slot = &signature;
    } else {
      return Malformed("unexpected member \"" + std::string(key) + "\"");
    }
    if (slot->has_value()) {
      return Malformed("duplicate member \"" + std::string(key) + "\"");
    }
    *slot = value;
  } while (scanner.Consume(','));
  if (!scanner.Consume('}') || !scanner.AtEnd() || !body.has_value() || !signature.has_value()) {
    return Malformed("response lacks the signed value or the signature");
  }
  if (signature->size() < 2 || signature->front() != '"' || signature->back() != '"') {
    return Malformed("signature is not a string");
  }
  Result<std::vector<uint8_t>> signature_bytes =
      HexDecodeExact(signature->substr(1, signature->size() - 2), kTcbSignatureBytes);
  if (!signature_bytes.has_value()) {
    return Malformed("signature is not 64 bytes of hex");
  }
  return SignedJson{std::string(*body), std::move(*signature_bytes)};
}

Result<int64_t> ParseIsoTime(std::string_view text) {
  int year = 0;
  unsigned month = 0;
  unsigned day = 0;
  unsigned hour = 0;
  unsigned minute = 0;
  unsigned second = 0;
  char z = 0;
  int consumed = 0;
  const std::string copy(text);
  if (text.size() != 20 ||
      std::sscanf(copy.c_str(), "%4d-%2u-%2uT%2u:%2u:%2u%c%n", &year, &month, &day, &hour, &minute,
                  &second, &z, &consumed) != 7 ||
      consumed != 20 || z != 'Z' || year < 1970 || month < 1 || month > 12 || day < 1 || day > 31 ||
      hour > 23 || minute > 59 || second > 59) {
    return Malformed("time \"" + copy + "\" is not YYYY-MM-DDTHH:MM:SSZ");
  }
  // Days from civil (proleptic Gregorian), after H. Hinnant's public-domain algorithm.
  const int y = year - (month <= 2 ? 1 : 0);
  const int era = y / 400;
  const int yoe = y - era * 400;
  const int m = static_cast<int>(month);
  const int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + static_cast<int>(day) - 1;
  const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const int64_t days = static_cast<int64_t>(era) * 146097 + doe - 719468;
  return days * 86400 + static_cast<int64_t>(hour) * 3600 + static_cast<int64_t>(minute) * 60 +
         static_cast<int64_t>(second);
}

Result<TcbStatus> ParseTcbStatus(std::string_view text) {
  Result<TcbStatus> status = TcbStatusFromName(text);
  if (!status.has_value() || *status == TcbStatus::kNotSupported) {
    return Malformed("unknown tcbStatus \"" + std::string(text) + "\"");
  }
  return *status;
}

Result<TcbInfo> ParseTcbInfoResponse(std::string_view response) {
  TcbInfo out;
  EML_ASSIGN_OR_RETURN(out.signed_json, FindSignedValue(response, "tcbInfo"));
  EML_ASSIGN_OR_RETURN(Json body, ParseJson(out.signed_json.body));
  EML_ASSIGN_OR_RETURN(std::string id, GetString(body, "id"));
  EML_ASSIGN_OR_RETURN(uint32_t version, GetUint(body, "version", 0xFFFF));
  if (id != "TDX" || version != 3) {
    return Malformed("tcbInfo is not id TDX version 3");
  }
  EML_RETURN_IF_ERROR(ParseDates(body, &out.issue_date_unix, &out.next_update_unix));
  EML_RETURN_IF_ERROR(GetHexArray(body, "fmspc", &out.fmspc));
  EML_RETURN_IF_ERROR(GetHexArray(body, "pceId", &out.pce_id));
  EML_ASSIGN_OR_RETURN(uint32_t tcb_type, GetUint(body, "tcbType", 0xFFFF));
  if (tcb_type != 0) {
    return Malformed("tcbType is not 0");
  }
  EML_ASSIGN_OR_RETURN(out.tcb_evaluation_data_number,
                       GetUint(body, "tcbEvaluationDataNumber", 0xFFFFFFFF));
  const Json* module = Member(body, "tdxModule");
  if (module == nullptr) {
    return Malformed("tdxModule missing");
  }
  EML_ASSIGN_OR_RETURN(out.tdx_module, ParseModule(*module, /*with_levels=*/false));
  if (const Json* identities = Member(body, "tdxModuleIdentities"); identities != nullptr) {
    if (!identities->is_array() || identities->size() > kMaxTcbLevels) {
      return Malformed("tdxModuleIdentities is not an array");
    }
    for (const Json& identity : *identities) {
      EML_ASSIGN_OR_RETURN(TdxModuleIdentity parsed, ParseModule(identity, true));
      out.tdx_module_identities.push_back(std::move(parsed));
    }
  }
  const Json* levels = Member(body, "tcbLevels");
  if (levels == nullptr || !levels->is_array() || levels->empty() ||
      levels->size() > kMaxTcbLevels) {
    return Malformed("tcbLevels missing, empty or too long");
  }
  for (const Json& level : *levels) {
    EML_ASSIGN_OR_RETURN(TcbLevel parsed, ParseTcbLevel(level));
    out.levels.push_back(std::move(parsed));
  }
  return out;
}

Result<QeIdentity> ParseQeIdentityResponse(std::string_view response) {
  QeIdentity out;
  EML_ASSIGN_OR_RETURN(out.signed_json, FindSignedValue(response, "enclaveIdentity"));
  EML_ASSIGN_OR_RETURN(Json body, ParseJson(out.signed_json.body));
  EML_ASSIGN_OR_RETURN(std::string id, GetString(body, "id"));
  EML_ASSIGN_OR_RETURN(uint32_t version, GetUint(body, "version", 0xFFFF));
  if (id != "TD_QE" || version != 2) {
    return Malformed("enclaveIdentity is not id TD_QE version 2");
  }
  EML_RETURN_IF_ERROR(ParseDates(body, &out.issue_date_unix, &out.next_update_unix));
  EML_ASSIGN_OR_RETURN(out.tcb_evaluation_data_number,
                       GetUint(body, "tcbEvaluationDataNumber", 0xFFFFFFFF));
  EML_ASSIGN_OR_RETURN(out.miscselect, ParseHexU32(body, "miscselect"));
  EML_ASSIGN_OR_RETURN(out.miscselect_mask, ParseHexU32(body, "miscselectMask"));
  EML_RETURN_IF_ERROR(GetHexArray(body, "attributes", &out.attributes));
  EML_RETURN_IF_ERROR(GetHexArray(body, "attributesMask", &out.attributes_mask));
  EML_RETURN_IF_ERROR(GetHexArray(body, "mrsigner", &out.mrsigner));
  EML_ASSIGN_OR_RETURN(uint32_t isv_prod_id, GetUint(body, "isvprodid", 0xFFFF));
  out.isv_prod_id = static_cast<uint16_t>(isv_prod_id);
  const Json* levels = Member(body, "tcbLevels");
  if (levels == nullptr) {
    return Malformed("tcbLevels missing");
  }
  EML_ASSIGN_OR_RETURN(out.levels, ParseIsvLevels(*levels));
  return out;
}

TcbStatus MatchIsvLevel(const std::vector<IsvLevel>& levels, uint16_t isv_svn) {
  for (const IsvLevel& level : levels) {
    if (level.isv_svn <= isv_svn) {
      return level.status;
    }
  }
  return TcbStatus::kNotSupported;
}

TcbStatus MergeStatus(TcbStatus platform, TcbStatus other) {
  switch (other) {
    case TcbStatus::kRevoked:
      return TcbStatus::kRevoked;
    case TcbStatus::kNotSupported:
      return TcbStatus::kNotSupported;
    case TcbStatus::kOutOfDate:
    case TcbStatus::kOutOfDateConfigurationNeeded:
      switch (platform) {
        case TcbStatus::kUpToDate:
        case TcbStatus::kSwHardeningNeeded:
          return TcbStatus::kOutOfDate;
        case TcbStatus::kConfigurationNeeded:
        case TcbStatus::kConfigurationAndSwHardeningNeeded:
          return TcbStatus::kOutOfDateConfigurationNeeded;
        case TcbStatus::kOutOfDate:
        case TcbStatus::kOutOfDateConfigurationNeeded:
        case TcbStatus::kRevoked:
        case TcbStatus::kNotSupported:
          return platform;
      }
      return platform;
    case TcbStatus::kUpToDate:
    case TcbStatus::kSwHardeningNeeded:
    case TcbStatus::kConfigurationNeeded:
    case TcbStatus::kConfigurationAndSwHardeningNeeded:
      return platform;
  }
  return platform;
}

Result<TcbMatch> MatchTcbLevel(const TcbInfo& info, const PckExtensions& pck,
                               std::span<const uint8_t> tee_tcb_svn,
                               std::span<const uint8_t> mrsignerseam,
                               std::span<const uint8_t> seam_attributes) {
  TcbMatch out;
  // TDX 1.5 modules (TEE_TCB_SVN[1] > 0) are rated through tdxModuleIdentities; then the
  // tdxtcbcomponents comparison starts at index 2 (indices 0 and 1 are the module's).
  const bool use_identities = tee_tcb_svn[1] > 0 && !info.tdx_module_identities.empty();
  if (use_identities) {
    char id[8];
    std::snprintf(id, sizeof(id), "TDX_%02X", static_cast<unsigned>(tee_tcb_svn[1]));
    auto it = std::find_if(info.tdx_module_identities.begin(), info.tdx_module_identities.end(),
                           [&](const TdxModuleIdentity& m) { return m.id == id; });
    if (it == info.tdx_module_identities.end()) {
      return Error{ErrorCode::kTdxModuleMismatch,
                   std::string("the tcbInfo has no module identity ") + id};
    }
    EML_RETURN_IF_ERROR(CheckModule(*it, mrsignerseam, seam_attributes));
    out.module_status = MatchIsvLevel(it->levels, tee_tcb_svn[0]);
  } else {
    EML_RETURN_IF_ERROR(CheckModule(info.tdx_module, mrsignerseam, seam_attributes));
  }
  const size_t tdx_from = use_identities ? 2 : 0;
  for (const TcbLevel& level : info.levels) {
    if (!SvnsAtLeast(pck.sgx_tcb_comp_svn, level.sgx_svn, 0) || pck.pce_svn < level.pce_svn ||
        !SvnsAtLeast(tee_tcb_svn, level.tdx_svn, tdx_from)) {
      continue;
    }
    // Intel's step 4: without module identities the level's TEE_TCB_SVN[1] must be exact.
    if (!use_identities && level.tdx_svn[1] != tee_tcb_svn[1]) {
      break;
    }
    out.level = &level;
    out.platform_status = level.status;
    break;
  }
  return out;
}

}  // namespace eml::attest::tdx::internal
