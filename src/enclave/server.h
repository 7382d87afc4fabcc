#pragma once
// Posture: the server reads untrusted bytes from every connection: handshake frames (checked
// by channel::RunResponderHandshake under HandshakeLimits; fuzz targets channel_frame,
// channel_hello), then records (channel::ReadFrame under ServerOptions::record_limits, opened
// by the session's RecordOpener) whose plaintext goes to Service::Handle (fuzz target
// protocol_messages).
//
// eml::enclave::Server: accepts connections on a channel::Listener (TCP, Unix socket or VSock),
// runs the responder side of the attested handshake on each (the enclave's document comes from
// a per-session HandshakeAttester; clients without a TEE present the mock envelope, which binds
// their key and nonce but authenticates nothing, so any client may connect), then serves
// requests on that session until the client closes, sends a Shutdown frame, or fails.
//
// Sessions:
// - one thread per session, at most max_sessions at once; a connection over the bound is
//   closed at once (before any handshake byte) and logged;
// - each session has its own channel keys, record sequence numbers and receipt sequence
//   (SessionState); a failure in one session (bad frame, bad record, timeout, peer reset) ends
//   that session only and is logged with its code; bad request *messages* are answered with
//   error responses and the session goes on;
// - Data records carry requests; Heartbeat records are ignored; a Shutdown record ends the
//   session; any other frame type ends it as kChannelUnexpectedFrame.
//
// Shutdown: Shutdown() stops accepting, lets requests already read finish and be answered,
// refuses to start new ones (a session that reads a request, or reaches the attestation step of
// its handshake, after Shutdown closes without running it and logs kEnclaveShuttingDown), waits
// until no request or attestation is in flight, then cancels every session's stream (a session
// waiting for its client's next record ends at once, logged as closed by shutdown) and returns.
// Join() / the destructor then wait only for the session threads to unwind. After Shutdown()
// returns no thread calls the Service again, so the caller may destroy the Service (wiping the
// receipt key) before Join.
//
// Thread safety: Start, Shutdown, Join and the accessors may be called from any thread.

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string_view>
#include <thread>

#include "channel/address.h"
#include "channel/frame.h"
#include "channel/handshake_messages.h"
#include "common/result.h"
#include "enclave/service.h"

namespace eml::enclave {

inline constexpr size_t kDefaultMaxSessions = 64;
inline constexpr int kDefaultAcceptPollMs = 200;
inline constexpr int kDefaultIdleTimeoutMs = 300'000;
inline constexpr int kDefaultIoTimeoutMs = 30'000;

struct ServerOptions {
  size_t max_sessions = kDefaultMaxSessions;
  // How long a session may wait for the client's next record; then it is closed.
  int idle_timeout_ms = kDefaultIdleTimeoutMs;
  // Deadline for the whole handshake, for a record's payload once its header has arrived, and
  // for each write.
  int io_timeout_ms = kDefaultIoTimeoutMs;
  // How often the accept loop looks at the stop flag.
  int accept_poll_ms = kDefaultAcceptPollMs;
  channel::HandshakeLimits handshake_limits;
  channel::FrameLimits record_limits;
  // log receives one line per event (session start/end, refusals, failures). Never secrets.
  // Unset: lines go to stderr.
  std::function<void(std::string_view)> log;
};

struct ServerStats {
  uint64_t sessions_accepted = 0;
  uint64_t sessions_refused = 0;  // over max_sessions
  uint64_t sessions_failed = 0;   // ended by an error (not the client closing, not Shutdown)
  uint64_t requests = 0;
  size_t active_sessions = 0;
};

class Server {
 public:
  // Create checks the options. `service` is not owned and must outlive every request (see the
  // file comment). Errors: kEnclaveBadConfig (max_sessions 0, a timeout <= 0).
  static Result<std::unique_ptr<Server>> Create(Service* service, const ServerOptions& options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Start takes the listener and runs the accept loop on its own thread. Errors:
  // kInvalidArgument (called twice or after Shutdown).
  Status Start(std::unique_ptr<channel::Listener> listener);

  // Shutdown: see the file comment. Idempotent.
  void Shutdown();
  // Join waits for the accept thread and every session thread (Shutdown first).
  void Join();

  ServerStats stats() const;

 private:
  struct SessionThread {
    std::thread thread;
    channel::Stream* stream = nullptr;  // guarded by mu_; cleared before the stream closes
    bool done = false;
  };

  Server(Service* service, const ServerOptions& options) : service_(service), options_(options) {}
  void AcceptLoop();
  void RunSession(std::unique_ptr<channel::Stream> stream, uint64_t session_id,
                  SessionThread* self);
  // ServeSession runs the handshake and the request loop; returns why it ended.
  Status ServeSession(channel::Stream* stream, uint64_t session_id);
  // BeginWork marks a request (or a handshake's attestation) in flight; false once stopping.
  bool BeginWork(bool is_request);
  void EndWork();
  void ReapFinished();
  void Log(std::string_view line) const;

  Service* const service_;
  const ServerOptions options_;
  std::unique_ptr<channel::Listener> listener_;
  std::thread accept_thread_;

  std::mutex shutdown_mu_;  // serializes Shutdown calls
  mutable std::mutex mu_;
  std::condition_variable idle_cv_;
  bool started_ = false;
  bool stopping_ = false;
  size_t in_flight_ = 0;
  std::list<SessionThread> sessions_;  // guarded by mu_
  ServerStats stats_;                  // guarded by mu_
  std::atomic<bool> stop_accepting_{false};
};

}  // namespace eml::enclave
