#include "keys/release_policy.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

namespace eml::keys {
namespace {

using Json = nlohmann::json;

Error BadPolicy(const std::string& where, const std::string& what) {
  return Error{ErrorCode::kBrokerBadPolicy, where + ": " + what};
}

// Parses `text` with every object's keys checked for duplicates (nlohmann keeps the last one
// silently, which would let two readers of one policy disagree).
Result<Json> ParseStrictJson(std::string_view text) {
  std::vector<std::set<std::string>> open_objects;
  bool duplicate = false;
  Json doc = Json::parse(
      text.begin(), text.end(),
      [&](int /*depth*/, Json::parse_event_t event, Json& parsed) {
        switch (event) {
          case Json::parse_event_t::object_start:
            open_objects.emplace_back();
            break;
          case Json::parse_event_t::object_end:
            if (!open_objects.empty()) {
              open_objects.pop_back();
            }
            break;
          case Json::parse_event_t::key:
            if (!open_objects.empty() && parsed.is_string() &&
                !open_objects.back().insert(parsed.get_ref<const std::string&>()).second) {
              duplicate = true;
            }
            break;
          case Json::parse_event_t::array_start:
          case Json::parse_event_t::array_end:
          case Json::parse_event_t::value:
            break;
        }
        return true;
      },
      /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    return BadPolicy("policy", "not valid JSON");
  }
  if (duplicate) {
    return BadPolicy("policy", "a key appears twice");
  }
  return doc;
}

}  // namespace

const char* SecurityModeOf(std::string_view platform) {
  return platform == attest::kPlatformSim ? kSecurityModeEvaluation : kSecurityModeProduction;
}

Result<ReleasePolicy> ParseReleasePolicy(std::string_view json,
                                         const std::filesystem::path& data_dir) {
  if (json.size() > kMaxReleasePolicyBytes) {
    return BadPolicy("policy", "larger than " + std::to_string(kMaxReleasePolicyBytes) + " bytes");
  }
  EML_ASSIGN_OR_RETURN(Json doc, ParseStrictJson(json));
  if (!doc.is_object()) {
    return BadPolicy("policy", "must be a JSON object");
  }
  for (const auto& item : doc.items()) {
    if (item.key() != "version" && item.key() != "evidence" && item.key() != "security_modes") {
      return BadPolicy("policy", "unknown key \"" + item.key() + "\"");
    }
  }
  auto version = doc.find("version");
  if (version == doc.end()) {
    return BadPolicy("version", "required");
  }
  if (!version->is_number_unsigned() ||
      version->get<uint64_t>() != static_cast<uint64_t>(kReleasePolicyVersion)) {
    return BadPolicy("version", "only version 1 is supported");
  }
  auto evidence = doc.find("evidence");
  if (evidence == doc.end()) {
    return BadPolicy("evidence", "required");
  }
  if (!evidence->is_object()) {
    return BadPolicy("evidence", "must be a JSON object");
  }

  ReleasePolicy out;
  auto modes = doc.find("security_modes");
  if (modes == doc.end()) {
    out.security_modes = {kSecurityModeProduction};
  } else {
    if (!modes->is_array() || modes->empty() || modes->size() > 2) {
      return BadPolicy("security_modes", "must be an array of 1 or 2 modes");
    }
    for (const Json& mode : *modes) {
      if (!mode.is_string() || (mode.get_ref<const std::string&>() != kSecurityModeProduction &&
                                mode.get_ref<const std::string&>() != kSecurityModeEvaluation)) {
        return BadPolicy("security_modes", "entries must be \"production\" or \"evaluation\"");
      }
      out.security_modes.push_back(mode.get<std::string>());
    }
    std::sort(out.security_modes.begin(), out.security_modes.end());
    if (std::adjacent_find(out.security_modes.begin(), out.security_modes.end()) !=
        out.security_modes.end()) {
      return BadPolicy("security_modes", "a mode appears twice");
    }
  }

  // error_handler_t::replace: dump never throws (the parser already refused bad UTF-8).
  const std::string evidence_text = evidence->dump(-1, ' ', false, Json::error_handler_t::replace);
  Result<attest::EvidencePolicy> parsed = attest::ParseEvidencePolicy(evidence_text, data_dir);
  if (!parsed.has_value()) {
    return BadPolicy(
        "evidence", std::string(ErrorCodeName(parsed.error().code)) + ": " + parsed.error().detail);
  }
  out.evidence = *std::move(parsed);
  // nlohmann::json objects keep their keys sorted: this is the canonical form.
  out.canonical_json = doc.dump(-1, ' ', false, Json::error_handler_t::replace);
  return out;
}

}  // namespace eml::keys
