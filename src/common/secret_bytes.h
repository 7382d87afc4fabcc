#pragma once
// eml::SecretBytes: owning storage for key material and other secrets. It cannot be copied
// (Clone() is explicit), is wiped with OPENSSL_cleanse on destruction and when moved from,
// never converts implicitly to a span or string, and prints as "<secret N bytes>". Raw access
// goes through Reveal(InsecureSecretAccess::Get()), so every use is easy to find.
// ConstantTimeEquals compares secrets, MACs, tags and attacker-influenced digests.

#include <cstddef>
#include <cstdint>
#include <ostream>
#include <span>
#include <string>

namespace eml {

// A token that marks a deliberate read of secret bytes.
class InsecureSecretAccess {
 public:
  static InsecureSecretAccess Get() { return InsecureSecretAccess(); }

 private:
  InsecureSecretAccess() = default;
};

class SecretBytes {
 public:
  SecretBytes() = default;
  // SecretBytes(n) holds n zero bytes (to be filled through MutableReveal).
  explicit SecretBytes(size_t size);
  // CopyFrom copies `bytes` into new secret storage; the caller wipes its own copy.
  static SecretBytes CopyFrom(std::span<const uint8_t> bytes);
  ~SecretBytes();

  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  SecretBytes(SecretBytes&& other) noexcept;
  SecretBytes& operator=(SecretBytes&& other) noexcept;

  SecretBytes Clone() const;
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  std::span<const uint8_t> Reveal(InsecureSecretAccess) const { return {data_, size_}; }
  std::span<uint8_t> MutableReveal(InsecureSecretAccess) { return {data_, size_}; }

  // Wipe zeroes and releases the storage now.
  void Wipe();

  std::string DebugString() const;

 private:
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

inline std::ostream& operator<<(std::ostream& os, const SecretBytes& s) {
  return os << s.DebugString();
}

// ConstantTimeEquals: true iff a and b have equal length and contents. The time taken depends
// only on the lengths.
bool ConstantTimeEquals(std::span<const uint8_t> a, std::span<const uint8_t> b);

}  // namespace eml
