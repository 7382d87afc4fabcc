#include "host/egress_proxy.h"

// <utility> before Asio: GCC 12 with coroutine support otherwise misses std::exchange there.
#include <utility>

#include <algorithm>
#include <array>
#include <boost/asio.hpp>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <map>
#include <mutex>
#include <span>
#include <system_error>
#include <thread>

#include "channel/net/net.h"
#include "host/internal/asio_util.h"
#include "host/record.h"

namespace eml::host {
namespace {

namespace asio = boost::asio;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;
using Generic = asio::generic::stream_protocol;
using Tcp = asio::ip::tcp;

// After a refusal the client's unread bytes are read and dropped (up to this many) so that the
// close does not reset the connection before the client has read the answer.
constexpr size_t kMaxDrainBytes = size_t{64} << 10;

constexpr std::string_view kEstablished = "HTTP/1.1 200 Connection Established\r\n\r\n";

std::string StatusResponse(int status) {
  std::string reason;
  switch (status) {
    case 400:
      reason = "Bad Request";
      break;
    case 403:
      reason = "Forbidden";
      break;
    case 502:
      reason = "Bad Gateway";
      break;
    default:
      reason = "Service Unavailable";
      break;
  }
  return "HTTP/1.1 " + std::to_string(status) + " " + reason +
         "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
}

bool SameTarget(const ConnectTarget& a, const ConnectTarget& b) {
  // Both hosts were lower-cased by ParseConnectAuthority.
  return a.port == b.port && a.host == b.host;
}

}  // namespace

Result<EnclaveAddress> ParseEgressListen(std::string_view text) {
  if (text.starts_with("unix:")) {
    return ParseEnclaveAddress(text);
  }
  EML_ASSIGN_OR_RETURN(channel::net::HostPort host_port, channel::net::ParseHostPort(text));
  EnclaveAddress out;
  out.kind = EnclaveAddress::Kind::kTcp;
  out.host = std::move(host_port.host);
  out.port = host_port.port;
  return out;
}

class EgressConnection;

// EgressProxy::Impl owns the io_context, the acceptor and the bookkeeping; it lives until the
// I/O thread has been joined, so every handler may use it.
class EgressProxy::Impl {
 public:
  Impl(EgressProxyOptions options, std::vector<ConnectTarget> allow)
      : options_(std::move(options)),
        allow_(std::move(allow)),
        acceptor_(io_),
        work_(asio::make_work_guard(io_)) {}

  Result<uint16_t> Bind();
  void Run() {
    thread_ = std::thread([this] { internal::RunIoContext(io_); });
  }
  void Stop();
  EgressStats Stats() const {
    std::lock_guard lock(mu_);
    EgressStats out = stats_;
    out.recent.assign(recent_.begin(), recent_.end());
    return out;
  }
  bool WaitForClosed(uint64_t count, int timeout_ms) const {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                        [&] { return stats_.closed + stats_.refused >= count; });
  }
  bool IsAllowed(const ConnectTarget& target) const {
    return std::any_of(allow_.begin(), allow_.end(),
                       [&](const ConnectTarget& entry) { return SameTarget(entry, target); });
  }

  // Called on the I/O thread by connections.
  void Report(const EgressReport& report, bool refused);
  void Forget(uint64_t id) { connections_.erase(id); }

  const EgressProxyOptions& options() const { return options_; }
  asio::io_context& io() { return io_; }

 private:
  void Accept();

  EgressProxyOptions options_;
  std::vector<ConnectTarget> allow_;
  asio::io_context io_;
  asio::basic_socket_acceptor<Generic> acceptor_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::string unix_path_;  // the socket file to remove on Stop
  std::thread thread_;
  bool stopped_ = false;  // guarded by stop_mu_
  std::mutex stop_mu_;
  uint64_t next_id_ = 1;                                             // I/O thread only
  std::map<uint64_t, std::weak_ptr<EgressConnection>> connections_;  // I/O thread only

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  EgressStats stats_;  // .recent unused; see recent_
  std::deque<EgressReport> recent_;
};

// One client connection: head, decision, then the tunnel. All members are touched on the I/O
// thread only.
class EgressConnection : public std::enable_shared_from_this<EgressConnection> {
 public:
  EgressConnection(EgressProxy::Impl* proxy, uint64_t id, Generic::socket client)
      : proxy_(proxy),
        id_(id),
        client_(std::move(client)),
        upstream_(proxy->io()),
        resolver_(proxy->io()),
        timer_(proxy->io()) {
    pipes_[0].outbound = true;
    pipes_[0].buffer.resize(proxy->options().buffer_bytes);
    pipes_[1].buffer.resize(proxy->options().buffer_bytes);
  }

