#include "channel/vsock/vsock.h"

#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <string>
#include <utility>

namespace eml::channel::vsock {
namespace {

using Clock = std::chrono::steady_clock;

bool ParseU32(std::string_view text, uint32_t* out) {
  if (text.empty()) {
    return false;
  }
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size();
}

Error Errno(std::string_view what, int err) {
  return Error{ErrorCode::kChannelIoError, std::string(what) + ": " + std::strerror(err)};
}

sockaddr_vm MakeSockaddr(const VsockAddress& address) {
  sockaddr_vm out{};
  out.svm_family = AF_VSOCK;
  out.svm_cid = address.cid;
  out.svm_port = address.port;
  return out;
}

// RemainingMs is what is left of `deadline`, clamped to [0, INT_MAX].
int RemainingMs(Clock::time_point deadline) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  if (left <= 0) {
    return 0;
  }
  return left > 0x7fffffff ? 0x7fffffff : static_cast<int>(left);
}

Clock::time_point DeadlineAfter(int timeout_ms) {
  return Clock::now() + std::chrono::milliseconds(timeout_ms < 0 ? 0 : timeout_ms);
}

// WaitFor polls `fd` for `events` until `deadline`. Errors: kChannelTimeout, kChannelIoError.
Status WaitFor(int fd, short events, Clock::time_point deadline) {
  while (true) {
    pollfd p{fd, events, 0};
    const int n = ::poll(&p, 1, RemainingMs(deadline));
    if (n > 0) {
      return OkStatus();
    }
    if (n == 0) {
      return Error{ErrorCode::kChannelTimeout, "operation passed its deadline"};
    }
    if (errno != EINTR) {
      return Errno("poll", errno);
    }
  }
}

// VsockStream: a connected non-blocking socket moved with poll() deadlines.
class VsockStream final : public Stream {
 public:
  explicit VsockStream(VsockSocket socket) : socket_(std::move(socket)) {}
  ~VsockStream() override { ::shutdown(socket_.fd(), SHUT_RDWR); }

  Status ReadExact(std::span<uint8_t> out, int timeout_ms) override {
    EML_RETURN_IF_ERROR(CheckUsable());
    const Clock::time_point deadline = DeadlineAfter(timeout_ms);
    size_t done = 0;
    while (done < out.size()) {
      const std::span<uint8_t> rest = out.subspan(done);
      const ssize_t n = ::recv(socket_.fd(), rest.data(), rest.size(), 0);
      if (n > 0) {
        done += static_cast<size_t>(n);
        continue;
      }
      if (n == 0) {
        return Fail(Error{ErrorCode::kChannelClosed, "peer closed the stream"});
      }
      if (errno == EINTR) {
        continue;
      }
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        return Fail(Errno("read", errno));
      }
      Status ready = WaitFor(socket_.fd(), POLLIN, deadline);
      if (!ready.has_value()) {
        return Fail(std::move(ready).error());
      }
    }
    if (cancelled_.load()) {
      return CancelledError();  // the transfer raced the shutdown
    }
    return OkStatus();
  }

  Status WriteAll(std::span<const uint8_t> bytes, int timeout_ms) override {
    EML_RETURN_IF_ERROR(CheckUsable());
    const Clock::time_point deadline = DeadlineAfter(timeout_ms);
    size_t done = 0;
    while (done < bytes.size()) {
      const std::span<const uint8_t> rest = bytes.subspan(done);
      const ssize_t n = ::send(socket_.fd(), rest.data(), rest.size(), MSG_NOSIGNAL);
      if (n >= 0) {
        done += static_cast<size_t>(n);
        continue;
      }
      if (errno == EINTR) {
        continue;
      }
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        return Fail(Errno("write", errno));
      }
      Status ready = WaitFor(socket_.fd(), POLLOUT, deadline);
      if (!ready.has_value()) {
        return Fail(std::move(ready).error());
      }
    }
    if (cancelled_.load()) {
      return CancelledError();  // the transfer raced the shutdown
    }
    return OkStatus();
  }

  void Cancel() override {
    cancelled_.store(true);
    ::shutdown(socket_.fd(), SHUT_RDWR);
  }

 private:
  Status CheckUsable() const {
    if (cancelled_.load()) {
      return CancelledError();
    }
    if (broken_) {
      return Error{ErrorCode::kChannelIoError, "stream closed after an earlier failure"};
    }
    return OkStatus();
  }

  static Error CancelledError() { return Error{ErrorCode::kChannelCancelled, "stream cancelled"}; }

  Error Fail(Error error) {
    broken_ = true;
    ::shutdown(socket_.fd(), SHUT_RDWR);
    return cancelled_.load() ? CancelledError() : error;
  }

  VsockSocket socket_;
  bool broken_ = false;
  std::atomic<bool> cancelled_{false};
};

