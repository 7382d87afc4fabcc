#include "enclave/service.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "air/verifier.h"
#include "crypto/hash.h"
#include "enclave/server.h"
#include "enclave/testing/sim_fixture.h"
#include "testing/test_util.h"

namespace eml::enclave {
namespace {

using ::eml::testing::HasError;
using ::eml::testing::IsOk;

constexpr size_t kFakeDim = 3;
constexpr int kSlowTextMs = 40;

// FakeBackend: one token per byte; row = {tokens, sum of bytes, first byte}. Texts starting
// with '!' fail the batch (kInternal), to check that engine errors travel as codes only; texts
// starting with '~' take kSlowTextMs, to check the receipt's execution time.
class FakeBackend final : public engine::EmbedBackend {
 public:
  Status Tokenize(std::string_view text, tokenizer::Encoding* out) const override {
    out->ids.assign(1, 101);
    for (const char c : text.substr(0, 62)) {
      out->ids.push_back(static_cast<unsigned char>(c));
    }
    out->ids.push_back(102);
    out->type_ids.assign(out->ids.size(), 0);
    out->attention_mask.assign(out->ids.size(), 1);
    return OkStatus();
  }
  Result<engine::EmbedResult> EmbedTokenized(
      std::span<const engine::TokenizedText> texts) override {
    engine::EmbedResult out;
    out.dim = kFakeDim;
    for (const engine::TokenizedText& t : texts) {
      if (t.ids.size() > 2 && t.ids[1] == '!') {
        return Error{ErrorCode::kInternal, "secret internal detail"};
      }
      if (t.ids.size() > 2 && t.ids[1] == '~') {
        std::this_thread::sleep_for(std::chrono::milliseconds(kSlowTextMs));
      }
      float sum = 0;
      for (const int32_t id : t.ids) {
        sum += static_cast<float>(id);
      }
      out.embeddings.push_back(static_cast<float>(t.ids.size()));
      out.embeddings.push_back(sum);
      out.embeddings.push_back(static_cast<float>(t.ids[1]));
      out.token_counts.push_back(static_cast<uint32_t>(t.ids.size()));
    }
    return out;
  }
  size_t dim() const override { return kFakeDim; }
  size_t max_seq_length() const override { return 64; }
};

ModelIdentity TestModel() {
  ModelIdentity model;
  model.id = "fake-model";
  model.version = "1";
  model.hash = crypto::Sha256(std::vector<uint8_t>{1, 2, 3});
  return model;
}

class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    source_ = testing::NewSimSource(testing::MakeTempDir());
    Result<std::unique_ptr<engine::BatchScheduler>> scheduler =
        engine::BatchScheduler::Create(&backend_, engine::SchedulerOptions{});
    ASSERT_THAT(scheduler, IsOk());
    scheduler_ = *std::move(scheduler);
    Result<std::unique_ptr<Service>> service =
        Service::Create(source_.get(), scheduler_.get(), TestModel());
    ASSERT_THAT(service, IsOk());
    service_ = *std::move(service);
    // What the handshake would do: attest an X25519 key and nonce for this session.
    attester_ = service_->NewHandshakeAttester();
    ASSERT_THAT(attester_->Attest(std::vector<uint8_t>(32, 9), std::vector<uint8_t>(32, 8)),
                IsOk());
    session_.attestation_doc_hash = attester_->document_sha256();
    session_.handshake_public_key = attester_->public_key();
  }

  protocol::Response Call(const std::vector<uint8_t>& record) {
    const std::vector<uint8_t> bytes = service_->Handle(&session_, record);
    Result<protocol::Response> response = protocol::DecodeResponse(bytes);
    EXPECT_THAT(response, IsOk());
    return response.has_value() ? *response : protocol::Response{};
  }