  void Start() {
    report_.id = id_;
    if (proxy_->options().listen.kind == EnclaveAddress::Kind::kTcp) {
      error_code ignored;
      client_.set_option(Tcp::no_delay(true), ignored);
    }
    last_activity_ = Clock::now();
    deadline_ = last_activity_ + std::chrono::milliseconds(proxy_->options().head_timeout_ms);
    ArmTimer();
    asio::async_read_until(
        client_, asio::dynamic_buffer(head_, proxy_->options().max_head_bytes), "\r\n\r\n",
        [self = shared_from_this()](error_code ec, size_t n) { self->OnHead(ec, n); });
  }

  void Close(ErrorCode reason) {
    if (closed_) {
      return;
    }
    closed_ = true;
    report_.close_reason = reason;
    error_code ignored;
    timer_.cancel(ignored);
    resolver_.cancel();
    client_.shutdown(asio::socket_base::shutdown_both, ignored);
    client_.close(ignored);
    if (upstream_.is_open()) {
      upstream_.shutdown(asio::socket_base::shutdown_both, ignored);
    }
    upstream_.close(ignored);
    for (Pipe& pipe : pipes_) {
      pipe.record.Close();
    }
    report_.bytes_out = pipes_[0].bytes;
    report_.bytes_in = pipes_[1].bytes;
    proxy_->Forget(id_);
    proxy_->Report(report_, false);
  }

 private:
  enum class Phase { kHead, kConnecting, kRefusing, kTunnel };

  struct Pipe {
    bool outbound = false;  // client to destination
    std::vector<uint8_t> buffer;
    uint64_t bytes = 0;
    bool done = false;  // its source closed its sending side
    RecordFile record;
  };

  // WithEnds calls fn(source, destination) with the pipe's two sockets.
  template <typename Fn>
  void WithEnds(const Pipe& pipe, Fn&& fn) {
    if (pipe.outbound) {
      fn(client_, upstream_);
    } else {
      fn(upstream_, client_);
    }
  }

  void OnHead(error_code ec, size_t n) {
    if (closed_) {
      return;
    }
    if (ec == asio::error::not_found) {
      Refuse(400, ErrorCode::kEgressHeadTooLarge);
      return;
    }
    if (ec) {
      Close(ec == asio::error::eof ? ErrorCode::kChannelClosed : ErrorCode::kChannelIoError);
      return;
    }
    // Bytes after the head (a client that did not wait for the 200) go into the tunnel.
    leftover_ = head_.substr(n);
    head_.resize(n);
    Result<ConnectTarget> target = ParseConnectHead(head_, proxy_->options().max_head_bytes);
    if (!target.has_value()) {
      Refuse(400, target.code());
      return;
    }
    report_.destination = FormatConnectAuthority(*target);
    if (!proxy_->IsAllowed(*target)) {
      Refuse(403, ErrorCode::kEgressNotAllowed);
      return;
    }
    const std::filesystem::path& dir = proxy_->options().record_dir;
    if (!dir.empty()) {
      for (Pipe& pipe : pipes_) {
        Result<RecordFile> file = RecordFile::Open(
            dir, "egress-" + std::to_string(id_) + (pipe.outbound ? "-out.bin" : "-in.bin"));
        if (!file.has_value()) {
          Close(ErrorCode::kHostRecordFailed);
          return;
        }
        pipe.record = *std::move(file);
      }
    }
    phase_ = Phase::kConnecting;
    deadline_ = Clock::now() + std::chrono::milliseconds(proxy_->options().connect_timeout_ms);
    ArmTimer();
    resolver_.async_resolve(
        target->host, std::to_string(target->port), Tcp::resolver::numeric_service,
        [self = shared_from_this()](error_code resolve_ec, Tcp::resolver::results_type results) {
          self->OnResolved(resolve_ec, std::move(results));
        });
  }

  void OnResolved(error_code ec, Tcp::resolver::results_type results) {
    if (closed_ || phase_ != Phase::kConnecting) {
      return;
    }
    if (ec) {
      Refuse(502, ErrorCode::kEgressConnectFailed);
      return;
    }
    asio::async_connect(upstream_, results,
                        [self = shared_from_this()](error_code connect_ec, const Tcp::endpoint&) {
                          self->OnConnected(connect_ec);
                        });
  }

