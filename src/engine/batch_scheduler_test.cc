// Queue logic of BatchScheduler against a fake backend whose batches can be held open, so that
// "the worker is busy" is a state the test controls rather than a timing accident.
#include "engine/batch_scheduler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "testing/test_util.h"

namespace eml::engine {
namespace {

using ::eml::testing::HasError;
using ::eml::testing::IsOk;
using ::testing::ElementsAre;

constexpr size_t kDim = 4;
constexpr size_t kFakeMaxSeq = 64;

// FakeBackend tokenizes a text into [CLS] + one id per byte + [SEP] (truncated to kFakeMaxSeq)
// and embeds a sequence into a row that is a function of its ids alone. A text containing '!'
// makes its whole batch fail; a text containing '\xff' fails tokenization.
class FakeBackend final : public EmbedBackend {
 public:
  static constexpr int32_t kCls = 1000;
  static constexpr int32_t kSep = 1001;

  Status Tokenize(std::string_view text, tokenizer::Encoding* out) const override {
    if (text.find('\xff') != std::string_view::npos) {
      return Error{ErrorCode::kTokenizerInvalidUtf8, "fake"};
    }
    out->ids.clear();
    out->ids.push_back(kCls);
    for (char c : text.substr(0, std::min(text.size(), kFakeMaxSeq - 2))) {
      out->ids.push_back(static_cast<unsigned char>(c));
    }
    out->ids.push_back(kSep);
    out->type_ids.assign(out->ids.size(), 0);
    out->attention_mask.assign(out->ids.size(), 1);
    return OkStatus();
  }

  Result<EmbedResult> EmbedTokenized(std::span<const TokenizedText> texts) override {
    std::unique_lock<std::mutex> lock(mu_);
    std::vector<size_t> lengths;
    bool fail = false;
    for (const TokenizedText& t : texts) {
      lengths.push_back(t.ids.size());
      for (int32_t id : t.ids) fail |= id == '!';
    }
    batches_.push_back(lengths);
    ++entered_;
    cv_.notify_all();
    cv_.wait(lock, [this] { return open_; });
    if (fail) return Error{ErrorCode::kInternal, "fake batch failure"};
    EmbedResult out;
    out.dim = kDim;
    for (const TokenizedText& t : texts) {
      const std::vector<float> row = Row(t.ids);
      out.embeddings.insert(out.embeddings.end(), row.begin(), row.end());
      out.token_counts.push_back(static_cast<uint32_t>(t.ids.size()));
    }
    return out;
  }

  size_t dim() const override { return kDim; }
  size_t max_seq_length() const override { return kFakeMaxSeq; }

  static std::vector<float> Row(std::span<const int32_t> ids) {
    float sum = 0;
    float weighted = 0;
    for (size_t i = 0; i < ids.size(); ++i) {
      sum += static_cast<float>(ids[i]);
      weighted += static_cast<float>(ids[i]) * static_cast<float>(i + 1);
    }
    return {static_cast<float>(ids.size()), sum, weighted, static_cast<float>(ids[1])};
  }
  std::vector<float> ExpectedRow(std::string_view text) const {
    tokenizer::Encoding e;
    EXPECT_THAT(Tokenize(text, &e), IsOk());
    return Row(e.ids);
  }

  // Close makes the next batches block inside EmbedTokenized until Open.
  void Close() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = false;
  }
  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  // WaitEntered blocks until `n` batches have entered EmbedTokenized.
  void WaitEntered(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return entered_ >= n; });
  }
  std::vector<std::vector<size_t>> batches() const {
    std::lock_guard<std::mutex> lock(mu_);
    return batches_;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = true;
  size_t entered_ = 0;
  std::vector<std::vector<size_t>> batches_;  // Sequence lengths of each batch, in order.
};

std::vector<float> Rows(const EmbedResult& r, size_t i) {
  return {r.embeddings.begin() + static_cast<std::ptrdiff_t>(i * r.dim),
          r.embeddings.begin() + static_cast<std::ptrdiff_t>((i + 1) * r.dim)};
}

