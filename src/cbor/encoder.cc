#include "cbor/encoder.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <utility>

#include "cbor/internal/float.h"
#include "cbor/internal/major_type.h"
#include "common/byte_writer.h"
#include "common/encoding.h"

namespace eml::cbor {
namespace {

void PutHead(ByteWriter& w, uint8_t major, uint64_t arg) {
  const auto type_bits = static_cast<uint8_t>(major << 5);
  if (arg < 24) {
    w.PutU8(static_cast<uint8_t>(type_bits | arg));
  } else if (arg <= 0xff) {
    w.PutU8(type_bits | 24);
    w.PutU8(static_cast<uint8_t>(arg));
  } else if (arg <= 0xffff) {
    w.PutU8(type_bits | 25);
    w.PutU16Be(static_cast<uint16_t>(arg));
  } else if (arg <= 0xffffffff) {
    w.PutU8(type_bits | 26);
    w.PutU32Be(static_cast<uint32_t>(arg));
  } else {
    w.PutU8(type_bits | 27);
    w.PutU64Be(arg);
  }
}

void PutFloat(ByteWriter& w, double d) {
  uint16_t half = 0;
  if (std::isnan(d)) {
    w.PutU8(0xf9);
    w.PutU16Be(internal::kCanonicalHalfNaN);
  } else if (internal::DoubleToHalfExact(d, &half)) {
    w.PutU8(0xf9);
    w.PutU16Be(half);
  } else if (internal::FitsSingleExactly(d)) {
    w.PutU8(0xfa);
    w.PutU32Be(std::bit_cast<uint32_t>(static_cast<float>(d)));
  } else {
    w.PutU8(0xfb);
    w.PutU64Be(std::bit_cast<uint64_t>(d));
  }
}

// Deterministic key order (RFC 8949 section 4.2.3): shorter encodings first, then bytewise.
bool KeyLess(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
  if (a.size() != b.size()) {
    return a.size() < b.size();
  }
  return a < b;
}

Status EncodeInto(const Value& v, ByteWriter& w);

Status EncodeMap(const std::vector<std::pair<Value, Value>>& entries, ByteWriter& w) {
  PutHead(w, internal::kMajorMap, entries.size());
  if (entries.size() == 1) {
    EML_RETURN_IF_ERROR(EncodeInto(entries[0].first, w));
    return EncodeInto(entries[0].second, w);
  }
  std::vector<std::pair<std::vector<uint8_t>, const Value*>> encoded;
  encoded.reserve(entries.size());
  for (const auto& [key, value] : entries) {
    ByteWriter key_writer;
    EML_RETURN_IF_ERROR(EncodeInto(key, key_writer));
    auto key_bytes = std::move(key_writer).Finish();
    EML_CHECK(key_bytes.has_value());
    encoded.emplace_back(std::move(*key_bytes), &value);
  }
  std::sort(encoded.begin(), encoded.end(),
            [](const auto& a, const auto& b) { return KeyLess(a.first, b.first); });
  for (size_t i = 0; i < encoded.size(); ++i) {
    if (i > 0 && encoded[i - 1].first == encoded[i].first) {
      return Error{ErrorCode::kCborDuplicateKey, "map to encode has a duplicate key"};
    }
    w.PutBytes(encoded[i].first);
    EML_RETURN_IF_ERROR(EncodeInto(*encoded[i].second, w));
  }
  return OkStatus();
}

Status EncodeInto(const Value& v, ByteWriter& w) {
  switch (v.type()) {
    case Value::Type::kUnsigned:
      PutHead(w, internal::kMajorUnsigned, *v.AsUint());
      return OkStatus();
    case Value::Type::kNegative:
      PutHead(w, internal::kMajorNegative, v.negative_arg());
      return OkStatus();
    case Value::Type::kBytes: {
      const auto bytes = *v.AsBytes();
      PutHead(w, internal::kMajorBytes, bytes.size());
      w.PutBytes(bytes);
      return OkStatus();
    }
    case Value::Type::kText: {
      const auto text = *v.AsText();
      PutHead(w, internal::kMajorText, text.size());
      w.PutBytes(AsBytes(text));
      return OkStatus();
    }
    case Value::Type::kArray:
      PutHead(w, internal::kMajorArray, v.array_items().size());
      for (const Value& item : v.array_items()) {
        EML_RETURN_IF_ERROR(EncodeInto(item, w));
      }
      return OkStatus();
    case Value::Type::kMap:
      return EncodeMap(v.map_entries(), w);
    case Value::Type::kTag:
      PutHead(w, internal::kMajorTag, v.tag_number());
      return EncodeInto(v.tag_content(), w);
    case Value::Type::kBool:
      w.PutU8(*v.AsBool() ? 0xf5 : 0xf4);
      return OkStatus();
    case Value::Type::kNull:
      w.PutU8(0xf6);
      return OkStatus();
    case Value::Type::kUndefined:
      w.PutU8(0xf7);
      return OkStatus();
    case Value::Type::kSimple:
      PutHead(w, internal::kMajorSimple, v.simple_value());
      return OkStatus();
    case Value::Type::kFloat:
      PutFloat(w, *v.AsFloat());
      return OkStatus();
  }
  return Error{ErrorCode::kInternal, "unknown CBOR value type"};
}

}  // namespace

Result<std::vector<uint8_t>> Encode(const Value& v) {
  ByteWriter w;
  EML_RETURN_IF_ERROR(EncodeInto(v, w));
  auto out = std::move(w).Finish();
  EML_CHECK(out.has_value());  // a growable writer only fails on allocation
  return std::move(*out);
}

}  // namespace eml::cbor
