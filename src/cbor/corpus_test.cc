// Items encoded by Python's cbor2 (canonical=True) decode in strict mode to the value described
// beside them, are canonical, and re-encode byte-identical. Data and provenance:
// tests/vectors/cbor/ (README.md, generate_corpus.py).

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <string>
#include <vector>

#include "cbor/decoder.h"
#include "cbor/encoder.h"
#include "cbor/value.h"
#include "common/encoding.h"
#include "testing/test_util.h"

namespace eml::cbor {
namespace {

using ::eml::testing::Hex;
using nlohmann::json;

constexpr size_t kNumCorpusItems = 1000;

uint64_t ParseU64(const json& text) { return std::stoull(text.get<std::string>()); }

// FromDescription builds the Value a description names (grammar in generate_corpus.py).
Value FromDescription(const json& d) {
  const std::string kind = d.at(0).get<std::string>();
  if (kind == "uint") {
    return Value::Uint(ParseU64(d.at(1)));
  }
  if (kind == "nint") {
    return Value::Negative(ParseU64(d.at(1)));
  }
  if (kind == "bytes") {
    return Value::Bytes(Hex(d.at(1).get<std::string>()));
  }
  if (kind == "text") {
    return Value::Text(d.at(1).get<std::string>());
  }
  if (kind == "array") {
    std::vector<Value> items;
    for (const json& item : d.at(1)) {
      items.push_back(FromDescription(item));
    }
    return Value::Array(std::move(items));
  }
  if (kind == "map") {
    std::vector<std::pair<Value, Value>> entries;
    for (const json& entry : d.at(1)) {
      entries.emplace_back(FromDescription(entry.at(0)), FromDescription(entry.at(1)));
    }
    return Value::Map(std::move(entries));
  }
  if (kind == "tag") {
    return Value::Tag(ParseU64(d.at(1)), FromDescription(d.at(2)));
  }
  if (kind == "bool") {
    return Value::Bool(d.at(1).get<bool>());
  }
  if (kind == "null") {
    return Value::Null();
  }
  if (kind == "undefined") {
    return Value::Undefined();
  }
  if (kind == "simple") {
    return Value::Simple(d.at(1).get<uint8_t>());
  }
  if (kind == "float") {
    const std::string bits = d.at(1).get<std::string>();
    return Value::Float(std::bit_cast<double>(std::stoull(bits, nullptr, 16)));
  }
  ADD_FAILURE() << "unknown description kind " << kind;
  return Value::Null();
}

TEST(Cbor2CorpusTest, DecodesToDescribedValueAndReencodesIdentically) {
  const json corpus =
      eml::testing::ReadJson(eml::testing::SourcePath("tests/vectors/cbor/cbor2_corpus.json"));
  ASSERT_EQ(corpus.at("count").get<size_t>(), kNumCorpusItems);
  ASSERT_EQ(corpus.at("items").size(), kNumCorpusItems);
  DecodeLimits limits;
  limits.require_canonical = true;
  size_t run = 0;
  for (const json& item : corpus.at("items")) {
    const std::string hex = item.at("hex").get<std::string>();
    SCOPED_TRACE("item " + std::to_string(run) + ": " + hex.substr(0, 80));
    ++run;
    auto decoded = Decode(Hex(hex), limits);
    ASSERT_TRUE(decoded.has_value()) << ToString(decoded.error());
    EXPECT_TRUE(decoded->canonical);
    const Value expected = FromDescription(item.at("value"));
    EXPECT_EQ(decoded->value, expected);
    auto reencoded = Encode(decoded->value);
    ASSERT_TRUE(reencoded.has_value());
    EXPECT_EQ(HexEncode(*reencoded), hex);
    // Encoding the description (maps in Python insertion order) gives cbor2's bytes too.
    auto from_description = Encode(expected);
    ASSERT_TRUE(from_description.has_value());
    EXPECT_EQ(HexEncode(*from_description), hex);
  }
  EXPECT_EQ(run, kNumCorpusItems);
}

}  // namespace
}  // namespace eml::cbor