SchedulerOptions ImmediateOptions() {
  SchedulerOptions o;
  o.max_wait_us = 0;
  o.max_batch_tokens = 1024;
  return o;
}

std::unique_ptr<BatchScheduler> MakeScheduler(FakeBackend* backend, const SchedulerOptions& o) {
  auto s = BatchScheduler::Create(backend, o);
  EXPECT_THAT(s, IsOk());
  return std::move(s).value();
}

// Waits for `ticket` with a generous bound; on timeout the test fails and the scheduler is shut
// down (which flushes the queue) so that the test ends instead of hanging.
Result<EmbedResult> WaitBounded(BatchScheduler* s, BatchScheduler::Ticket ticket,
                                std::chrono::seconds bound = std::chrono::seconds(60)) {
  auto future =
      std::async(std::launch::async, [t = std::move(ticket)]() mutable { return t.Wait(); });
  if (future.wait_for(bound) == std::future_status::timeout) {
    ADD_FAILURE() << "request not flushed within " << bound.count() << " s";
    s->Shutdown(ShutdownMode::kDrain);
  }
  return future.get();
}

TEST(BatchSchedulerTest, RejectsBadOptions) {
  FakeBackend backend;
  SchedulerOptions o = ImmediateOptions();
  o.max_batch_tokens = kFakeMaxSeq - 1;
  EXPECT_THAT(BatchScheduler::Create(&backend, o), HasError(ErrorCode::kEngineBadOptions));
  o = ImmediateOptions();
  o.max_queued_requests = 0;
  EXPECT_THAT(BatchScheduler::Create(&backend, o), HasError(ErrorCode::kEngineBadOptions));
  o = ImmediateOptions();
  o.max_queued_texts = 0;
  EXPECT_THAT(BatchScheduler::Create(&backend, o), HasError(ErrorCode::kEngineBadOptions));
  o = ImmediateOptions();
  o.max_batch_texts = 0;
  EXPECT_THAT(BatchScheduler::Create(&backend, o), HasError(ErrorCode::kEngineBadOptions));
}

TEST(BatchSchedulerTest, ReturnsRowsInSubmissionOrder) {
  FakeBackend backend;
  auto s = MakeScheduler(&backend, ImmediateOptions());
  const std::vector<std::string> texts = {"a longer text here", "b", "", "middle size"};
  auto result = s->Embed(texts);
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->dim, kDim);
  EXPECT_THAT(result->token_counts, ElementsAre(20, 3, 2, 13));
  for (size_t i = 0; i < texts.size(); ++i) {
    EXPECT_EQ(Rows(*result, i), backend.ExpectedRow(texts[i])) << i;
  }
  // string_view overload.
  const std::vector<std::string_view> views = {"xyz", "q"};
  auto ticket = s->Submit(std::span<const std::string_view>(views));
  ASSERT_THAT(ticket, IsOk());
  auto r2 = ticket->Wait();
  ASSERT_THAT(r2, IsOk());
  EXPECT_EQ(Rows(*r2, 1), backend.ExpectedRow("q"));
}

TEST(BatchSchedulerTest, SubmitErrors) {
  FakeBackend backend;
  SchedulerOptions o = ImmediateOptions();
  o.max_queued_texts = 4;
  o.max_queued_requests = 1;
  auto s = MakeScheduler(&backend, o);
  EXPECT_THAT(s->Submit(std::span<const std::string>()), HasError(ErrorCode::kEngineNoTexts));
  const std::vector<std::string> five(5, "x");
  EXPECT_THAT(s->Submit(five), HasError(ErrorCode::kEngineTooManyTexts));
  const std::vector<std::string> bad = {"ok", "bad \xff", "ok"};
  EXPECT_THAT(s->Submit(bad), HasError(ErrorCode::kTokenizerInvalidUtf8));
  // The failed submits gave their slots back: the whole queue is free again.
  const std::vector<std::string> four(4, "y");
  auto r = s->Embed(four);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->token_counts.size(), 4u);
}

