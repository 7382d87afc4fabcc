#include "host/connect_head.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>

namespace eml::host {
namespace {

constexpr size_t kMaxDnsNameChars = 253;
constexpr size_t kMaxDnsLabelChars = 63;
constexpr size_t kMaxIpv6LiteralChars = 45;

Error BadRequest(std::string detail) {
  return Error{ErrorCode::kEgressBadRequest, std::move(detail)};
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsHexDigit(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
char LowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// RFC 9110 token characters.
bool IsTokenChar(char c) {
  return IsDigit(c) || IsAlpha(c) ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// Header values: visible ASCII, space and tab (no obs-text, no control characters).
bool IsValueChar(char c) { return c == ' ' || c == '\t' || (c >= 0x21 && c <= 0x7e); }

bool IsDnsName(std::string_view host) {
  if (host.empty() || host.size() > kMaxDnsNameChars) {
    return false;
  }
  size_t label = 0;
  char previous = '.';
  for (const char c : host) {
    if (c == '.') {
      if (label == 0 || previous == '-') {
        return false;
      }
      label = 0;
    } else if (IsDigit(c) || IsAlpha(c) || c == '-') {
      if (label == 0 && c == '-') {
        return false;
      }
      if (++label > kMaxDnsLabelChars) {
        return false;
      }
    } else {
      return false;
    }
    previous = c;
  }
  return label != 0 && previous != '-';
}

bool IsIpv6Literal(std::string_view host) {
  if (host.empty() || host.size() > kMaxIpv6LiteralChars) {
    return false;
  }
  for (const char c : host) {
    if (!IsHexDigit(c) && c != ':' && c != '.') {
      return false;
    }
  }
  in6_addr address{};
  return ::inet_pton(AF_INET6, std::string(host).c_str(), &address) == 1;
}

Result<uint16_t> ParsePort(std::string_view text) {
  if (text.empty() || text.size() > 5 || text.front() == '0') {
    return BadRequest("port is not a decimal in 1..65535");
  }
  uint32_t value = 0;
  for (const char c : text) {
    if (!IsDigit(c)) {
      return BadRequest("port is not a decimal in 1..65535");
    }
    value = value * 10 + static_cast<uint32_t>(c - '0');
  }
  if (value > 65535) {
    return BadRequest("port is not a decimal in 1..65535");
  }
  return static_cast<uint16_t>(value);
}

Status CheckHeaderLine(std::string_view line) {
  const size_t colon = line.find(':');
  if (colon == 0 || colon == std::string_view::npos) {
    return BadRequest("header line without a name");
  }
  if (!std::all_of(line.begin(), line.begin() + static_cast<std::ptrdiff_t>(colon), IsTokenChar)) {
    return BadRequest("header name is not a token");
  }
  if (!std::all_of(line.begin() + static_cast<std::ptrdiff_t>(colon) + 1, line.end(),
                   IsValueChar)) {
    return BadRequest("header value has a control character");
  }
  return OkStatus();
}

}  // namespace

Result<ConnectTarget> ParseConnectAuthority(std::string_view text) {
  ConnectTarget out;
  std::string_view port_text;
  if (text.starts_with('[')) {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) {
      return BadRequest("unbalanced [ ] around an IPv6 host");
    }
    const std::string_view host = text.substr(1, close - 1);
    const std::string_view rest = text.substr(close + 1);
    if (!rest.starts_with(':') || !IsIpv6Literal(host)) {
      return BadRequest("want [IPv6]:port");
    }
    out.host = std::string(host);
    port_text = rest.substr(1);
  } else {
    const size_t colon = text.find(':');
    if (colon == std::string_view::npos || !IsDnsName(text.substr(0, colon))) {
      return BadRequest("want host:port with a DNS name or IPv4 host");
    }
    out.host = std::string(text.substr(0, colon));
    port_text = text.substr(colon + 1);
  }
  std::transform(out.host.begin(), out.host.end(), out.host.begin(), LowerAscii);
  EML_ASSIGN_OR_RETURN(out.port, ParsePort(port_text));
  return out;
}

std::string FormatConnectAuthority(const ConnectTarget& target) {
  const bool v6 = target.host.find(':') != std::string::npos;
  return (v6 ? "[" + target.host + "]" : target.host) + ":" + std::to_string(target.port);
}

Result<ConnectTarget> ParseConnectHead(std::string_view head, size_t max_head_bytes) {
  if (head.size() > max_head_bytes) {
    return Error{ErrorCode::kEgressHeadTooLarge, "CONNECT head over the size limit"};
  }
  size_t eol = head.find("\r\n");
  if (eol == std::string_view::npos) {
    return BadRequest("request line without CRLF");
  }
  const std::string_view request_line = head.substr(0, eol);
  std::string_view rest = head.substr(eol + 2);
  constexpr std::string_view kMethod = "CONNECT ";
  if (!request_line.starts_with(kMethod)) {
    return BadRequest("method is not CONNECT");
  }
  const std::string_view after_method = request_line.substr(kMethod.size());
  const size_t space = after_method.find(' ');
  if (space == std::string_view::npos) {
    return BadRequest("request line is not CONNECT authority version");
  }
  const std::string_view version = after_method.substr(space + 1);
  if (version != "HTTP/1.1" && version != "HTTP/1.0") {
    return BadRequest("version is not HTTP/1.1 or HTTP/1.0");
  }
  EML_ASSIGN_OR_RETURN(ConnectTarget target, ParseConnectAuthority(after_method.substr(0, space)));
  while (true) {
    eol = rest.find("\r\n");
    if (eol == std::string_view::npos) {
      return BadRequest("head does not end with an empty line");
    }
    const std::string_view line = rest.substr(0, eol);
    rest = rest.substr(eol + 2);
    if (line.empty()) {
      break;
    }
    EML_RETURN_IF_ERROR(CheckHeaderLine(line));
  }
  if (!rest.empty()) {
    return BadRequest("bytes after the head's empty line");
  }
  return target;
}

}  // namespace eml::host
