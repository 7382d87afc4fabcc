#pragma once
// eml::cbor::Encode: deterministic CBOR (RFC 8949 section 4.2) for values built by our code.
//
// Encode(v) returns the one deterministic encoding of `v`:
//  - every head (integer, length, tag, simple) in its shortest form; definite lengths only;
//  - map entries sorted by their encoded keys, shorter key first, equal lengths bytewise
//    (the length-first order of RFC 8949 section 4.2.3, as COSE and AIR v1 require);
//  - floats in the shortest of half, single and double that keeps the value exactly; every NaN
//    as f97e00, infinities as half floats;
//  - text strings written as given (valid UTF-8 is the caller's invariant).
// Errors: kCborDuplicateKey when a map (at any depth) holds two keys with the same encoding.
// Recurses once per nesting level of `v`, which our own code builds.
// Thread safety: pure function.

#include <cstdint>
#include <vector>

#include "cbor/value.h"
#include "common/result.h"

namespace eml::cbor {

Result<std::vector<uint8_t>> Encode(const Value& v);

}  // namespace eml::cbor
