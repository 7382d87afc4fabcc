#include "client/session.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "channel/mock_attestation.h"
#include "channel/net/net.h"
#include "crypto/hash.h"
#include "protocol/messages.h"

namespace eml::client {
namespace {

int64_t SystemNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// OneLine keeps peer-chosen text on one printable line.
std::string OneLine(std::string_view text) {
  std::string out(text.substr(0, 256));
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      c = ' ';
    }
  }
  return out;
}

Status CheckNonce(const std::optional<std::vector<uint8_t>>& nonce) {
  if (nonce.has_value() &&
      (nonce->size() < air::kMinNonceBytes || nonce->size() > air::kMaxNonceBytes)) {
    return Error{ErrorCode::kInvalidArgument, "a nonce must be 8..64 bytes"};
  }
  return {};
}

}  // namespace

Result<Endpoint> ParseEndpoint(std::string_view text) {
  Endpoint out;
  if (text.starts_with("tcp:") || text.starts_with("unix:") || text.starts_with("vsock:")) {
    EML_ASSIGN_OR_RETURN(out, channel::ParseAddress(text));
  } else {
    EML_ASSIGN_OR_RETURN(out.tcp, channel::net::ParseHostPort(text));
  }
  if ((out.kind == Endpoint::Kind::kTcp && out.tcp.port == 0) ||
      (out.kind == Endpoint::Kind::kVsock && out.vsock.port == 0)) {
    return Error{ErrorCode::kChannelBadAddress, "port 0 is not a destination"};
  }
  return out;
}

std::string EndpointToString(const Endpoint& endpoint) { return channel::FormatAddress(endpoint); }

Result<channel::AttestedBinding> PolicyChannelVerifier::Verify(std::span<const uint8_t> document) {
  attested_.reset();
  EML_ASSIGN_OR_RETURN(attest::Verification v, policy_->Verify(document, now_unix_, {}));
  if (!v.evidence.has_value()) {
    ErrorCode code = v.report.FirstFailure();
    std::string detail = "enclave attestation refused by the policy";
    for (const attest::StepResult& step : v.report.steps) {
      if (step.status == attest::StepStatus::kFailed) {
        detail += " (" + step.name + ": " + OneLine(step.detail) + ")";
        break;
      }
    }
    return Error{code == ErrorCode::kOk ? ErrorCode::kInternal : code, std::move(detail)};
  }
  const attest::VerifiedEvidence& evidence = *v.evidence;
  if (!evidence.user_data().has_value()) {
    return Error{ErrorCode::kClientBadUserData, "the attestation carries no user_data"};
  }
  Result<protocol::UserData> user_data = protocol::DecodeUserData(*evidence.user_data());
  if (!user_data.has_value()) {
    return Error{ErrorCode::kClientBadUserData,
                 "attested user_data: " + ToString(user_data.error())};
  }
  Result<crypto::Ed25519PublicKey> receipt_key =
      crypto::Ed25519PublicKey::FromBytes(user_data->receipt_key);
  if (!receipt_key.has_value()) {
    return Error{ErrorCode::kClientBadUserData,
                 "attested receipt key: " + ToString(receipt_key.error())};
  }
  std::vector<AttestedModel> models;
  for (const protocol::ModelInfo& m : user_data->models) {
    models.push_back(AttestedModel{m.id, m.model_hash, m.model_hash_scheme});
  }
  channel::AttestedBinding binding;
  if (evidence.public_key().has_value()) {
    binding.public_key = *evidence.public_key();
  }
  if (evidence.nonce().has_value()) {
    binding.nonce = *evidence.nonce();
  }
  binding.document_hash = evidence.document_sha256();
  attested_.emplace(AttestedEnclave(std::move(v.report), std::move(*v.evidence),
                                    std::vector<uint8_t>(document.begin(), document.end()),
                                    std::move(*receipt_key), std::move(models)));
  return binding;
}

Result<std::unique_ptr<Session>> Session::Connect(const Endpoint& endpoint,
                                                  const ClientOptions& options) {
  if (options.policy == nullptr) {
    return Error{ErrorCode::kInvalidArgument, "ClientOptions.policy is required"};
  }
  EML_ASSIGN_OR_RETURN(std::unique_ptr<channel::Stream> stream,
                       channel::Connect(endpoint, options.connect_timeout_ms));
  return Start(std::move(stream), options);
}

