#pragma once
// TCP and Unix-domain stream transports for the secure channel, over Boost.Asio (hidden in
// net.cc: this header pulls in only the standard library). Every connect, accept, read and
// write has a deadline; a stream that timed out or failed once is closed and refuses further
// use. Hosts are IP literals or "localhost" (no DNS lookups: a resolver call has no deadline).
//
// Posture: the streams carry untrusted peer bytes but parse nothing; framing and limits are in
// channel/transport.h. ParseHostPort reads configuration strings.
//
// Thread safety: a stream or listener is used by one thread at a time; distinct objects are
// independent (each owns its own io_context).

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "channel/transport.h"
#include "common/result.h"

namespace eml::channel::net {

struct HostPort {
  std::string host;  // IPv4 / IPv6 literal (without brackets) or "localhost"
  uint16_t port = 0;
};

// ParseHostPort parses "host:port" or "[v6]:port". Errors: kChannelBadAddress.
Result<HostPort> ParseHostPort(std::string_view text);

// ConnectTcp / ConnectUnix open a stream within timeout_ms.
// Errors: kChannelBadAddress, kChannelTimeout, kChannelIoError (refused, unreachable, ...).
Result<std::unique_ptr<Stream>> ConnectTcp(const HostPort& address, int timeout_ms);
Result<std::unique_ptr<Stream>> ConnectUnix(const std::string& path, int timeout_ms);

class Listener {
 public:
  virtual ~Listener() = default;
  // Accept waits up to timeout_ms for one connection. Errors: kChannelTimeout, kChannelIoError.
  virtual Result<std::unique_ptr<Stream>> Accept(int timeout_ms) = 0;
  // port is the bound TCP port (useful after listening on port 0); 0 for Unix sockets.
  virtual uint16_t port() const = 0;
};

// ListenTcp binds and listens (port 0 picks a free port). ListenUnix binds a new socket file
// at `path` (an existing file is an error, never removed) and removes it when destroyed.
// Errors: kChannelBadAddress, kChannelIoError.
Result<std::unique_ptr<Listener>> ListenTcp(const HostPort& address);
Result<std::unique_ptr<Listener>> ListenUnix(const std::string& path);

}  // namespace eml::channel::net
