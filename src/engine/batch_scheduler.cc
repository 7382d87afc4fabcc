#include "engine/batch_scheduler.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "common/check.h"

namespace eml::engine {
namespace {

constexpr size_t kMaxLimit = size_t{1} << 31;

Error ShuttingDownError() {
  return Error{ErrorCode::kEngineShuttingDown, "the batch scheduler is shutting down"};
}

}  // namespace

Status EmbedderBackend::Tokenize(std::string_view text, tokenizer::Encoding* out) const {
  return embedder_->Tokenize(text, out);
}
Result<EmbedResult> EmbedderBackend::EmbedTokenized(std::span<const TokenizedText> texts) {
  return embedder_->EmbedTokenized(texts);
}
size_t EmbedderBackend::dim() const { return embedder_->dim(); }
size_t EmbedderBackend::max_seq_length() const { return embedder_->max_seq_length(); }

// ---------------------------------------------------------------------------------------------
// Ticket

BatchScheduler::Ticket::Ticket(Ticket&& other) noexcept
    : scheduler_(std::exchange(other.scheduler_, nullptr)),
      slot_(other.slot_),
      generation_(other.generation_) {}

BatchScheduler::Ticket& BatchScheduler::Ticket::operator=(Ticket&& other) noexcept {
  if (this != &other) {
    Release();
    scheduler_ = std::exchange(other.scheduler_, nullptr);
    slot_ = other.slot_;
    generation_ = other.generation_;
  }
  return *this;
}

BatchScheduler::Ticket::~Ticket() { Release(); }

void BatchScheduler::Ticket::Release() {
  if (scheduler_ == nullptr) return;
  BatchScheduler* s = std::exchange(scheduler_, nullptr);
  std::lock_guard<std::mutex> lock(s->mu_);
  RequestSlot& r = s->requests_[slot_];
  EML_CHECK(r.generation == generation_);
  if (r.done) {
    s->ReleaseRequest(slot_);
  } else {
    r.abandoned = true;  // The worker releases it when its last text is done.
  }
}

bool BatchScheduler::Ticket::ready() const {
  EML_CHECK(scheduler_ != nullptr);
  std::lock_guard<std::mutex> lock(scheduler_->mu_);
  return scheduler_->requests_[slot_].done;
}

Result<EmbedResult> BatchScheduler::Ticket::Wait() {
  EML_CHECK(scheduler_ != nullptr);
  BatchScheduler* s = std::exchange(scheduler_, nullptr);
  std::unique_lock<std::mutex> lock(s->mu_);
  EML_CHECK(s->requests_[slot_].generation == generation_);
  return s->CollectLocked(slot_, lock);
}

Result<EmbedResult> BatchScheduler::CollectLocked(uint32_t request,
                                                  std::unique_lock<std::mutex>& lock) {
  RequestSlot& r = requests_[request];
  r.cv.wait(lock, [&r] { return r.done; });
  Result<EmbedResult> out = r.error.has_value() ? Result<EmbedResult>(std::move(*r.error))
                                                : Result<EmbedResult>(std::move(r.result));
  ReleaseRequest(request);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Construction and shutdown

BatchScheduler::BatchScheduler(EmbedBackend* backend, const SchedulerOptions& options)
    : backend_(backend), options_(options), dim_(backend->dim()) {
  const size_t num_texts = options_.max_queued_texts;
  const size_t num_requests = options_.max_queued_requests;
  texts_ = std::make_unique<TextSlot[]>(num_texts);
  requests_ = std::make_unique<RequestSlot[]>(num_requests);
  free_texts_.reserve(num_texts);
  for (size_t i = num_texts; i-- > 0;) free_texts_.push_back(static_cast<uint32_t>(i));
  free_requests_.reserve(num_requests);
  for (size_t i = num_requests; i-- > 0;) free_requests_.push_back(static_cast<uint32_t>(i));
  pending_.reserve(num_texts);
  sorted_.reserve(num_texts);
  batch_.reserve(num_texts);
  batch_inputs_.reserve(std::min(num_texts, options_.max_batch_texts));
  selected_.assign(num_texts, 0);
}

Result<std::unique_ptr<BatchScheduler>> BatchScheduler::Create(EmbedBackend* backend,
                                                               const SchedulerOptions& options) {
  EML_CHECK(backend != nullptr);
  const auto bad = [](const char* what) {
    return Error{ErrorCode::kEngineBadOptions,
                 std::string("scheduler option out of range: ") + what};
  };
  if (options.max_queued_requests == 0 || options.max_queued_requests > kMaxLimit) {
    return bad("max_queued_requests");
  }
  if (options.max_queued_texts == 0 || options.max_queued_texts > kMaxLimit) {
    return bad("max_queued_texts");
  }
  if (options.max_batch_texts == 0 || options.max_batch_texts > kMaxLimit) {
    return bad("max_batch_texts");
  }
  if (options.max_batch_tokens < backend->max_seq_length() ||
      options.max_batch_tokens > kMaxLimit) {
    return bad("max_batch_tokens (must be >= the model's max_seq_length)");
  }
  std::unique_ptr<BatchScheduler> s(new BatchScheduler(backend, options));
  s->worker_ = std::thread([p = s.get()] { p->WorkerLoop(); });
  return s;
}

BatchScheduler::~BatchScheduler() {
  Shutdown(ShutdownMode::kDrain);
  std::lock_guard<std::mutex> lock(mu_);
  // Every Ticket must be collected or dropped before the scheduler goes away.
  EML_CHECK(free_requests_.size() == options_.max_queued_requests);
}

void BatchScheduler::Shutdown(ShutdownMode mode) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    if (mode == ShutdownMode::kFail) FailPending(ShuttingDownError());
  }
  worker_cv_.notify_all();
  std::lock_guard<std::mutex> join_lock(join_mu_);
  if (worker_.joinable()) worker_.join();
}

