#pragma once
// SHA-2 digests (FIPS 180-4) over OpenSSL: one-shot SHA-256/384/512 and streaming hashers.
// Digests are public values; compare an attacker-supplied digest with ConstantTimeEquals.
//
// Thread safety: the one-shot functions are safe from any thread. A hasher object is not: use
// one per thread (they are cheap), or guard it yourself.

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

namespace eml::crypto {

inline constexpr size_t kSha256Size = 32;
inline constexpr size_t kSha384Size = 48;
inline constexpr size_t kSha512Size = 64;

// Sha256 / Sha384 / Sha512 return the digest of `data`. They cannot fail (an OpenSSL failure
// here is a broken build and stops the process with EML_CHECK).
std::array<uint8_t, kSha256Size> Sha256(std::span<const uint8_t> data);
std::array<uint8_t, kSha384Size> Sha384(std::span<const uint8_t> data);
std::array<uint8_t, kSha512Size> Sha512(std::span<const uint8_t> data);

namespace internal {
struct HashState;
struct HashStateDeleter {
  void operator()(HashState* state) const;
};
}  // namespace internal

// A streaming SHA-2 hasher: Update any number of times, then Finish. Finish returns the digest
// of everything given since construction (or since the previous Finish) and resets the hasher,
// so one object can hash several messages in turn. Movable, not copyable.
template <size_t kDigestSize>
class Sha2Hasher {
 public:
  Sha2Hasher();
  void Update(std::span<const uint8_t> data);
  std::array<uint8_t, kDigestSize> Finish();

 private:
  std::unique_ptr<internal::HashState, internal::HashStateDeleter> state_;
};

using Sha256Hasher = Sha2Hasher<kSha256Size>;
using Sha384Hasher = Sha2Hasher<kSha384Size>;
using Sha512Hasher = Sha2Hasher<kSha512Size>;

extern template class Sha2Hasher<kSha256Size>;
extern template class Sha2Hasher<kSha384Size>;
extern template class Sha2Hasher<kSha512Size>;

}  // namespace eml::crypto
