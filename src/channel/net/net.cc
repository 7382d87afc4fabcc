#include "channel/net/net.h"

// <utility> before Asio: GCC 12 with coroutine support otherwise misses std::exchange there.
#include <utility>

#include <sys/socket.h>

#include <atomic>
#include <boost/asio.hpp>
#include <charconv>
#include <chrono>
#include <exception>
#include <filesystem>
#include <functional>

namespace eml::channel::net {
namespace {

namespace asio = boost::asio;
using boost::system::error_code;
using UnixProtocol = asio::local::stream_protocol;

Error IoError(std::string_view what, const error_code& ec) {
  return Error{ErrorCode::kChannelIoError, std::string(what) + ": " + ec.message()};
}

// RunWithDeadline starts one asynchronous operation with `start` and runs `io` until it
// completes or timeout_ms passes; on timeout it cancels through `cancel` and waits for the
// aborted handler, so no handler outlives the call.
Result<error_code> RunWithDeadline(
    asio::io_context& io, const std::function<void(std::function<void(error_code)>)>& start,
    const std::function<void()>& cancel, int timeout_ms) {
  error_code result;
  bool done = false;
  start([&](error_code ec) {
    result = ec;
    done = true;
  });
  io.restart();
  io.run_for(std::chrono::milliseconds(timeout_ms < 0 ? 0 : timeout_ms));
  if (!done) {
    cancel();
    io.restart();
    io.run();
    return Error{ErrorCode::kChannelTimeout, "operation passed its deadline"};
  }
  return result;
}

template <typename Protocol>
class AsioStream final : public Stream {
 public:
  using Socket = typename Protocol::socket;
  AsioStream(std::unique_ptr<asio::io_context> io, Socket socket)
      : io_(std::move(io)), socket_(std::move(socket)), fd_(socket_.native_handle()) {}
  // The socket itself closes with socket_, after any Cancel (see transport.h).
  ~AsioStream() override { ShutDown(); }

  Status ReadExact(std::span<uint8_t> out, int timeout_ms) override {
    if (out.empty()) {
      return OkStatus();
    }
    return Transfer(
        [&](std::function<void(error_code)> done) {
          asio::async_read(socket_, asio::buffer(out.data(), out.size()),
                           [done](error_code ec, size_t) { done(ec); });
        },
        timeout_ms, "read");
  }

  Status WriteAll(std::span<const uint8_t> bytes, int timeout_ms) override {
    if (bytes.empty()) {
      return OkStatus();
    }
    return Transfer(
        [&](std::function<void(error_code)> done) {
          asio::async_write(socket_, asio::buffer(bytes.data(), bytes.size()),
                            [done](error_code ec, size_t) { done(ec); });
        },
        timeout_ms, "write");
  }

  void Cancel() override {
    cancelled_.store(true);
    ShutDown();
  }

 private:
  // ShutDown ends both directions but keeps the descriptor open until destruction, so that a
  // concurrent Cancel never reaches a descriptor number the process has reused.
  void ShutDown() { ::shutdown(fd_, SHUT_RDWR); }

  Error CancelledError() const { return Error{ErrorCode::kChannelCancelled, "stream cancelled"}; }

  Status Transfer(const std::function<void(std::function<void(error_code)>)>& start, int timeout_ms,
                  std::string_view what) {
    if (cancelled_.load()) {
      return CancelledError();
    }
    if (broken_) {
      return Error{ErrorCode::kChannelIoError, "stream closed after an earlier failure"};
    }
    try {
      Result<error_code> ec = RunWithDeadline(
          *io_, start,
          [&] {
            error_code ignored;
            socket_.cancel(ignored);
          },
          timeout_ms);
      if (!ec.has_value() || *ec) {
        broken_ = true;
        ShutDown();
      }
      if (cancelled_.load()) {
        return CancelledError();  // whatever the operation returned after the shutdown
      }
      if (!ec.has_value()) {
        return std::move(ec).error();
      }
      if (*ec == asio::error::eof) {
        return Error{ErrorCode::kChannelClosed, "peer closed the stream"};
      }
      if (*ec) {
        return IoError(what, *ec);
      }
      return OkStatus();
    } catch (const std::exception& e) {
      broken_ = true;
      return Error{ErrorCode::kChannelIoError, std::string(what) + ": " + e.what()};
    }
  }

  std::unique_ptr<asio::io_context> io_;
  Socket socket_;
  const int fd_;
  bool broken_ = false;
  std::atomic<bool> cancelled_{false};
};

Result<asio::ip::address> ParseIp(const std::string& host) {
  if (host == "localhost") {
    return asio::ip::address(asio::ip::address_v4::loopback());
  }
  error_code ec;
  asio::ip::address ip = asio::ip::make_address(host, ec);
  if (ec) {
    return Error{ErrorCode::kChannelBadAddress, "host is not an IP literal or localhost"};
  }
  return ip;
}

template <typename Protocol>
Result<std::unique_ptr<Stream>> Connect(const typename Protocol::endpoint& endpoint,
                                        int timeout_ms) {
  try {
    auto io = std::make_unique<asio::io_context>();
    typename Protocol::socket socket(*io);
    Result<error_code> ec = RunWithDeadline(
        *io, [&](std::function<void(error_code)> done) { socket.async_connect(endpoint, done); },
        [&] {
          error_code ignored;
          socket.close(ignored);
        },
        timeout_ms);
    if (!ec.has_value()) {
      return std::move(ec).error();
    }
    if (*ec) {
      return IoError("connect", *ec);
    }
    return std::unique_ptr<Stream>(new AsioStream<Protocol>(std::move(io), std::move(socket)));
  } catch (const std::exception& e) {
    return Error{ErrorCode::kChannelIoError, std::string("connect: ") + e.what()};
  }
}

template <typename Protocol>
class AsioListener final : public Listener {
 public:
  AsioListener(std::unique_ptr<asio::io_context> io, typename Protocol::acceptor acceptor,
               std::string unix_path)
      : io_(std::move(io)), acceptor_(std::move(acceptor)), unix_path_(std::move(unix_path)) {}
  ~AsioListener() override {
    error_code ignored;
    acceptor_.close(ignored);
    if (!unix_path_.empty()) {
      std::error_code remove_error;
      std::filesystem::remove(unix_path_, remove_error);
    }
  }

