#include "http/http_client.h"

#include <curl/curl.h>

#include <sys/socket.h>

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <optional>
#include <system_error>

#include "http/internal/via_bridge.h"
#include "http/internal/via_socket.h"

namespace eml::http {
namespace {

char LowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string_view TrimSpace(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
    text.remove_prefix(1);
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r' ||
                           text.back() == '\n')) {
    text.remove_suffix(1);
  }
  return text;
}

bool HasControlBreak(std::string_view text) {
  return text.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

// A proxy reached over a socket (Request::proxy "unix:..." / "vsock:...") is given to libcurl as
// this address, never connected: the via socket replaces the connection.
constexpr const char* kViaProxyPlaceholder = "http://127.0.0.1:1";

bool IsSocketAddress(std::string_view text) {
  return text.starts_with("unix:") || text.starts_with("vsock:");
}

// CheckHttpProxy accepts "http://HOST:PORT" (an optional trailing '/'), nothing else.
Status CheckHttpProxy(std::string_view proxy) {
  constexpr std::string_view kScheme = "http://";
  if (!proxy.starts_with(kScheme)) {
    return Error{ErrorCode::kHttpBadUrl, "proxy must be http://HOST:PORT"};
  }
  std::string_view authority = proxy.substr(kScheme.size());
  if (authority.ends_with('/')) {
    authority.remove_suffix(1);
  }
  const size_t colon = authority.rfind(':');
  if (authority.empty() || colon == std::string_view::npos || colon == 0 ||
      colon + 1 == authority.size() ||
      authority.find_first_of(std::string_view("/?#@ \t\r\n\0", 9)) != std::string_view::npos) {
    return Error{ErrorCode::kHttpBadUrl, "proxy must be http://HOST:PORT"};
  }
  for (const char c : authority.substr(colon + 1)) {
    if (c < '0' || c > '9') {
      return Error{ErrorCode::kHttpBadUrl, "proxy must be http://HOST:PORT"};
    }
  }
  return OkStatus();
}

// The URL for error messages: scheme, host and path, without the query (which may carry
// request parameters that are nobody's business in a log).
std::string UrlForMessage(std::string_view url) {
  return std::string(url.substr(0, url.find('?')));
}

CURLcode GlobalInitOnce() {
  static std::once_flag once;
  static CURLcode code = CURLE_OK;
  std::call_once(once, [] { code = curl_global_init(CURL_GLOBAL_DEFAULT); });
  return code;
}

struct CurlDeleter {
  void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
};
struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
struct FileCloser {
  void operator()(std::FILE* file) const { std::fclose(file); }
};

// Per-exchange state seen by the callbacks.
struct Transfer {
  Response* response = nullptr;
  size_t max_body_bytes = 0;
  size_t header_bytes = 0;
  bool too_large = false;
  // Upload source: memory or file.
  const std::vector<uint8_t>* body = nullptr;
  size_t body_offset = 0;
  std::FILE* body_file = nullptr;
  bool read_failed = false;
  // The socket that replaces libcurl's TCP connection (Request::via), and why it failed.
  std::optional<internal::ViaTarget> via;
  int64_t connect_timeout_ms = 0;
  std::optional<Error> via_error;
};

// PreconnectedSocketsWork: libcurl 7.88.x calls connect() again on a socket whose
// CURLOPT_SOCKOPTFUNCTION answered CURL_SOCKOPT_ALREADY_CONNECTED and fails with EISCONN (curl
// issue #10626, fixed in 8.0.0; Debian 12 ships 7.88.1).
bool PreconnectedSocketsWork() {
  static const bool works = [] {
    const curl_version_info_data* info = curl_version_info(CURLVERSION_NOW);
    return info->version_num < 0x075800 || info->version_num >= 0x080000;
  }();
  return works;
}

// PointCurlAt rewrites the peer address libcurl is about to connect (the callback may change it;
// libcurl passes storage for any socket address) and returns a fresh socket of its family.
curl_socket_t PointCurlAt(Transfer* t, const sockaddr* peer, socklen_t peer_len,
                          curl_sockaddr* address) {
  const int fd = ::socket(peer->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    t->via_error = Error{ErrorCode::kHttpConnect, "via: socket failed"};
    return CURL_SOCKET_BAD;
  }
  address->family = peer->sa_family;
  address->protocol = 0;
  address->addrlen = peer_len;
  std::memcpy(reinterpret_cast<char*>(address) + offsetof(curl_sockaddr, addr), peer, peer_len);
  return fd;
}

// OpenViaSocket is libcurl's CURLOPT_OPENSOCKETFUNCTION when a via is set; it ignores the
// address libcurl resolved. Where PreconnectedSocketsWork, it returns a socket it connected to
// the via target itself (ConnectVia, bounded by the connect timeout) and ViaSocketReady tells
// libcurl so. Elsewhere libcurl must connect the socket itself: a Unix via target is handed to
// it as the peer address (its own non-blocking connect, bounded by CURLOPT_CONNECTTIMEOUT_MS);
// a VSock one, which that libcurl cannot name, is connected here and reached through a one-shot
// Unix bridge (internal/via_bridge.h).
curl_socket_t OpenViaSocket(void* user, curlsocktype purpose, curl_sockaddr* address) {
  auto* t = static_cast<Transfer*>(user);
  if (purpose != CURLSOCKTYPE_IPCXN || !t->via.has_value()) {
    return CURL_SOCKET_BAD;
  }
  const internal::ViaTarget& via = *t->via;
  if (!PreconnectedSocketsWork() && via.address.ss_family == AF_UNIX) {
    return PointCurlAt(t, reinterpret_cast<const sockaddr*>(&via.address), via.address_len,
                       address);
  }
  if (!PreconnectedSocketsWork()) {
    Result<int> connected = internal::ConnectVia(via, t->connect_timeout_ms);
    if (!connected.has_value()) {
      t->via_error = connected.error();
      return CURL_SOCKET_BAD;
    }
    Result<internal::BridgeAddress> bridge =
        internal::StartBridge(*connected, t->connect_timeout_ms);
    if (!bridge.has_value()) {
      t->via_error = bridge.error();
      return CURL_SOCKET_BAD;
    }
    return PointCurlAt(t, reinterpret_cast<const sockaddr*>(&bridge->address), bridge->address_len,
                       address);
  }
  Result<int> fd = internal::ConnectVia(*t->via, t->connect_timeout_ms);
  if (!fd.has_value()) {
    t->via_error = fd.error();
    return CURL_SOCKET_BAD;
  }
  return *fd;
}

// ViaSocketReady tells libcurl that the via socket needs no connect().
int ViaSocketReady(void* /*user*/, curl_socket_t /*fd*/, curlsocktype /*purpose*/) {
  return CURL_SOCKOPT_ALREADY_CONNECTED;
}

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  t->header_bytes += n;
  if (t->header_bytes > kMaxResponseHeaderBytes) {
    t->too_large = true;
    return 0;  // aborts the transfer
  }
  const std::string_view line(data, n);
  if (line.starts_with("HTTP/")) {
    // A new header block (after 1xx interim responses): only the final block counts.
    t->response->headers.clear();
    return n;
  }
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) {
    return n;  // the blank line ending the block, or an obsolete folded line: ignored
  }
  std::string name(line.substr(0, colon));
  std::transform(name.begin(), name.end(), name.begin(), LowerAscii);
  t->response->headers.emplace_back(std::move(name),
                                    std::string(TrimSpace(line.substr(colon + 1))));
  return n;
}

