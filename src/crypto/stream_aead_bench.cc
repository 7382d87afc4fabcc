// Throughput of EML STREAM v1 (segmented ChaCha20-Poly1305) encryption and decryption, in
// memory, at the default 1 MiB segment size and a small 64 KiB one.
// Run: build-*/src/crypto/stream_aead_bench [--benchmark_filter=...]

#include <benchmark/benchmark.h>

#include <vector>

#include "common/check.h"
#include "crypto/random.h"
#include "crypto/stream_aead.h"

namespace eml::crypto {
namespace {

// A sink that only counts, so the numbers measure the cipher, not memory copies.
class CountingSink final : public StreamSink {
 public:
  Status Write(std::span<const uint8_t> bytes) override {
    size_ += bytes.size();
    return OkStatus();
  }
  size_t size_ = 0;
};

void BM_StreamEncrypt(benchmark::State& state) {
  Result<SecretBytes> key = RandomSecret(kStreamKeySize);
  EML_CHECK(key.has_value());
  const std::vector<uint8_t> plain(static_cast<size_t>(state.range(0)), 0x5a);
  EncryptOptions options;
  options.segment_size = static_cast<uint32_t>(state.range(1));
  for (auto _ : state) {
    SpanSource source(plain);
    CountingSink sink;
    EML_CHECK(StreamEncrypt(*key, source, sink, options).has_value());
    benchmark::DoNotOptimize(sink.size_);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_StreamEncrypt)->Args({64 << 20, 1 << 20})->Args({64 << 20, 64 << 10});

void BM_StreamDecrypt(benchmark::State& state) {
  Result<SecretBytes> key = RandomSecret(kStreamKeySize);
  EML_CHECK(key.has_value());
  const std::vector<uint8_t> plain(static_cast<size_t>(state.range(0)), 0x5a);
  EncryptOptions options;
  options.segment_size = static_cast<uint32_t>(state.range(1));
  SpanSource source(plain);
  VectorSink encrypted;
  EML_CHECK(StreamEncrypt(*key, source, encrypted, options).has_value());
  std::vector<uint8_t> out(plain.size());
  for (auto _ : state) {
    SpanSource in(encrypted.bytes());
    EML_CHECK(StreamDecryptToBuffer(*key, in, out).has_value());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_StreamDecrypt)->Args({64 << 20, 1 << 20})->Args({64 << 20, 64 << 10});

}  // namespace
}  // namespace eml::crypto

BENCHMARK_MAIN();
