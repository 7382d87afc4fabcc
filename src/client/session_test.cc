#include "client/session.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <utility>

#include "client/testing/fake_enclave.h"
#include "testing/test_util.h"

namespace eml::client {
namespace {

using ::eml::client::testing::FakeEnclave;
using ::eml::client::testing::Faults;
using ::eml::client::testing::ServeLog;
using ::eml::testing::HasError;
using ::eml::testing::IsOk;

// Each test serves one connection from a FakeEnclave on a thread and connects a client to it.
class SessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "eml-client-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    if (server_.joinable()) {
      server_.join();
    }
    std::filesystem::remove_all(dir_);
  }

  // Start makes the enclave and starts serving on TCP (or a Unix socket).
  void Start(Faults faults = {}, bool unix_socket = false) {
    Result<std::unique_ptr<FakeEnclave>> enclave = FakeEnclave::Create(dir_ / "state", faults);
    ASSERT_TRUE(enclave.has_value()) << ToString(enclave.error());
    enclave_ = std::move(*enclave);
    Result<std::unique_ptr<channel::net::Listener>> listener =
        unix_socket ? channel::net::ListenUnix((dir_ / "enclave.sock").string())
                    : channel::net::ListenTcp({"127.0.0.1", 0});
    ASSERT_TRUE(listener.has_value()) << ToString(listener.error());
    listener_ = std::move(*listener);
    endpoint_ = unix_socket ? "unix:" + (dir_ / "enclave.sock").string()
                            : "127.0.0.1:" + std::to_string(listener_->port());
    server_ = std::thread([this] { log_ = enclave_->ServeOne(listener_.get()); });
  }

  ClientOptions Options(const std::string& policy_json) {
    Result<attest::EvidencePolicy> policy = attest::ParseEvidencePolicy(policy_json, dir_);
    EML_CHECK(policy.has_value());
    Result<attest::PolicyVerifier> verifier = attest::PolicyVerifier::Create(std::move(*policy));
    EML_CHECK(verifier.has_value());
    ClientOptions options;
    options.policy = std::make_shared<const attest::PolicyVerifier>(std::move(*verifier));
    options.handshake_timeout_ms = 10'000;
    options.request_timeout_ms = 10'000;
    return options;
  }

  Result<std::unique_ptr<Session>> ConnectWith(const std::string& policy_json) {
    Result<Endpoint> endpoint = ParseEndpoint(endpoint_);
    EML_CHECK(endpoint.has_value());
    return Connect(*endpoint, Options(policy_json));
  }

  std::unique_ptr<Session> ConnectOk() {
    Result<std::unique_ptr<Session>> session = ConnectWith(enclave_->SimPolicyJson());
    EML_CHECK(session.has_value());
    return std::move(*session);
  }

  // Finish closes the client side and waits for the server thread.
  void Finish(std::unique_ptr<Session> session = nullptr) {
    session.reset();
    server_.join();
  }

  std::filesystem::path dir_;
  std::unique_ptr<FakeEnclave> enclave_;
  std::unique_ptr<channel::net::Listener> listener_;
  std::string endpoint_;
  std::thread server_;
  ServeLog log_;
  const std::vector<std::string> texts_ = {"hello enclave", "second text"};
};

TEST_F(SessionTest, EmbedOverTcpVerifiesEveryReceipt) {
  Start();
  std::unique_ptr<Session> session = ConnectOk();
  EXPECT_TRUE(session->enclave().evaluation());
  ASSERT_EQ(session->enclave().models().size(), 1u);
  EXPECT_EQ(session->enclave().models()[0].id, testing::kFakeModelId);
  EXPECT_EQ(session->enclave().receipt_key().bytes(), enclave_->receipt_public_key().bytes());

  EmbedOptions options;
  options.nonce = std::vector<uint8_t>(32, 0x42);
  Result<VerifiedEmbeddings> first = session->Embed(texts_, options);
  ASSERT_TRUE(first.has_value()) << ToString(first.error());
  EXPECT_EQ(first->model_id(), testing::kFakeModelId);
  EXPECT_EQ(first->dim(), testing::kFakeDim);
  EXPECT_EQ(first->count(), 2u);
  EXPECT_EQ(first->embeddings()[testing::kFakeDim + 1], 1.25f);
  EXPECT_EQ(first->token_counts()[0], texts_[0].size() + 2);
  EXPECT_TRUE(first->receipt_report().verified);
  ASSERT_TRUE(first->receipt_report().claims.has_value());
  EXPECT_EQ(first->receipt_report().claims->eat_nonce, options.nonce);
  EXPECT_EQ(session->last_sequence(), 1u);

  Result<VerifiedEmbeddings> second = session->Embed(texts_);  // no nonce this time
  ASSERT_TRUE(second.has_value()) << ToString(second.error());
  EXPECT_EQ(session->last_sequence(), 2u);
  Finish(std::move(session));
  EXPECT_THAT(log_.handshake, IsOk());
  EXPECT_EQ(log_.responses_sent, 2u);
}

