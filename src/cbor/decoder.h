#pragma once
// Posture: reads untrusted bytes (receipts, COSE messages, attestation documents, channel
// messages from peers). Bounded by DecodeLimits (input size, depth, item count, string size);
// recursion is bounded by max_depth. Fuzz target: tests/fuzz/cbor_decode_fuzz.cc (cbor_decode).
//
// eml::cbor::Decode: one strict CBOR data item (RFC 8949) from a byte string.
//
// Decode(bytes, limits) returns the decoded Value and whether `bytes` are exactly the
// deterministic encoding Encode() would produce for it (`canonical`).
// Always rejected, in strict and non-strict mode:
//   kCborInputTooLarge      bytes.size() > max_input_bytes
//   kCborTruncated          the input ends inside an item (also: a declared length or count
//                           larger than the bytes left)
//   kCborTrailingBytes      bytes after the single top-level item
//   kCborTooDeep            arrays, maps and tags nested deeper than max_depth (a top-level
//                           array is depth 1; max_depth = 0 allows only scalars)
//   kCborTooManyItems       more than max_items data items in total (keys, values, tag
//                           contents and indefinite-string chunks each count)
//   kCborStringTooLong      a byte/text string (for indefinite ones: the sum of the chunks)
//                           longer than max_string_bytes
//   kCborReservedInfo       additional information 28-30, or 31 (indefinite) on major type
//                           0, 1 or 6
//   kCborBadSimpleValue     0xf8 followed by a value below 32
//   kCborInvalidUtf8        a text string (or chunk) that is not well-formed UTF-8
//   kCborUnexpectedBreak    0xff where a data item must start
//   kCborDuplicateKey       two keys of one map with equal values (operator==)
//   kCborBadIndefiniteChunk a chunk of an indefinite string that is not a definite string of
//                           the same major type (non-strict mode only)
// Strict mode (the default) also rejects:
//   kCborIndefiniteLength   any indefinite-length string, array or map
//   kCborNonShortestForm    an integer, length, tag or simple-value head not in shortest form
// With require_canonical, also rejected (otherwise they only make canonical = false):
//   kCborUnsortedKeys       map keys not in length-first deterministic order
//   kCborNonCanonicalFloat  a float not in its shortest exact width, or a NaN other than f97e00
// So Decode with strict + require_canonical succeeds only on deterministic encodings.
// Non-strict mode accepts indefinite lengths and non-shortest heads; the result then has
// canonical = false, and Encode(value) gives the definite, shortest form.
// Tags are kept as Value::Tag (no semantic checks: bignums stay tag 2/3 over a byte string).
// Never allocates according to a declared length or count before checking it against the
// bytes left. The returned Value owns its data (no views into `bytes`).
// Thread safety: pure function.

#include <cstddef>
#include <cstdint>
#include <span>

#include "cbor/value.h"
#include "common/result.h"

namespace eml::cbor {

inline constexpr size_t kDefaultMaxInputBytes = size_t{1} << 20;
inline constexpr size_t kDefaultMaxDepth = 16;
inline constexpr size_t kDefaultMaxItems = size_t{1} << 16;
inline constexpr size_t kDefaultMaxStringBytes = size_t{1} << 20;
// Decode clamps max_depth to this, so a caller's limit can never exhaust the stack.
inline constexpr size_t kMaxSupportedDepth = 256;

struct DecodeLimits {
  size_t max_input_bytes = kDefaultMaxInputBytes;
  size_t max_depth = kDefaultMaxDepth;
  size_t max_items = kDefaultMaxItems;
  size_t max_string_bytes = kDefaultMaxStringBytes;
  // strict: reject indefinite lengths and non-shortest heads.
  bool strict = true;
  // require_canonical: also reject unsorted map keys and non-shortest floats.
  bool require_canonical = false;
};

struct Decoded {
  Value value;
  // canonical: true iff Encode(value) gives exactly the input bytes.
  bool canonical = false;
};

Result<Decoded> Decode(std::span<const uint8_t> bytes, const DecodeLimits& limits = {});

}  // namespace eml::cbor
