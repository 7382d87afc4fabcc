#include "http/internal/via_socket.h"

#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <poll.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>

#include "channel/vsock/vsock.h"

namespace eml::http::internal {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::string_view kUnixPrefix = "unix:";
constexpr std::string_view kVsockPrefix = "vsock:";

Error BadVia(std::string_view why) {
  return Error{ErrorCode::kHttpBadUrl, "via: " + std::string(why)};
}

Error ConnectError(std::string_view what, int err) {
  return Error{ErrorCode::kHttpConnect, "via: " + std::string(what) + ": " + std::strerror(err)};
}

}  // namespace

Result<ViaTarget> ParseVia(std::string_view via) {
  ViaTarget out;
  if (via.starts_with(kUnixPrefix)) {
    const std::string_view path = via.substr(kUnixPrefix.size());
    sockaddr_un un{};
    // sun_path holds the path and its terminating NUL.
    if (path.empty() || path.size() >= sizeof(un.sun_path) ||
        path.find('\0') != std::string_view::npos) {
      return BadVia("unix:PATH wants a path of 1-107 bytes without NUL");
    }
    un.sun_family = AF_UNIX;
    std::copy(path.begin(), path.end(), un.sun_path);
    std::memcpy(&out.address, &un, sizeof(un));
    out.address_len = static_cast<socklen_t>(sizeof(un));
    return out;
  }
  if (via.starts_with(kVsockPrefix)) {
    const std::string_view rest = via.substr(kVsockPrefix.size());
    Result<channel::vsock::VsockAddress> parsed = channel::vsock::ParseVsockAddress(rest);
    if (rest.empty() || rest.front() < '0' || rest.front() > '9' || !parsed.has_value() ||
        parsed->port == 0) {
      return BadVia("vsock:CID:PORT wants decimal CID and a port above 0");
    }
    sockaddr_vm vm{};
    vm.svm_family = AF_VSOCK;
    vm.svm_cid = parsed->cid;
    vm.svm_port = parsed->port;
    std::memcpy(&out.address, &vm, sizeof(vm));
    out.address_len = static_cast<socklen_t>(sizeof(vm));
    return out;
  }
  return BadVia("want unix:PATH or vsock:CID:PORT");
}

Result<int> ConnectVia(const ViaTarget& target, int64_t timeout_ms) {
  const int fd = ::socket(target.address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return ConnectError("socket", errno);
  }
  const auto* address = reinterpret_cast<const sockaddr*>(&target.address);
  int rc = ::connect(fd, address, target.address_len);
  while (rc != 0 && errno == EINTR) {
    rc = ::connect(fd, address, target.address_len);
  }
  if (rc != 0 && errno != EINPROGRESS) {
    const int err = errno;
    ::close(fd);
    return ConnectError("connect", err);
  }
  if (rc != 0) {
    const Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    while (true) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) {
        ::close(fd);
        return Error{ErrorCode::kHttpTimeout, "via: connect timed out"};
      }
      pollfd p{fd, POLLOUT, 0};
      const int n = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left, 0x7fffffff)));
      if (n > 0) {
        break;
      }
      if (n < 0 && errno != EINTR) {
        const int err = errno;
        ::close(fd);
        return ConnectError("poll", err);
      }
    }
    int err = 0;
    socklen_t len = sizeof(err);
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
      err = errno;
    }
    if (err != 0) {
      ::close(fd);
      return err == ETIMEDOUT ? Error{ErrorCode::kHttpTimeout, "via: connect timed out"}
                              : ConnectError("connect", err);
    }
  }
  return fd;
}

}  // namespace eml::http::internal
