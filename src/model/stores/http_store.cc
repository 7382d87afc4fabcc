#include "model/stores/http_store.h"

#include <algorithm>
#include <limits>
#include <optional>
#include <utility>
#include <vector>

#include "http/http_client.h"
#include "model/stores/s3_response.h"

namespace eml::model::stores {
namespace {

constexpr std::string_view kScheme = "http://";
constexpr std::string_view kStorePath = "/v1/store/";
constexpr size_t kMaxBaseUrlBytes = 1024;

bool IsPathChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

bool IsAuthorityChar(char c) { return IsPathChar(c) || c == ':' || c == '[' || c == ']'; }

Status ValidateBaseUrl(std::string_view url) {
  const Error bad{ErrorCode::kStoreBadUrl,
                  "http store URL must be http://HOST:PORT[/PREFIX] (PREFIX of [A-Za-z0-9._-] "
                  "components)"};
  if (!url.starts_with(kScheme) || url.size() > kMaxBaseUrlBytes) {
    return bad;
  }
  const std::string_view rest = url.substr(kScheme.size());
  const size_t slash = std::min(rest.find('/'), rest.size());
  const std::string_view authority = rest.substr(0, slash);
  if (authority.empty() || !std::all_of(authority.begin(), authority.end(), IsAuthorityChar)) {
    return bad;
  }
  std::string_view path = rest.substr(slash);
  while (!path.empty()) {
    path.remove_prefix(1);  // the '/'
    const size_t end = std::min(path.find('/'), path.size());
    const std::string_view part = path.substr(0, end);
    if (part.empty() || part == "." || part == ".." ||
        !std::all_of(part.begin(), part.end(), IsPathChar)) {
      return bad;
    }
    path.remove_prefix(end);
  }
  return OkStatus();
}

Error StatusError(int status, const std::string& what) {
  const std::string detail = what + ": HTTP " + std::to_string(status);
  if (status == 404) {
    return Error{ErrorCode::kStoreNotFound, detail};
  }
  if (status == 416) {
    return Error{ErrorCode::kStoreBadRange, detail};
  }
  if (status == 413) {
    return Error{ErrorCode::kLimitExceeded, detail + " (larger than the proxy's cap)"};
  }
  if (status >= 500 && status <= 599) {
    return Error{ErrorCode::kIoError, detail};
  }
  return Error{ErrorCode::kHttpStoreUnexpectedStatus, detail};
}

Error BadResponse(const std::string& what, const std::string& why) {
  return Error{ErrorCode::kHttpStoreBadResponse, what + ": " + why};
}

}  // namespace

HttpStore::HttpStore(std::string base_url, HttpStoreOptions options,
                     std::unique_ptr<http::HttpClient> client)
    : base_url_(std::move(base_url)), options_(options), client_(std::move(client)) {}

HttpStore::~HttpStore() = default;

Result<std::unique_ptr<ModelStore>> HttpStore::Open(std::string_view url,
                                                    HttpStoreOptions options) {
  std::string base(url);
  while (base.ends_with("/")) {
    base.pop_back();
  }
  EML_RETURN_IF_ERROR(ValidateBaseUrl(base));
  if (!options.via.empty() && !http::CheckVia(options.via).has_value()) {
    return Error{ErrorCode::kStoreBadUrl, "store address must be unix:PATH or vsock:CID:PORT"};
  }
  if (options.timeout_ms <= 0 || options.connect_timeout_ms <= 0) {
    return Error{ErrorCode::kInvalidArgument, "http store timeouts must be positive"};
  }
  EML_ASSIGN_OR_RETURN(std::unique_ptr<http::HttpClient> client, http::HttpClient::Create());
  return std::unique_ptr<ModelStore>(new HttpStore(std::move(base), options, std::move(client)));
}

Result<std::string> HttpStore::UrlOf(std::string_view model_id, std::string_view version,
                                     std::string_view name) const {
  EML_RETURN_IF_ERROR(ValidateId("model_id", std::string(model_id)));
  EML_RETURN_IF_ERROR(ValidateId("version", std::string(version)));
  const std::string n(name);
  if (n != kManifestFileName && n != kSignatureFileName) {
    EML_RETURN_IF_ERROR(ValidateFileName("name", n));
  }
  // Every accepted character is unreserved in a URI: nothing to escape.
  return base_url_ + std::string(kStorePath) + std::string(model_id) + "/" + std::string(version) +
         "/" + n;
}

Result<http::Response> HttpStore::Send(const std::string& method, const std::string& url,
                                       const std::string& range, size_t max_response_bytes) {
  http::Request request;
  request.method = method;
  request.url = url;
  if (!range.empty()) {
    request.headers.emplace_back("Range", range);
  }
  request.timeout_ms = options_.timeout_ms;
  request.connect_timeout_ms = options_.connect_timeout_ms;
  request.via = options_.via;
  request.max_response_bytes = max_response_bytes;
  return client_->Send(request);
}

Status HttpStore::Publish(const std::filesystem::path& /*package_dir*/) {
  return Error{ErrorCode::kStoreReadOnly,
               "an http:// store is read-only: publish to the store behind the host"};
}

Result<uint64_t> HttpStore::Size(std::string_view model_id, std::string_view version,
                                 std::string_view name) {
  EML_ASSIGN_OR_RETURN(const std::string url, UrlOf(model_id, version, name));
  EML_ASSIGN_OR_RETURN(http::Response response, Send("HEAD", url, "", kHttpStoreErrorAllowance));
  if (response.status != 200) {
    return StatusError(response.status, "HEAD " + url);
  }
  const std::string* length = response.Header("content-length");
  const std::optional<uint64_t> size = length == nullptr ? std::nullopt : ParseDecimalU64(*length);
  if (!size.has_value()) {
    return BadResponse("HEAD " + url, "no valid Content-Length");
  }
  return *size;
}

Result<std::vector<uint8_t>> HttpStore::Fetch(std::string_view model_id, std::string_view version,
                                              std::string_view name, size_t max_bytes) {
  EML_ASSIGN_OR_RETURN(const std::string url, UrlOf(model_id, version, name));
  Result<http::Response> response =
      Send("GET", url, "", std::max(max_bytes, kHttpStoreErrorAllowance));
  if (response.code() == ErrorCode::kHttpResponseTooLarge) {
    return Error{ErrorCode::kLimitExceeded, url + " is larger than the cap"};
  }
  EML_RETURN_IF_ERROR(response);
  if (response->status != 200) {
    return StatusError(response->status, "GET " + url);
  }
  if (response->body.size() > max_bytes) {
    return Error{ErrorCode::kLimitExceeded, url + " is larger than the cap"};
  }
  return std::move(response->body);
}

Result<std::vector<uint8_t>> HttpStore::ReadRange(std::string_view model_id,
                                                  std::string_view version, std::string_view name,
                                                  uint64_t offset, size_t length) {
  if (length == 0) {
    // A zero-length range cannot be written as an HTTP Range; check the bounds with HEAD.
    EML_ASSIGN_OR_RETURN(uint64_t size, Size(model_id, version, name));
    if (offset > size) {
      return Error{ErrorCode::kStoreBadRange, "range outside " + std::string(name)};
    }
    return std::vector<uint8_t>();
  }
  if (offset > std::numeric_limits<uint64_t>::max() - length ||
      length > std::numeric_limits<size_t>::max() - kHttpStoreErrorAllowance) {
    return Error{ErrorCode::kStoreBadRange, "range end overflows"};
  }
  const uint64_t last = offset + length - 1;
  EML_ASSIGN_OR_RETURN(const std::string url, UrlOf(model_id, version, name));
  const std::string what = "GET " + url;
  Result<http::Response> response =
      Send("GET", url, "bytes=" + std::to_string(offset) + "-" + std::to_string(last),
           length + kHttpStoreErrorAllowance);
  if (response.code() == ErrorCode::kHttpResponseTooLarge) {
    return BadResponse(what, "reply larger than the range");
  }
  EML_RETURN_IF_ERROR(response);
  if (response->status == 200) {
    return BadResponse(what, "server ignored Range");
  }
  if (response->status != 206) {
    return StatusError(response->status, what);
  }
  const std::string* content_range = response->Header("content-range");
  const std::optional<ContentRange> got =
      content_range == nullptr ? std::nullopt : ParseContentRange(*content_range);
  if (!got.has_value() || got->first != offset) {
    return BadResponse(what, "bad Content-Range");
  }
  if (got->last < last && got->total.has_value() && *got->total == got->last + 1) {
    // The server shortened a range that runs past the end of the file.
    return Error{ErrorCode::kStoreBadRange, "range outside " + std::string(name)};
  }
  if (got->last != last || response->body.size() != length) {
    return BadResponse(what, "reply is not the range asked");
  }
  return std::move(response->body);
}

}  // namespace eml::model::stores
