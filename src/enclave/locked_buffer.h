#pragma once
// Posture: holds secret plaintext (decrypted model files); takes no input from outside.
//
// eml::enclave::LockedBuffer: fixed-size secret storage for decrypted model files. The bytes
// live in their own anonymous mapping (whole pages shared with nothing else, left out of core
// dumps with MADV_DONTDUMP), are zeroed with explicit_bzero when the buffer is dropped, wiped or
// moved from, and are pinned in RAM with mlock(2) where the process may, so they never reach
// swap. When
// RLIMIT_MEMLOCK is too low (common for unprivileged processes and on the sim platform) the
// buffer stays usable but unlocked: locked() says which, and Create reports the fallback through
// its warning callback instead of failing.
//
// Thread safety: a value; no shared state.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>

#include "common/result.h"
#include "common/secret_bytes.h"  // InsecureSecretAccess

namespace eml::enclave {

class LockedBuffer {
 public:
  using WarnFn = std::function<void(const std::string&)>;

  LockedBuffer() = default;
  // Create maps `size_bytes` zero bytes and tries to mlock them; a refusal (EPERM, ENOMEM,
  // EAGAIN) calls `warn` once with the reason (no secret in it) and leaves the buffer unlocked.
  // Errors: kLimitExceeded (the mapping failed).
  static Result<LockedBuffer> Create(size_t size_bytes, const WarnFn& warn);

  ~LockedBuffer();
  LockedBuffer(const LockedBuffer&) = delete;
  LockedBuffer& operator=(const LockedBuffer&) = delete;
  LockedBuffer(LockedBuffer&& other) noexcept;
  LockedBuffer& operator=(LockedBuffer&& other) noexcept;

  size_t size() const { return size_; }
  bool locked() const { return locked_; }
  std::span<const uint8_t> Reveal(InsecureSecretAccess) const { return {data_, size_}; }
  std::span<uint8_t> MutableReveal(InsecureSecretAccess) { return {data_, size_}; }

  // Wipe zeroes, unlocks and unmaps the bytes now; the buffer is then empty.
  void Wipe();

 private:
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  size_t mapped_bytes_ = 0;  // size_ rounded up to whole pages
  bool locked_ = false;
};

}  // namespace eml::enclave
