#include "host/relay.h"

// <utility> before Asio: GCC 12 with coroutine support otherwise misses std::exchange there.
#include <utility>

#include <linux/vm_sockets.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <boost/asio.hpp>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <map>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>

#include "channel/handshake_messages.h"
#include "channel/net/net.h"
#include "channel/vsock/vsock.h"
#include "host/internal/asio_util.h"
#include "host/record.h"

namespace eml::host {
namespace {

namespace asio = boost::asio;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;
using Upstream = asio::generic::stream_protocol;
using internal::ParseIp;

Result<Upstream::endpoint> MakeUpstreamEndpoint(const EnclaveAddress& address) {
  switch (address.kind) {
    case EnclaveAddress::Kind::kTcp: {
      EML_ASSIGN_OR_RETURN(asio::ip::address ip, ParseIp(address.host));
      return Upstream::endpoint(asio::ip::tcp::endpoint(ip, address.port));
    }
    case EnclaveAddress::Kind::kUnix:
      return Upstream::endpoint(asio::local::stream_protocol::endpoint(address.path));
    case EnclaveAddress::Kind::kVsock: {
      sockaddr_vm vm{};
      vm.svm_family = AF_VSOCK;
      vm.svm_cid = address.cid;
      vm.svm_port = address.vsock_port;
      return Upstream::endpoint(&vm, sizeof(vm));
    }
  }
  return Error{ErrorCode::kChannelBadAddress, "unknown address kind"};
}

const char* DirectionTag(Direction direction) {
  return direction == Direction::kClientToEnclave ? "c2e" : "e2c";
}

}  // namespace

Result<EnclaveAddress> ParseEnclaveAddress(std::string_view text) {
  EnclaveAddress out;
  if (text.starts_with("tcp:")) {
    EML_ASSIGN_OR_RETURN(channel::net::HostPort hp, channel::net::ParseHostPort(text.substr(4)));
    out.kind = EnclaveAddress::Kind::kTcp;
    out.host = std::move(hp.host);
    out.port = hp.port;
    if (out.port == 0) {
      return Error{ErrorCode::kChannelBadAddress, "enclave TCP port 0"};
    }
    return out;
  }
  if (text.starts_with("unix:")) {
    out.kind = EnclaveAddress::Kind::kUnix;
    out.path = std::string(text.substr(5));
    // sun_path holds 108 bytes including the terminating NUL.
    if (out.path.empty() || out.path.size() > 107 || out.path.find('\0') != std::string::npos) {
      return Error{ErrorCode::kChannelBadAddress, "Unix socket path empty or too long"};
    }
    return out;
  }
  if (text.starts_with("vsock:")) {
    EML_ASSIGN_OR_RETURN(channel::vsock::VsockAddress vm,
                         channel::vsock::ParseVsockAddress(text.substr(6)));
    out.kind = EnclaveAddress::Kind::kVsock;
    out.cid = vm.cid;
    out.vsock_port = vm.port;
    return out;
  }
  return Error{ErrorCode::kChannelBadAddress, "want tcp:HOST:PORT, unix:PATH or vsock:CID:PORT"};
}

std::string FormatEnclaveAddress(const EnclaveAddress& address) {
  switch (address.kind) {
    case EnclaveAddress::Kind::kTcp: {
      const bool v6 = address.host.find(':') != std::string::npos;
      return "tcp:" + (v6 ? "[" + address.host + "]" : address.host) + ":" +
             std::to_string(address.port);
    }
    case EnclaveAddress::Kind::kUnix:
      return "unix:" + address.path;
    case EnclaveAddress::Kind::kVsock:
      return "vsock:" + std::to_string(address.cid) + ":" + std::to_string(address.vsock_port);
  }
  return "";
}

class Connection;

// Relay::Impl owns the io_context, the acceptor and the bookkeeping; it lives until the I/O
// thread has been joined, so every handler may use it.
class Relay::Impl {
 public:
  explicit Impl(RelayOptions options)
      : options_(std::move(options)), acceptor_(io_), work_(asio::make_work_guard(io_)) {}

  Result<uint16_t> Bind();
  void Run() {
    thread_ = std::thread([this] { RunLoop(); });
  }
  void Stop();
  RelayStats Stats() const {
    std::lock_guard lock(mu_);
    RelayStats out = stats_;
    out.recent.assign(recent_.begin(), recent_.end());
    return out;
  }
  bool WaitForClosed(uint64_t count, int timeout_ms) const {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                        [&] { return stats_.closed + stats_.refused >= count; });
  }

