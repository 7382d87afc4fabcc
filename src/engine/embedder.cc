#include "engine/embedder.h"

#include <omp.h>

#include <algorithm>
#include <string>
#include <utility>

#include "engine/internal/bert_encoder.h"
#include "engine/kernels/kernels.h"
#include "model/model_directory.h"
#include "oneapi/dnnl/dnnl.hpp"

namespace eml::engine {

struct Embedder::Pipeline {
  model::BertConfig config;
  model::PoolingMode pooling = model::PoolingMode::kMean;
  bool normalize = true;
  size_t max_seq_length = 0;
};

struct Embedder::State {
  internal::EncoderWorkspace workspace;
  dnnl::stream stream{internal::DnnlEngine()};
  tokenizer::Encoding encoding;
  std::vector<int32_t> packed_ids;
  std::vector<int32_t> packed_types;
  std::vector<size_t> offsets;

  void ClearPacking() {
    packed_ids.clear();
    packed_types.clear();
    offsets.assign(1, 0);
  }
  void Append(std::span<const int32_t> ids, std::span<const int32_t> types) {
    packed_ids.insert(packed_ids.end(), ids.begin(), ids.end());
    if (types.empty()) {
      packed_types.resize(packed_types.size() + ids.size(), 0);
    } else {
      packed_types.insert(packed_types.end(), types.begin(), types.end());
    }
    offsets.push_back(packed_ids.size());
  }
  size_t num_packed() const { return offsets.size() - 1; }
};

namespace {

// Sets the calling thread's OpenMP thread count for one call and restores it afterwards.
class ScopedOmpThreads {
 public:
  explicit ScopedOmpThreads(int num_threads) : previous_(omp_get_max_threads()) {
    omp_set_num_threads(num_threads > 0 ? num_threads : omp_get_num_procs());
  }
  ~ScopedOmpThreads() { omp_set_num_threads(previous_); }
  ScopedOmpThreads(const ScopedOmpThreads&) = delete;
  ScopedOmpThreads& operator=(const ScopedOmpThreads&) = delete;