  void OnConnected(error_code ec) {
    if (closed_ || phase_ != Phase::kConnecting) {
      return;
    }
    if (ec) {
      Refuse(502, ErrorCode::kEgressConnectFailed);
      return;
    }
    error_code ignored;
    upstream_.set_option(Tcp::no_delay(true), ignored);
    phase_ = Phase::kTunnel;
    report_.status = 200;
    last_activity_ = Clock::now();
    ArmTimer();
    asio::async_write(client_, asio::buffer(kEstablished),
                      [self = shared_from_this()](error_code write_ec, size_t) {
                        self->OnEstablished(write_ec);
                      });
  }

  void OnEstablished(error_code ec) {
    if (closed_) {
      return;
    }
    if (ec) {
      Close(ErrorCode::kChannelIoError);
      return;
    }
    last_activity_ = Clock::now();
    Read(pipes_[1]);
    if (leftover_.empty()) {
      Read(pipes_[0]);
      return;
    }
    Forward(pipes_[0],
            std::span(reinterpret_cast<const uint8_t*>(leftover_.data()), leftover_.size()));
  }

  void Read(Pipe& pipe) {
    WithEnds(pipe, [&](auto& from, auto&) {
      from.async_read_some(asio::buffer(pipe.buffer),
                           [self = shared_from_this(), &pipe](error_code ec, size_t n) {
                             self->OnRead(pipe, ec, n);
                           });
    });
  }

  void OnRead(Pipe& pipe, error_code ec, size_t n) {
    if (closed_) {
      return;
    }
    if (ec == asio::error::eof) {
      // Pass the half-close on; the tunnel ends once both sides have closed.
      pipe.done = true;
      WithEnds(pipe, [](auto&, auto& to) {
        error_code ignored;
        to.shutdown(asio::socket_base::shutdown_send, ignored);
      });
      if (pipes_[0].done && pipes_[1].done) {
        Close(ErrorCode::kOk);
      }
      return;
    }
    if (ec) {
      Close(ErrorCode::kChannelIoError);
      return;
    }
    last_activity_ = Clock::now();
    Forward(pipe, std::span<const uint8_t>(pipe.buffer.data(), n));
  }

  // Forward records `bytes` and writes them to the pipe's destination, then reads on.
  void Forward(Pipe& pipe, std::span<const uint8_t> bytes) {
    if (!pipe.record.Append(bytes).has_value()) {
      Close(ErrorCode::kHostRecordFailed);
      return;
    }
    pipe.bytes += bytes.size();
    WithEnds(pipe, [&](auto&, auto& to) {
      asio::async_write(
          to, asio::buffer(bytes.data(), bytes.size()),
          [self = shared_from_this(), &pipe](error_code ec, size_t) { self->OnWritten(pipe, ec); });
    });
  }

  void OnWritten(Pipe& pipe, error_code ec) {
    if (closed_) {
      return;
    }
    if (ec) {
      Close(ErrorCode::kChannelIoError);
      return;
    }
    last_activity_ = Clock::now();
    Read(pipe);
  }

  // Refuse answers `status`, then drops what the client still sends until it closes (bounded by
  // kMaxDrainBytes and head_timeout_ms) and closes with `reason`.
  void Refuse(int status, ErrorCode reason) {
    phase_ = Phase::kRefusing;
    refuse_reason_ = reason;
    report_.status = status;
    error_code ignored;
    upstream_.close(ignored);
    response_ = StatusResponse(status);
    deadline_ = Clock::now() + std::chrono::milliseconds(proxy_->options().head_timeout_ms);
    ArmTimer();
    asio::async_write(client_, asio::buffer(response_),
                      [self = shared_from_this()](error_code ec, size_t) {
                        if (self->closed_) {
                          return;
                        }
                        if (ec) {
                          self->Close(self->refuse_reason_);
                          return;
                        }
                        error_code shutdown_ignored;
                        self->client_.shutdown(asio::socket_base::shutdown_send, shutdown_ignored);
                        self->Drain();
                      });
  }

  void Drain() {
    client_.async_read_some(asio::buffer(pipes_[0].buffer),
                            [self = shared_from_this()](error_code ec, size_t n) {
                              if (self->closed_) {
                                return;
                              }
                              self->drained_bytes_ += n;
                              if (ec || self->drained_bytes_ > kMaxDrainBytes) {
                                self->Close(self->refuse_reason_);
                                return;
                              }
                              self->Drain();
                            });
  }