  // Called on the I/O thread by connections.
  void Report(const ConnectionReport& report, bool refused);
  void Forget(uint64_t id) { connections_.erase(id); }

  const RelayOptions& options() const { return options_; }
  asio::io_context& io() { return io_; }
  const Upstream::endpoint& upstream() const { return upstream_; }

 private:
  void RunLoop() { internal::RunIoContext(io_); }
  void Accept();

  RelayOptions options_;
  asio::io_context io_;
  asio::ip::tcp::acceptor acceptor_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  Upstream::endpoint upstream_;
  std::thread thread_;
  bool stopped_ = false;  // guarded by stop_mu_
  std::mutex stop_mu_;
  uint64_t next_id_ = 1;                                       // I/O thread only
  std::map<uint64_t, std::weak_ptr<Connection>> connections_;  // I/O thread only

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  RelayStats stats_;  // .recent unused; see recent_
  std::deque<ConnectionReport> recent_;
};

// One client connection and its upstream. All members are touched on the I/O thread only.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(Relay::Impl* relay, uint64_t id, asio::ip::tcp::socket client)
      : relay_(relay),
        id_(id),
        client_(std::move(client)),
        upstream_(relay->io()),
        timer_(relay->io()) {
    const size_t n = relay->options().buffer_bytes;
    pipes_[0].direction = Direction::kClientToEnclave;
    pipes_[1].direction = Direction::kEnclaveToClient;
    pipes_[0].buffer.resize(n);
    pipes_[1].buffer.resize(n);
  }

  void Start() {
    report_.id = id_;
    if (!relay_->options().record_dir.empty()) {
      for (Pipe& pipe : pipes_) {
        Result<RecordFile> file = RecordFile::Open(
            relay_->options().record_dir,
            "conn-" + std::to_string(id_) + "-" + DirectionTag(pipe.direction) + ".bin");
        if (!file.has_value()) {
          Close(ErrorCode::kHostRecordFailed, pipe.direction);
          return;
        }
        pipe.record = *std::move(file);
      }
    }
    error_code ignored;
    client_.set_option(asio::ip::tcp::no_delay(true), ignored);
    last_activity_ = Clock::now();
    connect_deadline_ =
        last_activity_ + std::chrono::milliseconds(relay_->options().connect_timeout_ms);
    ArmTimer();
    upstream_.async_connect(relay_->upstream(),
                            [self = shared_from_this()](error_code ec) { self->OnConnected(ec); });
  }

  void Close(ErrorCode reason, Direction direction) {
    if (closed_) {
      return;
    }
    closed_ = true;
    report_.close_reason = reason;
    report_.reason_direction = direction;
    error_code ignored;
    timer_.cancel(ignored);
    client_.shutdown(asio::socket_base::shutdown_both, ignored);
    client_.close(ignored);
    if (upstream_.is_open()) {
      upstream_.shutdown(asio::socket_base::shutdown_both, ignored);
    }
    upstream_.close(ignored);
    for (Pipe& pipe : pipes_) {
      pipe.record.Close();
    }
    report_.bytes_c2e = pipes_[0].bytes;
    report_.bytes_e2c = pipes_[1].bytes;
    report_.frames_c2e = pipes_[0].frames;
    report_.frames_e2c = pipes_[1].frames;
    relay_->Forget(id_);
    relay_->Report(report_, false);
  }

 private:
  struct Pipe {
    Direction direction = Direction::kClientToEnclave;
    std::array<uint8_t, channel::kFrameHeaderSize> header{};
    channel::FrameHeader decoded;
    std::vector<uint8_t> buffer;
    uint64_t remaining = 0;  // payload bytes of the current frame not yet forwarded
    uint64_t offset = 0;     // next offset in the current frame
    std::optional<Clock::time_point> frame_started;
    uint64_t frames = 0;
    uint64_t bytes = 0;
    RecordFile record;
  };

  template <typename Fn>
  void WithSource(Pipe& pipe, Fn&& fn) {
    if (pipe.direction == Direction::kClientToEnclave) {
      fn(client_, upstream_);
    } else {
      fn(upstream_, client_);
    }
  }

  void OnConnected(error_code ec) {
    if (closed_) {
      return;
    }
    connect_deadline_.reset();
    if (ec) {
      Close(ErrorCode::kHostUpstreamUnavailable, Direction::kClientToEnclave);
      return;
    }
    if (relay_->options().enclave.kind == EnclaveAddress::Kind::kTcp) {
      error_code ignored;
      upstream_.set_option(asio::ip::tcp::no_delay(true), ignored);
    }
    last_activity_ = Clock::now();
    ReadHeader(pipes_[0]);
    ReadHeader(pipes_[1]);
  }

  void ReadHeader(Pipe& pipe) {
    WithSource(pipe, [&](auto& from, auto&) {
      asio::async_read(from, asio::buffer(pipe.header),
                       [self = shared_from_this(), &pipe](error_code ec, size_t n) {
                         self->OnHeader(pipe, ec, n);
                       });
    });
  }

  void OnHeader(Pipe& pipe, error_code ec, size_t n) {
    if (closed_) {
      return;
    }
    if (ec) {
      // End of stream between frames is a clean close; inside a header it is not.
      const bool eof = ec == asio::error::eof;
      Close(eof && n == 0 ? ErrorCode::kOk
                          : (eof ? ErrorCode::kChannelClosed : ErrorCode::kChannelIoError),
            pipe.direction);
      return;
    }
    last_activity_ = Clock::now();
    const channel::FrameLimits limits{relay_->options().max_payload_bytes};
    Result<channel::FrameHeader> header = channel::DecodeFrameHeader(pipe.header, limits);
    if (!header.has_value()) {
      Close(header.code(), pipe.direction);
      return;
    }
    if (header->type == channel::FrameType::kHello &&
        header->payload_len >
            channel::HandshakeFrameLimits(channel::HandshakeLimits{}).max_payload_bytes) {
      Close(ErrorCode::kChannelPayloadTooLarge, pipe.direction);
      return;
    }
    pipe.decoded = *header;
    pipe.remaining = header->payload_len;
    pipe.offset = 0;
    pipe.frame_started = last_activity_;
    ArmTimer();
    Forward(pipe, std::span<uint8_t>(pipe.header));
  }

  // Forward tampers (tests only), records and writes `bytes`, then continues the pipe.
  void Forward(Pipe& pipe, std::span<uint8_t> bytes) {
    if (relay_->options().tamper_for_test) {
      relay_->options().tamper_for_test(FramePiece{.connection_id = id_,
                                                   .direction = pipe.direction,
                                                   .frame_index = pipe.frames,
                                                   .offset = pipe.offset,
                                                   .header = pipe.decoded},
                                        bytes);
    }
    if (!pipe.record.Append(bytes).has_value()) {
      Close(ErrorCode::kHostRecordFailed, pipe.direction);
      return;
    }
    pipe.offset += bytes.size();
    // Counted when handed to the destination, like --record, so that a report taken at shutdown
    // (before the write's completion handler runs) still names every relayed byte and frame.
    pipe.bytes += bytes.size();
    if (pipe.remaining == 0) {
      ++pipe.frames;
    }
    WithSource(pipe, [&](auto&, auto& to) {
      asio::async_write(to, asio::buffer(bytes.data(), bytes.size()),
                        [self = shared_from_this(), &pipe](error_code ec, size_t n) {
                          self->OnWritten(pipe, ec, n);
                        });
    });
  }

  void OnWritten(Pipe& pipe, error_code ec, size_t /*written*/) {
    if (closed_) {
      return;
    }
    if (ec) {
      // The destination failed: name the other direction's peer.
      Close(ErrorCode::kChannelIoError, pipe.direction == Direction::kClientToEnclave
                                            ? Direction::kEnclaveToClient
                                            : Direction::kClientToEnclave);
      return;
    }
    last_activity_ = Clock::now();
    ReadPayload(pipe);
  }

  void ReadPayload(Pipe& pipe) {
    if (pipe.remaining == 0) {
      pipe.frame_started.reset();
      ReadHeader(pipe);
      return;
    }
    const size_t n = static_cast<size_t>(std::min<uint64_t>(pipe.remaining, pipe.buffer.size()));
    // Forward payload bytes as they arrive (never past the frame's end).
    WithSource(pipe, [&](auto& from, auto&) {
      from.async_read_some(asio::buffer(pipe.buffer.data(), n),
                           [self = shared_from_this(), &pipe](error_code ec, size_t got) {
                             self->OnPayload(pipe, ec, got);
                           });
    });
  }

  void OnPayload(Pipe& pipe, error_code ec, size_t n) {
    if (closed_) {
      return;
    }
    if (ec) {
      Close(ec == asio::error::eof ? ErrorCode::kChannelClosed : ErrorCode::kChannelIoError,
            pipe.direction);
      return;
    }
    last_activity_ = Clock::now();
    pipe.remaining -= n;
    Forward(pipe, std::span<uint8_t>(pipe.buffer.data(), n));
  }

  // ArmTimer sets the connection's one timer to the earliest of: the connect deadline, the idle
  // deadline, and each started frame's deadline.
  void ArmTimer() {
    const RelayOptions& o = relay_->options();
    Clock::time_point next = last_activity_ + std::chrono::milliseconds(o.idle_timeout_ms);
    if (connect_deadline_) {
      next = std::min(next, *connect_deadline_);
    }
    for (const Pipe& pipe : pipes_) {
      if (pipe.frame_started) {
        next = std::min(next, *pipe.frame_started + std::chrono::milliseconds(o.frame_timeout_ms));
      }
    }
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
    const RelayOptions& o = relay_->options();
    const Clock::time_point now = Clock::now();
    if (connect_deadline_ && now >= *connect_deadline_) {
      Close(ErrorCode::kHostUpstreamUnavailable, Direction::kClientToEnclave);
      return;
    }
    if (now >= last_activity_ + std::chrono::milliseconds(o.idle_timeout_ms)) {
      Close(ErrorCode::kHostIdleTimeout, Direction::kClientToEnclave);
      return;
    }
    for (const Pipe& pipe : pipes_) {
      if (pipe.frame_started &&
          now >= *pipe.frame_started + std::chrono::milliseconds(o.frame_timeout_ms)) {
        Close(ErrorCode::kHostIdleTimeout, pipe.direction);
        return;
      }
    }
    ArmTimer();
  }

  Relay::Impl* relay_;
  uint64_t id_;
  asio::ip::tcp::socket client_;
  Upstream::socket upstream_;
  asio::steady_timer timer_;
  bool timer_armed_ = false;
  Clock::time_point timer_deadline_;
  std::array<Pipe, 2> pipes_;
  Clock::time_point last_activity_;
  std::optional<Clock::time_point> connect_deadline_;
  bool closed_ = false;
  ConnectionReport report_;
};