 private:
  int previous_;
};

// Matmul types per precision. int8 on CPUs where Linear runs kInt8 on our packed AVX2 kernel (s8
// weights, s16 activations): all four projections. Elsewhere kInt8 is oneDNN's s8 x s8 product,
// and measured against the sentence-transformers reference (embedder_model_test, 210 sentences,
// gate cosine >= 0.999 for every sentence) quantizing any one of QKV, FFN-in or FFN-out with s8
// activations misses the gate (min cosine 0.986 / 0.9965 / 0.991 with per-token activations,
// per-channel 7-bit weights, SmoothQuant on LayerNorm inputs); only the attention output
// projection passes (0.9994). So there int8 quantizes that projection and keeps the sensitive
// three in bf16, or in f32 where the CPU has no bf16 matmul.
internal::MatmulPlan PlanFor(Precision precision) {
  using internal::MatmulType;
  switch (precision) {
    case Precision::kFp32:
      return {};
    case Precision::kBf16:
      return {MatmulType::kBf16, MatmulType::kBf16, MatmulType::kBf16, MatmulType::kBf16};
    case Precision::kInt8: {
      if (internal::PackedAvx2Preferred()) {
        return {MatmulType::kInt8, MatmulType::kInt8, MatmulType::kInt8, MatmulType::kInt8};
      }
      const MatmulType sensitive =
          internal::Bf16MatmulAvailable() ? MatmulType::kBf16 : MatmulType::kF32;
      return {sensitive, MatmulType::kInt8, sensitive, sensitive};
    }
  }
  return {};
}

Status ValidateOptions(const EmbedderOptions& options, size_t max_seq_length) {
  if (options.num_threads < 0) {
    return Error{ErrorCode::kEngineBadOptions, "num_threads must be >= 0"};
  }
  if (options.max_texts_per_call == 0) {
    return Error{ErrorCode::kEngineBadOptions, "max_texts_per_call must be >= 1"};
  }
  if (options.max_batch_tokens < max_seq_length) {
    return Error{ErrorCode::kEngineBadOptions, "max_batch_tokens must be >= max_seq_length (" +
                                                   std::to_string(max_seq_length) + ")"};
  }
  return OkStatus();
}

}  // namespace

std::string_view PrecisionName(Precision precision) {
  switch (precision) {
    case Precision::kFp32:
      return "fp32";
    case Precision::kBf16:
      return "bf16";
    case Precision::kInt8:
      return "int8";
  }
  return "unknown";
}

std::optional<Precision> ParsePrecision(std::string_view name) {
  for (const Precision precision : {Precision::kFp32, Precision::kBf16, Precision::kInt8}) {
    if (name == PrecisionName(precision)) {
      return precision;
    }
  }
  return std::nullopt;
}

Embedder::Embedder(const EmbedderOptions& options, tokenizer::WordPieceTokenizer tokenizer,
                   std::unique_ptr<internal::BertEncoder> encoder,
                   std::unique_ptr<Pipeline> pipeline)
    : options_(options),
      tokenizer_(std::move(tokenizer)),
      encoder_(std::move(encoder)),
      pipeline_(std::move(pipeline)),
      state_(std::make_unique<State>()) {}

Embedder::~Embedder() = default;

Result<std::unique_ptr<Embedder>> Embedder::Build(const EmbedderOptions& options,
                                                  std::unique_ptr<Pipeline> pipeline,
                                                  tokenizer::WordPieceTokenizer tokenizer,
                                                  const model::BertConfig& config,
                                                  const model::SafetensorsFile& weights) {
  EML_RETURN_IF_ERROR(ValidateOptions(options, pipeline->max_seq_length));
  const kernels::KernelTable& kernels = kernels::SelectKernels(options.force_reference_kernels);
  // oneDNN fixes a primitive's thread count when it is created, so create them under the same
  // thread count the calls will use.
  ScopedOmpThreads threads(options.num_threads);
  EML_ASSIGN_OR_RETURN(
      std::unique_ptr<internal::BertEncoder> encoder,
      internal::BertEncoder::Create(config, weights, PlanFor(options.precision), kernels));
  pipeline->config = config;
  return std::unique_ptr<Embedder>(
      new Embedder(options, std::move(tokenizer), std::move(encoder), std::move(pipeline)));
}

Result<std::unique_ptr<Embedder::Pipeline>> Embedder::MakePipeline(
    const model::SentenceEmbeddingConfig& embedding, const EmbedderOptions& options) {
  auto pipeline = std::make_unique<Pipeline>();
  pipeline->pooling = embedding.pooling;
  pipeline->normalize = embedding.normalize;
  pipeline->max_seq_length =
      std::min(static_cast<size_t>(embedding.max_seq_length), tokenizer::kMaxSupportedLength);
  EML_RETURN_IF_ERROR(ValidateOptions(options, pipeline->max_seq_length));
  return pipeline;
}

Result<std::unique_ptr<Embedder>> Embedder::LoadFromDirectory(const std::filesystem::path& dir,
                                                              const EmbedderOptions& options) {
  EML_ASSIGN_OR_RETURN(const model::ModelDirectory md, model::ModelDirectory::Open(dir));
  EML_ASSIGN_OR_RETURN(std::unique_ptr<Pipeline> pipeline, MakePipeline(md.embedding, options));
  tokenizer::TokenizerOptions tokenizer_options;
  tokenizer_options.max_length = pipeline->max_seq_length;
  EML_ASSIGN_OR_RETURN(
      tokenizer::WordPieceTokenizer tokenizer,
      tokenizer::WordPieceTokenizer::FromFile(md.tokenizer_json, tokenizer_options));
  EML_ASSIGN_OR_RETURN(const model::SafetensorsFile weights,
                       model::SafetensorsFile::Open(md.weights_safetensors));
  return Build(options, std::move(pipeline), std::move(tokenizer), md.bert, weights);
}

Result<std::unique_ptr<Embedder>> Embedder::LoadFromMemory(std::string_view config_json,
                                                           std::string_view tokenizer_json,
                                                           std::vector<uint8_t> safetensors_bytes,
                                                           const EmbedderOptions& options) {
  // The encoder copies the weights, so the buffer is only needed until the load returns.
  return LoadFromMemoryView(config_json, tokenizer_json, safetensors_bytes, std::nullopt, options);
}

Result<std::unique_ptr<Embedder>> Embedder::LoadFromMemoryView(
    std::string_view config_json, std::string_view tokenizer_json,
    std::span<const uint8_t> safetensors_bytes,
    const std::optional<model::SentenceEmbeddingConfig>& embedding,
    const EmbedderOptions& options) {
  EML_ASSIGN_OR_RETURN(const model::BertConfig config, model::ParseBertConfig(config_json));
  if (embedding.has_value()) {
    EML_RETURN_IF_ERROR(model::CheckSentenceEmbeddingConfig(*embedding, config));
  }
  EML_ASSIGN_OR_RETURN(
      std::unique_ptr<Pipeline> pipeline,
      MakePipeline(embedding.value_or(model::DefaultSentenceEmbeddingConfig(config)), options));
  tokenizer::TokenizerOptions tokenizer_options;
  tokenizer_options.max_length = pipeline->max_seq_length;
  EML_ASSIGN_OR_RETURN(tokenizer::WordPieceTokenizer tokenizer,
                       tokenizer::WordPieceTokenizer::FromJson(tokenizer_json, tokenizer_options));
  // The view lives until Build returns; Build copies every tensor into the encoder's buffers.
  EML_ASSIGN_OR_RETURN(const model::SafetensorsFile weights,
                       model::SafetensorsFile::FromView(safetensors_bytes));
  return Build(options, std::move(pipeline), std::move(tokenizer), config, weights);
}

size_t Embedder::dim() const { return static_cast<size_t>(pipeline_->config.hidden_size); }

size_t Embedder::max_seq_length() const { return pipeline_->max_seq_length; }

std::string_view Embedder::kernel_isa() const { return kernels::IsaName(encoder_->kernels().isa); }

std::string Embedder::matmul_impl() const { return encoder_->first_layer_impl(); }

Status Embedder::Tokenize(std::string_view text, tokenizer::Encoding* out) const {
  return tokenizer_.EncodeInto(text, out);
}

Status Embedder::RunChunk(size_t first_row, float* out) {
  State& st = *state_;
  const size_t num_seqs = st.num_packed();
  if (num_seqs == 0) {
    return OkStatus();
  }
  size_t longest = 0;
  for (size_t i = 0; i < num_seqs; ++i) {
    longest = std::max(longest, st.offsets[i + 1] - st.offsets[i]);
  }
  st.workspace.Reserve(*encoder_, st.packed_ids.size(), longest,
                       static_cast<size_t>(omp_get_max_threads()));
  const internal::PackedBatch batch{
      .ids = st.packed_ids, .type_ids = st.packed_types, .offsets = st.offsets};
  EML_RETURN_IF_ERROR(encoder_->Forward(batch, &st.workspace, st.stream));
  const size_t d = dim();
  const float* hidden = st.workspace.hidden();
  const kernels::KernelTable& k = encoder_->kernels();
  const Pipeline& p = *pipeline_;
#pragma omp parallel for schedule(static) if (num_seqs * d >= 4096)
  for (size_t i = 0; i < num_seqs; ++i) {
    const float* rows = hidden + st.offsets[i] * d;
    const size_t len = st.offsets[i + 1] - st.offsets[i];
    float* row_out = out + (first_row + i) * d;
    switch (p.pooling) {
      case model::PoolingMode::kMean:
        k.mean_pool(rows, len, d, d, /*mask=*/nullptr, row_out);
        break;
      case model::PoolingMode::kCls:
        std::copy(rows, rows + d, row_out);
        break;
      case model::PoolingMode::kMax:
        std::copy(rows, rows + d, row_out);
        for (size_t r = 1; r < len; ++r) {
          for (size_t c = 0; c < d; ++c) {
            row_out[c] = std::max(row_out[c], rows[r * d + c]);
          }
        }
        break;
    }
    if (p.normalize) {
      k.l2_normalize(row_out, d);
    }
  }
  return OkStatus();
}

Result<EmbedResult> Embedder::Embed(std::span<const std::string> texts) {
  if (texts.empty()) {
    return Error{ErrorCode::kEngineNoTexts, "no texts to embed"};
  }
  if (texts.size() > options_.max_texts_per_call) {
    return Error{ErrorCode::kEngineTooManyTexts, std::to_string(texts.size()) +
                                                     " texts; the limit per call is " +
                                                     std::to_string(options_.max_texts_per_call)};
  }
  std::lock_guard<std::mutex> lock(mu_);
  ScopedOmpThreads threads(options_.num_threads);
  State& st = *state_;
  EmbedResult result;
  result.dim = dim();
  result.embeddings.resize(texts.size() * result.dim);
  result.token_counts.resize(texts.size());
  st.ClearPacking();
  size_t first_row = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    EML_RETURN_IF_ERROR(tokenizer_.EncodeInto(texts[i], &st.encoding));
    const size_t len = st.encoding.ids.size();
    if (st.packed_ids.size() + len > options_.max_batch_tokens) {
      EML_RETURN_IF_ERROR(RunChunk(first_row, result.embeddings.data()));
      first_row = i;
      st.ClearPacking();
    }
    st.Append(st.encoding.ids, st.encoding.type_ids);
    result.token_counts[i] = static_cast<uint32_t>(len);
  }
  EML_RETURN_IF_ERROR(RunChunk(first_row, result.embeddings.data()));
  return result;
}

