// End-to-end: runs the ephemeralml-enclave binary on the real model (scripts/fetch-model),
// checks the ready file against the contract and the measurements against their definitions,
// then stops it with SIGTERM and expects exit 0 with the socket file gone.
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "common/encoding.h"
#include "crypto/hash.h"
#include "crypto/x509.h"
#include "model/model_directory.h"
#include "testing/test_util.h"

namespace {

namespace fs = std::filesystem;
using ::eml::testing::IsOk;

fs::path MakeTempDir() {
  std::string pattern = (fs::temp_directory_path() / "eml-enclave-bin-XXXXXX").string();
  EXPECT_NE(mkdtemp(pattern.data()), nullptr);
  return pattern;
}

// Spawn starts `args`; with `stderr_file` set, the child's stderr goes to that file.
pid_t Spawn(const std::vector<std::string>& args, const fs::path& stderr_file = {}) {
  const pid_t pid = fork();
  if (pid == 0) {
    if (!stderr_file.empty()) {
      const int fd = ::open(stderr_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (fd < 0 || ::dup2(fd, STDERR_FILENO) < 0) {
        _exit(126);
      }
    }
    std::vector<char*> argv;
    for (const std::string& arg : args) {
      argv.push_back(const_cast<char*>(arg.c_str()));  // NOLINT: execv's signature
    }
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

TEST(EnclaveBinaryTest, ReadyFileMeasurementsAndCleanStop) {
  const fs::path dir = MakeTempDir();
  const fs::path socket = dir / "enclave.sock";
  const fs::path ready = dir / "ready.json";
  const std::string binary = EML_ENCLAVE_PATH;
  const pid_t pid = Spawn({binary, "--listen", "unix:" + socket.string(), "--model",
                           eml::model::DefaultModelDirectoryPath().string(), "--state-dir",
                           (dir / "state").string(), "--threads", "2", "--max-sessions", "4",
                           "--ready-file", ready.string()});
  ASSERT_GT(pid, 0);
  // The model loads in a few seconds; poll for the ready file (written by rename: whole or
  // absent).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(300);
  while (!fs::exists(ready) && std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, WNOHANG), 0) << "the enclave exited early";
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(fs::exists(ready));
  const nlohmann::json json = eml::testing::ReadJson(ready);
  EXPECT_EQ(json.size(), 6u);
  EXPECT_EQ(json.at("address"), "unix:" + socket.string());
  EXPECT_EQ(json.at("platform"), "sim");
  EXPECT_EQ(json.at("sim_root"), (dir / "state" / "attest-sim" / "root.pem").string());
  EXPECT_EQ(json.at("model_id"), "all-MiniLM-L6-v2");
  EXPECT_EQ(json.at("pid"), pid);
  EXPECT_TRUE(fs::exists(socket));

  // PCR0 = SHA-384 of the binary; PCR2 = SHA-384 of the sim root certificate (DER).
  const std::vector<uint8_t> binary_bytes = eml::testing::ReadFileBytes(binary);
  EXPECT_EQ(json.at("pcrs").at("0"), eml::HexEncode(eml::crypto::Sha384(binary_bytes)));
  auto root = eml::crypto::Certificate::FromPem(
      eml::testing::ReadFileText(json.at("sim_root").get<std::string>()));
  ASSERT_THAT(root, IsOk());
  EXPECT_EQ(json.at("pcrs").at("2"), eml::HexEncode(eml::crypto::Sha384(root->der())));
  EXPECT_EQ(json.at("pcrs").at("1").get<std::string>().size(), 96u);

  ASSERT_EQ(kill(pid, SIGTERM), 0);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_FALSE(fs::exists(socket));
  fs::remove_all(dir);  // holds the sim root key
}

TEST(EnclaveBinaryTest, BadFlagsExitTwo) {
  const fs::path dir = MakeTempDir();
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{EML_ENCLAVE_PATH, "--listen", "vsock:3", "--model",
                                 eml::model::DefaultModelDirectoryPath().string(), "--state-dir",
                                 dir.string()},
        std::vector<std::string>{EML_ENCLAVE_PATH, "--listen", "tcp:127.0.0.1:0"}}) {
    const pid_t pid = Spawn(args);
    ASSERT_GT(pid, 0);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 2);
  }
  fs::remove_all(dir);
}

int RunToExit(const std::vector<std::string>& args, const fs::path& stderr_file) {
  const pid_t pid = Spawn(args, stderr_file);
  EXPECT_GT(pid, 0);
  int status = 0;
  EXPECT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status));
  return WEXITSTATUS(status);
}

// Hardware platforms: what only sim may do is refused as a usage error, and a platform whose
// attestation interface is absent fails at the measure step, before any model byte is fetched.
TEST(EnclaveBinaryTest, HardwarePlatformsRefuseSimOnlyModesAndMissingDevices) {
  const fs::path dir = MakeTempDir();
  const fs::path err = dir / "stderr.txt";
  const std::string model = eml::model::DefaultModelDirectoryPath().string();
  const std::string owner(64, 'a');
  const std::vector<std::string> base = {EML_ENCLAVE_PATH, "--listen", "tcp:127.0.0.1:0",
                                         "--state-dir", dir.string()};
  auto with = [&base](std::vector<std::string> extra) {
    std::vector<std::string> args = base;
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  };
  struct Case {
    std::vector<std::string> args;
    std::string reason;
  };
  const std::vector<Case> usage = {
      {with({"--platform", "tpm", "--model", model}), "--platform"},
      {with({"--platform", "tdx", "--model", model}), "--platform sim only"},
      {with({"--platform", "sev-snp", "--print-measurements", "--owner-key", owner}),
       "--print-measurements is for --platform sim"},
      {with({"--platform", "aws-nitro", "--store", "file://" + dir.string(), "--model-id", "m",
             "--model-version", "1", "--owner-key", owner, "--data-key-file",
             (dir / "k").string()}),
       "--data-key-file is for --platform sim"},
  };
  for (const Case& c : usage) {
    EXPECT_EQ(RunToExit(c.args, err), 2) << c.reason;
    EXPECT_THAT(eml::testing::ReadFileText(err), ::testing::HasSubstr(c.reason));
  }
  const std::vector<std::string> no_tsm =
      with({"--platform", "tdx", "--tsm-root", (dir / "no-configfs").string(), "--store",
            "file://" + dir.string(), "--model-id", "m", "--model-version", "1", "--owner-key",
            owner, "--broker", "http://127.0.0.1:1"});
  EXPECT_EQ(RunToExit(no_tsm, err), 1);
  const std::string text = eml::testing::ReadFileText(err);
  EXPECT_THAT(text, ::testing::HasSubstr("measure"));
  EXPECT_THAT(text, ::testing::HasSubstr("TSM"));
  fs::remove_all(dir);
}

}  // namespace
