#pragma once
// eml::attest::gcp::testing::FakeLauncher: a one-shot stand-in for the Confidential Space
// launcher's token server on a Unix socket. It reads one request (headers and a Content-Length
// body), keeps it, and answers with a fixed response. Tests only.
//
// Thread safety: the server runs on its own thread; request() / Body() are valid once the
// client call that the server answered has returned.

#include <filesystem>
#include <string>
#include <thread>

namespace eml::attest::gcp::testing {

class FakeLauncher {
 public:
  // FakeLauncher listens on `path` (which must not exist) and serves one connection.
  FakeLauncher(const std::filesystem::path& path, std::string response);
  // The destructor waits for the one exchange: a client must have connected by then.
  ~FakeLauncher();
  FakeLauncher(const FakeLauncher&) = delete;
  FakeLauncher& operator=(const FakeLauncher&) = delete;

  // request: the request as received; Body: its body.
  const std::string& request() const { return request_; }
  std::string Body() const { return request_.substr(request_.find("\r\n\r\n") + 4); }

 private:
  void Serve();

  int fd_ = -1;
  std::string response_;
  std::string request_;
  std::thread thread_;
};

}  // namespace eml::attest::gcp::testing
