#pragma once
// eml::engine::BatchScheduler: one queue that every session's requests share, in front of one
// embedding engine (DESIGN.md section 7). Callers submit texts and get a Ticket; one worker
// thread groups the queued texts into batches and runs each batch as one EmbedTokenized call,
// then hands every request its rows.
//
// Contract:
// - Bounded: at most max_queued_requests requests are admitted and not yet collected (a Ticket
//   that is alive holds one), and at most max_queued_texts texts are admitted and not yet
//   embedded. A Submit that does not fit fails at once with kEngineBusy; the queue never grows.
// - Tokenization runs on the submitting thread, outside the engine and outside the queue lock.
// - A batch holds at most max_batch_tokens tokens and max_batch_texts texts. The worker sends a
//   batch when the queue holds a full batch, or when every queued text belongs to one request
//   (a lone request never waits for company: it runs as soon as the worker is free), or when the
//   oldest queued text has waited max_wait_us, or while shutting down. When the queue holds more
//   than one batch, the batch is the oldest text plus the queued texts nearest to it in length (so
//   no text starves and a batch holds sequences of similar length). Sequences are never padded: the
//   engine packs them.
// - Results equal Embedder::Embed's for the same texts (same engine, same precision).
// - A request whose texts span several batches fails as a whole if any of its batches fails.
// - Shutdown(kDrain) embeds everything queued; Shutdown(kFail) fails what is still queued with
//   kEngineShuttingDown (a batch already running completes). After Shutdown, Submit fails with
//   kEngineShuttingDown. The destructor drains.
// - No allocation per request on the hot path except the result vectors: text and request slots,
//   their token buffers and the batch arrays are sized at Create and reused.
//
// Thread safety: Submit, Embed, Shutdown and stats may be called from any thread. A Ticket is used
// by one thread at a time and must not outlive its scheduler.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/result.h"
#include "engine/embedder.h"
#include "tokenizer/wordpiece_tokenizer.h"

namespace eml::engine {

// EmbedBackend is what the scheduler needs from an engine: Embedder through EmbedderBackend, or a
// fake in tests.
class EmbedBackend {
 public:
  virtual ~EmbedBackend() = default;
  // Tokenize is called on submitting threads, concurrently; it must be thread-safe.
  virtual Status Tokenize(std::string_view text, tokenizer::Encoding* out) const = 0;
  // EmbedTokenized is called on the worker thread only. It returns texts.size() rows of dim().
  virtual Result<EmbedResult> EmbedTokenized(std::span<const TokenizedText> texts) = 0;
  virtual size_t dim() const = 0;
  virtual size_t max_seq_length() const = 0;
};

// EmbedderBackend adapts an Embedder (not owned; it must outlive the scheduler).
class EmbedderBackend final : public EmbedBackend {
 public:
  explicit EmbedderBackend(Embedder* embedder) : embedder_(embedder) {}
  Status Tokenize(std::string_view text, tokenizer::Encoding* out) const override;
  Result<EmbedResult> EmbedTokenized(std::span<const TokenizedText> texts) override;
  size_t dim() const override;
  size_t max_seq_length() const override;

 private:
  Embedder* embedder_;
};

struct SchedulerOptions {
  size_t max_queued_requests = 256;  // Requests admitted and not yet collected.
  size_t max_queued_texts = 4096;    // Texts admitted and not yet embedded; also the most texts
                                     // one request may carry.
  size_t max_batch_tokens = 8192;    // Tokens per batch; >= the backend's max_seq_length().
  size_t max_batch_texts = 1024;     // Texts per batch; <= the Embedder's max_texts_per_call.
  uint32_t max_wait_us = 2000;       // How long the oldest text may wait for a fuller batch
                                     // while texts of more than one request are queued.
};

enum class ShutdownMode { kDrain, kFail };

struct SchedulerStats {
  uint64_t requests_admitted = 0;
  uint64_t requests_busy = 0;  // Submits refused with kEngineBusy.
  uint64_t batches = 0;
  uint64_t texts_embedded = 0;
  uint64_t tokens_embedded = 0;
  uint64_t max_batch_texts_seen = 0;
};

class BatchScheduler {
 public:
  // Ticket is the caller's handle on one admitted request. Move-only. Dropping a Ticket without
  // Wait abandons the request (its rows are discarded when they arrive).
  class Ticket {
   public:
    Ticket() = default;
    Ticket(Ticket&& other) noexcept;
    Ticket& operator=(Ticket&& other) noexcept;
    Ticket(const Ticket&) = delete;
    Ticket& operator=(const Ticket&) = delete;
    ~Ticket();

