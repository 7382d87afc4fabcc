#include "enclave/locked_buffer.h"

#include <string.h>  // explicit_bzero
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace eml::enclave {

Result<LockedBuffer> LockedBuffer::Create(size_t size_bytes, const WarnFn& warn) {
  LockedBuffer out;
  if (size_bytes == 0) {
    return out;
  }
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  if (size_bytes > SIZE_MAX - page) {
    return Error{ErrorCode::kLimitExceeded, "buffer size overflows"};
  }
  const size_t mapped = (size_bytes + page - 1) / page * page;
  void* address =
      ::mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (address == MAP_FAILED) {
    return Error{ErrorCode::kLimitExceeded, "cannot map " + std::to_string(size_bytes) +
                                                " bytes for a model file: " + std::strerror(errno)};
  }
  out.data_ = static_cast<uint8_t*>(address);
  out.size_ = size_bytes;
  out.mapped_bytes_ = mapped;
  // Best effort: a kernel without MADV_DONTDUMP still gives a working buffer.
  (void)::madvise(address, mapped, MADV_DONTDUMP);
  if (::mlock(address, mapped) == 0) {
    out.locked_ = true;
  } else if (warn) {
    warn("mlock of " + std::to_string(mapped) + " bytes refused (" + std::strerror(errno) +
         "; raise RLIMIT_MEMLOCK): decrypted model bytes may be swapped out");
  }
  return out;
}

LockedBuffer::~LockedBuffer() { Wipe(); }

LockedBuffer::LockedBuffer(LockedBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      mapped_bytes_(std::exchange(other.mapped_bytes_, 0)),
      locked_(std::exchange(other.locked_, false)) {}

LockedBuffer& LockedBuffer::operator=(LockedBuffer&& other) noexcept {
  if (this != &other) {
    Wipe();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    mapped_bytes_ = std::exchange(other.mapped_bytes_, 0);
    locked_ = std::exchange(other.locked_, false);
  }
  return *this;
}

void LockedBuffer::Wipe() {
  if (data_ != nullptr) {
    // Zero while still locked, then unlock and unmap.
    explicit_bzero(data_, mapped_bytes_);
    if (locked_) {
      ::munlock(data_, mapped_bytes_);
    }
    ::munmap(data_, mapped_bytes_);
  }
  data_ = nullptr;
  size_ = 0;
  mapped_bytes_ = 0;
  locked_ = false;
}

}  // namespace eml::enclave
