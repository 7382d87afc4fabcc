// End to end on a fake Intel TDX machine: the enclave Service and Server attest through a
// TsmEvidenceSource (configfs-tsm answered with quotes under the synthetic Intel PKI, so every
// handshake and "evidence" document is an evidence envelope around a real-format quote), and
// the client Session, with an evidence policy for "tdx" only, verifies the handshake envelope,
// every receipt (measurement type tdx-mrtd-rtmr, MRTD and RTMRs equal to the attested quote's)
// and a fresh envelope. A wrong MRTD pin ends the connection before any application data.
// The model is a tiny random BERT held in memory (engine/testing), so no download is needed.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "channel/address.h"
#include "client/session.h"
#include "crypto/hash.h"
#include "enclave/platform_evidence.h"
#include "enclave/server.h"
#include "enclave/service.h"
#include "enclave/testing/sim_fixture.h"
#include "enclave/testing/tdx_fixture.h"
#include "engine/batch_scheduler.h"
#include "engine/embedder.h"
#include "engine/testing/tiny_bert.h"
#include "testing/test_util.h"

namespace eml::enclave {
namespace {

using ::eml::testing::HasError;
using ::eml::testing::IsOk;

constexpr int kTimeoutMs = 60'000;
constexpr int64_t kDayS = 24 * 3600;

int64_t NowUnix() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class TdxSessionTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const engine::testing::TinyBert bert = engine::testing::TinyBert::MakeRandom({}, 5);
    const std::vector<uint8_t> weights = bert.Safetensors();
    engine::EmbedderOptions options;
    options.num_threads = 1;
    Result<std::unique_ptr<engine::Embedder>> embedder = engine::Embedder::LoadFromMemory(
        bert.ConfigJson(), engine::testing::TinyTokenizerJson(bert.shape.vocab), weights, options);
    ASSERT_THAT(embedder, IsOk());
    embedder_ = embedder->release();
    backend_ = new engine::EmbedderBackend(embedder_);
    Result<std::unique_ptr<engine::BatchScheduler>> scheduler =
        engine::BatchScheduler::Create(backend_, engine::SchedulerOptions{});
    ASSERT_THAT(scheduler, IsOk());
    scheduler_ = scheduler->release();

    // Collateral valid around the real clock: receipts carry the enclave's real time.
    dir_ = new std::filesystem::path(testing::MakeTempDir());
    const int64_t now = NowUnix();
    machine_ = new testing::FakeTdxMachine(*dir_, now - kDayS, now + 30 * kDayS);
    Result<std::unique_ptr<TsmEvidenceSource>> source =
        TsmEvidenceSource::Create(kPlatformTdx, machine_->TsmOptions(), "td-test");
    ASSERT_THAT(source, IsOk());
    source_ = source->release();

    ModelIdentity model;
    model.id = "tiny";
    model.version = "1";
    model.hash = crypto::Sha256(weights);
    Result<std::unique_ptr<Service>> service = Service::Create(source_, scheduler_, model);
    ASSERT_THAT(service, IsOk());
    service_ = service->release();
  }

  static void TearDownTestSuite() {
    delete service_;
    delete source_;
    delete machine_;
    delete dir_;
    delete scheduler_;
    delete backend_;
    delete embedder_;
  }

  void SetUp() override {
    Result<std::unique_ptr<channel::Listener>> listener =
        channel::Listen({.kind = channel::Address::Kind::kTcp,
                         .tcp = {"127.0.0.1", 0},
                         .unix_path = {},
                         .vsock = {}});
    ASSERT_THAT(listener, IsOk());
    endpoint_ = "127.0.0.1:" + std::to_string((*listener)->bound().tcp.port);
    ServerOptions options;
    options.log = [](std::string_view) {};
    Result<std::unique_ptr<Server>> server = Server::Create(service_, options);
    ASSERT_THAT(server, IsOk());
    server_ = *std::move(server);
    ASSERT_THAT(server_->Start(*std::move(listener)), IsOk());
  }

  void TearDown() override {
    server_->Shutdown();
    server_->Join();
  }

