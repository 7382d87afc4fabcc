// End-to-end tests of `ephemeralml keybroker serve` (a subprocess) driven by the `keys` admin
// commands: first start creates the data folder, master key and token; register, list, policy,
// revoke and audit over HTTP; refusals exit 1 with the error name; SIGTERM stops cleanly and a
// restart on the same folder keeps the keys.
#include <signal.h>
#include <sys/stat.h>
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

#include "ephemeralml/testing/cli_runner.h"
#include "testing/test_util.h"

namespace eml::apps {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using Json = nlohmann::json;

constexpr int kTimeoutMs = 20'000;

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

// WaitForJson polls for the ready file, which the server writes atomically once listening.
Json WaitForJson(const fs::path& file, pid_t pid) {
  for (int i = 0; i < kTimeoutMs / 20; ++i) {
    if (fs::exists(file)) {
      return testing::ReadJson(file);
    }
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      ADD_FAILURE() << "the server exited before it was ready";
      return Json::object();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ADD_FAILURE() << file << " never appeared";
  return Json::object();
}

int StopAndWait(pid_t pid) {
  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

unsigned ModeOf(const fs::path& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 0777;
}

class KeysCommandTest : public CliTest {
 protected:
  KeysCommandTest() : CliTest(EML_EPHEMERALML_PATH, "eml-keys-cli") {}

  void SetUp() override {
    CliTest::SetUp();
    ::unsetenv("EPHEMERALML_BROKER_TOKEN");
    ::unsetenv("EPHEMERALML_BROKER_MASTER_KEY");
    data_ = dir_ / "data";
    fs::copy_file(testing::SharedVectorPath("nitro/aws-nitro-enclaves-root-g1.pem"),
                  dir_ / "root.pem");
    fs::copy_file(testing::SharedVectorPath("nitro/aws-nitro-enclaves-root-g1.der"),
                  dir_ / "root.der");
    WritePolicy("policy.json", "root.pem", 600);
    std::ofstream(dir_ / "model.dek", std::ios::binary) << std::string(32, '\x2a');
  }
  void TearDown() override {
    if (pid_ > 0) {
      StopAndWait(pid_);
    }
    CliTest::TearDown();
  }

  void WritePolicy(const std::string& name, const std::string& root, int max_age_s) {
    const Json policy = {{"version", 1},
                         {"evidence",
                          {{"version", 1},
                           {"platforms", {{"aws-nitro", {{"roots", {root}}}}}},
                           {"max_evidence_age_s", max_age_s}}}};
    std::ofstream(dir_ / name) << policy.dump(2);
  }

  void StartServer() {
    const fs::path ready = dir_ / "ready.json";
    fs::remove(ready);
    pid_ = Background({"keybroker", "serve", "--listen", "127.0.0.1:0", "--data", data_.string(),
                       "--ready-file", ready.string(), "--threads", "2"},
                      dir_ / "server.log");
    const Json info = WaitForJson(ready, pid_);
    ASSERT_TRUE(info.contains("url"));
    EXPECT_EQ(info["pid"].get<int64_t>(), pid_);
    EXPECT_EQ(info["token_file"], (data_ / "admin.token").string());
    url_ = info["url"].get<std::string>();
  }

  RunResult Admin(std::vector<std::string> args) {
    args.insert(args.end(), {"--broker", url_, "--token-file", (data_ / "admin.token").string()});
    return Run(args);
  }

  fs::path data_;
  pid_t pid_ = -1;
  std::string url_;
};

TEST_F(KeysCommandTest, RegisterListPolicyRevokeAuditAndRestart) {
  StartServer();
  EXPECT_EQ(ModeOf(data_), 0700u);
  EXPECT_EQ(ModeOf(data_ / "master.key"), 0600u);
  EXPECT_EQ(ModeOf(data_ / "admin.token"), 0600u);
  EXPECT_TRUE(fs::exists(data_ / "broker.db"));

  const RunResult reg =
      Admin({"keys", "register", "--model", "minilm", "--version", "1", "--dek-file",
             (dir_ / "model.dek").string(), "--policy", (dir_ / "policy.json").string()});
  ASSERT_EQ(reg.exit_code, 0) << reg.err;
  EXPECT_THAT(reg.out, HasSubstr("registered minilm 1 kb-"));

  const RunResult again =
      Admin({"keys", "register", "--model", "minilm", "--version", "1", "--dek-file",
             (dir_ / "model.dek").string(), "--policy", (dir_ / "policy.json").string()});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_THAT(again.err, HasSubstr("refused: BROKER_KEY_EXISTS"));

  const RunResult list = Admin({"keys", "list"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_THAT(list.out, HasSubstr("minilm 1 kb-"));
  EXPECT_THAT(list.out, HasSubstr(" active "));
  const RunResult list_json = Admin({"keys", "list", "--format", "json"});
  ASSERT_EQ(list_json.exit_code, 0);
  const Json keys = Json::parse(list_json.out);
  ASSERT_EQ(keys["keys"].size(), 1u);
  const std::string key_id = keys["keys"][0]["key_id"].get<std::string>();
  // The root file was sent inline as PEM text; the key bytes never appear.
  const std::string root =
      keys["keys"][0]["policy"]["evidence"]["platforms"]["aws-nitro"]["roots"][0];
  EXPECT_THAT(root, ::testing::StartsWith("-----BEGIN CERTIFICATE-----"));
  EXPECT_THAT(list_json.out, ::testing::Not(HasSubstr("data_key")));

  // A DER root is armoured as PEM.
  WritePolicy("policy-der.json", "root.der", 300);
  const RunResult policy = Admin({"keys", "policy", "--model", "minilm", "--version", "1",
                                  "--policy", (dir_ / "policy-der.json").string()});
  EXPECT_EQ(policy.exit_code, 0) << policy.err;
  const RunResult unknown = Admin({"keys", "policy", "--model", "other", "--version", "1",
                                   "--policy", (dir_ / "policy.json").string()});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_THAT(unknown.err, HasSubstr("BROKER_UNKNOWN_KEY"));

  const RunResult revoke = Admin({"keys", "revoke", "--model", "minilm", "--version", "1"});
  EXPECT_EQ(revoke.exit_code, 0) << revoke.err;
  EXPECT_THAT(Admin({"keys", "list"}).out, HasSubstr(" revoked "));

  const RunResult audit = Admin({"keys", "audit", "--model", "minilm", "--version", "1"});
  ASSERT_EQ(audit.exit_code, 0) << audit.err;
  EXPECT_THAT(audit.out, HasSubstr("register minilm 1 allowed"));
  EXPECT_THAT(audit.out, HasSubstr("revoke minilm 1 allowed"));
  const RunResult audit_json = Admin({"keys", "audit", "--format", "json", "--limit", "2"});
  ASSERT_EQ(audit_json.exit_code, 0);
  EXPECT_EQ(Json::parse(audit_json.out)["rows"].size(), 2u);

  // The server's log names requests, never the token.
  EXPECT_EQ(StopAndWait(pid_), 0);
  pid_ = -1;
  const std::string log = testing::ReadFileText(dir_ / "server.log");
  EXPECT_THAT(log, HasSubstr("POST /v1/admin/keys 201"));
  EXPECT_THAT(log, HasSubstr("POST /v1/admin/keys 409 BROKER_KEY_EXISTS"));
  EXPECT_THAT(log, HasSubstr("signal 15, stopping"));
  const std::string token = testing::ReadFileText(data_ / "admin.token");
  EXPECT_THAT(log, ::testing::Not(HasSubstr(token.substr(0, token.size() - 1))));

  // Restart on the same folder: same key, same state, same token.
  StartServer();
  const RunResult after = Admin({"keys", "list", "--format", "json"});
  ASSERT_EQ(after.exit_code, 0) << after.err;
  const Json kept = Json::parse(after.out);
  ASSERT_EQ(kept["keys"].size(), 1u);
  EXPECT_EQ(kept["keys"][0]["key_id"], key_id);
  EXPECT_EQ(kept["keys"][0]["state"], "revoked");
}

TEST_F(KeysCommandTest, TokenProblemsAreRefusedOrUsageErrors) {
  StartServer();
  ::setenv("EPHEMERALML_BROKER_TOKEN", "wrong-token-but-long-enough", 1);
  const RunResult wrong = Run({"keys", "list", "--broker", url_});
  ::unsetenv("EPHEMERALML_BROKER_TOKEN");
  EXPECT_EQ(wrong.exit_code, 1);
  EXPECT_THAT(wrong.err, HasSubstr("refused: BROKER_HTTP_UNAUTHORIZED"));

  const RunResult none = Run({"keys", "list", "--broker", url_});
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_THAT(none.err, HasSubstr("BROKER_HTTP_BAD_TOKEN"));

  ::chmod((data_ / "admin.token").c_str(), 0644);
  const RunResult open_mode = Admin({"keys", "list"});
  ::chmod((data_ / "admin.token").c_str(), 0600);
  EXPECT_EQ(open_mode.exit_code, 2);
  EXPECT_THAT(open_mode.err, HasSubstr("BROKER_HTTP_BAD_TOKEN"));

  EXPECT_EQ(Admin({"keys", "list"}).exit_code, 0);
}

TEST_F(KeysCommandTest, BadInputsAreUsageErrors) {
  StartServer();
  std::ofstream(dir_ / "short.dek", std::ios::binary) << std::string(31, 'x');
  EXPECT_EQ(Admin({"keys", "register", "--model", "m", "--version", "1", "--dek-file",
                   (dir_ / "short.dek").string(), "--policy", (dir_ / "policy.json").string()})
                .exit_code,
            2);
  std::ofstream(dir_ / "bad.json") << R"({"version":1,"version":2})";
  EXPECT_EQ(Admin({"keys", "register", "--model", "m", "--version", "1", "--dek-file",
                   (dir_ / "model.dek").string(), "--policy", (dir_ / "bad.json").string()})
                .exit_code,
            2);
  WritePolicy("missing-root.json", "absent.pem", 600);
  EXPECT_EQ(
      Admin({"keys", "register", "--model", "m", "--version", "1", "--dek-file",
             (dir_ / "model.dek").string(), "--policy", (dir_ / "missing-root.json").string()})
          .exit_code,
      2);
  EXPECT_EQ(Admin({"keys", "list", "--format", "yaml"}).exit_code, 2);
  EXPECT_EQ(Admin({"keys", "audit", "--model", "m"}).exit_code, 2);
  EXPECT_EQ(Run({"keys", "list"}).exit_code, 2);  // --broker required
  // A policy the broker refuses: exit 1 with its code.
  std::ofstream(dir_ / "unusable.json") << R"({"version":7})";
  const RunResult refused =
      Admin({"keys", "register", "--model", "m", "--version", "1", "--dek-file",
             (dir_ / "model.dek").string(), "--policy", (dir_ / "unusable.json").string()});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_THAT(refused.err, HasSubstr("BROKER_BAD_POLICY"));
  // Nothing listening: exit 2.
  EXPECT_EQ(Run({"keys", "list", "--broker", "http://127.0.0.1:1", "--token-file",
                 (data_ / "admin.token").string()})
                .exit_code,
            2);
}

TEST_F(KeysCommandTest, ServeRefusesBadFlags) {
  EXPECT_EQ(Run({"keybroker", "serve", "--listen", "nowhere", "--data", data_.string()}).exit_code,
            2);
  EXPECT_EQ(Run({"keybroker", "serve", "--listen", "127.0.0.1:0"}).exit_code, 2);
  std::ofstream(dir_ / "open.token") << "a-token-that-is-long-enough\n";
  ::chmod((dir_ / "open.token").c_str(), 0644);
  const RunResult r = Run({"keybroker", "serve", "--listen", "127.0.0.1:0", "--data",
                           data_.string(), "--admin-token-file", (dir_ / "open.token").string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("BROKER_HTTP_BAD_TOKEN"));
}

TEST_F(KeysCommandTest, GenSigningKeyStillWorks) {
  const RunResult r = Run({"keys", "gen-signing-key", (dir_ / "signing.key").string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.size(), 65u);  // 64 hex digits and a newline
}

}  // namespace
}  // namespace eml::apps
