// AIR v1 micro-benchmarks: issue, verify, and the CBOR work inside them (encode/decode of a
// whole receipt and of the claims map), plus the bare Ed25519 operations for reference.
// Run: build-*/src/air/air_bench --benchmark_repetitions=10 --benchmark_report_aggregates_only

#include <benchmark/benchmark.h>

#include <vector>

#include "air/issuer.h"
#include "air/testing/golden.h"
#include "air/verifier.h"
#include "cbor/decoder.h"
#include "cbor/encoder.h"
#include "cose/sign1.h"

namespace eml::air {
namespace {

const crypto::Ed25519PrivateKey& Key() {
  static const auto* key = new crypto::Ed25519PrivateKey(testing::GoldenKey());
  return *key;
}

const std::vector<uint8_t>& Receipt() {
  static const auto* receipt =
      new std::vector<uint8_t>(*IssueReceipt(testing::GoldenNitroClaims(), Key()));
  return *receipt;
}

void BM_IssueReceipt(benchmark::State& state) {
  const Claims claims = testing::GoldenNitroClaims();
  for (auto _ : state) {
    Result<std::vector<uint8_t>> receipt = IssueReceipt(claims, Key());
    benchmark::DoNotOptimize(receipt);
  }
}
BENCHMARK(BM_IssueReceipt);

void BM_VerifyReceipt(benchmark::State& state) {
  VerifyPolicy policy;
  policy.max_age_s = 0;
  for (auto _ : state) {
    Result<VerificationReport> report = VerifyReceipt(Receipt(), Key().public_key(), policy);
    if (!report.has_value() || !report->verified()) {
      state.SkipWithError("golden receipt did not verify");
      break;
    }
    benchmark::DoNotOptimize(report);
  }
}
BENCHMARK(BM_VerifyReceipt);

void BM_CborDecodeReceipt(benchmark::State& state) {
  cbor::DecodeLimits limits;
  limits.strict = false;
  for (auto _ : state) {
    Result<cbor::Decoded> decoded = cbor::Decode(Receipt(), limits);
    benchmark::DoNotOptimize(decoded);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(Receipt().size()));
}
BENCHMARK(BM_CborDecodeReceipt);

void BM_CborEncodeReceipt(benchmark::State& state) {
  const cbor::Value value = cbor::Decode(Receipt())->value;
  for (auto _ : state) {
    Result<std::vector<uint8_t>> bytes = cbor::Encode(value);
    benchmark::DoNotOptimize(bytes);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(Receipt().size()));
}
BENCHMARK(BM_CborEncodeReceipt);

void BM_EncodeClaims(benchmark::State& state) {
  const Claims claims = testing::GoldenNitroClaims();
  for (auto _ : state) {
    Result<std::vector<uint8_t>> payload = EncodeClaims(claims);
    benchmark::DoNotOptimize(payload);
  }
}
BENCHMARK(BM_EncodeClaims);

void BM_Ed25519Sign(benchmark::State& state) {
  const std::vector<uint8_t> message(700, 0x5a);
  for (auto _ : state) {
    benchmark::DoNotOptimize(Key().Sign(message));
  }
}
BENCHMARK(BM_Ed25519Sign);

void BM_Ed25519Verify(benchmark::State& state) {
  const std::vector<uint8_t> message(700, 0x5a);
  const auto signature = Key().Sign(message);
  for (auto _ : state) {
    Status status = Key().public_key().Verify(message, signature);
    benchmark::DoNotOptimize(status);
  }
}
BENCHMARK(BM_Ed25519Verify);

}  // namespace
}  // namespace eml::air

BENCHMARK_MAIN();
