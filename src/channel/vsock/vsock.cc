#include "channel/vsock/vsock.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <string>
#include <utility>

namespace eml::channel::vsock {
namespace {

bool ParseU32(std::string_view text, uint32_t* out) {
  if (text.empty()) {
    return false;
  }
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

Result<VsockAddress> ParseVsockAddress(std::string_view text) {
  constexpr std::string_view kScheme = "vsock://";
  if (text.substr(0, kScheme.size()) == kScheme) {
    text.remove_prefix(kScheme.size());
  }
  const size_t colon = text.find(':');
  VsockAddress out;
  if (colon == std::string_view::npos || !ParseU32(text.substr(0, colon), &out.cid) ||
      !ParseU32(text.substr(colon + 1), &out.port)) {
    return Error{ErrorCode::kChannelBadAddress, "want cid:port with decimal u32 values"};
  }
  return out;
}

Result<VsockSocket> VsockSocket::Open() {
  const int fd = ::socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return Error{ErrorCode::kChannelIoError,
                 std::string("socket(AF_VSOCK): ") + std::strerror(errno)};
  }
  return VsockSocket(fd);
}

VsockSocket::~VsockSocket() {
  if (fd_ >= 0) {
    ::close(fd_);
  }
}

VsockSocket::VsockSocket(VsockSocket&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

VsockSocket& VsockSocket::operator=(VsockSocket&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) {
      ::close(fd_);
    }
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

}  // namespace eml::channel::vsock
