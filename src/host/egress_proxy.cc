#include "host/egress_proxy.h"

// <utility> before Asio: GCC 12 with coroutine support otherwise misses std::exchange there.
#include <utility>

#include <algorithm>
#include <array>
#include <boost/asio.hpp>
#include <chrono>
#include <exception>
#include <span>
#include <system_error>

#include "channel/net/net.h"
#include "host/internal/asio_util.h"
#include "host/internal/connection_registry.h"
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

Result<channel::Address> ParseProxyListen(std::string_view text) {
  if (text.starts_with("tcp:") || text.starts_with("unix:") || text.starts_with("vsock:")) {
    return channel::ParseAddress(text);
  }
  channel::Address out;
  out.kind = channel::Address::Kind::kTcp;
  EML_ASSIGN_OR_RETURN(out.tcp, channel::net::ParseHostPort(text));
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
        acceptor_(loop_.io()),
        registry_(options_.on_close) {}

  Result<channel::Address> Bind();
  void Run() { loop_.Start(); }
  void Stop();
  EgressStats Stats() const { return registry_.Stats(); }
  bool WaitForClosed(uint64_t count, int timeout_ms) const {
    return registry_.WaitForClosed(count, timeout_ms);
  }
  bool IsAllowed(const ConnectTarget& target) const {
    return std::any_of(allow_.begin(), allow_.end(),
                       [&](const ConnectTarget& entry) { return SameTarget(entry, target); });
  }

  // Called on the I/O thread by connections.
  void Report(const EgressReport& report, bool refused) { registry_.Report(report, refused); }
  void Forget(uint64_t id) { registry_.Forget(id); }

  const EgressProxyOptions& options() const { return options_; }
  asio::io_context& io() { return loop_.io(); }

 private:
  void Accept();

  EgressProxyOptions options_;
  std::vector<ConnectTarget> allow_;
  internal::IoLoop loop_;
  asio::basic_socket_acceptor<Generic> acceptor_;
  channel::Address bound_;  // its Unix socket file is removed on Stop
  internal::ConnectionRegistry<EgressConnection, EgressReport> registry_;
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
    if (proxy_->options().listen.kind == channel::Address::Kind::kTcp) {
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

  // CloseOnStop ends the connection when the proxy stops; a refusal already answered keeps its
  // reason (the client got the status whether or not it closed before the stop).
  void CloseOnStop() { Close(phase_ == Phase::kRefusing ? refuse_reason_ : ErrorCode::kOk); }

  void Close(ErrorCode reason) {
    if (closed_) {
      return;
    }
    closed_ = true;
    report_.close_reason = reason;
    timer_.Cancel();
    resolver_.cancel();
    internal::ShutDownBoth(client_, upstream_);
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
    timer_.ArmBy(next, [self = shared_from_this()](error_code ec) { self->OnTimer(ec); });
  }

  void OnTimer(error_code ec) {
    if (!timer_.Fired(ec) || closed_) {
      return;
    }
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
  internal::DeadlineTimer timer_;
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

Result<channel::Address> EgressProxy::Impl::Bind() {
  EML_ASSIGN_OR_RETURN(bound_, internal::ListenAddress(acceptor_, options_.listen));
  Accept();
  return bound_;
}

void EgressProxy::Impl::Accept() {
  acceptor_.async_accept([this](error_code ec, Generic::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) {
      return;
    }
    if (!ec) {
      const uint64_t id = registry_.NextId();
      if (registry_.Full(options_.max_connections)) {
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
        registry_.Add(id, connection);
        connection->Start();
      }
    }
    // Accept errors (EMFILE, ...) are transient for a listener: keep accepting.
    Accept();
  });
}

void EgressProxy::Impl::Stop() {
  loop_.Stop([this] {
    error_code ignored;
    acceptor_.close(ignored);
    registry_.CloseAll([](EgressConnection& c) { c.CloseOnStop(); });
  });
  internal::RemoveUnixSocket(bound_);
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
    auto impl = std::make_unique<Impl>(std::move(options), std::move(allow));
    EML_ASSIGN_OR_RETURN(const channel::Address bound, impl->Bind());
    impl->Run();
    const bool tcp = bound.kind == channel::Address::Kind::kTcp;
    std::string address =
        tcp ? FormatConnectAuthority(ConnectTarget{bound.tcp.host, bound.tcp.port})
            : channel::FormatAddress(bound);
    const uint16_t port = tcp ? bound.tcp.port : 0;
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
