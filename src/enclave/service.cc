#include "enclave/service.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <system_error>
#include <utility>

#include "common/error.h"
#include "crypto/hash.h"
#include "crypto/random.h"

namespace eml::enclave {
namespace {

constexpr size_t kHashChunkBytes = size_t{1} << 20;

bool IsClientFacingCode(ErrorCode code) {
  const auto value = static_cast<uint16_t>(code);
  // Protocol (1000-1019) and enclave (1020-1049) details describe the client's own request.
  return value >= 1000 && value < 1050;
}

uint64_t UnixSeconds() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

// NewCti returns 16 random bytes shaped as a UUID v4 (RFC 9562 section 5.4).
Result<air::Cti> NewCti() {
  air::Cti cti{};
  EML_RETURN_IF_ERROR(crypto::RandomBytes(cti));
  cti[6] = static_cast<uint8_t>((cti[6] & 0x0f) | 0x40);
  cti[8] = static_cast<uint8_t>((cti[8] & 0x3f) | 0x80);
  return cti;
}

}  // namespace

Result<air::Sha256Digest> HashModelWeights(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return Error{ErrorCode::kNotFound, "model weights not found: " + path.string()};
  }
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return Error{ErrorCode::kIoError, "cannot open " + path.string()};
  }
  crypto::Sha256Hasher hasher;
  std::vector<uint8_t> chunk(kHashChunkBytes);
  while (true) {
    const ssize_t got = ::read(fd, chunk.data(), chunk.size());
    if (got < 0 && errno == EINTR) {
      continue;
    }
    if (got < 0) {
      ::close(fd);
      return Error{ErrorCode::kIoError, "cannot read " + path.string()};
    }
    if (got == 0) {
      break;
    }
    hasher.Update(std::span<const uint8_t>(chunk).first(static_cast<size_t>(got)));
  }
  ::close(fd);
  return hasher.Finish();
}

uint64_t MemoryPeakMb() {
  struct rusage usage {};
  if (getrusage(RUSAGE_SELF, &usage) != 0 || usage.ru_maxrss <= 0) {
    return 1;
  }
  // ru_maxrss is in KiB on Linux.
  const auto kib = static_cast<uint64_t>(usage.ru_maxrss);
  return (kib + 1023) / 1024;
}

Result<std::unique_ptr<Service>> Service::Create(const EvidenceSource* source,
                                                 engine::BatchScheduler* scheduler,
                                                 ModelIdentity model,
                                                 const ServiceOptions& options) {
  if (model.id.empty() || model.id.size() > protocol::kMaxModelIdBytes ||
      !air::IsKnownModelHashScheme(model.hash_scheme) || model.version.empty() ||
      model.version.size() > air::kMaxModelVersionBytes || options.policy_version.empty() ||
      options.policy_version.size() > air::kMaxPolicyVersionBytes) {
    return Error{ErrorCode::kEnclaveBadConfig,
                 "model id, version, hash scheme or policy version out of range"};
  }
  // Receipts repeat the source's measurements; AIR v1 can express only Nitro PCRs and TDX
  // registers (SEV-SNP and Confidential Space sources attest, but cannot back receipts).
  if (!air::IsKnownMeasurementType(source->measurements().measurement_type)) {
    return Error{ErrorCode::kEnclaveBadConfig,
                 "AIR v1 has no measurement type for platform " + std::string(source->platform())};
  }
  EML_ASSIGN_OR_RETURN(crypto::Ed25519PrivateKey key, crypto::Ed25519PrivateKey::Generate());
  protocol::UserData user_data;
  std::copy(key.public_key().bytes().begin(), key.public_key().bytes().end(),
            user_data.receipt_key.begin());
  user_data.models.push_back(protocol::ModelInfo{model.id, model.hash, model.hash_scheme});
  EML_ASSIGN_OR_RETURN(std::vector<uint8_t> encoded, protocol::EncodeUserData(user_data));
  return std::unique_ptr<Service>(new Service(source, scheduler, std::move(model), options,
                                              std::move(key), std::move(encoded)));
}

std::unique_ptr<HandshakeAttester> Service::NewHandshakeAttester() const {
  return std::make_unique<HandshakeAttester>(source_, user_data_);
}

std::vector<uint8_t> Service::ErrorResponse(uint64_t id, const Error& error) {
  protocol::Response response;
  response.id = id;
  std::string message =
      IsClientFacingCode(error.code) ? ToString(error) : std::string(ErrorCodeName(error.code));
  if (message.size() > protocol::kMaxErrorMessageBytes) {
    message.resize(protocol::kMaxErrorMessageBytes);
    // Cut back to a UTF-8 boundary so the text string stays valid.
    while (!message.empty() && (static_cast<uint8_t>(message.back()) & 0xc0) == 0x80) {
      message.pop_back();
    }
    if (!message.empty() && (static_cast<uint8_t>(message.back()) & 0x80) != 0) {
      message.pop_back();
    }
  }
  response.error = protocol::ResponseError{static_cast<uint64_t>(error.code), std::move(message)};
  Result<std::vector<uint8_t>> bytes = protocol::EncodeResponse(response);
  // An error response is a few hundred bytes of valid fields: encoding cannot fail.
  EML_CHECK(bytes.has_value());
  return *std::move(bytes);
}

