// HPKE single-shot benchmarks: HpkeSeal followed by HpkeOpen (base mode, DHKEM(X25519,
// HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305), as a key broker does per released key and a
// client per sealed request. Each iteration runs two X25519 agreements on the sender (key
// generation + DH) and one on the recipient, the key schedule on both sides, and one AEAD
// seal and open of the payload.

#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "common/check.h"
#include "common/secret_bytes.h"
#include "crypto/hpke.h"
#include "crypto/x25519.h"

namespace eml::crypto {
namespace {

void BM_HpkeSealOpenChaCha20Poly1305(benchmark::State& state) {
  const auto size_bytes = static_cast<size_t>(state.range(0));
  auto suite = HpkeSuite::Create(HpkeKem::kDhkemX25519HkdfSha256, HpkeKdf::kHkdfSha256,
                                 HpkeAead::kChaCha20Poly1305);
  EML_CHECK(suite.has_value());
  auto sk_r = HpkeDeriveKeyPair(*suite, SecretBytes::CopyFrom(std::vector<uint8_t>(32, 0x42)));
  EML_CHECK(sk_r.has_value());
  std::vector<uint8_t> plaintext(size_bytes);
  for (size_t i = 0; i < plaintext.size(); ++i) {
    plaintext[i] = static_cast<uint8_t>(i * 31 + 7);
  }
  const std::vector<uint8_t> info = {'b', 'e', 'n', 'c', 'h'};
  const std::vector<uint8_t> aad = {'a', 'a', 'd'};

  for (auto _ : state) {
    auto sealed = HpkeSeal(*suite, sk_r->public_key(), info, aad, plaintext);
    EML_CHECK(sealed.has_value());
    auto opened = HpkeOpen(*suite, sealed->enc, *sk_r, info, aad, sealed->ciphertext);
    EML_CHECK(opened.has_value() && opened->size() == size_bytes);
    benchmark::DoNotOptimize(opened->data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(size_bytes));
}
BENCHMARK(BM_HpkeSealOpenChaCha20Poly1305)->Arg(1024)->Arg(1024 * 1024);

}  // namespace
}  // namespace eml::crypto

BENCHMARK_MAIN();
