#pragma once
// Test support only. Posture: reads requests from clients in the same test process on
// 127.0.0.1; request heads are capped at 64 KiB and bodies at 64 MiB.
//
// eml::http::testing::LoopbackServer: a scripted HTTP/1.1 server on 127.0.0.1 and an ephemeral
// port. One thread accepts one connection at a time, reads one request, asks the handler for
// the reply, sends it and closes the connection. A reply may instead hold the connection open
// without answering until the client gives up (to test timeouts).
//
// Thread safety: Requests() and the destructor may be called from any thread.
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "common/result.h"

namespace eml::http::testing {

struct RecordedRequest {
  std::string method;
  std::string target;                                        // e.g. "/bucket/key?x=1"
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::vector<uint8_t> body;
  const std::string* Header(std::string_view lower_case_name) const;
};

struct CannedReply {
  std::string raw;    // bytes sent verbatim (status line, headers, body)
  bool hang = false;  // send nothing; wait until the client closes the connection
};

// Reply builds a well-formed response with Content-Length and "Connection: close".
CannedReply Reply(int status, std::string_view body,
                  const std::vector<std::pair<std::string, std::string>>& headers = {});

class LoopbackServer {
 public:
  using Handler = std::function<CannedReply(const RecordedRequest&)>;

  // Start listens on 127.0.0.1:0 and serves until destroyed. Errors: kIoError.
  static Result<std::unique_ptr<LoopbackServer>> Start(Handler handler);
  ~LoopbackServer();
  LoopbackServer(const LoopbackServer&) = delete;
  LoopbackServer& operator=(const LoopbackServer&) = delete;

  uint16_t port() const { return port_; }
  std::string Url() const;  // "http://127.0.0.1:PORT"
  std::vector<RecordedRequest> Requests() const;

 private:
  LoopbackServer(int listen_fd, uint16_t port, Handler handler);
  void Serve();
  void ServeOne(int fd);

  int listen_fd_;
  uint16_t port_;
  Handler handler_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> conn_fd_{-1};
  mutable std::mutex mu_;
  std::vector<RecordedRequest> requests_;
  std::thread thread_;
};

}  // namespace eml::http::testing
