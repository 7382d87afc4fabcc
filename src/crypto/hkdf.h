#pragma once
// HKDF with SHA-256 (RFC 5869): Extract turns input keying material into a pseudorandom key,
// Expand stretches that key into as many bytes as a protocol needs, bound to `info`.
//
// Thread safety: safe from any number of threads at once.

#include <cstddef>
#include <cstdint>
#include <span>

#include "common/result.h"
#include "common/secret_bytes.h"

namespace eml::crypto {

inline constexpr size_t kHkdfSha256PrkSize = 32;
inline constexpr size_t kHkdfSha256MaxOutputSize = 255 * 32;

// HkdfSha256Extract returns PRK = HMAC-SHA256(salt, ikm), 32 bytes. An empty salt means 32
// zero bytes (RFC 5869 section 2.2). Cannot fail.
SecretBytes HkdfSha256Extract(std::span<const uint8_t> salt, const SecretBytes& ikm);

// HkdfSha256Expand returns `length` bytes of OKM from `prk` and `info` (RFC 5869 section 2.3).
// Errors: kCryptoOutputTooLong if length > 255 * 32; kCryptoBadKeyLength if prk is shorter than
// 32 bytes. length 0 gives an empty result.
Result<SecretBytes> HkdfSha256Expand(const SecretBytes& prk, std::span<const uint8_t> info,
                                     size_t length);

// HkdfSha256 is Extract followed by Expand. Errors: kCryptoOutputTooLong.
Result<SecretBytes> HkdfSha256(std::span<const uint8_t> salt, const SecretBytes& ikm,
                               std::span<const uint8_t> info, size_t length);

}  // namespace eml::crypto
