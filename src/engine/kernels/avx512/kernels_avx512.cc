// AVX-512 kernels (16 float lanes, masked tails). This file is compiled with -mavx512f
// -mavx512bw -mavx512vl -mavx512dq whatever the build's -march, and its table is used only when
// CPUID reports them (kernels/dispatch.cc).

#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "engine/kernels/avx512/kernels_avx512.h"
#include "engine/kernels/kernels.h"

namespace eml::engine::kernels {
namespace {

// No standard-library templates or inline functions here: this file is compiled with wider ISA
// flags than the rest of the binary, and an inline function's out-of-line copy from this file
// could be the one the linker keeps for every caller. Local helpers have internal linkage.
size_t MinSize(size_t a, size_t b) { return a < b ? a : b; }
float MaxFloat(float a, float b) { return a < b ? b : a; }
constexpr float kLowest = -3.40282347e+38f;
constexpr float kMinusInf = -__builtin_inff();

constexpr size_t kLanes = 16;

__mmask16 TailMask(size_t remaining) { return static_cast<__mmask16>((1u << remaining) - 1u); }

// Own reductions: GCC 12's _mm512_reduce_*_ps trip -Wuninitialized inside the intrinsic headers.
float HorizontalSum(__m512 v) {
  const __m256 h = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
  return _mm_cvtss_f32(s);
}

float HorizontalMax(__m512 v) {
  const __m256 h = _mm256_max_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
  return _mm_cvtss_f32(m);
}

// Exp: the same reduction and polynomial as the AVX2 kernel (see kernels_avx2.cc).
__m512 Exp(__m512 x) {
  const __mmask16 underflow = _mm512_cmp_ps_mask(x, _mm512_set1_ps(-87.3365478515625f), _CMP_LT_OQ);
  x = _mm512_min_ps(x, _mm512_set1_ps(88.0f));
  x = _mm512_max_ps(x, _mm512_set1_ps(-87.3365478515625f));
  const __m512 fx = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                         _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(fx, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(fx, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  const __m512 r2 = _mm512_mul_ps(r, r);
  const __m512 y = _mm512_add_ps(_mm512_fmadd_ps(p, r2, r), _mm512_set1_ps(1.0f));
  const __m512i n = _mm512_add_epi32(_mm512_cvtps_epi32(fx), _mm512_set1_epi32(127));
  const __m512 pow2n = _mm512_castsi512_ps(_mm512_slli_epi32(n, 23));
  return _mm512_maskz_mul_ps(static_cast<__mmask16>(~underflow), y, pow2n);
}

// Erf: Abramowitz & Stegun 7.1.26, as in kernels_avx2.cc.
__m512 Erf(__m512 x) {
  const __m512i sign_mask = _mm512_set1_epi32(static_cast<int>(0x80000000u));
  const __m512i bits = _mm512_castps_si512(x);
  const __m512i sign = _mm512_and_si512(bits, sign_mask);
  const __m512 ax = _mm512_castsi512_ps(_mm512_andnot_si512(sign_mask, bits));
  const __m512 one = _mm512_set1_ps(1.0f);
  const __m512 t = _mm512_div_ps(one, _mm512_fmadd_ps(_mm512_set1_ps(0.3275911f), ax, one));
  __m512 p = _mm512_set1_ps(1.061405429f);
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-1.453152027f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(1.421413741f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-0.284496736f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(0.254829592f));
  p = _mm512_mul_ps(p, t);
  const __m512 e = Exp(_mm512_sub_ps(_mm512_setzero_ps(), _mm512_mul_ps(ax, ax)));
  const __m512 y = _mm512_fnmadd_ps(p, e, one);
  return _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(y), sign));
}

void LayerNormAvx512(const float* x, const float* gamma, const float* beta, size_t dim, float eps,
                     float* out) {
  __m512 acc = _mm512_setzero_ps();
  for (size_t i = 0; i < dim; i += kLanes) {
    const __mmask16 m = TailMask(MinSize(kLanes, dim - i));
    acc = _mm512_add_ps(acc, _mm512_maskz_loadu_ps(m, x + i));
  }
  const float mean = HorizontalSum(acc) / static_cast<float>(dim);
  const __m512 vmean = _mm512_set1_ps(mean);
  acc = _mm512_setzero_ps();
  for (size_t i = 0; i < dim; i += kLanes) {
    const __mmask16 m = TailMask(MinSize(kLanes, dim - i));
    const __m512 d = _mm512_maskz_sub_ps(m, _mm512_maskz_loadu_ps(m, x + i), vmean);
    acc = _mm512_fmadd_ps(d, d, acc);
  }
  const float rstd = 1.0f / __builtin_sqrtf(HorizontalSum(acc) / static_cast<float>(dim) + eps);
  const __m512 vrstd = _mm512_set1_ps(rstd);
  for (size_t i = 0; i < dim; i += kLanes) {
    const __mmask16 m = TailMask(MinSize(kLanes, dim - i));
    const __m512 n = _mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + i), vmean), vrstd);
    _mm512_mask_storeu_ps(out + i, m,
                          _mm512_fmadd_ps(n, _mm512_maskz_loadu_ps(m, gamma + i),
                                          _mm512_maskz_loadu_ps(m, beta + i)));
  }
}

