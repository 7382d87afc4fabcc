#pragma once
// Internal to eml_host (never included by other libraries): the pieces the relay and the egress
// proxy share: address parsing, the listener setup and the I/O thread's loop (the --record
// writer is host/record.h).

// <utility> before Asio: GCC 12 with coroutine support otherwise misses std::exchange there.
#include <utility>

#include <boost/asio.hpp>
#include <cstdint>
#include <string>

#include "common/result.h"

namespace eml::host::internal {

// ParseIp accepts an IP literal or "localhost" (no DNS). Errors: kChannelBadAddress.
Result<boost::asio::ip::address> ParseIp(const std::string& host);

// ListenTcp opens `acceptor` on `endpoint` (SO_REUSEADDR), binds and listens, and returns the
// bound port (the kernel's pick for port 0). Errors: kChannelIoError.
Result<uint16_t> ListenTcp(boost::asio::ip::tcp::acceptor& acceptor,
                           const boost::asio::ip::tcp::endpoint& endpoint);

// RunIoContext runs `io` until it stops; a handler that throws (allocation failure) is dropped
// and the loop goes on serving the other connections.
void RunIoContext(boost::asio::io_context& io);

}  // namespace eml::host::internal
