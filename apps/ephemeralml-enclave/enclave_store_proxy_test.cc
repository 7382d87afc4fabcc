// End-to-end encrypted boot through the host: `ephemeralml host --store file://... --store-listen`
// serves a published package (a tiny random BERT, weights encrypted) and the ephemeralml-enclave
// binary boots it with --store http://<store_address>. A tampered file behind the proxy and a
// host that is gone give the boot's exit codes. The same host also serves a boot configuration
// (--boot-config / --boot-listen) to the enclave's --boot-from, over TCP and a Unix socket.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/encoding.h"
#include "crypto/ed25519.h"
#include "engine/testing/tiny_bert.h"
#include "model/package.h"
#include "model/store.h"
#include "testing/test_util.h"

namespace {

namespace fs = std::filesystem;
using ::eml::testing::IsOk;

void WriteBytes(const fs::path& path, std::span<const uint8_t> bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(std::string(bytes.begin(), bytes.end()).data(),
            static_cast<std::streamsize>(bytes.size()));
}

// Runs `args` with stderr in `stderr_path`; returns the pid.
pid_t Spawn(const std::vector<std::string>& args, const fs::path& stderr_path) {
  const pid_t pid = fork();
  if (pid == 0) {
    const int fd = ::open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd >= 0) {
      ::dup2(fd, STDERR_FILENO);
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

int WaitExit(pid_t pid) {
  int status = 0;
  EXPECT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status));
  return WEXITSTATUS(status);
}

// WaitForFile polls for a file written whole (by rename) while `pid` runs; a generous deadline
// is only a safety net.
bool WaitForFile(const fs::path& path, pid_t pid) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(300);
  while (!fs::exists(path) && std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) != 0) {
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return fs::exists(path);
}

class EnclaveStoreProxyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/eml-enclave-store-proxy-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    const eml::engine::testing::TinyBert bert = eml::engine::testing::TinyBert::MakeRandom({}, 9);
    const fs::path model = dir_ / "model";
    WriteBytes(model / "config.json", eml::AsBytes(bert.ConfigJson()));
    WriteBytes(model / "tokenizer.json", eml::AsBytes(eml::engine::testing::TinyTokenizerJson(48)));
    WriteBytes(model / "model.safetensors", bert.Safetensors());
    auto owner = eml::crypto::Ed25519PrivateKey::Generate();
    ASSERT_THAT(owner, IsOk());
    owner_hex_ = eml::HexEncode(owner->public_key().bytes());
    const std::vector<uint8_t> dek(32, 0x6b);
    WriteBytes(dir_ / "pkg.dek", dek);
    eml::model::PackOptions options;
    options.model_id = "tiny";
    options.version = "1";
    options.segment_size = 1024;
    ASSERT_THAT(eml::model::PackModel(model, dir_ / "pkg", eml::SecretBytes::CopyFrom(dek), *owner,
                                      options),
                IsOk());
    fs::create_directories(dir_ / "store");
    auto store = eml::model::OpenModelStore("file://" + (dir_ / "store").string());
    ASSERT_THAT(store, IsOk());
    ASSERT_THAT((*store)->Publish(dir_ / "pkg"), IsOk());

    // The host: its relay points at an enclave socket nobody connects through in this test.
    const fs::path ready = dir_ / "host-ready.json";
    host_pid_ = Spawn({EML_EPHEMERALML_PATH, "host", "--listen", "127.0.0.1:0", "--enclave",
                       "unix:" + (dir_ / "unused.sock").string(), "--store",
                       "file://" + (dir_ / "store").string(), "--store-listen", "127.0.0.1:0",
                       "--record", (dir_ / "record").string(), "--ready-file", ready.string()},
                      dir_ / "host-stderr.txt");
    ASSERT_GT(host_pid_, 0);
    ASSERT_TRUE(WaitForFile(ready, host_pid_))
        << eml::testing::ReadFileText(dir_ / "host-stderr.txt");
    store_address_ = eml::testing::ReadJson(ready).at("store_address").get<std::string>();
  }
  void TearDown() override {
    StopHost();
    for (const pid_t pid : boot_hosts_) {
      kill(pid, SIGTERM);
      EXPECT_EQ(WaitExit(pid), 0);
    }
    fs::remove_all(dir_);
  }
  // StartBootHost runs a second host that serves `config` on `listen`; returns its boot_address.
  std::string StartBootHost(const std::string& config, const std::string& listen) {
    const std::string name = "boot-" + std::to_string(boot_hosts_.size());
    WriteBytes(dir_ / (name + ".json"), eml::AsBytes(config));
    const fs::path ready = dir_ / (name + "-ready.json");
    const pid_t pid = Spawn({EML_EPHEMERALML_PATH, "host", "--listen", "127.0.0.1:0", "--enclave",
                             "unix:" + (dir_ / "unused.sock").string(), "--boot-config",
                             (dir_ / (name + ".json")).string(), "--boot-listen", listen,
                             "--ready-file", ready.string()},
                            dir_ / (name + "-stderr.txt"));
    EXPECT_GT(pid, 0);
    boot_hosts_.push_back(pid);
    EXPECT_TRUE(WaitForFile(ready, pid))
        << eml::testing::ReadFileText(dir_ / (name + "-stderr.txt"));
    return eml::testing::ReadJson(ready).at("boot_address").get<std::string>();
  }
  // A configuration for this store with a broker nobody listens on.
  std::string BootConfig(const std::string& model_id, const std::string& store) const {
    return nlohmann::json{
        {"v", 1},         {"model_id", model_id},   {"model_version", "1"},
        {"store", store}, {"key_source", "broker"}, {"broker", "http://127.0.0.1:1"}}
        .dump();
  }
  // BootFromExit runs the enclave with --boot-from and returns its exit code.
  int BootFromExit(const std::string& boot_address) {
    const pid_t pid = Spawn({EML_ENCLAVE_PATH, "--listen", "unix:" + (dir_ / "e.sock").string(),
                             "--state-dir", (dir_ / "state").string(), "--threads", "1",
                             "--owner-key", owner_hex_, "--boot-from", boot_address},
                            dir_ / "enclave-stderr.txt");
    EXPECT_GT(pid, 0);
    return WaitExit(pid);
  }
  void StopHost() {
    if (host_pid_ > 0) {
      kill(host_pid_, SIGTERM);
      EXPECT_EQ(WaitExit(host_pid_), 0);
      host_pid_ = -1;
    }
  }

  std::vector<std::string> EnclaveArgs() const {
    return {EML_ENCLAVE_PATH,
            "--listen",
            "unix:" + (dir_ / "e.sock").string(),
            "--state-dir",
            (dir_ / "state").string(),
            "--threads",
            "1",
            "--store",
            "http://" + store_address_,
            "--model-id",
            "tiny",
            "--model-version",
            "1",
            "--owner-key",
            owner_hex_,
            "--data-key-file",
            (dir_ / "pkg.dek").string()};
  }
  // BootExit runs the enclave binary and returns its exit code (a failed boot exits at once).
  int BootExit() {
    const pid_t pid = Spawn(EnclaveArgs(), dir_ / "enclave-stderr.txt");
    EXPECT_GT(pid, 0);
    return WaitExit(pid);
  }

  fs::path dir_;
  std::string owner_hex_;
  pid_t host_pid_ = -1;
  std::vector<pid_t> boot_hosts_;
  std::string store_address_;
};

TEST_F(EnclaveStoreProxyTest, BootsThroughTheHostsStorageProxy) {
  EXPECT_THAT(store_address_, ::testing::StartsWith("127.0.0.1:"));
  const fs::path ready = dir_ / "enclave-ready.json";
  std::vector<std::string> args = EnclaveArgs();
  args.insert(args.end(), {"--ready-file", ready.string()});
  const pid_t pid = Spawn(args, dir_ / "enclave-stderr.txt");
  ASSERT_GT(pid, 0);
  ASSERT_TRUE(WaitForFile(ready, pid)) << eml::testing::ReadFileText(dir_ / "enclave-stderr.txt");
  const nlohmann::json json = eml::testing::ReadJson(ready);
  EXPECT_EQ(json.at("model_id"), "tiny");
  EXPECT_GT(json.at("cold_start_us").at("fetch_us").get<uint64_t>(), 0u);
  ASSERT_EQ(kill(pid, SIGTERM), 0);
  EXPECT_EQ(WaitExit(pid), 0);
  // The host recorded what it served: store-<id>-req.bin / -resp.bin files.
  bool recorded = false;
  for (const auto& entry : fs::directory_iterator(dir_ / "record")) {
    recorded = recorded || entry.path().filename().string().starts_with("store-");
  }
  EXPECT_TRUE(recorded);
}

