#include "crypto/testing/wycheproof_util.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "testing/test_util.h"

namespace eml::crypto::testing {

nlohmann::json LoadWycheproof(const std::string& file_name) {
  return ::eml::testing::ReadJson(::eml::testing::SharedVectorPath("wycheproof/" + file_name));
}

WycheproofResult ResultOf(const nlohmann::json& test) {
  std::string result = test.at("result").get<std::string>();
  if (result == "valid") {
    return WycheproofResult::kValid;
  }
  if (result == "invalid") {
    return WycheproofResult::kInvalid;
  }
  EXPECT_EQ(result, "acceptable") << "unknown Wycheproof result";
  return WycheproofResult::kAcceptable;
}

bool HasFlag(const nlohmann::json& test, std::string_view flag) {
  if (!test.contains("flags")) {
    return false;
  }
  for (const auto& f : test.at("flags")) {
    if (f.get<std::string>() == flag) {
      return true;
    }
  }
  return false;
}

std::vector<uint8_t> HexField(const nlohmann::json& object, const std::string& name) {
  EXPECT_TRUE(object.contains(name)) << "missing field " << name;
  if (!object.contains(name)) {
    return {};
  }
  return ::eml::testing::Hex(object.at(name).get<std::string>());
}

void ExpectOnlyFields(const nlohmann::json& object, std::initializer_list<std::string_view> known) {
  for (const auto& item : object.items()) {
    bool is_known = std::find(known.begin(), known.end(), item.key()) != known.end();
    EXPECT_TRUE(is_known) << "field not read by the driver: " << item.key();
  }
}

std::string CaseName(std::string_view file, const nlohmann::json& test) {
  return std::string(file) + " tcId " + std::to_string(test.at("tcId").get<int>()) + ": " +
         test.value("comment", std::string());
}

}  // namespace eml::crypto::testing
