// The host's boot configuration listener and the enclave's FetchBootConfig against it, over TCP
// and Unix sockets; a hostile listener announcing too many bytes; nobody listening.
#include "host/boot_config_server.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "common/encoding.h"
#include "enclave/boot_config.h"
#include "enclave/boot_config_fetch.h"
#include "testing/test_util.h"

namespace eml::host {
namespace {

namespace fs = std::filesystem;
using ::eml::testing::IsOk;
using ::testing::HasSubstr;

constexpr char kConfig[] =
    R"({"v":1,"model_id":"tiny","model_version":"1","store":"file:///srv/store",)"
    R"("key_source":"kms","egress_proxy":"http://127.0.0.1:3128"})";

std::vector<uint8_t> Bytes(std::string_view text) {
  const std::span<const uint8_t> bytes = AsBytes(text);
  return {bytes.begin(), bytes.end()};
}

channel::Address MustParse(const std::string& text) {
  Result<channel::Address> address = channel::ParseAddress(text);
  EXPECT_THAT(address, IsOk());
  return *address;
}

// Options that never sleep (the recorder keeps the backoffs asked for).
enclave::BootConfigFetchOptions NoSleep(std::vector<std::chrono::milliseconds>* slept) {
  enclave::BootConfigFetchOptions options;
  options.sleep = [slept](std::chrono::milliseconds ms) { slept->push_back(ms); };
  return options;
}

class BootConfigServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/eml-boot-config-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(BootConfigServerTest, ServesTheExactBytesOverTcpAndUnixSockets) {
  for (const std::string& listen :
       {std::string("tcp:127.0.0.1:0"), "unix:" + (dir_ / "b.sock").string()}) {
    auto server = BootConfigServer::Start(Bytes(kConfig), MustParse(listen));
    ASSERT_THAT(server, IsOk()) << listen;
    const channel::Address bound = (*server)->bound();
    if (bound.kind == channel::Address::Kind::kTcp) {
      EXPECT_NE(bound.tcp.port, 0);
    }
    // Twice: every connection gets the whole configuration.
    for (int i = 0; i < 2; ++i) {
      std::vector<std::chrono::milliseconds> slept;
      Result<enclave::BootConfig> config = enclave::FetchBootConfig(bound, NoSleep(&slept));
      ASSERT_THAT(config, IsOk()) << listen;
      EXPECT_EQ(config->model_id, "tiny");
      EXPECT_EQ(config->store, "file:///srv/store");
      EXPECT_EQ(config->egress_proxy, "http://127.0.0.1:3128");
      EXPECT_TRUE(slept.empty());
    }
    // The raw answer: a big-endian length, then the file's bytes.
    auto stream = channel::Connect(bound, 5000);
    ASSERT_THAT(stream, IsOk());
    std::array<uint8_t, 4> header{};
    ASSERT_THAT((*stream)->ReadExact(header, 5000), IsOk());
    const size_t length = (size_t{header[2]} << 8) | header[3];
    EXPECT_EQ(header[0], 0);
    EXPECT_EQ(header[1], 0);
    ASSERT_EQ(length, std::string_view(kConfig).size());
    std::vector<uint8_t> body(length);
    ASSERT_THAT((*stream)->ReadExact(body, 5000), IsOk());
    EXPECT_EQ(body, Bytes(kConfig));
    (*server)->Stop();
    EXPECT_GE((*server)->served(), 2u);
  }
}

TEST_F(BootConfigServerTest, RefusesAnEmptyOrOversizedConfiguration) {
  auto empty = BootConfigServer::Start({}, MustParse("tcp:127.0.0.1:0"));
  ASSERT_FALSE(empty.has_value());
  EXPECT_EQ(empty.error().code, ErrorCode::kLimitExceeded);
  auto big = BootConfigServer::Start(std::vector<uint8_t>(enclave::kMaxBootConfigBytes + 1, ' '),
                                     MustParse("tcp:127.0.0.1:0"));
  ASSERT_FALSE(big.has_value());
  EXPECT_EQ(big.error().code, ErrorCode::kLimitExceeded);
}

TEST_F(BootConfigServerTest, MalformedConfigurationIsFinal) {
  auto server = BootConfigServer::Start(Bytes(R"({"v":1})"), MustParse("tcp:127.0.0.1:0"));
  ASSERT_THAT(server, IsOk());
  std::vector<std::chrono::milliseconds> slept;
  Result<enclave::BootConfig> config =
      enclave::FetchBootConfig((*server)->bound(), NoSleep(&slept));
  ASSERT_FALSE(config.has_value());
  EXPECT_EQ(config.error().code, ErrorCode::kBootConfigMalformed);
  EXPECT_THAT(config.error().detail, HasSubstr("missing field"));
  EXPECT_TRUE(slept.empty());
}

TEST_F(BootConfigServerTest, HostileLengthIsRefusedBeforeTheBytes) {
  // A listener that announces 16 KiB + 1 and then sends nothing: the fetch must not wait for the
  // bytes (its read deadline would turn that into kBootConfigUnreachable).
  auto listener = channel::Listen(MustParse("unix:" + (dir_ / "hostile.sock").string()));
  ASSERT_THAT(listener, IsOk());
  const channel::Address bound = (*listener)->bound();
  std::thread host([&listener] {
    auto stream = (*listener)->Accept(60'000);
    ASSERT_THAT(stream, IsOk());
    const uint32_t length = enclave::kMaxBootConfigBytes + 1;
    const std::array<uint8_t, 4> header = {
        static_cast<uint8_t>(length >> 24), static_cast<uint8_t>(length >> 16),
        static_cast<uint8_t>(length >> 8), static_cast<uint8_t>(length)};
    ASSERT_THAT((*stream)->WriteAll(header, 5000), IsOk());
    std::array<uint8_t, 1> none{};
    (void)(*stream)->ReadExact(none, 60'000);  // until the enclave side closes
  });
  std::vector<std::chrono::milliseconds> slept;
  enclave::BootConfigFetchOptions options = NoSleep(&slept);
  options.read_timeout_ms = 120'000;
  Result<enclave::BootConfig> config = enclave::FetchBootConfig(bound, options);
  host.join();
  ASSERT_FALSE(config.has_value());
  EXPECT_EQ(config.error().code, ErrorCode::kBootConfigMalformed);
  EXPECT_THAT(config.error().detail, HasSubstr("16385 bytes"));
}

TEST_F(BootConfigServerTest, NobodyListeningIsUnreachableAfterTheAttempts) {
  std::vector<std::chrono::milliseconds> slept;
  enclave::BootConfigFetchOptions options = NoSleep(&slept);
  options.attempts = 3;
  Result<enclave::BootConfig> config =
      enclave::FetchBootConfig(MustParse("unix:" + (dir_ / "nobody.sock").string()), options);
  ASSERT_FALSE(config.has_value());
  EXPECT_EQ(config.error().code, ErrorCode::kBootConfigUnreachable);
  EXPECT_THAT(config.error().detail, HasSubstr("after 3 attempts"));
  EXPECT_EQ(slept, (std::vector<std::chrono::milliseconds>{std::chrono::milliseconds(100),
                                                           std::chrono::milliseconds(200)}));
}

}  // namespace
}  // namespace eml::host
