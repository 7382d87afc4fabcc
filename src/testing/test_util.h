#pragma once
// Test support shared by every test binary: error-code matchers, paths to the shared vectors,
// and file/JSON loading. Linked only into tests.

#include <gmock/gmock.h>

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/result.h"

namespace eml::testing {

// SharedPath("hpke/x.json") -> $EML_SHARED_DIR/vectors/hpke/x.json (fails the test if unset).
std::filesystem::path SharedVectorPath(const std::string& relative);
// SourcePath("tests/vectors/...") -> $EML_SOURCE_DIR/...
std::filesystem::path SourcePath(const std::string& relative);

std::vector<uint8_t> ReadFileBytes(const std::filesystem::path& path);
std::string ReadFileText(const std::filesystem::path& path);
// ReadGzipText reads a .gz file through zlib-free `gzip -dc` (test-only).
std::string ReadGzipText(const std::filesystem::path& path);
nlohmann::json ReadJson(const std::filesystem::path& path);
std::vector<uint8_t> Hex(const std::string& hex);  // aborts the test on bad hex

MATCHER_P(HasError, code, "has error code " + std::string(::eml::ErrorCodeName(code))) {
  if (arg.has_value()) {
    *result_listener << "which has a value";
    return false;
  }
  *result_listener << "which has error " << ::eml::ToString(arg.error());
  return arg.error().code == code;
}

MATCHER(IsOk, "is ok") {
  if (!arg.has_value()) {
    *result_listener << "which has error " << ::eml::ToString(arg.error());
    return false;
  }
  return true;
}

}  // namespace eml::testing
