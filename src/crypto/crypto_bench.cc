// Micro-benchmarks for the crypto primitives on hot paths: channel key agreement and AEAD,
// receipt signing and strict verification, attestation (ECDSA P-384) verification, hashing.
// Run: build-*/src/crypto/crypto_bench [--benchmark_filter=...]

#include <benchmark/benchmark.h>

#include <vector>

#include "common/check.h"
#include "crypto/aead.h"
#include "crypto/ecdsa.h"
#include "crypto/ed25519.h"
#include "crypto/hash.h"
#include "crypto/x25519.h"

namespace eml::crypto {
namespace {

void BM_X25519Agree(benchmark::State& state) {
  Result<X25519PrivateKey> a = X25519PrivateKey::Generate();
  Result<X25519PrivateKey> b = X25519PrivateKey::Generate();
  EML_CHECK(a.has_value() && b.has_value());
  for (auto _ : state) {
    Result<SecretBytes> shared = a->Agree(b->public_key());
    benchmark::DoNotOptimize(shared);
  }
}
BENCHMARK(BM_X25519Agree);

void BM_Ed25519Sign(benchmark::State& state) {
  Result<Ed25519PrivateKey> key = Ed25519PrivateKey::Generate();
  EML_CHECK(key.has_value());
  std::vector<uint8_t> message(256, 0x42);
  for (auto _ : state) {
    auto sig = key->Sign(message);
    benchmark::DoNotOptimize(sig);
  }
}
BENCHMARK(BM_Ed25519Sign);

void BM_Ed25519VerifyStrict(benchmark::State& state) {
  Result<Ed25519PrivateKey> key = Ed25519PrivateKey::Generate();
  EML_CHECK(key.has_value());
  std::vector<uint8_t> message(256, 0x42);
  auto sig = key->Sign(message);
  for (auto _ : state) {
    Status status = key->public_key().Verify(message, sig);
    EML_CHECK(status.has_value());
  }
}
BENCHMARK(BM_Ed25519VerifyStrict);

void BM_EcdsaP384VerifyRaw(benchmark::State& state) {
  Result<EcdsaPrivateKey> key = EcdsaPrivateKey::Generate(EcdsaCurve::kP384);
  EML_CHECK(key.has_value());
  std::vector<uint8_t> message(1024, 0x42);
  Result<std::vector<uint8_t>> sig = key->SignRaw(message);
  EML_CHECK(sig.has_value());
  for (auto _ : state) {
    Status status = key->public_key().VerifyRaw(message, *sig);
    EML_CHECK(status.has_value());
  }
}
BENCHMARK(BM_EcdsaP384VerifyRaw);

void BM_Sha256(benchmark::State& state) {
  std::vector<uint8_t> data(static_cast<size_t>(state.range(0)), 0x42);
  for (auto _ : state) {
    auto digest = Sha256(data);
    benchmark::DoNotOptimize(digest);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_Sha256)->Arg(1 << 10)->Arg(1 << 20);

void BM_ChaCha20Poly1305Seal(benchmark::State& state) {
  Result<std::unique_ptr<Aead>> aead = Aead::New(AeadAlgorithm::kChaCha20Poly1305, SecretBytes(32));
  EML_CHECK(aead.has_value());
  size_t size = static_cast<size_t>(state.range(0));
  std::vector<uint8_t> nonce(Aead::kNonceSize, 1);
  std::vector<uint8_t> plaintext(size, 0x42);
  std::vector<uint8_t> out(size + Aead::kTagSize);
  for (auto _ : state) {
    Status status = (*aead)->SealInto(nonce, plaintext, {}, out);
    EML_CHECK(status.has_value());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_ChaCha20Poly1305Seal)->Arg(1 << 10)->Arg(1 << 20);

}  // namespace
}  // namespace eml::crypto

BENCHMARK_MAIN();
