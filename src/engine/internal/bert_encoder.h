#pragma once
// BertEncoder: the BERT encoder forward pass over a packed batch. All sequences of a batch are
// concatenated into one [total_tokens, hidden] matrix (no padding to the longest): every matmul
// is per token and runs once over the whole batch; attention runs per (sequence, head) over that
// sequence's own rows.
//
// Per layer: fused QKV matmul [hidden -> 3*hidden] (built at load from the q/k/v weights),
// attention, output projection, residual + LayerNorm, FFN in + GELU, FFN out, residual +
// LayerNorm. Embeddings: (word + token type) + position, then LayerNorm, as Hugging Face does.
//
// Plan, then run (STYLE.md K3): EncoderWorkspace holds every buffer; Reserve grows it for a batch
// (only when the batch is larger than any before), Forward allocates no buffers.
//
// Thread safety: a BertEncoder is immutable after Create and may run Forward from several threads
// at once, each with its own workspace and stream.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "common/result.h"
#include "engine/internal/aligned_buffer.h"
#include "engine/internal/linear.h"
#include "engine/kernels/kernels.h"
#include "model/bert.h"
#include "model/safetensors.h"
#include "oneapi/dnnl/dnnl.hpp"

namespace eml::engine::internal {

// Which matmul type each of a layer's four projections uses.
struct MatmulPlan {
  MatmulType qkv = MatmulType::kF32;
  MatmulType attn_out = MatmulType::kF32;
  MatmulType ffn_in = MatmulType::kF32;
  MatmulType ffn_out = MatmulType::kF32;
};

// A batch of token sequences packed back to back. offsets has num_sequences + 1 entries:
// sequence i is tokens [offsets[i], offsets[i + 1]). type_ids is empty (all 0) or as long as ids.
struct PackedBatch {
  std::span<const int32_t> ids;
  std::span<const int32_t> type_ids;
  std::span<const size_t> offsets;
};

class BertEncoder;

class EncoderWorkspace {
 public:
  // Reserve makes room for `num_tokens` tokens in sequences of at most `max_seq_len` tokens,
  // with `num_threads` OpenMP threads. Buffers only grow.
  void Reserve(const BertEncoder& encoder, size_t num_tokens, size_t max_seq_len,
               size_t num_threads);
  // hidden returns the encoder output of the last Forward: [num_tokens, hidden] row-major.
  const float* hidden() const { return hidden_.floats(); }
  // capacity_bytes is the memory held, for tests and logs.
  size_t capacity_bytes() const;

 private:
  friend class BertEncoder;
  AlignedBuffer hidden_, tmp_, qkv_, ctx_, inter_;
  AlignedBuffer converted_, row_scales_, thread_scratch_, scratchpad_, attention_scratch_;
  size_t attention_scratch_stride_ = 0;  // floats per thread
  size_t num_tokens_ = 0;
  size_t max_seq_len_ = 0;
  size_t num_threads_ = 0;
};

class BertEncoder {
 public:
  // Create reads the weights named by ResolveBertWeightNames from `file` (F32/F16/BF16 widened
  // to f32) and builds the matmul primitives of `plan`. The file may be destroyed afterwards.
  // Errors: those of ResolveBertWeightNames and ReadAsF32, kModelUnsupportedConfig (hidden_act
  // not "gelu"), kEngineUnsupportedPrecision and kInternal from Linear::Create.
  static Result<std::unique_ptr<BertEncoder>> Create(const model::BertConfig& config,
                                                     const model::SafetensorsFile& file,
                                                     const MatmulPlan& plan,
                                                     const kernels::KernelTable& kernels);

  // Forward runs the encoder over `batch`; the result is workspace->hidden(). The workspace must
  // have been Reserve()d for at least this batch (tokens, longest sequence, threads).
  // Errors: kEngineBadTokens (an empty sequence, one longer than max_position_embeddings, a token
  // id outside the vocabulary, a type id outside type_vocab_size, inconsistent offsets),
  // kInternal (oneDNN failure).
  Status Forward(const PackedBatch& batch, EncoderWorkspace* workspace, dnnl::stream& stream) const;

  const model::BertConfig& config() const { return config_; }
  const kernels::KernelTable& kernels() const { return *kernels_; }
  const MatmulPlan& plan() const { return plan_; }
  // The largest converted-src (for m rows), scratchpad and per-thread scratch sizes of the
  // layers' matmuls.
  size_t MaxConvertedSrcBytes(size_t m) const;
  size_t MaxScratchpadBytes() const;
  size_t MaxThreadScratchBytes() const;
  // first_layer_impl names oneDNN's implementation of the QKV matmul (logs, benchmarks).
  const char* first_layer_impl() const;

 private:
  struct Layer {
    Linear qkv, attn_out, ffn_in, ffn_out;
    std::vector<float> attn_ln_gamma, attn_ln_beta, out_ln_gamma, out_ln_beta;
  };
  BertEncoder() = default;
  Status CheckBatch(const PackedBatch& batch) const;
  void Embed(const PackedBatch& batch, float* hidden) const;
  void Attention(const PackedBatch& batch, EncoderWorkspace* ws) const;
  void AddAndNorm(const float* residual, const std::vector<float>& gamma,
                  const std::vector<float>& beta, size_t num_tokens, float* inout) const;

  model::BertConfig config_;
  MatmulPlan plan_;
  const kernels::KernelTable* kernels_ = nullptr;
  std::vector<float> word_, position_, token_type_, emb_ln_gamma_, emb_ln_beta_;
  // MaxOverLinears returns the largest size(linear) over every layer's matmuls.
  template <typename Size>
  size_t MaxOverLinears(Size size) const;

  std::vector<Layer> layers_;
};

}  // namespace eml::engine::internal
