#include "host/store_request.h"

#include <algorithm>
#include <optional>

#include "model/manifest.h"
#include "model/stores/s3_response.h"

namespace eml::host {
namespace {

Error BadPath(std::string detail) {
  return Error{ErrorCode::kStoreProxyBadPath, std::move(detail)};
}

bool IsRangeSpecChar(char c) { return (c >= '0' && c <= '9') || c == '-' || c == ','; }

}  // namespace

Result<StorePath> ParseStorePath(std::string_view target) {
  if (target.size() > kMaxStoreTargetBytes) {
    return BadPath("request target too long");
  }
  if (!target.starts_with(kStorePathPrefix)) {
    return BadPath("request target must start with /v1/store/");
  }
  const std::string_view rest = target.substr(kStorePathPrefix.size());
  const size_t first_slash = rest.find('/');
  const size_t second_slash =
      first_slash == std::string_view::npos ? first_slash : rest.find('/', first_slash + 1);
  if (second_slash == std::string_view::npos) {
    return BadPath("request target must be /v1/store/MODEL_ID/VERSION/FILE");
  }
  StorePath out;
  out.model_id = std::string(rest.substr(0, first_slash));
  out.version = std::string(rest.substr(first_slash + 1, second_slash - first_slash - 1));
  out.name = std::string(rest.substr(second_slash + 1));
  // The stores' own checks: they refuse '?', '#', '%', NUL, "..", "." and empty components.
  if (!model::ValidateId("model_id", out.model_id).has_value() ||
      !model::ValidateId("version", out.version).has_value()) {
    return BadPath("model id or version is not 1..128 characters of [A-Za-z0-9._-]");
  }
  if (out.name != model::kManifestFileName && out.name != model::kSignatureFileName &&
      !model::ValidateFileName("file", out.name).has_value()) {
    return BadPath("file must be a relative path of [A-Za-z0-9._-] components");
  }
  return out;
}

std::string FormatStorePath(const StorePath& path) {
  return std::string(kStorePathPrefix) + path.model_id + "/" + path.version + "/" + path.name;
}

Result<ByteRange> ParseRangeHeader(std::string_view value) {
  constexpr std::string_view kUnit = "bytes=";
  if (value.size() > kMaxRangeHeaderBytes || !value.starts_with(kUnit)) {
    return Error{ErrorCode::kStoreProxyBadRange, "Range must be bytes=FIRST-LAST"};
  }
  const std::string_view spec = value.substr(kUnit.size());
  if (spec.empty() || !std::all_of(spec.begin(), spec.end(), IsRangeSpecChar)) {
    return Error{ErrorCode::kStoreProxyBadRange, "Range must be bytes=FIRST-LAST"};
  }
  const size_t dash = spec.find('-');
  if (spec.find(',') != std::string_view::npos || dash == 0 || dash == spec.size() - 1) {
    return Error{ErrorCode::kStoreProxyRangeUnsupported,
                 "only one bytes=FIRST-LAST range is served (no lists, suffix or open ranges)"};
  }
  if (dash == std::string_view::npos) {
    return Error{ErrorCode::kStoreProxyBadRange, "Range must be bytes=FIRST-LAST"};
  }
  const std::optional<uint64_t> first = model::stores::ParseDecimalU64(spec.substr(0, dash));
  const std::optional<uint64_t> last = model::stores::ParseDecimalU64(spec.substr(dash + 1));
  if (!first.has_value() || !last.has_value() || *first > *last) {
    return Error{ErrorCode::kStoreProxyBadRange, "Range must be bytes=FIRST-LAST, FIRST <= LAST"};
  }
  return ByteRange{*first, *last};
}

std::string FormatRangeHeader(const ByteRange& range) {
  return "bytes=" + std::to_string(range.first) + "-" + std::to_string(range.last);
}

}  // namespace eml::host
