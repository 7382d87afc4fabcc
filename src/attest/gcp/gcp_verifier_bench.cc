// Benchmarks for Confidential Space token verification on the real production token (PKI:
// JWT parse, three X.509 parses, chain to the pinned RSA-4096 root, RS256 signature, claims).
// Run: build/src/attest/attest_gcp_bench --benchmark_repetitions=10
//      --benchmark_report_aggregates_only=true   (median is the number to quote)

#include <benchmark/benchmark.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "attest/gcp/cs_root.h"
#include "attest/gcp/gcp_verifier.h"
#include "attest/gcp/jwt.h"
#include "common/check.h"
#include "common/encoding.h"

namespace eml::attest::gcp {
namespace {

constexpr int64_t kTokenIat = 1757060250;  // ctf_sha2-sample.jwt

std::string ReadToken() {
  const char* shared = std::getenv("EML_SHARED_DIR");
  const std::string path = std::string(shared != nullptr ? shared : "/work/shared") +
                           "/vectors/gcp/oak/ctf_sha2-sample.jwt";
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  EML_CHECK(in.good());
  std::string text(static_cast<size_t>(in.tellg()), '\0');
  in.seekg(0);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  return text;
}

void BM_GcpParseJwt(benchmark::State& state) {
  const std::string token = ReadToken();
  for (auto _ : state) {
    Result<ParsedJwt> jwt = ParseJwt(AsBytes(token));
    EML_CHECK(jwt.has_value());
    benchmark::DoNotOptimize(jwt);
  }
}
BENCHMARK(BM_GcpParseJwt);

void BM_GcpVerifyPki(benchmark::State& state) {
  const std::string token = ReadToken();
  Policy policy;
  policy.audience = "z08381475938604996746";
  policy.image_digests = {
      "sha256:e2e5e3672f416ac9ca71aa639abf86db0b713729a48c125a925af6c808b20b5d"};
  Result<crypto::Certificate> root = ConfidentialSpaceRoot();
  EML_CHECK(root.has_value());
  Result<std::unique_ptr<GcpVerifier>> verifier =
      GcpVerifier::NewPki(*std::move(root), std::move(policy));
  EML_CHECK(verifier.has_value());
  for (auto _ : state) {
    Result<Verification> v = (*verifier)->Verify(AsBytes(token), kTokenIat);
    EML_CHECK(v.has_value() && v->report.verified);
    benchmark::DoNotOptimize(v);
  }
}
BENCHMARK(BM_GcpVerifyPki)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace eml::attest::gcp

BENCHMARK_MAIN();
