#include "client/testing/fake_enclave.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <string_view>
#include <utility>

#include "air/claims.h"
#include "air/issuer.h"
#include "channel/handshake.h"
#include "channel/mock_attestation.h"
#include "channel/transport.h"
#include "common/encoding.h"
#include "crypto/hash.h"
#include "protocol/messages.h"

namespace eml::client::testing {
namespace {

constexpr std::string_view kBinary = "fake enclave binary";
constexpr std::string_view kConfig = "fake enclave configuration";
constexpr std::string_view kAnchors = "fake enclave trust anchors";
constexpr std::string_view kWeights = "fake model weights";

int64_t NowUnix() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::vector<uint8_t> UserDataBytes(const crypto::Ed25519PublicKey& key, const std::string& id) {
  protocol::UserData user_data;
  user_data.receipt_key = key.bytes();
  user_data.models.push_back({id, crypto::Sha256(AsBytes(kWeights)), "sha256-single"});
  Result<std::vector<uint8_t>> bytes = protocol::EncodeUserData(user_data);
  EML_CHECK(bytes.has_value());
  return *bytes;
}

// SimChannelProvider attests handshake keys with the sim provider and remembers the document.
class SimChannelProvider final : public channel::AttestationProvider {
 public:
  SimChannelProvider(const attest::sim::SimProvider* sim, std::vector<uint8_t> user_data)
      : sim_(sim), user_data_(std::move(user_data)) {}

  Result<std::vector<uint8_t>> Attest(std::span<const uint8_t> nonce,
                                      std::span<const uint8_t> public_key) override {
    attest::sim::AttestationRequest request;
    request.public_key = std::vector<uint8_t>(public_key.begin(), public_key.end());
    request.nonce = std::vector<uint8_t>(nonce.begin(), nonce.end());
    request.user_data = user_data_;
    EML_ASSIGN_OR_RETURN(document, sim_->Attest(request, static_cast<uint64_t>(NowUnix()) * 1000));
    public_key_ = *request.public_key;
    return document;
  }

  std::vector<uint8_t> document;
  std::vector<uint8_t> public_key_;

