// RapidCheck properties of the codec: random Value -> Encode -> Decode is canonical and gives
// the value back; Encode(Decode(x)) == x for canonical x; Decode never fails on Encode output.

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <bit>
#include <cstdint>
#include <string>
#include <vector>

#include "cbor/decoder.h"
#include "cbor/encoder.h"
#include "cbor/value.h"

namespace eml::cbor {
namespace {

constexpr int kMaxGenDepth = 4;

std::string GenUtf8() {
  // Code points from every UTF-8 length class (no surrogates).
  const auto code_points = *rc::gen::container<std::vector<uint32_t>>(rc::gen::oneOf(
      rc::gen::inRange<uint32_t>(0, 0x80), rc::gen::inRange<uint32_t>(0x80, 0x800),
      rc::gen::inRange<uint32_t>(0x800, 0xd800), rc::gen::inRange<uint32_t>(0xe000, 0x10000),
      rc::gen::inRange<uint32_t>(0x10000, 0x110000)));
  std::string out;
  for (uint32_t cp : code_points) {
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xc0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
      out.push_back(static_cast<char>(0xe0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else {
      out.push_back(static_cast<char>(0xf0 | (cp >> 18)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    }
  }
  return out;
}

double GenDouble() {
  switch (*rc::gen::inRange(0, 4)) {
    case 0:  // any bit pattern: NaNs, subnormals, infinities included
      return std::bit_cast<double>(*rc::gen::arbitrary<uint64_t>());
    case 1:  // exactly a single
      return static_cast<double>(std::bit_cast<float>(*rc::gen::arbitrary<uint32_t>()));
    case 2:  // small integers times powers of two: many fit a half
      return std::ldexp(*rc::gen::inRange(-2048, 2048), *rc::gen::inRange(-30, 20));
    default:
      return *rc::gen::arbitrary<double>();
  }
}

Value GenValue(int depth) {
  const int max_kind = depth < kMaxGenDepth ? 13 : 10;
  switch (*rc::gen::inRange(0, max_kind)) {
    case 0:
      return Value::Uint(*rc::gen::arbitrary<uint64_t>());
    case 1:
      return Value::Negative(*rc::gen::arbitrary<uint64_t>());
    case 2:
      return Value::Int(*rc::gen::inRange<int64_t>(-300, 70000));
    case 3:
      return Value::Bytes(*rc::gen::arbitrary<std::vector<uint8_t>>());
    case 4:
      return Value::Text(GenUtf8());
    case 5:
      return Value::Bool(*rc::gen::arbitrary<bool>());
    case 6:
      return *rc::gen::element(Value::Null(), Value::Undefined());
    case 7: {
      const auto v = *rc::gen::inRange(0, 256 - 12);
      return Value::Simple(static_cast<uint8_t>(v < 20 ? v : v + 12));
    }
    case 8:
    case 9:
      return Value::Float(GenDouble());
    case 10: {
      std::vector<Value> items;
      const int n = *rc::gen::inRange(0, 6);
      for (int i = 0; i < n; ++i) {
        items.push_back(GenValue(depth + 1));
      }
      return Value::Array(std::move(items));
    }
    case 11: {
      std::vector<std::pair<Value, Value>> entries;
      const int n = *rc::gen::inRange(0, 6);
      for (int i = 0; i < n; ++i) {
        Value key = GenValue(depth + 1);
        bool duplicate = false;
        for (const auto& entry : entries) {
          duplicate = duplicate || entry.first == key;
        }
        if (!duplicate) {
          entries.emplace_back(std::move(key), GenValue(depth + 1));
        }
      }
      return Value::Map(std::move(entries));
    }
    default:
      return Value::Tag(*rc::gen::arbitrary<uint64_t>(), GenValue(depth + 1));
  }
}

RC_GTEST_PROP(CborPropertyTest, EncodeThenDecodeGivesCanonicalSameValue, ()) {
  const Value v = GenValue(0);
  auto encoded = Encode(v);
  RC_ASSERT(encoded.has_value());
  DecodeLimits limits;
  limits.require_canonical = true;
  auto decoded = Decode(*encoded, limits);
  RC_ASSERT(decoded.has_value());
  RC_ASSERT(decoded->canonical);
  RC_ASSERT(decoded->value == v);
}

RC_GTEST_PROP(CborPropertyTest, CanonicalBytesReencodeIdentically, ()) {
  auto x = Encode(GenValue(0));
  RC_ASSERT(x.has_value());
  auto decoded = Decode(*x);
  RC_ASSERT(decoded.has_value());
  auto again = Encode(decoded->value);
  RC_ASSERT(again.has_value());
  RC_ASSERT(*again == *x);
}

RC_GTEST_PROP(CborPropertyTest, ArbitraryBytesNeverBreakTheDecoder,
              (const std::vector<uint8_t>& bytes)) {
  DecodeLimits lenient;
  lenient.strict = false;
  auto loose = Decode(bytes, lenient);
  auto strict = Decode(bytes);
  if (strict.has_value()) {
    RC_ASSERT(loose.has_value());
    RC_ASSERT(loose->value == strict->value);
    RC_ASSERT(loose->canonical == strict->canonical);
  }
  if (loose.has_value()) {
    auto reencoded = Encode(loose->value);
    RC_ASSERT(reencoded.has_value());
    RC_ASSERT((*reencoded == bytes) == loose->canonical);
  }
}

}  // namespace
}  // namespace eml::cbor
