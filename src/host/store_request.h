#pragma once
// Posture: parses the request target and the Range header of requests to the host's storage
// proxy (store_proxy.h), which come from the enclave side of the host and are untrusted. Targets
// longer than kMaxStoreTargetBytes and Range values longer than kMaxRangeHeaderBytes are refused
// before they are looked at; names are checked with the stores' own rules (model::ValidateId,
// model::ValidateFileName) before they reach a store. No allocation beyond the input's size.
// Fuzz target: host_store_path.
//
// The storage proxy's small request language:
//   target  "/v1/store/<model_id>/<version>/<file>"  (file may hold '/'; no query, no fragment,
//           no percent-escapes: every accepted character is unreserved in a URI)
//   Range   "bytes=<first>-<last>"  (one range, canonical decimals, first <= last)
//
// Thread safety: pure functions.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace eml::host {

inline constexpr std::string_view kStorePathPrefix = "/v1/store/";
inline constexpr size_t kMaxStoreTargetBytes = 2048;
inline constexpr size_t kMaxRangeHeaderBytes = 64;

struct StorePath {
  std::string model_id;
  std::string version;
  std::string name;  // a package's stored path: manifest.json, manifest.sig, <name>[.enc]
};

// ParseStorePath splits a request target of the form above. Errors: kStoreProxyBadPath (wrong
// prefix, a query or fragment, a bad model id, version or file name; this includes "..", ".",
// empty components, '%', NUL and every other byte outside [A-Za-z0-9._-/]).
Result<StorePath> ParseStorePath(std::string_view target);

// FormatStorePath is the inverse of ParseStorePath for valid names.
std::string FormatStorePath(const StorePath& path);

struct ByteRange {
  uint64_t first = 0;
  uint64_t last = 0;  // inclusive
};

// ParseRangeHeader reads one "bytes=FIRST-LAST". Errors: kStoreProxyBadRange (not of that form:
// another unit, signs, spaces, leading zeros, FIRST > LAST, overflow, too long),
// kStoreProxyRangeUnsupported (a well-formed "bytes=" value the proxy does not serve: several
// ranges, a suffix "-N" or an open "N-").
Result<ByteRange> ParseRangeHeader(std::string_view value);

// FormatRangeHeader writes the canonical form ParseRangeHeader accepts.
std::string FormatRangeHeader(const ByteRange& range);

}  // namespace eml::host