class PosixVsockListener final : public VsockListener {
 public:
  PosixVsockListener(VsockSocket socket, uint32_t port) : socket_(std::move(socket)), port_(port) {}

  Result<std::unique_ptr<Stream>> Accept(int timeout_ms) override {
    const Clock::time_point deadline = DeadlineAfter(timeout_ms);
    while (true) {
      const int fd = ::accept4(socket_.fd(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd >= 0) {
        return std::unique_ptr<Stream>(new VsockStream(VsockSocket::Adopt(fd)));
      }
      if (errno == EINTR || errno == ECONNABORTED) {
        continue;
      }
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        return Errno("accept", errno);
      }
      EML_RETURN_IF_ERROR(WaitFor(socket_.fd(), POLLIN, deadline));
    }
  }

  uint32_t port() const override { return port_; }

 private:
  VsockSocket socket_;
  uint32_t port_;
};

}  // namespace

Result<VsockAddress> ParseVsockAddress(std::string_view text) {
  constexpr std::string_view kScheme = "vsock://";
  if (text.substr(0, kScheme.size()) == kScheme) {
    text.remove_prefix(kScheme.size());
  }
  const size_t colon = text.find(':');
  VsockAddress out;
  if (colon == std::string_view::npos || !ParseU32(text.substr(0, colon), &out.cid) ||
      !ParseU32(text.substr(colon + 1), &out.port)) {
    return Error{ErrorCode::kChannelBadAddress, "want cid:port with decimal u32 values"};
  }
  return out;
}

Result<VsockSocket> VsockSocket::Open() {
  const int fd = ::socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return Errno("socket(AF_VSOCK)", errno);
  }
  return VsockSocket(fd);
}

Result<VsockSocket> VsockSocket::OpenNonBlocking() {
  const int fd = ::socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    return Errno("socket(AF_VSOCK)", errno);
  }
  return VsockSocket(fd);
}

VsockSocket::~VsockSocket() {
  if (fd_ >= 0) {
    ::close(fd_);
  }
}

VsockSocket::VsockSocket(VsockSocket&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

VsockSocket& VsockSocket::operator=(VsockSocket&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) {
      ::close(fd_);
    }
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

int VsockSocket::Release() { return std::exchange(fd_, -1); }

Result<std::unique_ptr<Stream>> ConnectVsock(const VsockAddress& address, int timeout_ms) {
  EML_ASSIGN_OR_RETURN(VsockSocket socket, VsockSocket::OpenNonBlocking());
  const sockaddr_vm addr = MakeSockaddr(address);
  const Clock::time_point deadline = DeadlineAfter(timeout_ms);
  // sockaddr_vm is passed as the generic sockaddr the socket API takes.
  if (::connect(socket.fd(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    if (errno != EINPROGRESS && errno != EINTR) {
      return Errno("connect", errno);
    }
    EML_RETURN_IF_ERROR(WaitFor(socket.fd(), POLLOUT, deadline));
    int err = 0;
    socklen_t len = sizeof(err);
    if (::getsockopt(socket.fd(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
      return Errno("getsockopt(SO_ERROR)", errno);
    }
    if (err != 0) {
      return Errno("connect", err);
    }
  }
  return std::unique_ptr<Stream>(new VsockStream(std::move(socket)));
}

Result<std::unique_ptr<VsockListener>> ListenVsock(const VsockAddress& address) {
  EML_ASSIGN_OR_RETURN(VsockSocket socket, VsockSocket::OpenNonBlocking());
  const sockaddr_vm addr = MakeSockaddr(address);
  if (::bind(socket.fd(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    return Errno("bind", errno);
  }
  if (::listen(socket.fd(), SOMAXCONN) != 0) {
    return Errno("listen", errno);
  }
  sockaddr_vm bound{};
  socklen_t len = sizeof(bound);
  if (::getsockname(socket.fd(), reinterpret_cast<sockaddr*>(&bound), &len) != 0) {
    return Errno("getsockname", errno);
  }
  return std::unique_ptr<VsockListener>(new PosixVsockListener(std::move(socket), bound.svm_port));
}

}  // namespace eml::channel::vsock
