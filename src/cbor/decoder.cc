#include "cbor/decoder.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "cbor/encoder.h"
#include "cbor/internal/float.h"
#include "cbor/internal/major_type.h"
#include "common/byte_reader.h"
#include "common/checked_math.h"

namespace eml::cbor {
namespace {

constexpr uint8_t kBreak = 0xff;

Error Truncated() { return Error{ErrorCode::kCborTruncated, "CBOR input ends inside an item"}; }

// IsValidUtf8: well-formed UTF-8 (no overlong forms, surrogates or code points > U+10FFFF).
bool IsValidUtf8(std::span<const uint8_t> text) {
  ByteReader r(text);
  uint8_t lead = 0;
  while (r.ReadU8(&lead)) {
    if (lead < 0x80) {
      continue;
    }
    int continuation_bytes = 0;
    uint32_t code_point = 0;
    uint32_t min_code_point = 0;
    if ((lead & 0xe0) == 0xc0) {
      continuation_bytes = 1;
      code_point = lead & 0x1fu;
      min_code_point = 0x80;
    } else if ((lead & 0xf0) == 0xe0) {
      continuation_bytes = 2;
      code_point = lead & 0x0fu;
      min_code_point = 0x800;
    } else if ((lead & 0xf8) == 0xf0) {
      continuation_bytes = 3;
      code_point = lead & 0x07u;
      min_code_point = 0x10000;
    } else {
      return false;
    }
    for (int i = 0; i < continuation_bytes; ++i) {
      uint8_t next = 0;
      if (!r.ReadU8(&next) || (next & 0xc0) != 0x80) {
        return false;
      }
      code_point = (code_point << 6) | (next & 0x3fu);
    }
    if (code_point < min_code_point || code_point > 0x10ffff ||
        (code_point >= 0xd800 && code_point <= 0xdfff)) {
      return false;
    }
  }
  return true;
}

// Length-first, then bytewise (RFC 8949 section 4.2.3); <0, 0, >0 like memcmp.
int CompareKeys(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  if (a.size() != b.size()) {
    return a.size() < b.size() ? -1 : 1;
  }
  const auto [ia, ib] = std::mismatch(a.begin(), a.end(), b.begin());
  if (ia == a.end()) {
    return 0;
  }
  return *ia < *ib ? -1 : 1;
}

struct Head {
  uint8_t major = 0;
  uint8_t info = 0;  // additional information (low 5 bits)
  uint64_t arg = 0;
  bool indefinite = false;
};

// A map key's deterministic encoding: a view of the input when the key was canonical there,
// else the key re-encoded.
struct KeyEncoding {
  std::span<const uint8_t> view;
  std::vector<uint8_t> owned;
  std::span<const uint8_t> bytes() const { return owned.empty() ? view : owned; }
};

class Decoder {
 public:
  Decoder(std::span<const uint8_t> input, const DecodeLimits& limits)
      : reader_(input),
        limits_(limits),
        max_depth_(std::min(limits.max_depth, kMaxSupportedDepth)) {}

  // ReadItem decodes one data item nested inside `depth` arrays, maps or tags.
  Result<Value> ReadItem(size_t depth);

  bool at_end() const { return reader_.empty(); }
  bool canonical() const { return canonical_; }

 private:
  Status CountItem();
  Status ReadHead(Head* out);
  Status NotShortest();
  Status NotCanonicalFloat();
  Result<Value> ReadString(const Head& head);
  Result<Value> ReadIndefiniteString(uint8_t major);
  Result<Value> ReadArray(const Head& head, size_t depth);
  Result<Value> ReadMap(const Head& head, size_t depth);
  Status CheckMapKeys(const std::vector<KeyEncoding>& keys);
  Result<Value> ReadSimpleOrFloat(const Head& head);
  Status EnterContainer(size_t depth) const;