void GeluAvx512(const float* x, size_t n, float* out) {
  const __m512 half = _mm512_set1_ps(0.5f);
  const __m512 one = _mm512_set1_ps(1.0f);
  const __m512 inv_sqrt2 = _mm512_set1_ps(0.70710678118654752440f);
  for (size_t i = 0; i < n; i += kLanes) {
    const __mmask16 m = TailMask(MinSize(kLanes, n - i));
    const __m512 v = _mm512_maskz_loadu_ps(m, x + i);
    const __m512 e = Erf(_mm512_mul_ps(v, inv_sqrt2));
    _mm512_mask_storeu_ps(out + i, m, _mm512_mul_ps(_mm512_mul_ps(half, v), _mm512_add_ps(one, e)));
  }
}

void SoftmaxAvx512(float* x, size_t n) {
  __m512 vmax = _mm512_set1_ps(kMinusInf);
  for (size_t i = 0; i < n; i += kLanes) {
    const __mmask16 m = TailMask(MinSize(kLanes, n - i));
    vmax = _mm512_mask_max_ps(vmax, m, vmax, _mm512_maskz_loadu_ps(m, x + i));
  }
  const __m512 vm = _mm512_set1_ps(HorizontalMax(vmax));
  __m512 acc = _mm512_setzero_ps();
  for (size_t i = 0; i < n; i += kLanes) {
    const __mmask16 m = TailMask(MinSize(kLanes, n - i));
    const __m512 e =
        _mm512_maskz_mov_ps(m, Exp(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + i), vm)));
    _mm512_mask_storeu_ps(x + i, m, e);
    acc = _mm512_add_ps(acc, e);
  }
  const __m512 vinv = _mm512_set1_ps(1.0f / HorizontalSum(acc));
  for (size_t i = 0; i < n; i += kLanes) {
    const __mmask16 m = TailMask(MinSize(kLanes, n - i));
    _mm512_mask_storeu_ps(x + i, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), vinv));
  }
}

void AddAvx512(const float* a, const float* b, size_t n, float* out) {
  for (size_t i = 0; i < n; i += kLanes) {
    const __mmask16 m = TailMask(MinSize(kLanes, n - i));
    _mm512_mask_storeu_ps(
        out + i, m,
        _mm512_add_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i)));
  }
}

void MulAvx512(const float* a, const float* b, size_t n, float* out) {
  for (size_t i = 0; i < n; i += kLanes) {
    const __mmask16 m = TailMask(MinSize(kLanes, n - i));
    _mm512_mask_storeu_ps(
        out + i, m,
        _mm512_mul_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i)));
  }
}

void AddBiasAvx512(const float* bias, size_t n, float* x) { AddAvx512(x, bias, n, x); }

void ScaleAddAvx512(float scale, const float* bias, size_t n, float* x) {
  const __m512 vs = _mm512_set1_ps(scale);
  for (size_t i = 0; i < n; i += kLanes) {
    const __mmask16 m = TailMask(MinSize(kLanes, n - i));
    const __m512 b = bias != nullptr ? _mm512_maskz_loadu_ps(m, bias + i) : _mm512_setzero_ps();
    // Multiply then add (no FMA), so results equal the reference bit for bit.
    _mm512_mask_storeu_ps(x + i, m,
                          _mm512_add_ps(_mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), vs), b));
  }
}

void AttentionAvx512(const float* q, const float* k, const float* v, const uint8_t* key_mask,
                     const AttentionShape& shape, float* scratch, float* out) {
  const size_t s = shape.seq_len;
  const size_t d = shape.head_dim;
  const size_t sp = (s + 15) / 16 * 16;
  float* kt = scratch;               // [d, sp]: K transposed, padded columns zero.
  float* scores = scratch + d * sp;  // [sp]
  for (size_t t = 0; t < d; ++t) {
    float* row = kt + t * sp;
    for (size_t j = 0; j < s; ++j) {
      row[j] = k[j * shape.ld_qkv + t];
    }
    for (size_t j = s; j < sp; ++j) {
      row[j] = 0.0f;
    }
  }
  for (size_t i = 0; i < s; ++i) {
    const float* qi = q + i * shape.ld_qkv;
    for (size_t j = 0; j < sp; j += kLanes) {
      _mm512_storeu_ps(scores + j, _mm512_setzero_ps());
    }
    for (size_t t = 0; t < d; ++t) {
      const __m512 qv = _mm512_set1_ps(qi[t] * shape.scale);
      const float* row = kt + t * sp;
      for (size_t j = 0; j < sp; j += kLanes) {
        _mm512_storeu_ps(
            scores + j, _mm512_fmadd_ps(qv, _mm512_loadu_ps(row + j), _mm512_loadu_ps(scores + j)));
      }
    }
    if (key_mask != nullptr) {
      for (size_t j = 0; j < s; ++j) {
        if (key_mask[j] == 0) {
          scores[j] = kLowest;
        }
      }
    }
    SoftmaxAvx512(scores, s);
    float* oi = out + i * shape.ld_out;
    for (size_t t0 = 0; t0 < d; t0 += kLanes) {
      const __mmask16 m = TailMask(MinSize(kLanes, d - t0));
      __m512 acc = _mm512_setzero_ps();
      for (size_t j = 0; j < s; ++j) {
        acc = _mm512_fmadd_ps(_mm512_set1_ps(scores[j]),
                              _mm512_maskz_loadu_ps(m, v + j * shape.ld_qkv + t0), acc);
      }
      _mm512_mask_storeu_ps(oi + t0, m, acc);
    }
  }
}

