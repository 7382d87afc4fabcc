// Fuzz target attest_sevsnp_report: eml::attest::sevsnp parsing (SplitEvidence, ParseReport,
// ParseCertTable) and SnpVerifier::Verify on arbitrary bytes, with the built-in AMD ARKs plus the
// real Milan ASK and VCEK as collateral, at a fixed time inside their validity (so mutations of
// the real report reach the chain and signature steps). Properties: never crashes; Verify always
// runs and reports the 19 steps once each, in order; a failed step carries a code, other steps
// kOk; `verified` holds exactly when no step failed, and then VerifiedEvidence carries the
// report's claims; the parse layer agrees with the report_structure step; a parsed report
// re-serializes byte-identical; a parsed table has entries inside it that do not overlap.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <span>
#include <string>
#include <vector>

#include "attest/sevsnp/evidence.h"
#include "attest/sevsnp/report.h"
#include "attest/sevsnp/snp_verifier.h"

namespace {

constexpr int64_t kVerificationTime = 1700000000;  // 2023-11-14
constexpr const char* kSteps[] = {"report_structure",
                                  "certificate_table",
                                  "signature_algorithm",
                                  "endorsement_key",
                                  "product",
                                  "certificate_chain",
                                  "report_signature",
                                  "chip_id",
                                  "reported_tcb",
                                  "minimum_tcb",
                                  "debug",
                                  "migration_agent",
                                  "smt",
                                  "vmpl",
                                  "measurement",
                                  "host_data",
                                  "id_key_digest",
                                  "author_key_digest",
                                  "report_data"};

void Require(bool condition) {
  if (!condition) {
    std::abort();
  }
}

std::vector<uint8_t> ReadVector(const std::string& name) {
  const std::filesystem::path path =
      std::filesystem::path(EML_SHARED_DIR_PATH) / "vectors/sevsnp/go-sev-guest" / name;
  std::ifstream in(path, std::ios::binary);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), {});
  Require(!bytes.empty());
  return bytes;
}

const eml::attest::sevsnp::SnpVerifier& FixedVerifier() {
  using namespace eml::attest::sevsnp;
  static const SnpVerifier* verifier = [] {
    const std::vector<uint8_t> pem = ReadVector("ask_ark_milan.pem");
    auto chain = eml::crypto::Certificate::ParsePemBundle(std::string(pem.begin(), pem.end()));
    auto vcek = eml::crypto::Certificate::FromDer(ReadVector("vcek.testcer.der"));
    Require(chain.has_value() && vcek.has_value());
    Collateral collateral;
    collateral.intermediates = {(*chain)[0]};
    collateral.endorsement_certs = {*vcek};
    Policy policy;
    policy.allow_debug = true;
    auto v = SnpVerifier::New(std::move(collateral), policy);
    Require(v.has_value());
    return v->release();
  }();
  return *verifier;
}

void CheckParseLayer(std::span<const uint8_t> input, const eml::attest::VerificationReport& r) {
  using namespace eml::attest;
  auto split = sevsnp::SplitEvidence(input);
  auto parsed = split.has_value() ? sevsnp::ParseReport(split->report)
                                  : eml::Result<sevsnp::AttestationReport>(split.error());
  Require(parsed.has_value() == (r.steps[0].status == StepStatus::kPassed));
  if (!parsed.has_value()) {
    Require(parsed.error().code == r.steps[0].code);
    return;
  }
  const std::vector<uint8_t> again = sevsnp::SerializeReport(*parsed);
  Require(std::equal(again.begin(), again.end(), split->report.begin(), split->report.end()));
  Require(r.named_measurements.at("chip_id") ==
          std::vector<uint8_t>(parsed->chip_id.begin(), parsed->chip_id.end()));
  Require(r.debug == ((parsed->policy & sevsnp::kPolicyDebug) != 0));
  if (split->cert_table.empty()) {
    return;
  }
  auto table = sevsnp::ParseCertTable(split->cert_table);
  if (!table.has_value()) {
    Require(r.steps[1].code == eml::ErrorCode::kSnpCertTableMalformed);
    return;
  }
  Require(!table->empty() && table->size() <= sevsnp::kMaxCertTableEntries);
  // Entries are non-empty and disjoint inside the table, so their sizes add up to at most it.
  size_t total = 0;
  for (const auto& entry : *table) {
    Require(!entry.der.empty());
    total += entry.der.size();
  }
  Require(total <= split->cert_table.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace eml::attest;
  const std::span<const uint8_t> input(data, size);
  auto result = FixedVerifier().Verify(input, kVerificationTime);
  Require(result.has_value());
  const VerificationReport& r = result->report;
  Require(r.steps.size() == std::size(kSteps));
  bool any_failed = false;
  for (size_t i = 0; i < r.steps.size(); ++i) {
    Require(r.steps[i].name == kSteps[i]);
    const bool failed = r.steps[i].status == StepStatus::kFailed;
    Require(failed == (r.steps[i].code != eml::ErrorCode::kOk));
    any_failed = any_failed || failed;
  }
  Require(r.verified == !any_failed);
  Require(result->evidence.has_value() == r.verified);
  if (r.verified) {
    Require(result->evidence->named_measurements() == r.named_measurements);
    Require(result->evidence->report_data() == r.report_data);
    Require(result->evidence->document_sha256() == r.document_sha256);
  }
  CheckParseLayer(input, r);
  return 0;
}