SchedulerStats BatchScheduler::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

// ---------------------------------------------------------------------------------------------
// Admission

Result<BatchScheduler::Ticket> BatchScheduler::Submit(std::span<const std::string> texts) {
  return SubmitImpl(texts);
}

Result<BatchScheduler::Ticket> BatchScheduler::Submit(std::span<const std::string_view> texts) {
  return SubmitImpl(texts);
}

Result<EmbedResult> BatchScheduler::Embed(std::span<const std::string> texts) {
  EML_ASSIGN_OR_RETURN(Ticket ticket, Submit(texts));
  return ticket.Wait();
}

template <typename Text>
Result<BatchScheduler::Ticket> BatchScheduler::SubmitImpl(std::span<const Text> texts) {
  const size_t n = texts.size();
  if (n == 0) return Error{ErrorCode::kEngineNoTexts, "no texts"};
  if (n > options_.max_queued_texts) {
    return Error{ErrorCode::kEngineTooManyTexts, "more texts in one request than max_queued_texts"};
  }

  // 1. Reserve a request slot and n text slots (chained through TextSlot::next).
  uint32_t request = kNone;
  uint32_t first_text = kNone;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return ShuttingDownError();
    if (free_requests_.empty() || free_texts_.size() < n) {
      ++stats_.requests_busy;
      return Error{ErrorCode::kEngineBusy, "the embedding queue is full"};
    }
    request = free_requests_.back();
    free_requests_.pop_back();
    uint32_t* link = &first_text;
    for (size_t i = 0; i < n; ++i) {
      const uint32_t t = free_texts_.back();
      free_texts_.pop_back();
      TextSlot& slot = texts_[t];
      slot.request = request;
      slot.row = static_cast<uint32_t>(i);
      slot.next = kNone;
      *link = t;
      link = &slot.next;
    }
    RequestSlot& r = requests_[request];
    r.done = false;
    r.abandoned = false;
    r.error.reset();
    r.remaining = n;
  }

  // 2. Tokenize and size the result outside the lock: these slots belong to this thread now.
  RequestSlot& r = requests_[request];
  r.result.dim = dim_;
  r.result.embeddings.assign(n * dim_, 0.0f);
  r.result.token_counts.assign(n, 0);
  Status tokenized = OkStatus();
  for (uint32_t t = first_text; t != kNone; t = texts_[t].next) {
    TextSlot& slot = texts_[t];
    tokenized = backend_->Tokenize(std::string_view(texts[slot.row]), &slot.encoding);
    if (!tokenized.has_value()) break;
    slot.tokens = static_cast<uint32_t>(slot.encoding.ids.size());
    r.result.token_counts[slot.row] = slot.tokens;
  }

  // 3. Queue the texts (or give the slots back).
  std::lock_guard<std::mutex> lock(mu_);
  if (tokenized.has_value() && stopping_) tokenized = ShuttingDownError();
  if (!tokenized.has_value()) {
    for (uint32_t t = first_text; t != kNone;) {
      const uint32_t next = texts_[t].next;
      texts_[t].request = kNone;
      free_texts_.push_back(t);
      t = next;
    }
    ReleaseRequest(request);
    return std::move(tokenized).error();
  }
  const Clock::time_point now = Clock::now();
  for (uint32_t t = first_text; t != kNone; t = texts_[t].next) {
    TextSlot& slot = texts_[t];
    slot.enqueued = now;
    slot.arrival = next_arrival_++;
    pending_.push_back(t);
    pending_tokens_ += slot.tokens;
  }
  ++stats_.requests_admitted;
  worker_cv_.notify_one();
  return Ticket(this, request, r.generation);
}

