#pragma once
// eml::attest::nitro::DevNsm: the NsmTransport over the Nitro Secure Module driver. One call is
// one ioctl(NSM_IOCTL_RAW) on /dev/nsm with the message struct the driver expects: two iovecs,
// the CBOR request and a kNsmResponseMaxBytes response buffer whose length the driver replaces
// with the response's (Linux include/uapi/linux/nsm.h; aws-nitro-enclaves-nsm-api
// src/driver). The ioctl itself is behind IoctlFunction so tests check the struct and the call
// without the device.
//
// Posture: the response bytes come from the driver; Call bounds them by the buffer it gave and
// returns them unparsed (nsm.h parses them).
//
// Thread safety: one Call at a time per DevNsm.

#include <sys/ioctl.h>
#include <sys/uio.h>

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "attest/nitro/nsm.h"
#include "common/result.h"

namespace eml::attest::nitro {

inline constexpr char kNsmDevicePath[] = "/dev/nsm";

// The driver's message: request (in) and response (in: capacity, out: length).
struct NsmIoctlMessage {
  iovec request;
  iovec response;
};
static_assert(sizeof(NsmIoctlMessage) == 32, "the driver expects two 16-byte iovecs");

inline constexpr unsigned long kNsmIoctlMagic = 0x0A;
// _IOWR(0x0A, 0, struct NsmIoctlMessage) = 0xC0200A00.
inline constexpr unsigned long kNsmIoctlRaw = _IOWR(kNsmIoctlMagic, 0, NsmIoctlMessage);

// IoctlFunction has ::ioctl's contract for this request: 0 on success, else -1 with errno.
using IoctlFunction = std::function<int(int fd, unsigned long request, NsmIoctlMessage* message)>;

class DevNsm final : public NsmTransport {
 public:
  // Open opens `path` read-write. Errors: kNsmDeviceError (absent: not inside a Nitro enclave).
  static Result<std::unique_ptr<DevNsm>> Open(const std::string& path = kNsmDevicePath);
  // ForTest wraps `fd` (owned, closed on destruction; -1 for none) and a fake ioctl.
  static std::unique_ptr<DevNsm> CreateForTest(int fd, IoctlFunction ioctl);
  ~DevNsm() override;
  DevNsm(const DevNsm&) = delete;
  DevNsm& operator=(const DevNsm&) = delete;

  // Call: errors kNsmBadRequest (request over kNsmRequestMaxBytes), kNsmDeviceError (the ioctl
  // failed, or reported a response length beyond the buffer or an empty response).
  Result<std::vector<uint8_t>> Call(std::span<const uint8_t> request) override;

 private:
  DevNsm(int fd, IoctlFunction ioctl) : fd_(fd), ioctl_(std::move(ioctl)) {}
  int fd_;
  IoctlFunction ioctl_;
};

}  // namespace eml::attest::nitro
