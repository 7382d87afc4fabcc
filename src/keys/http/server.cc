#include "keys/http/server.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "common/encoding.h"
#include "crypto/random.h"
#include "http/beast_server.h"
#include "keys/http/internal/router.h"

namespace eml::keys::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

// Shared is what every session reads: immutable after Start, except the connection count.
struct Shared {
  Shared(KeyBroker& broker, ServerOptions opts)
      : options(std::move(opts)), router(broker, options.admin_token) {}
  ServerOptions options;
  internal::Router router;
  std::atomic<int> connections{0};
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, Shared& shared) : stream_(std::move(socket)), shared_(shared) {
    shared_.connections.fetch_add(1);
  }
  ~Session() { shared_.connections.fetch_sub(1); }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void Start() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->Read(); });
  }

 private:
  void Read() {
    parser_.emplace();
    parser_->body_limit(shared_.options.max_body_bytes);
    parser_->header_limit(static_cast<uint32_t>(shared_.options.max_header_bytes));
    stream_.expires_after(std::chrono::milliseconds(shared_.options.read_timeout_ms));
    bhttp::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    if (ec == bhttp::error::body_limit) {
      Send(internal::ErrorReply(Error{
               ErrorCode::kBrokerHttpBodyTooLarge,
               "body larger than " + std::to_string(shared_.options.max_body_bytes) + " bytes"}),
           "", "");
      return;
    }
    if (ec && ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category() &&
        ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message) {
      Send(internal::ErrorReply(Error{ErrorCode::kBrokerHttpBadBody, "malformed HTTP request"}), "",
           "");
      return;
    }
    if (ec) {  // end of stream, timeout, reset: nothing to answer
      Shutdown();
      return;
    }
    bhttp::request<bhttp::string_body>& request = parser_->get();
    ++requests_;
    internal::RequestView view;
    view.method = std::string_view(request.method_string().data(), request.method_string().size());
    view.target = std::string_view(request.target().data(), request.target().size());
    const auto auth = request.find(bhttp::field::authorization);
    if (auth != request.end()) {
      view.has_authorization = true;
      view.authorization = std::string_view(auth->value().data(), auth->value().size());
    }
    std::string& body = request.body();
    view.body = AsBytes(body);
    internal::Reply reply = shared_.router.Handle(view);
    // Bodies may hold a data key (register): wipe the buffer now that it has been used.
    if (!body.empty()) {
      OPENSSL_cleanse(body.data(), body.size());
    }
    const bool keep_alive = request.keep_alive() && !reply.close &&
                            requests_ < shared_.options.max_requests_per_connection;
    reply.close = !keep_alive;
    const std::string method(view.method);
    const std::string path(view.target.substr(0, view.target.find('?')));
    Send(std::move(reply), method, path);
  }

  void Send(internal::Reply reply, const std::string& method, const std::string& path) {
    response_.emplace(static_cast<bhttp::status>(reply.status), 11);
    response_->set(bhttp::field::server, "ephemeralml-keybroker");
    response_->set(bhttp::field::content_type, "application/json");
    response_->set(bhttp::field::cache_control, "no-store");
    for (const auto& [name, value] : reply.headers) {
      response_->set(name, value);
    }
    response_->keep_alive(!reply.close);
    response_->body() = std::move(reply.body);
    response_->prepare_payload();
    close_after_write_ = reply.close;
    if (shared_.options.on_request) {
      shared_.options.on_request(RequestLogEntry{
          method.empty() ? "-" : method, path.empty() ? "-" : path, reply.status, reply.code});
    }
    stream_.expires_after(std::chrono::milliseconds(shared_.options.write_timeout_ms));
    bhttp::async_write(
        stream_, *response_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnWrite(ec); });
  }

  void OnWrite(beast::error_code ec) {
    if (ec) {
      Shutdown();
      return;
    }
    if (close_after_write_) {
      linger_.Start(stream_, shared_from_this(), [this] { Shutdown(); });
      return;
    }
    Read();
  }

  void Shutdown() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  Shared& shared_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::optional<bhttp::response<bhttp::string_body>> response_;
  int requests_ = 0;
  bool close_after_write_ = false;
  eml::http::server::Linger linger_;
};

Error ListenError(const std::string& what, const beast::error_code& ec) {
  return Error{ErrorCode::kBrokerHttpListenFailed, what + ": " + ec.message()};
}

Error TokenError(std::string detail) {
  return Error{ErrorCode::kBrokerHttpBadToken, std::move(detail)};
}

}  // namespace

struct BrokerServer::Impl {
  Impl(KeyBroker& broker, ServerOptions options)
      : shared(broker, std::move(options)), acceptor(ioc) {}

  void Accept() {
    eml::http::server::AcceptLoop(
        acceptor, ioc,
        [this] { return shared.connections.load() >= shared.options.max_connections; },
        [this](tcp::socket socket) {
          std::make_shared<Session>(std::move(socket), shared)->Start();
        });
  }

