#include "attest/verifier.h"

#include <gtest/gtest.h>

namespace eml::attest {
namespace {

TEST(VerificationReportTest, FirstFailureIsTheFirstFailedStep) {
  VerificationReport report;
  EXPECT_EQ(report.FirstFailure(), ErrorCode::kOk);
  report.steps.push_back({"a", StepStatus::kPassed, ErrorCode::kOk, ""});
  report.steps.push_back({"b", StepStatus::kNotApplicable, ErrorCode::kOk, ""});
  report.steps.push_back({"c", StepStatus::kFailed, ErrorCode::kAttestStale, ""});
  report.steps.push_back({"d", StepStatus::kFailed, ErrorCode::kAttestDebugMode, ""});
  EXPECT_EQ(report.FirstFailure(), ErrorCode::kAttestStale);
}

TEST(VerificationReportTest, StepStatusNames) {
  EXPECT_STREQ(StepStatusName(StepStatus::kPassed), "passed");
  EXPECT_STREQ(StepStatusName(StepStatus::kFailed), "failed");
  EXPECT_STREQ(StepStatusName(StepStatus::kNotApplicable), "not_applicable");
  EXPECT_STREQ(StepStatusName(StepStatus::kNotRun), "not_run");
}

}  // namespace
}  // namespace eml::attest
