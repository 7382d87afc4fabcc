#pragma once
// HMAC-SHA256 (RFC 2104 / FIPS 198-1). Verify a received MAC with ConstantTimeEquals, never ==.
//
// Thread safety: safe from any number of threads at once.

#include <array>
#include <cstdint>
#include <span>

#include "common/secret_bytes.h"

namespace eml::crypto {

inline constexpr size_t kHmacSha256Size = 32;

// HmacSha256 returns HMAC-SHA256(key, data). Any key length is allowed (an empty key acts as
// 64 zero bytes, as the RFC defines). Cannot fail.
std::array<uint8_t, kHmacSha256Size> HmacSha256(const SecretBytes& key,
                                                std::span<const uint8_t> data);

}  // namespace eml::crypto
