// Fuzz target attest_tdx_quote: eml::attest::tdx::ParseQuote and TdxVerifier::Verify on
// arbitrary bytes, with the pinned Intel SGX Root CA and Intel's sample collateral from
// vectors/tdx/ at unix 1688000000 (when that collateral is current, so mutations of the real
// seeds reach every signature, chain and TCB step). Properties: never crashes; ParseQuote fails
// only with the quote codes (kTdxQuoteMalformed, kTdxUnsupportedQuote, kTdxBadCertificationData,
// kLimitExceeded); a parsed quote's views have their fixed sizes, its signed region is the
// input's prefix (632 bytes for v4, 54 + body for v5) and the signature data plus trailing
// bytes account for the rest; Verify reports the 15 steps once each, in order, agrees with
// ParseQuote on the first, gives failed steps a code and the others kOk, and `verified` holds
// exactly when no step failed.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <span>
#include <string>

#include "attest/tdx/intel_root.h"
#include "attest/tdx/quote.h"
#include "attest/tdx/tdx_verifier.h"

namespace {

constexpr int64_t kVerificationTime = 1688000000;  // 2023-06-29T00:53:20Z
constexpr const char* kSteps[] = {"quote_structure", "pck_certificates",    "pck_chain",
                                  "pck_revocation",  "qe_report_signature", "qe_report_data",
                                  "quote_signature", "pck_extensions",      "tcb_info",
                                  "qe_identity",     "tdx_module",          "tcb_status",
                                  "debug_mode",      "measurements",        "report_data"};

void Require(bool condition) {
  if (!condition) {
    std::abort();
  }
}

std::string ReadVector(const char* name) {
  std::ifstream in(std::string(EML_TDX_VECTORS_DIR) + "/" + name, std::ios::binary | std::ios::ate);
  Require(in.good());
  std::string text(static_cast<size_t>(in.tellg()), '\0');
  in.seekg(0);
  Require(static_cast<bool>(in.read(text.data(), static_cast<std::streamsize>(text.size()))));
  return text;
}

const eml::attest::tdx::TdxVerifier& FixedVerifier() {
  using namespace eml::attest::tdx;
  static const TdxVerifier* verifier = [] {
    auto root = IntelSgxRootCa();
    Require(root.has_value());
    Collateral c;
    c.tcb_info_responses = {ReadVector("sample_tcbInfo_response")};
    c.qe_identity_response = ReadVector("sample_qeIdentity_response");
    auto chain = eml::crypto::Certificate::ParsePemBundle(ReadVector("tcb_info_issuer_chain.pem"));
    Require(chain.has_value());
    c.tcb_signing_chain = *chain;
    for (const char* name : {"pckcrl", "rootcrl.der"}) {
      const std::string der = ReadVector(name);
      auto crl = eml::crypto::Crl::FromDer(std::span(reinterpret_cast<const uint8_t*>(der.data()),
                                                     der.size()));  // NOLINT: test data
      Require(crl.has_value());
      c.crls.push_back(*crl);
    }
    Policy policy;
    policy.allow_debug = true;
    auto v = TdxVerifier::New(*root, std::move(c), policy);
    Require(v.has_value());
    return v->release();
  }();
  return *verifier;
}

void CheckParsed(std::span<const uint8_t> input, const eml::attest::tdx::ParsedQuote& q) {
  using namespace eml::attest::tdx;
  Require(q.header.version == kQuoteVersion4 || q.header.version == kQuoteVersion5);
  const size_t body_size =
      q.body.body_type == kBodyTypeTdx15 ? kTdReportBody15Bytes : kTdReportBody10Bytes;
  const size_t signed_size =
      kHeaderBytes + body_size + (q.header.version == kQuoteVersion5 ? 6 : 0);
  Require(q.signed_region.size() == signed_size && q.signed_region.data() == input.data());
  Require(q.body.mrtd.size() == kMeasurementBytes && q.body.report_data.size() == kReportDataBytes);
  for (const auto& rtmr : q.body.rtmr) {
    Require(rtmr.size() == kMeasurementBytes);
  }
  Require(q.body.mrservicetd.size() == (q.body.body_type == kBodyTypeTdx15 ? 48u : 0u));
  Require(q.signature.size() == 64 && q.attestation_key.size() == 64);
  Require(q.qe_report_bytes.size() == kSgxReportBytes && q.qe_report_signature.size() == 64);
  Require(!q.pck_chain_pem.empty());
  // The PEM is the last thing in the signature data; the trailing bytes follow it.
  const size_t pem_end =
      static_cast<size_t>(q.pck_chain_pem.data() - input.data()) + q.pck_chain_pem.size();
  Require(pem_end + q.trailing_bytes == input.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace eml;
  const std::span<const uint8_t> input(data, size);
  Result<attest::tdx::ParsedQuote> parsed = attest::tdx::ParseQuote(input);
  if (parsed.has_value()) {
    CheckParsed(input, *parsed);
  } else {
    const ErrorCode code = parsed.error().code;
    Require(code == ErrorCode::kTdxQuoteMalformed || code == ErrorCode::kTdxUnsupportedQuote ||
            code == ErrorCode::kTdxBadCertificationData || code == ErrorCode::kLimitExceeded);
  }
  Result<attest::Verification> result = FixedVerifier().Verify(input, kVerificationTime);
  Require(result.has_value());
  const attest::VerificationReport& r = result->report;
  Require(r.steps.size() == std::size(kSteps));
  bool failed = false;
  for (size_t i = 0; i < r.steps.size(); ++i) {
    Require(r.steps[i].name == kSteps[i]);
    const bool step_failed = r.steps[i].status == attest::StepStatus::kFailed;
    Require(step_failed == (r.steps[i].code != ErrorCode::kOk));
    failed = failed || step_failed;
  }
  Require((r.steps[0].status == attest::StepStatus::kPassed) == parsed.has_value());
  Require(r.verified == !failed);
  Require(result->evidence.has_value() == r.verified);
  return 0;
}
