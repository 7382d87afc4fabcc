#pragma once
// Posture: ParseAddress reads configuration strings (command-line flags, the boot configuration
// the host serves: untrusted, so every form is checked before use and nothing is resolved).
//
// channel::Address: one spelling for every place that names a stream endpoint (the enclave's
// listener, the host's relay target and proxies, the client's endpoint, the boot configuration
// source) and the one connect / listen that goes with it, over TCP, Unix sockets or VSock:
//   "tcp:HOST:PORT"   HOST an IP literal ("[v6]" in brackets) or "localhost"; no DNS lookups;
//   "unix:PATH"       1-107 bytes (sun_path holds 108 including the NUL), no NUL inside;
//   "vsock:CID:PORT"  decimal u32 values (CID 3 is the parent instance on AWS Nitro).
// FormatAddress(ParseAddress(text)) gives the canonical form of text back.
//
// Thread safety: pure functions; a Listener is used by one thread at a time.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "channel/net/net.h"
#include "channel/transport.h"
#include "channel/vsock/vsock.h"
#include "common/result.h"

namespace eml::channel {

inline constexpr size_t kMaxUnixPathBytes = 107;

struct Address {
  enum class Kind { kTcp, kUnix, kVsock };
  Kind kind = Kind::kTcp;
  net::HostPort tcp;          // kTcp
  std::string unix_path;      // kUnix
  vsock::VsockAddress vsock;  // kVsock
};

// ParseAddress parses the three forms above. Port 0 (TCP or VSock) is accepted: it means "pick
// one" to Listen and is refused by Connect. Errors: kChannelBadAddress.
Result<Address> ParseAddress(std::string_view text);

// FormatAddress renders the canonical text form.
std::string FormatAddress(const Address& address);

// Connect opens a stream to `address` within timeout_ms.
// Errors: kChannelBadAddress (port 0), kChannelTimeout, kChannelIoError.
Result<std::unique_ptr<Stream>> Connect(const Address& address, int timeout_ms);

class Listener {
 public:
  virtual ~Listener() = default;
  // Accept waits up to timeout_ms for one connection. Errors: kChannelTimeout, kChannelIoError.
  virtual Result<std::unique_ptr<Stream>> Accept(int timeout_ms) = 0;
  // bound is the address peers connect to: the listened address with the port the kernel
  // picked when it was 0.
  virtual const Address& bound() const = 0;
};

// Listen binds and listens. A Unix socket file must not exist yet (never removed for you) and
// is removed when the listener is destroyed. Errors: kChannelBadAddress, kChannelIoError.
Result<std::unique_ptr<Listener>> Listen(const Address& address);

}  // namespace eml::channel
