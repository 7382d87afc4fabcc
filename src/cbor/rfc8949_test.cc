// RFC 8949 Appendix A: every example of the table, walked by one driver (STYLE T3).
// Canonical examples decode in strict mode with canonical = true and re-encode identically.
// Floats in a wider form than needed decode in strict mode with canonical = false. Indefinite
// examples fail in strict mode and decode in non-strict mode to their definite canonical form.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "cbor/decoder.h"
#include "cbor/encoder.h"
#include "cbor/value.h"
#include "common/encoding.h"
#include "testing/test_util.h"

namespace eml::cbor {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

using ::eml::testing::HasError;
using ::eml::testing::Hex;

enum class Form {
  kCanonical,   // deterministic encoding
  kWideFloat,   // a float in a wider form than needed: canonical = false
  kIndefinite,  // indefinite lengths: strict mode rejects
};

struct Example {
  Example(std::string diagnostic_in, std::string hex_in, Value value_in,
          Form form_in = Form::kCanonical, std::string canonical_hex_in = "")
      : diagnostic(std::move(diagnostic_in)),
        hex(std::move(hex_in)),
        value(std::move(value_in)),
        form(form_in),
        canonical_hex(std::move(canonical_hex_in)) {}

  std::string diagnostic;
  std::string hex;
  Value value;
  Form form;
  std::string canonical_hex;  // for kWideFloat / kIndefinite: what Encode gives
};

Value U(uint64_t v) { return Value::Uint(v); }
Value I(int64_t v) { return Value::Int(v); }
Value T(std::string s) { return Value::Text(std::move(s)); }
Value B(const std::string& hex) { return Value::Bytes(Hex(hex)); }
Value F(double d) { return Value::Float(d); }
Value A(std::vector<Value> items) { return Value::Array(std::move(items)); }
Value M(std::vector<std::pair<Value, Value>> entries) { return Value::Map(std::move(entries)); }

Value OneTo25() {
  std::vector<Value> items;
  for (uint64_t i = 1; i <= 25; ++i) {
    items.push_back(U(i));
  }
  return A(std::move(items));
}

std::vector<Example> AppendixA() {
  const Form kW = Form::kWideFloat;
  const Form kI = Form::kIndefinite;
  return {
      {"0", "00", U(0)},
      {"1", "01", U(1)},
      {"10", "0a", U(10)},
      {"23", "17", U(23)},
      {"24", "1818", U(24)},
      {"25", "1819", U(25)},
      {"100", "1864", U(100)},
      {"1000", "1903e8", U(1000)},
      {"1000000", "1a000f4240", U(1000000)},
      {"1000000000000", "1b000000e8d4a51000", U(1000000000000)},
      {"18446744073709551615", "1bffffffffffffffff", U(UINT64_MAX)},
      {"18446744073709551616", "c249010000000000000000", Value::Tag(2, B("010000000000000000"))},
      {"-18446744073709551616", "3bffffffffffffffff", Value::Negative(UINT64_MAX)},
      {"-18446744073709551617", "c349010000000000000000", Value::Tag(3, B("010000000000000000"))},
      {"-1", "20", I(-1)},
      {"-10", "29", I(-10)},
      {"-100", "3863", I(-100)},
      {"-1000", "3903e7", I(-1000)},
      {"0.0", "f90000", F(0.0)},
      {"-0.0", "f98000", F(-0.0)},
      {"1.0", "f93c00", F(1.0)},
      {"1.1", "fb3ff199999999999a", F(1.1)},
      {"1.5", "f93e00", F(1.5)},
      {"65504.0", "f97bff", F(65504.0)},
      {"100000.0", "fa47c35000", F(100000.0)},
      {"3.4028234663852886e+38", "fa7f7fffff", F(3.4028234663852886e+38)},
      {"1.0e+300", "fb7e37e43c8800759c", F(1.0e+300)},
      {"5.960464477539063e-8", "f90001", F(5.960464477539063e-8)},
      {"0.00006103515625", "f90400", F(0.00006103515625)},
      {"-4.0", "f9c400", F(-4.0)},
      {"-4.1", "fbc010666666666666", F(-4.1)},
      {"Infinity (half)", "f97c00", F(kInf)},
      {"NaN (half)", "f97e00", F(kNaN)},
      {"-Infinity (half)", "f9fc00", F(-kInf)},
      {"Infinity (single)", "fa7f800000", F(kInf), kW, "f97c00"},
      {"NaN (single)", "fa7fc00000", F(kNaN), kW, "f97e00"},
      {"-Infinity (single)", "faff800000", F(-kInf), kW, "f9fc00"},
      {"Infinity (double)", "fb7ff0000000000000", F(kInf), kW, "f97c00"},
      {"NaN (double)", "fb7ff8000000000000", F(kNaN), kW, "f97e00"},
      {"-Infinity (double)", "fbfff0000000000000", F(-kInf), kW, "f9fc00"},
      {"false", "f4", Value::Bool(false)},
      {"true", "f5", Value::Bool(true)},
      {"null", "f6", Value::Null()},
      {"undefined", "f7", Value::Undefined()},
      {"simple(16)", "f0", Value::Simple(16)},
      {"simple(255)", "f8ff", Value::Simple(255)},
      {"0(\"2013-03-21T20:04:00Z\")", "c074323031332d30332d32315432303a30343a30305a",
       Value::Tag(0, T("2013-03-21T20:04:00Z"))},
      {"1(1363896240)", "c11a514b67b0", Value::Tag(1, U(1363896240))},
      {"1(1363896240.5)", "c1fb41d452d9ec200000", Value::Tag(1, F(1363896240.5))},
      {"23(h'01020304')", "d74401020304", Value::Tag(23, B("01020304"))},
      {"24(h'6449455446')", "d818456449455446", Value::Tag(24, B("6449455446"))},
      {"32(\"http://www.example.com\")", "d82076687474703a2f2f7777772e6578616d706c652e636f6d",
       Value::Tag(32, T("http://www.example.com"))},
      {"h''", "40", B("")},
      {"h'01020304'", "4401020304", B("01020304")},
      {"\"\"", "60", T("")},
      {"\"a\"", "6161", T("a")},
      {"\"IETF\"", "6449455446", T("IETF")},
      {"\"\\\"\\\\\"", "62225c", T("\"\\")},
      {"\"\\u00fc\"", "62c3bc", T("\xc3\xbc")},
      {"\"\\u6c34\"", "63e6b0b4", T("\xe6\xb0\xb4")},
      {"\"\\ud800\\udd51\"", "64f0908591", T("\xf0\x90\x85\x91")},
      {"[]", "80", A({})},
      {"[1, 2, 3]", "83010203", A({U(1), U(2), U(3)})},
      {"[1, [2, 3], [4, 5]]", "8301820203820405", A({U(1), A({U(2), U(3)}), A({U(4), U(5)})})},
      {"[1, 2, 3, ..., 25]", "98190102030405060708090a0b0c0d0e0f101112131415161718181819",
       OneTo25()},
      {"{}", "a0", M({})},
      {"{1: 2, 3: 4}", "a201020304", M({{U(1), U(2)}, {U(3), U(4)}})},
      {"{\"a\": 1, \"b\": [2, 3]}", "a26161016162820203",
       M({{T("a"), U(1)}, {T("b"), A({U(2), U(3)})}})},
      {"[\"a\", {\"b\": \"c\"}]", "826161a161626163", A({T("a"), M({{T("b"), T("c")}})})},
      {"{\"a\": \"A\", \"b\": \"B\", \"c\": \"C\", \"d\": \"D\", \"e\": \"E\"}",
       "a56161614161626142616361436164614461656145",
       M({{T("a"), T("A")},
          {T("b"), T("B")},
          {T("c"), T("C")},
          {T("d"), T("D")},
          {T("e"), T("E")}})},
      {"(_ h'0102', h'030405')", "5f42010243030405ff", B("0102030405"), kI, "450102030405"},
      {"(_ \"strea\", \"ming\")", "7f657374726561646d696e67ff", T("streaming"), kI,
       "6973747265616d696e67"},
      {"[_ ]", "9fff", A({}), kI, "80"},
      {"[_ 1, [2, 3], [_ 4, 5]]", "9f018202039f0405ffff",
       A({U(1), A({U(2), U(3)}), A({U(4), U(5)})}), kI, "8301820203820405"},
      {"[_ 1, [2, 3], [4, 5]]", "9f01820203820405ff", A({U(1), A({U(2), U(3)}), A({U(4), U(5)})}),
       kI, "8301820203820405"},
      {"[1, [2, 3], [_ 4, 5]]", "83018202039f0405ff", A({U(1), A({U(2), U(3)}), A({U(4), U(5)})}),
       kI, "8301820203820405"},
      {"[1, [_ 2, 3], [4, 5]]", "83019f0203ff820405", A({U(1), A({U(2), U(3)}), A({U(4), U(5)})}),
       kI, "8301820203820405"},
      {"[_ 1, 2, 3, ..., 25]", "9f0102030405060708090a0b0c0d0e0f101112131415161718181819ff",
       OneTo25(), kI, "98190102030405060708090a0b0c0d0e0f101112131415161718181819"},
      {"{_ \"a\": 1, \"b\": [_ 2, 3]}", "bf61610161629f0203ffff",
       M({{T("a"), U(1)}, {T("b"), A({U(2), U(3)})}}), kI, "a26161016162820203"},
      {"[\"a\", {_ \"b\": \"c\"}]", "826161bf61626163ff", A({T("a"), M({{T("b"), T("c")}})}), kI,
       "826161a161626163"},
      // Keys "Fun" and "Amt" have equal length; "Amt" sorts first in the canonical form.
      {"{_ \"Fun\": true, \"Amt\": -2}", "bf6346756ef563416d7421ff",
       M({{T("Fun"), Value::Bool(true)}, {T("Amt"), I(-2)}}), kI, "a263416d74216346756ef5"},
  };
}

// RFC 8949 Appendix A lists 81 examples (RFC 7049 had an 82nd, simple(24) = f818, which RFC 8949
// dropped because that encoding is not well-formed; decoder_test.cc checks it is rejected).
constexpr size_t kNumAppendixAExamples = 81;

TEST(Rfc8949AppendixATest, EveryExample) {
  const std::vector<Example> examples = AppendixA();
  ASSERT_EQ(examples.size(), kNumAppendixAExamples);
  size_t canonical = 0;
  size_t wide_float = 0;
  size_t indefinite = 0;
  for (const Example& ex : examples) {
    SCOPED_TRACE(ex.diagnostic + " = " + ex.hex);
    const std::vector<uint8_t> bytes = Hex(ex.hex);
    auto strict = Decode(bytes);
    switch (ex.form) {
      case Form::kCanonical: {
        ++canonical;
        ASSERT_TRUE(strict.has_value()) << ToString(strict.error());
        EXPECT_TRUE(strict->canonical);
        EXPECT_EQ(strict->value, ex.value);
        auto reencoded = Encode(strict->value);
        ASSERT_TRUE(reencoded.has_value());
        EXPECT_EQ(HexEncode(*reencoded), ex.hex);
        auto from_value = Encode(ex.value);
        ASSERT_TRUE(from_value.has_value());
        EXPECT_EQ(HexEncode(*from_value), ex.hex);
        break;
      }
      case Form::kWideFloat: {
        ++wide_float;
        ASSERT_TRUE(strict.has_value()) << ToString(strict.error());
        EXPECT_FALSE(strict->canonical);
        EXPECT_EQ(strict->value, ex.value);
        auto reencoded = Encode(strict->value);
        ASSERT_TRUE(reencoded.has_value());
        EXPECT_EQ(HexEncode(*reencoded), ex.canonical_hex);
        DecodeLimits exact;
        exact.require_canonical = true;
        EXPECT_THAT(Decode(bytes, exact), HasError(ErrorCode::kCborNonCanonicalFloat));
        break;
      }
      case Form::kIndefinite: {
        ++indefinite;
        EXPECT_THAT(strict, HasError(ErrorCode::kCborIndefiniteLength));
        DecodeLimits lenient;
        lenient.strict = false;
        auto decoded = Decode(bytes, lenient);
        ASSERT_TRUE(decoded.has_value()) << ToString(decoded.error());
        EXPECT_FALSE(decoded->canonical);
        EXPECT_EQ(decoded->value, ex.value);
        auto reencoded = Encode(decoded->value);
        ASSERT_TRUE(reencoded.has_value());
        EXPECT_EQ(HexEncode(*reencoded), ex.canonical_hex);
        // The definite form is canonical.
        auto definite = Decode(Hex(ex.canonical_hex));
        ASSERT_TRUE(definite.has_value());
        EXPECT_TRUE(definite->canonical);
        EXPECT_EQ(definite->value, ex.value);
        break;
      }
    }
    // Every canonical example also decodes the same in non-strict mode.
    if (ex.form != Form::kIndefinite) {
      DecodeLimits lenient;
      lenient.strict = false;
      auto decoded = Decode(bytes, lenient);
      ASSERT_TRUE(decoded.has_value());
      EXPECT_EQ(decoded->value, ex.value);
    }
  }
  EXPECT_EQ(canonical, 64u);
  EXPECT_EQ(wide_float, 6u);
  EXPECT_EQ(indefinite, 11u);
}

}  // namespace
}  // namespace eml::cbor
