#pragma once
// Test support (linked only by tests and tools that craft inputs): builds safetensors files, valid
// ones from tensors and deliberately broken ones from raw header text, so every loader error can
// be produced by a test.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace eml::model::testing {

class SafetensorsBuilder {
 public:
  // AddF32 appends an F32 tensor; values.size() need not match the shape (to craft mismatches).
  SafetensorsBuilder& AddF32(std::string name, std::vector<int64_t> shape,
                             const std::vector<float>& values);
  // AddRaw appends a tensor with any dtype string and raw little-endian bytes.
  SafetensorsBuilder& AddRaw(std::string name, std::string dtype, std::vector<int64_t> shape,
                             std::vector<uint8_t> bytes);
  // AddMetadata adds a "__metadata__" string entry.
  SafetensorsBuilder& AddMetadata(std::string key, std::string value);

  // Build lays the tensors out back to back in the order added, with offsets computed from the
  // byte sizes, and pads the header with spaces to a multiple of 8 as the reference writer does.
  std::vector<uint8_t> Build() const;
  // HeaderJson returns the header Build would write (without padding).
  std::string HeaderJson() const;
  // Data returns the concatenated tensor bytes.
  std::vector<uint8_t> Data() const;

 private:
  struct Entry {
    std::string name;
    std::string dtype;
    std::vector<int64_t> shape;
    std::vector<uint8_t> bytes;
  };
  std::vector<Entry> entries_;
  std::vector<std::pair<std::string, std::string>> metadata_;
};

// RawSafetensors returns u64le(header.size()) || header || data.
std::vector<uint8_t> RawSafetensors(std::string_view header, const std::vector<uint8_t>& data);
// RawSafetensorsWithLength lets the length prefix lie.
std::vector<uint8_t> RawSafetensorsWithLength(uint64_t declared_length, std::string_view header,
                                              const std::vector<uint8_t>& data);

// F32Bytes encodes floats little-endian.
std::vector<uint8_t> F32Bytes(const std::vector<float>& values);

}  // namespace eml::model::testing
