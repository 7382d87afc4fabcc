// Fuzz target: the HTTP client's socket addresses (http/http_client.h CheckVia / CheckProxy),
// which reach it from the boot configuration the host serves (--store, --egress-proxy).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "http/http_client.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto Require = [](bool holds) {
    if (!holds) {
      std::abort();
    }
  };
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const eml::Status via = eml::http::CheckVia(text);
  if (via.has_value()) {
    // Only the two socket forms, with a bounded Unix path.
    Require(text.starts_with("unix:") || text.starts_with("vsock:"));
    Require(!text.starts_with("unix:") || (text.size() > 5 && text.size() <= 5 + 107));
  } else {
    Require(via.code() == eml::ErrorCode::kHttpBadUrl);
  }
  // A proxy is a socket address exactly when it is a valid via, else an http:// proxy.
  const eml::Status proxy = eml::http::CheckProxy(text);
  Require(proxy.has_value() || proxy.code() == eml::ErrorCode::kHttpBadUrl);
  if (text.starts_with("unix:") || text.starts_with("vsock:")) {
    Require(proxy.has_value() == via.has_value());
  } else if (proxy.has_value()) {
    Require(text.starts_with("http://"));
  }
  return 0;
}
