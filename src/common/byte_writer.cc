#include "common/byte_writer.h"

#include <utility>

namespace eml {

ByteWriter ByteWriter::Fixed(size_t capacity) {
  ByteWriter writer;
  writer.capacity_ = capacity;
  writer.out_.reserve(capacity);
  return writer;
}

bool ByteWriter::Reserve(size_t n) {
  if (!ok_) {
    return false;
  }
  if (capacity_.has_value() && (n > *capacity_ || out_.size() > *capacity_ - n)) {
    ok_ = false;
    return false;
  }
  return true;
}

template <typename T, bool kBigEndian>
void ByteWriter::PutInt(T v) {
  if (!Reserve(sizeof(T))) {
    return;
  }
  for (size_t i = 0; i < sizeof(T); ++i) {
    const size_t shift = kBigEndian ? (sizeof(T) - 1 - i) * 8 : i * 8;
    out_.push_back(static_cast<uint8_t>(v >> shift));
  }
}

void ByteWriter::PutU8(uint8_t v) { PutInt<uint8_t, true>(v); }
void ByteWriter::PutU16Be(uint16_t v) { PutInt<uint16_t, true>(v); }
void ByteWriter::PutU32Be(uint32_t v) { PutInt<uint32_t, true>(v); }
void ByteWriter::PutU64Be(uint64_t v) { PutInt<uint64_t, true>(v); }
void ByteWriter::PutU16Le(uint16_t v) { PutInt<uint16_t, false>(v); }
void ByteWriter::PutU32Le(uint32_t v) { PutInt<uint32_t, false>(v); }
void ByteWriter::PutU64Le(uint64_t v) { PutInt<uint64_t, false>(v); }

void ByteWriter::PutBytes(std::span<const uint8_t> bytes) {
  if (!Reserve(bytes.size())) {
    return;
  }
  out_.insert(out_.end(), bytes.begin(), bytes.end());
}

std::optional<std::vector<uint8_t>> ByteWriter::Finish() && {
  if (!ok_) {
    return std::nullopt;
  }
  return std::move(out_);
}

}  // namespace eml
