// Fuzz target keys_release_policy: ParseReleasePolicy on arbitrary text (data folder that does
// not exist, so relative files never load; inline PEM roots do parse). Properties: no crash and
// no exception; every failure is kBrokerBadPolicy; a parsed policy has at least one evidence
// platform, each with a root, one or two sorted security modes, and its canonical JSON is a
// fixed point (parsing it again succeeds and gives the same text).

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>

#include "keys/release_policy.h"

namespace {

void Require(bool condition) {
  if (!condition) {
    std::abort();
  }
}

constexpr char kDataDir[] = "/nonexistent-eml-fuzz-broker";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> bytes(data, size);
  const std::string text(bytes.begin(), bytes.end());
  auto policy = eml::keys::ParseReleasePolicy(text, kDataDir);
  if (!policy.has_value()) {
    Require(policy.error().code == eml::ErrorCode::kBrokerBadPolicy);
    return 0;
  }
  Require(!policy->evidence.platforms.empty());
  for (const auto& [name, platform] : policy->evidence.platforms) {
    Require(!platform.roots.empty());
  }
  Require(!policy->security_modes.empty() && policy->security_modes.size() <= 2);
  Require(policy->security_modes.size() == 1 ||
          policy->security_modes[0] < policy->security_modes[1]);
  auto again = eml::keys::ParseReleasePolicy(policy->canonical_json, kDataDir);
  Require(again.has_value() && again->canonical_json == policy->canonical_json);
  return 0;
}
