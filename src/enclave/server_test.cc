// In-process server tests on the real model (scripts/fetch-model): a real initiator handshake
// over TCP and over a Unix socket, embed and evidence requests, receipts verified with the AIR
// verifier and the attested receipt key, typed errors, session isolation, the session bound
// and shutdown.
#include "enclave/server.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "air/verifier.h"
#include "attest/nitro/nitro_verifier.h"
#include "cbor/encoder.h"
#include "cbor/value.h"
#include "channel/handshake.h"
#include "channel/mock_attestation.h"
#include "channel/net/net.h"
#include "channel/transport.h"
#include "crypto/hash.h"
#include "enclave/testing/sim_fixture.h"
#include "engine/batch_scheduler.h"
#include "engine/embedder.h"
#include "model/model_directory.h"
#include "testing/test_util.h"

namespace eml::enclave {
namespace {

using ::eml::testing::HasError;
using ::eml::testing::IsOk;

constexpr int kTimeoutMs = 60'000;

// SimDocumentVerifier: the client's side of the handshake in these tests: the real Nitro
// verifier pinned to the sim root; remembers what the verified document carried.
class SimDocumentVerifier final : public channel::AttestationVerifier {
 public:
  explicit SimDocumentVerifier(const SimEvidenceSource* source) : source_(source) {}
  Result<channel::AttestedBinding> Verify(std::span<const uint8_t> document) override {
    EML_ASSIGN_OR_RETURN(attest::Verification verification,
                         testing::VerifySimDocument(*source_, document));
    if (!verification.evidence.has_value()) {
      return Error{verification.report.FirstFailure(), "sim document does not verify"};
    }
    const attest::VerifiedEvidence& evidence = *verification.evidence;
    channel::AttestedBinding binding;
    binding.public_key = evidence.public_key().value_or(std::vector<uint8_t>{});
    binding.nonce = evidence.nonce().value_or(std::vector<uint8_t>{});
    binding.document_hash = evidence.document_sha256();
    user_data = evidence.user_data().value_or(std::vector<uint8_t>{});
    document_hash = evidence.document_sha256();
    public_key = binding.public_key;
    return binding;
  }

  std::vector<uint8_t> user_data;
  std::array<uint8_t, 32> document_hash{};
  std::vector<uint8_t> public_key;

 private:
  const SimEvidenceSource* source_;
};

// Client: one connected, handshaken session.
struct Client {
  std::unique_ptr<channel::Stream> stream;
  std::unique_ptr<SimDocumentVerifier> verifier;
  std::optional<channel::Session> session;
  protocol::UserData user_data;

  Result<protocol::Response> Call(std::span<const uint8_t> record,
                                  channel::FrameType type = channel::FrameType::kData) {
    std::vector<uint8_t> frame;
    EML_RETURN_IF_ERROR(session->Seal(type, 0, record, &frame));
    EML_RETURN_IF_ERROR(stream->WriteAll(frame, kTimeoutMs));
    EML_RETURN_IF_ERROR(channel::ReadFrame(stream.get(), {}, kTimeoutMs, &frame));
    std::vector<uint8_t> plaintext;
    EML_RETURN_IF_ERROR(session->Open(frame, &plaintext));
    return protocol::DecodeResponse(plaintext);
  }
};

class ServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    Result<model::ModelDirectory> dir =
        model::ModelDirectory::Open(model::DefaultModelDirectoryPath());
    ASSERT_THAT(dir, IsOk()) << "run scripts/fetch-model";
    engine::EmbedderOptions options;
    options.num_threads = 2;
    Result<std::unique_ptr<engine::Embedder>> embedder =
        engine::Embedder::LoadFromDirectory(dir->root, options);
    ASSERT_THAT(embedder, IsOk());
    embedder_ = embedder->release();
    backend_ = new engine::EmbedderBackend(embedder_);
    Result<std::unique_ptr<engine::BatchScheduler>> scheduler =
        engine::BatchScheduler::Create(backend_, engine::SchedulerOptions{});
    ASSERT_THAT(scheduler, IsOk());
    scheduler_ = scheduler->release();
    source_ = testing::NewSimSource(testing::MakeTempDir()).release();
    ModelIdentity model;
    model.id = "all-MiniLM-L6-v2";
    model.version = "test";
    Result<air::Sha256Digest> hash = HashModelWeights(dir->weights_safetensors);
    ASSERT_THAT(hash, IsOk());
    model.hash = *hash;
    Result<std::unique_ptr<Service>> service = Service::Create(source_, scheduler_, model);
    ASSERT_THAT(service, IsOk());
    service_ = service->release();
  }

