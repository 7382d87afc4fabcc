#include "enclave/server.h"

#include <cstdio>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "channel/handshake.h"
#include "channel/mock_attestation.h"
#include "channel/transport.h"
#include "common/error.h"

namespace eml::enclave {
namespace {

// GuardedProvider lets the handshake attest only while the server runs, so that after
// Shutdown() no session thread touches the EvidenceSource.
class GuardedProvider final : public channel::AttestationProvider {
 public:
  GuardedProvider(channel::AttestationProvider* inner, std::function<bool()> begin,
                  std::function<void()> end)
      : inner_(inner), begin_(std::move(begin)), end_(std::move(end)) {}
  Result<std::vector<uint8_t>> Attest(std::span<const uint8_t> nonce,
                                      std::span<const uint8_t> public_key) override {
    if (!begin_()) {
      return Error{ErrorCode::kEnclaveShuttingDown, "server stopping"};
    }
    Result<std::vector<uint8_t>> document = inner_->Attest(nonce, public_key);
    end_();
    return document;
  }

 private:
  channel::AttestationProvider* inner_;
  std::function<bool()> begin_;
  std::function<void()> end_;
};

}  // namespace

Result<std::unique_ptr<Server>> Server::Create(Service* service, const ServerOptions& options) {
  if (service == nullptr || options.max_sessions == 0 || options.idle_timeout_ms <= 0 ||
      options.io_timeout_ms <= 0 || options.accept_poll_ms <= 0) {
    return Error{ErrorCode::kEnclaveBadConfig, "max_sessions and timeouts must be positive"};
  }
  return std::unique_ptr<Server>(new Server(service, options));
}

Server::~Server() { Join(); }

Status Server::Start(std::unique_ptr<channel::Listener> listener) {
  std::lock_guard<std::mutex> lock(mu_);
  if (started_ || stopping_ || listener == nullptr) {
    return Error{ErrorCode::kInvalidArgument, "server already started or stopped"};
  }
  started_ = true;
  listener_ = std::move(listener);
  accept_thread_ = std::thread(&Server::AcceptLoop, this);
  return OkStatus();
}

void Server::Log(std::string_view line) const {
  if (options_.log) {
    options_.log(line);
    return;
  }
  std::fprintf(stderr, "ephemeralml-enclave: %.*s\n", static_cast<int>(line.size()), line.data());
}

void Server::ReapFinished() {
  std::list<SessionThread> finished;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = sessions_.begin(); it != sessions_.end();) {
      auto next = std::next(it);
      if (it->done) {
        finished.splice(finished.end(), sessions_, it);
      }
      it = next;
    }
  }
  for (SessionThread& session : finished) {
    session.thread.join();
  }
}

void Server::AcceptLoop() {
  uint64_t next_session_id = 1;
  while (!stop_accepting_.load()) {
    ReapFinished();
    Result<std::unique_ptr<channel::Stream>> stream = listener_->Accept(options_.accept_poll_ms);
    if (!stream.has_value()) {
      if (stream.error().code != ErrorCode::kChannelTimeout) {
        Log("accept failed: " + ToString(stream.error()));
      }
      continue;
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ || stop_accepting_.load()) {
      break;  // the stream closes as it goes out of scope
    }
    if (stats_.active_sessions >= options_.max_sessions) {
      ++stats_.sessions_refused;
      Log("session limit reached (" + std::to_string(options_.max_sessions) +
          "): connection closed");
      continue;
    }
    const uint64_t session_id = next_session_id++;
    ++stats_.sessions_accepted;
    ++stats_.active_sessions;
    sessions_.emplace_back();
    SessionThread* self = &sessions_.back();
    self->stream = stream->get();
    self->thread = std::thread(&Server::RunSession, this, *std::move(stream), session_id, self);
  }
}

