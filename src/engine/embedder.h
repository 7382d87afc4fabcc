#pragma once
// eml::engine::Embedder: sentence embeddings from a BERT-family model (e.g. all-MiniLM-L6-v2) the
// way sentence-transformers computes them: WordPiece tokens -> BERT encoder -> pooling (mean over
// the tokens by default) -> L2 normalization (when the model declares it).
//
// Batching: the texts of one call are tokenized and packed back to back (no padding to the
// longest) in chunks of at most max_batch_tokens tokens; each chunk runs as one encoder pass.
// Memory is therefore bounded by max_batch_tokens whatever the number of texts; the number of
// texts per call is capped by max_texts_per_call (the output rows are held in memory).
//
// Precision: kFp32 (the reference: matches sentence-transformers to 1e-4), kBf16 (weights in
// bf16, half the bytes of f32; on AVX2 CPUs without AVX-512 our kernel keeps the matmul inputs
// f32 and widens the weights in registers, on AVX-512 oneDNN also rounds the inputs), kInt8
// (weights s8, activations quantized dynamically per token. On AVX2 CPUs without AVX-512: all
// four projections on our kernel, s8 weights per output channel and 64 inputs, s16 activations.
// Elsewhere, oneDNN with s8 activations: only the attention output projection is int8, the three
// that miss the accuracy gate with s8 activations run in bf16, or f32 without bf16 support: see
// PlanFor in embedder.cc). Accuracy of each mode is gated by tests against the committed
// reference embeddings.
//
// Threads: each call runs on the calling thread's OpenMP pool with num_threads threads (set for
// the call and restored afterwards); oneDNN shares that pool. Results are bit-identical for the
// same precision, thread count and CPU.
//
// Thread safety: all methods may be called from any thread. Embed and EmbedTokenized are
// internally serialized (one workspace per Embedder, grown only when a larger chunk arrives);
// run one Embedder per request worker for parallel calls.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "model/bert.h"
#include "model/model_directory.h"
#include "model/safetensors.h"
#include "tokenizer/wordpiece_tokenizer.h"

namespace eml::engine {

enum class Precision { kFp32, kBf16, kInt8 };

// PrecisionName returns "fp32", "bf16" or "int8"; ParsePrecision is its inverse (nullopt for
// any other text).
std::string_view PrecisionName(Precision precision);
std::optional<Precision> ParsePrecision(std::string_view name);

struct EmbedderOptions {
  Precision precision = Precision::kFp32;
  int num_threads = 0;                   // 0 = all cores (omp_get_num_procs()).
  size_t max_batch_tokens = 16384;       // tokens per encoder pass; >= the model's max_seq_length.
  size_t max_texts_per_call = 4096;      // Embed/EmbedTokenized refuse more texts than this.
  bool force_reference_kernels = false;  // Scalar kernels (as EML_FORCE_REF_KERNELS=1 does).
};

struct EmbedResult {
  std::vector<float> embeddings;  // row-major [num_texts, dim]
  size_t dim = 0;
  std::vector<uint32_t> token_counts;  // tokens per text, [CLS] and [SEP] included
};

// A tokenized text as WordPieceTokenizer::Encode returns it ([CLS] ... [SEP]); type_ids may be
// empty (all 0).
struct TokenizedText {
  std::span<const int32_t> ids;
  std::span<const int32_t> type_ids;
};

namespace internal {
class BertEncoder;
}  // namespace internal

class Embedder {
 public:
  // LoadFromDirectory loads a sentence-transformers model directory (model::ModelDirectory:
  // config.json, tokenizer.json, model.safetensors, and modules.json with the pooling and
  // sentence-bert configs). Pooling mode, normalization and max_seq_length come from the
  // directory (model::DefaultSentenceEmbeddingConfig without modules.json).
  // Errors: kEngineBadOptions (num_threads < 0, max_texts_per_call == 0, max_batch_tokens below
  // max_seq_length), ModelDirectory::Open's, SafetensorsFile::Open's, WordPieceTokenizer's and
  // the model's errors (kModelTensorNotFound, kModelShapeMismatch, ...), and
  // kEngineUnsupportedPrecision (this CPU cannot run `precision`).
  static Result<std::unique_ptr<Embedder>> LoadFromDirectory(const std::filesystem::path& dir,
                                                             const EmbedderOptions& options);

