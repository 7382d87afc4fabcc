#pragma once
// Text encodings of binary data: lowercase hex, base64 (RFC 4648 section 4, padded) and
// base64url (section 5, unpadded). Decoders are strict: they reject wrong lengths, stray
// characters, whitespace, and non-zero padding bits.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace eml {

std::string HexEncode(std::span<const uint8_t> bytes);
// HexDigitValue: 0..15 for one of [0-9a-fA-F], else -1.
int HexDigitValue(char c);
// HexDecode accepts upper or lower case; kBadHex on odd length or a non-hex character.
Result<std::vector<uint8_t>> HexDecode(std::string_view hex);
// HexDecodeExact additionally requires exactly `size` decoded bytes (kBadHex otherwise).
Result<std::vector<uint8_t>> HexDecodeExact(std::string_view hex, size_t size);

std::string Base64Encode(std::span<const uint8_t> bytes);
Result<std::vector<uint8_t>> Base64Decode(std::string_view text);  // kBadBase64
std::string Base64UrlEncode(std::span<const uint8_t> bytes);
Result<std::vector<uint8_t>> Base64UrlDecode(std::string_view text);  // kBadBase64

// AsBytes views the characters of `text` as bytes (for hashing text payloads).
inline std::span<const uint8_t> AsBytes(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

}  // namespace eml