  Clock::time_point Deadline() const {
    return phase_ == Phase::kTunnel
               ? last_activity_ + std::chrono::milliseconds(proxy_->options().idle_timeout_ms)
               : deadline_;
  }

  void ArmTimer() {
    const Clock::time_point next = Deadline();
    if (timer_armed_ && next >= timer_deadline_) {
      return;  // the pending wait fires earlier and re-arms
    }
    timer_armed_ = true;
    timer_deadline_ = next;
    timer_.expires_at(next);
    timer_.async_wait([self = shared_from_this()](error_code ec) { self->OnTimer(ec); });
  }

  void OnTimer(error_code ec) {
    // operation_aborted: closed, or cancelled by ArmTimer moving the deadline earlier (a newer
    // wait is then pending).
    if (closed_ || ec == asio::error::operation_aborted) {
      return;
    }
    timer_armed_ = false;
    if (Clock::now() < Deadline()) {
      ArmTimer();
      return;
    }
    switch (phase_) {
      case Phase::kHead:
      case Phase::kTunnel:
        Close(ErrorCode::kHostIdleTimeout);
        return;
      case Phase::kConnecting:
        resolver_.cancel();
        Refuse(502, ErrorCode::kEgressConnectFailed);
        return;
      case Phase::kRefusing:
        Close(refuse_reason_);
        return;
    }
  }

  EgressProxy::Impl* proxy_;
  uint64_t id_;
  Generic::socket client_;
  Tcp::socket upstream_;
  Tcp::resolver resolver_;
  asio::steady_timer timer_;
  bool timer_armed_ = false;
  Clock::time_point timer_deadline_;
  Phase phase_ = Phase::kHead;
  Clock::time_point deadline_;  // of the head, connect or refusal phase
  Clock::time_point last_activity_;
  std::string head_;
  std::string leftover_;
  std::string response_;
  ErrorCode refuse_reason_ = ErrorCode::kOk;
  size_t drained_bytes_ = 0;
  std::array<Pipe, 2> pipes_;
  bool closed_ = false;
  EgressReport report_;
};

Result<uint16_t> EgressProxy::Impl::Bind() {
  const EnclaveAddress& listen = options_.listen;
  uint16_t port = 0;
  error_code ec;
  switch (listen.kind) {
    case EnclaveAddress::Kind::kTcp: {
      EML_ASSIGN_OR_RETURN(asio::ip::address ip, internal::ParseIp(listen.host));
      const Tcp::endpoint endpoint(ip, listen.port);
      Tcp::acceptor tcp(io_);
      EML_ASSIGN_OR_RETURN(port, internal::ListenTcp(tcp, endpoint));
      const Generic protocol(endpoint.protocol().family(), endpoint.protocol().protocol());
      acceptor_.assign(protocol, tcp.release(ec), ec);
      break;
    }
    case EnclaveAddress::Kind::kUnix: {
      std::error_code exists_ec;
      if (listen.path.empty() || std::filesystem::exists(listen.path, exists_ec)) {
        return Error{ErrorCode::kChannelBadAddress, "the Unix socket path exists or is empty"};
      }
      const Generic::endpoint endpoint{asio::local::stream_protocol::endpoint(listen.path)};
      acceptor_.open(endpoint.protocol(), ec);
      if (!ec) {
        acceptor_.bind(endpoint, ec);
      }
      if (!ec) {
        unix_path_ = listen.path;
        acceptor_.listen(asio::socket_base::max_listen_connections, ec);
      }
      break;
    }
    case EnclaveAddress::Kind::kVsock:
      return Error{ErrorCode::kChannelBadAddress, "the egress proxy listens on TCP or Unix"};
  }
  if (ec) {
    if (!unix_path_.empty()) {
      std::error_code ignored;
      std::filesystem::remove(unix_path_, ignored);
    }
    return Error{ErrorCode::kChannelIoError, "listen: " + ec.message()};
  }
  Accept();
  return port;
}

