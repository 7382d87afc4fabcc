// Micro-benchmarks of the CBOR codec on a receipt-sized map: the 519-byte claims payload of the
// AIR v1 golden vector (vectors/air/valid/v1-nitro-no-nonce.json, payload_hex).

#include <benchmark/benchmark.h>

#include <cstdint>
#include <string_view>
#include <vector>

#include "cbor/decoder.h"
#include "cbor/encoder.h"
#include "common/check.h"
#include "common/encoding.h"

namespace eml::cbor {
namespace {

constexpr std::string_view kClaimsHex =
    "b0016d63796e7472697365632e636f6d061a67bdec2007500102030405060708090a0b0c0d0e0f10190109782168"
    "747470733a2f2f737065632e63796e7472697365632e636f6d2f6169722f76313a000100006c6d696e696c6d2d6c"
    "362d76323a0001000165312e302e303a000100025820aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    "aaaaaaaaaaaaaaaa3a000100035820bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
    "bb3a000100045820cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc3a0001000558"
    "20dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd3a00010006a464706372305830"
    "01010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101"
    "01016470637231583002020202020202020202020202020202020202020202020202020202020202020202020202"
    "02020202020202020202026470637232583003030303030303030303030303030303030303030303030303030303"
    "0303030303030303030303030303030303030303706d6561737572656d656e745f74797065696e6974726f2d7063"
    "723a000100076e706f6c6963792d323032362e30323a00010008182a3a0001000918743a0001000a1902003a0001"
    "000b6a70726f64756374696f6e";

std::vector<uint8_t> Claims() {
  auto bytes = HexDecode(kClaimsHex);
  EML_CHECK(bytes.has_value());
  return *bytes;
}

void BM_DecodeClaims(benchmark::State& state) {
  const std::vector<uint8_t> claims = Claims();
  for (auto _ : state) {
    auto decoded = Decode(claims);
    EML_CHECK(decoded.has_value() && decoded->canonical);
    benchmark::DoNotOptimize(decoded);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(claims.size()));
}
BENCHMARK(BM_DecodeClaims);

void BM_EncodeClaims(benchmark::State& state) {
  const std::vector<uint8_t> claims = Claims();
  auto decoded = Decode(claims);
  EML_CHECK(decoded.has_value());
  for (auto _ : state) {
    auto encoded = Encode(decoded->value);
    EML_CHECK(encoded.has_value() && encoded->size() == claims.size());
    benchmark::DoNotOptimize(encoded);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(claims.size()));
}
BENCHMARK(BM_EncodeClaims);

}  // namespace
}  // namespace eml::cbor

BENCHMARK_MAIN();
