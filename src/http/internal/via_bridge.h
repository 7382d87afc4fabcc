#pragma once
// Internal to eml_http: carries a Request::via connection that libcurl cannot take as it is.
// libcurl 7.88.x (Debian 12) can neither be handed a connected socket (curl issue #10626) nor
// name an AF_VSOCK peer, but it connects to Unix sockets. StartBridge gives it one: a one-shot
// abstract Unix socket whose single connection, from this process only, a relay thread joins to
// a socket already connected to the via target.
//
// Posture: the bridge listens on an abstract Unix name with a random part, accepts exactly one
// connection whose peer is this process (SO_PEERCRED), and relays bytes through two fixed
// 64 KiB buffers; it parses nothing.

#include <sys/socket.h>
#include <sys/un.h>

#include <cstdint>

#include "common/result.h"

namespace eml::http::internal {

struct BridgeAddress {
  sockaddr_un address{};
  socklen_t address_len = 0;
};

// StartBridge takes ownership of `connected` (a connected stream socket; closed on every path),
// listens on a fresh abstract Unix socket and starts a detached thread that accepts one
// connection there from this process within accept_timeout_ms, then relays bytes both ways until
// both directions have ended, passing half-closes on. Errors: kHttpConnect.
Result<BridgeAddress> StartBridge(int connected, int64_t accept_timeout_ms);

}  // namespace eml::http::internal
