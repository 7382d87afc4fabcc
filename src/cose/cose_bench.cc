// Micro-benchmarks of COSE_Sign1: ES384 verification of a real AWS Nitro attestation document
// (vectors/nitro/fortanix-rust-sgx/request_proper.bin), parse alone and parse + verify.

#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "cbor/decoder.h"
#include "common/check.h"
#include "cose/sign1.h"
#include "crypto/x509.h"

namespace eml::cose {
namespace {

std::vector<uint8_t> NitroDocument() {
  const char* shared = std::getenv("EML_SHARED_DIR");
  const std::filesystem::path path =
      std::filesystem::path(shared != nullptr ? shared : "/work/shared") /
      "vectors/nitro/fortanix-rust-sgx/request_proper.bin";
  std::ifstream in(path, std::ios::binary);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), {});
  EML_CHECK(!bytes.empty());
  return bytes;
}

crypto::EcdsaPublicKey LeafKey(const ParsedSign1& doc) {
  auto payload = cbor::Decode(*doc.payload());
  EML_CHECK(payload.has_value());
  const cbor::Value* certificate = payload->value.MapFind("certificate");
  EML_CHECK(certificate != nullptr);
  auto leaf = crypto::Certificate::FromDer(*certificate->AsBytes());
  EML_CHECK(leaf.has_value());
  auto key = leaf->EcdsaKey();
  EML_CHECK(key.has_value());
  return std::move(*key);
}

void BM_ParseNitroDocument(benchmark::State& state) {
  const std::vector<uint8_t> doc = NitroDocument();
  for (auto _ : state) {
    auto parsed = ParseSign1(doc);
    EML_CHECK(parsed.has_value());
    benchmark::DoNotOptimize(parsed);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(doc.size()));
}
BENCHMARK(BM_ParseNitroDocument);

void BM_VerifyNitroDocumentEs384(benchmark::State& state) {
  const std::vector<uint8_t> doc = NitroDocument();
  auto first = ParseSign1(doc);
  EML_CHECK(first.has_value());
  const VerificationKey key = LeafKey(*first);
  for (auto _ : state) {
    auto parsed = ParseSign1(doc);
    EML_CHECK(parsed.has_value());
    EML_CHECK(VerifySign1(*parsed, key).has_value());
  }
}
BENCHMARK(BM_VerifyNitroDocumentEs384);

}  // namespace
}  // namespace eml::cose

BENCHMARK_MAIN();
