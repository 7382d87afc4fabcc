// End-to-end tests of `ephemeralml host`, `up` and `down` that need no enclave: the host relays
// to a fake enclave (a channel::net listener); up/down run against a stack.json naming a live
// `ephemeralml host` process. The full stack with the real enclave is in up_e2e_test.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "channel/frame.h"
#include "channel/net/net.h"
#include "channel/transport.h"
#include "ephemeralml/testing/cli_runner.h"
#include "http/http_client.h"
#include "http/testing/loopback_server.h"
#include "testing/test_util.h"

namespace eml::apps {
namespace {

namespace fs = std::filesystem;
using ::eml::testing::IsOk;
using ::testing::HasSubstr;

constexpr int kTimeoutMs = 10'000;

// Background starts the binary with `args` (stdout/stderr to `log`) and returns its pid.
pid_t Background(const std::vector<std::string>& args, const fs::path& log) {
  std::vector<std::string> all = {EML_EPHEMERALML_PATH};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : all) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    FILE* out = std::freopen(log.c_str(), "w", stderr);
    (void)out;
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  return pid;
}

nlohmann::json WaitForJson(const fs::path& file) {
  for (int i = 0; i < kTimeoutMs / 20; ++i) {
    if (fs::exists(file)) {
      return testing::ReadJson(file);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ADD_FAILURE() << file << " never appeared";
  return nlohmann::json::object();
}

int StopAndWait(pid_t pid) {
  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

class StackCommandTest : public CliTest {
 protected:
  StackCommandTest() : CliTest(EML_EPHEMERALML_PATH, "eml-stack-cli") {}
  void SetUp() override {
    CliTest::SetUp();
    ::setenv("EPHEMERALML_HOME", (dir_ / "home").c_str(), 1);
  }
};

TEST_F(StackCommandTest, HostRelaysFramesRecordsThemAndStopsOnSigterm) {
  Result<std::unique_ptr<channel::net::Listener>> enclave =
      channel::net::ListenTcp({"127.0.0.1", 0});
  ASSERT_TRUE(enclave.has_value());
  const fs::path ready = dir_ / "host.ready.json";
  const pid_t pid =
      Background({"host", "--listen", "127.0.0.1:0", "--enclave",
                  "tcp:127.0.0.1:" + std::to_string((*enclave)->port()), "--ready-file",
                  ready.string(), "--record", (dir_ / "rec").string(), "--max-connections", "4"},
                 dir_ / "host.log");
  const nlohmann::json info = WaitForJson(ready);
  ASSERT_TRUE(info.contains("address"));
  EXPECT_EQ(info["pid"].get<int64_t>(), pid);
  EXPECT_EQ(info["enclave"], "tcp:127.0.0.1:" + std::to_string((*enclave)->port()));
  Result<channel::net::HostPort> address =
      channel::net::ParseHostPort(info["address"].get<std::string>());
  ASSERT_TRUE(address.has_value());

  Result<std::unique_ptr<channel::Stream>> client = channel::net::ConnectTcp(*address, kTimeoutMs);
  ASSERT_TRUE(client.has_value());
  Result<std::unique_ptr<channel::Stream>> upstream = (*enclave)->Accept(kTimeoutMs);
  ASSERT_TRUE(upstream.has_value());
  const std::vector<uint8_t> payload = {'c', 'i', 'p', 'h', 'e', 'r'};
  Result<std::vector<uint8_t>> frame =
      channel::EncodeFrame(channel::FrameType::kData, channel::kFlagEncrypted, 3, payload, {});
  ASSERT_TRUE(frame.has_value());
  ASSERT_THAT((*client)->WriteAll(*frame, kTimeoutMs), IsOk());
  std::vector<uint8_t> got;
  ASSERT_THAT(channel::ReadFrame(upstream->get(), {}, kTimeoutMs, &got), IsOk());
  EXPECT_EQ(got, *frame);
  client->reset();

  EXPECT_EQ(StopAndWait(pid), 0);
  EXPECT_EQ(testing::ReadFileBytes(dir_ / "rec" / "conn-1-c2e.bin"), *frame);
  const std::string log = testing::ReadFileText(dir_ / "host.log");
  EXPECT_THAT(log, HasSubstr("connection 1 closed"));
  EXPECT_THAT(log, HasSubstr("c2e 19 bytes / 1 frames"));
}

TEST_F(StackCommandTest, HostEgressProxyTunnelsToAllowedDestinationsOnly) {
  Result<std::unique_ptr<channel::net::Listener>> enclave =
      channel::net::ListenTcp({"127.0.0.1", 0});
  ASSERT_TRUE(enclave.has_value());
  Result<std::unique_ptr<http::testing::LoopbackServer>> broker =
      http::testing::LoopbackServer::Start(
          [](const http::testing::RecordedRequest&) { return http::testing::Reply(200, "ok"); });
  ASSERT_TRUE(broker.has_value());
  const std::string broker_authority = "127.0.0.1:" + std::to_string((*broker)->port());
  const fs::path ready = dir_ / "host.ready.json";
  const pid_t pid = Background(
      {"host", "--listen", "127.0.0.1:0", "--enclave",
       "tcp:127.0.0.1:" + std::to_string((*enclave)->port()), "--ready-file", ready.string(),
       "--record", (dir_ / "rec").string(), "--egress-listen", "127.0.0.1:0", "--egress-allow",
       broker_authority, "--egress-allow", "kms.eu-west-1.amazonaws.com:443"},
      dir_ / "host.log");
  const nlohmann::json info = WaitForJson(ready);
  ASSERT_TRUE(info.contains("egress_address"));
  const std::string egress = info["egress_address"].get<std::string>();

  Result<std::unique_ptr<http::HttpClient>> client = http::HttpClient::Create();
  ASSERT_TRUE(client.has_value());
  http::Request request;
  request.url = (*broker)->Url() + "/v1/challenge";
  request.proxy = "http://" + egress;
  request.timeout_ms = kTimeoutMs;
  Result<http::Response> response = (*client)->Send(request);
  ASSERT_THAT(response, IsOk());
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(std::string(response->body.begin(), response->body.end()), "ok");
  ASSERT_EQ((*broker)->Requests().size(), 1u);
  // A destination off the list is refused by the proxy.
  request.url = "http://127.0.0.1:" + std::to_string((*enclave)->port()) + "/";
  EXPECT_THAT((*client)->Send(request), testing::HasError(ErrorCode::kHttpConnect));
  client->reset();

  EXPECT_EQ(StopAndWait(pid), 0);
  // The tunnelled request is in the recording.
  EXPECT_THAT(testing::ReadFileText(dir_ / "rec" / "egress-1-out.bin"),
              HasSubstr("GET /v1/challenge HTTP/1.1"));
  const std::string log = testing::ReadFileText(dir_ / "host.log");
  EXPECT_THAT(log, HasSubstr("egress 1 to " + broker_authority));
  EXPECT_THAT(log, HasSubstr("EGRESS_NOT_ALLOWED (status 403)"));
  // --egress-allow needs --egress-listen; a bad entry is refused.
  EXPECT_EQ(Run({"host", "--listen", "127.0.0.1:0", "--enclave", "tcp:127.0.0.1:1",
                 "--egress-allow", broker_authority})
                .exit_code,
            2);
  const RunResult bad_entry =
      Run({"host", "--listen", "127.0.0.1:0", "--enclave", "tcp:127.0.0.1:1", "--egress-listen",
           "127.0.0.1:0", "--egress-allow", "*.amazonaws.com:443"});
  EXPECT_EQ(bad_entry.exit_code, 2);
  EXPECT_THAT(bad_entry.err, HasSubstr("EGRESS_BAD_ALLOW_ENTRY"));
}

TEST_F(StackCommandTest, HostRefusesBadFlags) {
  EXPECT_EQ(Run({"host", "--listen", "nowhere", "--enclave", "tcp:127.0.0.1:1"}).exit_code, 2);
  const RunResult bad_enclave = Run({"host", "--listen", "127.0.0.1:0", "--enclave", "ftp:x"});
  EXPECT_EQ(bad_enclave.exit_code, 2);
  EXPECT_THAT(bad_enclave.err, HasSubstr("CHANNEL_BAD_ADDRESS"));
  EXPECT_EQ(Run({"host", "--listen", "127.0.0.1:0"}).exit_code, 2);  // --enclave required
}

TEST_F(StackCommandTest, DownWithNothingRunningSucceeds) {
  const RunResult r = Run({"down"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("no stack running"));
}

TEST_F(StackCommandTest, DownWithAGarbledStackFileCleansUp) {
  fs::create_directories(dir_ / "home" / "run");
  std::ofstream(dir_ / "home" / "run" / "stack.json") << "{not json";
  const RunResult r = Run({"down"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("STACK_BAD_STATE"));
  EXPECT_FALSE(fs::exists(dir_ / "home" / "run" / "stack.json"));
}

TEST_F(StackCommandTest, UpSeesARunningStackAndDownStopsIt) {
  Result<std::unique_ptr<channel::net::Listener>> enclave =
      channel::net::ListenTcp({"127.0.0.1", 0});
  ASSERT_TRUE(enclave.has_value());
  const fs::path ready = dir_ / "host.ready.json";
  const pid_t pid = Background(
      {"host", "--listen", "127.0.0.1:0", "--enclave",
       "tcp:127.0.0.1:" + std::to_string((*enclave)->port()), "--ready-file", ready.string()},
      dir_ / "host.log");
  const nlohmann::json info = WaitForJson(ready);
  fs::create_directories(dir_ / "home" / "run");
  const nlohmann::json stack = {{"host", {{"pid", pid}, {"address", info["address"]}}}};
  std::ofstream(dir_ / "home" / "run" / "stack.json") << stack.dump();

  const RunResult up = Run({"up"});
  EXPECT_EQ(up.exit_code, 1);
  EXPECT_THAT(up.out, HasSubstr("STACK_ALREADY_RUNNING"));
  EXPECT_EQ(::kill(pid, 0), 0);  // left alone

  const RunResult down = Run({"down"});
  EXPECT_EQ(down.exit_code, 0);
  EXPECT_THAT(down.out, HasSubstr("stopped"));
  int status = 0;
  EXPECT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_FALSE(fs::exists(dir_ / "home" / "run" / "stack.json"));
}

TEST_F(StackCommandTest, UpWithABrokenModelFailsCleanly) {
  fs::create_directories(dir_ / "empty-model");
  const RunResult up =
      Run({"up", "--model", (dir_ / "empty-model").string(), "--port", "0", "--timeout-s", "60"});
  EXPECT_EQ(up.exit_code, 1);
  EXPECT_THAT(up.err, HasSubstr("PACKAGE_BAD_MODEL_DIR"));
  // The broker had started; it is stopped again and nothing of the stack is left.
  EXPECT_TRUE(fs::exists(dir_ / "home" / "logs" / "broker.log"));
  EXPECT_FALSE(fs::exists(dir_ / "home" / "run" / "stack.json"));
  EXPECT_FALSE(fs::exists(dir_ / "home" / "run" / "broker.ready.json"));
  EXPECT_FALSE(fs::exists(dir_ / "home" / "policy.json"));
  EXPECT_FALSE(fs::exists(dir_ / "home" / "packages" / "current.json"));
  EXPECT_EQ(Run({"down"}).exit_code, 0);
}

}  // namespace
}  // namespace eml::apps