void EgressProxy::Impl::Accept() {
  acceptor_.async_accept([this](error_code ec, Generic::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) {
      return;
    }
    if (!ec) {
      const uint64_t id = next_id_++;
      if (connections_.size() >= static_cast<size_t>(options_.max_connections)) {
        // Best effort: the answer fits the socket's send buffer, so nothing waits for it.
        const std::string busy = StatusResponse(503);
        error_code ignored;
        socket.non_blocking(true, ignored);
        socket.write_some(asio::buffer(busy), ignored);
        socket.shutdown(asio::socket_base::shutdown_send, ignored);
        socket.close(ignored);
        EgressReport report;
        report.id = id;
        report.close_reason = ErrorCode::kHostTooManyConnections;
        report.status = 503;
        Report(report, true);
      } else {
        auto connection = std::make_shared<EgressConnection>(this, id, std::move(socket));
        connections_[id] = connection;
        {
          std::lock_guard lock(mu_);
          ++stats_.accepted;
          ++stats_.active;
        }
        connection->Start();
      }
    }
    // Accept errors (EMFILE, ...) are transient for a listener: keep accepting.
    Accept();
  });
}

void EgressProxy::Impl::Report(const EgressReport& report, bool refused) {
  {
    std::lock_guard lock(mu_);
    if (refused) {
      ++stats_.refused;
    } else {
      --stats_.active;
      ++stats_.closed;
    }
    recent_.push_back(report);
    if (recent_.size() > kMaxRecentReports) {
      recent_.pop_front();
    }
  }
  cv_.notify_all();
  if (options_.on_close) {
    options_.on_close(report);
  }
}

void EgressProxy::Impl::Stop() {
  {
    std::lock_guard lock(stop_mu_);
    if (stopped_) {
      return;
    }
    stopped_ = true;
  }
  asio::post(io_, [this] {
    error_code ignored;
    acceptor_.close(ignored);
    // Close() erases from connections_: iterate over a copy.
    const auto all = connections_;
    for (const auto& [id, weak] : all) {
      if (std::shared_ptr<EgressConnection> c = weak.lock()) {
        c->Close(ErrorCode::kOk);
      }
    }
    work_.reset();
  });
  if (thread_.joinable()) {
    thread_.join();
  }
  if (!unix_path_.empty()) {
    std::error_code ignored;
    std::filesystem::remove(unix_path_, ignored);
  }
}

Result<std::unique_ptr<EgressProxy>> EgressProxy::Start(EgressProxyOptions options) {
  if (options.max_connections < 1 || options.head_timeout_ms < 1 ||
      options.connect_timeout_ms < 1 || options.idle_timeout_ms < 1 ||
      options.max_head_bytes < 64 || options.max_head_bytes > (size_t{1} << 20) ||
      options.buffer_bytes < 1 || options.buffer_bytes > (size_t{64} << 20)) {
    return Error{ErrorCode::kInvalidArgument, "egress proxy limit out of range"};
  }
  std::vector<ConnectTarget> allow;
  for (const std::string& entry : options.allow) {
    Result<ConnectTarget> target = ParseConnectAuthority(entry);
    if (!target.has_value()) {
      return Error{ErrorCode::kEgressBadAllowEntry, "allowlist entry is not HOST:PORT"};
    }
    allow.push_back(*std::move(target));
  }
  if (!options.record_dir.empty()) {
    EML_RETURN_IF_ERROR(PrepareRecordDir(options.record_dir));
  }
  try {
    const EnclaveAddress listen = options.listen;
    auto impl = std::make_unique<Impl>(std::move(options), std::move(allow));
    EML_ASSIGN_OR_RETURN(uint16_t port, impl->Bind());
    impl->Run();
    std::string address = listen.kind == EnclaveAddress::Kind::kUnix
                              ? "unix:" + listen.path
                              : FormatConnectAuthority(ConnectTarget{listen.host, port});
    return std::unique_ptr<EgressProxy>(new EgressProxy(std::move(impl), std::move(address), port));
  } catch (const std::exception& e) {
    return Error{ErrorCode::kChannelIoError, std::string("egress proxy: ") + e.what()};
  }
}

EgressProxy::EgressProxy(std::unique_ptr<Impl> impl, std::string address, uint16_t port)
    : impl_(std::move(impl)), address_(std::move(address)), port_(port) {}

EgressProxy::~EgressProxy() { Stop(); }

EgressStats EgressProxy::Stats() const { return impl_->Stats(); }

bool EgressProxy::WaitForClosed(uint64_t count, int timeout_ms) const {
  return impl_->WaitForClosed(count, timeout_ms);
}

void EgressProxy::Stop() { impl_->Stop(); }

}  // namespace eml::host
