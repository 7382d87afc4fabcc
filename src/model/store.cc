#include "model/store.h"

#include <system_error>

#include "model/stores/file_store.h"
#include "model/stores/http_store.h"
#include "model/stores/s3_store.h"

namespace eml::model {
namespace {

// The URL of a store reached over a socket: it only names the Host header.
constexpr std::string_view kViaStoreBaseUrl = "http://localhost";

}  // namespace

Result<std::unique_ptr<ModelStore>> OpenModelStore(std::string_view url) {
  // The host's storage proxy reached over a Unix socket or VSock (channel address forms).
  if (url.starts_with("unix:") || url.starts_with("vsock:")) {
    stores::HttpStoreOptions options;
    options.via = std::string(url);
    return stores::HttpStore::Open(kViaStoreBaseUrl, std::move(options));
  }
  const size_t colon = url.find("://");
  if (colon == std::string_view::npos || colon == 0) {
    return Error{ErrorCode::kStoreBadUrl, "store URL needs a scheme, e.g. file:///srv/models"};
  }
  const std::string_view scheme = url.substr(0, colon);
  const std::string_view rest = url.substr(colon + 3);
  // The table of implementations (STYLE.md L3: explicit wiring, no registry).
  if (scheme == "file") {
    return stores::FileStore::Open(std::filesystem::path(std::string(rest)));
  }
  if (scheme == "s3") {
    return stores::S3Store::OpenFromEnvironment(rest);
  }
  if (scheme == "http") {
    return stores::HttpStore::Open(url);
  }
  return Error{
      ErrorCode::kStoreUnsupportedScheme,
      "unsupported store scheme \"" + std::string(scheme) + "\" (supported: file, s3, http)"};
}

}  // namespace eml::model
