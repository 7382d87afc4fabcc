#pragma once
// AlignedBuffer: a growable, 64-byte-aligned byte buffer for the engine's workspaces. EnsureBytes
// reallocates only when asked for more than it holds (old contents are not kept) and aborts
// if memory is exhausted. Not thread-safe; owned by one workspace.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>

#include "common/check.h"

namespace eml::engine::internal {

class AlignedBuffer {
 public:
  static constexpr size_t kAlignment = 64;

  // EnsureBytes makes the buffer at least `size_bytes` long.
  void EnsureBytes(size_t size_bytes) {
    if (size_bytes <= capacity_bytes_) {
      return;
    }
    const size_t rounded = (size_bytes + kAlignment - 1) / kAlignment * kAlignment;
    data_.reset(static_cast<std::byte*>(std::aligned_alloc(kAlignment, rounded)));
    EML_CHECK(data_ != nullptr);  // Out of memory: sizes are bounded by EmbedderOptions.
    capacity_bytes_ = rounded;
  }
  size_t capacity_bytes() const { return capacity_bytes_; }
  void* data() const { return data_.get(); }
  float* floats() const { return static_cast<float*>(static_cast<void*>(data_.get())); }

 private:
  struct Free {
    void operator()(std::byte* p) const { std::free(p); }
  };
  std::unique_ptr<std::byte, Free> data_;
  size_t capacity_bytes_ = 0;
};

}  // namespace eml::engine::internal
