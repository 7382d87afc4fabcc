// Fuzz target cbor_decode: eml::cbor::Decode on arbitrary bytes (STYLE F2).
// Properties: non-strict decoding never crashes; whenever strict decoding succeeds, non-strict
// decoding agrees (same value, same canonical flag); whatever decodes with canonical = true
// re-encodes byte-identical, and whatever decodes re-encodes to bytes that decode canonical
// to the same value.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "cbor/decoder.h"
#include "cbor/encoder.h"
#include "common/check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> input(data, size);
  eml::cbor::DecodeLimits lenient;
  lenient.strict = false;
  auto loose = eml::cbor::Decode(input, lenient);
  auto strict = eml::cbor::Decode(input);
  if (strict.has_value()) {
    EML_CHECK(loose.has_value());
    EML_CHECK(loose->value == strict->value);
    EML_CHECK(loose->canonical == strict->canonical);
  }
  if (!loose.has_value()) {
    return 0;
  }
  auto encoded = eml::cbor::Encode(loose->value);
  EML_CHECK(encoded.has_value());  // decoded maps never hold duplicate keys
  const bool identical =
      encoded->size() == size && std::equal(encoded->begin(), encoded->end(), input.begin());
  EML_CHECK(identical == loose->canonical);
  eml::cbor::DecodeLimits exact;
  exact.require_canonical = true;
  exact.max_depth = lenient.max_depth;
  auto again = eml::cbor::Decode(*encoded, exact);
  EML_CHECK(again.has_value());
  EML_CHECK(again->canonical);
  EML_CHECK(again->value == loose->value);
  return 0;
}
