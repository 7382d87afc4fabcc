#include "http/testing/loopback_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>

namespace eml::http::testing {
namespace {

constexpr size_t kMaxHeadBytes = 64 * 1024;
constexpr size_t kMaxBodyBytes = 64 * 1024 * 1024;

char LowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
    text.remove_prefix(1);
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) {
    text.remove_suffix(1);
  }
  return text;
}

bool SendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) {
        continue;
      }
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// ReadRequest reads one request head and its Content-Length body; false on EOF or a malformed
// or oversized request.
bool ReadRequest(int fd, RecordedRequest* out) {
  std::string buffer;
  size_t head_end = std::string::npos;
  char chunk[4096];
  while ((head_end = buffer.find("\r\n\r\n")) == std::string::npos) {
    if (buffer.size() > kMaxHeadBytes) {
      return false;
    }
    const ssize_t n = ::recv(fd, chunk, sizeof(chunk), 0);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) {
        continue;
      }
      return false;
    }
    buffer.append(chunk, static_cast<size_t>(n));
  }
  const std::string_view head = std::string_view(buffer).substr(0, head_end);
  size_t line_end = head.find("\r\n");
  const std::string_view request_line = head.substr(0, line_end);
  const size_t sp1 = request_line.find(' ');
  const size_t sp2 = request_line.rfind(' ');
  if (sp1 == std::string_view::npos || sp2 <= sp1) {
    return false;
  }
  out->method = std::string(request_line.substr(0, sp1));
  out->target = std::string(request_line.substr(sp1 + 1, sp2 - sp1 - 1));
  size_t content_length = 0;
  while (line_end != std::string_view::npos) {
    const size_t start = line_end + 2;
    line_end = head.find("\r\n", start);
    const std::string_view line = head.substr(start, line_end - start);
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      continue;
    }
    std::string name(line.substr(0, colon));
    std::transform(name.begin(), name.end(), name.begin(), LowerAscii);
    const std::string_view value = Trim(line.substr(colon + 1));
    if (name == "content-length") {
      const auto [ptr, ec] =
          std::from_chars(value.data(), value.data() + value.size(), content_length);
      if (ec != std::errc() || ptr != value.data() + value.size() ||
          content_length > kMaxBodyBytes) {
        return false;
      }
    }
    out->headers.emplace_back(std::move(name), std::string(value));
  }
  std::string body = buffer.substr(head_end + 4);
  while (body.size() < content_length) {
    const ssize_t n = ::recv(fd, chunk, sizeof(chunk), 0);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) {
        continue;
      }
      return false;
    }
    body.append(chunk, static_cast<size_t>(n));
  }
  body.resize(content_length);
  out->body.assign(body.begin(), body.end());
  return true;
}

}  // namespace

const std::string* RecordedRequest::Header(std::string_view lower_case_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_case_name) {
      return &value;
    }
  }
  return nullptr;
}

CannedReply Reply(int status, std::string_view body,
                  const std::vector<std::pair<std::string, std::string>>& headers) {
  std::string raw = "HTTP/1.1 " + std::to_string(status) + " Status\r\n";
  for (const auto& [name, value] : headers) {
    raw += name + ": " + value + "\r\n";
  }
  raw += "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
  raw += body;
  return CannedReply{std::move(raw), false};
}

Result<std::unique_ptr<LoopbackServer>> LoopbackServer::Start(Handler handler) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return Error{ErrorCode::kIoError, "socket failed"};
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || ::listen(fd, 16) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    return Error{ErrorCode::kIoError, "bind/listen on 127.0.0.1 failed"};
  }
  return std::unique_ptr<LoopbackServer>(
      new LoopbackServer(fd, ntohs(addr.sin_port), std::move(handler)));
}

LoopbackServer::LoopbackServer(int listen_fd, uint16_t port, Handler handler)
    : listen_fd_(listen_fd), port_(port), handler_(std::move(handler)) {
  thread_ = std::thread([this] { Serve(); });
}

LoopbackServer::~LoopbackServer() {
  stopping_ = true;
  ::shutdown(listen_fd_, SHUT_RDWR);  // wakes accept()
  const int conn = conn_fd_.load();
  if (conn >= 0) {
    ::shutdown(conn, SHUT_RDWR);  // wakes a hanging recv()
  }
  thread_.join();
  ::close(listen_fd_);
}

std::string LoopbackServer::Url() const { return "http://127.0.0.1:" + std::to_string(port_); }

std::vector<RecordedRequest> LoopbackServer::Requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

void LoopbackServer::Serve() {
  while (!stopping_) {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) {
        continue;
      }
      return;  // shut down
    }
    conn_fd_ = fd;
    if (stopping_) {
      ::shutdown(fd, SHUT_RDWR);
    }
    ServeOne(fd);
    conn_fd_ = -1;
    ::close(fd);
  }
}

void LoopbackServer::ServeOne(int fd) {
  RecordedRequest request;
  if (!ReadRequest(fd, &request)) {
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    requests_.push_back(request);
  }
  const CannedReply reply = handler_(request);
  if (reply.hang) {
    char sink[256];
    while (::recv(fd, sink, sizeof(sink), 0) > 0) {
    }
    return;
  }
  (void)SendAll(fd, reply.raw);
  ::shutdown(fd, SHUT_WR);
}

}  // namespace eml::http::testing
