// AVX2 + FMA kernels (8 float lanes). This file is compiled with -mavx2 -mfma whatever the
// build's -march, and its table is used only when CPUID reports both (kernels/dispatch.cc).

#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "engine/kernels/avx2/kernels_avx2.h"
#include "engine/kernels/avx2/sgemm_avx2.h"
#include "engine/kernels/kernels.h"

namespace eml::engine::kernels {
namespace {

// No standard-library templates or inline functions here: this file is compiled with wider ISA
// flags than the rest of the binary, and an inline function's out-of-line copy from this file
// could be the one the linker keeps for every caller. Local helpers have internal linkage.
float MaxFloat(float a, float b) { return a < b ? b : a; }
constexpr float kLowest = -3.40282347e+38f;
constexpr float kMinusInf = -__builtin_inff();

constexpr size_t kLanes = 8;

float HorizontalSum(__m256 v) {
  const __m128 lo = _mm256_castps256_ps128(v);
  const __m128 hi = _mm256_extractf128_ps(v, 1);
  __m128 s = _mm_add_ps(lo, hi);
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
  return _mm_cvtss_f32(s);
}

float HorizontalMax(__m256 v) {
  const __m128 lo = _mm256_castps256_ps128(v);
  const __m128 hi = _mm256_extractf128_ps(v, 1);
  __m128 m = _mm_max_ps(lo, hi);
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
  return _mm_cvtss_f32(m);
}

// Exp: Cephes-style range reduction x = n*ln2 + r, degree-6 polynomial for e^r, 2^n from the
// exponent bits. Inputs below ln(FLT_MIN) give 0; inputs are clamped at 88 (never reached here:
// softmax and erf only pass x <= 0).
// Always inlined: a call per vector costs more than the polynomial in softmax loops.
[[gnu::always_inline]] inline __m256 Exp(__m256 x) {
  const __m256 underflow = _mm256_cmp_ps(x, _mm256_set1_ps(-87.3365478515625f), _CMP_LT_OQ);
  x = _mm256_min_ps(x, _mm256_set1_ps(88.0f));
  x = _mm256_max_ps(x, _mm256_set1_ps(-87.3365478515625f));
  const __m256 fx = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  const __m256 r2 = _mm256_mul_ps(r, r);
  const __m256 y = _mm256_add_ps(_mm256_fmadd_ps(p, r2, r), _mm256_set1_ps(1.0f));
  const __m256i n = _mm256_add_epi32(_mm256_cvtps_epi32(fx), _mm256_set1_epi32(127));
  const __m256 pow2n = _mm256_castsi256_ps(_mm256_slli_epi32(n, 23));
  return _mm256_andnot_ps(underflow, _mm256_mul_ps(y, pow2n));
}

// Erf: Abramowitz & Stegun 7.1.26 (absolute error <= 1.5e-7), the form oneDNN's gelu_erf uses.
__m256 Erf(__m256 x) {
  const __m256 sign_mask = _mm256_set1_ps(-0.0f);
  const __m256 sign = _mm256_and_ps(x, sign_mask);
  const __m256 ax = _mm256_andnot_ps(sign_mask, x);
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 t = _mm256_div_ps(one, _mm256_fmadd_ps(_mm256_set1_ps(0.3275911f), ax, one));
  __m256 p = _mm256_set1_ps(1.061405429f);
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-1.453152027f));
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(1.421413741f));
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-0.284496736f));
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(0.254829592f));
  p = _mm256_mul_ps(p, t);
  const __m256 e = Exp(_mm256_sub_ps(_mm256_setzero_ps(), _mm256_mul_ps(ax, ax)));
  const __m256 y = _mm256_fnmadd_ps(p, e, one);
  return _mm256_or_ps(y, sign);
}

