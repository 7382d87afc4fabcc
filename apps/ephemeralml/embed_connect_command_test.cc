// End-to-end tests of `ephemeralml embed --connect`: runs the built binary (EML_EPHEMERALML_PATH)
// against a scripted sim enclave served from this process (client/testing/fake_enclave.h), checks
// the JSON, the exit codes, and that the printed offline `receipt verify` command re-verifies the
// receipt written by --receipt-out.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "client/testing/fake_enclave.h"
#include "ephemeralml/testing/cli_runner.h"
#include "testing/test_util.h"

namespace eml::apps {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using client::testing::FakeEnclave;

class EmbedConnectCommandTest : public CliTest {
 protected:
  EmbedConnectCommandTest() : CliTest(EML_EPHEMERALML_PATH, "eml-embed-connect-cli") {}

  void TearDown() override {
    if (server_.joinable()) {
      server_.join();
    }
    CliTest::TearDown();
  }

  // Serve starts a fake enclave for one connection and writes `policy_json` (default: its own
  // sim policy) to dir_/policy.json.
  void Serve(client::testing::Faults faults = {}, std::string policy_json = "") {
    Result<std::unique_ptr<FakeEnclave>> enclave = FakeEnclave::Create(dir_ / "state", faults);
    ASSERT_TRUE(enclave.has_value()) << ToString(enclave.error());
    enclave_ = std::move(*enclave);
    Result<std::unique_ptr<channel::net::Listener>> listener =
        channel::net::ListenTcp({"127.0.0.1", 0});
    ASSERT_TRUE(listener.has_value());
    listener_ = std::move(*listener);
    address_ = "127.0.0.1:" + std::to_string(listener_->port());
    std::ofstream(dir_ / "policy.json")
        << (policy_json.empty() ? enclave_->SimPolicyJson() : policy_json);
    server_ = std::thread([this] { log_ = enclave_->ServeOne(listener_.get()); });
  }

  std::unique_ptr<FakeEnclave> enclave_;
  std::unique_ptr<channel::net::Listener> listener_;
  std::string address_;
  std::thread server_;
  client::testing::ServeLog log_;
};

TEST_F(EmbedConnectCommandTest, VerifiedEmbeddingsAndOfflineReceiptVerification) {
  Serve();
  const std::string receipt = (dir_ / "receipt.cbor").string();
  const RunResult r =
      Run({"embed", "--connect", address_, "--policy", (dir_ / "policy.json").string(), "--nonce",
           "--receipt-out", receipt, "hello", "world"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const Json doc = Json::parse(r.out);
  EXPECT_EQ(doc.at("model"), client::testing::kFakeModelId);
  EXPECT_EQ(doc.at("dim"), client::testing::kFakeDim);
  ASSERT_EQ(doc.at("data").size(), 2u);
  EXPECT_EQ(doc["data"][1]["embedding"][1], 1.25);
  EXPECT_EQ(doc.at("attestation").at("platform"), "sim");
  EXPECT_EQ(doc.at("receipt").at("report").at("verified"), true);
  EXPECT_EQ(doc.at("receipt").at("sequence_number"), 1);
  ASSERT_TRUE(fs::exists(receipt));

  // The printed command re-verifies the written receipt offline, nonce included.
  std::vector<std::string> argv = doc.at("offline_verify").get<std::vector<std::string>>();
  ASSERT_GE(argv.size(), 4u);
  EXPECT_EQ(argv[3], receipt);
  EXPECT_NE(std::find(argv.begin(), argv.end(), "--expected-nonce"), argv.end());
  const RunResult offline = Run(std::vector<std::string>(argv.begin() + 1, argv.end()));
  EXPECT_EQ(offline.exit_code, 0) << offline.out << offline.err;

  // Tampering with one expectation makes the offline check fail.
  const auto rhash = std::find(argv.begin(), argv.end(), "--expected-request-hash");
  ASSERT_NE(rhash, argv.end());
  *(rhash + 1) = std::string(64, '0');
  EXPECT_EQ(Run(std::vector<std::string>(argv.begin() + 1, argv.end())).exit_code, 1);
}

TEST_F(EmbedConnectCommandTest, TextFormatSummarizesTheVerification) {
  Serve();
  const RunResult r = Run({"embed", "--connect", "tcp:" + address_, "--policy",
                           (dir_ / "policy.json").string(), "--format", "text", "hello"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("attestation: verified (sim"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("receipt: verified, sequence 1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("SIG PASS"), std::string::npos) << r.out;
}

TEST_F(EmbedConnectCommandTest, WrongPcrPinExitsOneAndSendsNothing) {
  Serve({}, "");
  // Rewrite the policy with a wrong PCR2 pin before the client runs.
  std::ofstream(dir_ / "policy.json")
      << enclave_->SimPolicyJson({{2, std::vector<uint8_t>(48, 1)}});
  const RunResult r =
      Run({"embed", "--connect", address_, "--policy", (dir_ / "policy.json").string(), "hello"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("ATTEST_MEASUREMENT_MISMATCH"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty());
  server_.join();
  EXPECT_EQ(log_.records_received, 0u);
}

TEST_F(EmbedConnectCommandTest, ReceiptFromUnattestedKeyExitsOne) {
  Serve({.sign_with_other_key = true});
  const RunResult r =
      Run({"embed", "--connect", address_, "--policy", (dir_ / "policy.json").string(),
           "--receipt-out", (dir_ / "r.cbor").string(), "hello"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("CLIENT_RECEIPT_SIGNATURE"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty());
  EXPECT_FALSE(fs::exists(dir_ / "r.cbor"));
}

TEST_F(EmbedConnectCommandTest, MissingPolicyIsAUsageError) {
  const RunResult r = Run(
      {"embed", "--connect", "127.0.0.1:9", "--policy", (dir_ / "absent.json").string(), "hello"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("no evidence policy"), std::string::npos) << r.err;
}

TEST_F(EmbedConnectCommandTest, DefaultPolicyComesFromEphemeralmlHome) {
  Serve();  // writes dir_/policy.json
  ASSERT_EQ(setenv("EPHEMERALML_HOME", dir_.c_str(), 1), 0);
  const RunResult r = Run({"embed", "--connect", address_, "hello"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  fs::remove(dir_ / "policy.json");
  const RunResult missing = Run({"embed", "--connect", address_, "hello"});
  unsetenv("EPHEMERALML_HOME");
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find((dir_ / "policy.json").string()), std::string::npos) << missing.err;
}

TEST_F(EmbedConnectCommandTest, MalformedAddressIsAUsageError) {
  std::ofstream(dir_ / "policy.json") << "{}";
  const RunResult r =
      Run({"embed", "--connect", "nowhere", "--policy", (dir_ / "policy.json").string(), "hello"});
  EXPECT_EQ(r.exit_code, 2);
}

TEST_F(EmbedConnectCommandTest, MalformedPolicyIsAUsageError) {
  std::ofstream(dir_ / "policy.json") << R"({"version": 1, "platforms": {}, "extra": 1})";
  const RunResult r = Run(
      {"embed", "--connect", "127.0.0.1:9", "--policy", (dir_ / "policy.json").string(), "hello"});
  EXPECT_EQ(r.exit_code, 2);
}

}  // namespace
}  // namespace eml::apps
