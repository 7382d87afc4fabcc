#include "channel/address.h"

#include <utility>

#include "common/error.h"

namespace eml::channel {
namespace {

constexpr std::string_view kTcpPrefix = "tcp:";
constexpr std::string_view kUnixPrefix = "unix:";
constexpr std::string_view kVsockPrefix = "vsock:";
constexpr uint32_t kVsockPortAny = 0xFFFFFFFF;  // VMADDR_PORT_ANY: the kernel picks a port

Error BadAddress(std::string reason) {
  return Error{ErrorCode::kChannelBadAddress, std::move(reason)};
}

// BoundListener adapts net's and vsock's listeners (their port types differ) to Listener.
template <typename Inner>
class BoundListener final : public Listener {
 public:
  BoundListener(std::unique_ptr<Inner> inner, Address bound)
      : inner_(std::move(inner)), bound_(std::move(bound)) {}
  Result<std::unique_ptr<Stream>> Accept(int timeout_ms) override {
    return inner_->Accept(timeout_ms);
  }
  const Address& bound() const override { return bound_; }

 private:
  std::unique_ptr<Inner> inner_;
  Address bound_;
};

}  // namespace

Result<Address> ParseAddress(std::string_view text) {
  Address out;
  if (text.starts_with(kTcpPrefix)) {
    out.kind = Address::Kind::kTcp;
    EML_ASSIGN_OR_RETURN(out.tcp, net::ParseHostPort(text.substr(kTcpPrefix.size())));
    return out;
  }
  if (text.starts_with(kUnixPrefix)) {
    out.kind = Address::Kind::kUnix;
    out.unix_path = std::string(text.substr(kUnixPrefix.size()));
    if (out.unix_path.empty() || out.unix_path.size() > kMaxUnixPathBytes ||
        out.unix_path.find('\0') != std::string::npos) {
      return BadAddress("unix:PATH wants a path of 1-107 bytes without NUL");
    }
    return out;
  }
  if (text.starts_with(kVsockPrefix)) {
    const std::string_view rest = text.substr(kVsockPrefix.size());
    // ParseVsockAddress also takes a "vsock://" scheme; one spelling is enough here.
    if (rest.empty() || rest.front() < '0' || rest.front() > '9') {
      return BadAddress("vsock:CID:PORT wants decimal CID and port");
    }
    out.kind = Address::Kind::kVsock;
    EML_ASSIGN_OR_RETURN(out.vsock, vsock::ParseVsockAddress(rest));
    return out;
  }
  return BadAddress("want tcp:HOST:PORT, unix:PATH or vsock:CID:PORT");
}

std::string FormatAddress(const Address& address) {
  switch (address.kind) {
    case Address::Kind::kTcp: {
      const std::string& host = address.tcp.host;
      const bool v6 = host.find(':') != std::string::npos;
      return std::string(kTcpPrefix) + (v6 ? "[" + host + "]" : host) + ":" +
             std::to_string(address.tcp.port);
    }
    case Address::Kind::kUnix:
      return std::string(kUnixPrefix) + address.unix_path;
    case Address::Kind::kVsock:
      return std::string(kVsockPrefix) + std::to_string(address.vsock.cid) + ":" +
             std::to_string(address.vsock.port);
  }
  return "";
}

Result<std::unique_ptr<Stream>> Connect(const Address& address, int timeout_ms) {
  switch (address.kind) {
    case Address::Kind::kTcp:
      if (address.tcp.port == 0) {
        return BadAddress("cannot connect to TCP port 0");
      }
      return net::ConnectTcp(address.tcp, timeout_ms);
    case Address::Kind::kUnix:
      return net::ConnectUnix(address.unix_path, timeout_ms);
    case Address::Kind::kVsock:
      if (address.vsock.port == 0) {
        return BadAddress("cannot connect to VSock port 0");
      }
      return vsock::ConnectVsock(address.vsock, timeout_ms);
  }
  return BadAddress("unknown address kind");
}

Result<std::unique_ptr<Listener>> Listen(const Address& address) {
  Address bound = address;
  switch (address.kind) {
    case Address::Kind::kTcp: {
      EML_ASSIGN_OR_RETURN(std::unique_ptr<net::Listener> inner, net::ListenTcp(address.tcp));
      bound.tcp.port = inner->port();
      return std::unique_ptr<Listener>(
          new BoundListener<net::Listener>(std::move(inner), std::move(bound)));
    }
    case Address::Kind::kUnix: {
      EML_ASSIGN_OR_RETURN(std::unique_ptr<net::Listener> inner,
                           net::ListenUnix(address.unix_path));
      return std::unique_ptr<Listener>(
          new BoundListener<net::Listener>(std::move(inner), std::move(bound)));
    }
    case Address::Kind::kVsock: {
      vsock::VsockAddress wanted = address.vsock;
      if (wanted.port == 0) {
        wanted.port = kVsockPortAny;
      }
      EML_ASSIGN_OR_RETURN(std::unique_ptr<vsock::VsockListener> inner, vsock::ListenVsock(wanted));
      bound.vsock.port = inner->port();
      return std::unique_ptr<Listener>(
          new BoundListener<vsock::VsockListener>(std::move(inner), std::move(bound)));
    }
  }
  return BadAddress("unknown address kind");
}

}  // namespace eml::channel
