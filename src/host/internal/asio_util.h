#pragma once
// Internal to eml_host (never included by other libraries): the pieces the relay and the
// proxies share: address parsing, the listener setup and the I/O thread's loop (the --record
// writer is host/record.h).

// <utility> before Asio: GCC 12 with coroutine support otherwise misses std::exchange there.
#include <utility>

#include <boost/asio.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "channel/address.h"
#include "common/result.h"

namespace eml::host::internal {

// ParseIp accepts an IP literal or "localhost" (no DNS). Errors: kChannelBadAddress.
Result<boost::asio::ip::address> ParseIp(const std::string& host);

// ListenTcp opens `acceptor` on `endpoint` (SO_REUSEADDR), binds and listens, and returns the
// bound port (the kernel's pick for port 0). Errors: kChannelIoError.
Result<uint16_t> ListenTcp(boost::asio::ip::tcp::acceptor& acceptor,
                           const boost::asio::ip::tcp::endpoint& endpoint);

using GenericStream = boost::asio::generic::stream_protocol;

// MakeEndpoint turns a channel address into a socket address (TCP hosts must be IP literals or
// localhost; nothing is resolved). Errors: kChannelBadAddress.
Result<GenericStream::endpoint> MakeEndpoint(const channel::Address& address);

// ListenAddress opens `acceptor` on `address` (TCP with SO_REUSEADDR, a new Unix socket file, or
// AF_VSOCK; port 0 picks one), binds and listens, and returns the bound address (with the port
// the kernel picked). A Unix socket file it created is the caller's to remove
// (RemoveUnixSocket). Errors: kChannelBadAddress (an address MakeEndpoint refuses, an existing
// Unix socket path), kChannelIoError (open, bind or listen).
Result<channel::Address> ListenAddress(boost::asio::basic_socket_acceptor<GenericStream>& acceptor,
                                       const channel::Address& address);

// RemoveUnixSocket removes the socket file of a bound kUnix address (nothing for other kinds).
void RemoveUnixSocket(const channel::Address& bound);

// RunIoContext runs `io` until it stops; a handler that throws (allocation failure) is dropped
// and the loop goes on serving the other connections.
void RunIoContext(boost::asio::io_context& io);

// DeadlineTimer is a connection's one timer, due at the earliest deadline asked for.
class DeadlineTimer {
 public:
  explicit DeadlineTimer(boost::asio::io_context& io) : timer_(io) {}

  // ArmBy makes the timer fire no later than `at`: a pending wait that fires earlier is kept
  // (its handler re-arms for the later deadline); otherwise the wait moves to `at` and
  // handler(error_code) runs then.
  template <typename Handler>
  void ArmBy(std::chrono::steady_clock::time_point at, Handler&& handler) {
    if (armed_ && at >= deadline_) {
      return;
    }
    armed_ = true;
    deadline_ = at;
    timer_.expires_at(at);
    timer_.async_wait(std::forward<Handler>(handler));
  }
  // Fired is the first call in a wait's handler: false for a cancelled wait (Cancel, or one an
  // earlier ArmBy replaced, whose own wait is pending), true for a wait that came due.
  bool Fired(const boost::system::error_code& ec) {
    if (ec == boost::asio::error::operation_aborted) {
      return false;
    }
    armed_ = false;
    return true;
  }
  void Cancel() {
    boost::system::error_code ignored;
    timer_.cancel(ignored);
  }

 private:
  boost::asio::steady_timer timer_;
  bool armed_ = false;
  std::chrono::steady_clock::time_point deadline_;
};

// ShutDownBoth shuts down and closes a connection's two sockets (errors ignored).
template <typename ClientSocket, typename UpstreamSocket>
void ShutDownBoth(ClientSocket& client, UpstreamSocket& upstream) {
  boost::system::error_code ignored;
  client.shutdown(boost::asio::socket_base::shutdown_both, ignored);
  client.close(ignored);
  if (upstream.is_open()) {
    upstream.shutdown(boost::asio::socket_base::shutdown_both, ignored);
  }
  upstream.close(ignored);
}

// IoLoop is an io_context that one thread runs (RunIoContext) from Start until Stop.
class IoLoop {
 public:
  IoLoop() : work_(boost::asio::make_work_guard(io_)) {}
  IoLoop(const IoLoop&) = delete;
  IoLoop& operator=(const IoLoop&) = delete;

  boost::asio::io_context& io() { return io_; }
  void Start();
  // Stop runs `last` on the I/O thread (closing the listener and every connection), lets the
  // loop end once the handlers still queued have run, and joins the thread. Idempotent: later
  // calls return at once.
  void Stop(const std::function<void()>& last);

 private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::thread thread_;
  std::mutex stop_mu_;
  bool stopped_ = false;  // guarded by stop_mu_
};

}  // namespace eml::host::internal
