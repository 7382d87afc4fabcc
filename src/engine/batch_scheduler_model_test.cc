// BatchScheduler in front of the real all-MiniLM-L6-v2 Embedder: concurrent callers get the same
// vectors as direct Embedder::Embed calls on the same texts. Needs the model files
// (scripts/fetch-model).

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "engine/batch_scheduler.h"
#include "engine/embedder.h"
#include "model/model_directory.h"
#include "testing/test_util.h"

namespace eml::engine {
namespace {

using ::eml::testing::IsOk;

// A text embedded alone or packed into a batch with others goes through matmuls of different
// shapes, so the last bits may differ; Embedder's own batch-vs-single test uses the same bound.
constexpr float kMaxAbsDiff = 1e-6f;

std::unique_ptr<Embedder> LoadModel(Precision precision) {
  const std::filesystem::path dir = model::DefaultModelDirectoryPath();
  if (!std::filesystem::exists(dir / "model.safetensors")) {
    ADD_FAILURE() << "model files missing in " << dir << ": run scripts/fetch-model";
    return nullptr;
  }
  auto embedder = Embedder::LoadFromDirectory(dir, {.precision = precision, .num_threads = 2});
  EXPECT_THAT(embedder, IsOk());
  return embedder.has_value() ? std::move(embedder).value() : nullptr;
}

std::vector<std::string> Corpus() {
  const std::vector<std::string> words = {
      "enclave", "attestation", "the",          "embedding", "of",      "a",      "sentence",
      "is",      "normalized",  "quick",        "brown",     "fox",     "jumps",  "over",
      "lazy",    "dog",         "confidential", "inference", "receipt", "signed", "Zürich",
      "naïve",   "日本語",      "🙂",         "42",        "tokens,", "batch."};
  std::mt19937 rng(12345);
  std::vector<std::string> texts;
  for (int i = 0; i < 60; ++i) {
    std::string text;
    const size_t n = 1 + rng() % (i % 10 == 0 ? 200 : 24);  // A few long ones.
    for (size_t w = 0; w < n; ++w) {
      if (w != 0) text += ' ';
      text += words[rng() % words.size()];
    }
    texts.push_back(text);
  }
  texts.push_back("");
  return texts;
}

TEST(BatchSchedulerModelTest, ConcurrentRequestsMatchDirectEmbed) {
  std::unique_ptr<Embedder> embedder = LoadModel(Precision::kFp32);
  ASSERT_NE(embedder, nullptr);
  const std::vector<std::string> corpus = Corpus();
  // Reference: each text embedded alone, directly.
  std::vector<std::vector<float>> want;
  for (const std::string& text : corpus) {
    auto r = embedder->Embed(std::span<const std::string>(&text, 1));
    ASSERT_THAT(r, IsOk());
    want.push_back(r->embeddings);
  }

  EmbedderBackend backend(embedder.get());
  SchedulerOptions options;
  options.max_wait_us = 500;
  options.max_batch_tokens = 2048;
  options.max_queued_requests = 64;
  auto scheduler = BatchScheduler::Create(&backend, options);
  ASSERT_THAT(scheduler, IsOk());

  constexpr int kThreads = 8;
  constexpr int kRequests = 50;
  std::vector<float> worst(kThreads, 0.0f);
  std::vector<int> errors(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(static_cast<uint32_t>(100 + t));
      for (int i = 0; i < kRequests; ++i) {
        std::vector<size_t> picks(1 + rng() % 3);
        std::vector<std::string> texts;
        for (size_t& p : picks) {
          p = rng() % corpus.size();
          texts.push_back(corpus[p]);
        }
        Result<EmbedResult> r = (*scheduler)->Embed(texts);
        while (!r.has_value() && r.code() == ErrorCode::kEngineBusy) {
          std::this_thread::yield();  // The caller's retry policy.
          r = (*scheduler)->Embed(texts);
        }
        if (!r.has_value() || r->dim != 384 || r->embeddings.size() != picks.size() * 384) {
          ++errors[static_cast<size_t>(t)];
          continue;
        }
        for (size_t k = 0; k < picks.size(); ++k) {
          for (size_t c = 0; c < 384; ++c) {
            worst[static_cast<size_t>(t)] =
                std::max(worst[static_cast<size_t>(t)],
                         std::fabs(r->embeddings[k * 384 + c] - want[picks[k]][c]));
          }
        }
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_THAT(errors, ::testing::Each(0));
  EXPECT_LE(*std::max_element(worst.begin(), worst.end()), kMaxAbsDiff);
  const SchedulerStats stats = (*scheduler)->stats();
  EXPECT_EQ(stats.requests_admitted, uint64_t{kThreads * kRequests});
  // Eight callers on one queue: the worker did batch requests together.
  EXPECT_LT(stats.batches, stats.requests_admitted);
  RecordProperty("batches", std::to_string(stats.batches));
  RecordProperty("max_batch_texts", std::to_string(stats.max_batch_texts_seen));
}

TEST(BatchSchedulerModelTest, Int8ThroughTheSchedulerMatchesDirectInt8) {
  std::unique_ptr<Embedder> embedder = LoadModel(Precision::kInt8);
  ASSERT_NE(embedder, nullptr);
  const std::vector<std::string> corpus = Corpus();
  auto direct = embedder->Embed(std::span<const std::string>(corpus.data(), 8));
  ASSERT_THAT(direct, IsOk());
  EmbedderBackend backend(embedder.get());
  auto scheduler = BatchScheduler::Create(&backend, SchedulerOptions{});
  ASSERT_THAT(scheduler, IsOk());
  auto viaqueue = (*scheduler)->Embed(std::span<const std::string>(corpus.data(), 8));
  ASSERT_THAT(viaqueue, IsOk());
  ASSERT_EQ(viaqueue->embeddings.size(), direct->embeddings.size());
  EXPECT_EQ(viaqueue->token_counts, direct->token_counts);
  // Same texts in one batch, same packing: the same numbers.
  for (size_t i = 0; i < direct->embeddings.size(); ++i) {
    ASSERT_NEAR(viaqueue->embeddings[i], direct->embeddings[i], kMaxAbsDiff) << i;
  }
}

}  // namespace
}  // namespace eml::engine
