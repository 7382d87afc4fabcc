// Fuzz target: the S3 store's response parsers (Content-Length, Content-Range, error <Code>).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>

#include "model/stores/s3_response.h"

namespace {

void Require(bool condition) {
  if (!condition) {
    std::abort();
  }
}

bool IsAlnum(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace eml::model::stores;  // NOLINT(google-build-using-namespace)
  const std::span<const uint8_t> bytes(data, size);
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  // A decimal that parses prints back to the same text (the canonical form is the only one).
  if (const auto value = ParseDecimalU64(text); value.has_value()) {
    Require(std::to_string(*value) == text);
  }
  // A Content-Range that parses is ordered and re-formats byte-identical.
  if (const auto range = ParseContentRange(text); range.has_value()) {
    Require(range->first <= range->last);
    Require(!range->total.has_value() || range->last < *range->total);
    Require(FormatContentRange(*range) == text);
  }
  // An error code is 1..64 letters/digits and appears as <Code>X</Code> in the scanned prefix.
  const std::string code = S3ErrorCode(bytes);
  if (!code.empty()) {
    Require(code.size() <= kMaxS3ErrorCodeChars);
    for (char c : code) {
      Require(IsAlnum(c));
    }
    const std::string_view head = text.substr(0, kMaxS3ErrorScanBytes);
    Require(head.find("<Code>" + code + "</Code>") != std::string_view::npos);
  }
  return 0;
}
