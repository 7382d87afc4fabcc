#include "common/secret_bytes.h"

#include <openssl/crypto.h>

#include <cstring>
#include <new>
#include <utility>

namespace eml {

SecretBytes::SecretBytes(size_t size) : size_(size) {
  if (size_ > 0) {
    data_ = new uint8_t[size_]();
  }
}

SecretBytes SecretBytes::CopyFrom(std::span<const uint8_t> bytes) {
  SecretBytes out(bytes.size());
  if (!bytes.empty()) {
    std::memcpy(out.data_, bytes.data(), bytes.size());
  }
  return out;
}

SecretBytes::~SecretBytes() { Wipe(); }

SecretBytes::SecretBytes(SecretBytes&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    Wipe();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

SecretBytes SecretBytes::Clone() const { return CopyFrom(std::span<const uint8_t>(data_, size_)); }

void SecretBytes::Wipe() {
  if (data_ != nullptr) {
    OPENSSL_cleanse(data_, size_);
    delete[] data_;
  }
  data_ = nullptr;
  size_ = 0;
}

std::string SecretBytes::DebugString() const {
  return "<secret " + std::to_string(size_) + " bytes>";
}

bool ConstantTimeEquals(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  if (a.size() != b.size()) {
    return false;
  }
  if (a.empty()) {
    return true;
  }
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace eml
