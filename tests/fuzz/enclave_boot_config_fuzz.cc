// Fuzz target: the boot configuration the host serves to the enclave (enclave/boot_config.h).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>

#include "common/encoding.h"
#include "enclave/boot_config.h"

namespace {

void Require(bool condition) {
  if (!condition) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using eml::enclave::BootConfig;
  const eml::Result<BootConfig> config =
      eml::enclave::ParseBootConfig(std::span<const uint8_t>(data, size));
  if (!config.has_value()) {
    Require(config.code() == eml::ErrorCode::kBootConfigMalformed);
    return 0;
  }
  Require(size <= eml::enclave::kMaxBootConfigBytes);
  Require(!config->model_id.empty() && !config->model_version.empty() && !config->store.empty());
  Require(config->store.size() <= eml::enclave::kMaxBootConfigUrlBytes);
  Require((config->key_source == BootConfig::KeySource::kBroker) == !config->broker.empty());
  Require(!config->max_model_mb.has_value() || *config->max_model_mb > 0);
  // The canonical form parses to a configuration that formats the same way.
  const std::string text = eml::enclave::FormatBootConfig(*config);
  const eml::Result<BootConfig> again = eml::enclave::ParseBootConfig(eml::AsBytes(text));
  Require(again.has_value());
  Require(eml::enclave::FormatBootConfig(*again) == text);
  Require(again->model_id == config->model_id && again->store == config->store &&
          again->broker == config->broker && again->egress_proxy == config->egress_proxy &&
          again->max_model_mb == config->max_model_mb);
  return 0;
}