TEST_F(SessionTest, EmbedOverUnixSocket) {
  Start({}, /*unix_socket=*/true);
  std::unique_ptr<Session> session = ConnectOk();
  EXPECT_THAT(session->Embed(texts_), IsOk());
  Finish(std::move(session));
}

TEST_F(SessionTest, WrongPcrPinRefusesBeforeAnyApplicationData) {
  Start();
  Result<std::unique_ptr<Session>> session =
      ConnectWith(enclave_->SimPolicyJson({{1, std::vector<uint8_t>(48, 0x99)}}));
  EXPECT_THAT(session, HasError(ErrorCode::kAttestMeasurementMismatch));
  Finish();
  // The client hung up after the enclave's Hello: no confirmation, no record.
  EXPECT_FALSE(log_.handshake.has_value());
  EXPECT_EQ(log_.records_received, 0u);
}

TEST_F(SessionTest, SimEvidenceRefusedByPolicyWithoutSim) {
  Start();
  Result<std::unique_ptr<Session>> session =
      ConnectWith(R"({"version": 1, "platforms": {"aws-nitro": {"roots": []}}})");
  // Nitro-format evidence under a root the policy does not name (the sim root).
  EXPECT_THAT(session, HasError(ErrorCode::kPolicyUntrustedRoot));
  Finish();
  EXPECT_EQ(log_.records_received, 0u);
}

TEST_F(SessionTest, ReceiptSignedWithUnattestedKeyIsCaught) {
  Start({.sign_with_other_key = true});
  std::unique_ptr<Session> session = ConnectOk();
  EXPECT_THAT(session->Embed(texts_), HasError(ErrorCode::kClientReceiptSignature));
  // Fail closed: the session refuses further use.
  EXPECT_THAT(session->Embed(texts_), HasError(ErrorCode::kClientSessionClosed));
  EXPECT_THAT(session->Evidence(std::nullopt), HasError(ErrorCode::kClientSessionClosed));
  Finish(std::move(session));
}

TEST_F(SessionTest, RepeatedSequenceIsCaught) {
  Start({.repeat_sequence = true});
  std::unique_ptr<Session> session = ConnectOk();
  ASSERT_THAT(session->Embed(texts_), IsOk());
  EXPECT_THAT(session->Embed(texts_), HasError(ErrorCode::kClientReceiptSequence));
  Finish(std::move(session));
}

TEST_F(SessionTest, RepeatedCtiIsCaughtAsAReplay) {
  Start({.repeat_cti = true});
  std::unique_ptr<Session> session = ConnectOk();
  ASSERT_THAT(session->Embed(texts_), IsOk());
  EXPECT_THAT(session->Embed(texts_), HasError(ErrorCode::kClientReceiptInvalid));
  Finish(std::move(session));
}

TEST_F(SessionTest, ProductionReceiptFromSimIsCaught) {
  Start({.production_mode = true});
  std::unique_ptr<Session> session = ConnectOk();
  EXPECT_THAT(session->Embed(texts_), HasError(ErrorCode::kClientReceiptSecurityMode));
  Finish(std::move(session));
}

TEST_F(SessionTest, ResultNamingUnattestedModelIsRefused) {
  Start({.wrong_result_model = true});
  std::unique_ptr<Session> session = ConnectOk();
  EXPECT_THAT(session->Embed(texts_), HasError(ErrorCode::kClientUnknownModel));
  Finish(std::move(session));
}

TEST_F(SessionTest, ResultWithFewerRowsIsRefused) {
  Start({.drop_last_row = true});
  std::unique_ptr<Session> session = ConnectOk();
  EXPECT_THAT(session->Embed(texts_), HasError(ErrorCode::kClientBadResult));
  Finish(std::move(session));
}

TEST_F(SessionTest, ResponseToAnotherIdIsRefused) {
  Start({.wrong_response_id = true});
  std::unique_ptr<Session> session = ConnectOk();
  EXPECT_THAT(session->Embed(texts_), HasError(ErrorCode::kClientBadResponse));
  Finish(std::move(session));
}

TEST_F(SessionTest, EnclaveErrorKeepsTheSessionUsable) {
  Start({.answer_with_error = true});
  std::unique_ptr<Session> session = ConnectOk();
  EXPECT_THAT(session->Embed(texts_), HasError(ErrorCode::kClientRemoteError));
  EXPECT_THAT(session->Embed(texts_), HasError(ErrorCode::kClientRemoteError));
  Finish(std::move(session));
  EXPECT_EQ(log_.records_received, 2u);
}

