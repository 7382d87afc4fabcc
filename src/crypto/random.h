#pragma once
// Random bytes from OpenSSL's CSPRNG (RAND_bytes, seeded by the operating system).
//
// Thread safety: both functions may be called from any number of threads at once.

#include <cstddef>
#include <cstdint>
#include <span>

#include "common/result.h"
#include "common/secret_bytes.h"

namespace eml::crypto {

// RandomBytes fills `out` with cryptographically secure random bytes. On failure
// (kCryptoRandomFailed) `out` is zeroed, never left partly filled.
Status RandomBytes(std::span<uint8_t> out);

// RandomSecret returns `size_bytes` fresh random bytes held as a secret (key material, seeds).
// Errors: kCryptoRandomFailed.
Result<SecretBytes> RandomSecret(size_t size_bytes);

}  // namespace eml::crypto
