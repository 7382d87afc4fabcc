#pragma once
// Posture: reads untrusted bytes (a model manifest from a package or store). Limits: input size
// and nesting depth from CanonicalJsonLimits; strings and numbers are bounded by the input.
// Fuzz target: tests/fuzz/model_manifest_fuzz.cc (through ParseManifest).
//
// Canonical JSON, private to eml_model: the one byte form of a JSON value that manifests are
// signed in (docs/formats.md, "Model manifest"). ParseCanonicalJson accepts only that form:
//   - no whitespace anywhere; objects' keys unique and in ascending order of their UTF-8 bytes;
//   - numbers are non-negative integers in [0, 2^53 - 1] without sign, fraction, exponent or
//     leading zero;
//   - strings are well-formed UTF-8 written as is, except '"' and '\' (escaped as \" and \\) and
//     U+0000..U+001F (as \b \f \n \r \t, else \u00xx with lowercase hex); no other escape;
//   - literals null, true, false; the top level is an object.
// WriteCanonicalJson writes exactly that form, so parse -> write is the identity on bytes.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"

namespace eml::model::internal {

inline constexpr uint64_t kMaxJsonInteger = (uint64_t{1} << 53) - 1;

struct CanonicalJsonLimits {
  size_t max_bytes = size_t{1} << 20;
  size_t max_depth = 8;
};

struct JsonMember;

struct JsonValue {
  enum class Kind { kNull, kBool, kInteger, kString, kArray, kObject };
  Kind kind = Kind::kNull;
  bool boolean = false;
  uint64_t integer = 0;
  std::string string;
  std::vector<JsonValue> items;     // kArray
  std::vector<JsonMember> members;  // kObject, sorted by key
};

// A named struct rather than std::pair: a vector of pairs holding the still-incomplete JsonValue
// is not valid C++ (libstdc++ rejects it under clang).
struct JsonMember {
  std::string key;
  JsonValue value;
};

// ParseCanonicalJson parses `bytes` as one canonical JSON object.
// Errors: kManifestTooLarge (size or depth over the limits), kManifestBadJson (not JSON: syntax,
// bad UTF-8, bad escape, trailing bytes), kManifestNonCanonical (JSON, but not the canonical
// form), kManifestDuplicateKey.
Result<JsonValue> ParseCanonicalJson(std::span<const uint8_t> bytes,
                                     const CanonicalJsonLimits& limits = {});

// WriteCanonicalJson appends the canonical form of `value` to `out`. Object members must already
// be sorted and unique, integers at most kMaxJsonInteger, strings valid UTF-8 (EML_CHECK: the
// caller builds these values).
void WriteCanonicalJson(const JsonValue& value, std::string* out);

}  // namespace eml::model::internal