Result<EmbedResult> Embedder::EmbedTokenized(std::span<const TokenizedText> texts) {
  if (texts.empty()) {
    return Error{ErrorCode::kEngineNoTexts, "no texts to embed"};
  }
  if (texts.size() > options_.max_texts_per_call) {
    return Error{ErrorCode::kEngineTooManyTexts, std::to_string(texts.size()) +
                                                     " texts; the limit per call is " +
                                                     std::to_string(options_.max_texts_per_call)};
  }
  for (size_t i = 0; i < texts.size(); ++i) {
    const size_t len = texts[i].ids.size();
    if (len == 0 || len > max_seq_length() ||
        (!texts[i].type_ids.empty() && texts[i].type_ids.size() != len)) {
      return Error{ErrorCode::kEngineBadTokens,
                   "text " + std::to_string(i) + " has " + std::to_string(len) + " tokens (1.." +
                       std::to_string(max_seq_length()) + " allowed) or mismatched type ids"};
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  ScopedOmpThreads threads(options_.num_threads);
  State& st = *state_;
  EmbedResult result;
  result.dim = dim();
  result.embeddings.resize(texts.size() * result.dim);
  result.token_counts.resize(texts.size());
  st.ClearPacking();
  size_t first_row = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    const size_t len = texts[i].ids.size();
    if (st.packed_ids.size() + len > options_.max_batch_tokens) {
      EML_RETURN_IF_ERROR(RunChunk(first_row, result.embeddings.data()));
      first_row = i;
      st.ClearPacking();
    }
    st.Append(texts[i].ids, texts[i].type_ids);
    result.token_counts[i] = static_cast<uint32_t>(len);
  }
  EML_RETURN_IF_ERROR(RunChunk(first_row, result.embeddings.data()));
  return result;
}

}  // namespace eml::engine
