#include "host/internal/asio_util.h"

#include <exception>

namespace eml::host::internal {

namespace asio = boost::asio;
using boost::system::error_code;

Result<asio::ip::address> ParseIp(const std::string& host) {
  if (host == "localhost") {
    return asio::ip::address(asio::ip::address_v4::loopback());
  }
  error_code ec;
  asio::ip::address ip = asio::ip::make_address(host, ec);
  if (ec) {
    return Error{ErrorCode::kChannelBadAddress, "host is not an IP literal or localhost"};
  }
  return ip;
}

Result<uint16_t> ListenTcp(asio::ip::tcp::acceptor& acceptor,
                           const asio::ip::tcp::endpoint& endpoint) {
  error_code ec;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) {
    acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  }
  if (!ec) {
    acceptor.bind(endpoint, ec);
  }
  if (!ec) {
    acceptor.listen(asio::socket_base::max_listen_connections, ec);
  }
  if (ec) {
    return Error{ErrorCode::kChannelIoError, "listen: " + ec.message()};
  }
  const uint16_t port = acceptor.local_endpoint(ec).port();
  if (ec) {
    return Error{ErrorCode::kChannelIoError, "listen: " + ec.message()};
  }
  return port;
}

void RunIoContext(asio::io_context& io) {
  while (true) {
    try {
      io.run();
      return;
    } catch (const std::exception&) {
      // A handler threw (allocation failure): keep serving the other connections.
    }
  }
}

}  // namespace eml::host::internal
