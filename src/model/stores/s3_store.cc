#include "model/stores/s3_store.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <limits>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "common/encoding.h"
#include "crypto/hash.h"
#include "http/http_client.h"
#include "model/stores/s3_response.h"

namespace eml::model::stores {
namespace {

namespace fs = std::filesystem;

// Room for an S3 error document beyond the bytes a caller asked for.
constexpr size_t kErrorBodyAllowance = 16 * 1024;
constexpr size_t kMaxSignatureFileBytes = 256;
constexpr size_t kHashBlockBytes = size_t{1} << 20;
constexpr int64_t kMaxRetryDelayMs = 10000;

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

bool IsKeyChar(char c) {
  return IsLowerAlnum(c) || (c >= 'A' && c <= 'Z') || c == '.' || c == '_' || c == '-';
}

Status ValidateBucket(std::string_view bucket) {
  const bool ok = bucket.size() >= 3 && bucket.size() <= 63 && IsLowerAlnum(bucket.front()) &&
                  IsLowerAlnum(bucket.back()) &&
                  std::all_of(bucket.begin(), bucket.end(),
                              [](char c) { return IsLowerAlnum(c) || c == '.' || c == '-'; }) &&
                  bucket.find("..") == std::string_view::npos;
  if (!ok) {
    return Error{ErrorCode::kStoreBadUrl, "S3 bucket name must be 3-63 characters of [a-z0-9.-]"};
  }
  return OkStatus();
}

Status ValidatePrefix(std::string_view prefix) {
  if (prefix.empty()) {
    return OkStatus();
  }
  size_t start = 0;
  while (start <= prefix.size()) {
    const size_t end = std::min(prefix.find('/', start), prefix.size());
    const std::string_view part = prefix.substr(start, end - start);
    if (part.empty() || part == "." || part == ".." || part.size() > 128 ||
        !std::all_of(part.begin(), part.end(), IsKeyChar)) {
      return Error{ErrorCode::kStoreBadUrl,
                   "S3 prefix must be '/'-separated components of [A-Za-z0-9._-]"};
    }
    start = end + 1;
  }
  return OkStatus();
}

// ParseEndpoint splits "http(s)://HOST[:PORT][/]" into scheme+authority and the authority.
Status ParseEndpoint(std::string_view endpoint, std::string* scheme_host, std::string* host) {
  std::string_view rest;
  std::string_view scheme;
  if (endpoint.starts_with("https://")) {
    scheme = "https://";
  } else if (endpoint.starts_with("http://")) {
    scheme = "http://";
  } else {
    return Error{ErrorCode::kStoreBadUrl, "S3 endpoint must start with http:// or https://"};
  }
  rest = endpoint.substr(scheme.size());
  if (rest.ends_with("/")) {
    rest.remove_suffix(1);
  }
  const bool ok = !rest.empty() && std::all_of(rest.begin(), rest.end(), [](char c) {
    return IsKeyChar(c) || c == ':' || c == '[' || c == ']';
  });
  if (!ok) {
    return Error{ErrorCode::kStoreBadUrl, "S3 endpoint must be http(s)://HOST[:PORT] (no path)"};
  }
  *scheme_host = std::string(scheme) + std::string(rest);
  *host = std::string(rest);
  return OkStatus();
}

std::optional<std::string> GetEnv(const char* name) {
  const char* value = std::getenv(name);  // NOLINT(concurrency-mt-unsafe): read at open
  if (value == nullptr || *value == '\0') {
    return std::nullopt;
  }
  return std::string(value);
}

Error StatusError(const http::Response& response, const std::string& what) {
  const std::string code = S3ErrorCode(response.body);
  const std::string detail =
      what + ": HTTP " + std::to_string(response.status) + (code.empty() ? "" : " " + code);
  switch (response.status) {
    case 401:
    case 403:
      return Error{ErrorCode::kAwsAuthFailed, detail};
    case 404:
      return Error{ErrorCode::kStoreNotFound, detail};
    case 416:
      return Error{ErrorCode::kStoreBadRange, detail};
    default:
      return Error{ErrorCode::kS3UnexpectedStatus, detail};
  }
}

bool IsRetryable(ErrorCode code) {
  return code == ErrorCode::kHttpConnect || code == ErrorCode::kHttpTimeout ||
         code == ErrorCode::kHttpProtocol;
}

bool IsRetryableStatus(int status) { return status >= 500 || status == 429; }

// Sha256OfFile hashes `path`, which must hold exactly `size` bytes.
Result<std::string> Sha256OfFile(const fs::path& path, uint64_t size) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    return Error{ErrorCode::kPackageFileMissing, path.string() + " is missing"};
  }
  crypto::Sha256Hasher hasher;
  std::vector<uint8_t> block(kHashBlockBytes);
  uint64_t total = 0;
  size_t n = 0;
  while ((n = std::fread(block.data(), 1, block.size(), file)) > 0) {
    hasher.Update(std::span<const uint8_t>(block).first(n));
    total += n;
  }
  const bool failed = std::ferror(file) != 0;
  std::fclose(file);
  if (failed) {
    return Error{ErrorCode::kIoError, "cannot read " + path.string()};
  }
  if (total != size) {
    return Error{ErrorCode::kPackageSizeMismatch, path.string() + " changed size while read"};
  }
  return HexEncode(hasher.Finish());
}

