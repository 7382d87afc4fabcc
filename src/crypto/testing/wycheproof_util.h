#pragma once
// Helpers for walking Wycheproof JSON test vectors (tests only): the declared count, the
// expected result, flags, and a check that a case has no field the driver did not read
// (STYLE T3). The vectors live in /work/shared/vectors/wycheproof/ (see its README/LICENSE).
//
// Thread safety: pure functions.

#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace eml::crypto::testing {

enum class WycheproofResult { kValid, kInvalid, kAcceptable };

// LoadWycheproof reads vectors/wycheproof/<file_name>; fails the test if it cannot.
nlohmann::json LoadWycheproof(const std::string& file_name);

// ResultOf parses test["result"]; fails the test on an unknown value.
WycheproofResult ResultOf(const nlohmann::json& test);

bool HasFlag(const nlohmann::json& test, std::string_view flag);

// HexField decodes test[name] (hex) and fails the test if absent or malformed.
std::vector<uint8_t> HexField(const nlohmann::json& object, const std::string& name);

// ExpectOnlyFields fails the test if `object` has a key outside `known`.
void ExpectOnlyFields(const nlohmann::json& object, std::initializer_list<std::string_view> known);

// CaseName renders "file tcId N: comment" for failure messages.
std::string CaseName(std::string_view file, const nlohmann::json& test);

}  // namespace eml::crypto::testing