  Result<std::unique_ptr<Stream>> Accept(int timeout_ms) override {
    try {
      auto io = std::make_unique<asio::io_context>();
      typename Protocol::socket socket(*io);
      Result<error_code> ec = RunWithDeadline(
          *io_, [&](std::function<void(error_code)> done) { acceptor_.async_accept(socket, done); },
          [&] {
            error_code ignored;
            acceptor_.cancel(ignored);
          },
          timeout_ms);
      if (!ec.has_value()) {
        return std::move(ec).error();
      }
      if (*ec) {
        return IoError("accept", *ec);
      }
      return std::unique_ptr<Stream>(new AsioStream<Protocol>(std::move(io), std::move(socket)));
    } catch (const std::exception& e) {
      return Error{ErrorCode::kChannelIoError, std::string("accept: ") + e.what()};
    }
  }

  uint16_t port() const override {
    if constexpr (std::is_same_v<Protocol, asio::ip::tcp>) {
      error_code ec;
      const auto endpoint = acceptor_.local_endpoint(ec);
      return ec ? 0 : endpoint.port();
    } else {
      return 0;
    }
  }

 private:
  std::unique_ptr<asio::io_context> io_;
  typename Protocol::acceptor acceptor_;
  std::string unix_path_;
};

template <typename Protocol>
Result<std::unique_ptr<Listener>> Listen(const typename Protocol::endpoint& endpoint,
                                         std::string unix_path) {
  try {
    auto io = std::make_unique<asio::io_context>();
    typename Protocol::acceptor acceptor(*io);
    error_code ec;
    acceptor.open(endpoint.protocol(), ec);
    if (!ec && unix_path.empty()) {
      acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    }
    if (!ec) {
      acceptor.bind(endpoint, ec);
    }
    if (!ec) {
      acceptor.listen(asio::socket_base::max_listen_connections, ec);
    }
    if (ec) {
      return IoError("listen", ec);
    }
    return std::unique_ptr<Listener>(
        new AsioListener<Protocol>(std::move(io), std::move(acceptor), std::move(unix_path)));
  } catch (const std::exception& e) {
    return Error{ErrorCode::kChannelIoError, std::string("listen: ") + e.what()};
  }
}

Status CheckUnixPath(const std::string& path) {
  // sun_path holds 108 bytes including the terminating NUL.
  if (path.empty() || path.size() > 107 || path.find('\0') != std::string::npos) {
    return Error{ErrorCode::kChannelBadAddress, "Unix socket path empty or too long"};
  }
  return OkStatus();
}

}  // namespace

Result<HostPort> ParseHostPort(std::string_view text) {
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size()) {
    return Error{ErrorCode::kChannelBadAddress, "want host:port"};
  }
  std::string_view host = text.substr(0, colon);
  const std::string_view port_text = text.substr(colon + 1);
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') {
      return Error{ErrorCode::kChannelBadAddress, "unbalanced [ ] around an IPv6 host"};
    }
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    return Error{ErrorCode::kChannelBadAddress, "IPv6 hosts need [ ]"};
  }
  uint16_t port = 0;
  const auto [end, ec] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size()) {
    return Error{ErrorCode::kChannelBadAddress, "port is not a number in 0..65535"};
  }
  HostPort out{std::string(host), port};
  EML_RETURN_IF_ERROR(ParseIp(out.host));
  return out;
}

Result<std::unique_ptr<Stream>> ConnectTcp(const HostPort& address, int timeout_ms) {
  EML_ASSIGN_OR_RETURN(asio::ip::address ip, ParseIp(address.host));
  return Connect<asio::ip::tcp>(asio::ip::tcp::endpoint(ip, address.port), timeout_ms);
}

Result<std::unique_ptr<Stream>> ConnectUnix(const std::string& path, int timeout_ms) {
  EML_RETURN_IF_ERROR(CheckUnixPath(path));
  return Connect<UnixProtocol>(UnixProtocol::endpoint(path), timeout_ms);
}

Result<std::unique_ptr<Listener>> ListenTcp(const HostPort& address) {
  EML_ASSIGN_OR_RETURN(asio::ip::address ip, ParseIp(address.host));
  return Listen<asio::ip::tcp>(asio::ip::tcp::endpoint(ip, address.port), "");
}

Result<std::unique_ptr<Listener>> ListenUnix(const std::string& path) {
  EML_RETURN_IF_ERROR(CheckUnixPath(path));
  return Listen<UnixProtocol>(UnixProtocol::endpoint(path), path);
}

}  // namespace eml::channel::net
