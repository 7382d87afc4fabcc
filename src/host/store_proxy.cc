#include "host/store_proxy.h"

// <utility> before Asio: GCC 12 with coroutine support otherwise misses std::exchange there.
#include <utility>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>
#include <vector>

#include "host/internal/asio_util.h"
#include "host/record.h"
#include "host/store_request.h"
#include "http/beast_server.h"
#include "model/stores/s3_response.h"

namespace eml::host {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using Socket = internal::GenericStream::socket;
using Stream = beast::basic_stream<internal::GenericStream>;

struct Reply {
  int status = 200;
  std::vector<std::pair<bhttp::field, std::string>> headers;
  std::vector<uint8_t> body;
  std::optional<uint64_t> head_length;  // HEAD: the Content-Length announced without a body
  bool close = false;
};

Reply ErrorReply(int status, ErrorCode code) {
  Reply reply;
  reply.status = status;
  const std::string text = "{\"error\":{\"code\":" + std::to_string(static_cast<int>(code)) +
                           ",\"name\":\"" + std::string(ErrorCodeName(code)) + "\"}}";
  reply.body.assign(text.begin(), text.end());
  reply.headers.emplace_back(bhttp::field::content_type, "application/json");
  // Requests that were not understood end the connection; well-formed misses keep it.
  reply.close = status == 400 || status == 405;
  return reply;
}

// StoreErrorReply maps an error of the backing store.
Reply StoreErrorReply(const Error& error) {
  switch (error.code) {
    case ErrorCode::kStoreNotFound:
      return ErrorReply(404, error.code);
    case ErrorCode::kManifestBadField:
    case ErrorCode::kManifestBadFileName:
      return ErrorReply(400, ErrorCode::kStoreProxyBadPath);
    case ErrorCode::kStoreBadRange:
      return ErrorReply(416, error.code);
    case ErrorCode::kLimitExceeded:
      return ErrorReply(413, ErrorCode::kStoreProxyTooLarge);
    default:
      return ErrorReply(502, error.code);
  }
}

class Session;

// Shared is what every session reads: immutable after Start, except the counters, the store
// (behind store_mutex) and the live sessions (behind sessions_mutex).
struct Shared {
  Shared(model::ModelStore& s, StoreProxyOptions opts) : store(s), options(std::move(opts)) {}
  model::ModelStore& store;
  std::mutex store_mutex;
  StoreProxyOptions options;
  std::atomic<int> connections{0};
  std::atomic<uint64_t> next_id{1};
  // Stop closes these sessions' sockets itself: their handlers stay queued in the stopped
  // io_context, which would otherwise hold a kept-alive connection open until the proxy is
  // destroyed (the peer waiting out its request timeout instead of seeing the close).
  std::mutex sessions_mutex;
  std::map<uint64_t, std::weak_ptr<Session>> sessions;
};

// Serve answers one parsed request from the store.
Reply Serve(Shared& shared, std::string_view method, std::string_view target,
            std::optional<std::string_view> range_header) {
  if (method != "GET" && method != "HEAD") {
    Reply reply = ErrorReply(405, ErrorCode::kUnimplemented);
    reply.headers.emplace_back(bhttp::field::allow, "GET, HEAD");
    return reply;
  }
  Result<StorePath> path = ParseStorePath(target);
  if (!path.has_value()) {
    return ErrorReply(400, path.error().code);
  }
  const size_t cap = shared.options.max_response_bytes;
  std::optional<ByteRange> range;
  if (method == "GET" && range_header.has_value()) {
    Result<ByteRange> parsed = ParseRangeHeader(*range_header);
    if (!parsed.has_value()) {
      return ErrorReply(parsed.code() == ErrorCode::kStoreProxyRangeUnsupported ? 416 : 400,
                        parsed.code());
    }
    if (parsed->last - parsed->first >= cap) {
      return ErrorReply(413, ErrorCode::kStoreProxyTooLarge);
    }
    range = *parsed;
  }
  std::lock_guard<std::mutex> lock(shared.store_mutex);
  Result<uint64_t> size = shared.store.Size(path->model_id, path->version, path->name);
  if (!size.has_value()) {
    return StoreErrorReply(size.error());
  }
  Reply reply;
  reply.headers.emplace_back(bhttp::field::accept_ranges, "bytes");
  reply.headers.emplace_back(bhttp::field::content_type, "application/octet-stream");
  if (method == "HEAD") {
    reply.head_length = *size;
    return reply;
  }
  if (!range.has_value()) {
    if (*size > cap) {
      return ErrorReply(413, ErrorCode::kStoreProxyTooLarge);
    }
    Result<std::vector<uint8_t>> bytes =
        shared.store.Fetch(path->model_id, path->version, path->name, cap);
    if (!bytes.has_value()) {
      return StoreErrorReply(bytes.error());
    }
    reply.body = *std::move(bytes);
    return reply;
  }
  if (range->first >= *size) {
    Reply refused = ErrorReply(416, ErrorCode::kStoreBadRange);
    refused.headers.emplace_back(bhttp::field::content_range, "bytes */" + std::to_string(*size));
    return refused;
  }
  const uint64_t last = std::min(range->last, *size - 1);
  Result<std::vector<uint8_t>> bytes =
      shared.store.ReadRange(path->model_id, path->version, path->name, range->first,
                             static_cast<size_t>(last - range->first + 1));
  if (!bytes.has_value()) {
    return StoreErrorReply(bytes.error());
  }
  reply.status = 206;
  reply.headers.emplace_back(
      bhttp::field::content_range,
      model::stores::FormatContentRange({.first = range->first, .last = last, .total = *size}));
  reply.body = *std::move(bytes);
  return reply;
}

template <typename Header>
std::vector<uint8_t> HeadBytes(const Header& header) {
  std::ostringstream out;
  out << header;
  const std::string text = out.str();
  return std::vector<uint8_t>(text.begin(), text.end());
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Socket socket, Shared& shared)
      : stream_(std::move(socket)), shared_(shared), id_(shared.next_id.fetch_add(1)) {
    shared_.connections.fetch_add(1);
  }
  ~Session() {
    {
      std::lock_guard<std::mutex> lock(shared_.sessions_mutex);
      shared_.sessions.erase(id_);
    }
    shared_.connections.fetch_sub(1);
  }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void Start() {
    {
      std::lock_guard<std::mutex> lock(shared_.sessions_mutex);
      shared_.sessions.emplace(id_, weak_from_this());
    }
    if (!shared_.options.record_dir.empty()) {
      const std::string base = "store-" + std::to_string(id_);
      Result<RecordFile> req = RecordFile::Open(shared_.options.record_dir, base + "-req.bin");
      Result<RecordFile> resp = RecordFile::Open(shared_.options.record_dir, base + "-resp.bin");
      if (!req.has_value() || !resp.has_value()) {
        Shutdown();
        return;
      }
      record_req_ = *std::move(req);
      record_resp_ = *std::move(resp);
    }
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->Read(); });
  }

  // Shutdown closes the connection now. Called on the session's strand, or by Stop once no
  // thread runs the io_context any more.
  void Shutdown() {
    beast::error_code ignored;
    stream_.socket().shutdown(Socket::shutdown_both, ignored);
    stream_.close();
    record_req_.Close();
    record_resp_.Close();
  }

 private:
  void Read() {
    parser_.emplace();
    parser_->body_limit(0);
    parser_->header_limit(static_cast<uint32_t>(shared_.options.max_header_bytes));
    stream_.expires_after(std::chrono::milliseconds(shared_.options.read_timeout_ms));
    bhttp::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    if (ec && ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category() &&
        ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message) {
      // Malformed HTTP, a head over the limit or a body: answer 400 and close.
      Send(ErrorReply(400, ec == bhttp::error::body_limit ? ErrorCode::kInvalidArgument
                                                          : ErrorCode::kStoreProxyBadPath));
      return;
    }
    if (ec) {  // end of stream, timeout, reset: nothing to answer
      Shutdown();
      return;
    }
    const bhttp::request<bhttp::empty_body>& request = parser_->get();
    if (!record_req_.Append(HeadBytes(request.base())).has_value()) {
      Shutdown();
      return;
    }
    ++requests_;
    std::optional<std::string_view> range;
    const auto range_field = request.find(bhttp::field::range);
    if (range_field != request.end()) {
      range = std::string_view(range_field->value().data(), range_field->value().size());
    }
    Reply reply = Serve(
        shared_, std::string_view(request.method_string().data(), request.method_string().size()),
        std::string_view(request.target().data(), request.target().size()), range);
    reply.close = reply.close || !request.keep_alive() ||
                  requests_ >= shared_.options.max_requests_per_connection;
    Send(std::move(reply));
  }

  void Send(Reply reply) {
    response_.emplace(static_cast<bhttp::status>(reply.status), 11);
    response_->set(bhttp::field::server, "ephemeralml-host");
    response_->set(bhttp::field::cache_control, "no-store");
    for (const auto& [name, value] : reply.headers) {
      response_->set(name, value);
    }
    response_->keep_alive(!reply.close);
    response_->body() = std::move(reply.body);
    if (reply.head_length.has_value()) {
      response_->content_length(*reply.head_length);
    } else {
      response_->prepare_payload();
    }
    close_after_write_ = reply.close;
    if (!record_resp_.Append(HeadBytes(response_->base())).has_value() ||
        !record_resp_.Append(response_->body()).has_value()) {
      Shutdown();
      return;
    }
    stream_.expires_after(std::chrono::milliseconds(shared_.options.write_timeout_ms));
    if (reply.head_length.has_value()) {
      // A reply to HEAD announces the size but carries no body.
      serializer_.emplace(*response_);
      bhttp::async_write_header(
          stream_, *serializer_,
          [self = shared_from_this()](beast::error_code ec, size_t) { self->OnWrite(ec); });
      return;
    }
    bhttp::async_write(
        stream_, *response_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnWrite(ec); });
  }

  void OnWrite(beast::error_code ec) {
    serializer_.reset();
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

  using Response = bhttp::response<bhttp::vector_body<uint8_t>>;

  Stream stream_;
  Shared& shared_;
  const uint64_t id_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::empty_body>> parser_;
  std::optional<Response> response_;
  std::optional<bhttp::response_serializer<bhttp::vector_body<uint8_t>>> serializer_;
  RecordFile record_req_;
  RecordFile record_resp_;
  int requests_ = 0;
  bool close_after_write_ = false;
  http::server::Linger linger_;
};

}  // namespace