Result<uint16_t> Relay::Impl::Bind() {
  EML_ASSIGN_OR_RETURN(upstream_, MakeUpstreamEndpoint(options_.enclave));
  EML_ASSIGN_OR_RETURN(asio::ip::address ip, ParseIp(options_.listen_host));
  EML_ASSIGN_OR_RETURN(
      const uint16_t port,
      internal::ListenTcp(acceptor_, asio::ip::tcp::endpoint(ip, options_.listen_port)));
  Accept();
  return port;
}

void Relay::Impl::Accept() {
  acceptor_.async_accept([this](error_code ec, asio::ip::tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) {
      return;
    }
    if (!ec) {
      const uint64_t id = next_id_++;
      if (connections_.size() >= static_cast<size_t>(options_.max_connections)) {
        error_code ignored;
        socket.close(ignored);
        Report(ConnectionReport{.id = id, .close_reason = ErrorCode::kHostTooManyConnections},
               true);
      } else {
        auto connection = std::make_shared<Connection>(this, id, std::move(socket));
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

void Relay::Impl::Report(const ConnectionReport& report, bool refused) {
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

void Relay::Impl::Stop() {
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
      if (std::shared_ptr<Connection> c = weak.lock()) {
        c->Close(ErrorCode::kOk, Direction::kClientToEnclave);
      }
    }
    work_.reset();
  });
  if (thread_.joinable()) {
    thread_.join();
  }
}

Result<std::unique_ptr<Relay>> Relay::Start(RelayOptions options) {
  if (options.max_connections < 1 || options.idle_timeout_ms < 1 || options.frame_timeout_ms < 1 ||
      options.connect_timeout_ms < 1 || options.buffer_bytes < channel::kFrameHeaderSize ||
      options.buffer_bytes > (size_t{64} << 20)) {
    return Error{ErrorCode::kInvalidArgument, "relay limit out of range"};
  }
  if (!options.record_dir.empty()) {
    EML_RETURN_IF_ERROR(PrepareRecordDir(options.record_dir));
  }
  try {
    auto impl = std::make_unique<Impl>(std::move(options));
    EML_ASSIGN_OR_RETURN(uint16_t port, impl->Bind());
    impl->Run();
    return std::unique_ptr<Relay>(new Relay(std::move(impl), port));
  } catch (const std::exception& e) {
    return Error{ErrorCode::kChannelIoError, std::string("relay: ") + e.what()};
  }
}

Relay::Relay(std::unique_ptr<Impl> impl, uint16_t port) : impl_(std::move(impl)), port_(port) {}

Relay::~Relay() { Stop(); }

RelayStats Relay::Stats() const { return impl_->Stats(); }

bool Relay::WaitForClosed(uint64_t count, int timeout_ms) const {
  return impl_->WaitForClosed(count, timeout_ms);
}

void Relay::Stop() { impl_->Stop(); }

}  // namespace eml::host
