#include "crypto/random.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <vector>

#include "crypto/testing/failing_rand.h"
#include "testing/test_util.h"

namespace eml::crypto {
namespace {

using ::eml::testing::HasError;
using ::eml::testing::IsOk;
using ::testing::Each;
using ::testing::Eq;

TEST(RandomTest, FillsAndDiffers) {
  std::vector<uint8_t> a(64, 0);
  std::vector<uint8_t> b(64, 0);
  ASSERT_THAT(RandomBytes(a), IsOk());
  ASSERT_THAT(RandomBytes(b), IsOk());
  // 2^-512 chance of a false failure.
  EXPECT_NE(a, b);
  EXPECT_THAT(RandomBytes({}), IsOk());
  Result<SecretBytes> secret = RandomSecret(32);
  ASSERT_THAT(secret, IsOk());
  EXPECT_EQ(secret->size(), 32u);
}

TEST(RandomTest, FailureIsReportedAndOutputZeroed) {
  testing::ScopedFailingRandForTest failing;
  std::vector<uint8_t> out(32, 0xaa);
  EXPECT_THAT(RandomBytes(out), HasError(ErrorCode::kCryptoRandomFailed));
  EXPECT_THAT(out, Each(Eq(0)));
  EXPECT_THAT(RandomSecret(16), HasError(ErrorCode::kCryptoRandomFailed));
}

}  // namespace
}  // namespace eml::crypto