struct StoreProxy::Impl {
  Impl(model::ModelStore& store, StoreProxyOptions options)
      : shared(store, std::move(options)), acceptor(ioc) {}

  void Accept() {
    http::server::AcceptLoop(
        acceptor, ioc,
        [this] { return shared.connections.load() >= shared.options.max_connections; },
        [this](Socket socket) { std::make_shared<Session>(std::move(socket), shared)->Start(); });
  }

  // Member order matters for destruction: sessions still queued in `ioc` refer to `shared`.
  Shared shared;
  asio::io_context ioc;
  asio::basic_socket_acceptor<internal::GenericStream> acceptor;
  http::server::IoThreads threads;
  channel::Address bound;
};

Result<std::unique_ptr<StoreProxy>> StoreProxy::Start(model::ModelStore& store,
                                                      StoreProxyOptions options) {
  if (options.num_threads < 1 || options.num_threads > 64 || options.max_connections < 1 ||
      options.max_requests_per_connection < 1 || options.read_timeout_ms < 1 ||
      options.write_timeout_ms < 1 || options.max_header_bytes < 1024 ||
      options.max_header_bytes > 1024 * 1024 || options.max_response_bytes < 1 ||
      options.max_response_bytes > (size_t{1} << 30)) {
    return Error{ErrorCode::kInvalidArgument, "store proxy options out of range"};
  }
  if (!options.record_dir.empty()) {
    EML_RETURN_IF_ERROR(PrepareRecordDir(options.record_dir));
  }
  std::unique_ptr<StoreProxy> proxy(new StoreProxy());
  proxy->impl_ = std::make_unique<Impl>(store, std::move(options));
  Impl& impl = *proxy->impl_;
  Result<channel::Address> bound =
      internal::ListenAddress(impl.acceptor, impl.shared.options.listen);
  if (!bound.has_value()) {
    return Error{ErrorCode::kStoreProxyListenFailed, "store proxy: " + ToString(bound.error())};
  }
  impl.bound = *std::move(bound);
  impl.Accept();
  impl.threads.Start(impl.ioc, impl.shared.options.num_threads, internal::RunIoContext);
  return proxy;
}

StoreProxy::~StoreProxy() { Stop(); }

const channel::Address& StoreProxy::address() const { return impl_->bound; }

uint16_t StoreProxy::port() const {
  return impl_->bound.kind == channel::Address::Kind::kTcp ? impl_->bound.tcp.port : 0;
}

void StoreProxy::Stop() {
  if (impl_ == nullptr) {
    return;
  }
  Impl& impl = *impl_;
  impl.threads.Stop(impl.ioc, [&impl] {
    std::vector<std::shared_ptr<Session>> live;
    {
      std::lock_guard<std::mutex> sessions_lock(impl.shared.sessions_mutex);
      for (const auto& [id, weak] : impl.shared.sessions) {
        if (std::shared_ptr<Session> session = weak.lock()) {
          live.push_back(std::move(session));
        }
      }
    }
    for (const std::shared_ptr<Session>& session : live) {
      session->Shutdown();
    }
    beast::error_code ignored;
    impl.acceptor.close(ignored);
    internal::RemoveUnixSocket(impl.bound);
  });
}

}  // namespace eml::host
