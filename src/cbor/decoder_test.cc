#include "cbor/decoder.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "cbor/encoder.h"
#include "common/encoding.h"
#include "testing/test_util.h"

namespace eml::cbor {
namespace {

using ::eml::testing::HasError;
using ::eml::testing::Hex;
using ::eml::testing::IsOk;

DecodeLimits Lenient() {
  DecodeLimits limits;
  limits.strict = false;
  return limits;
}

DecodeLimits RequireCanonical() {
  DecodeLimits limits;
  limits.require_canonical = true;
  return limits;
}

Result<Decoded> DecodeHex(const std::string& hex, const DecodeLimits& limits = {}) {
  return Decode(Hex(hex), limits);
}

// --- One test per error code (STYLE T2). ---

TEST(DecoderTest, Truncated) {
  EXPECT_THAT(DecodeHex(""), HasError(ErrorCode::kCborTruncated));
  EXPECT_THAT(DecodeHex("19ff"), HasError(ErrorCode::kCborTruncated));      // head cut short
  EXPECT_THAT(DecodeHex("44010203"), HasError(ErrorCode::kCborTruncated));  // string cut short
  EXPECT_THAT(DecodeHex("830102"), HasError(ErrorCode::kCborTruncated));    // array cut short
  EXPECT_THAT(DecodeHex("a201"), HasError(ErrorCode::kCborTruncated));      // map cut short
  EXPECT_THAT(DecodeHex("c2"), HasError(ErrorCode::kCborTruncated));        // tag without item
  EXPECT_THAT(DecodeHex("9f01", Lenient()), HasError(ErrorCode::kCborTruncated));  // no break
  EXPECT_THAT(DecodeHex("5f4101", Lenient()), HasError(ErrorCode::kCborTruncated));
}

TEST(DecoderTest, TruncatedHugeDeclaredCountsAllocateNothing) {
  // Counts and lengths near 2^64 are compared with the bytes left before any allocation.
  EXPECT_THAT(DecodeHex("9bffffffffffffffff00"), HasError(ErrorCode::kCborTruncated));
  EXPECT_THAT(DecodeHex("bbffffffffffffffff0000"), HasError(ErrorCode::kCborTruncated));
  EXPECT_THAT(DecodeHex("9a7fffffff"), HasError(ErrorCode::kCborTruncated));
  DecodeLimits big_strings;
  big_strings.max_string_bytes = SIZE_MAX;
  EXPECT_THAT(DecodeHex("5bffffffffffffffff00", big_strings), HasError(ErrorCode::kCborTruncated));
  EXPECT_THAT(DecodeHex("7b7fffffffffffffff61", big_strings), HasError(ErrorCode::kCborTruncated));
}

TEST(DecoderTest, TrailingBytes) {
  EXPECT_THAT(DecodeHex("0000"), HasError(ErrorCode::kCborTrailingBytes));
  EXPECT_THAT(DecodeHex("8001"), HasError(ErrorCode::kCborTrailingBytes));
  EXPECT_THAT(DecodeHex("a0ff"), HasError(ErrorCode::kCborTrailingBytes));
}

TEST(DecoderTest, TooDeep) {
  DecodeLimits limits;
  limits.max_depth = 3;
  EXPECT_THAT(DecodeHex("818181f6", limits), IsOk());
  EXPECT_THAT(DecodeHex("81818181f6", limits), HasError(ErrorCode::kCborTooDeep));
  EXPECT_THAT(DecodeHex("a101a101a101a10101", limits), HasError(ErrorCode::kCborTooDeep));
  EXPECT_THAT(DecodeHex("c1c1c1c101", limits), HasError(ErrorCode::kCborTooDeep));  // tags nest
  limits.max_depth = 0;
  EXPECT_THAT(DecodeHex("01", limits), IsOk());
  EXPECT_THAT(DecodeHex("80", limits), HasError(ErrorCode::kCborTooDeep));
}

TEST(DecoderTest, TooDeepByDefaultAndWithHugeLimit) {
  // 100,000 nested arrays: the default limit stops it, and so does the hard cap (no stack
  // exhaustion) when a caller asks for "unlimited" depth.
  std::vector<uint8_t> deep(100000, 0x81);
  deep.push_back(0x00);
  EXPECT_THAT(Decode(deep), HasError(ErrorCode::kCborTooDeep));
  DecodeLimits unlimited;
  unlimited.max_depth = SIZE_MAX;
  EXPECT_THAT(Decode(deep, unlimited), HasError(ErrorCode::kCborTooDeep));
  std::vector<uint8_t> at_cap(kMaxSupportedDepth, 0x81);
  at_cap.push_back(0x00);
  EXPECT_THAT(Decode(at_cap, unlimited), IsOk());
}

TEST(DecoderTest, TooManyItems) {
  DecodeLimits limits;
  limits.max_items = 4;
  EXPECT_THAT(DecodeHex("83010203", limits), IsOk());  // the array and 3 items
  EXPECT_THAT(DecodeHex("8401020304", limits), HasError(ErrorCode::kCborTooManyItems));
  EXPECT_THAT(DecodeHex("a20102030a", limits), HasError(ErrorCode::kCborTooManyItems));
  DecodeLimits lenient = Lenient();
  lenient.max_items = 3;  // the string and its chunks all count
  EXPECT_THAT(DecodeHex("5f41014102ff", lenient), IsOk());
  EXPECT_THAT(DecodeHex("5f410141024103ff", lenient), HasError(ErrorCode::kCborTooManyItems));
}

TEST(DecoderTest, StringTooLong) {
  DecodeLimits limits;
  limits.max_string_bytes = 3;
  EXPECT_THAT(DecodeHex("43010203", limits), IsOk());
  EXPECT_THAT(DecodeHex("4401020304", limits), HasError(ErrorCode::kCborStringTooLong));
  EXPECT_THAT(DecodeHex("6461626364", limits), HasError(ErrorCode::kCborStringTooLong));
  // Indefinite strings: the sum of the chunks counts.
  DecodeLimits lenient = Lenient();
  lenient.max_string_bytes = 3;
  EXPECT_THAT(DecodeHex("5f420102420304ff", lenient), HasError(ErrorCode::kCborStringTooLong));
  EXPECT_THAT(DecodeHex("7f62616262636dff", lenient), HasError(ErrorCode::kCborStringTooLong));
}

TEST(DecoderTest, InputTooLarge) {
  DecodeLimits limits;
  limits.max_input_bytes = 4;
  EXPECT_THAT(DecodeHex("43010203", limits), IsOk());
  EXPECT_THAT(DecodeHex("4401020304", limits), HasError(ErrorCode::kCborInputTooLarge));
}

TEST(DecoderTest, IndefiniteLengthInStrictMode) {
  for (const char* hex : {"5fff", "7fff", "9fff", "bfff", "5f4101ff", "9f01ff"}) {
    SCOPED_TRACE(hex);
    EXPECT_THAT(DecodeHex(hex), HasError(ErrorCode::kCborIndefiniteLength));
    auto lenient = DecodeHex(hex, Lenient());
    ASSERT_THAT(lenient, IsOk());
    EXPECT_FALSE(lenient->canonical);
  }
}

TEST(DecoderTest, NonShortestForm) {
  for (const char* hex : {"1800", "1817", "190017", "1900ff", "1a0000ffff", "1b00000000ffffffff",
                          "3800", "5800", "7800", "9800", "b800", "d800f6", "59000100"}) {
    SCOPED_TRACE(hex);
    EXPECT_THAT(DecodeHex(hex), HasError(ErrorCode::kCborNonShortestForm));
  }
}

TEST(DecoderTest, NonShortestAcceptedInNonStrictMode) {
  auto decoded = DecodeHex("1900ff", Lenient());
  ASSERT_THAT(decoded, IsOk());
  EXPECT_FALSE(decoded->canonical);
  EXPECT_EQ(decoded->value, Value::Uint(255));
  EXPECT_EQ(HexEncode(*Encode(decoded->value)), "18ff");
  // A map whose only non-canonical part is a key head.
  auto map = DecodeHex("a2190001f602f6", Lenient());
  ASSERT_THAT(map, IsOk());
  EXPECT_FALSE(map->canonical);
  // Same key 1 twice in different head widths is still a duplicate.
  EXPECT_THAT(DecodeHex("a2190001f601f6", Lenient()), HasError(ErrorCode::kCborDuplicateKey));
}

TEST(DecoderTest, DuplicateKey) {
  EXPECT_THAT(DecodeHex("a20101010202"), HasError(ErrorCode::kCborDuplicateKey));
  EXPECT_THAT(DecodeHex("a3616101616202616103"), HasError(ErrorCode::kCborDuplicateKey));
  // Non-adjacent duplicate in an unsorted map.
  EXPECT_THAT(DecodeHex("a30a0101020a03"), HasError(ErrorCode::kCborDuplicateKey));
  // NaN keys in different widths are the same value.
  EXPECT_THAT(DecodeHex("a2f97e0001fa7fc0000002"), HasError(ErrorCode::kCborDuplicateKey));
  EXPECT_THAT(DecodeHex("bf01010102ff", Lenient()), HasError(ErrorCode::kCborDuplicateKey));
}

TEST(DecoderTest, ReservedInfo) {
  for (const char* hex :
       {"1c", "1d", "1e", "3c", "5c", "7d", "9e", "bc", "dc", "fc", "fd", "fe", "1f", "3f", "df"}) {
    SCOPED_TRACE(hex);
    EXPECT_THAT(DecodeHex(hex), HasError(ErrorCode::kCborReservedInfo));
    EXPECT_THAT(DecodeHex(hex, Lenient()), HasError(ErrorCode::kCborReservedInfo));
  }
}

TEST(DecoderTest, BadSimpleValue) {
  // simple(24) = f818 was an RFC 7049 example; RFC 8949 makes two-byte simple values < 32
  // not well-formed.
  for (const char* hex : {"f800", "f813", "f814", "f818", "f81f"}) {
    SCOPED_TRACE(hex);
    EXPECT_THAT(DecodeHex(hex), HasError(ErrorCode::kCborBadSimpleValue));
    EXPECT_THAT(DecodeHex(hex, Lenient()), HasError(ErrorCode::kCborBadSimpleValue));
  }
  EXPECT_THAT(DecodeHex("f820"), IsOk());
}

TEST(DecoderTest, InvalidUtf8) {
  for (const char* hex : {"61ff", "61c3", "62c0af",  // bad byte, cut sequence, overlong
                          "63eda080",                // surrogate U+D800
                          "64f4908080",              // above U+10FFFF
                          "63e08080", "6180"}) {     // overlong 3-byte, lone continuation
    SCOPED_TRACE(hex);
    EXPECT_THAT(DecodeHex(hex), HasError(ErrorCode::kCborInvalidUtf8));
  }
  // A code point split across chunks of an indefinite text string is invalid.
  EXPECT_THAT(DecodeHex("7f61c361bcff", Lenient()), HasError(ErrorCode::kCborInvalidUtf8));
  EXPECT_THAT(DecodeHex("64f48fbfbf"), IsOk());  // U+10FFFF
}

TEST(DecoderTest, UnexpectedBreak) {
  EXPECT_THAT(DecodeHex("ff"), HasError(ErrorCode::kCborUnexpectedBreak));
  EXPECT_THAT(DecodeHex("8201ff"), HasError(ErrorCode::kCborUnexpectedBreak));
  EXPECT_THAT(DecodeHex("a101ff"), HasError(ErrorCode::kCborUnexpectedBreak));
  EXPECT_THAT(DecodeHex("c1ff"), HasError(ErrorCode::kCborUnexpectedBreak));
  // A break where a map value must be (odd number of items in an indefinite map).
  EXPECT_THAT(DecodeHex("bf01ff", Lenient()), HasError(ErrorCode::kCborUnexpectedBreak));
}

TEST(DecoderTest, BadIndefiniteChunk) {
  EXPECT_THAT(DecodeHex("5f6161ff", Lenient()), HasError(ErrorCode::kCborBadIndefiniteChunk));
  EXPECT_THAT(DecodeHex("7f4161ff", Lenient()), HasError(ErrorCode::kCborBadIndefiniteChunk));
  EXPECT_THAT(DecodeHex("5f01ff", Lenient()), HasError(ErrorCode::kCborBadIndefiniteChunk));
  EXPECT_THAT(DecodeHex("5f5fffff", Lenient()), HasError(ErrorCode::kCborBadIndefiniteChunk));
}

TEST(DecoderTest, UnsortedKeys) {
  const std::string unsorted = "a2616201616102";  // {"b": 1, "a": 2}
  auto decoded = DecodeHex(unsorted);
  ASSERT_THAT(decoded, IsOk());
  EXPECT_FALSE(decoded->canonical);
  EXPECT_EQ(HexEncode(*Encode(decoded->value)), "a2616102616201");
  EXPECT_THAT(DecodeHex(unsorted, RequireCanonical()), HasError(ErrorCode::kCborUnsortedKeys));
  // Bytewise order is not length-first order: {"aa": 1, 10: 2} is unsorted.
  EXPECT_THAT(DecodeHex("a2626161010a02", RequireCanonical()),
              HasError(ErrorCode::kCborUnsortedKeys));
  auto sorted = DecodeHex("a20a0262616101", RequireCanonical());
  ASSERT_THAT(sorted, IsOk());
  EXPECT_TRUE(sorted->canonical);
}

TEST(DecoderTest, NonCanonicalFloat) {
  for (const char* hex : {"fa3fc00000",          // 1.5 as single
                          "fb3ff8000000000000",  // 1.5 as double
                          "fb47efffffe0000000",  // FLT_MAX as double
                          "f97e01",              // NaN with a payload
                          "f9fe00"}) {           // negative NaN
    SCOPED_TRACE(hex);
    auto decoded = DecodeHex(hex);
    ASSERT_THAT(decoded, IsOk());
    EXPECT_FALSE(decoded->canonical);
    EXPECT_THAT(DecodeHex(hex, RequireCanonical()), HasError(ErrorCode::kCborNonCanonicalFloat));
  }
}

// --- Behaviour beyond the error codes. ---

TEST(DecoderTest, RequireCanonicalAcceptsDeterministicInput) {
  auto decoded = DecodeHex("a301616102626262626262c1fb41d452d9ec200000", RequireCanonical());
  ASSERT_THAT(decoded, IsOk());
  EXPECT_TRUE(decoded->canonical);
}

TEST(DecoderTest, CanonicalFlagTracksNestedParts) {
  // A non-shortest head deep inside a key makes the whole item non-canonical.
  auto decoded = DecodeHex("a181180102", Lenient());
  ASSERT_THAT(decoded, IsOk());
  EXPECT_FALSE(decoded->canonical);
  EXPECT_EQ(HexEncode(*Encode(decoded->value)), "a1810102");
  auto canonical = DecodeHex("a1810102");
  ASSERT_THAT(canonical, IsOk());
  EXPECT_TRUE(canonical->canonical);
}

TEST(DecoderTest, DecodesAllSimpleAndFloatKinds) {
  EXPECT_EQ(DecodeHex("e0")->value, Value::Simple(0));
  EXPECT_EQ(DecodeHex("f3")->value, Value::Simple(19));
  EXPECT_EQ(DecodeHex("f90001")->value, Value::Float(5.960464477539063e-8));
  EXPECT_EQ(DecodeHex("fa47c35000")->value, Value::Float(100000.0));
  EXPECT_EQ(DecodeHex("fb3ff199999999999a")->value, Value::Float(1.1));
}

}  // namespace
}  // namespace eml::cbor
