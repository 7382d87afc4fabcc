#include "common/byte_reader.h"

#include <gtest/gtest.h>

#include <array>
#include <vector>

namespace eml {
namespace {

TEST(ByteReaderTest, ReadsIntegersInBothByteOrders) {
  const std::vector<uint8_t> data = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09,
                                     0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12};
  ByteReader r(data);
  uint8_t u8;
  uint16_t u16;
  uint32_t u32;
  uint64_t u64;
  ASSERT_TRUE(r.ReadU8(&u8));
  EXPECT_EQ(u8, 0x01);
  ASSERT_TRUE(r.ReadU16Be(&u16));
  EXPECT_EQ(u16, 0x0203);
  ASSERT_TRUE(r.ReadU16Le(&u16));
  EXPECT_EQ(u16, 0x0504);
  ASSERT_TRUE(r.ReadU32Be(&u32));
  EXPECT_EQ(u32, 0x06070809u);
  ASSERT_TRUE(r.ReadU64Le(&u64));
  EXPECT_EQ(u64, 0x11100f0e0d0c0b0aull);
  EXPECT_EQ(r.size(), 1u);
}

TEST(ByteReaderTest, FailureLeavesReaderUnchanged) {
  const std::vector<uint8_t> data = {0xaa, 0xbb, 0xcc};
  ByteReader r(data);
  uint32_t u32 = 7;
  EXPECT_FALSE(r.ReadU32Be(&u32));
  EXPECT_EQ(u32, 7u);
  EXPECT_EQ(r.size(), 3u);
  std::span<const uint8_t> view;
  EXPECT_FALSE(r.ReadBytes(4, &view));
  ASSERT_TRUE(r.ReadBytes(2, &view));
  EXPECT_EQ(view[1], 0xbb);
  ByteReader child;
  EXPECT_FALSE(r.ReadSub(2, &child));
  ASSERT_TRUE(r.ReadSub(1, &child));
  EXPECT_TRUE(r.empty());
  uint8_t b;
  EXPECT_FALSE(r.PeekU8(&b));
  ASSERT_TRUE(child.PeekU8(&b));
  EXPECT_EQ(b, 0xcc);
  std::array<uint8_t, 1> copy{};
  ASSERT_TRUE(child.CopyBytes(copy));
  EXPECT_EQ(copy[0], 0xcc);
  EXPECT_FALSE(child.Skip(1));
}

}  // namespace
}  // namespace eml
