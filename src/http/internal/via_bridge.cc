#include "http/internal/via_bridge.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/random.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <system_error>
#include <thread>

namespace eml::http::internal {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kRelayBufferBytes = 64 * 1024;

Error BridgeError(const std::string& what, int err) {
  return Error{ErrorCode::kHttpConnect,
               "via bridge: " + what + (err != 0 ? std::string(": ") + std::strerror(err) : "")};
}

// UniqueAbstractName returns "eml-via-<pid>-<counter>-<16 random hex digits>".
Result<std::string> UniqueAbstractName() {
  static std::atomic<uint64_t> counter{0};
  uint64_t random = 0;
  if (::getrandom(&random, sizeof(random), 0) != static_cast<ssize_t>(sizeof(random))) {
    return BridgeError("getrandom", errno);
  }
  char hex[17] = {};
  std::snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(random));
  return "eml-via-" + std::to_string(::getpid()) + "-" + std::to_string(counter.fetch_add(1)) +
         "-" + hex;
}

// One direction of the relay: bytes read from `from` wait in `buffer` until written to `to`.
struct Direction {
  int from = -1;
  int to = -1;
  std::array<char, kRelayBufferBytes> buffer{};
  size_t length = 0;
  size_t written = 0;
  bool ended = false;  // `from` reached end of stream and `to` was half-closed

  bool WantsRead() const { return !ended && length == 0; }
  bool WantsWrite() const { return length > written; }

  // Read fills the empty buffer; false on a connection error.
  bool Read() {
    const ssize_t n = ::recv(from, buffer.data(), buffer.size(), 0);
    if (n > 0) {
      length = static_cast<size_t>(n);
      written = 0;
      return true;
    }
    if (n == 0) {
      ended = true;
      ::shutdown(to, SHUT_WR);
      return true;
    }
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
  }
  // Write sends what the buffer holds; false on a connection error.
  bool Write() {
    const ssize_t n = ::send(to, buffer.data() + written, length - written, MSG_NOSIGNAL);
    if (n >= 0) {
      written += static_cast<size_t>(n);
      if (written == length) {
        length = 0;
        written = 0;
      }
      return true;
    }
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
  }
};

// Relay joins `a` and `b` until both directions have ended or either fails, then closes both.
void Relay(int a, int b) {
  auto up = std::make_unique<Direction>();
  auto down = std::make_unique<Direction>();
  up->from = a;
  up->to = b;
  down->from = b;
  down->to = a;
  bool healthy = true;
  while (healthy && !(up->ended && down->ended && !up->WantsWrite() && !down->WantsWrite())) {
    std::array<pollfd, 2> fds{pollfd{a, 0, 0}, pollfd{b, 0, 0}};
    for (const Direction* d : {up.get(), down.get()}) {
      pollfd& source = d->from == a ? fds[0] : fds[1];
      pollfd& sink = d->to == a ? fds[0] : fds[1];
      if (d->WantsRead()) {
        source.events |= POLLIN;
      }
      if (d->WantsWrite()) {
        sink.events |= POLLOUT;
      }
    }
    for (pollfd& p : fds) {
      if (p.events == 0) {
        p.fd = -1;  // nothing wanted: poll skips it (a closed peer's POLLHUP would spin)
      }
    }
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      healthy = errno == EINTR;
      continue;
    }
    for (Direction* d : {up.get(), down.get()}) {
      const pollfd& source = d->from == a ? fds[0] : fds[1];
      const pollfd& sink = d->to == a ? fds[0] : fds[1];
      if (d->WantsRead() && (source.revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
        healthy = healthy && d->Read();
      }
      if (d->WantsWrite() && (sink.revents & (POLLOUT | POLLHUP | POLLERR)) != 0) {
        healthy = healthy && d->Write();
      }
    }
  }
  ::close(a);
  ::close(b);
}

// AcceptFromSelf waits up to timeout_ms for a connection on `listener` whose peer is this
// process (others are dropped), closes the listener and returns the connection, or -1.
int AcceptFromSelf(int listener, int64_t timeout_ms) {
  const Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  int accepted = -1;
  while (accepted < 0) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      break;
    }
    pollfd p{listener, POLLIN, 0};
    const int n = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left, 0x7fffffff)));
    if (n < 0 && errno != EINTR) {
      break;
    }
    if (n <= 0) {
      continue;
    }
    const int fd = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      continue;
    }
    ucred peer{};
    socklen_t len = sizeof(peer);
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &len) == 0 && peer.pid == ::getpid()) {
      accepted = fd;
    } else {
      ::close(fd);
    }
  }
  ::close(listener);
  return accepted;
}

}  // namespace

Result<BridgeAddress> StartBridge(int connected, int64_t accept_timeout_ms) {
  Result<std::string> name = UniqueAbstractName();
  if (!name.has_value()) {
    ::close(connected);
    return name.error();
  }
  BridgeAddress out;
  out.address.sun_family = AF_UNIX;
  // Abstract namespace: sun_path starts with NUL and the name is the bytes after it (no file).
  std::memcpy(out.address.sun_path + 1, name->data(), name->size());
  out.address_len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name->size());
  const int listener = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listener < 0) {
    const int err = errno;
    ::close(connected);
    return BridgeError("socket", err);
  }
  if (::bind(listener, reinterpret_cast<const sockaddr*>(&out.address), out.address_len) != 0 ||
      ::listen(listener, 1) != 0) {
    const int err = errno;
    ::close(listener);
    ::close(connected);
    return BridgeError("listen", err);
  }
  const int flags = ::fcntl(connected, F_GETFL);
  if (flags < 0 || ::fcntl(connected, F_SETFL, flags | O_NONBLOCK) != 0) {
    const int err = errno;
    ::close(listener);
    ::close(connected);
    return BridgeError("fcntl", err);
  }
  try {
    std::thread([listener, connected, accept_timeout_ms] {
      const int accepted = AcceptFromSelf(listener, accept_timeout_ms);
      if (accepted < 0) {
        ::close(connected);
        return;
      }
      Relay(accepted, connected);
    }).detach();
  } catch (const std::system_error& e) {
    ::close(listener);
    ::close(connected);
    return BridgeError(std::string("thread: ") + e.what(), 0);
  }
  return out;
}

}  // namespace eml::http::internal
