#include "testing/test_util.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>

#include "common/encoding.h"

namespace eml::testing {
namespace {

std::filesystem::path EnvPath(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') {
    ADD_FAILURE() << name << " is not set (run tests through ctest)";
    return {};
  }
  return std::filesystem::path(value);
}

}  // namespace

std::filesystem::path SharedVectorPath(const std::string& relative) {
  return EnvPath("EML_SHARED_DIR") / "vectors" / relative;
}

std::filesystem::path SourcePath(const std::string& relative) {
  return EnvPath("EML_SOURCE_DIR") / relative;
}

std::vector<uint8_t> ReadFileBytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ADD_FAILURE() << "cannot read " << path;
    return {};
  }
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

std::string ReadFileText(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ADD_FAILURE() << "cannot read " << path;
    return {};
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string ReadGzipText(const std::filesystem::path& path) {
  const std::string command = "gzip -dc '" + path.string() + "'";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
  if (!pipe) {
    ADD_FAILURE() << "cannot run " << command;
    return {};
  }
  std::string out;
  std::array<char, 65536> buffer;
  size_t n;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe.get())) > 0) {
    out.append(buffer.data(), n);
  }
  return out;
}

nlohmann::json ReadJson(const std::filesystem::path& path) {
  const std::string text = path.extension() == ".gz" ? ReadGzipText(path) : ReadFileText(path);
  return nlohmann::json::parse(text);
}

std::vector<uint8_t> Hex(const std::string& hex) {
  auto decoded = HexDecode(hex);
  if (!decoded.has_value()) {
    ADD_FAILURE() << "bad hex in test data: " << hex.substr(0, 40);
    return {};
  }
  return std::move(decoded).value();
}

}  // namespace eml::testing