// AnnouncedBodyBytes returns the final header block's Content-Length, or 0 when it has none
// (or an unparsable one: libcurl itself rejects those).
size_t AnnouncedBodyBytes(const Response& response) {
  for (const auto& [name, value] : response.headers) {
    size_t bytes = 0;
    if (name == "content-length" &&
        std::from_chars(value.data(), value.data() + value.size(), bytes).ec == std::errc()) {
      return bytes;
    }
  }
  return 0;
}

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  std::vector<uint8_t>& body = t->response->body;
  if (n > t->max_body_bytes - body.size()) {
    t->too_large = true;
    return 0;  // aborts the transfer
  }
  if (body.empty()) {
    // One allocation for the announced size (bounded by the cap) instead of growing by doubling
    // through fresh pages: an 8 MiB model segment read arrives in 16 KiB pieces.
    body.reserve(std::min(AnnouncedBodyBytes(*t->response), t->max_body_bytes));
  }
  const auto* bytes = reinterpret_cast<const uint8_t*>(data);
  body.insert(body.end(), bytes, bytes + n);
  return n;
}

size_t OnRead(char* buffer, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t capacity = size * count;
  if (t->body_file != nullptr) {
    const size_t n = std::fread(buffer, 1, capacity, t->body_file);
    if (n == 0 && std::ferror(t->body_file) != 0) {
      t->read_failed = true;
      return CURL_READFUNC_ABORT;
    }
    return n;
  }
  const size_t left = t->body->size() - t->body_offset;
  const size_t n = std::min(left, capacity);
  std::copy_n(t->body->begin() + static_cast<std::ptrdiff_t>(t->body_offset), n, buffer);
  t->body_offset += n;
  return n;
}

