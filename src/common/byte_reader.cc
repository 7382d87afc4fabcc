#include "common/byte_reader.h"

#include <cstring>

namespace eml {

template <typename T, bool kBigEndian>
bool ByteReader::ReadInt(T* out) {
  if (data_.size() < sizeof(T)) {
    return false;
  }
  T value = 0;
  for (size_t i = 0; i < sizeof(T); ++i) {
    const size_t shift = kBigEndian ? (sizeof(T) - 1 - i) * 8 : i * 8;
    value = static_cast<T>(value | static_cast<T>(static_cast<T>(data_[i]) << shift));
  }
  *out = value;
  data_ = data_.subspan(sizeof(T));
  return true;
}

bool ByteReader::ReadU8(uint8_t* out) { return ReadInt<uint8_t, true>(out); }
bool ByteReader::ReadU16Be(uint16_t* out) { return ReadInt<uint16_t, true>(out); }
bool ByteReader::ReadU32Be(uint32_t* out) { return ReadInt<uint32_t, true>(out); }
bool ByteReader::ReadU64Be(uint64_t* out) { return ReadInt<uint64_t, true>(out); }
bool ByteReader::ReadU16Le(uint16_t* out) { return ReadInt<uint16_t, false>(out); }
bool ByteReader::ReadU32Le(uint32_t* out) { return ReadInt<uint32_t, false>(out); }
bool ByteReader::ReadU64Le(uint64_t* out) { return ReadInt<uint64_t, false>(out); }

bool ByteReader::PeekU8(uint8_t* out) const {
  if (data_.empty()) {
    return false;
  }
  *out = data_[0];
  return true;
}

bool ByteReader::ReadBytes(size_t n, std::span<const uint8_t>* out) {
  if (data_.size() < n) {
    return false;
  }
  *out = data_.first(n);
  data_ = data_.subspan(n);
  return true;
}

bool ByteReader::CopyBytes(std::span<uint8_t> out) {
  if (data_.size() < out.size()) {
    return false;
  }
  if (!out.empty()) {
    std::memcpy(out.data(), data_.data(), out.size());
  }
  data_ = data_.subspan(out.size());
  return true;
}

bool ByteReader::ReadSub(size_t n, ByteReader* out) {
  std::span<const uint8_t> bytes;
  if (!ReadBytes(n, &bytes)) {
    return false;
  }
  *out = ByteReader(bytes);
  return true;
}

bool ByteReader::Skip(size_t n) {
  std::span<const uint8_t> ignored;
  return ReadBytes(n, &ignored);
}

}  // namespace eml
