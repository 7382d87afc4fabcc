#include "client/receipt_check.h"

#include <nlohmann/json.hpp>

#include <array>
#include <utility>

#include "air/check.h"
#include "common/encoding.h"
#include "common/secret_bytes.h"

namespace eml::client {
namespace {

constexpr char kPass[] = "PASS";
constexpr char kFail[] = "FAIL";
constexpr char kSkip[] = "SKIP";

// ClientCodeFor maps a failed AIR check to the client's error code.
ErrorCode ClientCodeFor(air::Check check) {
  switch (check) {
    case air::Check::kSig:
      return ErrorCode::kClientReceiptSignature;
    case air::Check::kRhash:
      return ErrorCode::kClientReceiptRequestHash;
    case air::Check::kOhash:
      return ErrorCode::kClientReceiptResponseHash;
    case air::Check::kMhash:
    case air::Check::kModel:
      return ErrorCode::kClientReceiptModelHash;
    case air::Check::kAdhash:
      return ErrorCode::kClientReceiptAttestationHash;
    case air::Check::kNonce:
      return ErrorCode::kClientReceiptNonce;
    case air::Check::kSecurityModePolicy:
      return ErrorCode::kClientReceiptSecurityMode;
    case air::Check::kPlatform:
      return ErrorCode::kClientReceiptMeasurements;
    case air::Check::kSize:
    case air::Check::kCoseDecode:
    case air::Check::kUnprotected:
    case air::Check::kAlg:
    case air::Check::kContentType:
    case air::Check::kProtected:
    case air::Check::kPayload:
    case air::Check::kClaimsDecode:
    case air::Check::kEatProfile:
    case air::Check::kCanonical:
    case air::Check::kCti:
    case air::Check::kMhashPresent:
    case air::Check::kMeas:
    case air::Check::kMtype:
    case air::Check::kMhashScheme:
    case air::Check::kSecurityMode:
    case air::Check::kFresh:
    case air::Check::kReplay:
      return ErrorCode::kClientReceiptInvalid;
  }
  return ErrorCode::kClientReceiptInvalid;
}

// Rank orders failures: the signature is the root cause when it fails, then structural
// problems, then the policy checks.
int Rank(air::Check check) {
  if (check == air::Check::kSig) {
    return 0;
  }
  const air::Layer layer = air::CheckLayer(check);
  if (layer == air::Layer::kParse || layer == air::Layer::kClaims) {
    return 1;
  }
  return 2;
}

bool EqualBytes(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  return ConstantTimeEquals(a, b);
}

// MeasurementSlots lists (name, receipt value, attested value) for the platform.
struct Slot {
  const char* name;
  const std::vector<uint8_t>* receipt;  // nullptr when the optional claim is absent
  const std::vector<uint8_t>* attested;
  bool required;
};

std::string CheckMeasurements(const air::Measurements& got, const ReceiptExpectations& e) {
  const auto find_index = [&e](uint32_t i) -> const std::vector<uint8_t>* {
    auto it = e.measurements.find(i);
    return it == e.measurements.end() ? nullptr : &it->second;
  };
  const auto find_name = [&e](const char* n) -> const std::vector<uint8_t>* {
    auto it = e.named_measurements.find(n);
    return it == e.named_measurements.end() ? nullptr : &it->second;
  };
  const auto opt = [](const std::optional<std::vector<uint8_t>>& v) {
    return v.has_value() ? &*v : nullptr;
  };
  std::vector<Slot> slots;
  if (e.platform == "sim" || e.platform == "aws-nitro") {
    if (got.measurement_type != air::kMeasurementTypeNitro) {
      return "measurement_type " + got.measurement_type + " on platform " + e.platform;
    }
    slots = {{"pcr0", &got.pcr0, find_index(0), true},
             {"pcr1", &got.pcr1, find_index(1), true},
             {"pcr2", &got.pcr2, find_index(2), true},
             {"pcr3", opt(got.pcr3), find_index(3), false},
             {"pcr4", opt(got.pcr4), find_index(4), false},
             {"pcr8", opt(got.pcr8), find_index(8), false}};
  } else if (e.platform == "tdx") {
    if (got.measurement_type != air::kMeasurementTypeTdx) {
      return "measurement_type " + got.measurement_type + " on platform tdx";
    }
    slots = {{"mrtd", &got.pcr0, find_name("mrtd"), true},
             {"rtmr0", &got.pcr1, find_name("rtmr0"), true},
             {"rtmr1", &got.pcr2, find_name("rtmr1"), true},
             {"rtmr2", opt(got.pcr3), find_name("rtmr2"), false},
             {"rtmr3", opt(got.pcr4), find_name("rtmr3"), false}};
  } else {
    return "AIR v1 has no measurement type for platform " + e.platform;
  }
  for (const Slot& s : slots) {
    if (s.receipt == nullptr) {
      continue;  // optional claim absent
    }
    if (s.attested == nullptr) {
      return std::string(s.name) + " is not in the attested evidence";
    }
    if (!EqualBytes(*s.receipt, *s.attested)) {
      return std::string(s.name) + " differs from the attested value";
    }
  }
  return "";
}

}  // namespace

Result<ReceiptReport> CheckReceipt(std::span<const uint8_t> receipt,
                                   const crypto::Ed25519PublicKey& key,
                                   const ReceiptExpectations& expected) {
  if (expected.nonce.has_value() && (expected.nonce->size() < air::kMinNonceBytes ||
                                     expected.nonce->size() > air::kMaxNonceBytes)) {
    return Error{ErrorCode::kInvalidArgument, "nonce must be 8..64 bytes"};
  }
  if (expected.model.id.empty()) {
    return Error{ErrorCode::kInvalidArgument, "expected model id is empty"};
  }
  air::VerifyPolicy policy;
  policy.now_unix = expected.now_unix;
  policy.max_age_s = expected.max_age_s;
  policy.clock_skew_s = expected.clock_skew_s;
  policy.expected_model_hash = expected.model.model_hash;
  policy.expected_model_id = expected.model.id;
  policy.expected_request_hash = expected.request_hash;
  policy.expected_response_hash = expected.response_hash;
  policy.expected_attestation_doc_hash = expected.attestation_doc_hash;
  policy.expected_security_mode = expected.evaluation_platform ? air::SecurityMode::kEvaluation
                                                               : air::SecurityMode::kProduction;
  policy.allow_evaluation = expected.evaluation_platform;
  if (expected.platform == "sim" || expected.platform == "aws-nitro") {
    policy.expected_platform = air::Platform::kNitroPcr;
  } else if (expected.platform == "tdx") {
    policy.expected_platform = air::Platform::kTdxMrtdRtmr;
  }
  if (expected.nonce.has_value()) {
    policy.expected_nonce = expected.nonce;
    policy.require_nonce = true;
  }
  policy.is_cti_seen = expected.is_cti_seen;
  EML_ASSIGN_OR_RETURN(air::VerificationReport air_report,
                       air::VerifyReceipt(receipt, key, policy));

  ReceiptReport report;
  int best_rank = 3;
  for (const air::CheckResult& c : air_report.checks()) {
    ReceiptCheckResult r;
    r.name = std::string(air::CheckName(c.check));
    r.status = std::string(air::CheckStatusName(c.status));
    if (c.code.has_value()) {
      r.code = std::string(air::CheckCodeName(*c.code));
    }
    r.detail = c.detail;
    report.checks.push_back(std::move(r));
    if (c.status == air::CheckStatus::kFail && Rank(c.check) < best_rank) {
      best_rank = Rank(c.check);
      report.error = ClientCodeFor(c.check);
    }
  }
  const air::VerifiedReceipt* verified = air_report.verified_receipt();
  if (verified == nullptr && report.error == ErrorCode::kOk) {
    report.error = ErrorCode::kClientReceiptInvalid;  // a critical check was skipped
  }

  const auto add = [&report](const char* name, const std::string& failure, ErrorCode code) {
    ReceiptCheckResult r;
    r.name = name;
    if (failure.empty()) {
      r.status = kPass;
    } else {
      r.status = kFail;
      r.code = std::string(ErrorCodeName(code));
      r.detail = failure;
      if (report.error == ErrorCode::kOk) {
        report.error = code;
      }
    }
    report.checks.push_back(std::move(r));
  };
  if (verified == nullptr) {
    for (const char* name : {"SEQUENCE", "NONCE_ABSENT", "MEASUREMENTS"}) {
      report.checks.push_back({name, kSkip, "", "the receipt did not pass the AIR checks"});
    }
    return report;
  }
  const air::Claims& claims = verified->claims();
  std::string sequence_failure;
  if (expected.last_sequence.has_value() && claims.sequence_number <= *expected.last_sequence) {
    sequence_failure = "sequence_number " + std::to_string(claims.sequence_number) +
                       " is not above " + std::to_string(*expected.last_sequence);
  }
  add("SEQUENCE", sequence_failure, ErrorCode::kClientReceiptSequence);
  add("NONCE_ABSENT",
      !expected.nonce.has_value() && claims.eat_nonce.has_value()
          ? "eat_nonce present although the request carried no nonce"
          : "",
      ErrorCode::kClientReceiptNonce);
  add("MEASUREMENTS", CheckMeasurements(claims.enclave_measurements, expected),
      ErrorCode::kClientReceiptMeasurements);
  report.verified = report.error == ErrorCode::kOk;
  if (report.verified) {
    report.claims = claims;
  }
  return report;
}

std::string ReceiptReport::ToJson() const {
  nlohmann::json j;
  j["verified"] = verified;
  j["error"] = verified ? nlohmann::json(nullptr) : nlohmann::json(ErrorCodeName(error));
  j["sequence_number"] =
      claims.has_value() ? nlohmann::json(claims->sequence_number) : nlohmann::json(nullptr);
  nlohmann::json list = nlohmann::json::array();
  for (const ReceiptCheckResult& c : checks) {
    list.push_back(
        {{"name", c.name}, {"status", c.status}, {"code", c.code}, {"detail", c.detail}});
  }
  j["checks"] = std::move(list);
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string ReceiptReport::Summary() const {
  std::string out;
  for (const ReceiptCheckResult& c : checks) {
    if (c.status != kFail) {
      continue;
    }
    if (!out.empty()) {
      out += ", ";
    }
    out += c.name + "=" + c.code;
  }
  return out;
}

}  // namespace eml::client
