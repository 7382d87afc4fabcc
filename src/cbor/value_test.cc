#include "cbor/value.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>

#include "testing/test_util.h"

namespace eml::cbor {
namespace {

using ::eml::testing::HasError;

TEST(ValueTest, IntPicksUnsignedOrNegative) {
  EXPECT_TRUE(Value::Int(0).is_uint());
  EXPECT_EQ(*Value::Int(5).AsUint(), 5u);
  const Value minus_one = Value::Int(-1);
  ASSERT_TRUE(minus_one.is_negative());
  EXPECT_EQ(minus_one.negative_arg(), 0u);
  const Value min = Value::Int(std::numeric_limits<int64_t>::min());
  ASSERT_TRUE(min.is_negative());
  EXPECT_EQ(min.negative_arg(), uint64_t{0x7fffffffffffffff});
  EXPECT_EQ(*min.AsInt64(), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(Value::Int(-100), Value::Negative(99));
}

TEST(ValueTest, AsInt64RangeLimits) {
  EXPECT_EQ(*Value::Uint(0x7fffffffffffffff).AsInt64(), std::numeric_limits<int64_t>::max());
  EXPECT_THAT(Value::Uint(0x8000000000000000).AsInt64(), HasError(ErrorCode::kIntegerOverflow));
  EXPECT_THAT(Value::Negative(0x8000000000000000).AsInt64(), HasError(ErrorCode::kIntegerOverflow));
  EXPECT_THAT(Value::Negative(UINT64_MAX).AsInt64(), HasError(ErrorCode::kIntegerOverflow));
}

TEST(ValueTest, TypeMismatchOnEveryAccessor) {
  const Value text = Value::Text("x");
  EXPECT_THAT(text.AsUint(), HasError(ErrorCode::kCborTypeMismatch));
  EXPECT_THAT(text.AsInt64(), HasError(ErrorCode::kCborTypeMismatch));
  EXPECT_THAT(text.AsBytes(), HasError(ErrorCode::kCborTypeMismatch));
  EXPECT_THAT(text.AsBool(), HasError(ErrorCode::kCborTypeMismatch));
  EXPECT_THAT(text.AsFloat(), HasError(ErrorCode::kCborTypeMismatch));
  EXPECT_THAT(Value::Uint(1).AsText(), HasError(ErrorCode::kCborTypeMismatch));
  EXPECT_THAT(Value::Int(-1).AsUint(), HasError(ErrorCode::kCborTypeMismatch));
}

TEST(ValueTest, AccessorsReturnContent) {
  const std::vector<uint8_t> raw = {1, 2, 3};
  EXPECT_THAT(*Value::Bytes(raw).AsBytes(), ::testing::ElementsAre(1, 2, 3));
  EXPECT_EQ(*Value::Text("h\xc3\xa9").AsText(), "h\xc3\xa9");
  EXPECT_TRUE(*Value::Bool(true).AsBool());
  EXPECT_FALSE(*Value::Bool(false).AsBool());
  EXPECT_EQ(*Value::Float(1.5).AsFloat(), 1.5);
  EXPECT_TRUE(Value().is_null());
  EXPECT_TRUE(Value::Undefined().is_undefined());
  EXPECT_EQ(Value::Simple(16).simple_value(), 16);
  const Value tag = Value::Tag(42, Value::Uint(7));
  EXPECT_EQ(tag.tag_number(), 42u);
  EXPECT_EQ(tag.tag_content(), Value::Uint(7));
  EXPECT_EQ(Value::Array({Value::Uint(1)}).array_items().size(), 1u);
}

TEST(ValueTest, MapFindByIntTextAndValue) {
  const Value map = Value::Map({{Value::Int(1), Value::Int(-7)},
                                {Value::Text("iss"), Value::Text("me")},
                                {Value::Int(-3), Value::Bool(true)}});
  ASSERT_NE(map.MapFind(1), nullptr);
  EXPECT_EQ(*map.MapFind(1), Value::Int(-7));
  ASSERT_NE(map.MapFind("iss"), nullptr);
  EXPECT_EQ(*map.MapFind("iss"), Value::Text("me"));
  ASSERT_NE(map.MapFind(Value::Int(-3)), nullptr);
  EXPECT_EQ(map.MapFind(2), nullptr);
  EXPECT_EQ(map.MapFind("is"), nullptr);
}

TEST(ValueTest, EqualityIsDataModelEquality) {
  // Maps compare as sets of entries.
  const Value a = Value::Map({{Value::Uint(1), Value::Uint(2)}, {Value::Uint(3), Value::Uint(4)}});
  const Value b = Value::Map({{Value::Uint(3), Value::Uint(4)}, {Value::Uint(1), Value::Uint(2)}});
  const Value c = Value::Map({{Value::Uint(3), Value::Uint(5)}, {Value::Uint(1), Value::Uint(2)}});
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  // Every NaN is equal; signed zeros differ; an integer is not a float.
  EXPECT_EQ(Value::Float(std::nan("")), Value::Float(-std::nan("1")));
  EXPECT_NE(Value::Float(0.0), Value::Float(-0.0));
  EXPECT_NE(Value::Float(1.0), Value::Uint(1));
  EXPECT_NE(Value::Tag(1, Value::Uint(1)), Value::Tag(2, Value::Uint(1)));
  EXPECT_NE(Value::Bytes(std::vector<uint8_t>{0x61}), Value::Text("a"));
  EXPECT_NE(Value::Null(), Value::Undefined());
  EXPECT_NE(Value::Simple(0), Value::Simple(1));
  EXPECT_NE(Value::Array({}), Value::Array({Value::Null()}));
}

}  // namespace
}  // namespace eml::cbor
