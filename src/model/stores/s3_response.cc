#include "model/stores/s3_response.h"

#include <algorithm>

namespace eml::model::stores {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool IsAlnum(char c) { return IsDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

}  // namespace

std::optional<uint64_t> ParseDecimalU64(std::string_view text) {
  if (text.empty() || text.size() > 20 || !std::all_of(text.begin(), text.end(), IsDigit) ||
      (text.size() > 1 && text.front() == '0')) {
    return std::nullopt;
  }
  uint64_t value = 0;
  for (char c : text) {
    const auto digit = static_cast<uint64_t>(c - '0');
    if (value > (UINT64_MAX - digit) / 10) {
      return std::nullopt;
    }
    value = value * 10 + digit;
  }
  return value;
}

std::optional<ContentRange> ParseContentRange(std::string_view value) {
  constexpr std::string_view kUnit = "bytes ";
  if (!value.starts_with(kUnit)) {
    return std::nullopt;
  }
  const std::string_view spec = value.substr(kUnit.size());
  const size_t dash = spec.find('-');
  const size_t slash = spec.find('/');
  if (dash == std::string_view::npos || slash == std::string_view::npos || dash > slash) {
    return std::nullopt;
  }
  const std::optional<uint64_t> first = ParseDecimalU64(spec.substr(0, dash));
  const std::optional<uint64_t> last = ParseDecimalU64(spec.substr(dash + 1, slash - dash - 1));
  if (!first.has_value() || !last.has_value() || *first > *last) {
    return std::nullopt;
  }
  ContentRange range;
  range.first = *first;
  range.last = *last;
  const std::string_view total = spec.substr(slash + 1);
  if (total != "*") {
    range.total = ParseDecimalU64(total);
    if (!range.total.has_value() || *range.total <= *last) {
      return std::nullopt;
    }
  }
  return range;
}

std::string FormatContentRange(const ContentRange& range) {
  return "bytes " + std::to_string(range.first) + "-" + std::to_string(range.last) + "/" +
         (range.total.has_value() ? std::to_string(*range.total) : "*");
}

std::string S3ErrorCode(std::span<const uint8_t> body) {
  const std::span<const uint8_t> head = body.first(std::min(body.size(), kMaxS3ErrorScanBytes));
  const std::string_view text(reinterpret_cast<const char*>(head.data()), head.size());
  constexpr std::string_view kOpen = "<Code>";
  constexpr std::string_view kClose = "</Code>";
  const size_t open = text.find(kOpen);
  if (open == std::string_view::npos) {
    return "";
  }
  const size_t start = open + kOpen.size();
  const size_t close = text.find(kClose, start);
  if (close == std::string_view::npos || close == start || close - start > kMaxS3ErrorCodeChars) {
    return "";
  }
  const std::string_view code = text.substr(start, close - start);
  return std::all_of(code.begin(), code.end(), IsAlnum) ? std::string(code) : "";
}

}  // namespace eml::model::stores