Result<std::unique_ptr<Session>> Session::Start(std::unique_ptr<channel::Stream> stream,
                                                const ClientOptions& options) {
  if (options.policy == nullptr) {
    return Error{ErrorCode::kInvalidArgument, "ClientOptions.policy is required"};
  }
  const int64_t now = options.now_unix ? options.now_unix() : SystemNow();
  channel::MockAttestationProvider provider;  // a client has no TEE
  PolicyChannelVerifier verifier(options.policy.get(), now);
  EML_ASSIGN_OR_RETURN(channel::Initiator initiator, channel::Initiator::New(&provider, &verifier));
  // The verifier runs inside the handshake, before the confirmation is sent: a refused
  // document ends the connection without any application byte on the wire.
  EML_ASSIGN_OR_RETURN(
      channel::Session channel,
      channel::RunInitiatorHandshake(stream.get(), &initiator, {}, options.handshake_timeout_ms));
  if (!verifier.attested().has_value()) {
    return Error{ErrorCode::kInternal, "handshake finished without a verified document"};
  }
  return std::unique_ptr<Session>(
      new Session(std::move(stream), std::move(channel), std::move(*verifier.attested()), options));
}

int64_t Session::Now() const { return options_.now_unix ? options_.now_unix() : SystemNow(); }

const AttestedModel* Session::FindModel(std::string_view id) const {
  for (const AttestedModel& m : enclave_.models()) {
    if (m.id == id) {
      return &m;
    }
  }
  return nullptr;
}

Result<Session::Exchange> Session::RoundTrip(std::vector<uint8_t> request, uint64_t id) {
  std::vector<uint8_t> frame;
  EML_RETURN_IF_ERROR(channel_.Seal(channel::FrameType::kData, 0, request, &frame));
  EML_RETURN_IF_ERROR(stream_->WriteAll(frame, options_.request_timeout_ms));
  channel::FrameLimits limits;
  EML_RETURN_IF_ERROR(
      channel::ReadFrame(stream_.get(), limits, options_.request_timeout_ms, &frame));
  std::vector<uint8_t> plaintext;
  EML_ASSIGN_OR_RETURN(channel::FrameHeader header, channel_.Open(frame, &plaintext));
  if (header.type != channel::FrameType::kData) {
    return Error{ErrorCode::kClientBadResponse, "the enclave sent a non-data record"};
  }
  EML_ASSIGN_OR_RETURN(protocol::Response response, protocol::DecodeResponse(plaintext));
  if (response.id != id) {
    return Error{ErrorCode::kClientBadResponse,
                 "response id " + std::to_string(response.id) + " answers no pending request"};
  }
  if (response.error.has_value()) {
    const auto code = static_cast<ErrorCode>(response.error->code);
    return Error{ErrorCode::kClientRemoteError, "enclave error " +
                                                    std::string(ErrorCodeName(code)) + " (" +
                                                    std::to_string(response.error->code) +
                                                    "): " + OneLine(response.error->message)};
  }
  return Exchange{std::move(request), std::move(response.result), std::move(response.receipt)};
}

Result<ReceiptReport> Session::VerifyReceipt(const Exchange& exchange, const AttestedModel& model,
                                             const std::optional<std::vector<uint8_t>>& nonce) {
  ReceiptExpectations e;
  e.request_hash = crypto::Sha256(exchange.request);
  e.response_hash = crypto::Sha256(exchange.result);
  e.attestation_doc_hash = enclave_.document_sha256();
  e.model = model;
  e.nonce = nonce;
  e.last_sequence = last_sequence_;
  e.evaluation_platform = enclave_.evaluation();
  e.platform = enclave_.evidence().platform();
  e.measurements = enclave_.evidence().measurements();
  e.named_measurements = enclave_.evidence().named_measurements();
  e.now_unix = Now();
  e.max_age_s = options_.receipt_max_age_s;
  e.is_cti_seen = [this](std::span<const uint8_t> cti) {
    air::Cti key{};
    if (cti.size() != key.size()) {
      return false;  // the verifier refuses a cti of another size on its own
    }
    std::copy(cti.begin(), cti.end(), key.begin());
    return seen_cti_.contains(key);
  };
  EML_ASSIGN_OR_RETURN(ReceiptReport report,
                       CheckReceipt(exchange.receipt, enclave_.receipt_key(), e));
  if (!report.verified) {
    return Error{report.error, "receipt refused: " + report.Summary()};
  }
  last_sequence_ = report.claims->sequence_number;
  RememberCti(report.claims->cti);
  return report;
}

void Session::RememberCti(const air::Cti& cti) {
  if (!seen_cti_.insert(cti).second) {
    return;
  }
  seen_cti_order_.push_back(cti);
  if (seen_cti_order_.size() > kSeenCtiWindow) {
    seen_cti_.erase(seen_cti_order_.front());
    seen_cti_order_.pop_front();
  }
}

