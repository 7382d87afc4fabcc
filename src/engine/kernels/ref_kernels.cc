// Scalar reference kernels: plain loops in the order the math is written. They define the
// results the SIMD kernels are tested against, and run when EML_FORCE_REF_KERNELS=1.

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

#include "engine/kernels/kernels.h"

namespace eml::engine::kernels {

void LayerNormRef(const float* x, const float* gamma, const float* beta, size_t dim, float eps,
                  float* out) {
  float sum = 0.0f;
  for (size_t i = 0; i < dim; ++i) {
    sum += x[i];
  }
  const float mean = sum / static_cast<float>(dim);
  float sq = 0.0f;
  for (size_t i = 0; i < dim; ++i) {
    const float d = x[i] - mean;
    sq += d * d;
  }
  const float rstd = 1.0f / std::sqrt(sq / static_cast<float>(dim) + eps);
  for (size_t i = 0; i < dim; ++i) {
    out[i] = (x[i] - mean) * rstd * gamma[i] + beta[i];
  }
}

void GeluRef(const float* x, size_t n, float* out) {
  for (size_t i = 0; i < n; ++i) {
    const double v = x[i];
    out[i] = static_cast<float>(0.5 * v * (1.0 + std::erf(v * 0.70710678118654752440)));
  }
}

void SoftmaxRef(float* x, size_t n) {
  float max = -std::numeric_limits<float>::infinity();
  for (size_t i = 0; i < n; ++i) {
    max = std::max(max, x[i]);
  }
  float sum = 0.0f;
  for (size_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - max);
    sum += x[i];
  }
  const float inv = 1.0f / sum;
  for (size_t i = 0; i < n; ++i) {
    x[i] *= inv;
  }
}

void AddRef(const float* a, const float* b, size_t n, float* out) {
  for (size_t i = 0; i < n; ++i) {
    out[i] = a[i] + b[i];
  }
}

void AddBiasRef(const float* bias, size_t n, float* x) {
  for (size_t i = 0; i < n; ++i) {
    x[i] += bias[i];
  }
}

void MulRef(const float* a, const float* b, size_t n, float* out) {
  for (size_t i = 0; i < n; ++i) {
    out[i] = a[i] * b[i];
  }
}

void ScaleAddRef(float scale, const float* bias, size_t n, float* x) {
  for (size_t i = 0; i < n; ++i) {
    x[i] = x[i] * scale + (bias != nullptr ? bias[i] : 0.0f);
  }
}

size_t AttentionScratchFloats(size_t seq_len, size_t head_dim) {
  // The widest user is the AVX2 kernel: K and V packed into panels of 16 (both dimensions padded
  // to 16), score and output rows of a block of 24 queries, and 8 floats to align the panels to
  // 32 bytes. The AVX-512 kernel needs less (K transposed and one score row).
  constexpr size_t kMaxQueryRows = 24;
  const size_t padded_seq = (seq_len + 15) / 16 * 16;
  const size_t padded_dim = (head_dim + 15) / 16 * 16;
  return 8 + padded_seq * head_dim + padded_dim * seq_len +
         kMaxQueryRows * (padded_seq + padded_dim);
}

void AttentionRef(const float* q, const float* k, const float* v, const uint8_t* key_mask,
                  const AttentionShape& shape, float* scratch, float* out) {
  const size_t s = shape.seq_len;
  const size_t d = shape.head_dim;
  float* scores = scratch;
  for (size_t i = 0; i < s; ++i) {
    const float* qi = q + i * shape.ld_qkv;
    for (size_t j = 0; j < s; ++j) {
      if (key_mask != nullptr && key_mask[j] == 0) {
        scores[j] = std::numeric_limits<float>::lowest();
        continue;
      }
      const float* kj = k + j * shape.ld_qkv;
      float dot = 0.0f;
      for (size_t t = 0; t < d; ++t) {
        dot += qi[t] * kj[t];
      }
      scores[j] = dot * shape.scale;
    }
    SoftmaxRef(scores, s);
    float* oi = out + i * shape.ld_out;
    for (size_t t = 0; t < d; ++t) {
      oi[t] = 0.0f;
    }
    for (size_t j = 0; j < s; ++j) {
      const float* vj = v + j * shape.ld_qkv;
      for (size_t t = 0; t < d; ++t) {
        oi[t] += scores[j] * vj[t];
      }
    }
  }
}

void MeanPoolRef(const float* rows, size_t num_rows, size_t ld, size_t dim, const uint8_t* mask,
                 float* out) {
  float count = 0.0f;
  for (size_t t = 0; t < dim; ++t) {
    out[t] = 0.0f;
  }
  for (size_t i = 0; i < num_rows; ++i) {
    if (mask != nullptr && mask[i] == 0) {
      continue;
    }
    count += 1.0f;
    for (size_t t = 0; t < dim; ++t) {
      out[t] += rows[i * ld + t];
    }
  }
  const float inv = 1.0f / std::max(count, 1e-9f);
  for (size_t t = 0; t < dim; ++t) {
    out[t] *= inv;
  }
}

void L2NormalizeRef(float* x, size_t n) {
  float sq = 0.0f;
  for (size_t i = 0; i < n; ++i) {
    sq += x[i] * x[i];
  }
  const float inv = 1.0f / std::max(std::sqrt(sq), 1e-12f);
  for (size_t i = 0; i < n; ++i) {
    x[i] *= inv;
  }
}

float MaxAbsRef(const float* x, size_t n) {
  float max = 0.0f;
  for (size_t i = 0; i < n; ++i) {
    max = std::max(max, std::fabs(x[i]));
  }
  return max;
}

void QuantizeS8Ref(const float* x, size_t n, float inv_scale, int8_t* out) {
  for (size_t i = 0; i < n; ++i) {
    const float r = std::nearbyint(x[i] * inv_scale);
    out[i] = static_cast<int8_t>(std::clamp(r, -127.0f, 127.0f));
  }
}

void ToBf16Ref(const float* x, size_t n, uint16_t* out) {
  for (size_t i = 0; i < n; ++i) {
    const uint32_t bits = std::bit_cast<uint32_t>(x[i]);
    if (std::isnan(x[i])) {
      out[i] = static_cast<uint16_t>((bits >> 16) | 0x40u);  // Keep it a (quiet) NaN.
      continue;
    }
    const uint32_t rounded = bits + 0x7FFFu + ((bits >> 16) & 1u);
    out[i] = static_cast<uint16_t>(rounded >> 16);
  }
}

const KernelTable& RefKernels() {
  static constexpr KernelTable kTable = {
      .isa = Isa::kRef,
      .layer_norm = LayerNormRef,
      .gelu = GeluRef,
      .softmax = SoftmaxRef,
      .add = AddRef,
      .add_bias = AddBiasRef,
      .mul = MulRef,
      .scale_add = ScaleAddRef,
      .attention = AttentionRef,
      .mean_pool = MeanPoolRef,
      .l2_normalize = L2NormalizeRef,
      .max_abs = MaxAbsRef,
      .quantize_s8 = QuantizeS8Ref,
      .to_bf16 = ToBf16Ref,
  };
  return kTable;
}

}  // namespace eml::engine::kernels
