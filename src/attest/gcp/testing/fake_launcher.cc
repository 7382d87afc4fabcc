#include "attest/gcp/testing/fake_launcher.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>

#include "common/check.h"

namespace eml::attest::gcp::testing {

FakeLauncher::FakeLauncher(const std::filesystem::path& path, std::string response)
    : response_(std::move(response)) {
  fd_ = ::socket(AF_UNIX, SOCK_STREAM, 0);
  EML_CHECK(fd_ >= 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string p = path.string();
  EML_CHECK(p.size() < sizeof(addr.sun_path));
  std::copy(p.begin(), p.end(), addr.sun_path);
  EML_CHECK(::bind(fd_, static_cast<sockaddr*>(static_cast<void*>(&addr)), sizeof(addr)) == 0);
  EML_CHECK(::listen(fd_, 1) == 0);
  thread_ = std::thread([this] { Serve(); });
}

FakeLauncher::~FakeLauncher() {
  thread_.join();
  ::close(fd_);
}

void FakeLauncher::Serve() {
  const int conn = ::accept(fd_, nullptr, nullptr);
  if (conn < 0) {
    return;
  }
  char buf[4096];
  while (true) {
    const size_t header_end = request_.find("\r\n\r\n");
    if (header_end != std::string::npos) {
      const size_t cl = request_.find("Content-Length: ");
      const size_t length = cl == std::string::npos ? 0 : std::stoul(request_.substr(cl + 16));
      if (request_.size() >= header_end + 4 + length) {
        break;
      }
    }
    const ssize_t n = ::recv(conn, buf, sizeof(buf), 0);
    if (n <= 0) {
      break;
    }
    request_.append(buf, static_cast<size_t>(n));
  }
  (void)::send(conn, response_.data(), response_.size(), MSG_NOSIGNAL);
  ::close(conn);
}

}  // namespace eml::attest::gcp::testing
