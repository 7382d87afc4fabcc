// Micro-benchmarks of the engine: each kernel per ISA (ref and the SIMD table this CPU runs),
// and one batch-1 forward pass of all-MiniLM-L6-v2 at 16 and 128 tokens per precision and thread
// count (the model comes from scripts/fetch-model; without it those cases report an error).
// Run with --benchmark_repetitions=N to get medians; kernels print items/s.

#include <benchmark/benchmark.h>

#include <cmath>
#include <memory>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "engine/embedder.h"
#include "engine/internal/aligned_buffer.h"
#include "engine/kernels/avx2/igemm_avx2.h"
#include "engine/kernels/avx2/sgemm_avx2.h"
#include "engine/kernels/kernels.h"
#include "model/model_directory.h"

namespace eml::engine {
namespace {

using kernels::Isa;
using kernels::KernelTable;

std::vector<float> Random(size_t n, float lo, float hi) {
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) {
    x = dist(rng);
  }
  return v;
}

const KernelTable* Table(const benchmark::State& state) {
  return kernels::IsaKernels(static_cast<Isa>(state.range(0)));
}

#define EML_REQUIRE_TABLE(state, t)                      \
  const KernelTable* t = Table(state);                   \
  if (t == nullptr) {                                    \
    state.SkipWithError("this CPU cannot run this ISA"); \
    return;                                              \
  }                                                      \
  state.SetLabel(std::string(kernels::IsaName(t->isa)))

void BM_LayerNorm384(benchmark::State& state) {
  EML_REQUIRE_TABLE(state, t);
  const size_t dim = 384;
  auto x = Random(dim, -2, 2), g = Random(dim, 0.5, 1.5), b = Random(dim, -0.5, 0.5);
  std::vector<float> out(dim);
  for (auto _ : state) {
    t->layer_norm(x.data(), g.data(), b.data(), dim, 1e-12f, out.data());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(dim));
}

void BM_Gelu1536(benchmark::State& state) {
  EML_REQUIRE_TABLE(state, t);
  const size_t n = 1536;
  auto x = Random(n, -5, 5);
  std::vector<float> out(n);
  for (auto _ : state) {
    t->gelu(x.data(), n, out.data());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(n));
}

void BM_Softmax128(benchmark::State& state) {
  EML_REQUIRE_TABLE(state, t);
  const size_t n = 128;
  auto x = Random(n, -10, 10);
  std::vector<float> work(n);
  for (auto _ : state) {
    work = x;
    t->softmax(work.data(), n);
    benchmark::DoNotOptimize(work.data());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(n));
}

// One head (head_dim 32, MiniLM) over a sequence of state.range(1) tokens.
void BM_AttentionHead(benchmark::State& state) {
  EML_REQUIRE_TABLE(state, t);
  const auto s = static_cast<size_t>(state.range(1));
  const size_t d = 32, hidden = 384;
  auto qkv = Random(s * 3 * hidden, -1, 1);
  std::vector<float> out(s * hidden), scratch(kernels::AttentionScratchFloats(s, d));
  const kernels::AttentionShape shape{.seq_len = s,
                                      .head_dim = d,
                                      .ld_qkv = 3 * hidden,
                                      .ld_out = hidden,
                                      .scale = 1.0f / std::sqrt(32.0f)};
  for (auto _ : state) {
    t->attention(qkv.data(), qkv.data() + hidden, qkv.data() + 2 * hidden, nullptr, shape,
                 scratch.data(), out.data());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(4 * s * s * d));  // FLOPs
}

void BM_QuantizeRow384(benchmark::State& state) {
  EML_REQUIRE_TABLE(state, t);
  const size_t n = 384;
  auto x = Random(n, -3, 3);
  std::vector<int8_t> out(n);
  for (auto _ : state) {
    const float m = t->max_abs(x.data(), n);
    t->quantize_s8(x.data(), n, 127.0f / m, out.data());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(n));
}

// Operands of one packed-matmul benchmark: args = rows, in, out.
struct PackedProblem {
  size_t m = 0, in = 0, out = 0;
  std::vector<float> weight, src, bias;
};

// MakePackedProblem fills `p` from the args, or skips the benchmark (false) without AVX2 + FMA.
bool MakePackedProblem(benchmark::State& state, PackedProblem* p) {
  if (kernels::IsaKernels(Isa::kAvx2) == nullptr) {
    state.SkipWithError("this CPU cannot run AVX2 + FMA");
    return false;
  }
  p->m = static_cast<size_t>(state.range(0));
  p->in = static_cast<size_t>(state.range(1));
  p->out = static_cast<size_t>(state.range(2));
  p->weight = Random(p->in * p->out, -1, 1);
  p->src = Random(p->m * p->in, -1, 1);
  p->bias = Random(p->out, -1, 1);
  return true;
}

// The packed AVX2 matmul with f32 (Element = float) or bf16 (uint16_t) weights alone, one thread.
template <typename Element>
void BM_PackedGemmAvx2(benchmark::State& state) {
  PackedProblem p;
  if (!MakePackedProblem(state, &p)) return;
  internal::AlignedBuffer packed;
  packed.EnsureBytes(p.in * p.out * sizeof(Element));
  auto* packed_weights = static_cast<Element*>(packed.data());
  std::vector<float> dst(p.m * p.out);
  internal::AlignedBuffer x_panels;
  x_panels.EnsureBytes(kernels::kSgemmXPanelFloats * sizeof(float));
  const kernels::SgemmRange rows{0, p.m};
  const kernels::SgemmRange panels{0, p.out / kernels::kSgemmPanelCols};
  if constexpr (std::is_same_v<Element, float>) {
    kernels::PackSgemmWeightsAvx2(p.weight.data(), p.in, p.out, packed_weights);
  } else {
    kernels::PackBf16WeightsAvx2(p.weight.data(), p.in, p.out, packed_weights);
  }
  for (auto _ : state) {
    if constexpr (std::is_same_v<Element, float>) {
      kernels::SgemmBlockAvx2(p.src.data(), p.in, p.out, packed_weights, p.bias.data(), rows,
                              panels, x_panels.floats(), dst.data());
    } else {
      kernels::Bf16GemmBlockAvx2(p.src.data(), p.in, p.out, packed_weights, p.bias.data(), rows,
                                 panels, x_panels.floats(), dst.data());
    }
    benchmark::DoNotOptimize(dst.data());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(2 * p.m * p.in * p.out));
}

// The packed AVX2 s8-weight x s16-activation matmul alone, one thread, row quantization included.
void BM_PackedIgemmAvx2(benchmark::State& state) {
  PackedProblem p;
  if (!MakePackedProblem(state, &p)) return;
  const size_t ld = kernels::IgemmPaddedDepth(p.in);
  internal::AlignedBuffer packed;
  packed.EnsureBytes(ld * p.out);
  auto* packed_weights = static_cast<int8_t*>(packed.data());
  std::vector<float> weight_scales(kernels::IgemmScaleCount(p.in, p.out));
  std::vector<int16_t> quantized(p.m * ld);
  std::vector<float> row_scales(p.m), dst(p.m * p.out);
  std::vector<int32_t> x_pairs(kernels::IgemmXPanelPairs(p.in));
  kernels::PackIgemmWeightsAvx2(p.weight.data(), p.in, p.out, packed_weights, weight_scales.data());
  for (auto _ : state) {
    for (size_t r = 0; r < p.m; ++r) {
      row_scales[r] =
          kernels::QuantizeRowS16Avx2(p.src.data() + r * p.in, p.in, quantized.data() + r * ld);
    }
    kernels::IgemmBlockAvx2(quantized.data(), row_scales.data(), p.in, p.out, packed_weights,
                            weight_scales.data(), p.bias.data(), {0, p.m},
                            {0, p.out / kernels::kIgemmPanelCols}, x_pairs.data(), dst.data());
    benchmark::DoNotOptimize(dst.data());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(2 * p.m * p.in * p.out));
}

// MiniLM's four projections at 128 tokens, its QKV at 8, and the FFN output at 256.
void PackedShapes(benchmark::internal::Benchmark* b) {
  b->Args({8, 384, 1152})
      ->Args({128, 384, 1152})
      ->Args({128, 384, 384})
      ->Args({128, 384, 1536})
      ->Args({128, 1536, 384})
      ->Args({256, 1536, 384});
}

void IsaArgs(benchmark::internal::Benchmark* b) {
  for (Isa isa : {Isa::kRef, Isa::kAvx2, Isa::kAvx512}) {
    b->Arg(static_cast<int64_t>(isa));
  }
}

void AttentionArgs(benchmark::internal::Benchmark* b) {
  for (Isa isa : {Isa::kRef, Isa::kAvx2, Isa::kAvx512}) {
    for (int64_t s : {16, 128, 256}) {
      b->Args({static_cast<int64_t>(isa), s});
    }
  }
}

BENCHMARK(BM_PackedGemmAvx2<float>)->Name("BM_PackedSgemmAvx2")->Apply(PackedShapes);
BENCHMARK(BM_PackedGemmAvx2<uint16_t>)->Name("BM_PackedBf16GemmAvx2")->Apply(PackedShapes);
BENCHMARK(BM_PackedIgemmAvx2)->Apply(PackedShapes);
BENCHMARK(BM_LayerNorm384)->Apply(IsaArgs);
BENCHMARK(BM_Gelu1536)->Apply(IsaArgs);
BENCHMARK(BM_Softmax128)->Apply(IsaArgs);
BENCHMARK(BM_AttentionHead)->Apply(AttentionArgs);
BENCHMARK(BM_QuantizeRow384)->Apply(IsaArgs);

// Forward: args = precision, tokens, threads. One Embedder per (precision, threads), cached.
Embedder* CachedEmbedder(Precision precision, int threads, std::string* error) {
  static std::unique_ptr<Embedder> cache[3][3];
  std::unique_ptr<Embedder>& slot = cache[static_cast<int>(precision)][threads];
  if (slot == nullptr) {
    auto loaded = Embedder::LoadFromDirectory(model::DefaultModelDirectoryPath(),
                                              {.precision = precision, .num_threads = threads});
    if (!loaded.has_value()) {
      *error = ToString(loaded.error());
      if (loaded.error().code == ErrorCode::kNotFound) {
        *error += " (run scripts/fetch-model)";
      }
      return nullptr;
    }
    slot = std::move(*loaded);
  }
  return slot.get();
}

void BM_Forward(benchmark::State& state) {
  const auto precision = static_cast<Precision>(state.range(0));
  const auto tokens = static_cast<size_t>(state.range(1));
  const auto threads = static_cast<int>(state.range(2));
  std::string error;
  Embedder* embedder = CachedEmbedder(precision, threads, &error);
  if (embedder == nullptr) {
    state.SkipWithError(error.c_str());
    return;
  }
  std::vector<int32_t> ids;
  ids.push_back(101);  // [CLS]
  for (size_t i = 1; i + 1 < tokens; ++i) {
    ids.push_back(static_cast<int32_t>(2000 + (i * 37) % 20000));
  }
  ids.push_back(102);  // [SEP]
  const std::vector<TokenizedText> batch = {TokenizedText{ids, {}}};
  auto warm = embedder->EmbedTokenized(batch);  // Grows the workspace before timing.
  if (!warm.has_value()) {
    state.SkipWithError(ToString(warm.error()).c_str());
    return;
  }
  for (auto _ : state) {
    auto r = embedder->EmbedTokenized(batch);
    benchmark::DoNotOptimize(r);
  }
  state.SetLabel(std::string(PrecisionName(precision)) + " " + std::string(embedder->kernel_isa()) +
                 " " + embedder->matmul_impl());
}

void ForwardArgs(benchmark::internal::Benchmark* b) {
  for (Precision p : {Precision::kFp32, Precision::kBf16, Precision::kInt8}) {
    for (int64_t tokens : {16, 128}) {
      for (int64_t threads : {1, 2}) {
        b->Args({static_cast<int64_t>(p), tokens, threads});
      }
    }
  }
}

BENCHMARK(BM_Forward)->Apply(ForwardArgs)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace eml::engine

BENCHMARK_MAIN();
