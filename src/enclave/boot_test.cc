#include "enclave/boot.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "enclave/testing/sim_fixture.h"
#include "testing/test_util.h"

namespace eml::enclave {
namespace {

using ::eml::testing::HasError;
using ::eml::testing::IsOk;

TEST(ListenAddressTest, ParsesChannelAddresses) {
  Result<channel::Address> tcp = ParseListenAddress("tcp:127.0.0.1:9000");
  ASSERT_THAT(tcp, IsOk());
  EXPECT_EQ(tcp->kind, channel::Address::Kind::kTcp);
  EXPECT_EQ(tcp->tcp.host, "127.0.0.1");
  EXPECT_EQ(tcp->tcp.port, 9000);
  Result<channel::Address> v6 = ParseListenAddress("tcp:[::1]:0");
  ASSERT_THAT(v6, IsOk());
  EXPECT_EQ(channel::FormatAddress(*v6), "tcp:[::1]:0");
  Result<channel::Address> unix_socket = ParseListenAddress("unix:/tmp/x.sock");
  ASSERT_THAT(unix_socket, IsOk());
  EXPECT_EQ(unix_socket->kind, channel::Address::Kind::kUnix);
  Result<channel::Address> vsock = ParseListenAddress("vsock:4294967295:5000");
  ASSERT_THAT(vsock, IsOk());
  EXPECT_EQ(vsock->kind, channel::Address::Kind::kVsock);
  EXPECT_EQ(vsock->vsock.port, 5000u);
}

TEST(ListenAddressTest, RejectsOtherForms) {
  for (const char* bad : {"127.0.0.1:9000", "tcp:", "tcp:host-name:1", "unix:", "vsock:3",
                          "vsock://3:5000", "tcp:127.0.0.1:99999"}) {
    EXPECT_THAT(ParseListenAddress(bad), HasError(ErrorCode::kEnclaveBadConfig)) << bad;
  }
}

TEST(MeasuredConfigTest, CanonicalJson) {
  MeasuredConfig config;
  config.platform = "sim";
  config.model_id = "m";
  config.model_hash.fill(0xab);
  config.model_hash_scheme = "sha256-single";
  config.precision = "fp32";
  config.max_sessions = 64;
  std::string hash_hex;
  for (int i = 0; i < 32; ++i) {
    hash_hex += "ab";
  }
  EXPECT_EQ(MeasuredConfigJson(config),
            "{\"max_sessions\":64,\"message_version\":1,\"model_hash\":\"" + hash_hex +
                "\",\"model_hash_scheme\":\"sha256-single\",\"model_id\":\"m\","
                "\"platform\":\"sim\",\"precision\":\"fp32\",\"protocol\":4}");
}

TEST(MeasuredConfigTest, EncryptedBootLeavesTheModelOut) {
  MeasuredConfig config;
  config.platform = "sim";
  config.precision = "int8";
  config.max_sessions = 4;
  config.owner_key = "ed25519:00";
  EXPECT_EQ(MeasuredConfigJson(config),
            "{\"max_sessions\":4,\"message_version\":1,\"owner_key\":\"ed25519:00\","
            "\"platform\":\"sim\",\"precision\":\"int8\",\"protocol\":4}");
}

TEST(MeasuredConfigTest, MeasurementsJson) {
  EXPECT_EQ(MeasurementsJson({{0, {1}}, {1, {2}}, {2, {0xff}}}, "/s/root.pem"),
            "{\"pcrs\":{\"0\":\"01\",\"1\":\"02\",\"2\":\"ff\"},"
            "\"sim_root\":\"/s/root.pem\"}\n");
}

TEST(ReadyFileTest, WritesTheContractFieldsAtomically) {
  ReadyInfo info;
  info.address = "tcp:127.0.0.1:1";
  info.platform = "sim";
  info.sim_root = "/s/attest-sim/root.pem";
  info.pcrs = {{0, {1, 2}}, {1, {3}}, {2, {0xff}}};
  info.model_id = "m";
  info.pid = 42;
  const std::filesystem::path dir = testing::MakeTempDir();
  ASSERT_THAT(WriteFileAtomically(dir / "ready.json", ReadyFileJson(info)), IsOk());
  const nlohmann::json json = ::eml::testing::ReadJson(dir / "ready.json");
  EXPECT_EQ(json, nlohmann::json::parse(R"({"address": "tcp:127.0.0.1:1", "platform": "sim",
      "sim_root": "/s/attest-sim/root.pem", "pcrs": {"0": "0102", "1": "03", "2": "ff"},
      "model_id": "m", "pid": 42})"));
  // Nothing else is left beside it.
  size_t files = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir)) {
    ++files;
  }
  EXPECT_EQ(files, 1u);
  EXPECT_THAT(WriteFileAtomically(dir / "missing" / "ready.json", "x"),
              HasError(ErrorCode::kIoError));
}

TEST(ModelIdTest, LastComponent) {
  EXPECT_EQ(ModelIdFromDirectory("/a/b/all-MiniLM-L6-v2"), "all-MiniLM-L6-v2");
  EXPECT_EQ(ModelIdFromDirectory("/a/b/all-MiniLM-L6-v2/"), "all-MiniLM-L6-v2");
}

}  // namespace
}  // namespace eml::enclave
