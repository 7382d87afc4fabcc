#include "common/encoding.h"

#include <array>

namespace eml {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";
constexpr char kBase64Std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char kBase64Url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string Base64EncodeWith(std::span<const uint8_t> bytes, const char* alphabet, bool pad) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t v = (uint32_t{bytes[i]} << 16) | (uint32_t{bytes[i + 1]} << 8) | bytes[i + 2];
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    out.push_back(alphabet[(v >> 6) & 63]);
    out.push_back(alphabet[v & 63]);
  }
  const size_t rest = bytes.size() - i;
  if (rest == 1) {
    const uint32_t v = uint32_t{bytes[i]} << 16;
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    if (pad) {
      out += "==";
    }
  } else if (rest == 2) {
    const uint32_t v = (uint32_t{bytes[i]} << 16) | (uint32_t{bytes[i + 1]} << 8);
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    out.push_back(alphabet[(v >> 6) & 63]);
    if (pad) {
      out.push_back('=');
    }
  }
  return out;
}

Result<std::vector<uint8_t>> Base64DecodeWith(std::string_view text, const char* alphabet,
                                              bool padded) {
  std::array<int, 256> table;
  table.fill(-1);
  for (int k = 0; k < 64; ++k) {
    table[static_cast<uint8_t>(alphabet[k])] = k;
  }
  size_t data_len = text.size();
  if (padded) {
    if (text.size() % 4 != 0) {
      return Error{ErrorCode::kBadBase64, "length is not a multiple of 4"};
    }
    if (data_len > 0 && text[data_len - 1] == '=') {
      --data_len;
      if (data_len > 0 && text[data_len - 1] == '=') {
        --data_len;
      }
    }
  }
  if (data_len % 4 == 1) {
    return Error{ErrorCode::kBadBase64, "impossible length"};
  }
  std::vector<uint8_t> out;
  out.reserve(data_len * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < data_len; ++i) {
    const int v = table[static_cast<uint8_t>(text[i])];
    if (v < 0) {
      return Error{ErrorCode::kBadBase64, "invalid character at offset " + std::to_string(i)};
    }
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<uint8_t>(acc >> bits));
      acc &= (1u << bits) - 1;
    }
  }
  if (acc != 0) {
    return Error{ErrorCode::kBadBase64, "non-zero padding bits"};
  }
  return out;
}

}  // namespace

int HexDigitValue(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

std::string HexEncode(std::span<const uint8_t> bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (uint8_t b : bytes) {
    out.push_back(kHexDigits[b >> 4]);
    out.push_back(kHexDigits[b & 15]);
  }
  return out;
}

Result<std::vector<uint8_t>> HexDecode(std::string_view hex) {
  if (hex.size() % 2 != 0) {
    return Error{ErrorCode::kBadHex, "odd number of hex digits"};
  }
  std::vector<uint8_t> out(hex.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    const int hi = HexDigitValue(hex[2 * i]);
    const int lo = HexDigitValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return Error{ErrorCode::kBadHex, "invalid hex digit near offset " + std::to_string(2 * i)};
    }
    out[i] = static_cast<uint8_t>((hi << 4) | lo);
  }
  return out;
}

Result<std::vector<uint8_t>> HexDecodeExact(std::string_view hex, size_t size) {
  if (hex.size() != size * 2) {
    return Error{ErrorCode::kBadHex, "expected " + std::to_string(size * 2) + " hex digits, got " +
                                         std::to_string(hex.size())};
  }
  return HexDecode(hex);
}

std::string Base64Encode(std::span<const uint8_t> bytes) {
  return Base64EncodeWith(bytes, kBase64Std, true);
}
Result<std::vector<uint8_t>> Base64Decode(std::string_view text) {
  return Base64DecodeWith(text, kBase64Std, true);
}
std::string Base64UrlEncode(std::span<const uint8_t> bytes) {
  return Base64EncodeWith(bytes, kBase64Url, false);
}
Result<std::vector<uint8_t>> Base64UrlDecode(std::string_view text) {
  return Base64DecodeWith(text, kBase64Url, false);
}

}  // namespace eml
