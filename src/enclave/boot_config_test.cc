#include "enclave/boot_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "common/encoding.h"
#include "testing/test_util.h"

namespace eml::enclave {
namespace {

using ::eml::testing::IsOk;
using ::testing::HasSubstr;

Result<BootConfig> Parse(const std::string& text) { return ParseBootConfig(AsBytes(text)); }

// Expects kBootConfigMalformed with `needle` in the detail.
void ExpectMalformed(const std::string& text, const std::string& needle) {
  Result<BootConfig> config = Parse(text);
  ASSERT_FALSE(config.has_value()) << text;
  EXPECT_EQ(config.error().code, ErrorCode::kBootConfigMalformed) << text;
  EXPECT_THAT(config.error().detail, HasSubstr(needle)) << text;
}

constexpr char kBroker[] =
    R"({"v":1,"model_id":"all-MiniLM-L6-v2","model_version":"1","store":"http://127.0.0.1:8081",)"
    R"("key_source":"broker","broker":"http://127.0.0.1:9000","egress_proxy":"http://127.0.0.1:3128"})";

TEST(BootConfigTest, ParsesABrokerConfiguration) {
  Result<BootConfig> config = Parse(kBroker);
  ASSERT_THAT(config, IsOk());
  EXPECT_EQ(config->model_id, "all-MiniLM-L6-v2");
  EXPECT_EQ(config->model_version, "1");
  EXPECT_EQ(config->store, "http://127.0.0.1:8081");
  EXPECT_EQ(config->key_source, BootConfig::KeySource::kBroker);
  EXPECT_EQ(config->broker, "http://127.0.0.1:9000");
  EXPECT_EQ(config->egress_proxy, "http://127.0.0.1:3128");
  EXPECT_FALSE(config->max_model_mb.has_value());
}

TEST(BootConfigTest, ParsesAKmsConfigurationWithEveryStoreForm) {
  for (const char* store : {"file:///srv/models", "s3://bucket/prefix", "http://[::1]:80",
                            "unix:/run/store.sock", "vsock:3:8081"}) {
    const std::string text = std::string(R"({"v":1,"model_id":"m","model_version":"2","store":")") +
                             store + R"(","key_source":"kms","max_model_mb":512})";
    Result<BootConfig> config = Parse(text);
    ASSERT_THAT(config, IsOk()) << store;
    EXPECT_EQ(config->store, store);
    EXPECT_EQ(config->key_source, BootConfig::KeySource::kKms);
    EXPECT_TRUE(config->broker.empty());
    EXPECT_EQ(config->max_model_mb, 512u);
  }
}

TEST(BootConfigTest, FormatParsesBackToTheSameConfiguration) {
  Result<BootConfig> config = Parse(kBroker);
  ASSERT_THAT(config, IsOk());
  config->max_model_mb = 100;
  const std::string text = FormatBootConfig(*config);
  Result<BootConfig> again = Parse(text);
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(FormatBootConfig(*again), text);
  EXPECT_EQ(again->max_model_mb, 100u);
  EXPECT_EQ(again->broker, config->broker);
}

TEST(BootConfigTest, RefusesUnknownMissingAndDuplicateFields) {
  ExpectMalformed(
      R"({"v":1,"model_id":"m","model_version":"1","store":"s3://b","key_source":"kms",)"
      R"("owner_key":"ab"})",
      "unknown field \"owner_key\"");
  ExpectMalformed(R"({"v":1,"model_id":"m","store":"s3://b","key_source":"kms"})",
                  "missing field \"model_version\"");
  ExpectMalformed(
      R"({"v":1,"model_id":"m","model_version":"1","store":"s3://b","key_source":"broker"})",
      "missing field \"broker\"");
  ExpectMalformed(R"({"v":1,"model_id":"m","model_id":"n","model_version":"1","store":"s3://b",)"
                  R"("key_source":"kms"})",
                  "not one JSON object");
  ExpectMalformed(
      R"({"v":1,"model_id":"m","model_version":"1","store":"s3://b","key_source":"kms"} x)",
      "not one JSON object");
  ExpectMalformed("[1]", "not one JSON object");
  ExpectMalformed("", "not one JSON object");
}

TEST(BootConfigTest, RefusesWrongTypesEmptyStringsAndBadValues) {
  const std::string head =
      R"({"model_id":"m","model_version":"1","store":"s3://b","key_source":"kms",)";
  ExpectMalformed(head + R"("v":2})", "field \"v\"");
  ExpectMalformed(head + R"("v":"1"})", "field \"v\"");
  ExpectMalformed(head + R"("v":1.0})", "field \"v\"");
  ExpectMalformed(head + R"("v":1,"max_model_mb":0})", "field \"max_model_mb\"");
  ExpectMalformed(head + R"("v":1,"max_model_mb":-5})", "field \"max_model_mb\"");
  ExpectMalformed(head + R"("v":1,"max_model_mb":"5"})", "field \"max_model_mb\"");
  ExpectMalformed(head + R"("v":1,"max_model_mb":17592186044416})", "field \"max_model_mb\"");
  ExpectMalformed(head + R"("v":1,"broker":"http://b:1"})", "field \"broker\" is for");
  ExpectMalformed(head + R"("v":1,"egress_proxy":"https://p:1"})", "field \"egress_proxy\"");
  ExpectMalformed(head + R"("v":1,"egress_proxy":""})", "field \"egress_proxy\" must not be empty");
  const std::string tail = R"(,"key_source":"kms","v":1})";
  ExpectMalformed(R"({"model_id":"","model_version":"1","store":"s3://b")" + tail,
                  "field \"model_id\" must not be empty");
  ExpectMalformed(R"({"model_id":"../x","model_version":"1","store":"s3://b")" + tail,
                  "field \"model_id\"");
  ExpectMalformed(R"({"model_id":"m","model_version":7,"store":"s3://b")" + tail,
                  "field \"model_version\" must be a string");
  for (const char* store : {"ftp://x", "file://relative", "s3://", "http://", "http://a b:1",
                            "unix:", "tcp:1.2.3.4:5", "http://h:1\\u0001"}) {
    ExpectMalformed(
        R"({"model_id":"m","model_version":"1","store":")" + std::string(store) + "\"" + tail,
        "field \"store\"");
  }
  ExpectMalformed(
      R"({"v":1,"model_id":"m","model_version":"1","store":"s3://b","key_source":"aws"})",
      "field \"key_source\"");
  ExpectMalformed(R"({"v":1,"model_id":"m","model_version":"1","store":"s3://b",)"
                  R"("key_source":"broker","broker":"file:///x"})",
                  "field \"broker\"");
}

TEST(BootConfigTest, RefusesMoreThanSixteenKibibytes) {
  std::string text = kBroker;
  text.insert(text.size() - 1, std::string(kMaxBootConfigBytes, ' '));
  ExpectMalformed(text, "larger than 16384 bytes");
}

TEST(BootConfigTest, ExitCodes) {
  EXPECT_EQ(BootConfigExitCode(ErrorCode::kBootConfigUnreachable), 30);
  EXPECT_EQ(BootConfigExitCode(ErrorCode::kBootConfigMalformed), 31);
  EXPECT_EQ(BootConfigExitCode(ErrorCode::kBootModelMismatch), 0);
}

}  // namespace
}  // namespace eml::enclave
