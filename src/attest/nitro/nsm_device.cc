#include "attest/nitro/nsm_device.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace eml::attest::nitro {

Result<std::unique_ptr<DevNsm>> DevNsm::Open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    return Error{ErrorCode::kNsmDeviceError,
                 "open " + path + ": " + std::strerror(errno) + " (not inside a Nitro enclave?)"};
  }
  return std::unique_ptr<DevNsm>(
      new DevNsm(fd, [](int f, unsigned long request, NsmIoctlMessage* message) {
        return ::ioctl(f, request, message);
      }));
}

std::unique_ptr<DevNsm> DevNsm::CreateForTest(int fd, IoctlFunction ioctl) {
  return std::unique_ptr<DevNsm>(new DevNsm(fd, std::move(ioctl)));
}

DevNsm::~DevNsm() {
  if (fd_ >= 0) {
    ::close(fd_);
  }
}

Result<std::vector<uint8_t>> DevNsm::Call(std::span<const uint8_t> request) {
  if (request.empty() || request.size() > kNsmRequestMaxBytes) {
    return Error{ErrorCode::kNsmBadRequest, "request empty or over the driver's buffer"};
  }
  std::vector<uint8_t> in(request.begin(), request.end());
  std::vector<uint8_t> out(kNsmResponseMaxBytes);
  NsmIoctlMessage message{};
  message.request.iov_base = in.data();
  message.request.iov_len = in.size();
  message.response.iov_base = out.data();
  message.response.iov_len = out.size();
  if (ioctl_(fd_, kNsmIoctlRaw, &message) != 0) {
    const int err = errno;
    return Error{ErrorCode::kNsmDeviceError, std::string("ioctl(NSM_IOCTL_RAW): ") +
                                                 std::strerror(err) +
                                                 (err == EMSGSIZE ? " (input too large)" : "")};
  }
  if (message.response.iov_len == 0 || message.response.iov_len > out.size()) {
    return Error{ErrorCode::kNsmDeviceError, "driver reported an impossible response length"};
  }
  out.resize(message.response.iov_len);
  return out;
}

}  // namespace eml::attest::nitro