  static void TearDownTestSuite() {
    delete service_;
    delete source_;
    delete scheduler_;
    delete backend_;
    delete embedder_;
  }

  // StartServer listens on TCP port 0 (or a Unix socket at `unix_path`) and starts a server.
  std::unique_ptr<Server> StartServer(ServerOptions options, const std::string& unix_path = "") {
    options.log = [this](std::string_view line) {
      std::lock_guard<std::mutex> lock(log_mu_);
      log_.emplace_back(line);
    };
    Result<channel::Address> address =
        channel::ParseAddress(unix_path.empty() ? "tcp:127.0.0.1:0" : "unix:" + unix_path);
    EXPECT_THAT(address, IsOk());
    Result<std::unique_ptr<channel::Listener>> listener = channel::Listen(*address);
    EXPECT_THAT(listener, IsOk());
    port_ = (*listener)->bound().tcp.port;
    Result<std::unique_ptr<Server>> server = Server::Create(service_, options);
    EXPECT_THAT(server, IsOk());
    EXPECT_THAT((*server)->Start(*std::move(listener)), IsOk());
    return *std::move(server);
  }

  Result<std::unique_ptr<channel::Stream>> Connect(const std::string& unix_path = "") {
    return unix_path.empty() ? channel::net::ConnectTcp({"127.0.0.1", port_}, kTimeoutMs)
                             : channel::net::ConnectUnix(unix_path, kTimeoutMs);
  }

  // Handshake connects and runs the initiator side with the mock envelope, as a client
  // without a TEE does.
  Result<Client> Handshake(const std::string& unix_path = "") {
    Client client;
    EML_ASSIGN_OR_RETURN(client.stream, Connect(unix_path));
    client.verifier = std::make_unique<SimDocumentVerifier>(source_);
    channel::MockAttestationProvider provider;
    EML_ASSIGN_OR_RETURN(channel::Initiator initiator,
                         channel::Initiator::New(&provider, client.verifier.get()));
    EML_ASSIGN_OR_RETURN(channel::Session session,
                         channel::RunInitiatorHandshake(client.stream.get(), &initiator));
    client.session.emplace(std::move(session));
    EML_ASSIGN_OR_RETURN(client.user_data, protocol::DecodeUserData(client.verifier->user_data));
    return client;
  }

  // CheckReceipt verifies `response`'s receipt as a client does and returns its claims.
  air::Claims CheckReceipt(const Client& client, const protocol::Response& response,
                           std::span<const uint8_t> request_record,
                           const std::optional<std::vector<uint8_t>>& nonce) {
    air::VerifyPolicy policy;
    policy.expected_model_hash = client.user_data.models.at(0).model_hash;
    policy.expected_model_id = client.user_data.models.at(0).id;
    policy.expected_request_hash = crypto::Sha256(request_record);
    policy.expected_response_hash = crypto::Sha256(response.result);
    policy.expected_attestation_doc_hash = client.verifier->document_hash;
    policy.expected_security_mode = air::SecurityMode::kEvaluation;
    policy.allow_evaluation = true;
    policy.expected_platform = air::Platform::kNitroPcr;
    policy.expected_nonce = nonce;
    policy.require_nonce = nonce.has_value();
    Result<crypto::Ed25519PublicKey> key =
        crypto::Ed25519PublicKey::FromBytes(client.user_data.receipt_key);
    EXPECT_THAT(key, IsOk());
    Result<air::VerificationReport> report = air::VerifyReceipt(response.receipt, *key, policy);
    EXPECT_THAT(report, IsOk());
    if (!report->verified()) {
      for (const air::CheckResult& failure : report->failures()) {
        ADD_FAILURE() << "receipt check failed: " << failure.detail;
      }
      return {};
    }
    const air::Claims& claims = report->verified_receipt()->claims();
    EXPECT_EQ(claims.enclave_measurements, source_->measurements());
    return claims;
  }

