#include "host/internal/asio_util.h"

#include <linux/vm_sockets.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <filesystem>
#include <system_error>

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

void RemoveUnixSocket(const channel::Address& bound) {
  if (bound.kind == channel::Address::Kind::kUnix) {
    std::error_code ignored;
    std::filesystem::remove(bound.unix_path, ignored);
  }
}

Result<GenericStream::endpoint> MakeEndpoint(const channel::Address& address) {
  switch (address.kind) {
    case channel::Address::Kind::kTcp: {
      EML_ASSIGN_OR_RETURN(asio::ip::address ip, ParseIp(address.tcp.host));
      return GenericStream::endpoint(asio::ip::tcp::endpoint(ip, address.tcp.port));
    }
    case channel::Address::Kind::kUnix:
      return GenericStream::endpoint(asio::local::stream_protocol::endpoint(address.unix_path));
    case channel::Address::Kind::kVsock: {
      sockaddr_vm vm{};
      vm.svm_family = AF_VSOCK;
      vm.svm_cid = address.vsock.cid;
      vm.svm_port = address.vsock.port;
      return GenericStream::endpoint(&vm, sizeof(vm));
    }
  }
  return Error{ErrorCode::kChannelBadAddress, "unknown address kind"};
}

Result<channel::Address> ListenAddress(asio::basic_socket_acceptor<GenericStream>& acceptor,
                                       const channel::Address& address) {
  channel::Address bound = address;
  error_code ec;
  if (address.kind == channel::Address::Kind::kTcp) {
    EML_ASSIGN_OR_RETURN(asio::ip::address ip, ParseIp(address.tcp.host));
    const asio::ip::tcp::endpoint endpoint(ip, address.tcp.port);
    asio::ip::tcp::acceptor tcp(acceptor.get_executor());
    EML_ASSIGN_OR_RETURN(bound.tcp.port, ListenTcp(tcp, endpoint));
    const GenericStream protocol(endpoint.protocol().family(), endpoint.protocol().protocol());
    acceptor.assign(protocol, tcp.release(ec), ec);
    if (ec) {
      return Error{ErrorCode::kChannelIoError, "listen: " + ec.message()};
    }
    return bound;
  }
  if (address.kind == channel::Address::Kind::kUnix) {
    std::error_code exists_ec;
    if (std::filesystem::exists(address.unix_path, exists_ec)) {
      return Error{ErrorCode::kChannelBadAddress, "the Unix socket path exists"};
    }
  }
  if (bound.kind == channel::Address::Kind::kVsock && bound.vsock.port == 0) {
    bound.vsock.port = VMADDR_PORT_ANY;
  }
  EML_ASSIGN_OR_RETURN(const GenericStream::endpoint endpoint, MakeEndpoint(bound));
  acceptor.open(endpoint.protocol(), ec);
  bool bound_file = false;  // a Unix socket file this call created
  if (!ec) {
    acceptor.bind(endpoint, ec);
    bound_file = !ec && address.kind == channel::Address::Kind::kUnix;
  }
  if (!ec) {
    acceptor.listen(asio::socket_base::max_listen_connections, ec);
  }
  GenericStream::endpoint local;
  if (!ec) {
    local = acceptor.local_endpoint(ec);
  }
  if (ec) {
    error_code ignored;
    acceptor.close(ignored);
    if (bound_file) {
      RemoveUnixSocket(address);
    }
    return Error{ErrorCode::kChannelIoError, "listen: " + ec.message()};
  }
  if (bound.kind == channel::Address::Kind::kVsock) {
    // The kernel's pick for VMADDR_PORT_ANY, read back from the bound socket address.
    sockaddr_vm vm{};
    std::memcpy(&vm, local.data(), std::min<size_t>(local.size(), sizeof(vm)));
    bound.vsock.port = vm.svm_port;
  }
  return bound;
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

void IoLoop::Start() {
  thread_ = std::thread([this] { RunIoContext(io_); });
}

void IoLoop::Stop(const std::function<void()>& last) {
  {
    std::lock_guard lock(stop_mu_);
    if (stopped_) {
      return;
    }
    stopped_ = true;
  }
  asio::post(io_, [this, last] {
    last();
    work_.reset();
  });
  if (thread_.joinable()) {
    thread_.join();
  }
}

}  // namespace eml::host::internal
