#pragma once
// ReportBuilder: how every platform verifier in eml_attest appends its steps to a
// VerificationReport and remembers whether any failed. Private to eml_attest.

#include <string>
#include <utility>

#include "attest/verifier.h"
#include "common/error.h"
#include "common/result.h"

namespace eml::attest::internal {

class ReportBuilder {
 public:
  explicit ReportBuilder(VerificationReport& report) : report_(report) {}

  void Pass(const char* name, std::string detail = "") {
    report_.steps.push_back({name, StepStatus::kPassed, ErrorCode::kOk, std::move(detail)});
  }
  void Skip(const char* name, std::string detail) {
    report_.steps.push_back({name, StepStatus::kNotApplicable, ErrorCode::kOk, std::move(detail)});
  }
  void NotRun(const char* name) {
    report_.steps.push_back({name, StepStatus::kNotRun, ErrorCode::kOk, "earlier step failed"});
  }
  void Fail(const char* name, const Error& error) {
    report_.steps.push_back({name, StepStatus::kFailed, error.code, error.detail});
    failed_ = true;
  }
  // Record passes or fails `name` by `status`; returns whether it passed.
  bool Record(const char* name, const Status& status, std::string pass_detail = "") {
    if (status.has_value()) {
      Pass(name, std::move(pass_detail));
      return true;
    }
    Fail(name, status.error());
    return false;
  }
  bool failed() const { return failed_; }

 private:
  VerificationReport& report_;
  bool failed_ = false;
};

}  // namespace eml::attest::internal