TEST_F(EnclaveStoreProxyTest, TamperedFileBehindTheProxyExitsTwelve) {
  const fs::path enc = dir_ / "store" / "tiny" / "1" / "model.safetensors.enc";
  fs::permissions(enc, fs::perms::owner_write, fs::perm_options::add);
  std::vector<uint8_t> bytes = eml::testing::ReadFileBytes(enc);
  bytes[bytes.size() / 2] ^= 0x01;
  WriteBytes(enc, bytes);
  EXPECT_EQ(BootExit(), 12) << eml::testing::ReadFileText(dir_ / "enclave-stderr.txt");
}

TEST_F(EnclaveStoreProxyTest, HostGoneExitsFourteen) {
  StopHost();
  EXPECT_EQ(BootExit(), 14) << eml::testing::ReadFileText(dir_ / "enclave-stderr.txt");
}

TEST_F(EnclaveStoreProxyTest, BootsFromTheHostsConfigurationUpToTheKeyRelease) {
  // The configuration names this package and a broker nobody listens on: the enclave reads the
  // configuration, verifies the manifest through the storage proxy and stops at the key (22).
  for (const std::string& listen :
       {std::string("tcp:127.0.0.1:0"), "unix:" + (dir_ / "boot.sock").string()}) {
    const std::string address =
        StartBootHost(BootConfig("tiny", "http://" + store_address_), listen);
    EXPECT_EQ(BootFromExit(address), 22) << eml::testing::ReadFileText(dir_ / "enclave-stderr.txt");
    const std::string log = eml::testing::ReadFileText(dir_ / "enclave-stderr.txt");
    EXPECT_THAT(log, ::testing::HasSubstr("boot configuration from " + address + ": tiny/1"));
  }
}

TEST_F(EnclaveStoreProxyTest, HostileConfigurationNamingAnotherModelIsRefusedByTheManifest) {
  // The host serves the owner's "tiny" package under the name "other": the signed manifest says
  // "tiny", so the boot stops before any key is asked for.
  fs::copy(dir_ / "store" / "tiny", dir_ / "store" / "other", fs::copy_options::recursive);
  const std::string address =
      StartBootHost(BootConfig("other", "http://" + store_address_), "tcp:127.0.0.1:0");
  EXPECT_EQ(BootFromExit(address), 16) << eml::testing::ReadFileText(dir_ / "enclave-stderr.txt");
  EXPECT_THAT(eml::testing::ReadFileText(dir_ / "enclave-stderr.txt"),
              ::testing::HasSubstr("BOOT_MODEL_MISMATCH"));
}

TEST_F(EnclaveStoreProxyTest, MalformedConfigurationExitsThirtyOne) {
  // Well-formed for the parser, refused by the store it names: still the host's fault.
  const std::string address =
      StartBootHost(BootConfig("tiny", "http://127.0.0.1:1/../x"), "tcp:127.0.0.1:0");
  EXPECT_EQ(BootFromExit(address), 31) << eml::testing::ReadFileText(dir_ / "enclave-stderr.txt");
  EXPECT_THAT(eml::testing::ReadFileText(dir_ / "enclave-stderr.txt"),
              ::testing::HasSubstr("BOOT_CONFIG_MALFORMED"));
}

TEST_F(EnclaveStoreProxyTest, HostRefusesAMalformedConfigurationAtStart) {
  WriteBytes(dir_ / "bad.json", eml::AsBytes(R"({"v":1,"model_id":"tiny"})"));
  const pid_t pid = Spawn({EML_EPHEMERALML_PATH, "host", "--listen", "127.0.0.1:0", "--enclave",
                           "unix:" + (dir_ / "unused.sock").string(), "--boot-config",
                           (dir_ / "bad.json").string(), "--boot-listen", "tcp:127.0.0.1:0"},
                          dir_ / "bad-stderr.txt");
  ASSERT_GT(pid, 0);
  EXPECT_EQ(WaitExit(pid), 2);
  EXPECT_THAT(eml::testing::ReadFileText(dir_ / "bad-stderr.txt"),
              ::testing::HasSubstr("missing field"));
}

TEST_F(EnclaveStoreProxyTest, UnreachableConfigurationExitsThirty) {
  EXPECT_EQ(BootFromExit("unix:" + (dir_ / "nobody.sock").string()), 30)
      << eml::testing::ReadFileText(dir_ / "enclave-stderr.txt");
}

TEST_F(EnclaveStoreProxyTest, BootFromExcludesTheBootFlags) {
  std::vector<std::string> args = EnclaveArgs();
  args.insert(args.end(), {"--boot-from", "tcp:127.0.0.1:1"});
  const pid_t pid = Spawn(args, dir_ / "enclave-stderr.txt");
  ASSERT_GT(pid, 0);
  EXPECT_EQ(WaitExit(pid), 2);
}

}  // namespace
