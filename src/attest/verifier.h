#pragma once
// eml::attest: the platform-neutral face of attestation verification (DESIGN.md section 5.2).
//
// A platform verifier (attest/nitro/, later attest/tdx/, ...) turns evidence bytes into a
// VerificationReport: one StepResult per check, in order, with its own ErrorCode, plus what the
// evidence says (measurements, debug flag, bound data). A report is data for people and tools;
// it is NOT proof. Code that acts on attested data takes a VerifiedEvidence, which only a
// Verifier can construct and only when every step passed (STYLE B5).
//
// Every verification takes the verification time as a parameter (unix seconds). There is no
// implicit "now": archived evidence is re-checked at its own time, and tests are deterministic.
//
// Thread safety: reports and VerifiedEvidence are plain immutable values. Verifier
// implementations document their own thread safety (the Nitro verifier is immutable and safe to
// share between threads).

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "common/check.h"
#include "common/error.h"
#include "common/result.h"

namespace eml::attest {

// How a verification step ended.
enum class StepStatus {
  kPassed,         // The check ran and succeeded.
  kFailed,         // The check ran and failed; `code` says why.
  kNotApplicable,  // The policy does not ask for this check (e.g. no expected nonce).
  kNotRun,         // An earlier failure left this check without its inputs.
};

// StepStatusName returns "passed", "failed", "not_applicable" or "not_run".
const char* StepStatusName(StepStatus status);

struct StepResult {
  std::string name;  // Stable snake_case step name, e.g. "certificate_chain".
  StepStatus status = StepStatus::kNotRun;
  ErrorCode code = ErrorCode::kOk;  // kOk unless status is kFailed.
  std::string detail;               // For people; never branched on.
};

// VerificationReport: the machine-readable outcome of one verification. Fields below `steps`
// are what the evidence CLAIMS; they are only trustworthy when `verified` is true.
struct VerificationReport {
  std::string platform;  // "aws-nitro", ...
  bool verified = false;
  std::vector<StepResult> steps;
  int64_t verification_time_unix = 0;
  // Decoded measurements by index (Nitro: PCR index -> digest bytes).
  std::map<uint32_t, std::vector<uint8_t>> measurements;
  // Measurements that have names rather than indices (TDX: "mrtd", "rtmr0".."rtmr3",
  // "mrconfigid", ...; SEV-SNP: "measurement", "host_data", "chip_id", ...; GCP Confidential
  // Space: "image_digest").
  std::map<std::string, std::vector<uint8_t>> named_measurements;
  // Text facts the evidence states (GCP: "hwmodel", "swname", "dbgstat", ...; SNP: "product").
  std::map<std::string, std::string> attributes;
  // The platform's TCB verdict ("UpToDate", "OutOfDate", ...); empty where not applicable.
  std::string tcb_status;
  bool debug = false;  // The platform's debug indicator (Nitro: PCR0 all zero).
  std::string module_id;
  std::optional<uint64_t> timestamp_ms;
  std::optional<std::vector<uint8_t>> public_key;
  std::optional<std::vector<uint8_t>> user_data;
  std::optional<std::vector<uint8_t>> nonce;
  // The 64-byte report data of TDX / SEV-SNP evidence (what providers bind keys and nonces in).
  std::optional<std::vector<uint8_t>> report_data;
  std::array<uint8_t, 32> document_sha256{};  // SHA-256 of the whole evidence bytes.

  // FirstFailure returns the code of the first failed step, or kOk when none failed.
  ErrorCode FirstFailure() const;
  // ToJson renders the report as one JSON object (byte fields as lowercase hex).
  std::string ToJson() const;
};

class Verifier;

// VerifiedEvidence: attested facts that passed every step of a verifier under its policy.
// Only Verifier subclasses can create one (through Verifier::MakeVerifiedEvidence).
class VerifiedEvidence {
 public:
  const std::string& platform() const EML_LIFETIME_BOUND { return platform_; }
  const std::map<uint32_t, std::vector<uint8_t>>& measurements() const EML_LIFETIME_BOUND {
    return measurements_;
  }
  const std::map<std::string, std::vector<uint8_t>>& named_measurements() const EML_LIFETIME_BOUND {
    return named_measurements_;
  }
  const std::map<std::string, std::string>& attributes() const EML_LIFETIME_BOUND {
    return attributes_;
  }
  const std::string& tcb_status() const EML_LIFETIME_BOUND { return tcb_status_; }
  bool debug() const { return debug_; }
  const std::optional<std::vector<uint8_t>>& report_data() const EML_LIFETIME_BOUND {
    return report_data_;
  }
  const std::optional<std::vector<uint8_t>>& public_key() const EML_LIFETIME_BOUND {
    return public_key_;
  }
  const std::optional<std::vector<uint8_t>>& user_data() const EML_LIFETIME_BOUND {
    return user_data_;
  }
  const std::optional<std::vector<uint8_t>>& nonce() const EML_LIFETIME_BOUND { return nonce_; }
  // timestamp_ms: when the evidence says it was made; absent for formats without a clock (TDX
  // quotes, SEV-SNP reports), whose freshness comes from a bound nonce instead.
  const std::optional<uint64_t>& timestamp_ms() const EML_LIFETIME_BOUND { return timestamp_ms_; }
  // document_sha256: SHA-256 of the evidence bytes (what receipts bind as attestation_doc_hash).
  const std::array<uint8_t, 32>& document_sha256() const EML_LIFETIME_BOUND {
    return document_sha256_;
  }

 private:
  friend class Verifier;
  VerifiedEvidence() = default;

  std::string platform_;
  std::map<uint32_t, std::vector<uint8_t>> measurements_;
  std::map<std::string, std::vector<uint8_t>> named_measurements_;
  std::map<std::string, std::string> attributes_;
  std::string tcb_status_;
  bool debug_ = false;
  std::optional<std::vector<uint8_t>> report_data_;
  std::optional<std::vector<uint8_t>> public_key_;
  std::optional<std::vector<uint8_t>> user_data_;
  std::optional<std::vector<uint8_t>> nonce_;
  std::optional<uint64_t> timestamp_ms_;
  std::array<uint8_t, 32> document_sha256_{};
};

// The outcome of Verifier::Verify: always a report; evidence only when report.verified.
struct Verification {
  VerificationReport report;
  std::optional<VerifiedEvidence> evidence;
};

// Verifier: one platform's evidence verifier bound to its trust roots and policy.
class Verifier {
 public:
  virtual ~Verifier() = default;

  // Verify checks `evidence` at `verification_time_unix` (seconds since the epoch) and returns
  // the report; `evidence` is set iff every step passed. A failed check is NOT a Result error:
  // the error path means the verifier could not run at all (kInvalidArgument for a negative
  // time). `evidence` is untrusted input of any content.
  virtual Result<Verification> Verify(std::span<const uint8_t> evidence,
                                      int64_t verification_time_unix) const = 0;

 protected:
  // MakeVerifiedEvidence copies the claims of a fully passed report into a VerifiedEvidence.
  // EML_CHECKs that report.verified is true and no step failed (a verifier bug otherwise).
  static VerifiedEvidence MakeVerifiedEvidence(const VerificationReport& report);
};

}  // namespace eml::attest
