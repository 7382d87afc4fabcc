#include "host/relay.h"

// <utility> before Asio: GCC 12 with coroutine support otherwise misses std::exchange there.
#include <utility>

#include <algorithm>
#include <array>
#include <boost/asio.hpp>
#include <chrono>
#include <exception>
#include <optional>
#include <system_error>

#include "channel/handshake_messages.h"
#include "host/internal/asio_util.h"
#include "host/internal/connection_registry.h"
#include "host/record.h"

namespace eml::host {
namespace {

namespace asio = boost::asio;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;
using Upstream = internal::GenericStream;

const char* DirectionTag(Direction direction) {
  return direction == Direction::kClientToEnclave ? "c2e" : "e2c";
}

}  // namespace

class Connection;

// Relay::Impl owns the io_context, the acceptor and the bookkeeping; it lives until the I/O
// thread has been joined, so every handler may use it.
class Relay::Impl {
 public:
  explicit Impl(RelayOptions options)
      : options_(std::move(options)), acceptor_(loop_.io()), registry_(options_.on_close) {}

  Result<uint16_t> Bind();
  void Run() { loop_.Start(); }
  void Stop();
  RelayStats Stats() const { return registry_.Stats(); }
  bool WaitForClosed(uint64_t count, int timeout_ms) const {
    return registry_.WaitForClosed(count, timeout_ms);
  }

  // Called on the I/O thread by connections.
  void Report(const ConnectionReport& report, bool refused) { registry_.Report(report, refused); }
  void Forget(uint64_t id) { registry_.Forget(id); }

  const RelayOptions& options() const { return options_; }
  asio::io_context& io() { return loop_.io(); }
  const Upstream::endpoint& upstream() const { return upstream_; }

 private:
  void Accept();

  RelayOptions options_;
  internal::IoLoop loop_;
  asio::ip::tcp::acceptor acceptor_;
  Upstream::endpoint upstream_;
  internal::ConnectionRegistry<Connection, ConnectionReport> registry_;
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
    timer_.Cancel();
    internal::ShutDownBoth(client_, upstream_);
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
    if (relay_->options().enclave.kind == channel::Address::Kind::kTcp) {
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
    timer_.ArmBy(next, [self = shared_from_this()](error_code ec) { self->OnTimer(ec); });
  }

  void OnTimer(error_code ec) {
    if (!timer_.Fired(ec) || closed_) {
      return;
    }
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
  internal::DeadlineTimer timer_;
  std::array<Pipe, 2> pipes_;
  Clock::time_point last_activity_;
  std::optional<Clock::time_point> connect_deadline_;
  bool closed_ = false;
  ConnectionReport report_;
};

Result<uint16_t> Relay::Impl::Bind() {
  const channel::Address& enclave = options_.enclave;
  if ((enclave.kind == channel::Address::Kind::kTcp && enclave.tcp.port == 0) ||
      (enclave.kind == channel::Address::Kind::kVsock && enclave.vsock.port == 0)) {
    return Error{ErrorCode::kChannelBadAddress, "enclave port 0"};
  }
  EML_ASSIGN_OR_RETURN(upstream_, internal::MakeEndpoint(enclave));
  EML_ASSIGN_OR_RETURN(asio::ip::address ip, internal::ParseIp(options_.listen_host));
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
      const uint64_t id = registry_.NextId();
      if (registry_.Full(options_.max_connections)) {
        error_code ignored;
        socket.close(ignored);
        Report(ConnectionReport{.id = id, .close_reason = ErrorCode::kHostTooManyConnections},
               true);
      } else {
        auto connection = std::make_shared<Connection>(this, id, std::move(socket));
        registry_.Add(id, connection);
        connection->Start();
      }
    }
    // Accept errors (EMFILE, ...) are transient for a listener: keep accepting.
    Accept();
  });
}

void Relay::Impl::Stop() {
  loop_.Stop([this] {
    error_code ignored;
    acceptor_.close(ignored);
    registry_.CloseAll([](Connection& c) { c.Close(ErrorCode::kOk, Direction::kClientToEnclave); });
  });
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