Error MapCurlError(CURLcode code, const Transfer& transfer, const Request& request,
                   const char* error_buffer) {
  std::string detail = request.method + " " + UrlForMessage(request.url) + ": " +
                       (error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(code));
  if (transfer.too_large) {
    return Error{
        ErrorCode::kHttpResponseTooLarge,
        request.method + " " + UrlForMessage(request.url) + ": response exceeds the size cap"};
  }
  if (transfer.read_failed) {
    return Error{ErrorCode::kIoError, "reading " + request.body_file + " failed"};
  }
  if (transfer.via_error.has_value()) {
    return Error{transfer.via_error->code, request.method + " " + UrlForMessage(request.url) +
                                               ": " + transfer.via_error->detail};
  }
  switch (code) {
    case CURLE_URL_MALFORMAT:
      return Error{ErrorCode::kHttpBadUrl, std::move(detail)};
    case CURLE_OPERATION_TIMEDOUT:
      return Error{ErrorCode::kHttpTimeout, std::move(detail)};
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
#if LIBCURL_VERSION_NUM >= 0x074900
    case CURLE_PROXY:  // the proxy refused the tunnel
#endif
      return Error{ErrorCode::kHttpConnect, std::move(detail)};
    case CURLE_UNSUPPORTED_PROTOCOL:  // the scheme is checked first: this is an HTTP/0.9 reply
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_BAD_CONTENT_ENCODING:
      return Error{ErrorCode::kHttpProtocol, std::move(detail)};
    default:
      return Error{ErrorCode::kHttpLibraryFailure, std::move(detail)};
  }
}

}  // namespace

Status CheckProxy(std::string_view proxy) {
  if (IsSocketAddress(proxy)) {
    return CheckVia(proxy);
  }
  return CheckHttpProxy(proxy);
}

Status CheckVia(std::string_view via) {
  EML_RETURN_IF_ERROR(internal::ParseVia(via));
  return OkStatus();
}

const std::string* Response::Header(std::string_view lower_case_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_case_name) {
      return &value;
    }
  }
  return nullptr;
}

struct HttpClient::Impl {
  std::unique_ptr<CURL, CurlDeleter> curl;
  std::string via;  // of the connections in curl's cache
};

HttpClient::~HttpClient() = default;

Result<std::unique_ptr<HttpClient>> HttpClient::Create() {
  if (GlobalInitOnce() != CURLE_OK) {
    return Error{ErrorCode::kHttpLibraryFailure, "curl_global_init failed"};
  }
  std::unique_ptr<HttpClient> client(new HttpClient());
  client->impl_ = std::make_unique<Impl>();
  client->impl_->curl.reset(curl_easy_init());
  if (client->impl_->curl == nullptr) {
    return Error{ErrorCode::kHttpLibraryFailure, "curl_easy_init failed"};
  }
  return client;
}