  // RunEmbedAndEvidence: the happy path on one session.
  void RunEmbedAndEvidence(Client& client) {
    ASSERT_EQ(client.user_data.models.size(), 1u);
    EXPECT_EQ(client.user_data.models[0].model_hash, service_->model().hash);
    EXPECT_EQ(client.user_data.models[0].model_hash_scheme, "sha256-single");

    protocol::Request embed;
    embed.id = 1;
    embed.inputs = {"The enclave embeds this sentence.", "A second, different input."};
    embed.nonce = std::vector<uint8_t>(32, 0x3c);
    Result<std::vector<uint8_t>> record = protocol::EncodeRequest(embed);
    ASSERT_THAT(record, IsOk());
    Result<protocol::Response> response = client.Call(*record);
    ASSERT_THAT(response, IsOk());
    ASSERT_TRUE(response->ok()) << response->error->message;
    EXPECT_EQ(response->id, 1u);
    Result<protocol::EmbedResult> result = protocol::DecodeEmbedResult(response->result);
    ASSERT_THAT(result, IsOk());
    EXPECT_EQ(result->model, "all-MiniLM-L6-v2");
    EXPECT_EQ(result->dim, 384u);
    EXPECT_EQ(result->count, 2u);
    Result<std::vector<float>> rows = protocol::DecodeF32Le(result->embeddings);
    ASSERT_THAT(rows, IsOk());
    Result<engine::EmbedResult> direct = embedder_->Embed(embed.inputs);
    ASSERT_THAT(direct, IsOk());
    ASSERT_EQ(rows->size(), direct->embeddings.size());
    for (size_t i = 0; i < rows->size(); ++i) {
      EXPECT_NEAR((*rows)[i], direct->embeddings[i], 1e-5f) << i;
    }
    EXPECT_EQ(result->token_counts,
              std::vector<uint64_t>(direct->token_counts.begin(), direct->token_counts.end()));
    const air::Claims first = CheckReceipt(client, *response, *record, embed.nonce);
    EXPECT_EQ(first.sequence_number, 1u);
    EXPECT_GE(first.memory_peak_mb, 50u);  // the model alone is ~90 MB

    protocol::Request evidence;
    evidence.id = 2;
    evidence.op = protocol::Op::kEvidence;
    evidence.nonce = std::vector<uint8_t>(24, 0x7d);
    record = protocol::EncodeRequest(evidence);
    ASSERT_THAT(record, IsOk());
    response = client.Call(*record);
    ASSERT_THAT(response, IsOk());
    ASSERT_TRUE(response->ok()) << response->error->message;
    Result<protocol::EvidenceResult> doc = protocol::DecodeEvidenceResult(response->result);
    ASSERT_THAT(doc, IsOk());
    Result<attest::Verification> verified = testing::VerifySimDocument(
        *source_, doc->attestation_doc, evidence.nonce, client.verifier->public_key);
    ASSERT_THAT(verified, IsOk());
    ASSERT_TRUE(verified->evidence.has_value()) << verified->report.ToJson();
    EXPECT_EQ(verified->evidence->user_data(), client.verifier->user_data);
    const air::Claims second = CheckReceipt(client, *response, *record, evidence.nonce);
    EXPECT_EQ(second.sequence_number, 2u);
  }

  static uint64_t ErrorCodeOf(const Result<protocol::Response>& response) {
    EXPECT_THAT(response, IsOk());
    if (!response.has_value() || response->ok()) {
      ADD_FAILURE() << "expected an error response";
      return 0;
    }
    EXPECT_TRUE(response->receipt.empty());
    return response->error->code;
  }

  // WaitForNoSessions spins until the server reports no active session (bounded).
  static void WaitForNoSessions(const Server& server) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (server.stats().active_sessions != 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::yield();
    }
    EXPECT_EQ(server.stats().active_sessions, 0u);
  }

  bool Logged(std::string_view text) {
    std::lock_guard<std::mutex> lock(log_mu_);
    for (const std::string& line : log_) {
      if (line.find(text) != std::string::npos) {
        return true;
      }
    }
    return false;
  }

  static std::string UnixPath(const std::string& name) {
    return (testing::MakeTempDir() / name).string();
  }

  static engine::Embedder* embedder_;
  static engine::EmbedderBackend* backend_;
  static engine::BatchScheduler* scheduler_;
  static SimEvidenceSource* source_;
  static Service* service_;

  uint16_t port_ = 0;
  std::mutex log_mu_;
  std::vector<std::string> log_;
};

engine::Embedder* ServerTest::embedder_ = nullptr;
engine::EmbedderBackend* ServerTest::backend_ = nullptr;
engine::BatchScheduler* ServerTest::scheduler_ = nullptr;
SimEvidenceSource* ServerTest::source_ = nullptr;
Service* ServerTest::service_ = nullptr;

TEST_F(ServerTest, EmbedAndEvidenceOverTcp) {
  std::unique_ptr<Server> server = StartServer({});
  Result<Client> client = Handshake();
  ASSERT_THAT(client, IsOk());
  RunEmbedAndEvidence(*client);
  EXPECT_EQ(server->stats().requests, 2u);
}