  // Member order matters for destruction: sessions still queued in `ioc` refer to `shared`.
  Shared shared;
  asio::io_context ioc;
  tcp::acceptor acceptor;
  eml::http::server::IoThreads threads;
  uint16_t port = 0;
};

Result<std::unique_ptr<BrokerServer>> BrokerServer::Start(KeyBroker& broker,
                                                          ServerOptions options) {
  EML_RETURN_IF_ERROR(CheckAdminToken(options.admin_token));
  if (options.num_threads < 1 || options.num_threads > 64 || options.max_connections < 1 ||
      options.max_requests_per_connection < 1 || options.read_timeout_ms < 1 ||
      options.write_timeout_ms < 1 || options.max_header_bytes < 1024 ||
      options.max_header_bytes > 1024 * 1024 || options.max_body_bytes > 64 * 1024 * 1024) {
    return Error{ErrorCode::kInvalidArgument, "broker server options out of range"};
  }
  std::string host = options.listen_host == "localhost" ? "127.0.0.1" : options.listen_host;
  beast::error_code ec;
  const asio::ip::address address = asio::ip::make_address(host, ec);
  if (ec) {
    return ListenError("bad listen address \"" + options.listen_host + "\"", ec);
  }
  const tcp::endpoint endpoint(address, options.listen_port);

  std::unique_ptr<BrokerServer> server(new BrokerServer());
  server->impl_ = std::make_unique<Impl>(broker, std::move(options));
  Impl& impl = *server->impl_;
  impl.acceptor.open(endpoint.protocol(), ec);
  if (!ec) {
    impl.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  }
  if (!ec) {
    impl.acceptor.bind(endpoint, ec);
  }
  if (!ec) {
    impl.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  }
  if (ec) {
    return ListenError("cannot listen on " + host + ":" + std::to_string(endpoint.port()), ec);
  }
  impl.port = impl.acceptor.local_endpoint(ec).port();
  if (ec) {
    return ListenError("cannot read the bound port", ec);
  }
  impl.Accept();
  impl.threads.Start(impl.ioc, impl.shared.options.num_threads,
                     [](asio::io_context& io) { io.run(); });
  return server;
}

BrokerServer::~BrokerServer() { Stop(); }

uint16_t BrokerServer::port() const { return impl_->port; }

void BrokerServer::Stop() {
  if (impl_ == nullptr) {
    return;
  }
  Impl& impl = *impl_;
  impl.threads.Stop(impl.ioc, [&impl] {
    beast::error_code ignored;
    impl.acceptor.close(ignored);
  });
}

Status CheckAdminToken(const SecretBytes& token) {
  const std::span<const uint8_t> bytes = token.Reveal(InsecureSecretAccess::Get());
  if (bytes.size() < kMinAdminTokenBytes || bytes.size() > kMaxAdminTokenBytes) {
    return TokenError("admin token must be " + std::to_string(kMinAdminTokenBytes) + ".." +
                      std::to_string(kMaxAdminTokenBytes) + " characters");
  }
  for (uint8_t c : bytes) {
    if (c <= 0x20 || c >= 0x7f) {
      return TokenError("admin token must be printable ASCII without spaces");
    }
  }
  return OkStatus();
}

Result<SecretBytes> ReadAdminTokenFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    return Error{ErrorCode::kIoError, "cannot open " + path + ": " + std::strerror(errno)};
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return TokenError(path + " is not a regular file");
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    return TokenError(path + " must have mode 0600 (no group or other access)");
  }
  SecretBytes buffer(kMaxAdminTokenBytes + 2);
  const std::span<uint8_t> out = buffer.MutableReveal(InsecureSecretAccess::Get());
  size_t used = 0;
  while (used < out.size()) {
    const std::span<uint8_t> rest = out.subspan(used);
    const ssize_t n = ::read(fd, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      const Error error{ErrorCode::kIoError, "cannot read " + path + ": " + std::strerror(errno)};
      ::close(fd);
      return error;
    }
    if (n == 0) {
      break;
    }
    used += static_cast<size_t>(n);
  }
  ::close(fd);
  if (used > 0 && out[used - 1] == '\n') {
    --used;
  }
  if (used > kMaxAdminTokenBytes) {
    return TokenError(path + " is too long for an admin token");
  }
  SecretBytes token = SecretBytes::CopyFrom(out.first(used));
  EML_RETURN_IF_ERROR(CheckAdminToken(token));
  return token;
}

Result<SecretBytes> GenerateAdminToken() {
  EML_ASSIGN_OR_RETURN(SecretBytes random, crypto::RandomSecret(32));
  std::string text = Base64UrlEncode(random.Reveal(InsecureSecretAccess::Get()));
  SecretBytes token = SecretBytes::CopyFrom(AsBytes(text));
  OPENSSL_cleanse(text.data(), text.size());
  return token;
}

}  // namespace eml::keys::http