void LayerNormAvx2(const float* x, const float* gamma, const float* beta, size_t dim, float eps,
                   float* out) {
  size_t i = 0;
  __m256 acc = _mm256_setzero_ps();
  for (; i + kLanes <= dim; i += kLanes) {
    acc = _mm256_add_ps(acc, _mm256_loadu_ps(x + i));
  }
  float sum = HorizontalSum(acc);
  for (; i < dim; ++i) {
    sum += x[i];
  }
  const float mean = sum / static_cast<float>(dim);
  const __m256 vmean = _mm256_set1_ps(mean);
  acc = _mm256_setzero_ps();
  i = 0;
  for (; i + kLanes <= dim; i += kLanes) {
    const __m256 d = _mm256_sub_ps(_mm256_loadu_ps(x + i), vmean);
    acc = _mm256_fmadd_ps(d, d, acc);
  }
  float sq = HorizontalSum(acc);
  for (; i < dim; ++i) {
    const float d = x[i] - mean;
    sq += d * d;
  }
  const float rstd = 1.0f / __builtin_sqrtf(sq / static_cast<float>(dim) + eps);
  const __m256 vrstd = _mm256_set1_ps(rstd);
  i = 0;
  for (; i + kLanes <= dim; i += kLanes) {
    const __m256 n = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), vmean), vrstd);
    _mm256_storeu_ps(out + i,
                     _mm256_fmadd_ps(n, _mm256_loadu_ps(gamma + i), _mm256_loadu_ps(beta + i)));
  }
  for (; i < dim; ++i) {
    out[i] = (x[i] - mean) * rstd * gamma[i] + beta[i];
  }
}

void GeluAvx2(const float* x, size_t n, float* out) {
  size_t i = 0;
  const __m256 half = _mm256_set1_ps(0.5f);
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 inv_sqrt2 = _mm256_set1_ps(0.70710678118654752440f);
  for (; i + kLanes <= n; i += kLanes) {
    const __m256 v = _mm256_loadu_ps(x + i);
    const __m256 e = Erf(_mm256_mul_ps(v, inv_sqrt2));
    _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_mul_ps(half, v), _mm256_add_ps(one, e)));
  }
  if (i < n) {
    GeluRef(x + i, n - i, out + i);
  }
}

void SoftmaxAvx2(float* x, size_t n) {
  size_t i = 0;
  __m256 vmax = _mm256_set1_ps(kMinusInf);
  for (; i + kLanes <= n; i += kLanes) {
    vmax = _mm256_max_ps(vmax, _mm256_loadu_ps(x + i));
  }
  float max = HorizontalMax(vmax);
  for (; i < n; ++i) {
    max = MaxFloat(max, x[i]);
  }
  vmax = _mm256_set1_ps(max);
  __m256 acc = _mm256_setzero_ps();
  i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    const __m256 e = Exp(_mm256_sub_ps(_mm256_loadu_ps(x + i), vmax));
    _mm256_storeu_ps(x + i, e);
    acc = _mm256_add_ps(acc, e);
  }
  float sum = HorizontalSum(acc);
  for (; i < n; ++i) {
    x[i] = __builtin_expf(x[i] - max);
    sum += x[i];
  }
  const float inv = 1.0f / sum;
  const __m256 vinv = _mm256_set1_ps(inv);
  i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), vinv));
  }
  for (; i < n; ++i) {
    x[i] *= inv;
  }
}

void AddAvx2(const float* a, const float* b, size_t n, float* out) {
  size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    _mm256_storeu_ps(out + i, _mm256_add_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));
  }
  for (; i < n; ++i) {
    out[i] = a[i] + b[i];
  }
}

void MulAvx2(const float* a, const float* b, size_t n, float* out) {
  size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));
  }
  for (; i < n; ++i) {
    out[i] = a[i] * b[i];
  }
}

void AddBiasAvx2(const float* bias, size_t n, float* x) { AddAvx2(x, bias, n, x); }

void ScaleAddAvx2(float scale, const float* bias, size_t n, float* x) {
  const __m256 vs = _mm256_set1_ps(scale);
  size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    const __m256 b = bias != nullptr ? _mm256_loadu_ps(bias + i) : _mm256_setzero_ps();
    // Multiply then add (no FMA), so results equal the reference bit for bit.
    _mm256_storeu_ps(x + i, _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), vs), b));
  }
  if (i < n) {
    ScaleAddRef(scale, bias != nullptr ? bias + i : nullptr, n - i, x + i);
  }
}

// Attention is two small matrix products per block of query rows, both run by the packed fp32
// micro-kernel of sgemm_avx2.cc: scores = Q * (scale * K)^T against K packed into panels of 16
// keys, then out = softmax(scores) * V against V packed into panels of 16 head dimensions. The
// packed copies are contiguous, so neither product strides through the [tokens, 3 * hidden] QKV
// rows (whose 4.5 KiB pitch maps every row to the same few L1 sets). Each score sums over the head
// dimension in order and each output over the keys in order, so the result does not depend on how
// rows are blocked.
constexpr size_t kPanel = kSgemmPanelCols;
constexpr size_t kQueryBlock = 24;

