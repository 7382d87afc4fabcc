#pragma once
// VSock (AF_VSOCK) transport for the channel between an enclave and its host: the address
// parser, socket creation, and stream connect / listen as channel::Stream with the deadline
// semantics of channel/net/net.h (every connect, accept, read and write has a deadline; a
// stream that timed out or failed once is closed and refuses further use).
//
// The loopback VSock transport is unavailable on our build machines, so tests check that a
// socket opens and binds, that addresses parse, and that connecting to an absent CID ends with
// a typed error within its deadline instead of hanging.
//
// Posture: ParseVsockAddress reads configuration strings ("cid:port", optional "vsock://").
// The streams carry untrusted peer bytes but parse nothing (framing is in channel/transport.h).
//
// Thread safety: pure functions; a VsockSocket, stream or listener is used by one thread at a
// time.

#include <cstdint>
#include <memory>
#include <string_view>

#include "channel/transport.h"
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
  // Open creates a blocking socket. Errors: kChannelIoError (no vsock support in the kernel).
  static Result<VsockSocket> Open();
  // OpenNonBlocking creates a non-blocking socket (what the streams below use).
  static Result<VsockSocket> OpenNonBlocking();
  ~VsockSocket();
  VsockSocket(VsockSocket&& other) noexcept;
  VsockSocket& operator=(VsockSocket&& other) noexcept;
  VsockSocket(const VsockSocket&) = delete;
  VsockSocket& operator=(const VsockSocket&) = delete;

  int fd() const { return fd_; }
  // Release gives up ownership and returns the descriptor (-1 afterwards).
  int Release();
  // Adopt takes ownership of `fd`, an AF_VSOCK socket (e.g. from accept).
  static VsockSocket Adopt(int fd) { return VsockSocket(fd); }

 private:
  explicit VsockSocket(int fd) : fd_(fd) {}
  int fd_ = -1;
};

// ConnectVsock opens a stream to `address` within timeout_ms.
// Errors: kChannelTimeout (no answer in time, e.g. an absent CID), kChannelIoError (refused,
// no such device, no vsock support).
Result<std::unique_ptr<Stream>> ConnectVsock(const VsockAddress& address, int timeout_ms);

class VsockListener {
 public:
  virtual ~VsockListener() = default;
  // Accept waits up to timeout_ms for one connection. Errors: kChannelTimeout, kChannelIoError.
  virtual Result<std::unique_ptr<Stream>> Accept(int timeout_ms) = 0;
  // port is the bound port (the kernel picks one when listening on port VMADDR_PORT_ANY).
  virtual uint32_t port() const = 0;
};

// ListenVsock binds `address` (cid kVsockCidAny for every local CID) and listens.
// Errors: kChannelIoError (bind or listen refused, e.g. the port is taken).
Result<std::unique_ptr<VsockListener>> ListenVsock(const VsockAddress& address);

}  // namespace eml::channel::vsock
