// End-to-end: the real enclave binary (EML_ENCLAVE_PATH, sim platform, real all-MiniLM-L6-v2
// model from scripts/fetch-model) served over TCP and a Unix socket, used by the session client
// library and by `ephemeralml embed --connect` (EML_EPHEMERALML_PATH). The policy is written from
// the enclave's ready file (sim root + PCR pins), as `ephemeralml up` does.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "client/session.h"
#include "common/encoding.h"
#include "ephemeralml/testing/cli_runner.h"
#include "model/model_directory.h"
#include "testing/test_util.h"

extern char** environ;

namespace eml::apps {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using ::eml::testing::HasError;
using ::eml::testing::IsOk;

class EnclaveProcess {
 public:
  // Start runs the enclave listening on `listen` and waits (bounded) for its ready file.
  bool Start(const fs::path& dir, const std::string& listen) {
    ready_file_ = dir / "ready.json";
    const std::vector<std::string> args = {EML_ENCLAVE_PATH,
                                           "--listen",
                                           listen,
                                           "--model",
                                           model::DefaultModelDirectoryPath().string(),
                                           "--state-dir",
                                           (dir / "state").string(),
                                           "--threads",
                                           "2",
                                           "--ready-file",
                                           ready_file_.string()};
    std::vector<char*> argv;
    for (const std::string& a : args) {
      argv.push_back(const_cast<char*>(a.c_str()));
    }
    argv.push_back(nullptr);
    if (posix_spawn(&pid_, EML_ENCLAVE_PATH, nullptr, nullptr, argv.data(), environ) != 0) {
      return false;
    }
    // The model load takes a few seconds; the ready file appears atomically when listening.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (!fs::exists(ready_file_)) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
      if (std::chrono::steady_clock::now() > deadline) {
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ready_ = Json::parse(std::ifstream(ready_file_));
    return true;
  }

  // Stop sends SIGTERM and returns the exit status (-1 on a signal).
  int Stop() {
    if (pid_ <= 0) {
      return -1;
    }
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  ~EnclaveProcess() { Stop(); }

  // PolicyJson pins the ready file's sim root and PCRs (optionally one PCR replaced).
  std::string PolicyJson(int wrong_pcr = -1) const {
    Json pcrs = ready_.at("pcrs");
    if (wrong_pcr >= 0) {
      pcrs[std::to_string(wrong_pcr)] = std::string(96, 'a');
    }
    Json policy = {{"version", 1},
                   {"platforms", {{"sim", {{"roots", {ready_.at("sim_root")}}, {"pcrs", pcrs}}}}}};
    return policy.dump();
  }

  std::string address() const { return ready_.at("address").get<std::string>(); }

 private:
  pid_t pid_ = -1;
  fs::path ready_file_;
  Json ready_;
};

class EmbedConnectEnclaveTest : public CliTest {
 protected:
  EmbedConnectEnclaveTest() : CliTest(EML_EPHEMERALML_PATH, "eml-embed-enclave") {}

  static bool ModelPresent() {
    if (fs::exists(model::DefaultModelDirectoryPath() / "model.safetensors")) {
      return true;
    }
    ADD_FAILURE() << "model files missing: run scripts/fetch-model";
    return false;
  }

  client::ClientOptions Options(const std::string& policy_json) {
    Result<attest::EvidencePolicy> policy = attest::ParseEvidencePolicy(policy_json, dir_);
    EML_CHECK(policy.has_value());
    Result<attest::PolicyVerifier> verifier = attest::PolicyVerifier::Create(std::move(*policy));
    EML_CHECK(verifier.has_value());
    client::ClientOptions options;
    options.policy = std::make_shared<const attest::PolicyVerifier>(std::move(*verifier));
    return options;
  }

  // ExerciseClient connects with the library, embeds twice and asks for fresh evidence.
  void ExerciseClient(const EnclaveProcess& enclave) {
    Result<client::Endpoint> endpoint = client::ParseEndpoint(enclave.address());
    ASSERT_TRUE(endpoint.has_value()) << enclave.address();
    Result<std::unique_ptr<client::Session>> session =
        client::Connect(*endpoint, Options(enclave.PolicyJson()));
    ASSERT_TRUE(session.has_value()) << ToString(session.error());
    EXPECT_TRUE((*session)->enclave().evaluation());
    const std::vector<std::string> texts = {"confidential inference", "hello world"};
    client::EmbedOptions options;
    options.nonce = std::vector<uint8_t>(32, 0x3c);
    Result<client::VerifiedEmbeddings> first = (*session)->Embed(texts, options);
    ASSERT_TRUE(first.has_value()) << ToString(first.error());
    EXPECT_EQ(first->dim(), 384u);
    ASSERT_EQ(first->count(), 2u);
    for (size_t row = 0; row < 2; ++row) {
      double norm2 = 0;
      for (size_t c = 0; c < 384; ++c) {
        const double x = first->embeddings()[row * 384 + c];
        norm2 += x * x;
      }
      EXPECT_NEAR(std::sqrt(norm2), 1.0, 1e-4);
    }
    EXPECT_TRUE(first->receipt_report().verified);
    EXPECT_EQ((*session)->last_sequence(), 1u);
    Result<client::VerifiedEmbeddings> second = (*session)->Embed(texts);
    ASSERT_TRUE(second.has_value()) << ToString(second.error());
    // Same texts, same model: the same vectors.
    EXPECT_EQ(second->embeddings(), first->embeddings());
    Result<client::VerifiedEnclaveEvidence> evidence =
        (*session)->Evidence(std::vector<uint8_t>(32, 0x77));
    ASSERT_TRUE(evidence.has_value()) << ToString(evidence.error());
    EXPECT_EQ((*session)->last_sequence(), 3u);
  }
};

TEST_F(EmbedConnectEnclaveTest, TcpLibraryAndCli) {
  if (!ModelPresent()) {
    return;
  }
  EnclaveProcess enclave;
  ASSERT_TRUE(enclave.Start(dir_, "tcp:127.0.0.1:0"));
  ExerciseClient(enclave);

  std::ofstream(dir_ / "policy.json") << enclave.PolicyJson();
  const RunResult r =
      Run({"embed", "--connect", enclave.address(), "--policy", (dir_ / "policy.json").string(),
           "--nonce", "--receipt-out", (dir_ / "receipt.cbor").string(), "a sentence to embed"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const Json doc = Json::parse(r.out);
  EXPECT_EQ(doc.at("dim"), 384);
  EXPECT_EQ(doc.at("receipt").at("report").at("verified"), true);
  std::vector<std::string> argv = doc.at("offline_verify").get<std::vector<std::string>>();
  const RunResult offline = Run(std::vector<std::string>(argv.begin() + 1, argv.end()));
  EXPECT_EQ(offline.exit_code, 0) << offline.out << offline.err;

  // A policy pinning another PCR1 refuses the enclave before any text is sent.
  Result<client::Endpoint> endpoint = client::ParseEndpoint(enclave.address());
  ASSERT_TRUE(endpoint.has_value());
  EXPECT_THAT(client::Connect(*endpoint, Options(enclave.PolicyJson(1))),
              HasError(ErrorCode::kAttestMeasurementMismatch));
  EXPECT_EQ(enclave.Stop(), 0);
}

TEST_F(EmbedConnectEnclaveTest, UnixSocketLibraryAndCli) {
  if (!ModelPresent()) {
    return;
  }
  EnclaveProcess enclave;
  ASSERT_TRUE(enclave.Start(dir_, "unix:" + (dir_ / "enclave.sock").string()));
  ExerciseClient(enclave);
  std::ofstream(dir_ / "policy.json") << enclave.PolicyJson();
  const RunResult r = Run({"embed", "--connect", enclave.address(), "--policy",
                           (dir_ / "policy.json").string(), "--format", "text", "hello"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("receipt: verified, sequence 1"), std::string::npos) << r.out;
  EXPECT_EQ(enclave.Stop(), 0);
}

}  // namespace
}  // namespace eml::apps