 private:
  const attest::sim::SimProvider* sim_;
  std::vector<uint8_t> user_data_;
};

}  // namespace

Result<std::unique_ptr<FakeEnclave>> FakeEnclave::Create(const std::filesystem::path& state_dir,
                                                         Faults faults) {
  attest::sim::MeasuredInputs inputs{AsBytes(kBinary), AsBytes(kConfig), AsBytes(kAnchors)};
  EML_ASSIGN_OR_RETURN(attest::sim::SimProvider sim,
                       attest::sim::SimProvider::Create(state_dir, inputs, NowUnix()));
  EML_ASSIGN_OR_RETURN(crypto::Ed25519PrivateKey key, crypto::Ed25519PrivateKey::Generate());
  EML_ASSIGN_OR_RETURN(crypto::Ed25519PrivateKey other, crypto::Ed25519PrivateKey::Generate());
  return std::unique_ptr<FakeEnclave>(
      new FakeEnclave(state_dir, std::move(sim), std::move(key), std::move(other), faults));
}

std::filesystem::path FakeEnclave::root_pem() const {
  return state_dir_ / attest::sim::kStateSubdir / attest::sim::kRootCertFile;
}

std::vector<uint8_t> FakeEnclave::model_hash() const {
  const auto h = crypto::Sha256(AsBytes(kWeights));
  return std::vector<uint8_t>(h.begin(), h.end());
}

std::string FakeEnclave::SimPolicyJson(
    const std::map<uint32_t, std::vector<uint8_t>>& pcr_override) const {
  nlohmann::json pcrs = nlohmann::json::object();
  for (uint32_t i = 0; i < 3; ++i) {
    auto it = pcr_override.find(i);
    pcrs[std::to_string(i)] = HexEncode(it != pcr_override.end() ? it->second : sim_.pcrs().at(i));
  }
  nlohmann::json policy = {
      {"version", 1},
      {"platforms", {{"sim", {{"roots", {root_pem().string()}}, {"pcrs", pcrs}}}}},
      {"allow_debug", false},
      {"max_evidence_age_s", 600}};
  return policy.dump();
}

ServeLog FakeEnclave::ServeOne(channel::net::Listener* listener) {
  ServeLog log;
  Result<std::unique_ptr<channel::Stream>> stream = listener->Accept(30'000);
  if (!stream.has_value()) {
    log.handshake = stream.error();
    return log;
  }
  const std::vector<uint8_t> user_data =
      faults_.bad_user_data ? std::vector<uint8_t>{0xa0}
                            : UserDataBytes(receipt_key_.public_key(), kFakeModelId);
  SimChannelProvider provider(&sim_, user_data);
  channel::MockAttestationVerifier verifier;
  Result<channel::Responder> responder = channel::Responder::New(&provider, &verifier);
  EML_CHECK(responder.has_value());
  Result<channel::Session> session =
      channel::RunResponderHandshake(stream->get(), &*responder, {}, 30'000);
  if (!session.has_value()) {
    log.handshake = session.error();
    // Read on: whatever a refusing client still sends would be counted here.
    std::vector<uint8_t> frame;
    while (channel::ReadFrame(stream->get(), {}, 2'000, &frame).has_value()) {
      ++log.records_received;
    }
    return log;
  }
  const std::vector<uint8_t> doc_hash = [&] {
    const auto h = crypto::Sha256(provider.document);
    return std::vector<uint8_t>(h.begin(), h.end());
  }();
  uint64_t sequence = 0;
  for (;;) {
    std::vector<uint8_t> frame;
    if (!channel::ReadFrame(stream->get(), {}, 30'000, &frame).has_value()) {
      return log;  // the client left
    }
    std::vector<uint8_t> plaintext;
    if (!session->Open(frame, &plaintext).has_value()) {
      return log;
    }
    ++log.records_received;
    Result<protocol::Request> request = protocol::DecodeRequest(plaintext);
    EML_CHECK(request.has_value());
    if (faults_.answer_with_error) {
      protocol::Response error;
      error.id = request->id;
      error.error = protocol::ResponseError{static_cast<uint64_t>(ErrorCode::kInvalidArgument),
                                            "refused\nby the fake"};
      Result<std::vector<uint8_t>> bytes = protocol::EncodeResponse(error);
      EML_CHECK(bytes.has_value());
      std::vector<uint8_t> out;
      EML_CHECK(session->Seal(channel::FrameType::kData, 0, *bytes, &out).has_value());
      if (!(*stream)->WriteAll(out, 30'000).has_value()) {
        return log;
      }
      ++log.responses_sent;
      continue;
    }
    std::vector<uint8_t> result;
    if (request->op == protocol::Op::kEmbed) {
      protocol::EmbedResult r;
      r.model = faults_.wrong_result_model ? "unlisted-model" : kFakeModelId;
      r.dim = kFakeDim;
      const size_t rows = request->inputs.size() - (faults_.drop_last_row ? 1 : 0);
      r.count = rows;
      std::vector<float> values;
      for (size_t i = 0; i < rows; ++i) {
        r.token_counts.push_back(request->inputs[i].size() + 2);
        for (size_t c = 0; c < kFakeDim; ++c) {
          values.push_back(static_cast<float>(i) + 0.25f * static_cast<float>(c));
        }
      }
      r.embeddings = protocol::EncodeF32Le(values);
      Result<std::vector<uint8_t>> bytes = protocol::EncodeEmbedResult(r);
      EML_CHECK(bytes.has_value());
      result = std::move(*bytes);
    } else {
      attest::sim::AttestationRequest ar;
      ar.public_key = provider.public_key_;
      ar.nonce = request->nonce;
      ar.user_data = faults_.other_user_data_in_evidence
                         ? UserDataBytes(other_key_.public_key(), kFakeModelId)
                         : user_data;
      Result<std::vector<uint8_t>> doc = sim_.Attest(ar, static_cast<uint64_t>(NowUnix()) * 1000);
      EML_CHECK(doc.has_value());
      Result<std::vector<uint8_t>> bytes =
          protocol::EncodeEvidenceResult(protocol::EvidenceResult{std::move(*doc)});
      EML_CHECK(bytes.has_value());
      result = std::move(*bytes);
    }
    air::Claims claims;
    claims.iss = "fake-enclave";
    claims.iat = static_cast<uint64_t>(NowUnix());
    ++sequence;
    claims.cti = {0x40, 0x01};
    const uint64_t cti_counter = faults_.repeat_cti ? 1 : sequence;
    for (size_t i = 0; i < 8; ++i) {
      claims.cti[15 - i] = static_cast<uint8_t>(cti_counter >> (8 * i));
    }
    claims.eat_nonce = request->nonce;
    claims.model_id = kFakeModelId;
    claims.model_version = "1";
    std::copy_n(crypto::Sha256(AsBytes(kWeights)).begin(), 32, claims.model_hash.begin());
    claims.request_hash = crypto::Sha256(plaintext);
    claims.response_hash = crypto::Sha256(result);
    std::copy(doc_hash.begin(), doc_hash.end(), claims.attestation_doc_hash.begin());
    claims.enclave_measurements.measurement_type = std::string(air::kMeasurementTypeNitro);
    claims.enclave_measurements.pcr0 = sim_.pcrs().at(0);
    claims.enclave_measurements.pcr1 = sim_.pcrs().at(1);
    claims.enclave_measurements.pcr2 = sim_.pcrs().at(2);
    claims.policy_version = "fake-policy-1";
    claims.sequence_number = faults_.repeat_sequence ? 1 : sequence;
    claims.execution_time_ms = 1;
    claims.memory_peak_mb = 1;
    claims.security_mode = std::string(faults_.production_mode ? air::kSecurityModeProduction
                                                               : air::kSecurityModeEvaluation);
    claims.model_hash_scheme = std::string(air::kSchemeSha256Single);
    Result<std::vector<uint8_t>> receipt =
        air::IssueReceipt(claims, faults_.sign_with_other_key ? other_key_ : receipt_key_);
    EML_CHECK(receipt.has_value());
    protocol::Response response;
    response.id = request->id + (faults_.wrong_response_id ? 1 : 0);
    response.result = std::move(result);
    response.receipt = std::move(*receipt);
    Result<std::vector<uint8_t>> bytes = protocol::EncodeResponse(response);
    EML_CHECK(bytes.has_value());
    std::vector<uint8_t> out;
    EML_CHECK(session->Seal(channel::FrameType::kData, 0, *bytes, &out).has_value());
    if (!(*stream)->WriteAll(out, 30'000).has_value()) {
      return log;
    }
    ++log.responses_sent;
  }
}

}  // namespace eml::client::testing