    // Wait blocks until every text of the request is embedded (or the request failed) and returns
    // the rows in submission order. Errors: the backend's (e.g. kEngineBadTokens, kInternal),
    // kEngineShuttingDown (Shutdown(kFail) while queued). Call at most once.
    Result<EmbedResult> Wait();
    // ready reports whether Wait would return without blocking.
    bool ready() const;
    bool valid() const { return scheduler_ != nullptr; }

   private:
    friend class BatchScheduler;
    Ticket(BatchScheduler* scheduler, uint32_t slot, uint32_t generation)
        : scheduler_(scheduler), slot_(slot), generation_(generation) {}
    void Release();

    BatchScheduler* scheduler_ = nullptr;
    uint32_t slot_ = 0;
    uint32_t generation_ = 0;
  };

  // Create starts the worker thread. `backend` is not owned and must outlive the scheduler.
  // Errors: kEngineBadOptions (a limit is 0, max_batch_tokens < backend->max_seq_length(), or a
  // limit above 2^31).
  static Result<std::unique_ptr<BatchScheduler>> Create(EmbedBackend* backend,
                                                        const SchedulerOptions& options);
  ~BatchScheduler();
  BatchScheduler(const BatchScheduler&) = delete;
  BatchScheduler& operator=(const BatchScheduler&) = delete;

  // Submit tokenizes `texts` on the calling thread and queues them. Errors (nothing queued):
  // kEngineNoTexts, kEngineTooManyTexts (more than max_queued_texts), kEngineBusy (the queue is
  // full now), kEngineShuttingDown, the tokenizer's (kTokenizerInvalidUtf8).
  Result<Ticket> Submit(std::span<const std::string> texts);
  Result<Ticket> Submit(std::span<const std::string_view> texts);

  // Embed is Submit followed by Wait.
  Result<EmbedResult> Embed(std::span<const std::string> texts);

  // Shutdown stops admission and stops the worker after draining (kDrain) or failing (kFail) what
  // is queued. Idempotent; a later call cannot turn a drain into a fail once the worker is gone.
  void Shutdown(ShutdownMode mode);

  SchedulerStats stats() const;
  const SchedulerOptions& options() const { return options_; }

 private:
  using Clock = std::chrono::steady_clock;
  static constexpr uint32_t kNone = UINT32_MAX;

  struct TextSlot {
    tokenizer::Encoding encoding;  // Capacity kept across requests.
    uint32_t request = kNone;
    uint32_t row = 0;
    uint32_t tokens = 0;
    uint32_t next = kNone;  // Next text of the same request (while it is being admitted).
    uint64_t arrival = 0;   // Admission order, for fairness among equal lengths.
    Clock::time_point enqueued;
  };
  struct RequestSlot {
    EmbedResult result;
    std::optional<Error> error;
    size_t remaining = 0;  // Texts not yet embedded or failed.
    uint32_t generation = 0;
    bool done = false;
    bool abandoned = false;
    std::condition_variable cv;
  };

  BatchScheduler(EmbedBackend* backend, const SchedulerOptions& options);
  template <typename Text>
  Result<Ticket> SubmitImpl(std::span<const Text> texts);
  void WorkerLoop();
  // The following run with mu_ held.
  bool SingleRequestPending() const;  // pending_ is not empty
  void SelectBatch();
  void FinishText(uint32_t text, const Error* error);
  void CompleteRequest(uint32_t request);
  void ReleaseRequest(uint32_t request);
  void FailPending(const Error& error);
  Result<EmbedResult> CollectLocked(uint32_t request, std::unique_lock<std::mutex>& lock);

  EmbedBackend* const backend_;
  const SchedulerOptions options_;
  const size_t dim_;

  mutable std::mutex mu_;
  std::condition_variable worker_cv_;
  std::unique_ptr<TextSlot[]> texts_;
  std::unique_ptr<RequestSlot[]> requests_;
  std::vector<uint32_t> free_texts_;     // Stack of free text slots.
  std::vector<uint32_t> free_requests_;  // Stack of free request slots.
  std::vector<uint32_t> pending_;        // Queued text slots in admission order.
  size_t pending_tokens_ = 0;
  uint64_t next_arrival_ = 0;
  bool stopping_ = false;
  SchedulerStats stats_;

  // Worker-only scratch (sized at Create).
  std::vector<uint32_t> sorted_;  // pending_ sorted by length.
  std::vector<uint32_t> batch_;   // Text slots of the running batch.
  std::vector<TokenizedText> batch_inputs_;
  std::vector<uint8_t> selected_;  // Per text slot: chosen for the batch being built.

  std::mutex join_mu_;
  std::thread worker_;
};

}  // namespace eml::engine