void Server::RunSession(std::unique_ptr<channel::Stream> stream, uint64_t session_id,
                        SessionThread* self) {
  const Status status = ServeSession(stream.get(), session_id);
  {
    std::lock_guard<std::mutex> lock(mu_);
    self->stream = nullptr;  // Shutdown no longer reaches it
  }
  stream.reset();  // close the connection before the session counts as finished
  const std::string name = "session " + std::to_string(session_id);
  if (status.has_value()) {
    Log(name + " ended");
  } else if (status.error().code == ErrorCode::kChannelCancelled) {
    Log(name + " closed by shutdown");
  } else {
    Log(name + " failed: " + std::string(ErrorCodeName(status.error().code)));
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (!status.has_value() && status.error().code != ErrorCode::kChannelCancelled) {
    ++stats_.sessions_failed;
  }
  --stats_.active_sessions;
  self->done = true;
}

Status Server::ServeSession(channel::Stream* stream, uint64_t session_id) {
  std::unique_ptr<HandshakeAttester> attester = service_->NewHandshakeAttester();
  GuardedProvider provider(
      attester.get(), [this] { return BeginWork(/*is_request=*/false); }, [this] { EndWork(); });
  channel::MockAttestationVerifier client_verifier;
  channel::HandshakeOptions handshake_options;
  handshake_options.limits = options_.handshake_limits;
  handshake_options.record_limits = options_.record_limits;
  EML_ASSIGN_OR_RETURN(channel::Responder responder,
                       channel::Responder::New(&provider, &client_verifier, handshake_options));
  EML_ASSIGN_OR_RETURN(channel::Session session,
                       channel::RunResponderHandshake(stream, &responder, options_.handshake_limits,
                                                      options_.io_timeout_ms));
  Log("session " + std::to_string(session_id) + " established");
  SessionState state;
  state.attestation_doc_hash = attester->document_sha256();
  state.handshake_public_key = attester->public_key();

  std::vector<uint8_t> frame;
  std::vector<uint8_t> plaintext;
  std::vector<uint8_t> sealed;
  while (true) {
    // Idle clients may wait long between records; one that announced a payload must send it.
    Status read = channel::ReadFrame(stream, options_.record_limits, options_.idle_timeout_ms,
                                     options_.io_timeout_ms, &frame);
    if (!read.has_value()) {
      if (read.error().code == ErrorCode::kChannelClosed) {
        return OkStatus();  // the client hung up between records
      }
      return read;
    }
    EML_ASSIGN_OR_RETURN(const channel::FrameHeader header, session.Open(frame, &plaintext));
    switch (header.type) {
      case channel::FrameType::kData:
        break;
      case channel::FrameType::kHeartbeat:
        continue;
      case channel::FrameType::kShutdown:
        return OkStatus();
      case channel::FrameType::kHello:
      case channel::FrameType::kError:
      case channel::FrameType::kTensor:
        return Error{ErrorCode::kChannelUnexpectedFrame, "session records carry Data frames"};
    }
    if (!BeginWork(/*is_request=*/true)) {
      return Error{ErrorCode::kEnclaveShuttingDown, "request not started: server stopping"};
    }
    const std::vector<uint8_t> response = service_->Handle(&state, plaintext);
    Status sent = session.Seal(channel::FrameType::kData, 0, response, &sealed);
    if (sent.has_value()) {
      sent = stream->WriteAll(sealed, options_.io_timeout_ms);
    }
    EndWork();
    EML_RETURN_IF_ERROR(sent);
  }
}

bool Server::BeginWork(bool is_request) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_) {
    return false;
  }
  ++in_flight_;
  if (is_request) {
    ++stats_.requests;
  }
  return true;
}

void Server::EndWork() {
  std::lock_guard<std::mutex> lock(mu_);
  --in_flight_;
  if (in_flight_ == 0) {
    idle_cv_.notify_all();
  }
}

void Server::Shutdown() {
  std::lock_guard<std::mutex> shutdown_lock(shutdown_mu_);
  stop_accepting_.store(true);
  if (accept_thread_.joinable()) {
    accept_thread_.join();
  }
  listener_.reset();  // stop listening (a Unix socket file is removed)
  std::unique_lock<std::mutex> lock(mu_);
  stopping_ = true;
  idle_cv_.wait(lock, [&] { return in_flight_ == 0; });
  for (SessionThread& session : sessions_) {
    if (session.stream != nullptr) {
      session.stream->Cancel();
    }
  }
}

void Server::Join() {
  Shutdown();
  std::list<SessionThread> sessions;
  {
    std::lock_guard<std::mutex> lock(mu_);
    sessions.splice(sessions.end(), sessions_);
  }
  for (SessionThread& session : sessions) {
    session.thread.join();
  }
}

ServerStats Server::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

}  // namespace eml::enclave