TEST_F(ServerTest, EmbedAndEvidenceOverUnixSocketAndTypedErrors) {
  const std::string path = UnixPath("enclave.sock");
  std::unique_ptr<Server> server = StartServer({}, path);
  Result<Client> client = Handshake(path);
  ASSERT_THAT(client, IsOk());

  // Bad message: not CBOR at all.
  const std::vector<uint8_t> garbage = {0xff, 0x00, 0x13};
  EXPECT_EQ(ErrorCodeOf(client->Call(garbage)), static_cast<uint64_t>(ErrorCode::kProtocolBadCbor));
  // Too many inputs.
  protocol::Limits big;
  big.max_inputs = 4096;
  protocol::Request many;
  many.id = 9;
  many.inputs = std::vector<std::string>(protocol::kDefaultMaxInputs + 1, "x");
  Result<std::vector<uint8_t>> many_record = protocol::EncodeRequest(many, big);
  ASSERT_THAT(many_record, IsOk());
  Result<protocol::Response> too_many = client->Call(*many_record);
  EXPECT_EQ(ErrorCodeOf(too_many), static_cast<uint64_t>(ErrorCode::kProtocolTooManyInputs));
  EXPECT_EQ(too_many->id, 9u);
  // Unknown op.
  Result<std::vector<uint8_t>> generate =
      cbor::Encode(cbor::Value::Map({{cbor::Value::Text("v"), cbor::Value::Uint(1)},
                                     {cbor::Value::Text("id"), cbor::Value::Uint(10)},
                                     {cbor::Value::Text("op"), cbor::Value::Text("generate")}}));
  ASSERT_THAT(generate, IsOk());
  Result<protocol::Response> unknown = client->Call(*generate);
  EXPECT_EQ(ErrorCodeOf(unknown), static_cast<uint64_t>(ErrorCode::kProtocolUnknownOp));
  EXPECT_EQ(unknown->id, 10u);

  // Errors consumed no receipt sequence numbers and did not end the session.
  RunEmbedAndEvidence(*client);
}

TEST_F(ServerTest, HeartbeatIsIgnoredAndShutdownFrameEndsTheSession) {
  std::unique_ptr<Server> server = StartServer({});
  Result<Client> client = Handshake();
  ASSERT_THAT(client, IsOk());
  std::vector<uint8_t> frame;
  ASSERT_THAT(client->session->Seal(channel::FrameType::kHeartbeat, 0, {}, &frame), IsOk());
  ASSERT_THAT(client->stream->WriteAll(frame, kTimeoutMs), IsOk());
  RunEmbedAndEvidence(*client);
  ASSERT_THAT(client->session->Seal(channel::FrameType::kShutdown, 0, {}, &frame), IsOk());
  ASSERT_THAT(client->stream->WriteAll(frame, kTimeoutMs), IsOk());
  std::vector<uint8_t> header(channel::kFrameHeaderSize);
  EXPECT_THAT(client->stream->ReadExact(header, kTimeoutMs), HasError(ErrorCode::kChannelClosed));
  WaitForNoSessions(*server);
  EXPECT_EQ(server->stats().sessions_failed, 0u);
}

TEST_F(ServerTest, AnnouncedPayloadMustArriveWithinTheIoTimeout) {
  // A minute of idle time between records, but a started record gets one second.
  ServerOptions options;
  options.idle_timeout_ms = 60'000;
  options.io_timeout_ms = 1000;
  std::unique_ptr<Server> server = StartServer(options);
  Result<Client> client = Handshake();
  ASSERT_THAT(client, IsOk());
  const auto header = channel::EncodeFrameHeader({.type = channel::FrameType::kData,
                                                  .flags = channel::kFlagEncrypted,
                                                  .sequence = 1,
                                                  .payload_len = 1'000'000});
  ASSERT_THAT(client->stream->WriteAll(header, kTimeoutMs), IsOk());
  ASSERT_THAT(client->stream->WriteAll(std::vector<uint8_t>(10, 0xab), kTimeoutMs), IsOk());
  const auto start = std::chrono::steady_clock::now();
  std::vector<uint8_t> reply(channel::kFrameHeaderSize);
  EXPECT_THAT(client->stream->ReadExact(reply, kTimeoutMs), HasError(ErrorCode::kChannelClosed));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(8));
  WaitForNoSessions(*server);
  EXPECT_EQ(server->stats().sessions_failed, 1u);
  EXPECT_TRUE(Logged("CHANNEL_TIMEOUT"));
}

