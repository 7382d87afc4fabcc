#pragma once
// MappedFile: a read-only private memory mapping of a whole regular file (POSIX mmap). Private to
// eml_model. The caller must not let the file be truncated while it is mapped (that would raise
// SIGBUS on access); model files are installed by rename and never rewritten in place.

#include <cstdint>
#include <filesystem>
#include <span>

#include "common/result.h"

namespace eml::model::internal {

class MappedFile {
 public:
  // Open maps `path`. An empty file gives an empty span (no mapping).
  // Errors: kNotFound (no such file), kIoError (not a regular file, or open/fstat/mmap failed).
  static Result<MappedFile> Open(const std::filesystem::path& path);

  MappedFile() = default;
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  std::span<const uint8_t> bytes() const { return {data_, size_}; }

 private:
  MappedFile(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  void Reset();

  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace eml::model::internal