  ByteReader reader_;
  const DecodeLimits& limits_;
  size_t max_depth_;
  size_t num_items_ = 0;
  bool canonical_ = true;
};

Status Decoder::CountItem() {
  if (num_items_ >= limits_.max_items) {
    return Error{ErrorCode::kCborTooManyItems, "CBOR item count above the limit"};
  }
  ++num_items_;
  return OkStatus();
}

Status Decoder::EnterContainer(size_t depth) const {
  if (depth >= max_depth_) {
    return Error{ErrorCode::kCborTooDeep, "CBOR nesting deeper than the limit"};
  }
  return OkStatus();
}

Status Decoder::NotShortest() {
  if (limits_.strict) {
    return Error{ErrorCode::kCborNonShortestForm, "CBOR head not in shortest form"};
  }
  canonical_ = false;
  return OkStatus();
}

Status Decoder::NotCanonicalFloat() {
  if (limits_.require_canonical) {
    return Error{ErrorCode::kCborNonCanonicalFloat, "CBOR float not in its shortest form"};
  }
  canonical_ = false;
  return OkStatus();
}

Status Decoder::ReadHead(Head* out) {
  uint8_t initial = 0;
  if (!reader_.ReadU8(&initial)) {
    return Truncated();
  }
  if (initial == kBreak) {
    return Error{ErrorCode::kCborUnexpectedBreak, "CBOR break where an item must start"};
  }
  Head head;
  head.major = static_cast<uint8_t>(initial >> 5);
  head.info = initial & 0x1f;
  // Major type 7 uses 25-27 for float widths, where "shortest" means something else.
  const bool integer_arg = head.major != internal::kMajorSimple;
  if (head.info < 24) {
    head.arg = head.info;
  } else if (head.info == 24) {
    uint8_t v = 0;
    if (!reader_.ReadU8(&v)) {
      return Truncated();
    }
    head.arg = v;
    if (!integer_arg && v < 32) {
      return Error{ErrorCode::kCborBadSimpleValue, "CBOR simple value below 32 in two bytes"};
    }
    if (integer_arg && v < 24) {
      EML_RETURN_IF_ERROR(NotShortest());
    }
  } else if (head.info == 25) {
    uint16_t v = 0;
    if (!reader_.ReadU16Be(&v)) {
      return Truncated();
    }
    head.arg = v;
    if (integer_arg && v <= 0xff) {
      EML_RETURN_IF_ERROR(NotShortest());
    }
  } else if (head.info == 26) {
    uint32_t v = 0;
    if (!reader_.ReadU32Be(&v)) {
      return Truncated();
    }
    head.arg = v;
    if (integer_arg && v <= 0xffff) {
      EML_RETURN_IF_ERROR(NotShortest());
    }
  } else if (head.info == 27) {
    uint64_t v = 0;
    if (!reader_.ReadU64Be(&v)) {
      return Truncated();
    }
    head.arg = v;
    if (integer_arg && v <= 0xffffffff) {
      EML_RETURN_IF_ERROR(NotShortest());
    }
  } else if (head.info < 31) {
    return Error{ErrorCode::kCborReservedInfo, "CBOR additional information 28-30"};
  } else {
    if (head.major < internal::kMajorBytes || head.major > internal::kMajorMap) {
      return Error{ErrorCode::kCborReservedInfo, "CBOR indefinite length on a major type 0/1/6"};
    }
    if (limits_.strict) {
      return Error{ErrorCode::kCborIndefiniteLength, "CBOR indefinite length in strict mode"};
    }
    head.indefinite = true;
    canonical_ = false;
  }
  *out = head;
  return OkStatus();
}

Result<Value> Decoder::ReadString(const Head& head) {
  if (head.arg > limits_.max_string_bytes) {
    return Error{ErrorCode::kCborStringTooLong, "CBOR string longer than the limit"};
  }
  std::span<const uint8_t> bytes;
  if (head.arg > reader_.size() || !reader_.ReadBytes(static_cast<size_t>(head.arg), &bytes)) {
    return Truncated();
  }
  if (head.major == internal::kMajorBytes) {
    return Value::Bytes(bytes);
  }
  if (!IsValidUtf8(bytes)) {
    return Error{ErrorCode::kCborInvalidUtf8, "CBOR text string is not valid UTF-8"};
  }
  return Value::Text(std::string(bytes.begin(), bytes.end()));
}

Result<Value> Decoder::ReadIndefiniteString(uint8_t major) {
  std::vector<uint8_t> joined;
  while (true) {
    uint8_t next = 0;
    if (!reader_.PeekU8(&next)) {
      return Truncated();
    }
    if (next == kBreak) {
      EML_CHECK(reader_.Skip(1));
      break;
    }
    EML_RETURN_IF_ERROR(CountItem());
    Head chunk;
    EML_RETURN_IF_ERROR(ReadHead(&chunk));
    if (chunk.major != major || chunk.indefinite) {
      return Error{ErrorCode::kCborBadIndefiniteChunk,
                   "CBOR indefinite string chunk is not a definite string of its type"};
    }
    size_t total = 0;
    if (chunk.arg > limits_.max_string_bytes ||
        !CheckedAdd(joined.size(), static_cast<size_t>(chunk.arg), &total) ||
        total > limits_.max_string_bytes) {
      return Error{ErrorCode::kCborStringTooLong, "CBOR string longer than the limit"};
    }
    std::span<const uint8_t> bytes;
    if (chunk.arg > reader_.size() || !reader_.ReadBytes(static_cast<size_t>(chunk.arg), &bytes)) {
      return Truncated();
    }
    if (major == internal::kMajorText && !IsValidUtf8(bytes)) {
      return Error{ErrorCode::kCborInvalidUtf8, "CBOR text chunk is not valid UTF-8"};
    }
    joined.insert(joined.end(), bytes.begin(), bytes.end());
  }
  if (major == internal::kMajorBytes) {
    return Value::Bytes(std::move(joined));
  }
  return Value::Text(std::string(joined.begin(), joined.end()));
}

Result<Value> Decoder::ReadArray(const Head& head, size_t depth) {
  EML_RETURN_IF_ERROR(EnterContainer(depth));
  std::vector<Value> items;
  if (head.indefinite) {
    while (true) {
      uint8_t next = 0;
      if (!reader_.PeekU8(&next)) {
        return Truncated();
      }
      if (next == kBreak) {
        EML_CHECK(reader_.Skip(1));
        break;
      }
      EML_ASSIGN_OR_RETURN(Value item, ReadItem(depth + 1));
      items.push_back(std::move(item));
    }
    return Value::Array(std::move(items));
  }
  // Every item takes at least one byte: a larger count cannot be satisfied.
  if (head.arg > reader_.size()) {
    return Truncated();
  }
  const auto count = static_cast<size_t>(head.arg);
  items.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    EML_ASSIGN_OR_RETURN(Value item, ReadItem(depth + 1));
    items.push_back(std::move(item));
  }
  return Value::Array(std::move(items));
}

Status Decoder::CheckMapKeys(const std::vector<KeyEncoding>& keys) {
  bool sorted = true;
  for (size_t i = 1; i < keys.size() && sorted; ++i) {
    sorted = CompareKeys(keys[i - 1].bytes(), keys[i].bytes()) < 0;
  }
  if (sorted) {
    return OkStatus();  // strictly increasing: no duplicates either
  }
  std::vector<std::span<const uint8_t>> order;
  order.reserve(keys.size());
  for (const KeyEncoding& key : keys) {
    order.push_back(key.bytes());
  }
  std::sort(order.begin(), order.end(), [](auto a, auto b) { return CompareKeys(a, b) < 0; });
  for (size_t i = 1; i < order.size(); ++i) {
    if (CompareKeys(order[i - 1], order[i]) == 0) {
      return Error{ErrorCode::kCborDuplicateKey, "CBOR map has a duplicate key"};
    }
  }
  if (limits_.require_canonical) {
    return Error{ErrorCode::kCborUnsortedKeys, "CBOR map keys not in deterministic order"};
  }
  canonical_ = false;
  return OkStatus();
}

Result<Value> Decoder::ReadMap(const Head& head, size_t depth) {
  EML_RETURN_IF_ERROR(EnterContainer(depth));
  // Every entry takes at least two bytes: a larger count cannot be satisfied.
  if (!head.indefinite && head.arg > reader_.size() / 2) {
    return Truncated();
  }
  const size_t count = head.indefinite ? 0 : static_cast<size_t>(head.arg);
  std::vector<std::pair<Value, Value>> entries;
  std::vector<KeyEncoding> keys;
  entries.reserve(count);
  keys.reserve(count);
  for (size_t i = 0; head.indefinite || i < count; ++i) {
    if (head.indefinite) {
      uint8_t next = 0;
      if (!reader_.PeekU8(&next)) {
        return Truncated();
      }
      if (next == kBreak) {
        EML_CHECK(reader_.Skip(1));
        break;
      }
    }
    // Read the key with a fresh canonical flag to learn whether its input bytes are its
    // deterministic encoding.
    ByteReader key_start = reader_;
    const bool canonical_before = canonical_;
    canonical_ = true;
    EML_ASSIGN_OR_RETURN(Value key, ReadItem(depth + 1));
    KeyEncoding encoding;
    if (canonical_) {
      EML_CHECK(key_start.ReadBytes(key_start.size() - reader_.size(), &encoding.view));
    } else {
      EML_ASSIGN_OR_RETURN(encoding.owned, Encode(key));
    }
    canonical_ = canonical_before && canonical_;
    EML_ASSIGN_OR_RETURN(Value value, ReadItem(depth + 1));
    entries.emplace_back(std::move(key), std::move(value));
    keys.push_back(std::move(encoding));
  }
  EML_RETURN_IF_ERROR(CheckMapKeys(keys));
  return Value::Map(std::move(entries));
}

Result<Value> Decoder::ReadSimpleOrFloat(const Head& head) {
  switch (head.info) {
    case 20:
      return Value::Bool(false);
    case 21:
      return Value::Bool(true);
    case 22:
      return Value::Null();
    case 23:
      return Value::Undefined();
    case 24:
      return Value::Simple(static_cast<uint8_t>(head.arg));  // >= 32, checked in ReadHead
    case 25: {
      const auto bits = static_cast<uint16_t>(head.arg);
      const double d = internal::HalfToDouble(bits);
      if (std::isnan(d) && bits != internal::kCanonicalHalfNaN) {
        EML_RETURN_IF_ERROR(NotCanonicalFloat());
      }
      return Value::Float(d);
    }
    case 26: {
      const auto d = static_cast<double>(std::bit_cast<float>(static_cast<uint32_t>(head.arg)));
      if (internal::ShortestFloatBytes(d) != 4) {
        EML_RETURN_IF_ERROR(NotCanonicalFloat());
      }
      return Value::Float(d);
    }
    case 27: {
      const double d = std::bit_cast<double>(head.arg);
      if (internal::ShortestFloatBytes(d) != 8) {
        EML_RETURN_IF_ERROR(NotCanonicalFloat());
      }
      return Value::Float(d);
    }
    default:
      // 0-19: unassigned simple values (ReadHead handled 28-31).
      return Value::Simple(head.info);
  }
}

Result<Value> Decoder::ReadItem(size_t depth) {
  EML_RETURN_IF_ERROR(CountItem());
  Head head;
  EML_RETURN_IF_ERROR(ReadHead(&head));
  switch (head.major) {
    case internal::kMajorUnsigned:
      return Value::Uint(head.arg);
    case internal::kMajorNegative:
      return Value::Negative(head.arg);
    case internal::kMajorBytes:
    case internal::kMajorText:
      if (head.indefinite) {
        return ReadIndefiniteString(head.major);
      }
      return ReadString(head);
    case internal::kMajorArray:
      return ReadArray(head, depth);
    case internal::kMajorMap:
      return ReadMap(head, depth);
    case internal::kMajorTag: {
      EML_RETURN_IF_ERROR(EnterContainer(depth));
      EML_ASSIGN_OR_RETURN(Value inner, ReadItem(depth + 1));
      return Value::Tag(head.arg, std::move(inner));
    }
    default:
      return ReadSimpleOrFloat(head);
  }
}

}  // namespace

Result<Decoded> Decode(std::span<const uint8_t> bytes, const DecodeLimits& limits) {
  if (bytes.size() > limits.max_input_bytes) {
    return Error{ErrorCode::kCborInputTooLarge, "CBOR input larger than the limit"};
  }
  Decoder decoder(bytes, limits);
  EML_ASSIGN_OR_RETURN(Value value, decoder.ReadItem(0));
  if (!decoder.at_end()) {
    return Error{ErrorCode::kCborTrailingBytes, "bytes after the CBOR item"};
  }
  return Decoded{std::move(value), decoder.canonical()};
}

}  // namespace eml::cbor