void MeanPoolAvx512(const float* rows, size_t num_rows, size_t ld, size_t dim, const uint8_t* mask,
                    float* out) {
  for (size_t i = 0; i < dim; ++i) {
    out[i] = 0.0f;
  }
  float count = 0.0f;
  for (size_t r = 0; r < num_rows; ++r) {
    if (mask != nullptr && mask[r] == 0) {
      continue;
    }
    count += 1.0f;
    AddAvx512(out, rows + r * ld, dim, out);
  }
  const __m512 vinv = _mm512_set1_ps(1.0f / MaxFloat(count, 1e-9f));
  for (size_t i = 0; i < dim; i += kLanes) {
    const __mmask16 m = TailMask(MinSize(kLanes, dim - i));
    _mm512_mask_storeu_ps(out + i, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, out + i), vinv));
  }
}

void L2NormalizeAvx512(float* x, size_t n) {
  __m512 acc = _mm512_setzero_ps();
  for (size_t i = 0; i < n; i += kLanes) {
    const __mmask16 m = TailMask(MinSize(kLanes, n - i));
    const __m512 v = _mm512_maskz_loadu_ps(m, x + i);
    acc = _mm512_fmadd_ps(v, v, acc);
  }
  const __m512 vinv = _mm512_set1_ps(1.0f / MaxFloat(__builtin_sqrtf(HorizontalSum(acc)), 1e-12f));
  for (size_t i = 0; i < n; i += kLanes) {
    const __mmask16 m = TailMask(MinSize(kLanes, n - i));
    _mm512_mask_storeu_ps(x + i, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), vinv));
  }
}

float MaxAbsAvx512(const float* x, size_t n) {
  __m512 vmax = _mm512_setzero_ps();
  for (size_t i = 0; i < n; i += kLanes) {
    const __mmask16 m = TailMask(MinSize(kLanes, n - i));
    vmax = _mm512_max_ps(vmax, _mm512_abs_ps(_mm512_maskz_loadu_ps(m, x + i)));
  }
  return HorizontalMax(vmax);
}

void QuantizeS8Avx512(const float* x, size_t n, float inv_scale, int8_t* out) {
  const __m512 vinv = _mm512_set1_ps(inv_scale);
  for (size_t i = 0; i < n; i += kLanes) {
    const __mmask16 m = TailMask(MinSize(kLanes, n - i));
    __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), vinv);
    v = _mm512_max_ps(v, _mm512_set1_ps(-127.0f));  // Second operand wins for NaN.
    v = _mm512_min_ps(v, _mm512_set1_ps(127.0f));
    const __m512i q = _mm512_cvtps_epi32(v);  // Nearest, ties to even (MXCSR default).
    _mm_mask_storeu_epi8(out + i, m, _mm512_cvtepi32_epi8(q));
  }
}

void ToBf16Avx512(const float* x, size_t n, uint16_t* out) {
  for (size_t i = 0; i < n; i += kLanes) {
    const __mmask16 m = TailMask(MinSize(kLanes, n - i));
    const __m512 v = _mm512_maskz_loadu_ps(m, x + i);
    const __m512i bits = _mm512_castps_si512(v);
    const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(bits, 16), _mm512_set1_epi32(1));
    __m512i r = _mm512_srli_epi32(
        _mm512_add_epi32(_mm512_add_epi32(bits, _mm512_set1_epi32(0x7FFF)), lsb), 16);
    const __mmask16 is_nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
    r = _mm512_mask_mov_epi32(
        r, is_nan, _mm512_or_si512(_mm512_srli_epi32(bits, 16), _mm512_set1_epi32(0x40)));
    _mm256_mask_storeu_epi16(out + i, m, _mm512_cvtepi32_epi16(r));
  }
}

}  // namespace

const KernelTable& Avx512KernelTable() {
  static constexpr KernelTable kTable = {
      .isa = Isa::kAvx512,
      .layer_norm = LayerNormAvx512,
      .gelu = GeluAvx512,
      .softmax = SoftmaxAvx512,
      .add = AddAvx512,
      .add_bias = AddBiasAvx512,
      .mul = MulAvx512,
      .scale_add = ScaleAddAvx512,
      .attention = AttentionAvx512,
      .mean_pool = MeanPoolAvx512,
      .l2_normalize = L2NormalizeAvx512,
      .max_abs = MaxAbsAvx512,
      .quantize_s8 = QuantizeS8Avx512,
      .to_bf16 = ToBf16Avx512,
  };
  return kTable;
}

}  // namespace eml::engine::kernels
