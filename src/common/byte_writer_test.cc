#include "common/byte_writer.h"

#include <gtest/gtest.h>

#include <vector>

namespace eml {
namespace {

TEST(ByteWriterTest, WritesBothByteOrders) {
  ByteWriter w;
  w.PutU16Be(0x0102);
  w.PutU32Le(0x06050403);
  w.PutU64Be(0x0708090a0b0c0d0eull);
  const std::vector<uint8_t> tail = {0xff};
  w.PutBytes(tail);
  auto out = std::move(w).Finish();
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(*out, (std::vector<uint8_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 0xff}));
}

TEST(ByteWriterTest, FixedCapacityErrorIsSticky) {
  ByteWriter w = ByteWriter::Fixed(3);
  w.PutU16Be(1);
  w.PutU16Be(2);  // does not fit
  EXPECT_FALSE(w.ok());
  w.PutU8(3);  // would fit, but the error is sticky
  EXPECT_FALSE(w.ok());
  EXPECT_FALSE(std::move(w).Finish().has_value());
}

}  // namespace
}  // namespace eml
