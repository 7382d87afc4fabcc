#include "engine/internal/bert_encoder.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

namespace eml::engine::internal {
namespace {

// Below this many floats of work a row loop runs on the calling thread.
constexpr size_t kParallelElements = 1 << 15;

// SmoothQuant-style factors (alpha = 0.5) for an int8 projection whose input is a LayerNorm
// output: s_j = sqrt(a_j / w_j), with a_j = kLayerNormSigmas * |gamma_j| + |beta_j| the expected
// range of input channel j (LayerNorm outputs are gamma * N(0, 1) + beta, so the gains predict
// BERT's outlier channels without calibration data) and w_j = max_o |W[o, j]|.
constexpr float kLayerNormSigmas = 4.0f;

std::vector<float> SmoothingFactors(std::span<const float> gamma, std::span<const float> beta,
                                    std::span<const float> weight, size_t in) {
  std::vector<float> w_max(in, 0.0f);
  for (size_t k = 0; k < weight.size(); ++k) {
    w_max[k % in] = std::max(w_max[k % in], std::fabs(weight[k]));
  }
  std::vector<float> s(in, 1.0f);
  for (size_t j = 0; j < in; ++j) {
    const float a = kLayerNormSigmas * std::fabs(gamma[j]) + std::fabs(beta[j]);
    if (a > 0.0f && w_max[j] > 0.0f) {
      s[j] = std::clamp(std::sqrt(a / w_max[j]), 1e-3f, 1e3f);
    }
  }
  return s;
}

// The LayerNorm feeding a projection (for its smoothing factors).
struct InputNorm {
  std::span<const float> gamma;
  std::span<const float> beta;
};

Result<std::vector<float>> Read(const model::SafetensorsFile& file, const std::string& name,
                                const std::vector<int64_t>& shape) {
  return file.ReadAsF32(name, shape);
}

Result<Linear> LoadLinear(const model::SafetensorsFile& file, MatmulType type,
                          const std::string& weight_name, const std::string& bias_name, size_t in,
                          size_t out, const InputNorm* input_norm = nullptr) {
  const std::vector<int64_t> weight_shape = {static_cast<int64_t>(out), static_cast<int64_t>(in)};
  const std::vector<int64_t> bias_shape = {static_cast<int64_t>(out)};
  // Views where the file allows: the reorder into oneDNN's layout is then the only copy.
  std::vector<float> weight_scratch;
  std::vector<float> bias_scratch;
  EML_ASSIGN_OR_RETURN(const std::span<const float> weight,
                       file.ViewAsF32(weight_name, weight_shape, weight_scratch));
  EML_ASSIGN_OR_RETURN(const std::span<const float> bias,
                       file.ViewAsF32(bias_name, bias_shape, bias_scratch));
  if (type != MatmulType::kInt8 || input_norm == nullptr) {
    return Linear::Create(type, in, out, weight, bias);
  }
  return Linear::Create(type, in, out, weight, bias,
                        SmoothingFactors(input_norm->gamma, input_norm->beta, weight, in));
}

// The fused QKV projection: rows of Wq, Wk, Wv stacked into [3H, H], biases into [3H].
Result<Linear> LoadQkv(const model::SafetensorsFile& file, MatmulType type,
                       const model::BertLayerNames& names, size_t hidden,
                       const InputNorm& input_norm) {
  const std::vector<int64_t> weight_shape = {static_cast<int64_t>(hidden),
                                             static_cast<int64_t>(hidden)};
  const std::vector<int64_t> bias_shape = {static_cast<int64_t>(hidden)};
  std::vector<float> weight;
  std::vector<float> bias;
  weight.reserve(3 * hidden * hidden);
  bias.reserve(3 * hidden);
  const std::pair<const std::string*, const std::string*> parts[] = {
      {&names.q_w, &names.q_b}, {&names.k_w, &names.k_b}, {&names.v_w, &names.v_b}};
  for (const auto& [w_name, b_name] : parts) {
    EML_ASSIGN_OR_RETURN(std::vector<float> w, Read(file, *w_name, weight_shape));
    EML_ASSIGN_OR_RETURN(std::vector<float> b, Read(file, *b_name, bias_shape));
    weight.insert(weight.end(), w.begin(), w.end());
    bias.insert(bias.end(), b.begin(), b.end());
  }
  if (type != MatmulType::kInt8) {
    return Linear::Create(type, hidden, 3 * hidden, weight, bias);
  }
  return Linear::Create(type, hidden, 3 * hidden, weight, bias,
                        SmoothingFactors(input_norm.gamma, input_norm.beta, weight, hidden));
}

}  // namespace

size_t EncoderWorkspace::capacity_bytes() const {
  return hidden_.capacity_bytes() + tmp_.capacity_bytes() + qkv_.capacity_bytes() +
         ctx_.capacity_bytes() + inter_.capacity_bytes() + converted_.capacity_bytes() +
         row_scales_.capacity_bytes() + thread_scratch_.capacity_bytes() +
         scratchpad_.capacity_bytes() + attention_scratch_.capacity_bytes();
}

void EncoderWorkspace::Reserve(const BertEncoder& encoder, size_t num_tokens, size_t max_seq_len,
                               size_t num_threads) {
  num_tokens = std::max(num_tokens, num_tokens_);
  max_seq_len = std::max(max_seq_len, max_seq_len_);
  num_threads = std::max(num_threads, num_threads_);
  const auto hidden = static_cast<size_t>(encoder.config().hidden_size);
  const auto inter = static_cast<size_t>(encoder.config().intermediate_size);
  const auto head_dim = static_cast<size_t>(encoder.config().head_dim());
  hidden_.EnsureBytes(num_tokens * hidden * sizeof(float));
  tmp_.EnsureBytes(num_tokens * hidden * sizeof(float));
  ctx_.EnsureBytes(num_tokens * hidden * sizeof(float));
  qkv_.EnsureBytes(num_tokens * 3 * hidden * sizeof(float));
  inter_.EnsureBytes(num_tokens * inter * sizeof(float));
  converted_.EnsureBytes(encoder.MaxConvertedSrcBytes(num_tokens));
  row_scales_.EnsureBytes(num_tokens * sizeof(float));
  thread_scratch_.EnsureBytes(num_threads * encoder.MaxThreadScratchBytes());
  scratchpad_.EnsureBytes(encoder.MaxScratchpadBytes());
  // Per-thread attention scratch, rounded to whole cache lines so threads never share one.
  attention_scratch_stride_ =
      (kernels::AttentionScratchFloats(max_seq_len, head_dim) + 15) / 16 * 16;
  attention_scratch_.EnsureBytes(num_threads * attention_scratch_stride_ * sizeof(float));
  num_tokens_ = num_tokens;
  max_seq_len_ = max_seq_len;
  num_threads_ = num_threads;
}

Result<std::unique_ptr<BertEncoder>> BertEncoder::Create(const model::BertConfig& config,
                                                         const model::SafetensorsFile& file,
                                                         const MatmulPlan& plan,
                                                         const kernels::KernelTable& kernels) {
  if (config.hidden_act != "gelu") {
    return Error{ErrorCode::kModelUnsupportedConfig, "hidden_act must be gelu (erf form)"};
  }
  EML_ASSIGN_OR_RETURN(const model::BertWeightNames names,
                       model::ResolveBertWeightNames(file, config));
  const model::BertShapes shapes = model::ExpectedBertShapes(config);
  std::unique_ptr<BertEncoder> encoder(new BertEncoder());
  encoder->config_ = config;
  encoder->plan_ = plan;
  encoder->kernels_ = &kernels;
  {
    std::vector<float> scratch;
    EML_ASSIGN_OR_RETURN(const std::span<const float> word,
                         file.ViewAsF32(names.embeddings.word, shapes.word, scratch));
    encoder->word_.assign(word.begin(), word.end());  // one pass: no zero fill first
  }
  EML_ASSIGN_OR_RETURN(encoder->position_, Read(file, names.embeddings.position, shapes.position));
  EML_ASSIGN_OR_RETURN(encoder->token_type_,
                       Read(file, names.embeddings.token_type, shapes.token_type));
  EML_ASSIGN_OR_RETURN(encoder->emb_ln_gamma_,
                       Read(file, names.embeddings.ln_gamma, shapes.hidden));
  EML_ASSIGN_OR_RETURN(encoder->emb_ln_beta_, Read(file, names.embeddings.ln_beta, shapes.hidden));
  const auto hidden = static_cast<size_t>(config.hidden_size);
  const auto inter = static_cast<size_t>(config.intermediate_size);
  encoder->layers_.reserve(names.layers.size());
  for (const model::BertLayerNames& ln : names.layers) {
    Layer layer;
    EML_ASSIGN_OR_RETURN(layer.attn_ln_gamma, Read(file, ln.attn_ln_g, shapes.hidden));
    EML_ASSIGN_OR_RETURN(layer.attn_ln_beta, Read(file, ln.attn_ln_b, shapes.hidden));
    EML_ASSIGN_OR_RETURN(layer.out_ln_gamma, Read(file, ln.out_ln_g, shapes.hidden));
    EML_ASSIGN_OR_RETURN(layer.out_ln_beta, Read(file, ln.out_ln_b, shapes.hidden));
    // The QKV input is the previous layer's output LayerNorm (the embeddings' for layer 0).
    const InputNorm qkv_norm =
        encoder->layers_.empty()
            ? InputNorm{encoder->emb_ln_gamma_, encoder->emb_ln_beta_}
            : InputNorm{encoder->layers_.back().out_ln_gamma, encoder->layers_.back().out_ln_beta};
    const InputNorm ffn_norm{layer.attn_ln_gamma, layer.attn_ln_beta};
    EML_ASSIGN_OR_RETURN(layer.qkv, LoadQkv(file, plan.qkv, ln, hidden, qkv_norm));
    EML_ASSIGN_OR_RETURN(layer.attn_out, LoadLinear(file, plan.attn_out, ln.attn_out_w,
                                                    ln.attn_out_b, hidden, hidden));
    EML_ASSIGN_OR_RETURN(layer.ffn_in, LoadLinear(file, plan.ffn_in, ln.ffn_in_w, ln.ffn_in_b,
                                                  hidden, inter, &ffn_norm));
    EML_ASSIGN_OR_RETURN(layer.ffn_out,
                         LoadLinear(file, plan.ffn_out, ln.ffn_out_w, ln.ffn_out_b, inter, hidden));
    encoder->layers_.push_back(std::move(layer));
  }
  return encoder;
}

template <typename Size>
size_t BertEncoder::MaxOverLinears(Size size) const {
  size_t largest = 0;
  for (const Layer& l : layers_) {
    for (const Linear* lin : {&l.qkv, &l.attn_out, &l.ffn_in, &l.ffn_out}) {
      largest = std::max(largest, size(*lin));
    }
  }
  return largest;
}

size_t BertEncoder::MaxConvertedSrcBytes(size_t m) const {
  return MaxOverLinears([m](const Linear& lin) { return lin.ConvertedSrcBytes(m); });
}

size_t BertEncoder::MaxThreadScratchBytes() const {
  return MaxOverLinears([](const Linear& lin) { return lin.thread_scratch_bytes(); });
}

size_t BertEncoder::MaxScratchpadBytes() const {
  return MaxOverLinears([](const Linear& lin) { return lin.scratchpad_bytes(); });
}

const char* BertEncoder::first_layer_impl() const {
  return layers_.empty() ? "none" : layers_.front().qkv.impl_info();
}

Status BertEncoder::CheckBatch(const PackedBatch& batch) const {
  const auto& offsets = batch.offsets;
  if (offsets.size() < 2 || offsets.front() != 0 || offsets.back() != batch.ids.size()) {
    return Error{ErrorCode::kEngineBadTokens, "offsets do not cover the token ids"};
  }
  if (!batch.type_ids.empty() && batch.type_ids.size() != batch.ids.size()) {
    return Error{ErrorCode::kEngineBadTokens, "type_ids and ids differ in length"};
  }
  const auto max_positions = static_cast<size_t>(config_.max_position_embeddings);
  for (size_t i = 0; i + 1 < offsets.size(); ++i) {
    if (offsets[i + 1] <= offsets[i] || offsets[i + 1] - offsets[i] > max_positions) {
      return Error{ErrorCode::kEngineBadTokens, "sequence " + std::to_string(i) +
                                                    " is empty or longer than " +
                                                    std::to_string(max_positions) + " tokens"};
    }
  }
  for (const int32_t id : batch.ids) {
    if (id < 0 || id >= config_.vocab_size) {
      return Error{ErrorCode::kEngineBadTokens,
                   "token id " + std::to_string(id) + " outside the vocabulary"};
    }
  }
  for (const int32_t type : batch.type_ids) {
    if (type < 0 || type >= config_.type_vocab_size) {
      return Error{ErrorCode::kEngineBadTokens,
                   "type id " + std::to_string(type) + " outside type_vocab_size"};
    }
  }
  return OkStatus();
}

void BertEncoder::Embed(const PackedBatch& batch, float* hidden_out) const {
  const auto hidden = static_cast<size_t>(config_.hidden_size);
  const size_t num_seqs = batch.offsets.size() - 1;
  const size_t num_tokens = batch.ids.size();
  const kernels::KernelTable& k = *kernels_;
#pragma omp parallel for schedule(static) if (num_tokens * hidden >= kParallelElements)
  for (size_t s = 0; s < num_seqs; ++s) {
    for (size_t t = batch.offsets[s]; t < batch.offsets[s + 1]; ++t) {
      float* row = hidden_out + t * hidden;
      const auto id = static_cast<size_t>(batch.ids[t]);
      const auto type = batch.type_ids.empty() ? size_t{0} : static_cast<size_t>(batch.type_ids[t]);
      const size_t pos = t - batch.offsets[s];
      k.add(word_.data() + id * hidden, token_type_.data() + type * hidden, hidden, row);
      k.add(row, position_.data() + pos * hidden, hidden, row);
      k.layer_norm(row, emb_ln_gamma_.data(), emb_ln_beta_.data(), hidden, config_.layer_norm_eps,
                   row);
    }
  }
}

void BertEncoder::Attention(const PackedBatch& batch, EncoderWorkspace* ws) const {
  const auto hidden = static_cast<size_t>(config_.hidden_size);
  const auto heads = static_cast<size_t>(config_.num_heads);
  const size_t head_dim = hidden / heads;
  const size_t num_seqs = batch.offsets.size() - 1;
  const size_t pairs = num_seqs * heads;
  const float* qkv = ws->qkv_.floats();
  float* ctx = ws->ctx_.floats();
  float* scratch_base = ws->attention_scratch_.floats();
  const size_t stride = ws->attention_scratch_stride_;
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  const kernels::KernelTable& k = *kernels_;
  // Work ~ sum of seq_len^2 * head_dim per pair; parallel when the batch is not tiny.
  const bool parallel = batch.ids.size() * hidden >= kParallelElements / 8 && pairs > 1;
  // Each (sequence, head) pair is computed whole by one thread, so the result does not depend
  // on the schedule; dynamic scheduling balances sequences of different lengths.
#pragma omp parallel for schedule(dynamic, 1) if (parallel)
  for (size_t p = 0; p < pairs; ++p) {
    const size_t s = p / heads;
    const size_t h = p % heads;
    const size_t begin = batch.offsets[s];
    const kernels::AttentionShape shape{.seq_len = batch.offsets[s + 1] - begin,
                                        .head_dim = head_dim,
                                        .ld_qkv = 3 * hidden,
                                        .ld_out = hidden,
                                        .scale = scale};
    const float* q = qkv + begin * 3 * hidden + h * head_dim;
    float* scratch = scratch_base + static_cast<size_t>(omp_get_thread_num()) * stride;
    k.attention(q, q + hidden, q + 2 * hidden, /*key_mask=*/nullptr, shape, scratch,
                ctx + begin * hidden + h * head_dim);
  }
}

void BertEncoder::AddAndNorm(const float* residual, const std::vector<float>& gamma,
                             const std::vector<float>& beta, size_t num_tokens,
                             float* inout) const {
  const auto hidden = static_cast<size_t>(config_.hidden_size);
  const kernels::KernelTable& k = *kernels_;
#pragma omp parallel for schedule(static) if (num_tokens * hidden >= kParallelElements)
  for (size_t t = 0; t < num_tokens; ++t) {
    float* row = inout + t * hidden;
    k.add(row, residual + t * hidden, hidden, row);
    k.layer_norm(row, gamma.data(), beta.data(), hidden, config_.layer_norm_eps, row);
  }
}

Status BertEncoder::Forward(const PackedBatch& batch, EncoderWorkspace* ws,
                            dnnl::stream& stream) const {
  EML_RETURN_IF_ERROR(CheckBatch(batch));
  const size_t num_tokens = batch.ids.size();
  size_t longest = 0;
  for (size_t i = 0; i + 1 < batch.offsets.size(); ++i) {
    longest = std::max(longest, batch.offsets[i + 1] - batch.offsets[i]);
  }
  EML_CHECK(num_tokens <= ws->num_tokens_ && longest <= ws->max_seq_len_ &&
            static_cast<size_t>(omp_get_max_threads()) <= ws->num_threads_);
  const auto inter = static_cast<size_t>(config_.intermediate_size);
  const kernels::KernelTable& k = *kernels_;
  const LinearBuffers buffers{.converted_src = ws->converted_.data(),
                              .row_scales = ws->row_scales_.floats(),
                              .thread_scratch = ws->thread_scratch_.data(),
                              .scratchpad = ws->scratchpad_.data()};
  float* hidden = ws->hidden_.floats();
  float* tmp = ws->tmp_.floats();
  float* inter_buf = ws->inter_.floats();
  Embed(batch, hidden);
  for (const Layer& layer : layers_) {
    EML_RETURN_IF_ERROR(
        layer.qkv.Forward(hidden, num_tokens, ws->qkv_.floats(), buffers, stream, k));
    Attention(batch, ws);
    EML_RETURN_IF_ERROR(
        layer.attn_out.Forward(ws->ctx_.floats(), num_tokens, tmp, buffers, stream, k));
    AddAndNorm(hidden, layer.attn_ln_gamma, layer.attn_ln_beta, num_tokens, tmp);
    std::swap(hidden, tmp);  // hidden now holds the attention block's output.
    EML_RETURN_IF_ERROR(layer.ffn_in.Forward(hidden, num_tokens, inter_buf, buffers, stream, k));
#pragma omp parallel for schedule(static) if (num_tokens * inter >= kParallelElements)
    for (size_t t = 0; t < num_tokens; ++t) {
      k.gelu(inter_buf + t * inter, inter, inter_buf + t * inter);
    }
    EML_RETURN_IF_ERROR(layer.ffn_out.Forward(inter_buf, num_tokens, tmp, buffers, stream, k));
    AddAndNorm(hidden, layer.out_ln_gamma, layer.out_ln_beta, num_tokens, tmp);
    std::swap(hidden, tmp);
  }
  if (hidden != ws->hidden_.floats()) {
    const auto h = static_cast<size_t>(config_.hidden_size);
    std::copy(hidden, hidden + num_tokens * h, ws->hidden_.floats());
  }
  return OkStatus();
}

}  // namespace eml::engine::internal
