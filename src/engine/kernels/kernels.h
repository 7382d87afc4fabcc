#pragma once
// Row kernels of the BERT forward pass: LayerNorm, GELU (erf form), softmax, one-head attention,
// masked mean pooling, L2 normalization, bias and residual adds, and the converters that feed
// the low-precision matmuls (dynamic int8 quantization, bf16 rounding).
//
// Each kernel has a scalar `...Ref` twin (the definition of the result) and per-ISA versions in
// kernels/avx2/ and kernels/avx512/, compiled with their own target flags so one binary runs on
// any x86-64 CPU. SelectKernels() picks a table once from CPUID; EML_FORCE_REF_KERNELS=1 (or the
// force_ref argument) forces the references. The tables are immutable and thread-safe; every
// kernel works on caller-owned memory, allocates nothing and may run on many threads at once.
//
// Pointers must be non-null and valid for the stated lengths; `out` may alias `x` where stated.
// These are internal inputs (shapes come from a validated model config), so the kernels do not
// check them.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace eml::engine::kernels {

enum class Isa { kRef, kAvx2, kAvx512 };

std::string_view IsaName(Isa isa);

// Shape of one attention head over one sequence. q/k/v rows are `ld_qkv` floats apart (they are
// column slices of the packed [tokens, 3*hidden] QKV matrix); output rows are `ld_out` apart.
struct AttentionShape {
  size_t seq_len = 0;
  size_t head_dim = 0;
  size_t ld_qkv = 0;
  size_t ld_out = 0;
  float scale = 1.0f;  // Usually 1/sqrt(head_dim).
};

// AttentionScratchFloats is the number of floats of scratch that `attention` needs.
size_t AttentionScratchFloats(size_t seq_len, size_t head_dim);

struct KernelTable {
  Isa isa;
  // out = (x - mean) / sqrt(var + eps) * gamma + beta over one row of `dim`; out may alias x.
  void (*layer_norm)(const float* x, const float* gamma, const float* beta, size_t dim, float eps,
                     float* out);
  // out = 0.5 * x * (1 + erf(x / sqrt(2))) (PyTorch nn.GELU default); out may alias x.
  void (*gelu)(const float* x, size_t n, float* out);
  // In-place softmax of one row (max-subtracted).
  void (*softmax)(float* x, size_t n);
  // out = a + b (residual); out may alias a or b.
  void (*add)(const float* a, const float* b, size_t n, float* out);
  // x += bias.
  void (*add_bias)(const float* bias, size_t n, float* x);
  // out = a * b elementwise; out may alias a or b.
  void (*mul)(const float* a, const float* b, size_t n, float* out);
  // x = x * scale + bias (bias may be null: x *= scale). Dequantizes an int8 matmul row.
  void (*scale_add)(float scale, const float* bias, size_t n, float* x);
  // Scaled-dot-product attention of one head over one sequence: out_i = sum_j softmax_j(scale *
  // q_i.k_j) v_j, keys with key_mask[j] == 0 excluded (key_mask may be null: all keys valid).
  // `scratch` holds AttentionScratchFloats(seq_len, head_dim) floats.
  void (*attention)(const float* q, const float* k, const float* v, const uint8_t* key_mask,
                    const AttentionShape& shape, float* scratch, float* out);
  // out[dim] = sum_i mask[i] * rows[i] / max(sum_i mask[i], 1e-9) over num_rows rows `ld` apart
  // (mask may be null: all rows count), as sentence-transformers' mean pooling.
  void (*mean_pool)(const float* rows, size_t num_rows, size_t ld, size_t dim, const uint8_t* mask,
                    float* out);
  // x /= max(||x||_2, 1e-12), as torch.nn.functional.normalize.
  void (*l2_normalize)(float* x, size_t n);
  // max_i |x_i| (0 for n == 0).
  float (*max_abs)(const float* x, size_t n);
  // out_i = clamp(nearbyint(x_i * inv_scale), -127, 127) (round half to even).
  void (*quantize_s8)(const float* x, size_t n, float inv_scale, int8_t* out);
  // out_i = x_i rounded to bfloat16 (nearest, ties to even; NaN stays NaN).
  void (*to_bf16)(const float* x, size_t n, uint16_t* out);
};

// The scalar references.
void LayerNormRef(const float* x, const float* gamma, const float* beta, size_t dim, float eps,
                  float* out);
void GeluRef(const float* x, size_t n, float* out);
void SoftmaxRef(float* x, size_t n);
void AddRef(const float* a, const float* b, size_t n, float* out);
void AddBiasRef(const float* bias, size_t n, float* x);
void MulRef(const float* a, const float* b, size_t n, float* out);
void ScaleAddRef(float scale, const float* bias, size_t n, float* x);
void AttentionRef(const float* q, const float* k, const float* v, const uint8_t* key_mask,
                  const AttentionShape& shape, float* scratch, float* out);
void MeanPoolRef(const float* rows, size_t num_rows, size_t ld, size_t dim, const uint8_t* mask,
                 float* out);
void L2NormalizeRef(float* x, size_t n);
float MaxAbsRef(const float* x, size_t n);
void QuantizeS8Ref(const float* x, size_t n, float inv_scale, int8_t* out);
void ToBf16Ref(const float* x, size_t n, uint16_t* out);

// The table of references.
const KernelTable& RefKernels();
// IsaKernels returns the table for `isa`, or null when this CPU cannot run it.
const KernelTable* IsaKernels(Isa isa);
// SelectKernels returns the best table this CPU supports, or RefKernels() when force_ref is true
// or the environment sets EML_FORCE_REF_KERNELS=1. CPUID is read once per process.
const KernelTable& SelectKernels(bool force_ref = false);
// IsForceRefValue reports whether an EML_FORCE_REF_KERNELS value (null when unset) forces the
// references: exactly "1".
bool IsForceRefValue(const char* value);

}  // namespace eml::engine::kernels
