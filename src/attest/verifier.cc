#include "attest/verifier.h"

#include <nlohmann/json.hpp>

#include "common/encoding.h"

namespace eml::attest {

const char* StepStatusName(StepStatus status) {
  switch (status) {
    case StepStatus::kPassed:
      return "passed";
    case StepStatus::kFailed:
      return "failed";
    case StepStatus::kNotApplicable:
      return "not_applicable";
    case StepStatus::kNotRun:
      return "not_run";
  }
  return "unknown";
}

ErrorCode VerificationReport::FirstFailure() const {
  for (const StepResult& step : steps) {
    if (step.status == StepStatus::kFailed) {
      return step.code;
    }
  }
  return ErrorCode::kOk;
}

std::string VerificationReport::ToJson() const {
  nlohmann::ordered_json out;
  out["platform"] = platform;
  out["verified"] = verified;
  out["verification_time_unix"] = verification_time_unix;
  out["first_failure"] = std::string(ErrorCodeName(FirstFailure()));
  nlohmann::ordered_json steps_json = nlohmann::ordered_json::array();
  for (const StepResult& step : steps) {
    nlohmann::ordered_json s;
    s["name"] = step.name;
    s["status"] = StepStatusName(step.status);
    s["code"] = std::string(ErrorCodeName(step.code));
    s["detail"] = step.detail;
    steps_json.push_back(std::move(s));
  }
  out["steps"] = std::move(steps_json);
  nlohmann::ordered_json m = nlohmann::ordered_json::object();
  for (const auto& [index, value] : measurements) {
    m[std::to_string(index)] = HexEncode(value);
  }
  out["measurements"] = std::move(m);
  nlohmann::ordered_json named = nlohmann::ordered_json::object();
  for (const auto& [name, value] : named_measurements) {
    named[name] = HexEncode(value);
  }
  out["named_measurements"] = std::move(named);
  nlohmann::ordered_json attrs = nlohmann::ordered_json::object();
  for (const auto& [name, value] : attributes) {
    attrs[name] = value;
  }
  out["attributes"] = std::move(attrs);
  out["tcb_status"] =
      tcb_status.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(tcb_status);
  out["debug"] = debug;
  out["module_id"] = module_id;
  out["timestamp_ms"] = timestamp_ms.has_value() ? nlohmann::ordered_json(*timestamp_ms)
                                                 : nlohmann::ordered_json(nullptr);
  auto optional_hex = [](const std::optional<std::vector<uint8_t>>& v) {
    return v.has_value() ? nlohmann::ordered_json(HexEncode(*v)) : nlohmann::ordered_json(nullptr);
  };
  out["public_key"] = optional_hex(public_key);
  out["user_data"] = optional_hex(user_data);
  out["nonce"] = optional_hex(nonce);
  out["report_data"] = optional_hex(report_data);
  out["document_sha256"] = HexEncode(document_sha256);
  // Strings from evidence may hold invalid UTF-8 only if the parser let them through; replace
  // rather than throw (STYLE E5).
  return out.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

VerifiedEvidence Verifier::MakeVerifiedEvidence(const VerificationReport& report) {
  EML_CHECK(report.verified);
  EML_CHECK(report.FirstFailure() == ErrorCode::kOk);
  VerifiedEvidence evidence;
  evidence.platform_ = report.platform;
  evidence.measurements_ = report.measurements;
  evidence.named_measurements_ = report.named_measurements;
  evidence.attributes_ = report.attributes;
  evidence.tcb_status_ = report.tcb_status;
  evidence.debug_ = report.debug;
  evidence.report_data_ = report.report_data;
  evidence.public_key_ = report.public_key;
  evidence.user_data_ = report.user_data;
  evidence.nonce_ = report.nonce;
  evidence.timestamp_ms_ = report.timestamp_ms;
  evidence.document_sha256_ = report.document_sha256;
  return evidence;
}

}  // namespace eml::attest