struct Upload {
  std::string name;  // stored path within the version
  fs::path path;
  uint64_t size;
};

}  // namespace

struct S3Store::Call {
  std::string method;
  std::string key;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body_file;
  std::string payload_sha256_hex =
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
  size_t max_response_bytes = kErrorBodyAllowance;
};

S3Store::S3Store(S3StoreOptions options, std::unique_ptr<http::HttpClient> client)
    : options_(std::move(options)), client_(std::move(client)) {}

S3Store::~S3Store() = default;

Result<std::unique_ptr<ModelStore>> S3Store::Open(S3StoreOptions options) {
  EML_RETURN_IF_ERROR(ValidateBucket(options.bucket));
  while (options.prefix.ends_with("/")) {
    options.prefix.pop_back();
  }
  EML_RETURN_IF_ERROR(ValidatePrefix(options.prefix));
  if (options.region.empty() || options.region.size() > 64 ||
      !std::all_of(options.region.begin(), options.region.end(),
                   [](char c) { return IsLowerAlnum(c) || c == '-'; })) {
    return Error{ErrorCode::kStoreBadUrl, "AWS region must be of [a-z0-9-], e.g. us-east-1"};
  }
  if (options.max_attempts < 1 || options.retry_base_delay_ms < 0 || options.timeout_ms <= 0 ||
      options.connect_timeout_ms <= 0) {
    return Error{ErrorCode::kInvalidArgument, "S3 retry and timeout options out of range"};
  }
  std::string scheme_host;
  std::string host;
  std::string path_prefix;
  if (options.endpoint.empty()) {
    const std::string service_host = "s3." + options.region + ".amazonaws.com";
    if (options.bucket.find('.') == std::string::npos) {
      host = options.bucket + "." + service_host;
    } else {
      // A dotted bucket would not match the *.s3 certificate as a virtual host.
      host = service_host;
      path_prefix = "/" + options.bucket;
    }
    scheme_host = "https://" + host;
  } else {
    EML_RETURN_IF_ERROR(ParseEndpoint(options.endpoint, &scheme_host, &host));
    path_prefix = "/" + options.bucket;
  }
  EML_ASSIGN_OR_RETURN(std::unique_ptr<http::HttpClient> client, http::HttpClient::Create());
  std::unique_ptr<S3Store> store(new S3Store(std::move(options), std::move(client)));
  store->scheme_host_ = std::move(scheme_host);
  store->host_ = std::move(host);
  store->path_prefix_ = std::move(path_prefix);
  return std::unique_ptr<ModelStore>(std::move(store));
}

