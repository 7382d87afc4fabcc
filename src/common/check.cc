#include "common/check.h"

#include <cstdio>
#include <cstdlib>

namespace eml::internal {

void CheckFailed(const char* condition, const char* file, int line) {
  std::fprintf(stderr, "EML_CHECK failed: %s at %s:%d\n", condition, file, line);
  std::abort();
}

}  // namespace eml::internal
