#include "common/secret_bytes.h"

#include <gtest/gtest.h>

#include <sstream>
#include <type_traits>
#include <vector>

namespace eml {
namespace {

static_assert(!std::is_copy_constructible_v<SecretBytes>);
static_assert(!std::is_convertible_v<SecretBytes, std::span<const uint8_t>>);

TEST(SecretBytesTest, MoveLeavesSourceEmpty) {
  const std::vector<uint8_t> key = {1, 2, 3};
  SecretBytes a = SecretBytes::CopyFrom(key);
  SecretBytes b = std::move(a);
  EXPECT_EQ(a.size(), 0u);  // NOLINT(bugprone-use-after-move): checking the moved-from state
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b.Reveal(InsecureSecretAccess::Get())[2], 3);
  SecretBytes c = b.Clone();
  EXPECT_TRUE(ConstantTimeEquals(b.Reveal(InsecureSecretAccess::Get()),
                                 c.Reveal(InsecureSecretAccess::Get())));
  c.Wipe();
  EXPECT_TRUE(c.empty());
}

TEST(SecretBytesTest, PrintsWithoutContents) {
  SecretBytes s = SecretBytes::CopyFrom(std::vector<uint8_t>{0x41, 0x42});
  std::ostringstream os;
  os << s;
  EXPECT_EQ(os.str(), "<secret 2 bytes>");
}

TEST(ConstantTimeEqualsTest, ComparesLengthAndContents) {
  const std::vector<uint8_t> a = {1, 2, 3}, b = {1, 2, 3}, c = {1, 2, 4}, d = {1, 2};
  EXPECT_TRUE(ConstantTimeEquals(a, b));
  EXPECT_FALSE(ConstantTimeEquals(a, c));
  EXPECT_FALSE(ConstantTimeEquals(a, d));
  EXPECT_TRUE(ConstantTimeEquals({}, {}));
}

}  // namespace
}  // namespace eml
