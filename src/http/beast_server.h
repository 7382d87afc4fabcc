#pragma once
// Header-only pieces that the project's Beast HTTP/1.1 servers (the host's storage proxy and
// the key broker's API) share: an accept loop with a connection cap, the I/O thread pool with
// its idempotent stop, and the linger after a reply that closes the connection. Request parsing,
// limits and replies stay with each server.
//
// Thread safety: AcceptLoop runs its handlers on the acceptor's io_context; a Linger belongs to
// one connection and is used on that connection's strand.

// <utility> before Asio: GCC 12 with coroutine support otherwise misses std::exchange there.
#include <utility>

#include <array>
#include <boost/asio.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace eml::http::server {

// After a reply that closes the connection a server stops sending but reads (and drops) what
// the client still sends, for a short while, so that closing does not reset the connection
// before the client has read the reply.
inline constexpr auto kLingerTimeout = std::chrono::seconds(2);
inline constexpr size_t kMaxLingerBytes = 1024 * 1024;

// AcceptLoop keeps one accept pending on `acceptor` until the acceptor is closed or `io` stops.
// Each connection gets its own strand; `full()` true closes it at once, otherwise
// `admit(socket)` takes it.
template <typename Acceptor, typename Full, typename Admit>
void AcceptLoop(Acceptor& acceptor, boost::asio::io_context& io, Full full, Admit admit) {
  acceptor.async_accept(
      boost::asio::make_strand(io),
      [&acceptor, &io, full, admit](boost::system::error_code ec, auto socket) mutable {
        if (ec == boost::asio::error::operation_aborted) {
          return;
        }
        if (!ec) {
          if (full()) {
            boost::system::error_code ignored;
            socket.close(ignored);
          } else {
            admit(std::move(socket));
          }
        }
        AcceptLoop(acceptor, io, std::move(full), std::move(admit));
      });
}

// IoThreads runs one io_context on a pool of threads from Start until Stop.
class IoThreads {
 public:
  // Start runs `run(io)` (io.run(), or a loop around it) on `count` new threads.
  template <typename Run>
  void Start(boost::asio::io_context& io, int count, Run run) {
    for (int i = 0; i < count; ++i) {
      threads_.emplace_back([&io, run] { run(io); });
    }
  }
  // Stop stops `io`, joins the threads and then runs `last` (closing what handlers left open),
  // all under one lock: a concurrent Stop returns only when the first is done, a later one at
  // once.
  template <typename Last>
  void Stop(boost::asio::io_context& io, Last last) {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) {
      return;
    }
    stopped_ = true;
    io.stop();
    for (std::thread& thread : threads_) {
      thread.join();
    }
    last();
  }

 private:
  std::vector<std::thread> threads_;
  std::mutex mu_;
  bool stopped_ = false;  // guarded by mu_
};

// Linger half-closes a connection and drains what the peer still sends until it closes,
// kMaxLingerBytes have come or kLingerTimeout passes; then `done()` runs (it closes the
// connection). `owner` keeps the connection, and so this Linger, alive until then.
class Linger {
 public:
  template <typename BeastStream, typename Done>
  void Start(BeastStream& stream, std::shared_ptr<void> owner, Done done) {
    boost::system::error_code ignored;
    stream.socket().shutdown(boost::asio::socket_base::shutdown_send, ignored);
    stream.expires_after(kLingerTimeout);
    DrainSome(stream, std::move(owner), std::move(done));
  }

 private:
  template <typename BeastStream, typename Done>
  void DrainSome(BeastStream& stream, std::shared_ptr<void> owner, Done done) {
    stream.async_read_some(
        boost::asio::buffer(buffer_),
        [this, &stream, owner, done](boost::system::error_code ec, size_t n) mutable {
          drained_ += n;
          if (ec || drained_ > kMaxLingerBytes) {
            done();
            return;
          }
          DrainSome(stream, std::move(owner), std::move(done));
        });
  }

  std::array<char, 4096> buffer_{};
  size_t drained_ = 0;
};

}  // namespace eml::http::server
