#pragma once
// VSock (AF_VSOCK) addressing for the channel between an enclave and its host. Only the address
// parser and socket creation live here so far; the stream transport over it is still to come
// (the loopback VSock transport is unavailable on our build machines, so tests only check that
// a socket opens).
//
// Posture: ParseVsockAddress reads configuration strings ("cid:port", optional "vsock://").
//
// Thread safety: pure functions; a VsockSocket is used by one thread at a time.

#include <cstdint>
#include <string_view>

#include "common/result.h"

namespace eml::channel::vsock {

inline constexpr uint32_t kVsockCidAny = 0xFFFFFFFF;  // VMADDR_CID_ANY
inline constexpr uint32_t kVsockCidHost = 2;          // VMADDR_CID_HOST
inline constexpr uint32_t kVsockCidParent = 3;        // AWS Nitro parent instance

struct VsockAddress {
  uint32_t cid = 0;
  uint32_t port = 0;
};

// ParseVsockAddress parses "cid:port" or "vsock://cid:port" with decimal u32 values.
// Errors: kChannelBadAddress.
Result<VsockAddress> ParseVsockAddress(std::string_view text);

// An owned AF_VSOCK stream socket, closed on destruction. Move-only.
class VsockSocket {
 public:
  // Open creates the socket. Errors: kChannelIoError (no vsock support in the kernel, ...).
  static Result<VsockSocket> Open();
  ~VsockSocket();
  VsockSocket(VsockSocket&& other) noexcept;
  VsockSocket& operator=(VsockSocket&& other) noexcept;
  VsockSocket(const VsockSocket&) = delete;
  VsockSocket& operator=(const VsockSocket&) = delete;

  int fd() const { return fd_; }

 private:
  explicit VsockSocket(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace eml::channel::vsock
