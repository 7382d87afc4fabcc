// Micro-benchmarks of TDX quote verification on the real SPR_E4 quote with Intel's sample
// collateral at unix 1688000000 (every signature, chain, CRL and TCB step runs): ParseQuote
// alone, and the full TdxVerifier::Verify. Run with --benchmark_repetitions=N
// --benchmark_report_aggregates_only=true for the median.

#include <benchmark/benchmark.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "attest/tdx/intel_root.h"
#include "attest/tdx/quote.h"
#include "attest/tdx/tdx_verifier.h"

namespace eml::attest::tdx {
namespace {

std::string ReadVector(const std::string& name) {
  const char* shared = std::getenv("EML_SHARED_DIR");
  const std::string dir =
      std::string(shared != nullptr ? shared : "/work/shared") + "/vectors/tdx/go-tdx-guest/";
  std::ifstream in(dir + name, std::ios::binary | std::ios::ate);
  if (!in.good()) {
    std::abort();
  }
  std::string text(static_cast<size_t>(in.tellg()), '\0');
  in.seekg(0);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  return text;
}

std::vector<uint8_t> Bytes(const std::string& text) {
  return std::vector<uint8_t>(text.begin(), text.end());
}

void BM_ParseQuote(benchmark::State& state) {
  const std::vector<uint8_t> quote = Bytes(ReadVector("tdx_prod_quote_SPR_E4.dat"));
  for (auto _ : state) {
    Result<ParsedQuote> parsed = ParseQuote(quote);
    benchmark::DoNotOptimize(parsed);
  }
}
BENCHMARK(BM_ParseQuote);

void BM_VerifySprQuote(benchmark::State& state) {
  Collateral c;
  c.tcb_info_responses = {ReadVector("sample_tcbInfo_response")};
  c.qe_identity_response = ReadVector("sample_qeIdentity_response");
  c.tcb_signing_chain =
      *crypto::Certificate::ParsePemBundle(ReadVector("tcb_info_issuer_chain.pem"));
  for (const char* name : {"pckcrl", "rootcrl.der"}) {
    c.crls.push_back(*crypto::Crl::FromDer(Bytes(ReadVector(name))));
  }
  Policy policy;
  policy.allowed_tcb_statuses = {TcbStatus::kNotSupported};
  auto verifier = TdxVerifier::New(*IntelSgxRootCa(), std::move(c), policy);
  const std::vector<uint8_t> quote = Bytes(ReadVector("tdx_prod_quote_SPR_E4.dat"));
  if (!verifier.has_value() || !(*verifier)->Verify(quote, 1688000000)->report.verified) {
    state.SkipWithError("the sample quote does not verify");
    return;
  }
  for (auto _ : state) {
    Result<Verification> result = (*verifier)->Verify(quote, 1688000000);
    benchmark::DoNotOptimize(result);
  }
}
BENCHMARK(BM_VerifySprQuote)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace eml::attest::tdx

BENCHMARK_MAIN();