TEST_F(SessionTest, MalformedUserDataFailsTheHandshake) {
  Start({.bad_user_data = true});
  EXPECT_THAT(ConnectWith(enclave_->SimPolicyJson()), HasError(ErrorCode::kClientBadUserData));
  Finish();
  EXPECT_EQ(log_.records_received, 0u);
}

TEST_F(SessionTest, BadRequestsAreRefusedLocally) {
  Start();
  std::unique_ptr<Session> session = ConnectOk();
  EXPECT_THAT(session->Embed({}), HasError(ErrorCode::kInvalidArgument));
  EmbedOptions short_nonce;
  short_nonce.nonce = std::vector<uint8_t>(4, 1);
  EXPECT_THAT(session->Embed(texts_, short_nonce), HasError(ErrorCode::kInvalidArgument));
  EmbedOptions unknown_model;
  unknown_model.model = "not-attested";
  EXPECT_THAT(session->Embed(texts_, unknown_model), HasError(ErrorCode::kClientUnknownModel));
  // None of these closed the session.
  EmbedOptions attested_model;
  attested_model.model = testing::kFakeModelId;
  EXPECT_THAT(session->Embed(texts_, attested_model), IsOk());
  Finish(std::move(session));
  EXPECT_EQ(log_.records_received, 1u);
}

TEST_F(SessionTest, EvidenceIsBoundToTheNonceAndVerified) {
  Start();
  std::unique_ptr<Session> session = ConnectOk();
  const std::vector<uint8_t> nonce(32, 0x5c);
  Result<VerifiedEnclaveEvidence> evidence = session->Evidence(nonce);
  ASSERT_TRUE(evidence.has_value()) << ToString(evidence.error());
  EXPECT_TRUE(evidence->report().verified);
  EXPECT_EQ(evidence->report().nonce, nonce);
  EXPECT_TRUE(evidence->receipt_report().verified);
  EXPECT_THAT(session->Embed(texts_), IsOk());  // sequence continues after the evidence receipt
  EXPECT_EQ(session->last_sequence(), 2u);
  Finish(std::move(session));
}

TEST_F(SessionTest, EvidenceWithOtherUserDataIsRefused) {
  Start({.other_user_data_in_evidence = true});
  std::unique_ptr<Session> session = ConnectOk();
  EXPECT_THAT(session->Evidence(std::vector<uint8_t>(32, 1)),
              HasError(ErrorCode::kClientEvidenceMismatch));
  Finish(std::move(session));
}

TEST(EndpointTest, ParsesTcpAndUnixForms) {
  Result<Endpoint> plain = ParseEndpoint("127.0.0.1:9000");
  ASSERT_TRUE(plain.has_value());
  EXPECT_EQ(EndpointToString(*plain), "tcp:127.0.0.1:9000");
  Result<Endpoint> tcp = ParseEndpoint("tcp:[::1]:443");
  ASSERT_TRUE(tcp.has_value());
  EXPECT_EQ(EndpointToString(*tcp), "tcp:[::1]:443");
  Result<Endpoint> unix_socket = ParseEndpoint("unix:/run/eml.sock");
  ASSERT_TRUE(unix_socket.has_value());
  EXPECT_EQ(unix_socket->kind, Endpoint::Kind::kUnix);
  EXPECT_EQ(EndpointToString(*unix_socket), "unix:/run/eml.sock");
  Result<Endpoint> vsock = ParseEndpoint("vsock:16:5000");
  ASSERT_TRUE(vsock.has_value());
  EXPECT_EQ(vsock->kind, Endpoint::Kind::kVsock);
  EXPECT_EQ(EndpointToString(*vsock), "vsock:16:5000");
}

TEST(EndpointTest, RefusesMalformedAddresses) {
  for (const char* bad : {"", "unix:", "127.0.0.1", "127.0.0.1:0", "host:99999",
                          "tcp:", "tcp:127.0.0.1:0", "vsock:16:0", "vsock:16"}) {
    EXPECT_THAT(ParseEndpoint(bad), HasError(ErrorCode::kChannelBadAddress)) << bad;
  }
}

TEST(ConnectTest, RequiresAPolicy) {
  Result<Endpoint> endpoint = ParseEndpoint("127.0.0.1:9");
  ASSERT_TRUE(endpoint.has_value());
  // ClientOptions spelled out: with `{}` argument-dependent lookup would also find
  // channel::Connect(const Address&, int timeout_ms), a better match.
  EXPECT_THAT(Connect(*endpoint, ClientOptions{}), HasError(ErrorCode::kInvalidArgument));
}

}  // namespace
}  // namespace eml::client