  std::vector<uint8_t> Encode(const protocol::Request& request) {
    Result<std::vector<uint8_t>> bytes = protocol::EncodeRequest(request);
    EXPECT_THAT(bytes, IsOk());
    return bytes.has_value() ? *bytes : std::vector<uint8_t>{};
  }

  // VerifyReceipt checks every claim the client checks; returns the verified claims.
  air::Claims VerifyReceipt(const protocol::Response& response,
                            const std::vector<uint8_t>& request_record,
                            const std::optional<std::vector<uint8_t>>& nonce) {
    air::VerifyPolicy policy;
    policy.expected_model_hash = TestModel().hash;
    policy.expected_request_hash = crypto::Sha256(request_record);
    policy.expected_response_hash = crypto::Sha256(response.result);
    policy.expected_attestation_doc_hash = session_.attestation_doc_hash;
    policy.expected_model_id = "fake-model";
    policy.expected_security_mode = air::SecurityMode::kEvaluation;
    policy.allow_evaluation = true;
    policy.expected_platform = air::Platform::kNitroPcr;
    policy.expected_nonce = nonce;
    policy.require_nonce = nonce.has_value();
    // The key comes from the attested user_data, as a client gets it.
    Result<protocol::UserData> user_data = protocol::DecodeUserData(service_->user_data());
    EXPECT_THAT(user_data, IsOk());
    Result<crypto::Ed25519PublicKey> key = crypto::Ed25519PublicKey::FromBytes(
        user_data.has_value() ? user_data->receipt_key : std::array<uint8_t, 32>{});
    EXPECT_THAT(key, IsOk());
    if (!key.has_value()) {
      return {};
    }
    Result<air::VerificationReport> report = air::VerifyReceipt(response.receipt, *key, policy);
    EXPECT_THAT(report, IsOk());
    if (!report.has_value() || !report->verified()) {
      ADD_FAILURE() << "receipt did not verify";
      return {};
    }
    return report->verified_receipt()->claims();
  }

  FakeBackend backend_;
  std::unique_ptr<SimEvidenceSource> source_;
  std::unique_ptr<engine::BatchScheduler> scheduler_;
  std::unique_ptr<Service> service_;
  std::unique_ptr<HandshakeAttester> attester_;
  SessionState session_;
};

TEST_F(ServiceTest, UserDataNamesReceiptKeyProtocolAndModel) {
  Result<protocol::UserData> user_data = protocol::DecodeUserData(service_->user_data());
  ASSERT_THAT(user_data, IsOk());
  EXPECT_EQ(user_data->protocol, 4u);
  EXPECT_EQ(user_data->receipt_key, service_->receipt_public_key().bytes());
  ASSERT_EQ(user_data->models.size(), 1u);
  EXPECT_EQ(user_data->models[0].id, "fake-model");
  EXPECT_EQ(user_data->models[0].model_hash, TestModel().hash);
  EXPECT_EQ(user_data->models[0].model_hash_scheme, "sha256-single");
  // The handshake document carries exactly these user_data bytes.
  Result<attest::Verification> verified =
      testing::VerifySimDocument(*source_, attester_->document());
  ASSERT_THAT(verified, IsOk());
  ASSERT_TRUE(verified->evidence.has_value());
  EXPECT_EQ(verified->evidence->user_data(), service_->user_data());
}

TEST_F(ServiceTest, ExecutionTimeCoversTheRequest) {
  protocol::Request request;
  request.id = 9;
  request.inputs = {"~slow"};
  const std::vector<uint8_t> record = Encode(request);
  const auto start = std::chrono::steady_clock::now();
  const protocol::Response response = Call(record);
  const auto elapsed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::steady_clock::now() - start)
                              .count();
  ASSERT_TRUE(response.ok()) << response.error->message;
  const air::Claims claims = VerifyReceipt(response, record, std::nullopt);
  EXPECT_GE(claims.execution_time_ms, static_cast<uint64_t>(kSlowTextMs));
  EXPECT_LE(claims.execution_time_ms, static_cast<uint64_t>(elapsed_ms));
}

