#include "cbor/encoder.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "common/encoding.h"
#include "testing/test_util.h"

namespace eml::cbor {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

using ::eml::testing::HasError;

std::string EncodeHex(const Value& v) {
  auto encoded = Encode(v);
  EXPECT_TRUE(encoded.has_value());
  return encoded.has_value() ? HexEncode(*encoded) : "";
}

TEST(EncoderTest, ShortestHeadsAtEveryBoundary) {
  EXPECT_EQ(EncodeHex(Value::Uint(23)), "17");
  EXPECT_EQ(EncodeHex(Value::Uint(24)), "1818");
  EXPECT_EQ(EncodeHex(Value::Uint(255)), "18ff");
  EXPECT_EQ(EncodeHex(Value::Uint(256)), "190100");
  EXPECT_EQ(EncodeHex(Value::Uint(65535)), "19ffff");
  EXPECT_EQ(EncodeHex(Value::Uint(65536)), "1a00010000");
  EXPECT_EQ(EncodeHex(Value::Uint(0xffffffff)), "1affffffff");
  EXPECT_EQ(EncodeHex(Value::Uint(0x100000000)), "1b0000000100000000");
  EXPECT_EQ(EncodeHex(Value::Int(-24)), "37");
  EXPECT_EQ(EncodeHex(Value::Int(-25)), "3818");
  EXPECT_EQ(EncodeHex(Value::Negative(UINT64_MAX)), "3bffffffffffffffff");
  EXPECT_EQ(EncodeHex(Value::Tag(24, Value::Uint(0))), "d81800");
  EXPECT_EQ(EncodeHex(Value::Simple(19)), "f3");
  EXPECT_EQ(EncodeHex(Value::Simple(32)), "f820");
  EXPECT_EQ(EncodeHex(Value::Bytes(std::vector<uint8_t>(24, 0))).substr(0, 4), "5818");
  EXPECT_EQ(EncodeHex(Value::Text(std::string(256, 'a'))).substr(0, 6), "790100");
}

TEST(EncoderTest, FloatsUseShortestExactWidth) {
  EXPECT_EQ(EncodeHex(Value::Float(0.0)), "f90000");
  EXPECT_EQ(EncodeHex(Value::Float(-0.0)), "f98000");
  EXPECT_EQ(EncodeHex(Value::Float(1.5)), "f93e00");
  EXPECT_EQ(EncodeHex(Value::Float(65504.0)), "f97bff");
  EXPECT_EQ(EncodeHex(Value::Float(65505.0)), "fa477fe100");           // beyond half range
  EXPECT_EQ(EncodeHex(Value::Float(std::ldexp(1.0, -24))), "f90001");  // smallest half subnormal
  EXPECT_EQ(EncodeHex(Value::Float(std::ldexp(1.0, -25))), "fa33000000");
  EXPECT_EQ(EncodeHex(Value::Float(std::ldexp(1023.0, -24))), "f903ff");  // largest subnormal
  EXPECT_EQ(EncodeHex(Value::Float(1.0 + std::ldexp(1.0, -10))), "f93c01");
  EXPECT_EQ(EncodeHex(Value::Float(1.0 + std::ldexp(1.0, -11))), "fa3f801000");
  EXPECT_EQ(EncodeHex(Value::Float(100000.0)), "fa47c35000");
  EXPECT_EQ(EncodeHex(Value::Float(1.1)), "fb3ff199999999999a");
  EXPECT_EQ(EncodeHex(Value::Float(1e300)), "fb7e37e43c8800759c");
  EXPECT_EQ(EncodeHex(Value::Float(kInf)), "f97c00");
  EXPECT_EQ(EncodeHex(Value::Float(-kInf)), "f9fc00");
  EXPECT_EQ(EncodeHex(Value::Float(std::nan("123"))), "f97e00");
  EXPECT_EQ(EncodeHex(Value::Float(-std::nan(""))), "f97e00");
}

TEST(EncoderTest, MapKeysSortedLengthFirst) {
  // Expected order of the encoded keys: 0a, 20 (1 byte), 1864 < 6161 (2 bytes), 626262.
  const Value map = Value::Map({{Value::Text("bb"), Value::Uint(1)},
                                {Value::Uint(100), Value::Uint(2)},
                                {Value::Text("a"), Value::Uint(3)},
                                {Value::Int(-1), Value::Uint(4)},
                                {Value::Uint(10), Value::Uint(5)}});
  EXPECT_EQ(EncodeHex(map), "a50a05200418640261610362626201");
}

TEST(EncoderTest, CoseProtectedHeaderBytes) {
  // AIR v1's protected header {1: -8, 3: 61} is a2 01 27 03 18 3d (DESIGN.md 4.3).
  const Value header =
      Value::Map({{Value::Int(3), Value::Uint(61)}, {Value::Int(1), Value::Int(-8)}});
  EXPECT_EQ(EncodeHex(header), "a2012703183d");
}

TEST(EncoderTest, NestedContainersAndTags) {
  const Value v = Value::Array({Value::Uint(1), Value::Array({Value::Uint(2), Value::Uint(3)}),
                                Value::Tag(18, Value::Map({}))});
  EXPECT_EQ(EncodeHex(v), "8301820203d2a0");
}

TEST(EncoderTest, DuplicateKeyRejected) {
  const Value map =
      Value::Map({{Value::Uint(1), Value::Uint(1)}, {Value::Uint(1), Value::Uint(2)}});
  EXPECT_THAT(Encode(map), HasError(ErrorCode::kCborDuplicateKey));
}

TEST(EncoderTest, DuplicateKeyRejectedWhenNested) {
  // Keys that are equal as values: two NaNs (one encoding), and maps in different entry order.
  const Value nan_keys = Value::Map(
      {{Value::Float(std::nan("1")), Value::Null()}, {Value::Float(std::nan("2")), Value::Null()}});
  EXPECT_THAT(Encode(Value::Array({nan_keys})), HasError(ErrorCode::kCborDuplicateKey));
  const Value k1 = Value::Map({{Value::Uint(1), Value::Null()}, {Value::Uint(2), Value::Null()}});
  const Value k2 = Value::Map({{Value::Uint(2), Value::Null()}, {Value::Uint(1), Value::Null()}});
  EXPECT_THAT(Encode(Value::Map({{k1, Value::Uint(0)}, {k2, Value::Uint(1)}})),
              HasError(ErrorCode::kCborDuplicateKey));
}

}  // namespace
}  // namespace eml::cbor