size_t RoundUpToPanel(size_t n) { return (n + kPanel - 1) / kPanel * kPanel; }

void AttentionAvx2(const float* q, const float* k, const float* v, const uint8_t* key_mask,
                   const AttentionShape& shape, float* scratch, float* out) {
  const size_t s = shape.seq_len;
  const size_t d = shape.head_dim;
  const size_t ld = shape.ld_qkv;
  const size_t sp = RoundUpToPanel(s);
  const size_t dp = RoundUpToPanel(d);
  // The micro-kernel's aligned panel loads need 32-byte alignment; the scratch has 8 floats spare.
  float* kp =
      reinterpret_cast<float*>((reinterpret_cast<uintptr_t>(scratch) + 31) & ~uintptr_t{31});
  float* vp = kp + sp * d;                  // [dp / 16][s][16]: V, padded dimensions zero
  float* scores = vp + dp * s;              // [kQueryBlock][sp]
  float* tile = scores + kQueryBlock * sp;  // [kQueryBlock][dp] when d is not a panel multiple
  // kp: [sp / 16][d][16]: scale * K, padded keys zero.
  for (size_t j = 0; j < sp; ++j) {
    float* dst = kp + (j / kPanel) * d * kPanel + j % kPanel;
    for (size_t t = 0; t < d; ++t) {
      dst[t * kPanel] = j < s ? k[j * ld + t] * shape.scale : 0.0f;
    }
  }
  for (size_t j = 0; j < s; ++j) {
    const float* value = v + j * ld;
    for (size_t t = 0; t < dp; ++t) {
      vp[(t / kPanel) * s * kPanel + j * kPanel + t % kPanel] = t < d ? value[t] : 0.0f;
    }
  }
  for (size_t i = 0; i < s; i += kQueryBlock) {
    const size_t rows = s - i < kQueryBlock ? s - i : kQueryBlock;
    PanelProductAvx2(q + i * ld, ld, rows, kp, d, sp / kPanel, scores, sp);
    for (size_t r = 0; r < rows; ++r) {
      float* row = scores + r * sp;
      if (key_mask != nullptr) {
        for (size_t j = 0; j < s; ++j) {
          if (key_mask[j] == 0) {
            row[j] = kLowest;
          }
        }
      }
      SoftmaxAvx2(row, s);
    }
    float* oi = out + i * shape.ld_out;
    if (dp == d) {
      PanelProductAvx2(scores, sp, rows, vp, s, dp / kPanel, oi, shape.ld_out);
    } else {
      PanelProductAvx2(scores, sp, rows, vp, s, dp / kPanel, tile, dp);
      for (size_t r = 0; r < rows; ++r) {
        for (size_t t = 0; t < d; ++t) {
          oi[r * shape.ld_out + t] = tile[r * dp + t];
        }
      }
    }
  }
}

void MeanPoolAvx2(const float* rows, size_t num_rows, size_t ld, size_t dim, const uint8_t* mask,
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
    AddAvx2(out, rows + r * ld, dim, out);
  }
  const __m256 vinv = _mm256_set1_ps(1.0f / MaxFloat(count, 1e-9f));
  size_t i = 0;
  for (; i + kLanes <= dim; i += kLanes) {
    _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_loadu_ps(out + i), vinv));
  }
  for (; i < dim; ++i) {
    out[i] *= 1.0f / MaxFloat(count, 1e-9f);
  }
}

void L2NormalizeAvx2(float* x, size_t n) {
  size_t i = 0;
  __m256 acc = _mm256_setzero_ps();
  for (; i + kLanes <= n; i += kLanes) {
    const __m256 v = _mm256_loadu_ps(x + i);
    acc = _mm256_fmadd_ps(v, v, acc);
  }
  float sq = HorizontalSum(acc);
  for (; i < n; ++i) {
    sq += x[i] * x[i];
  }
  const float inv = 1.0f / MaxFloat(__builtin_sqrtf(sq), 1e-12f);
  const __m256 vinv = _mm256_set1_ps(inv);
  i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), vinv));
  }
  for (; i < n; ++i) {
    x[i] *= inv;
  }
}

