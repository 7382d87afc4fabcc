#pragma once
// Overflow-checked size arithmetic for parsers (sizes from untrusted headers).

#include <cstddef>

namespace eml {

// CheckedAdd sets *out = a + b and returns true, or returns false on overflow.
[[nodiscard]] inline bool CheckedAdd(size_t a, size_t b, size_t* out) {
  return !__builtin_add_overflow(a, b, out);
}

// CheckedMul sets *out = a * b and returns true, or returns false on overflow.
[[nodiscard]] inline bool CheckedMul(size_t a, size_t b, size_t* out) {
  return !__builtin_mul_overflow(a, b, out);
}

}  // namespace eml