  // LoadFromMemory builds an Embedder from the files of a model without modules.json, already
  // in memory: the pipeline is model::DefaultSentenceEmbeddingConfig (mean pooling, no
  // normalization, max_seq_length = min(512, max_position_embeddings)), as LoadFromDirectory
  // gives such a directory. Errors as LoadFromDirectory, with ParseBertConfig's and
  // SafetensorsFile::FromBuffer's in place of the directory's.
  static Result<std::unique_ptr<Embedder>> LoadFromMemory(std::string_view config_json,
                                                          std::string_view tokenizer_json,
                                                          std::vector<uint8_t> safetensors_bytes,
                                                          const EmbedderOptions& options);

  // LoadFromMemoryView builds an Embedder from files the caller keeps (the enclave holds them in
  // locked memory and wipes them itself): `safetensors_bytes` is read during the call only; the
  // Embedder keeps its own converted copy of the weights. `embedding` is the pipeline the model
  // declares (model::ParseSentenceEmbeddingConfig of its modules.json, pooling and sentence-bert
  // files), checked against config.json with model::CheckSentenceEmbeddingConfig and honoured as
  // LoadFromDirectory honours a directory's; nullopt (no modules.json) gives the default
  // pipeline. Errors: as LoadFromMemory, and CheckSentenceEmbeddingConfig's.
  static Result<std::unique_ptr<Embedder>> LoadFromMemoryView(
      std::string_view config_json, std::string_view tokenizer_json,
      std::span<const uint8_t> safetensors_bytes,
      const std::optional<model::SentenceEmbeddingConfig>& embedding,
      const EmbedderOptions& options);

  ~Embedder();
  Embedder(const Embedder&) = delete;
  Embedder& operator=(const Embedder&) = delete;

  // Embed returns one embedding per text, in order. Texts longer than max_seq_length() tokens
  // are truncated (the tokenizer stops early, so a 1 MB text costs one UTF-8 scan plus the kept
  // prefix); the empty string embeds [CLS] [SEP]. Errors (no partial output): kEngineNoTexts
  // (texts is empty), kEngineTooManyTexts (more than max_texts_per_call),
  // kTokenizerInvalidUtf8 (a text is not valid UTF-8; the whole call fails), kInternal (oneDNN).
  Result<EmbedResult> Embed(std::span<const std::string> texts);

  // EmbedTokenized is Embed for texts tokenized by Tokenize (the batch scheduler tokenizes
  // outside the engine lock and groups by length). Errors: kEngineNoTexts, kEngineTooManyTexts,
  // kEngineBadTokens (a sequence empty, longer than max_seq_length(), or with ids outside the
  // vocabulary), kInternal.
  Result<EmbedResult> EmbedTokenized(std::span<const TokenizedText> texts);

  // Tokenize encodes `text` into `out` (reusing its capacity), truncated to max_seq_length().
  // Thread-safe, not serialized with Embed. Errors: kTokenizerInvalidUtf8.
  Status Tokenize(std::string_view text, tokenizer::Encoding* out) const;

  size_t dim() const;
  size_t max_seq_length() const;
  Precision precision() const { return options_.precision; }
  // kernel_isa names the kernel table in use ("avx512", "avx2" or "ref").
  std::string_view kernel_isa() const;
  // matmul_impl names oneDNN's implementation of the first matmul (benchmark reports).
  std::string matmul_impl() const;

 private:
  struct Pipeline;  // Pooling mode, normalization, sequence limit.
  struct State;     // Workspace, oneDNN stream and packing buffers (guarded by mu_).
  Embedder(const EmbedderOptions& options, tokenizer::WordPieceTokenizer tokenizer,
           std::unique_ptr<internal::BertEncoder> encoder, std::unique_ptr<Pipeline> pipeline);
  // MakePipeline turns the declared pipeline into the engine's (max_seq_length capped at the
  // tokenizer's limit) and checks `options` against it.
  static Result<std::unique_ptr<Pipeline>> MakePipeline(
      const model::SentenceEmbeddingConfig& embedding, const EmbedderOptions& options);
  static Result<std::unique_ptr<Embedder>> Build(const EmbedderOptions& options,
                                                 std::unique_ptr<Pipeline> pipeline,
                                                 tokenizer::WordPieceTokenizer tokenizer,
                                                 const model::BertConfig& config,
                                                 const model::SafetensorsFile& weights);
  // RunChunk encodes the texts packed in state_ (rows [first_row, first_row + count) of the
  // result) and writes their pooled embeddings to `out` + first_row * dim().
  Status RunChunk(size_t first_row, float* out);

  EmbedderOptions options_;
  tokenizer::WordPieceTokenizer tokenizer_;
  std::unique_ptr<internal::BertEncoder> encoder_;
  std::unique_ptr<Pipeline> pipeline_;

  std::mutex mu_;
  std::unique_ptr<State> state_;  // Guarded by mu_.
};

}  // namespace eml::engine