  Result<std::unique_ptr<client::Session>> Connect(const std::vector<uint8_t>& mrtd_pin) {
    Result<attest::EvidencePolicy> policy =
        attest::ParseEvidencePolicy(machine_->PolicyJson(mrtd_pin), *dir_);
    EML_CHECK(policy.has_value());
    Result<attest::PolicyVerifier> verifier = attest::PolicyVerifier::Create(*std::move(policy));
    EML_CHECK(verifier.has_value());
    client::ClientOptions options;
    options.policy = std::make_shared<const attest::PolicyVerifier>(*std::move(verifier));
    options.handshake_timeout_ms = kTimeoutMs;
    options.request_timeout_ms = kTimeoutMs;
    Result<client::Endpoint> endpoint = client::ParseEndpoint(endpoint_);
    EML_CHECK(endpoint.has_value());
    return client::Session::Connect(*endpoint, options);
  }

  static inline engine::Embedder* embedder_ = nullptr;
  static inline engine::EmbedderBackend* backend_ = nullptr;
  static inline engine::BatchScheduler* scheduler_ = nullptr;
  static inline std::filesystem::path* dir_ = nullptr;
  static inline testing::FakeTdxMachine* machine_ = nullptr;
  static inline TsmEvidenceSource* source_ = nullptr;
  static inline Service* service_ = nullptr;

  std::string endpoint_;
  std::unique_ptr<Server> server_;
};

TEST_F(TdxSessionTest, HandshakeEmbeddingsAndReceiptsVerifyOnTdx) {
  Result<std::unique_ptr<client::Session>> session = Connect(machine_->mrtd());
  ASSERT_THAT(session, IsOk());
  const client::AttestedEnclave& enclave = (*session)->enclave();
  EXPECT_EQ(enclave.evidence().platform(), "tdx");
  EXPECT_FALSE(enclave.evaluation());
  EXPECT_EQ(enclave.evidence().named_measurements().at("mrtd"), machine_->mrtd());
  EXPECT_EQ(enclave.evidence().user_data(), service_->user_data());
  EXPECT_EQ(enclave.report().steps.at(0).detail, "envelope");
  EXPECT_EQ(enclave.receipt_key().bytes(), service_->receipt_public_key().bytes());

  const std::vector<std::string> texts = {"abc", "hello"};
  client::EmbedOptions options;
  options.nonce = std::vector<uint8_t>(32, 0x42);
  Result<client::VerifiedEmbeddings> first = (*session)->Embed(texts, options);
  ASSERT_THAT(first, IsOk());
  EXPECT_EQ(first->count(), 2u);
  EXPECT_EQ(first->dim(), 64u);
  ASSERT_TRUE(first->receipt_report().claims.has_value());
  const air::Claims& claims = *first->receipt_report().claims;
  EXPECT_EQ(claims.enclave_measurements.measurement_type, air::kMeasurementTypeTdx);
  EXPECT_EQ(claims.enclave_measurements.pcr0, machine_->mrtd());
  EXPECT_EQ(claims.security_mode, air::kSecurityModeProduction);
  EXPECT_EQ(claims.attestation_doc_hash, enclave.document_sha256());

  Result<client::VerifiedEmbeddings> second = (*session)->Embed(texts);
  ASSERT_THAT(second, IsOk());
  EXPECT_EQ((*session)->last_sequence(), 2u);

  // A fresh envelope for a new nonce, same key and user_data, verified by the session.
  EXPECT_THAT((*session)->Evidence(std::vector<uint8_t>(16, 0x24)), IsOk());
  EXPECT_EQ((*session)->last_sequence(), 3u);
}

TEST_F(TdxSessionTest, WrongMrtdPinRefusedBeforeAnyApplicationData) {
  EXPECT_THAT(Connect(std::vector<uint8_t>(48, 0xEE)),
              HasError(ErrorCode::kAttestMeasurementMismatch));
  server_->Shutdown();
  server_->Join();
  EXPECT_EQ(server_->stats().requests, 0u);
}

}  // namespace
}  // namespace eml::enclave
