#include "enclave/boot_config.h"

#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>
#include <string_view>
#include <utility>

#include "keys/http/api.h"
#include "model/manifest.h"

namespace eml::enclave {
namespace {

using Json = nlohmann::json;

constexpr std::array<std::string_view, 8> kFields = {
    "v",          "model_id", "model_version", "store",
    "key_source", "broker",   "egress_proxy",  "max_model_mb"};
constexpr uint64_t kMaxModelMb = UINT64_MAX >> 20;

Error Malformed(std::string detail) {
  return Error{ErrorCode::kBootConfigMalformed, "boot configuration: " + std::move(detail)};
}

bool IsPrintableAscii(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

Result<std::string> GetString(const Json& doc, const char* field) {
  const Json& value = doc.at(field);
  if (!value.is_string()) {
    return Malformed(std::string("field \"") + field + "\" must be a string");
  }
  std::string text = value.get<std::string>();
  if (text.empty()) {
    return Malformed(std::string("field \"") + field + "\" must not be empty");
  }
  return text;
}

Result<std::string> GetId(const Json& doc, const char* field) {
  EML_ASSIGN_OR_RETURN(std::string text, GetString(doc, field));
  if (!model::ValidateId(field, text).has_value()) {
    return Malformed(std::string("field \"") + field +
                     "\" must be 1-128 characters of [A-Za-z0-9._-], not starting with '.'");
  }
  return text;
}

// GetUrl reads a URL field whose value starts with one of `prefixes` followed by at least one
// more character, all printable ASCII without spaces.
Result<std::string> GetUrl(const Json& doc, const char* field,
                           std::initializer_list<std::string_view> prefixes, const char* forms) {
  EML_ASSIGN_OR_RETURN(std::string text, GetString(doc, field));
  const bool known = std::any_of(prefixes.begin(), prefixes.end(), [&text](std::string_view p) {
    return text.size() > p.size() && text.starts_with(p);
  });
  if (text.size() > kMaxBootConfigUrlBytes || !IsPrintableAscii(text) || !known) {
    return Malformed(std::string("field \"") + field + "\" must be " + forms);
  }
  return text;
}

Status CheckFields(const Json& doc) {
  for (const auto& item : doc.items()) {
    if (std::find(kFields.begin(), kFields.end(), item.key()) == kFields.end()) {
      const std::string& key = item.key();
      const bool echo = key.size() <= 64 && IsPrintableAscii(key);
      return Malformed("unknown field" + (echo ? " \"" + key + "\"" : std::string()));
    }
  }
  for (const char* required : {"v", "model_id", "model_version", "store", "key_source"}) {
    if (!doc.contains(required)) {
      return Malformed(std::string("missing field \"") + required + "\"");
    }
  }
  return OkStatus();
}

}  // namespace

Result<BootConfig> ParseBootConfig(std::span<const uint8_t> bytes) {
  if (bytes.size() > kMaxBootConfigBytes) {
    return Malformed("larger than " + std::to_string(kMaxBootConfigBytes) + " bytes");
  }
  if (Status strict = keys::http::CheckStrictJsonObject(bytes); !strict.has_value()) {
    return Malformed("not one JSON object (duplicate keys, nesting and trailing text refused)");
  }
  Json doc = Json::parse(bytes.begin(), bytes.end(), nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) {
    return Malformed("not one JSON object");
  }
  EML_RETURN_IF_ERROR(CheckFields(doc));
  const Json& version = doc.at("v");
  if (!version.is_number_unsigned() || version.get<uint64_t>() != 1) {
    return Malformed("field \"v\" must be the integer 1");
  }
  BootConfig out;
  EML_ASSIGN_OR_RETURN(out.model_id, GetId(doc, "model_id"));
  EML_ASSIGN_OR_RETURN(out.model_version, GetId(doc, "model_version"));
  EML_ASSIGN_OR_RETURN(out.store,
                       GetUrl(doc, "store", {"file:///", "s3://", "http://", "unix:", "vsock:"},
                              "file:///PATH, s3://BUCKET/PREFIX, http://HOST:PORT, unix:PATH or "
                              "vsock:CID:PORT"));
  EML_ASSIGN_OR_RETURN(const std::string key_source, GetString(doc, "key_source"));
  if (key_source == "broker") {
    out.key_source = BootConfig::KeySource::kBroker;
    if (!doc.contains("broker")) {
      return Malformed("missing field \"broker\" (key_source \"broker\")");
    }
    EML_ASSIGN_OR_RETURN(
        out.broker, GetUrl(doc, "broker", {"http://", "https://"}, "an http:// or https:// URL"));
  } else if (key_source == "kms") {
    out.key_source = BootConfig::KeySource::kKms;
    if (doc.contains("broker")) {
      return Malformed("field \"broker\" is for key_source \"broker\" only");
    }
  } else {
    return Malformed("field \"key_source\" must be \"broker\" or \"kms\"");
  }
  if (doc.contains("egress_proxy")) {
    EML_ASSIGN_OR_RETURN(out.egress_proxy,
                         GetUrl(doc, "egress_proxy", {"http://", "unix:", "vsock:"},
                                "http://HOST:PORT, unix:PATH or vsock:CID:PORT"));
  }
  if (doc.contains("max_model_mb")) {
    const Json& mb = doc.at("max_model_mb");
    if (!mb.is_number_unsigned() || mb.get<uint64_t>() == 0 || mb.get<uint64_t>() > kMaxModelMb) {
      return Malformed("field \"max_model_mb\" must be an integer from 1 to " +
                       std::to_string(kMaxModelMb));
    }
    out.max_model_mb = mb.get<uint64_t>();
  }
  return out;
}

std::string FormatBootConfig(const BootConfig& config) {
  Json doc = {{"v", 1},
              {"model_id", config.model_id},
              {"model_version", config.model_version},
              {"store", config.store},
              {"key_source", config.key_source == BootConfig::KeySource::kKms ? "kms" : "broker"}};
  if (config.key_source == BootConfig::KeySource::kBroker) {
    doc["broker"] = config.broker;
  }
  if (!config.egress_proxy.empty()) {
    doc["egress_proxy"] = config.egress_proxy;
  }
  if (config.max_model_mb.has_value()) {
    doc["max_model_mb"] = *config.max_model_mb;
  }
  return doc.dump(-1, ' ', false, Json::error_handler_t::replace);
}

int BootConfigExitCode(ErrorCode code) {
  switch (code) {
    case ErrorCode::kBootConfigUnreachable:
      return 30;
    case ErrorCode::kBootConfigMalformed:
      return 31;
    default:
      return 0;
  }
}

}  // namespace eml::enclave