Result<Response> HttpClient::Send(const Request& request) {
  if (!request.url.starts_with("http://") && !request.url.starts_with("https://")) {
    return Error{ErrorCode::kHttpBadUrl, "URL must start with http:// or https://"};
  }
  if (HasControlBreak(request.url) || request.url.find(' ') != std::string::npos) {
    return Error{ErrorCode::kHttpBadUrl, "URL contains a space or control character"};
  }
  if (!request.proxy.empty()) {
    EML_RETURN_IF_ERROR(CheckProxy(request.proxy));
  }
  // A proxy reached over a socket is connected the way `via` is.
  const bool socket_proxy = IsSocketAddress(request.proxy);
  if (socket_proxy && !request.via.empty()) {
    return Error{ErrorCode::kHttpBadUrl, "a socket proxy and via are both set"};
  }
  const std::string& via = socket_proxy ? request.proxy : request.via;
  std::optional<internal::ViaTarget> via_target;
  if (!via.empty()) {
    EML_ASSIGN_OR_RETURN(via_target, internal::ParseVia(via));
  }
  const std::string& method = request.method;
  if (method != "GET" && method != "PUT" && method != "POST" && method != "HEAD" &&
      method != "DELETE") {
    return Error{ErrorCode::kInvalidArgument, "unsupported HTTP method"};
  }
  if (!request.body.empty() && !request.body_file.empty()) {
    return Error{ErrorCode::kInvalidArgument, "body and body_file are both set"};
  }
  if (request.timeout_ms <= 0 || request.connect_timeout_ms <= 0) {
    return Error{ErrorCode::kInvalidArgument, "timeouts must be positive"};
  }

  std::unique_ptr<curl_slist, SlistDeleter> headers;
  // libcurl would otherwise add "Expect: 100-continue" to large uploads and wait for it.
  headers.reset(curl_slist_append(headers.release(), "Expect:"));
  for (const auto& [name, value] : request.headers) {
    if (name.empty() || HasControlBreak(name) || name.find(':') != std::string::npos ||
        HasControlBreak(value)) {
      return Error{ErrorCode::kInvalidArgument, "header name or value is malformed"};
    }
    const std::string line = name + ": " + value;
    curl_slist* appended = curl_slist_append(headers.get(), line.c_str());
    if (appended == nullptr) {
      return Error{ErrorCode::kHttpLibraryFailure, "curl_slist_append failed"};
    }
    headers.release();
    headers.reset(appended);
  }

  Response response;
  Transfer transfer;
  transfer.response = &response;
  transfer.max_body_bytes = request.max_response_bytes;
  transfer.body = &request.body;
  transfer.via = via_target;
  transfer.connect_timeout_ms = request.connect_timeout_ms;

  std::unique_ptr<std::FILE, FileCloser> file;
  curl_off_t upload_size = static_cast<curl_off_t>(request.body.size());
  if (!request.body_file.empty()) {
    file.reset(std::fopen(request.body_file.c_str(), "rb"));
    std::error_code ec;
    const uintmax_t size = std::filesystem::file_size(request.body_file, ec);
    if (file == nullptr || ec) {
      return Error{ErrorCode::kIoError, "cannot open " + request.body_file};
    }
    transfer.body_file = file.get();
    upload_size = static_cast<curl_off_t>(size);
  }
  const bool has_body = !request.body.empty() || file != nullptr;

  if (via != impl_->via) {
    // The cache's connections go elsewhere (and libcurl matches them by host and port only):
    // a fresh handle starts with an empty cache.
    impl_->curl.reset(curl_easy_init());
    if (impl_->curl == nullptr) {
      return Error{ErrorCode::kHttpLibraryFailure, "curl_easy_init failed"};
    }
    impl_->via = via;
  }
  CURL* curl = impl_->curl.get();
  curl_easy_reset(curl);  // keeps the connection cache, clears every option
  char error_buffer[CURL_ERROR_SIZE] = {};
  bool ok = true;
  auto set = [&ok](CURLcode code) { ok = ok && code == CURLE_OK; };
  set(curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer));
  set(curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str()));
