#pragma once
// Posture: ParseReleasePolicy reads operator-written policy text that the broker treats as
// untrusted: at most kMaxReleasePolicyBytes, nlohmann-json wrapped so that no exception escapes,
// duplicate and unknown keys refused, the "evidence" object handed to attest's strict parser.
// Fuzz target: tests/fuzz/keys_release_policy_fuzz.cc.
//
// eml::keys release policy (docs/keybroker.md, "Release policy"): which evidence a key broker
// accepts before it releases one model key, version 1:
//   {"version": 1,
//    "evidence": { <attest evidence policy (attest/policy.h)> },
//    "security_modes": ["production", "evaluation"]}   // optional; default ["production"]
// Security modes: evidence from the simulated platform ("sim") runs in "evaluation" mode, every
// hardware platform in "production"; a release needs the evidence's mode listed here.
//
// Thread safety: pure functions; ReleasePolicy is a plain value.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "attest/policy.h"
#include "common/result.h"

namespace eml::keys {

inline constexpr int64_t kReleasePolicyVersion = 1;
inline constexpr size_t kMaxReleasePolicyBytes = attest::kMaxPolicyFileBytes;
inline constexpr char kSecurityModeProduction[] = "production";
inline constexpr char kSecurityModeEvaluation[] = "evaluation";

struct ReleasePolicy {
  attest::EvidencePolicy evidence;
  std::vector<std::string> security_modes;  // sorted, no duplicates, never empty
  std::string canonical_json;               // sorted keys, compact: what the broker stores
};

// ParseReleasePolicy parses and validates `json`; relative paths inside "evidence" resolve
// against `data_dir` (the broker's data folder); "roots" and "certificates" entries may be
// inline PEM. Errors: kBrokerBadPolicy for every problem; the detail names the key and, for
// evidence problems, the attest error name (kPolicy*).
Result<ReleasePolicy> ParseReleasePolicy(std::string_view json,
                                         const std::filesystem::path& data_dir);

// SecurityModeOf returns the security mode of evidence from `platform` (a kPlatform* name).
const char* SecurityModeOf(std::string_view platform);

}  // namespace eml::keys
