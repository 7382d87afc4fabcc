#pragma once
// Posture: parses header values and error documents from S3 responses (untrusted). Inputs are
// bounded by the HTTP client's caps; each parser looks at most at kMaxS3ErrorScanBytes or one
// header value, and never allocates more than its input. Fuzz target: model_s3_response.
//
// The few pieces of an S3 reply that the S3 store reads.
//
// Thread safety: pure functions.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace eml::model::stores {

inline constexpr size_t kMaxS3ErrorScanBytes = 16 * 1024;
inline constexpr size_t kMaxS3ErrorCodeChars = 64;

// ParseDecimalU64 reads a canonical unsigned decimal (digits only, no sign, no leading zero
// unless the value is 0, at most 20 digits, no overflow); nullopt otherwise.
std::optional<uint64_t> ParseDecimalU64(std::string_view text);

struct ContentRange {
  uint64_t first = 0;
  uint64_t last = 0;              // inclusive
  std::optional<uint64_t> total;  // nullopt for "*"
};

// ParseContentRange reads "bytes FIRST-LAST/TOTAL" (TOTAL may be "*"), with FIRST <= LAST and
// LAST < TOTAL; nullopt otherwise.
std::optional<ContentRange> ParseContentRange(std::string_view value);

// FormatContentRange writes the canonical form ParseContentRange accepts.
std::string FormatContentRange(const ContentRange& range);

// S3ErrorCode returns the first <Code>…</Code> of an S3 error document when it is 1..64 ASCII
// letters and digits (e.g. "SlowDown", "NoSuchKey"), looking at the first kMaxS3ErrorScanBytes
// bytes only; "" otherwise.
std::string S3ErrorCode(std::span<const uint8_t> body);

}  // namespace eml::model::stores