TEST_F(ServiceTest, EmbedReturnsRowsAndAnHonestReceipt) {
  protocol::Request request;
  request.id = 5;
  request.inputs = {"ab", "c"};
  request.nonce = std::vector<uint8_t>(16, 0x42);
  const std::vector<uint8_t> record = Encode(request);
  const uint64_t peak_before = MemoryPeakMb();
  const protocol::Response response = Call(record);
  const uint64_t peak_after = MemoryPeakMb();
  ASSERT_TRUE(response.ok()) << response.error->message;
  EXPECT_EQ(response.id, 5u);
  Result<protocol::EmbedResult> result = protocol::DecodeEmbedResult(response.result);
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->model, "fake-model");
  EXPECT_EQ(result->dim, kFakeDim);
  EXPECT_EQ(result->count, 2u);
  EXPECT_EQ(result->token_counts, (std::vector<uint64_t>{4, 3}));
  Result<std::vector<float>> rows = protocol::DecodeF32Le(result->embeddings);
  ASSERT_THAT(rows, IsOk());
  EXPECT_EQ(*rows, (std::vector<float>{4, 101 + 'a' + 'b' + 102, 'a', 3, 101 + 'c' + 102, 'c'}));

  const air::Claims claims = VerifyReceipt(response, record, request.nonce);
  EXPECT_EQ(claims.sequence_number, 1u);
  EXPECT_EQ(claims.enclave_measurements, source_->measurements());
  EXPECT_EQ(claims.security_mode, "evaluation");
  EXPECT_EQ(claims.model_hash_scheme, std::optional<std::string>("sha256-single"));
  // The peak only grows, so the value sampled while serving lies between the two around the call.
  EXPECT_GE(claims.memory_peak_mb, peak_before);
  EXPECT_LE(claims.memory_peak_mb, peak_after);
  EXPECT_GE(claims.memory_peak_mb, 1u);
  EXPECT_EQ(claims.iss, source_->issuer());
  EXPECT_EQ(claims.cti[6] >> 4, 4);  // UUID v4

  // The next receipt of the session carries the next sequence number; no nonce, no eat_nonce.
  request.nonce.reset();
  request.id = 6;
  const std::vector<uint8_t> second = Encode(request);
  const protocol::Response response2 = Call(second);
  ASSERT_TRUE(response2.ok());
  const air::Claims claims2 = VerifyReceipt(response2, second, std::nullopt);
  EXPECT_EQ(claims2.sequence_number, 2u);
  EXPECT_FALSE(claims2.eat_nonce.has_value());
  EXPECT_NE(claims2.cti, claims.cti);
}

TEST_F(ServiceTest, EvidenceMintsAFreshDocumentForTheNonce) {
  protocol::Request request;
  request.id = 77;
  request.op = protocol::Op::kEvidence;
  request.nonce = std::vector<uint8_t>(32, 0xee);
  const std::vector<uint8_t> record = Encode(request);
  const protocol::Response response = Call(record);
  ASSERT_TRUE(response.ok()) << response.error->message;
  Result<protocol::EvidenceResult> result = protocol::DecodeEvidenceResult(response.result);
  ASSERT_THAT(result, IsOk());
  EXPECT_NE(result->attestation_doc, attester_->document());
  Result<attest::Verification> verified = testing::VerifySimDocument(
      *source_, result->attestation_doc, request.nonce, session_.handshake_public_key);
  ASSERT_THAT(verified, IsOk());
  ASSERT_TRUE(verified->evidence.has_value()) << verified->report.ToJson();
  EXPECT_EQ(verified->evidence->user_data(), service_->user_data());
  const air::Claims claims = VerifyReceipt(response, record, request.nonce);
  EXPECT_EQ(claims.sequence_number, 1u);
}

