// End-to-end encrypted boot on the real model (scripts/fetch-model): packs all-MiniLM-L6-v2 into a
// signed, encrypted package in a file store, boots it in process (embeddings equal the plaintext
// directory's) and with the ephemeralml-enclave binary (ready file with the cold-start breakdown,
// PCR1 over the owner key), with the data key from a file or released by a real key broker
// (in process, over HTTP) to the enclave's sim attestation, then checks the exit codes of
// failed boots.
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
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
#include <system_error>
#include <thread>
#include <vector>

#include "common/encoding.h"
#include "crypto/ed25519.h"
#include "crypto/hash.h"
#include "crypto/random.h"
#include "enclave/boot.h"
#include "enclave/model_boot.h"
#include "engine/embedder.h"
#include "keys/http/server.h"
#include "keys/key_broker.h"
#include "model/manifest.h"
#include "model/model_directory.h"
#include "model/package.h"
#include "model/store.h"
#include "testing/test_util.h"

namespace {

namespace fs = std::filesystem;
using ::eml::testing::HasError;
using ::eml::testing::IsOk;

// Files of the cached model the package holds (the ONNX exports are left out to keep it small).
constexpr const char* kModelFiles[] = {"config.json",           "tokenizer.json",
                                       "model.safetensors",     "modules.json",
                                       "1_Pooling/config.json", "sentence_bert_config.json"};

// Runs `args` with stderr in `stderr_path` (and stdout in `stdout_path` when given); returns
// the pid.
pid_t Spawn(const std::vector<std::string>& args, const fs::path& stderr_path,
            const fs::path& stdout_path = {}) {
  const pid_t pid = fork();
  if (pid == 0) {
    const int fd = ::open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd >= 0) {
      ::dup2(fd, STDERR_FILENO);
    }
    if (!stdout_path.empty()) {
      const int out = ::open(stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (out >= 0) {
        ::dup2(out, STDOUT_FILENO);
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

int WaitExit(pid_t pid) {
  int status = 0;
  EXPECT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status));
  return WEXITSTATUS(status);
}

class PackageBootTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/eml-enclave-pkg-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = new fs::path(tmpl);
    const fs::path source = eml::model::DefaultModelDirectoryPath();
    const fs::path model = *dir_ / "model";
    for (const char* name : kModelFiles) {
      fs::create_directories((model / name).parent_path());
      // A hard link where the file systems allow it, else a copy. (PackModel names a symlinked
      // file after its target's path, so symlinks cannot be used here.)
      std::error_code ec;
      fs::create_hard_link(source / name, model / name, ec);
      if (ec) {
        fs::copy_file(source / name, model / name);
      }
    }
    eml::Result<eml::crypto::Ed25519PrivateKey> owner = eml::crypto::Ed25519PrivateKey::Generate();
    ASSERT_THAT(owner, IsOk());
    owner_ = new eml::crypto::Ed25519PrivateKey(*std::move(owner));
    eml::Result<eml::SecretBytes> dek = eml::crypto::RandomSecret(32);
    ASSERT_THAT(dek, IsOk());
    dek_ = new eml::SecretBytes(
        eml::SecretBytes::CopyFrom(dek->Reveal(eml::InsecureSecretAccess::Get())));
    {
      std::ofstream out(*dir_ / "pkg.dek", std::ios::binary);
      const std::span<const uint8_t> bytes = dek->Reveal(eml::InsecureSecretAccess::Get());
      out.write(std::string(bytes.begin(), bytes.end()).data(),
                static_cast<std::streamsize>(bytes.size()));
    }
    eml::model::PackOptions options;
    options.model_id = "all-MiniLM-L6-v2";
    options.version = "1";
    eml::Result<eml::model::Manifest> manifest =
        eml::model::PackModel(model, *dir_ / "pkg", *dek, *owner_, options);
    ASSERT_THAT(manifest, IsOk());
    model_hash_ = new eml::air::Sha256Digest(manifest->model_hash);
    fs::create_directories(*dir_ / "store");
    auto store = eml::model::OpenModelStore(StoreUrl());
    ASSERT_THAT(store, IsOk());
    ASSERT_THAT((*store)->Publish(*dir_ / "pkg"), IsOk());
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
    delete owner_;
    delete model_hash_;
    delete dek_;
  }

  static std::string StoreUrl() { return "file://" + (*dir_ / "store").string(); }
  static std::string OwnerHex() { return eml::HexEncode(owner_->public_key().bytes()); }

  std::vector<std::string> Args(const std::string& store, const std::string& owner_hex,
                                const fs::path& dek_file) const {
    return {EML_ENCLAVE_PATH,
            "--listen",
            "unix:" + (*dir_ / "e.sock").string(),
            "--state-dir",
            (*dir_ / "state").string(),
            "--threads",
            "2",
            "--max-sessions",
            "4",
            "--store",
            store,
            "--model-id",
            "all-MiniLM-L6-v2",
            "--model-version",
            "1",
            "--owner-key",
            owner_hex,
            "--data-key-file",
            dek_file.string()};
  }
  // BrokerArgs: Args with --broker URL instead of --data-key-file.
  std::vector<std::string> BrokerArgs(const std::string& broker_url) const {
    std::vector<std::string> args = Args(StoreUrl(), OwnerHex(), {});
    args.resize(args.size() - 2);
    args.insert(args.end(), {"--broker", broker_url});
    return args;
  }

  // ExpectBootFailure runs the binary and expects exit `code` with one "boot failed:" line.
  void ExpectBootFailure(const std::vector<std::string>& args, int code) const {
    const fs::path err = *dir_ / "stderr.txt";
    const pid_t pid = Spawn(args, err);
    ASSERT_GT(pid, 0);
    EXPECT_EQ(WaitExit(pid), code);
    const std::string text = eml::testing::ReadFileText(err);
    EXPECT_THAT(text, ::testing::HasSubstr("boot failed: BOOT_")) << text;
  }

  // WaitReady polls for the ready file of `pid` (written whole, by rename); decrypting and
  // loading takes seconds.
  static void WaitReady(pid_t pid, const fs::path& ready, const fs::path& stderr_path) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(300);
    while (!fs::exists(ready) && std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      ASSERT_EQ(waitpid(pid, &status, WNOHANG), 0)
          << "the enclave exited early: " << eml::testing::ReadFileText(stderr_path);
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_TRUE(fs::exists(ready));
  }

  static fs::path* dir_;
  static eml::crypto::Ed25519PrivateKey* owner_;
  static eml::air::Sha256Digest* model_hash_;
  static eml::SecretBytes* dek_;
};

fs::path* PackageBootTest::dir_ = nullptr;
eml::crypto::Ed25519PrivateKey* PackageBootTest::owner_ = nullptr;
eml::air::Sha256Digest* PackageBootTest::model_hash_ = nullptr;
eml::SecretBytes* PackageBootTest::dek_ = nullptr;

TEST_F(PackageBootTest, BootedModelEmbedsLikeThePlaintextDirectory) {
  auto store = eml::enclave::OpenBootStore(StoreUrl());
  ASSERT_THAT(store, IsOk());
  auto keys = eml::enclave::StaticDataKeySource::FromFile(*dir_ / "pkg.dek");
  ASSERT_THAT(keys, IsOk());
  const eml::enclave::BootRequest request{.model_id = "all-MiniLM-L6-v2",
                                          .version = "1",
                                          .owner_key = owner_->public_key(),
                                          .store = **store};
  eml::enclave::BootOptions options;
  options.engine.num_threads = 2;
  auto booted = eml::enclave::BootModel(request, *keys, nullptr, options);
  ASSERT_THAT(booted, IsOk());
  EXPECT_EQ(booted->model_hash, *model_hash_);
  EXPECT_EQ(booted->files_decrypted, 1u);
  auto plain = eml::engine::Embedder::LoadFromDirectory(eml::model::DefaultModelDirectoryPath(),
                                                        options.engine);
  ASSERT_THAT(plain, IsOk());
  const std::vector<std::string> texts = {"Encrypted boot, verified embeddings.",
                                          "A second sentence about the weather.", ""};
  auto got = booted->embedder->Embed(texts);
  auto want = (*plain)->Embed(texts);
  ASSERT_THAT(got, IsOk());
  ASSERT_THAT(want, IsOk());
  EXPECT_EQ(got->dim, 384u);
  EXPECT_EQ(got->embeddings, want->embeddings);
}

TEST_F(PackageBootTest, BinaryBootsThePackageAndReportsColdStart) {
  const fs::path ready = *dir_ / "ready.json";
  std::vector<std::string> args = Args(StoreUrl(), OwnerHex(), *dir_ / "pkg.dek");
  args.insert(args.end(), {"--ready-file", ready.string()});
  const pid_t pid = Spawn(args, *dir_ / "boot-stderr.txt");
  ASSERT_GT(pid, 0);
  WaitReady(pid, ready, *dir_ / "boot-stderr.txt");
  const nlohmann::json json = eml::testing::ReadJson(ready);
  EXPECT_EQ(json.at("model_id"), "all-MiniLM-L6-v2");
  const nlohmann::json& cold = json.at("cold_start_us");
  for (const char* step : {"manifest_us", "key_us", "fetch_us", "decrypt_us", "hash_us", "load_us",
                           "total_us", "first_inference_us"}) {
    EXPECT_TRUE(cold.contains(step)) << step;
    if (cold.contains(step)) {
      RecordProperty(std::string("cold_start_") + step,
                     std::to_string(cold.at(step).get<uint64_t>()));
    }
  }
  EXPECT_GT(cold.at("total_us").get<uint64_t>(), 0u);

  // PCR1 covers the owner key, not the model (measured before the boot).
  eml::enclave::MeasuredConfig measured;
  measured.platform = "sim";
  measured.precision = "fp32";
  measured.max_sessions = 4;
  measured.owner_key = eml::model::SignerKeyId(owner_->public_key());
  EXPECT_EQ(json.at("pcrs").at("1"), eml::HexEncode(eml::crypto::Sha384(eml::AsBytes(
                                         eml::enclave::MeasuredConfigJson(measured)))));
  EXPECT_THAT(eml::testing::ReadFileText(*dir_ / "boot-stderr.txt"),
              ::testing::HasSubstr("cold start: manifest "));

  ASSERT_EQ(kill(pid, SIGTERM), 0);
  EXPECT_EQ(WaitExit(pid), 0);
}

TEST_F(PackageBootTest, AnotherOwnerKeyExitsTen) {
  auto other = eml::crypto::Ed25519PrivateKey::Generate();
  ASSERT_THAT(other, IsOk());
  ExpectBootFailure(
      Args(StoreUrl(), eml::HexEncode(other->public_key().bytes()), *dir_ / "pkg.dek"), 10);
}

TEST_F(PackageBootTest, MissingStoreExitsFourteen) {
  ExpectBootFailure(Args("file://" + (*dir_ / "no-store").string(), OwnerHex(), *dir_ / "pkg.dek"),
                    14);
}

TEST_F(PackageBootTest, WrongDataKeyExitsSeventeen) {
  {
    std::ofstream out(*dir_ / "wrong.dek", std::ios::binary);
    out << std::string(32, 'k');
  }
  ExpectBootFailure(Args(StoreUrl(), OwnerHex(), *dir_ / "wrong.dek"), 17);
}

TEST_F(PackageBootTest, MissingDataKeyFileExitsThirteen) {
  ExpectBootFailure(Args(StoreUrl(), OwnerHex(), *dir_ / "absent.dek"), 13);
}

TEST_F(PackageBootTest, ModelAndStoreTogetherExitTwo) {
  std::vector<std::string> args = Args(StoreUrl(), OwnerHex(), *dir_ / "pkg.dek");
  args.insert(args.end(), {"--model", eml::model::DefaultModelDirectoryPath().string()});
  const pid_t pid = Spawn(args, *dir_ / "usage-stderr.txt");
  ASSERT_GT(pid, 0);
  EXPECT_EQ(WaitExit(pid), 2);
}

// A real key broker (SQLite, policy verifier, HPKE) behind its HTTP server, in this process.
class BrokerBootTest : public PackageBootTest {
 protected:
  void SetUp() override {
    broker_dir_ =
        *dir_ /
        ("broker-" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::create_directories(broker_dir_);
    eml::Result<eml::SecretBytes> master = eml::crypto::RandomSecret(32);
    ASSERT_THAT(master, IsOk());
    auto broker =
        eml::keys::KeyBroker::Open((broker_dir_ / "broker.db").string(), *std::move(master), {});
    ASSERT_THAT(broker, IsOk());
    broker_ = *std::move(broker);
    eml::keys::http::ServerOptions options;
    options.admin_token = eml::SecretBytes::CopyFrom(eml::AsBytes("enclave-test-admin-token-0123"));
    options.num_threads = 2;
    auto server = eml::keys::http::BrokerServer::Start(*broker_, std::move(options));
    ASSERT_THAT(server, IsOk());
    server_ = *std::move(server);
  }
  void TearDown() override {
    server_.reset();
    broker_.reset();
  }

  std::string BrokerUrl() const { return "http://127.0.0.1:" + std::to_string(server_->port()); }

  // PrintMeasurements runs --print-measurements with the boot's measured flags.
  nlohmann::json PrintMeasurements() const {
    const std::vector<std::string> args = {EML_ENCLAVE_PATH, "--print-measurements",
                                           "--state-dir",    (*dir_ / "state").string(),
                                           "--max-sessions", "4",
                                           "--owner-key",    OwnerHex()};
    const fs::path out = broker_dir_ / "measurements.json";
    const pid_t pid = Spawn(args, broker_dir_ / "measure-stderr.txt", out);
    EXPECT_GT(pid, 0);
    EXPECT_EQ(WaitExit(pid), 0);
    return eml::testing::ReadJson(out);
  }

  // Register releases the package's key to sim evidence with these PCRs.
  void Register(const nlohmann::json& measurements) {
    const nlohmann::json policy = {
        {"version", 1},
        {"evidence",
         {{"version", 1},
          {"platforms",
           {{"sim",
             {{"roots",
               {eml::testing::ReadFileText(measurements.at("sim_root").get<std::string>())}},
              {"pcrs", measurements.at("pcrs")}}}}},
          {"max_evidence_age_s", 600}}},
        {"security_modes", {"evaluation"}}};
    ASSERT_THAT(broker_->Register({"all-MiniLM-L6-v2", "1"}, *dek_, policy.dump()), IsOk());
  }

  fs::path broker_dir_;
  std::unique_ptr<eml::keys::KeyBroker> broker_;
  std::unique_ptr<eml::keys::http::BrokerServer> server_;
};

TEST_F(BrokerBootTest, ReleasedKeyBootsAndPrintedPcrsAreTheAttestedOnes) {
  const nlohmann::json measurements = PrintMeasurements();
  Register(measurements);
  const fs::path ready = broker_dir_ / "ready.json";
  std::vector<std::string> args = BrokerArgs(BrokerUrl());
  args.insert(args.end(), {"--ready-file", ready.string()});
  const fs::path err = broker_dir_ / "boot-stderr.txt";
  const pid_t pid = Spawn(args, err);
  ASSERT_GT(pid, 0);
  WaitReady(pid, ready, err);
  const nlohmann::json json = eml::testing::ReadJson(ready);
  EXPECT_EQ(json.at("pcrs"), measurements.at("pcrs"));
  EXPECT_EQ(json.at("sim_root"), measurements.at("sim_root"));
  const nlohmann::json& cold = json.at("cold_start_us");
  for (const char* step : {"challenge_us", "attest_us", "release_us", "first_inference_us"}) {
    EXPECT_TRUE(cold.contains(step)) << step;
  }
  ASSERT_EQ(kill(pid, SIGTERM), 0);
  EXPECT_EQ(WaitExit(pid), 0);
  auto audit = broker_->Audit({});
  ASSERT_THAT(audit, IsOk());
  ASSERT_FALSE(audit->empty());
  EXPECT_EQ(audit->back().action, "release");
  EXPECT_TRUE(audit->back().allowed);
}

TEST_F(BrokerBootTest, PolicyPinningAnotherPcr1ExitsTwentyOne) {
  nlohmann::json measurements = PrintMeasurements();
  measurements["pcrs"]["1"] =
      eml::HexEncode(eml::crypto::Sha384(eml::AsBytes("another enclave configuration")));
  Register(measurements);
  const fs::path err = broker_dir_ / "denied-stderr.txt";
  const pid_t pid = Spawn(BrokerArgs(BrokerUrl()), err);
  ASSERT_GT(pid, 0);
  EXPECT_EQ(WaitExit(pid), 21);
  const std::string text = eml::testing::ReadFileText(err);
  EXPECT_THAT(text, ::testing::HasSubstr("boot failed: BOOT_KEY_DENIED")) << text;
  EXPECT_THAT(text, ::testing::HasSubstr("BROKER_MEASUREMENT_MISMATCH")) << text;
  // One line says why.
  const size_t line = text.find("boot failed:");
  EXPECT_EQ(text.find('\n', line), text.size() - 1) << text;
}

TEST_F(BrokerBootTest, BrokerDownExitsTwentyTwo) {
  const std::string url = BrokerUrl();
  server_.reset();  // the port is closed now
  ExpectBootFailure(BrokerArgs(url), 22);
}

TEST_F(BrokerBootTest, BrokerAndKeyFileTogetherExitTwo) {
  std::vector<std::string> args = BrokerArgs(BrokerUrl());
  args.insert(args.end(), {"--data-key-file", (*dir_ / "pkg.dek").string()});
  const pid_t pid = Spawn(args, broker_dir_ / "usage-stderr.txt");
  ASSERT_GT(pid, 0);
  EXPECT_EQ(WaitExit(pid), 2);
}

}  // namespace
