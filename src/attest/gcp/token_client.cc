#include "attest/gcp/token_client.h"

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>

#include "attest/report_binding.h"

namespace eml::attest::gcp {
namespace {

constexpr size_t kMaxAudienceBytes = 512;

Error BadResponse(const std::string& what) {
  return Error{ErrorCode::kTokenSocketBadResponse, "token server: " + what};
}

class Socket {
 public:
  explicit Socket(int fd) : fd_(fd) {}
  ~Socket() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

Status CheckRequest(const TokenRequest& request) {
  if (request.audience.empty() || request.audience.size() > kMaxAudienceBytes) {
    return Error{ErrorCode::kInvalidArgument, "audience must be 1..512 bytes"};
  }
  if (request.token_type != "PKI" && request.token_type != "OIDC") {
    return Error{ErrorCode::kInvalidArgument, "token_type must be PKI or OIDC"};
  }
  if (request.nonces.size() > kMaxTokenNonces) {
    return Error{ErrorCode::kInvalidArgument, "at most 6 nonces"};
  }
  for (const std::string& nonce : request.nonces) {
    if (nonce.size() < kMinTokenNonceBytes || nonce.size() > kMaxTokenNonceBytes) {
      return Error{ErrorCode::kInvalidArgument, "each nonce must be 10..74 bytes"};
    }
  }
  return {};
}

std::string RequestBody(const TokenRequest& request) {
  nlohmann::json body;
  body["audience"] = request.audience;
  body["token_type"] = request.token_type;
  body["nonces"] = request.nonces;
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

// ParseNumber: the whole of `text` as a number in `base`.
std::optional<size_t> ParseNumber(std::string_view text, int base) {
  size_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

Result<std::string> DecodeChunked(std::string_view rest) {
  std::string body;
  while (true) {
    const size_t line_end = rest.find("\r\n");
    if (line_end == std::string_view::npos) {
      return BadResponse("truncated chunk size");
    }
    std::string_view size_text = rest.substr(0, line_end);
    size_text = Trim(size_text.substr(0, size_text.find(';')));
    const std::optional<size_t> size = ParseNumber(size_text, 16);
    if (!size.has_value() || *size > kMaxResponseBytes) {
      return BadResponse("bad chunk size");
    }
    rest.remove_prefix(line_end + 2);
    if (*size == 0) {
      return body;  // trailers, if any, are ignored
    }
    if (rest.size() < *size + 2 || rest.substr(*size, 2) != "\r\n") {
      return BadResponse("truncated chunk");
    }
    body.append(rest.substr(0, *size));
    rest.remove_prefix(*size + 2);
  }
}

// ParseResponse: status 200 and the body (Content-Length, chunked, or up to EOF).
Result<std::string> ParseResponse(std::string_view response) {
  const size_t header_end = response.find("\r\n\r\n");
  if (header_end == std::string_view::npos) {
    return BadResponse("no end of headers");
  }
  std::string_view head = response.substr(0, header_end);
  std::string_view rest = response.substr(header_end + 4);
  const size_t status_end = head.find("\r\n");
  const std::string_view status_line = head.substr(0, status_end);
  if (status_line.size() < 12 || status_line.substr(0, 7) != "HTTP/1." || status_line[8] != ' ') {
    return BadResponse("not an HTTP/1.x response");
  }
  const std::optional<size_t> status = ParseNumber(status_line.substr(9, 3), 10);
  if (!status.has_value()) {
    return BadResponse("bad status line");
  }
  if (*status != 200) {
    return BadResponse("status " + std::to_string(*status));
  }
  std::optional<size_t> content_length;
  bool chunked = false;
  std::string_view headers =
      status_end == std::string_view::npos ? std::string_view() : head.substr(status_end + 2);
  while (!headers.empty()) {
    const size_t line_end = headers.find("\r\n");
    const std::string_view line = headers.substr(0, line_end);
    headers =
        line_end == std::string_view::npos ? std::string_view() : headers.substr(line_end + 2);
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      return BadResponse("malformed header");
    }
    const std::string_view name = line.substr(0, colon);
    const std::string_view value = Trim(line.substr(colon + 1));
    if (EqualsIgnoreCase(name, "content-length")) {
      content_length = ParseNumber(value, 10);
      if (!content_length.has_value()) {
        return BadResponse("bad Content-Length");
      }
    } else if (EqualsIgnoreCase(name, "transfer-encoding")) {
      if (!EqualsIgnoreCase(value, "chunked")) {
        return BadResponse("unsupported Transfer-Encoding");
      }
      chunked = true;
    }
  }
  if (chunked) {
    return DecodeChunked(rest);
  }
  if (content_length.has_value()) {
    if (rest.size() < *content_length) {
      return BadResponse("body shorter than Content-Length");
    }
    return std::string(rest.substr(0, *content_length));
  }
  return std::string(rest);
}

bool IsCompactJws(std::string_view token) {
  if (token.empty() || std::count(token.begin(), token.end(), '.') != 2) {
    return false;
  }
  return std::all_of(token.begin(), token.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

Status SendAll(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return Error{ErrorCode::kTokenSocketUnavailable, "cannot send to the token socket"};
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

Result<std::string> ReceiveAll(int fd) {
  std::string response;
  std::array<char, 4096> chunk{};
  while (true) {
    const ssize_t n = ::recv(fd, chunk.data(), chunk.size(), 0);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return Error{ErrorCode::kTokenSocketUnavailable, "no answer from the token socket"};
    }
    if (n == 0) {
      return response;
    }
    if (response.size() + static_cast<size_t>(n) > kMaxResponseBytes) {
      return BadResponse("response over the size limit");
    }
    response.append(chunk.data(), static_cast<size_t>(n));
  }
}

}  // namespace

Result<std::string> TokenClient::RequestToken(const TokenRequest& request) const {
  EML_RETURN_IF_ERROR(CheckRequest(request));
  const std::string body = RequestBody(request);
  const std::string message =
      "POST /v1/token HTTP/1.1\r\nHost: localhost\r\n"
      "Content-Type: application/json\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;

  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string path = options_.socket_path.string();
  if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
    return Error{ErrorCode::kInvalidArgument, "socket path empty or too long"};
  }
  std::copy(path.begin(), path.end(), addr.sun_path);
  Socket sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (sock.get() < 0) {
    return Error{ErrorCode::kTokenSocketUnavailable, "cannot create a Unix socket"};
  }
  timeval tv{};
  tv.tv_sec = options_.timeout_ms / 1000;
  tv.tv_usec = static_cast<suseconds_t>((options_.timeout_ms % 1000) * 1000);
  ::setsockopt(sock.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(sock.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  sockaddr* generic = static_cast<sockaddr*>(static_cast<void*>(&addr));
  if (::connect(sock.get(), generic, sizeof(addr)) != 0) {
    return Error{ErrorCode::kTokenSocketUnavailable,
                 "cannot connect to " + path + " (not in Confidential Space?)"};
  }
  EML_RETURN_IF_ERROR(SendAll(sock.get(), message));
  EML_ASSIGN_OR_RETURN(std::string response, ReceiveAll(sock.get()));
  EML_ASSIGN_OR_RETURN(std::string token, ParseResponse(response));
  token = std::string(Trim(token));
  if (!IsCompactJws(token)) {
    return BadResponse("the body is not a compact JWS");
  }
  return token;
}

Result<std::string> TokenClient::AttestBinding(const std::string& audience,
                                               const std::string& token_type,
                                               std::span<const uint8_t> public_key,
                                               std::span<const uint8_t> nonce) const {
  TokenRequest request;
  request.audience = audience;
  request.token_type = token_type;
  request.nonces = {GcpBindingNonce(public_key, nonce)};
  return RequestToken(request);
}

}  // namespace eml::attest::gcp