#if LIBCURL_VERSION_NUM >= 0x075500
  set(curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https"));
  set(curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https"));
#else
  set(curl_easy_setopt(curl, CURLOPT_PROTOCOLS, long{CURLPROTO_HTTP | CURLPROTO_HTTPS}));
  set(curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS, long{CURLPROTO_HTTP | CURLPROTO_HTTPS}));
#endif
  set(curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L));
  if (request.proxy.empty()) {
    set(curl_easy_setopt(curl, CURLOPT_NOPROXY, "*"));
    set(curl_easy_setopt(curl, CURLOPT_PROXY, ""));
  } else {
    // Every host through the given proxy, always as a CONNECT tunnel (never a plain-HTTP
    // forward, so the proxy relays bytes and never reads a request).
    set(curl_easy_setopt(curl, CURLOPT_NOPROXY, ""));
    set(curl_easy_setopt(curl, CURLOPT_PROXY,
                         socket_proxy ? kViaProxyPlaceholder : request.proxy.c_str()));
    set(curl_easy_setopt(curl, CURLOPT_PROXYTYPE, long{CURLPROXY_HTTP}));
    set(curl_easy_setopt(curl, CURLOPT_HTTPPROXYTUNNEL, 1L));
  }
  if (via_target.has_value()) {
    // One resolved address, so that libcurl opens one socket (no second happy-eyeballs try).
    set(curl_easy_setopt(curl, CURLOPT_IPRESOLVE, long{CURL_IPRESOLVE_V4}));
    set(curl_easy_setopt(curl, CURLOPT_TCP_NODELAY, 0L));
    set(curl_easy_setopt(curl, CURLOPT_OPENSOCKETFUNCTION, &OpenViaSocket));
    set(curl_easy_setopt(curl, CURLOPT_OPENSOCKETDATA, &transfer));
    if (PreconnectedSocketsWork()) {
      set(curl_easy_setopt(curl, CURLOPT_SOCKOPTFUNCTION, &ViaSocketReady));
    }
  }
  set(curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L));
  set(curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L));
  if (!request.ca_file.empty()) {
    set(curl_easy_setopt(curl, CURLOPT_CAINFO, request.ca_file.c_str()));
  }
  set(curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L));
  set(curl_easy_setopt(curl, CURLOPT_HTTP_VERSION, long{CURL_HTTP_VERSION_1_1}));
  set(curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout_ms)));
  set(curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                       static_cast<long>(request.connect_timeout_ms)));
  set(curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.get()));
  set(curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &OnHeader));
  set(curl_easy_setopt(curl, CURLOPT_HEADERDATA, &transfer));
  set(curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &OnBody));
  set(curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer));
  // Refuse early when the server announces a body above the cap. Not for HEAD: its
  // Content-Length is the size of a body that never comes (libcurl would refuse it).
  if (method != "HEAD") {
    set(curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE,
                         static_cast<curl_off_t>(std::min<size_t>(request.max_response_bytes,
                                                                  size_t{0x7fffffffffffffff}))));
  }
  if (method == "HEAD") {
    set(curl_easy_setopt(curl, CURLOPT_NOBODY, 1L));
  } else if (has_body || method == "PUT" || method == "POST") {
    set(curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L));
    set(curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, upload_size));
    set(curl_easy_setopt(curl, CURLOPT_READFUNCTION, &OnRead));
    set(curl_easy_setopt(curl, CURLOPT_READDATA, &transfer));
    if (method != "PUT") {
      set(curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str()));
    }
  } else if (method == "DELETE") {
    set(curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, "DELETE"));
  } else {
    set(curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L));
  }
  if (!ok) {
    return Error{ErrorCode::kHttpLibraryFailure, "curl_easy_setopt failed"};
  }

  const CURLcode code = curl_easy_perform(curl);
  if (code == CURLE_FILESIZE_EXCEEDED) {
    transfer.too_large = true;
  }
  if (code != CURLE_OK) {
    return MapCurlError(code, transfer, request, error_buffer);
  }
  long status = 0;
  if (curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK || status < 100 ||
      status > 999) {
    return Error{ErrorCode::kHttpProtocol, "response has no valid status code"};
  }
  response.status = static_cast<int>(status);
  return response;
}

}  // namespace eml::http