// ---------------------------------------------------------------------------------------------
// Worker

void BatchScheduler::WorkerLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    worker_cv_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
    if (pending_.empty()) break;  // Stopping and drained.
    // The worker is idle here (it runs every batch itself). A lone request goes at once: nobody
    // else is queued to share its batch, and waiting would only add max_wait_us to its latency.
    // Texts of several requests may wait for a fuller batch.
    if (!stopping_ && pending_tokens_ < options_.max_batch_tokens &&
        pending_.size() < options_.max_batch_texts && !SingleRequestPending()) {
      const Clock::time_point deadline =
          texts_[pending_.front()].enqueued + std::chrono::microseconds(options_.max_wait_us);
      if (Clock::now() < deadline) {
        // Woken early by a Submit (the batch may be full now) or by Shutdown; re-check.
        worker_cv_.wait_until(lock, deadline);
        continue;
      }
    }
    SelectBatch();
    if (batch_.empty()) continue;  // Everything selected belonged to failed requests.

    batch_inputs_.clear();
    size_t tokens = 0;
    for (uint32_t t : batch_) {
      const tokenizer::Encoding& e = texts_[t].encoding;
      batch_inputs_.push_back(
          TokenizedText{std::span<const int32_t>(e.ids), std::span<const int32_t>(e.type_ids)});
      tokens += e.ids.size();
    }
    lock.unlock();
    Result<EmbedResult> result = backend_->EmbedTokenized(batch_inputs_);
    if (result.has_value() &&
        (result->dim != dim_ || result->embeddings.size() != batch_.size() * dim_)) {
      result = Error{ErrorCode::kInternal, "backend returned a result of the wrong shape"};
    }
    lock.lock();

    ++stats_.batches;
    stats_.max_batch_texts_seen = std::max<uint64_t>(stats_.max_batch_texts_seen, batch_.size());
    if (result.has_value()) {
      stats_.texts_embedded += batch_.size();
      stats_.tokens_embedded += tokens;
      const float* rows = result->embeddings.data();
      for (size_t i = 0; i < batch_.size(); ++i) {
        const TextSlot& slot = texts_[batch_[i]];
        RequestSlot& r = requests_[slot.request];
        if (!r.error.has_value() && !r.abandoned) {
          std::memcpy(r.result.embeddings.data() + size_t{slot.row} * dim_, rows + i * dim_,
                      dim_ * sizeof(float));
        }
        FinishText(batch_[i], nullptr);
      }
    } else {
      for (uint32_t t : batch_) FinishText(t, &result.error());
    }
    batch_.clear();
  }
}

