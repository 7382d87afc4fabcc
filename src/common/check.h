#pragma once
// EML_CHECK: an always-on assertion for our own invariants (never for properties of input bytes,
// files, configuration or peers, which return errors instead). A failed check prints the
// condition and location and aborts.

namespace eml::internal {
[[noreturn]] void CheckFailed(const char* condition, const char* file, int line);
}  // namespace eml::internal

#define EML_CHECK(condition)                                        \
  do {                                                              \
    if (!(condition)) [[unlikely]] {                                \
      ::eml::internal::CheckFailed(#condition, __FILE__, __LINE__); \
    }                                                               \
  } while (false)

#if defined(__clang__) || defined(__GNUC__)
#define EML_LIFETIME_BOUND [[clang::lifetimebound]]
#endif
#if !defined(__clang__)
#undef EML_LIFETIME_BOUND
#define EML_LIFETIME_BOUND
#endif