float MaxAbsAvx2(const float* x, size_t n) {
  size_t i = 0;
  const __m256 sign_mask = _mm256_set1_ps(-0.0f);
  __m256 vmax = _mm256_setzero_ps();
  for (; i + kLanes <= n; i += kLanes) {
    vmax = _mm256_max_ps(vmax, _mm256_andnot_ps(sign_mask, _mm256_loadu_ps(x + i)));
  }
  float max = HorizontalMax(vmax);
  for (; i < n; ++i) {
    max = MaxFloat(max, __builtin_fabsf(x[i]));
  }
  return max;
}

// Scaled, clamped to [-127, 127] (NaN -> -127 as in the reference) and rounded half to even.
__m256i QuantizeLanes(const float* x, __m256 inv_scale) {
  __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x), inv_scale);
  v = _mm256_max_ps(v, _mm256_set1_ps(-127.0f));  // Second operand wins for NaN.
  v = _mm256_min_ps(v, _mm256_set1_ps(127.0f));
  return _mm256_cvtps_epi32(v);  // MXCSR default rounding: nearest, ties to even.
}

void QuantizeS8Avx2(const float* x, size_t n, float inv_scale, int8_t* out) {
  const __m256 vinv = _mm256_set1_ps(inv_scale);
  const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  size_t i = 0;
  for (; i + 4 * kLanes <= n; i += 4 * kLanes) {
    const __m256i a = QuantizeLanes(x + i, vinv);
    const __m256i b = QuantizeLanes(x + i + 8, vinv);
    const __m256i c = QuantizeLanes(x + i + 16, vinv);
    const __m256i d = QuantizeLanes(x + i + 24, vinv);
    // packs work within 128-bit lanes; the permute restores element order.
    const __m256i ab = _mm256_packs_epi32(a, b);
    const __m256i cd = _mm256_packs_epi32(c, d);
    const __m256i abcd = _mm256_packs_epi16(ab, cd);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i),
                        _mm256_permutevar8x32_epi32(abcd, order));
  }
  if (i < n) {
    QuantizeS8Ref(x + i, n - i, inv_scale, out + i);
  }
}

__m256i Bf16Lanes(const float* x) {
  const __m256 v = _mm256_loadu_ps(x);
  const __m256i bits = _mm256_castps_si256(v);
  const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(bits, 16), _mm256_set1_epi32(1));
  const __m256i rounded = _mm256_srli_epi32(
      _mm256_add_epi32(_mm256_add_epi32(bits, _mm256_set1_epi32(0x7FFF)), lsb), 16);
  const __m256i nan_value = _mm256_or_si256(_mm256_srli_epi32(bits, 16), _mm256_set1_epi32(0x40));
  const __m256i is_nan = _mm256_castps_si256(_mm256_cmp_ps(v, v, _CMP_UNORD_Q));
  return _mm256_blendv_epi8(rounded, nan_value, is_nan);
}

void ToBf16Avx2(const float* x, size_t n, uint16_t* out) {
  size_t i = 0;
  for (; i + 2 * kLanes <= n; i += 2 * kLanes) {
    const __m256i packed = _mm256_packus_epi32(Bf16Lanes(x + i), Bf16Lanes(x + i + 8));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i),
                        _mm256_permute4x64_epi64(packed, 0xD8));
  }
  if (i < n) {
    ToBf16Ref(x + i, n - i, out + i);
  }
}

}  // namespace

const KernelTable& Avx2KernelTable() {
  static constexpr KernelTable kTable = {
      .isa = Isa::kAvx2,
      .layer_norm = LayerNormAvx2,
      .gelu = GeluAvx2,
      .softmax = SoftmaxAvx2,
      .add = AddAvx2,
      .add_bias = AddBiasAvx2,
      .mul = MulAvx2,
      .scale_add = ScaleAddAvx2,
      .attention = AttentionAvx2,
      .mean_pool = MeanPoolAvx2,
      .l2_normalize = L2NormalizeAvx2,
      .max_abs = MaxAbsAvx2,
      .quantize_s8 = QuantizeS8Avx2,
      .to_bf16 = ToBf16Avx2,
  };
  return kTable;
}

}  // namespace eml::engine::kernels