Result<std::unique_ptr<ModelStore>> S3Store::OpenFromEnvironment(
    std::string_view bucket_and_prefix) {
  S3StoreOptions options;
  const size_t slash = bucket_and_prefix.find('/');
  options.bucket = std::string(bucket_and_prefix.substr(0, slash));
  if (slash != std::string_view::npos) {
    options.prefix = std::string(bucket_and_prefix.substr(slash + 1));
  }
  EML_RETURN_IF_ERROR(ValidateBucket(options.bucket));
  EML_ASSIGN_OR_RETURN(options.credentials, aws::CredentialsFromEnvironment());
  options.region = GetEnv("AWS_REGION").value_or("us-east-1");
  options.endpoint = GetEnv("EPHEMERALML_S3_ENDPOINT").value_or("");
  return Open(std::move(options));
}

Result<std::string> S3Store::KeyOf(std::string_view model_id, std::string_view version,
                                   std::string_view name) const {
  EML_RETURN_IF_ERROR(ValidateId("model_id", std::string(model_id)));
  EML_RETURN_IF_ERROR(ValidateId("version", std::string(version)));
  const std::string n(name);
  if (n != kManifestFileName && n != kSignatureFileName) {
    EML_RETURN_IF_ERROR(ValidateFileName("name", n));
  }
  std::string key = options_.prefix.empty() ? "" : options_.prefix + "/";
  key += std::string(model_id) + "/" + std::string(version) + "/" + n;
  return key;
}

Result<http::Response> S3Store::Exchange(const Call& call) {
  const std::string path = path_prefix_ + "/" + aws::UriEncode(call.key, true);
  const std::string what = call.method + " s3://" + options_.bucket + "/" + call.key;
  aws::SignableRequest signable;
  signable.method = call.method;
  signable.host = host_;
  signable.path = path;
  signable.headers = call.headers;
  signable.payload_sha256_hex = call.payload_sha256_hex;
  signable.add_content_sha256_header = true;

  std::string last_failure;
  int64_t delay_ms = options_.retry_base_delay_ms;
  for (int attempt = 0; attempt < options_.max_attempts; ++attempt) {
    if (attempt > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));  // backoff, not a wait
      delay_ms = std::min(delay_ms * 2, kMaxRetryDelayMs);
    }
    const aws::SigningScope scope{options_.region, "s3", static_cast<int64_t>(std::time(nullptr))};
    EML_ASSIGN_OR_RETURN(aws::SignedHeaders signed_headers,
                         aws::Sign(signable, scope, options_.credentials));
    http::Request request;
    request.method = call.method;
    request.url = scheme_host_ + path;
    request.headers = std::move(signed_headers.headers);
    request.body_file = call.body_file;
    request.timeout_ms = options_.timeout_ms;
    request.connect_timeout_ms = options_.connect_timeout_ms;
    request.max_response_bytes = call.max_response_bytes;
    Result<http::Response> response = client_->Send(request);
    if (!response.has_value()) {
      if (!IsRetryable(response.code())) {
        return std::move(response).error();
      }
      last_failure = ToString(response.error());
      continue;
    }
    if (IsRetryableStatus(response->status)) {
      const std::string code = S3ErrorCode(response->body);
      last_failure = "HTTP " + std::to_string(response->status) + (code.empty() ? "" : " " + code);
      continue;
    }
    return response;
  }
  return Error{ErrorCode::kS3Unavailable, what + ": gave up after " +
                                              std::to_string(options_.max_attempts) +
                                              " attempts; last: " + last_failure};
}