Result<std::vector<uint8_t>> Service::RunEmbed(const protocol::Request& request) {
  if (request.model.has_value() && *request.model != model_.id) {
    return Error{ErrorCode::kEnclaveUnknownModel, "this enclave serves \"" + model_.id + "\""};
  }
  EML_ASSIGN_OR_RETURN(engine::EmbedResult rows, scheduler_->Embed(request.inputs));
  protocol::EmbedResult result;
  result.model = model_.id;
  result.dim = rows.dim;
  result.count = rows.token_counts.size();
  result.embeddings = protocol::EncodeF32Le(rows.embeddings);
  result.token_counts.assign(rows.token_counts.begin(), rows.token_counts.end());
  return protocol::EncodeEmbedResult(result, options_.limits);
}

Result<std::vector<uint8_t>> Service::RunEvidence(const SessionState& session,
                                                  const protocol::Request& request) {
  std::optional<std::span<const uint8_t>> nonce;
  if (request.nonce.has_value()) {
    nonce = std::span<const uint8_t>(*request.nonce);
  }
  EML_ASSIGN_OR_RETURN(
      std::vector<uint8_t> document,
      source_->Attest(std::span<const uint8_t>(session.handshake_public_key), nonce, user_data_));
  return protocol::EncodeEvidenceResult(protocol::EvidenceResult{std::move(document)});
}

Result<std::vector<uint8_t>> Service::Run(const SessionState& session,
                                          const protocol::Request& request) {
  if (request.nonce.has_value() && request.nonce->size() < air::kMinNonceBytes) {
    return Error{ErrorCode::kEnclaveNonceTooShort, "receipts echo nonces of 8..64 bytes"};
  }
  switch (request.op) {
    case protocol::Op::kEmbed:
      return RunEmbed(request);
    case protocol::Op::kEvidence:
      return RunEvidence(session, request);
  }
  return Error{ErrorCode::kProtocolUnknownOp, "unknown op"};
}

std::vector<uint8_t> Service::Handle(SessionState* session,
                                     std::span<const uint8_t> request_record) {
  const auto started = std::chrono::steady_clock::now();
  Result<protocol::Request> request = protocol::DecodeRequest(request_record, options_.limits);
  if (!request.has_value()) {
    return ErrorResponse(protocol::PeekRequestId(request_record, options_.limits).value_or(0),
                         request.error());
  }
  Result<std::vector<uint8_t>> result = Run(*session, *request);
  if (!result.has_value()) {
    return ErrorResponse(request->id, result.error());
  }
  const auto elapsed = std::chrono::steady_clock::now() - started;

  air::Claims claims;
  claims.iss = source_->issuer();
  claims.iat = UnixSeconds();
  Result<air::Cti> cti = NewCti();
  if (!cti.has_value()) {
    return ErrorResponse(request->id, cti.error());
  }
  claims.cti = *cti;
  claims.eat_nonce = request->nonce;
  claims.model_id = model_.id;
  claims.model_version = model_.version;
  claims.model_hash = model_.hash;
  claims.request_hash = crypto::Sha256(request_record);
  claims.response_hash = crypto::Sha256(*result);
  claims.attestation_doc_hash = session->attestation_doc_hash;
  claims.enclave_measurements = source_->measurements();
  claims.policy_version = options_.policy_version;
  claims.sequence_number = session->last_sequence + 1;
  claims.execution_time_ms =
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count());
  claims.memory_peak_mb = MemoryPeakMb();
  claims.security_mode = std::string(source_->security_mode());
  claims.model_hash_scheme = model_.hash_scheme;
  Result<std::vector<uint8_t>> receipt = air::IssueReceipt(claims, receipt_key_);
  if (!receipt.has_value()) {
    return ErrorResponse(request->id, receipt.error());
  }
  session->last_sequence = claims.sequence_number;

  protocol::Response response;
  response.id = request->id;
  response.result = *std::move(result);
  response.receipt = *std::move(receipt);
  Result<std::vector<uint8_t>> bytes = protocol::EncodeResponse(response, options_.limits);
  if (!bytes.has_value()) {
    return ErrorResponse(request->id, bytes.error());
  }
  return *std::move(bytes);
}

}  // namespace eml::enclave