TEST(BatchSchedulerTest, ConcurrentCallersGetTheirOwnRows) {
  FakeBackend backend;
  SchedulerOptions o;
  o.max_wait_us = 200;
  o.max_batch_tokens = 256;
  o.max_queued_requests = 64;
  auto s = MakeScheduler(&backend, o);
  constexpr int kThreads = 8;
  constexpr int kRequests = 50;
  std::vector<std::thread> threads;
  std::vector<int> failures(kThreads, 0);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(static_cast<uint32_t>(t));
      for (int i = 0; i < kRequests; ++i) {
        std::vector<std::string> texts(1 + rng() % 3);
        for (std::string& text : texts) {
          // Appended piece by piece: GCC 12 -O3 reports a false -Wrestrict for "t" + string
          // and for assigning a literal here.
          const size_t pad = rng() % 40;
          const auto fill = static_cast<char>('a' + rng() % 26);
          text.push_back('t');
          text += std::to_string(t);
          text += " r";
          text += std::to_string(i);
          text.append(pad, fill);
        }
        Result<EmbedResult> r = s->Embed(texts);
        while (!r.has_value() && r.code() == ErrorCode::kEngineBusy) {
          std::this_thread::yield();  // A caller's retry policy, not test synchronization.
          r = s->Embed(texts);
        }
        if (!r.has_value()) {
          ++failures[static_cast<size_t>(t)];
          continue;
        }
        for (size_t k = 0; k < texts.size(); ++k) {
          if (Rows(*r, k) != backend.ExpectedRow(texts[k])) ++failures[static_cast<size_t>(t)];
        }
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_THAT(failures, ::testing::Each(0));
  const SchedulerStats stats = s->stats();
  EXPECT_EQ(stats.requests_admitted, uint64_t{kThreads * kRequests});
  EXPECT_LE(stats.batches, stats.texts_embedded);
  for (const auto& batch : backend.batches()) {
    size_t tokens = 0;
    for (size_t len : batch) tokens += len;
    EXPECT_LE(tokens, o.max_batch_tokens);
  }
}

TEST(BatchSchedulerTest, FullQueueIsBusyNotUnbounded) {
  FakeBackend backend;
  SchedulerOptions o = ImmediateOptions();
  o.max_queued_requests = 2;
  o.max_queued_texts = 3;
  auto s = MakeScheduler(&backend, o);
  backend.Close();
  const std::vector<std::string> one = {"first"};
  auto a = s->Submit(one);
  ASSERT_THAT(a, IsOk());
  backend.WaitEntered(1);  // The worker holds request a inside the backend.
  const std::vector<std::string> two = {"second", "third"};
  auto b = s->Submit(two);
  ASSERT_THAT(b, IsOk());
  // Requests: a and b hold both slots. Texts: 1 + 2 = 3 held.
  EXPECT_THAT(s->Submit(one), HasError(ErrorCode::kEngineBusy));
  EXPECT_EQ(s->stats().requests_busy, 1u);
  EXPECT_FALSE(b->ready());

  backend.Open();
  auto ra = a->Wait();
  ASSERT_THAT(ra, IsOk());
  EXPECT_EQ(Rows(*ra, 0), backend.ExpectedRow("first"));
  auto rb = b->Wait();
  ASSERT_THAT(rb, IsOk());
  EXPECT_EQ(Rows(*rb, 1), backend.ExpectedRow("third"));
  // Collected: the queue has room again.
  auto c = s->Submit(one);
  ASSERT_THAT(c, IsOk());
  EXPECT_THAT(c->Wait(), IsOk());

  // The text limit alone also refuses: 3 texts fit, a fourth does not while they are queued.
  backend.Close();
  auto d = s->Submit(one);
  ASSERT_THAT(d, IsOk());
  backend.WaitEntered(4);
  EXPECT_THAT(s->Submit(std::vector<std::string>{"x", "y", "z"}), HasError(ErrorCode::kEngineBusy));
  backend.Open();
  EXPECT_THAT(d->Wait(), IsOk());
}

TEST(BatchSchedulerTest, QueuedRequestsShareOneBatch) {
  FakeBackend backend;
  auto s = MakeScheduler(&backend, ImmediateOptions());
  backend.Close();
  const std::vector<std::string> a = {"a"};
  auto ta = s->Submit(a);
  ASSERT_THAT(ta, IsOk());
  backend.WaitEntered(1);
  auto tx = s->Submit(std::vector<std::string>{"xx"});
  auto ty = s->Submit(std::vector<std::string>{"yyy", "yyyy"});
  ASSERT_THAT(tx, IsOk());
  ASSERT_THAT(ty, IsOk());
  backend.Open();
  EXPECT_THAT(ta->Wait(), IsOk());
  auto rx = tx->Wait();
  auto ry = ty->Wait();
  ASSERT_THAT(rx, IsOk());
  ASSERT_THAT(ry, IsOk());
  EXPECT_EQ(Rows(*ry, 1), backend.ExpectedRow("yyyy"));
  const auto batches = backend.batches();
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_THAT(batches[1], ElementsAre(4, 5, 6));  // x, y and y together, in arrival order.
}

TEST(BatchSchedulerTest, SplitsByTokensAndGroupsByLength) {
  FakeBackend backend;
  SchedulerOptions o = ImmediateOptions();
  o.max_batch_tokens = kFakeMaxSeq;
  auto s = MakeScheduler(&backend, o);
  backend.Close();
  auto first = s->Submit(std::vector<std::string>{"0"});
  ASSERT_THAT(first, IsOk());
  backend.WaitEntered(1);
  // Token counts (bytes + 2): 10, 50, 12, 48, 11.
  const std::vector<std::string> texts = {std::string(8, 'a'), std::string(48, 'b'),
                                          std::string(10, 'c'), std::string(46, 'd'),
                                          std::string(9, 'e')};
  auto t = s->Submit(texts);
  ASSERT_THAT(t, IsOk());
  backend.Open();
  EXPECT_THAT(first->Wait(), IsOk());
  auto r = t->Wait();
  ASSERT_THAT(r, IsOk());
  for (size_t i = 0; i < texts.size(); ++i) {
    EXPECT_EQ(Rows(*r, i), backend.ExpectedRow(texts[i])) << i;
  }
  const auto batches = backend.batches();
  ASSERT_EQ(batches.size(), 4u);
  // The oldest (10) with its nearest lengths (12, 11) up to 64 tokens; then the oldest left (50)
  // alone (50 + 48 > 64); then 48.
  EXPECT_THAT(batches[1], ElementsAre(10, 12, 11));
  EXPECT_THAT(batches[2], ElementsAre(50));
  EXPECT_THAT(batches[3], ElementsAre(48));
}

TEST(BatchSchedulerTest, MaxBatchTextsSplits) {
  FakeBackend backend;
  SchedulerOptions o = ImmediateOptions();
  o.max_batch_texts = 2;
  auto s = MakeScheduler(&backend, o);
  auto r = s->Embed(std::vector<std::string>{"a", "b", "c", "d", "e"});
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(Rows(*r, 4), backend.ExpectedRow("e"));
  for (const auto& batch : backend.batches()) EXPECT_LE(batch.size(), 2u);
  EXPECT_EQ(s->stats().max_batch_texts_seen, 2u);
}

TEST(BatchSchedulerTest, WaitsUpToMaxWaitForAFullerBatch) {
  FakeBackend backend;
  SchedulerOptions o;
  o.max_wait_us = 50'000;
  o.max_batch_tokens = 1024;
  auto s = MakeScheduler(&backend, o);
  backend.Close();
  auto busy = s->Submit(std::vector<std::string>{"busy"});
  ASSERT_THAT(busy, IsOk());
  backend.WaitEntered(1);
  // Two requests queued behind a running batch: when it ends they wait for company.
  const auto start = std::chrono::steady_clock::now();
  auto x = s->Submit(std::vector<std::string>{"xx"});
  auto y = s->Submit(std::vector<std::string>{"yyy"});
  ASSERT_THAT(x, IsOk());
  ASSERT_THAT(y, IsOk());
  backend.Open();
  EXPECT_THAT(busy->Wait(), IsOk());
  auto rx = WaitBounded(s.get(), std::move(x).value());
  const auto waited = std::chrono::steady_clock::now() - start;
  ASSERT_THAT(rx, IsOk());
  EXPECT_GE(waited, std::chrono::microseconds(o.max_wait_us));  // A lower bound only.
  EXPECT_THAT(WaitBounded(s.get(), std::move(y).value()), IsOk());
  EXPECT_EQ(Rows(*rx, 0), backend.ExpectedRow("xx"));
  const auto batches = backend.batches();
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_THAT(batches[1], ElementsAre(4, 5));
}

// A lone request is never held back for company, whether the worker was idle when it arrived or
// busy with an earlier batch. max_wait is an hour: a regression fails at WaitBounded's bound
// instead of passing slowly.
TEST(BatchSchedulerTest, LoneRequestDoesNotWaitForMaxWait) {
  FakeBackend backend;
  SchedulerOptions o;
  o.max_wait_us = 3'600'000'000u;
  o.max_batch_tokens = 1024;
  auto s = MakeScheduler(&backend, o);
  // Idle worker, one request with several texts.
  auto first = s->Submit(std::vector<std::string>{"lonely", "still lonely"});
  ASSERT_THAT(first, IsOk());
  auto r = WaitBounded(s.get(), std::move(first).value());
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(Rows(*r, 1), backend.ExpectedRow("still lonely"));
  // One request queued behind a running batch runs as soon as that batch ends.
  backend.Close();
  auto busy = s->Submit(std::vector<std::string>{"busy"});
  ASSERT_THAT(busy, IsOk());
  backend.WaitEntered(2);
  auto queued = s->Submit(std::vector<std::string>{"queued"});
  ASSERT_THAT(queued, IsOk());
  backend.Open();
  EXPECT_THAT(WaitBounded(s.get(), std::move(busy).value()), IsOk());
  auto rq = WaitBounded(s.get(), std::move(queued).value());
  ASSERT_THAT(rq, IsOk());
  EXPECT_EQ(Rows(*rq, 0), backend.ExpectedRow("queued"));
  EXPECT_EQ(s->stats().batches, 3u);
}

TEST(BatchSchedulerTest, FullBatchFlushesWithoutWaiting) {
  FakeBackend backend;
  SchedulerOptions o;
  o.max_wait_us = 3'600'000'000u;  // An hour: only a full batch can flush in this test.
  o.max_batch_tokens = kFakeMaxSeq;
  o.max_batch_texts = 3;
  auto s = MakeScheduler(&backend, o);
  // 62 + 2 tokens = max_batch_tokens.
  auto t1 = s->Submit(std::vector<std::string>{std::string(62, 'z')});
  ASSERT_THAT(t1, IsOk());
  EXPECT_THAT(WaitBounded(s.get(), std::move(t1).value()), IsOk());
  // Three texts = max_batch_texts.
  auto t2 = s->Submit(std::vector<std::string>{"a", "b", "c"});
  ASSERT_THAT(t2, IsOk());
  EXPECT_THAT(WaitBounded(s.get(), std::move(t2).value()), IsOk());
}

TEST(BatchSchedulerTest, BackendErrorFailsTheWholeRequest) {
  FakeBackend backend;
  SchedulerOptions o = ImmediateOptions();
  o.max_batch_texts = 1;  // Every text is its own batch.
  auto s = MakeScheduler(&backend, o);
  EXPECT_THAT(s->Embed(std::vector<std::string>{"fine", "bad!", "fine too"}),
              HasError(ErrorCode::kInternal));
  // The scheduler keeps serving.
  auto r = s->Embed(std::vector<std::string>{"fine"});
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(Rows(*r, 0), backend.ExpectedRow("fine"));
}

TEST(BatchSchedulerTest, DroppedTicketFreesItsSlot) {
  FakeBackend backend;
  SchedulerOptions o = ImmediateOptions();
  o.max_queued_requests = 2;
  auto s = MakeScheduler(&backend, o);
  backend.Close();
  {
    auto abandoned = s->Submit(std::vector<std::string>{"dropped"});
    ASSERT_THAT(abandoned, IsOk());
    backend.WaitEntered(1);
  }  // Dropped while its batch runs.
  auto b = s->Submit(std::vector<std::string>{"kept"});
  ASSERT_THAT(b, IsOk());
  backend.Open();
  auto rb = b->Wait();
  ASSERT_THAT(rb, IsOk());
  EXPECT_EQ(Rows(*rb, 0), backend.ExpectedRow("kept"));
  // Both slots are free: b's batch ran after the dropped request finished.
  auto c = s->Submit(std::vector<std::string>{"c"});
  auto d = s->Submit(std::vector<std::string>{"d"});
  EXPECT_THAT(c, IsOk());
  EXPECT_THAT(d, IsOk());
  // A ticket dropped after completion frees its slot too (the destructor checks all are free).
}

TEST(BatchSchedulerTest, ShutdownDrainsQueuedRequests) {
  FakeBackend backend;
  auto s = MakeScheduler(&backend, ImmediateOptions());
  backend.Close();
  auto a = s->Submit(std::vector<std::string>{"in flight"});
  ASSERT_THAT(a, IsOk());
  backend.WaitEntered(1);
  auto b = s->Submit(std::vector<std::string>{"queued 1", "queued 2"});
  ASSERT_THAT(b, IsOk());
  std::thread stopper([&] { s->Shutdown(ShutdownMode::kDrain); });
  // Admission stops at once; what is queued still runs.
  while (s->Submit(std::vector<std::string>{"late"}).code() != ErrorCode::kEngineShuttingDown) {
    std::this_thread::yield();  // Until the stopper thread has flagged the shutdown.
  }
  backend.Open();
  stopper.join();
  EXPECT_THAT(a->Wait(), IsOk());
  auto rb = b->Wait();
  ASSERT_THAT(rb, IsOk());
  EXPECT_EQ(Rows(*rb, 1), backend.ExpectedRow("queued 2"));
  EXPECT_THAT(s->Embed(std::vector<std::string>{"after"}),
              HasError(ErrorCode::kEngineShuttingDown));
}

TEST(BatchSchedulerTest, ShutdownFailFailsQueuedRequests) {
  FakeBackend backend;
  auto s = MakeScheduler(&backend, ImmediateOptions());
  backend.Close();
  auto a = s->Submit(std::vector<std::string>{"in flight"});
  ASSERT_THAT(a, IsOk());
  backend.WaitEntered(1);
  auto b = s->Submit(std::vector<std::string>{"queued"});
  ASSERT_THAT(b, IsOk());
  std::thread stopper([&] { s->Shutdown(ShutdownMode::kFail); });
  // b fails while the backend is still blocked: it was queued, not running.
  EXPECT_THAT(b->Wait(), HasError(ErrorCode::kEngineShuttingDown));
  backend.Open();
  stopper.join();
  auto ra = a->Wait();  // The running batch completed normally.
  ASSERT_THAT(ra, IsOk());
  EXPECT_EQ(Rows(*ra, 0), backend.ExpectedRow("in flight"));
  EXPECT_THAT(s->Submit(std::vector<std::string>{"after"}),
              HasError(ErrorCode::kEngineShuttingDown));
  EXPECT_EQ(backend.batches().size(), 1u);
}

}  // namespace
}  // namespace eml::engine
