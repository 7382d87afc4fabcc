// Fuzz target: the host storage proxy's request target and Range header parsers.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "host/store_request.h"

namespace {

void Require(bool condition) {
  if (!condition) {
    std::abort();
  }
}

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-' || c == '/';
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace eml::host;  // NOLINT(google-build-using-namespace)
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  // A target that parses re-formats byte-identical, and no part can leave its folder.
  eml::Result<StorePath> path = ParseStorePath(text);
  if (path.has_value()) {
    Require(FormatStorePath(*path) == text);
    Require(path->model_id.find('/') == std::string::npos);
    Require(path->version.find('/') == std::string::npos);
    for (const std::string* part : {&path->model_id, &path->version, &path->name}) {
      Require(!part->empty() && part->front() != '/' && part->back() != '/');
      for (char c : *part) {
        Require(IsNameChar(c));
      }
      const std::string wrapped = "/" + *part + "/";
      Require(wrapped.find("/../") == std::string::npos);
      Require(wrapped.find("/./") == std::string::npos);
      Require(wrapped.find("//") == std::string::npos);
    }
  } else {
    Require(path.error().code == eml::ErrorCode::kStoreProxyBadPath);
  }

  // A Range that parses is ordered and re-formats byte-identical.
  eml::Result<ByteRange> range = ParseRangeHeader(text);
  if (range.has_value()) {
    Require(range->first <= range->last);
    Require(FormatRangeHeader(*range) == text);
  } else {
    Require(range.error().code == eml::ErrorCode::kStoreProxyBadRange ||
            range.error().code == eml::ErrorCode::kStoreProxyRangeUnsupported);
  }
  return 0;
}
