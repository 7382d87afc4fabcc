// Per-request cost of WordPieceTokenizer::EncodeInto on all-MiniLM-L6-v2's tokenizer.json.
// Run: build-*/src/tokenizer/tokenizer_bench (needs EML_SHARED_DIR or ../shared).

#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "tokenizer/wordpiece_tokenizer.h"

namespace eml::tokenizer {
namespace {

std::filesystem::path TokenizerPath() {
  const char* shared = std::getenv("EML_SHARED_DIR");
  std::filesystem::path dir = shared != nullptr ? shared : EML_DEFAULT_SHARED_DIR;
  return dir / "vectors" / "minilm" / "tokenizer.json";
}

const WordPieceTokenizer& Tokenizer() {
  static const WordPieceTokenizer* tokenizer = [] {
    auto loaded = WordPieceTokenizer::FromFile(TokenizerPath());
    if (!loaded.has_value()) {
      std::fprintf(stderr, "cannot load %s\n", TokenizerPath().c_str());
      std::abort();
    }
    return new WordPieceTokenizer(*std::move(loaded));
  }();
  return *tokenizer;
}

void Run(benchmark::State& state, const std::string& text) {
  const WordPieceTokenizer& tokenizer = Tokenizer();
  Encoding encoding;
  for (auto _ : state) {
    if (!tokenizer.EncodeInto(text, &encoding).has_value()) {
      state.SkipWithError("encode failed");
      break;
    }
    benchmark::DoNotOptimize(encoding.ids.data());
  }
  state.counters["tokens"] = static_cast<double>(encoding.ids.size());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(text.size()));
}

void BM_Encode16Words(benchmark::State& state) {
  Run(state,
      "The quick brown fox jumps over the lazy dog while seven tired wizards quietly "
      "watched nearby.");
}
BENCHMARK(BM_Encode16Words);

void BM_EncodeAccentsAndCjk(benchmark::State& state) {
  Run(state,
      "Caf\xC3\xA9 na\xC3\xAFve r\xC3\xA9sum\xC3\xA9 \xE4\xBD\xA0\xE5\xA5\xBD\xEF\xBC\x8C"
      "\xE4\xB8\x96\xE7\x95\x8C \xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82 "
      "\xD9\x85\xD8\xB1\xD8\xAD\xD8\xA8\xD8\xA7 \xF0\x9F\x98\x80!");
}
BENCHMARK(BM_EncodeAccentsAndCjk);

void BM_EncodeLongTextTruncated(benchmark::State& state) {
  std::string text;
  while (text.size() < 10000) {
    text += "Sentence embeddings map text to dense vectors for semantic search. ";
  }
  Run(state, text);
}
BENCHMARK(BM_EncodeLongTextTruncated);

void BM_LoadTokenizerJson(benchmark::State& state) {
  for (auto _ : state) {
    auto tokenizer = WordPieceTokenizer::FromFile(TokenizerPath());
    benchmark::DoNotOptimize(tokenizer.has_value());
  }
}
BENCHMARK(BM_LoadTokenizerJson)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace eml::tokenizer

BENCHMARK_MAIN();
