#pragma once
// Internal to eml_http: the socket behind Request::via (http/http_client.h). ParseVia reads a
// caller's configuration string (a flag or the boot configuration: checked, never resolved);
// the socket carries HTTP that libcurl parses under the client's caps.

#include <sys/socket.h>

#include <string_view>

#include "common/result.h"

namespace eml::http::internal {

// A parsed Request::via: the peer's socket address (AF_UNIX or AF_VSOCK).
struct ViaTarget {
  sockaddr_storage address{};
  socklen_t address_len = 0;
};

// ParseVia accepts "unix:PATH" (1-107 bytes, no NUL) and "vsock:CID:PORT" (decimal u32 values,
// port not 0): the channel address forms (channel/address.h) that name a host proxy.
// Errors: kHttpBadUrl.
Result<ViaTarget> ParseVia(std::string_view via);

// ConnectVia opens a stream socket to `target` and connects it within timeout_ms (non-blocking
// connect and poll). The descriptor is returned non-blocking and close-on-exec; the caller owns
// it. Errors: kHttpTimeout, kHttpConnect.
Result<int> ConnectVia(const ViaTarget& target, int64_t timeout_ms);

}  // namespace eml::http::internal
