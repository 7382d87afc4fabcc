// Fuzz target cose_sign1: eml::cose::ParseSign1 on arbitrary bytes (STYLE F2).
// Properties: parsing never crashes (detached payloads allowed, either tag rule); a message
// that parses with canonical() re-serializes byte-identical; whatever parses re-serializes to
// bytes that parse again to the same parts (the protected bytes are kept as they came).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>

#include "common/check.h"
#include "cose/sign1.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> input(data, size);
  eml::cose::ParseOptions options;
  options.allow_detached_payload = true;
  auto parsed = eml::cose::ParseSign1(input, options);
  if (!parsed.has_value()) {
    return 0;
  }
  auto serialized = eml::cose::SerializeSign1(*parsed);
  EML_CHECK(serialized.has_value());
  if (parsed->canonical()) {
    EML_CHECK(serialized->size() == size &&
              std::equal(serialized->begin(), serialized->end(), input.begin()));
  }
  auto again = eml::cose::ParseSign1(*serialized, options);
  EML_CHECK(again.has_value());
  EML_CHECK(again->tagged() == parsed->tagged());
  EML_CHECK(std::ranges::equal(again->protected_bytes(), parsed->protected_bytes()));
  EML_CHECK(again->protected_header() == parsed->protected_header());
  EML_CHECK(again->unprotected_header() == parsed->unprotected_header());
  EML_CHECK(again->payload().has_value() == parsed->payload().has_value());
  EML_CHECK(std::ranges::equal(again->signature(), parsed->signature()));
  EML_CHECK(again->algorithm() == parsed->algorithm());
  return 0;
}
