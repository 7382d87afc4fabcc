#include "common/result.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "testing/test_util.h"

namespace eml {
namespace {

using ::eml::testing::HasError;

Result<int> Half(int x) {
  if (x % 2 != 0) {
    return Error{ErrorCode::kInvalidArgument, "odd"};
  }
  return x / 2;
}

Result<int> Quarter(int x) {
  EML_ASSIGN_OR_RETURN(int half, Half(x));
  EML_ASSIGN_OR_RETURN(int quarter, Half(half));
  return quarter;
}

Status CheckEven(int x) {
  EML_RETURN_IF_ERROR(Half(x));
  return OkStatus();
}

TEST(ResultTest, PropagatesErrors) {
  EXPECT_EQ(*Quarter(8), 2);
  EXPECT_THAT(Quarter(6), HasError(ErrorCode::kInvalidArgument));
  EXPECT_TRUE(CheckEven(2).has_value());
  EXPECT_THAT(CheckEven(3), HasError(ErrorCode::kInvalidArgument));
  EXPECT_EQ(CheckEven(3).code(), ErrorCode::kInvalidArgument);
}

TEST(ResultTest, HoldsMoveOnlyValues) {
  Result<std::unique_ptr<int>> r = std::make_unique<int>(5);
  ASSERT_TRUE(r.has_value());
  std::unique_ptr<int> p = std::move(r).value();
  EXPECT_EQ(*p, 5);
}

TEST(ResultDeathTest, ReadingValueOfErrorAborts) {
  Result<int> r = Error{ErrorCode::kNotFound, ""};
  EXPECT_DEATH((void)r.value(), "EML_CHECK failed");
}

TEST(ErrorTest, NamesAreStable) {
  EXPECT_EQ(ErrorCodeName(ErrorCode::kCborTrailingBytes), "CBOR_TRAILING_BYTES");
  EXPECT_EQ(ErrorCodeName(ErrorCode::kX509NotYetValid), "X509_NOT_YET_VALID");
  EXPECT_EQ(ToString(Error{ErrorCode::kIoError, "disk"}), "IO_ERROR: disk");
}

}  // namespace
}  // namespace eml