Result<uint64_t> S3Store::Size(std::string_view model_id, std::string_view version,
                               std::string_view name) {
  Call call;
  call.method = "HEAD";
  EML_ASSIGN_OR_RETURN(call.key, KeyOf(model_id, version, name));
  EML_ASSIGN_OR_RETURN(http::Response response, Exchange(call));
  if (response.status != 200) {
    return StatusError(response, "HEAD " + call.key);
  }
  const std::string* length = response.Header("content-length");
  const std::optional<uint64_t> size = length == nullptr ? std::nullopt : ParseDecimalU64(*length);
  if (!size.has_value()) {
    return Error{ErrorCode::kS3BadResponse, "HEAD " + call.key + ": no valid Content-Length"};
  }
  return *size;
}

Result<std::vector<uint8_t>> S3Store::Fetch(std::string_view model_id, std::string_view version,
                                            std::string_view name, size_t max_bytes) {
  Call call;
  call.method = "GET";
  EML_ASSIGN_OR_RETURN(call.key, KeyOf(model_id, version, name));
  call.max_response_bytes = std::max(max_bytes, kErrorBodyAllowance);
  Result<http::Response> response = Exchange(call);
  if (response.code() == ErrorCode::kHttpResponseTooLarge) {
    return Error{ErrorCode::kLimitExceeded, call.key + " is larger than the cap"};
  }
  EML_RETURN_IF_ERROR(response);
  if (response->status != 200) {
    return StatusError(*response, "GET " + call.key);
  }
  if (response->body.size() > max_bytes) {
    return Error{ErrorCode::kLimitExceeded, call.key + " is larger than the cap"};
  }
  return std::move(response->body);
}

Result<std::vector<uint8_t>> S3Store::ReadRange(std::string_view model_id, std::string_view version,
                                                std::string_view name, uint64_t offset,
                                                size_t length) {
  if (length == 0) {
    // A zero-length range cannot be written as an HTTP Range; check the bounds with HEAD.
    EML_ASSIGN_OR_RETURN(uint64_t size, Size(model_id, version, name));
    if (offset > size) {
      return Error{ErrorCode::kStoreBadRange, "range outside " + std::string(name)};
    }
    return std::vector<uint8_t>();
  }
  if (offset > std::numeric_limits<uint64_t>::max() - length ||
      length > std::numeric_limits<size_t>::max() - kErrorBodyAllowance) {
    return Error{ErrorCode::kStoreBadRange, "range end overflows"};
  }
  const uint64_t last = offset + length - 1;
  Call call;
  call.method = "GET";
  EML_ASSIGN_OR_RETURN(call.key, KeyOf(model_id, version, name));
  call.headers.emplace_back("Range",
                            "bytes=" + std::to_string(offset) + "-" + std::to_string(last));
  call.max_response_bytes = length + kErrorBodyAllowance;
  Result<http::Response> response = Exchange(call);
  if (response.code() == ErrorCode::kHttpResponseTooLarge) {
    return Error{ErrorCode::kS3BadResponse, "GET " + call.key + ": reply larger than the range"};
  }
  EML_RETURN_IF_ERROR(response);
  if (response->status != 206) {
    if (response->status == 200) {
      return Error{ErrorCode::kS3BadResponse, "GET " + call.key + ": server ignored Range"};
    }
    return StatusError(*response, "GET " + call.key);
  }
  const std::string* content_range = response->Header("content-range");
  const std::optional<ContentRange> got =
      content_range == nullptr ? std::nullopt : ParseContentRange(*content_range);
  if (!got.has_value() || got->first != offset) {
    return Error{ErrorCode::kS3BadResponse, "GET " + call.key + ": bad Content-Range"};
  }
  if (got->last < last) {
    // S3 shortens a range that runs past the end of the object.
    return Error{ErrorCode::kStoreBadRange, "range outside " + std::string(name)};
  }
  if (got->last != last || response->body.size() != length) {
    return Error{ErrorCode::kS3BadResponse, "GET " + call.key + ": reply is not the range asked"};
  }
  return std::move(response->body);
}

