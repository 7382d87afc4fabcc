// Micro-benchmarks of SEV-SNP verification on the real Milan report
// (vectors/sevsnp/go-sev-guest/attestation.bin): report parsing alone, and the whole
// SnpVerifier::Verify (VCEK -> ASK -> ARK RSA-PSS chain + ECDSA P-384 report signature + policy).
// Run: build-*/src/attest/attest_sevsnp_bench --benchmark_repetitions=10
//        --benchmark_report_aggregates_only=true   (median is the number to quote)
// Needs EML_SHARED_DIR (default /work/shared).

#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "attest/sevsnp/report.h"
#include "attest/sevsnp/snp_verifier.h"
#include "common/check.h"

namespace eml::attest::sevsnp {
namespace {

std::vector<uint8_t> ReadVector(const std::string& name) {
  const char* shared = std::getenv("EML_SHARED_DIR");
  const std::filesystem::path path =
      std::filesystem::path(shared != nullptr ? shared : "/work/shared") /
      "vectors/sevsnp/go-sev-guest" / name;
  std::ifstream in(path, std::ios::binary);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), {});
  EML_CHECK(!bytes.empty());
  return bytes;
}

void BM_ParseSnpReport(benchmark::State& state) {
  const std::vector<uint8_t> report = ReadVector("attestation.bin");
  for (auto _ : state) {
    auto parsed = ParseReport(report);
    benchmark::DoNotOptimize(parsed);
  }
}
BENCHMARK(BM_ParseSnpReport);

void BM_VerifySnpReport(benchmark::State& state) {
  const std::vector<uint8_t> report = ReadVector("attestation.bin");
  const std::vector<uint8_t> chain_pem = ReadVector("ask_ark_milan.pem");
  auto chain = crypto::Certificate::ParsePemBundle(std::string(chain_pem.begin(), chain_pem.end()));
  auto vcek = crypto::Certificate::FromDer(ReadVector("vcek.testcer.der"));
  EML_CHECK(chain.has_value() && chain->size() == 2 && vcek.has_value());
  Collateral collateral;
  collateral.intermediates = {(*chain)[0]};
  collateral.arks = {(*chain)[1]};
  collateral.endorsement_certs = {*vcek};
  Policy policy;
  policy.allow_debug = true;  // the real report's guest policy allows debugging
  auto verifier = SnpVerifier::New(std::move(collateral), policy);
  EML_CHECK(verifier.has_value());
  constexpr int64_t kTime = 1700000000;
  auto check = (*verifier)->Verify(report, kTime);
  EML_CHECK(check.has_value() && check->report.verified);
  for (auto _ : state) {
    auto result = (*verifier)->Verify(report, kTime);
    benchmark::DoNotOptimize(result);
  }
}
BENCHMARK(BM_VerifySnpReport)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace eml::attest::sevsnp

BENCHMARK_MAIN();