bool BatchScheduler::SingleRequestPending() const {
  const uint32_t request = texts_[pending_.front()].request;
  return std::all_of(pending_.begin(), pending_.end(),
                     [&](uint32_t t) { return texts_[t].request == request; });
}

void BatchScheduler::SelectBatch() {
  batch_.clear();
  // Texts of requests that already failed are dropped without being embedded.
  size_t kept = 0;
  for (uint32_t t : pending_) {
    if (requests_[texts_[t].request].error.has_value()) {
      pending_tokens_ -= texts_[t].tokens;
      FinishText(t, nullptr);
    } else {
      pending_[kept++] = t;
    }
  }
  pending_.resize(kept);
  if (pending_.empty()) return;

  const size_t max_tokens = options_.max_batch_tokens;
  const size_t max_texts = options_.max_batch_texts;
  if (pending_tokens_ <= max_tokens && pending_.size() <= max_texts) {
    batch_.swap(pending_);  // Both keep their reserved capacity.
    pending_tokens_ = 0;
    return;
  }

  // More than one batch is queued: take the oldest text and grow a window around it in the
  // length-sorted queue, always adding the neighbour closer in length, while the batch fits.
  sorted_.assign(pending_.begin(), pending_.end());
  std::sort(sorted_.begin(), sorted_.end(), [this](uint32_t a, uint32_t b) {
    const TextSlot& x = texts_[a];
    const TextSlot& y = texts_[b];
    return x.tokens != y.tokens ? x.tokens < y.tokens : x.arrival < y.arrival;
  });
  const uint32_t oldest = pending_.front();
  const size_t pos =
      static_cast<size_t>(std::find(sorted_.begin(), sorted_.end(), oldest) - sorted_.begin());
  const uint32_t anchor_len = texts_[oldest].tokens;
  size_t lo = pos;
  size_t hi = pos + 1;
  size_t tokens = anchor_len;
  selected_[oldest] = 1;
  while (hi - lo < max_texts) {
    const bool has_left = lo > 0 && tokens + texts_[sorted_[lo - 1]].tokens <= max_tokens;
    const bool has_right = hi < sorted_.size() && tokens + texts_[sorted_[hi]].tokens <= max_tokens;
    if (!has_left && !has_right) break;
    bool take_left = has_left;
    if (has_left && has_right) {
      take_left =
          anchor_len - texts_[sorted_[lo - 1]].tokens <= texts_[sorted_[hi]].tokens - anchor_len;
    }
    const uint32_t t = take_left ? sorted_[--lo] : sorted_[hi++];
    tokens += texts_[t].tokens;
    selected_[t] = 1;
  }
  kept = 0;
  for (uint32_t t : pending_) {
    if (selected_[t] != 0) {
      selected_[t] = 0;
      batch_.push_back(t);
    } else {
      pending_[kept++] = t;
    }
  }
  pending_.resize(kept);
  pending_tokens_ -= tokens;
}

void BatchScheduler::FinishText(uint32_t text, const Error* error) {
  TextSlot& slot = texts_[text];
  const uint32_t request = slot.request;
  RequestSlot& r = requests_[request];
  if (error != nullptr && !r.error.has_value()) r.error = *error;
  slot.request = kNone;
  free_texts_.push_back(text);
  EML_CHECK(r.remaining > 0);
  if (--r.remaining == 0) CompleteRequest(request);
}

void BatchScheduler::CompleteRequest(uint32_t request) {
  RequestSlot& r = requests_[request];
  r.done = true;
  if (r.abandoned) {
    ReleaseRequest(request);
  } else {
    r.cv.notify_all();
  }
}

void BatchScheduler::ReleaseRequest(uint32_t request) {
  RequestSlot& r = requests_[request];
  ++r.generation;
  r.done = false;
  r.abandoned = false;
  r.error.reset();
  free_requests_.push_back(request);
}

void BatchScheduler::FailPending(const Error& error) {
  for (uint32_t t : pending_) FinishText(t, &error);
  pending_.clear();
  pending_tokens_ = 0;
}

}  // namespace eml::engine
