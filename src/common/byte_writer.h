#pragma once
// eml::ByteWriter: builds output bytes with a sticky error. In growable mode it appends to an
// internal vector; in fixed mode (ByteWriter::Fixed) it refuses to grow past `capacity` and
// every later write fails once one has. Check ok() (or Finish()) once at the end.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace eml {

class ByteWriter {
 public:
  ByteWriter() = default;
  static ByteWriter Fixed(size_t capacity);

  void PutU8(uint8_t v);
  void PutU16Be(uint16_t v);
  void PutU32Be(uint32_t v);
  void PutU64Be(uint64_t v);
  void PutU16Le(uint16_t v);
  void PutU32Le(uint32_t v);
  void PutU64Le(uint64_t v);
  void PutBytes(std::span<const uint8_t> bytes);

  bool ok() const { return ok_; }
  size_t size() const { return out_.size(); }
  std::span<const uint8_t> bytes() const { return out_; }
  // Finish returns the bytes, or nullopt if any write failed.
  std::optional<std::vector<uint8_t>> Finish() &&;

 private:
  bool Reserve(size_t n);
  template <typename T, bool kBigEndian>
  void PutInt(T v);

  std::vector<uint8_t> out_;
  std::optional<size_t> capacity_;
  bool ok_ = true;
};

}  // namespace eml