TEST_F(ServiceTest, BadMessageIsATypedErrorWithIdZero) {
  const protocol::Response response = Call({0xa1, 0x61});
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.id, 0u);
  EXPECT_EQ(response.error->code, static_cast<uint64_t>(ErrorCode::kProtocolBadCbor));
  EXPECT_TRUE(response.receipt.empty());
}

TEST_F(ServiceTest, TooManyInputsEchoesTheId) {
  protocol::Limits big;
  big.max_inputs = 2000;
  protocol::Request request;
  request.id = 31;
  request.inputs = std::vector<std::string>(protocol::kDefaultMaxInputs + 1, "x");
  Result<std::vector<uint8_t>> record = protocol::EncodeRequest(request, big);
  ASSERT_THAT(record, IsOk());
  const protocol::Response response = Call(*record);
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.id, 31u);
  EXPECT_EQ(response.error->code, static_cast<uint64_t>(ErrorCode::kProtocolTooManyInputs));
}

TEST_F(ServiceTest, ShortNonceIsRefused) {
  protocol::Request request;
  request.id = 3;
  request.inputs = {"a"};
  request.nonce = std::vector<uint8_t>(4, 1);
  const protocol::Response response = Call(Encode(request));
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error->code, static_cast<uint64_t>(ErrorCode::kEnclaveNonceTooShort));
  // The refused request consumed no sequence number.
  EXPECT_EQ(session_.last_sequence, 0u);
}

TEST_F(ServiceTest, UnknownModelIsRefused) {
  protocol::Request request;
  request.inputs = {"a"};
  request.model = "another-model";
  const protocol::Response response = Call(Encode(request));
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error->code, static_cast<uint64_t>(ErrorCode::kEnclaveUnknownModel));
  request.model = "fake-model";
  EXPECT_TRUE(Call(Encode(request)).ok());
}

TEST_F(ServiceTest, EngineErrorsCarryTheCodeButNoDetail) {
  protocol::Request request;
  request.inputs = {"!boom"};
  const protocol::Response response = Call(Encode(request));
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error->code, static_cast<uint64_t>(ErrorCode::kInternal));
  EXPECT_EQ(response.error->message, "INTERNAL");
}

TEST(ServiceCreateTest, BadConfigRejected) {
  auto source = testing::NewSimSource(testing::MakeTempDir());
  ModelIdentity model = TestModel();
  model.hash_scheme = "md5";
  EXPECT_THAT(Service::Create(source.get(), nullptr, model),
              HasError(ErrorCode::kEnclaveBadConfig));
  model = TestModel();
  model.id.clear();
  EXPECT_THAT(Service::Create(source.get(), nullptr, model),
              HasError(ErrorCode::kEnclaveBadConfig));
}

TEST(ServerCreateTest, BadOptionsRejected) {
  ServerOptions options;
  options.max_sessions = 0;
  Service* service = nullptr;
  EXPECT_THAT(Server::Create(service, options), HasError(ErrorCode::kEnclaveBadConfig));
}

TEST(HashModelWeightsTest, HashesFileBytes) {
  const std::filesystem::path dir = testing::MakeTempDir();
  std::vector<uint8_t> bytes(3 * 1024 * 1024 + 17);
  for (size_t i = 0; i < bytes.size(); ++i) {
    bytes[i] = static_cast<uint8_t>(i * 31);
  }
  {
    std::ofstream out(dir / "model.safetensors", std::ios::binary);
    for (const uint8_t b : bytes) {
      out.put(static_cast<char>(b));
    }
  }
  Result<air::Sha256Digest> hash = HashModelWeights(dir / "model.safetensors");
  ASSERT_THAT(hash, IsOk());
  EXPECT_EQ(*hash, crypto::Sha256(bytes));
  EXPECT_THAT(HashModelWeights(dir / "missing"), HasError(ErrorCode::kNotFound));
}

}  // namespace
}  // namespace eml::enclave