Status S3Store::PutFile(const std::string& key, const fs::path& path, uint64_t size,
                        bool if_none_match) {
  Call call;
  call.method = "PUT";
  call.key = key;
  call.body_file = path.string();
  EML_ASSIGN_OR_RETURN(call.payload_sha256_hex, Sha256OfFile(path, size));
  if (if_none_match) {
    call.headers.emplace_back("If-None-Match", "*");
  }
  EML_ASSIGN_OR_RETURN(http::Response response, Exchange(call));
  if (response.status == 412 && if_none_match) {
    return Error{ErrorCode::kStoreVersionExists, key + " was published meanwhile"};
  }
  if (response.status != 200) {
    return StatusError(response, "PUT " + key);
  }
  return OkStatus();
}

Status S3Store::Publish(const fs::path& package_dir) {
  const fs::path manifest_path = package_dir / std::string(kManifestFileName);
  std::error_code ec;
  const uint64_t manifest_size = fs::file_size(manifest_path, ec);
  if (ec) {
    return Error{ErrorCode::kPackageFileMissing, manifest_path.string() + " is missing"};
  }
  if (manifest_size > kDefaultMaxManifestBytes) {
    return Error{ErrorCode::kManifestTooLarge, manifest_path.string() + " is too large"};
  }
  std::vector<uint8_t> json(static_cast<size_t>(manifest_size));
  {
    std::FILE* file = std::fopen(manifest_path.c_str(), "rb");
    if (file == nullptr) {
      return Error{ErrorCode::kIoError, "cannot open " + manifest_path.string()};
    }
    const size_t n = std::fread(json.data(), 1, json.size(), file);
    std::fclose(file);
    if (n != json.size()) {
      return Error{ErrorCode::kIoError, "cannot read " + manifest_path.string()};
    }
  }
  EML_ASSIGN_OR_RETURN(Manifest m, ParseManifest(json));

  // Every file is checked before anything is sent; the manifest goes last.
  std::vector<Upload> uploads;
  for (const ManifestFile& f : m.files) {
    const uint64_t size = f.encryption.has_value() ? f.encryption->encrypted_size : f.size;
    uploads.push_back(Upload{StoredPath(f), package_dir / StoredPath(f), size});
  }
  const fs::path sig_path = package_dir / std::string(kSignatureFileName);
  const uint64_t sig_size = fs::file_size(sig_path, ec);
  if (ec || sig_size > kMaxSignatureFileBytes) {
    return Error{ErrorCode::kPackageFileMissing, sig_path.string() + " is missing"};
  }
  uploads.push_back(Upload{std::string(kSignatureFileName), sig_path, sig_size});
  uploads.push_back(Upload{std::string(kManifestFileName), manifest_path, manifest_size});
  for (const Upload& u : uploads) {
    if (!fs::is_regular_file(u.path, ec)) {
      return Error{ErrorCode::kPackageFileMissing, u.path.string() + " is missing"};
    }
    if (fs::file_size(u.path, ec) != u.size || ec) {
      return Error{ErrorCode::kPackageSizeMismatch,
                   u.path.string() + " does not have the listed size"};
    }
    if (u.size > options_.max_put_bytes) {
      return Error{ErrorCode::kS3ObjectTooLarge,
                   u.path.string() + " is above the single-PUT limit of " +
                       std::to_string(options_.max_put_bytes) + " bytes"};
    }
  }

  Result<uint64_t> existing = Size(m.model_id, m.version, kManifestFileName);
  if (existing.has_value()) {
    return Error{ErrorCode::kStoreVersionExists,
                 m.model_id + " " + m.version + " is already published (versions are immutable)"};
  }
  if (existing.code() != ErrorCode::kStoreNotFound) {
    return std::move(existing).error();
  }
  for (const Upload& u : uploads) {
    EML_ASSIGN_OR_RETURN(std::string key, KeyOf(m.model_id, m.version, u.name));
    EML_RETURN_IF_ERROR(PutFile(key, u.path, u.size, u.name == kManifestFileName));
  }
  return OkStatus();
}

}  // namespace eml::model::stores