Result<VerifiedEmbeddings> Session::Embed(std::span<const std::string> texts,
                                          const EmbedOptions& options) {
  if (closed_) {
    return Error{ErrorCode::kClientSessionClosed, "the session failed earlier"};
  }
  if (texts.empty()) {
    return Error{ErrorCode::kInvalidArgument, "no texts to embed"};
  }
  EML_RETURN_IF_ERROR(CheckNonce(options.nonce));
  const AttestedModel* model = nullptr;
  if (options.model.has_value()) {
    model = FindModel(*options.model);
    if (model == nullptr) {
      return Error{ErrorCode::kClientUnknownModel,
                   "model \"" + OneLine(*options.model) + "\" is not attested by the enclave"};
    }
  }
  protocol::Request request;
  request.id = next_id_++;
  request.op = protocol::Op::kEmbed;
  request.nonce = options.nonce;
  request.inputs.assign(texts.begin(), texts.end());
  request.model = options.model;
  EML_ASSIGN_OR_RETURN(std::vector<uint8_t> request_bytes, protocol::EncodeRequest(request));

  // From here on, any failure leaves the stream or the receipt chain in doubt: close.
  closed_ = true;
  Result<Exchange> exchange = RoundTrip(std::move(request_bytes), request.id);
  if (!exchange.has_value()) {
    if (exchange.code() == ErrorCode::kClientRemoteError) {
      closed_ = false;
    }
    return exchange.error();
  }
  // The result is decoded (not trusted) only to learn which attested model to hold the receipt
  // to; the receipt then proves the result bytes and that model.
  EML_ASSIGN_OR_RETURN(protocol::EmbedResult result, protocol::DecodeEmbedResult(exchange->result));
  if (model == nullptr) {
    model = FindModel(result.model);
    if (model == nullptr) {
      return Error{ErrorCode::kClientUnknownModel, "the result names model \"" +
                                                       OneLine(result.model) +
                                                       "\", which the attestation does not list"};
    }
  }
  EML_ASSIGN_OR_RETURN(ReceiptReport report, VerifyReceipt(*exchange, *model, options.nonce));
  if (result.model != model->id || result.count != texts.size() ||
      result.token_counts.size() != texts.size()) {
    return Error{ErrorCode::kClientBadResult, "the result does not answer the request"};
  }
  EML_ASSIGN_OR_RETURN(std::vector<float> floats, protocol::DecodeF32Le(result.embeddings));
  VerifiedEmbeddings out;
  out.model_id_ = result.model;
  out.dim_ = static_cast<size_t>(result.dim);
  out.embeddings_ = std::move(floats);
  out.token_counts_ = std::move(result.token_counts);
  out.receipt_ = std::move(exchange->receipt);
  out.request_ = std::move(exchange->request);
  out.result_ = std::move(exchange->result);
  out.report_ = std::move(report);
  closed_ = false;
  return out;
}

Result<VerifiedEnclaveEvidence> Session::Evidence(
    const std::optional<std::vector<uint8_t>>& nonce) {
  if (closed_) {
    return Error{ErrorCode::kClientSessionClosed, "the session failed earlier"};
  }
  EML_RETURN_IF_ERROR(CheckNonce(nonce));
  protocol::Request request;
  request.id = next_id_++;
  request.op = protocol::Op::kEvidence;
  request.nonce = nonce;
  EML_ASSIGN_OR_RETURN(std::vector<uint8_t> request_bytes, protocol::EncodeRequest(request));

  closed_ = true;
  Result<Exchange> exchange = RoundTrip(std::move(request_bytes), request.id);
  if (!exchange.has_value()) {
    if (exchange.code() == ErrorCode::kClientRemoteError) {
      closed_ = false;
    }
    return exchange.error();
  }
  // The evidence receipt names the enclave's default model: the first attested one.
  EML_ASSIGN_OR_RETURN(ReceiptReport report,
                       VerifyReceipt(*exchange, enclave_.models().front(), nonce));
  EML_ASSIGN_OR_RETURN(protocol::EvidenceResult result,
                       protocol::DecodeEvidenceResult(exchange->result));
  attest::BindingExpectation binding;
  binding.nonce = nonce;
  binding.public_key = enclave_.evidence().public_key();
  EML_ASSIGN_OR_RETURN(attest::Verification v,
                       options_.policy->Verify(result.attestation_doc, Now(), binding));
  if (!v.evidence.has_value()) {
    const ErrorCode code = v.report.FirstFailure();
    return Error{code == ErrorCode::kOk ? ErrorCode::kInternal : code,
                 "fresh evidence refused by the policy"};
  }
  if (v.evidence->platform() != enclave_.evidence().platform() ||
      v.evidence->user_data() != enclave_.evidence().user_data() ||
      v.evidence->measurements() != enclave_.evidence().measurements() ||
      v.evidence->named_measurements() != enclave_.evidence().named_measurements()) {
    return Error{ErrorCode::kClientEvidenceMismatch,
                 "fresh evidence differs from the handshake's (platform, user_data or "
                 "measurements)"};
  }
  VerifiedEnclaveEvidence out;
  out.document_ = std::move(result.attestation_doc);
  out.report_ = std::move(v.report);
  out.receipt_ = std::move(exchange->receipt);
  out.receipt_report_ = std::move(report);
  closed_ = false;
  return out;
}

}  // namespace eml::client
