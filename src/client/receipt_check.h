#pragma once
// Posture: CheckReceipt reads untrusted bytes (AIR v1 receipts sent by the enclave). Parsing and
// limits are air::VerifyReceipt's (64 KiB cap, strict CBOR; fuzz target air_verify); this layer
// only compares verified claims with what the client attested and sent.
//
// eml::client::CheckReceipt: the per-response receipt check of the session client (DESIGN.md
// section 3.3 step 3). It runs the AIR v1 verifier with the attested receipt key and every
// expectation the client holds, then the checks AIR cannot express on its own:
//
//   AIR checks (air/check.h)   SIG with the attested key (strict Ed25519), RHASH over the exact
//                              request record, OHASH over the exact result bytes, MHASH and MODEL
//                              against the attested model, ADHASH = SHA-256 of the document
//                              verified in the handshake, NONCE = the sent nonce, FRESH,
//                              SECURITY_MODE_POLICY (evaluation only on an evaluation platform,
//                              production otherwise), PLATFORM, REPLAY (cti seen before)
//   SEQUENCE                   sequence_number strictly above the last accepted one
//   NONCE_ABSENT               no eat_nonce when the client sent none
//   MEASUREMENTS               measurement_type and every PCR / MRTD / RTMR in the receipt
//                              equal the attested evidence (pcr0..2 are required)
//
// The client checks run only on claims whose signature and AIR checks passed (SKIP otherwise).
// The report names every check; `error` is the client ErrorCode of the most important failure
// (signature first, then parse/claims problems, then the policy checks in the order above).
// Thread safety: pure function; reports are plain values.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "air/claims.h"
#include "air/verifier.h"
#include "common/error.h"
#include "common/result.h"
#include "crypto/ed25519.h"

namespace eml::client {

inline constexpr uint64_t kDefaultReceiptMaxAgeS = 3600;

// One model the enclave's attestation names (from the attested user_data).
struct AttestedModel {
  std::string id;
  air::Sha256Digest model_hash{};
  std::string model_hash_scheme;
};

// What the client expects of one receipt. Measurement fields come from the verified evidence.
struct ReceiptExpectations {
  air::Sha256Digest request_hash{};
  air::Sha256Digest response_hash{};
  air::Sha256Digest attestation_doc_hash{};
  AttestedModel model;
  // nonce: the nonce the request carried (8..64 bytes); absent: the receipt must carry none.
  std::optional<std::vector<uint8_t>> nonce;
  // last_sequence: the highest sequence_number accepted in this session; absent before the first.
  std::optional<uint64_t> last_sequence;
  // evaluation_platform: the evidence is `sim`; receipts must then say "evaluation", and
  // "production" otherwise (a production policy never accepts an evaluation receipt).
  bool evaluation_platform = false;
  // platform: the verified evidence's platform ("sim", "aws-nitro", "tdx", ...).
  std::string platform;
  std::map<uint32_t, std::vector<uint8_t>> measurements;
  std::map<std::string, std::vector<uint8_t>> named_measurements;
  int64_t now_unix = 0;
  uint64_t max_age_s = kDefaultReceiptMaxAgeS;
  uint64_t clock_skew_s = air::kDefaultClockSkewS;
  // is_cti_seen: REPLAY lookup (may be empty: REPLAY is then skipped).
  std::function<bool(std::span<const uint8_t>)> is_cti_seen;
};

struct ReceiptCheckResult {
  std::string name;    // AIR check name ("SIG", ...) or "SEQUENCE", "NONCE_ABSENT", "MEASUREMENTS"
  std::string status;  // "PASS", "FAIL" or "SKIP"
  std::string code;    // AIR check code or client ErrorCode name on FAIL; may be empty
  std::string detail;  // for people
};

struct ReceiptReport {
  bool verified = false;
  ErrorCode error = ErrorCode::kOk;  // kOk iff verified
  std::vector<ReceiptCheckResult> checks;
  // The verified claims (present iff verified).
  std::optional<air::Claims> claims;

  // ToJson renders {"verified":bool,"error":"NAME"|null,"sequence_number":n|null,
  // "checks":[{"name","status","code","detail"}]}.
  std::string ToJson() const;
  // Summary: one line naming the failed checks ("" when verified).
  std::string Summary() const;
};

// CheckReceipt verifies `receipt` with the attested `key` against `expected`.
// Errors (could not run at all): kInvalidArgument (a nonce outside 8..64 bytes or an empty model
// id in `expected`). Every problem with the receipt is a finding in the report.
Result<ReceiptReport> CheckReceipt(std::span<const uint8_t> receipt,
                                   const crypto::Ed25519PublicKey& key,
                                   const ReceiptExpectations& expected);

}  // namespace eml::client
