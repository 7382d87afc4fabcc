#pragma once
// eml::ByteReader: a non-owning cursor over untrusted bytes. Every getter is [[nodiscard]],
// returns false when the input is too short, and leaves the reader unchanged on failure, so a
// parser is one chain of checked reads. Parsers end with `empty()` on every reader they made.
// Views returned by ReadBytes/ReadSub alias the underlying buffer and live as long as it does.

#include <cstddef>
#include <cstdint>
#include <span>

namespace eml {

class ByteReader {
 public:
  ByteReader() = default;
  explicit ByteReader(std::span<const uint8_t> data) : data_(data) {}

  size_t size() const { return data_.size(); }
  bool empty() const { return data_.empty(); }
  std::span<const uint8_t> remaining() const { return data_; }

  [[nodiscard]] bool ReadU8(uint8_t* out);
  [[nodiscard]] bool ReadU16Be(uint16_t* out);
  [[nodiscard]] bool ReadU32Be(uint32_t* out);
  [[nodiscard]] bool ReadU64Be(uint64_t* out);
  [[nodiscard]] bool ReadU16Le(uint16_t* out);
  [[nodiscard]] bool ReadU32Le(uint32_t* out);
  [[nodiscard]] bool ReadU64Le(uint64_t* out);
  // PeekU8 reads the next byte without consuming it.
  [[nodiscard]] bool PeekU8(uint8_t* out) const;
  // ReadBytes consumes `n` bytes and points `out` at them.
  [[nodiscard]] bool ReadBytes(size_t n, std::span<const uint8_t>* out);
  // CopyBytes consumes out.size() bytes into `out`.
  [[nodiscard]] bool CopyBytes(std::span<uint8_t> out);
  // ReadSub consumes `n` bytes as a child reader.
  [[nodiscard]] bool ReadSub(size_t n, ByteReader* out);
  [[nodiscard]] bool Skip(size_t n);

 private:
  template <typename T, bool kBigEndian>
  bool ReadInt(T* out);

  std::span<const uint8_t> data_;
};

}  // namespace eml