TEST_F(ServerTest, AFailingSessionDoesNotAffectAnother) {
  std::unique_ptr<Server> server = StartServer({});
  Result<Client> good = Handshake();
  ASSERT_THAT(good, IsOk());
  // A second client completes the handshake and then sends a record that does not open.
  Result<Client> bad = Handshake();
  ASSERT_THAT(bad, IsOk());
  std::vector<uint8_t> frame;
  const std::vector<uint8_t> payload = {1, 2, 3};
  ASSERT_THAT(bad->session->Seal(channel::FrameType::kData, 0, payload, &frame), IsOk());
  frame.back() ^= 0x01;  // break the tag
  ASSERT_THAT(bad->stream->WriteAll(frame, kTimeoutMs), IsOk());
  std::vector<uint8_t> header(channel::kFrameHeaderSize);
  EXPECT_THAT(bad->stream->ReadExact(header, kTimeoutMs), HasError(ErrorCode::kChannelClosed));
  // A third connection sends bytes that are not a frame at all.
  Result<std::unique_ptr<channel::Stream>> raw = Connect();
  ASSERT_THAT(raw, IsOk());
  const std::vector<uint8_t> junk(64, 0x41);
  ASSERT_THAT((*raw)->WriteAll(junk, kTimeoutMs), IsOk());
  // The server closes with unread bytes pending, so the client may see a reset, not an EOF.
  const Status closed = (*raw)->ReadExact(header, kTimeoutMs);
  ASSERT_FALSE(closed.has_value());
  EXPECT_THAT(closed.error().code,
              ::testing::AnyOf(ErrorCode::kChannelClosed, ErrorCode::kChannelIoError));

  RunEmbedAndEvidence(*good);
  good->stream.reset();
  WaitForNoSessions(*server);
  EXPECT_EQ(server->stats().sessions_failed, 2u);
}

TEST_F(ServerTest, ConnectionsOverTheSessionBoundAreClosed) {
  ServerOptions options;
  options.max_sessions = 1;
  std::unique_ptr<Server> server = StartServer(options);
  Result<Client> first = Handshake();
  ASSERT_THAT(first, IsOk());
  Result<Client> second = Handshake();
  EXPECT_FALSE(second.has_value());
  EXPECT_EQ(server->stats().sessions_refused, 1u);
  RunEmbedAndEvidence(*first);
  first->stream.reset();
  WaitForNoSessions(*server);
  Result<Client> third = Handshake();
  ASSERT_THAT(third, IsOk());
  RunEmbedAndEvidence(*third);
  EXPECT_TRUE(Logged("session limit reached"));
}

TEST_F(ServerTest, ShutdownStopsAcceptingAndClosesIdleSessions) {
  const std::string path = UnixPath("stop.sock");
  // The default idle timeout is five minutes: only Shutdown's cancel ends the idle session soon.
  std::unique_ptr<Server> server = StartServer({}, path);
  Result<Client> client = Handshake(path);
  ASSERT_THAT(client, IsOk());
  RunEmbedAndEvidence(*client);
  const auto start = std::chrono::steady_clock::now();
  server->Shutdown();
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_FALSE(Connect(path).has_value());
  server->Join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  EXPECT_EQ(server->stats().active_sessions, 0u);
  EXPECT_EQ(server->stats().sessions_failed, 0u);
  EXPECT_TRUE(Logged("closed by shutdown"));
  // The open session gets no answer to a request sent after Shutdown: it is closed.
  protocol::Request request;
  request.id = 3;
  request.inputs = {"late"};
  Result<std::vector<uint8_t>> record = protocol::EncodeRequest(request);
  ASSERT_THAT(record, IsOk());
  Result<protocol::Response> late = client->Call(*record);
  ASSERT_FALSE(late.has_value());
  EXPECT_THAT(late.error().code,
              ::testing::AnyOf(ErrorCode::kChannelClosed, ErrorCode::kChannelIoError));
}

TEST_F(ServerTest, HandshakeUnderWayAtShutdownIsClosed) {
  std::unique_ptr<Server> server = StartServer({});
  // Connect, and let the server accept, before it stops; then handshake.
  Result<std::unique_ptr<channel::Stream>> stream = Connect();
  ASSERT_THAT(stream, IsOk());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (server->stats().sessions_accepted == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  ASSERT_EQ(server->stats().sessions_accepted, 1u);
  server->Shutdown();
  SimDocumentVerifier verifier(source_);
  channel::MockAttestationProvider provider;
  Result<channel::Initiator> initiator = channel::Initiator::New(&provider, &verifier);
  ASSERT_THAT(initiator, IsOk());
  EXPECT_FALSE(channel::RunInitiatorHandshake(stream->get(), &*initiator).has_value());
  server->Join();
  EXPECT_EQ(server->stats().sessions_failed, 0u);
  EXPECT_TRUE(Logged("closed by shutdown"));
}

}  // namespace
}  // namespace eml::enclave
