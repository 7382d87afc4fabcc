#include "enclave/model_boot.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <future>
#include <iterator>
#include <optional>
#include <span>
#include <system_error>
#include <thread>

#include "common/checked_math.h"
#include "crypto/hash.h"
#include "crypto/stream_aead.h"
#include "enclave/locked_buffer.h"
#include "model/model_directory.h"

namespace eml::enclave {
namespace {

using Clock = std::chrono::steady_clock;

uint64_t MicrosSince(Clock::time_point start) {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count());
}

// Accumulates the time of one scope into a counter.
class ScopedTimer {
 public:
  explicit ScopedTimer(uint64_t* out_us) : out_us_(out_us), start_(Clock::now()) {}
  ~ScopedTimer() { *out_us_ += MicrosSince(start_); }
  ScopedTimer(const ScopedTimer&) = delete;
  ScopedTimer& operator=(const ScopedTimer&) = delete;

 private:
  uint64_t* out_us_;
  Clock::time_point start_;
};

// HashBehind feeds plaintext to a SHA-256 hasher on a second thread, one piece behind the
// decryption: piece k (just written, still in the shared cache) is hashed while piece k + 1 is
// fetched and decrypted. Pieces reach the hasher in order; Wait returns once the last one is in.
// The destructor waits too, so the thread never outlives the buffer it reads. Time spent hashing
// is added to *hash_us (which only the hashing thread touches until Wait returns).
class HashBehind {
 public:
  HashBehind(crypto::Sha256Hasher& hasher, uint64_t* hash_us)
      : hasher_(hasher), hash_us_(hash_us) {}
  ~HashBehind() { Wait(); }
  HashBehind(const HashBehind&) = delete;
  HashBehind& operator=(const HashBehind&) = delete;

  void Add(std::span<const uint8_t> piece) {
    Wait();
    try {
      pending_ = std::async(std::launch::async, [this, piece] { Update(piece); });
    } catch (const std::system_error&) {
      Update(piece);  // no thread to be had: hash on this one
    }
  }
  void Wait() {
    if (pending_.valid()) {
      pending_.get();
    }
  }

 private:
  void Update(std::span<const uint8_t> piece) {
    ScopedTimer timer(hash_us_);
    hasher_.Update(piece);
  }

  crypto::Sha256Hasher& hasher_;
  uint64_t* hash_us_;
  std::future<void> pending_;
};

// IsTransient: store errors worth another attempt (the transport, not the content, failed).
bool IsTransient(ErrorCode code) {
  return code == ErrorCode::kIoError || code == ErrorCode::kHttpConnect ||
         code == ErrorCode::kHttpTimeout || code == ErrorCode::kHttpProtocol ||
         code == ErrorCode::kS3Unavailable || code == ErrorCode::kChannelIoError ||
         code == ErrorCode::kChannelTimeout || code == ErrorCode::kChannelClosed;
}

// The bytes behind this view passed their SHA-256 check against the signed manifest.
std::string_view AsVerifiedText(std::span<const uint8_t> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

// The files the engine loads, in load order.
struct Plan {
  const model::ManifestFile* config = nullptr;
  const model::ManifestFile* tokenizer = nullptr;
  const model::ManifestFile* weights = nullptr;
  // The pipeline files, when the manifest lists modules.json; the pooling file's name is known
  // only once modules.json is read (LoadPipeline adds it).
  const model::ManifestFile* modules = nullptr;
  const model::ManifestFile* sentence_bert = nullptr;
  uint64_t total_bytes = 0;
  bool needs_key = false;
};

class Booter {
 public:
  Booter(const BootRequest& request, DataKeySource& keys, const BootProgressFn& progress,
         const BootOptions& options)
      : request_(request), keys_(keys), progress_(progress), options_(options) {}

  Result<BootedModel> Run();

 private:
  // Retry runs a store call up to store_attempts times while it fails with a transient error.
  template <typename T, typename Fn>
  Result<T> Retry(std::string_view what, const Fn& call);
  // TimedFetch is Retry with the time added to timings_.fetch_us.
  template <typename T, typename Fn>
  Result<T> TimedFetch(std::string_view what, const Fn& call) {
    ScopedTimer timer(&timings_.fetch_us);
    return Retry<T>(what, call);
  }
  // StoreError maps a non-transient store error met while reading `name`.
  Error StoreError(const Error& error, std::string_view name, bool encrypted) const;

  Result<model::VerifiedManifest> FetchManifest();
  Result<Plan> PlanFiles(const model::VerifiedManifest& verified) const;
  // AddToPlan counts `file` against max_model_bytes and checks its segment size.
  Status AddToPlan(const model::Manifest& manifest, const model::ManifestFile& file,
                   Plan& plan) const;
  // LoadPipeline reads the pipeline files (modules.json, the pooling module's config.json and
  // sentence_bert_config.json) under the rule of model::ModelDirectory::Open: nullopt when the
  // manifest lists no modules.json. Fetches the key first when only the pooling file needs it.
  Result<std::optional<model::SentenceEmbeddingConfig>> LoadPipeline(
      const model::VerifiedManifest& verified, Plan& plan, SecretBytes& dek);
  Result<SecretBytes> FetchKey(const model::VerifiedManifest& verified);
  Result<LockedBuffer> LoadFile(const model::ManifestFile& file, const SecretBytes& dek);
  // ReadPlain and ReadEncrypted fill `out` and feed each piece of plaintext to `hasher` right
  // after writing it (one pass, while the bytes are in cache; ReadEncrypted hashes each read's
  // plaintext on a second thread while it fetches and decrypts the next, see HashBehind).
  Status ReadPlain(const model::ManifestFile& file, LockedBuffer& out,
                   crypto::Sha256Hasher& hasher);
  Status ReadEncrypted(const model::ManifestFile& file, const SecretBytes& dek, LockedBuffer& out,
                       crypto::Sha256Hasher& hasher);
  void Hash(crypto::Sha256Hasher& hasher, std::span<const uint8_t> plaintext) {
    ScopedTimer timer(&timings_.hash_us);
    hasher.Update(plaintext);
  }
  Status CheckDigest(const model::ManifestFile& file, crypto::Sha256Hasher& hasher);
  void Report(std::string_view step, std::string_view file, uint64_t done, uint64_t total) const {
    if (progress_) {
      progress_(BootProgress{step, file, done, total});
    }
  }

  const BootRequest& request_;
  DataKeySource& keys_;
  const BootProgressFn& progress_;
  const BootOptions& options_;
  BootTimings timings_;
  size_t files_decrypted_ = 0;
  bool all_locked_ = true;
};

template <typename T, typename Fn>
Result<T> Booter::Retry(std::string_view what, const Fn& call) {
  const int attempts = std::max(1, options_.store_attempts);
  std::chrono::milliseconds backoff = options_.store_backoff;
  for (int attempt = 1;; ++attempt) {
    Result<T> result = call();
    if (result.has_value() || !IsTransient(result.error().code)) {
      return result;
    }
    if (attempt == attempts) {
      return Error{ErrorCode::kBootStoreUnavailable, "store failed " + std::to_string(attempts) +
                                                         " attempts to read " + std::string(what) +
                                                         ": " + ToString(result.error())};
    }
    if (options_.sleep) {
      options_.sleep(backoff);
    } else {
      std::this_thread::sleep_for(backoff);
    }
    backoff *= 2;
  }
}

Error Booter::StoreError(const Error& error, std::string_view name, bool encrypted) const {
  const std::string where = request_.model_id + "/" + request_.version + "/" + std::string(name);
  if (error.code == ErrorCode::kBootStoreUnavailable) {
    return error;
  }
  if (error.code == ErrorCode::kStoreNotFound) {
    return Error{ErrorCode::kBootModelNotFound, where + " is not in the store"};
  }
  if (error.code == ErrorCode::kStoreBadRange) {
    return Error{encrypted ? ErrorCode::kBootSegmentInvalid : ErrorCode::kBootHashMismatch,
                 where + " is shorter than the manifest says (truncated)"};
  }
  return Error{ErrorCode::kBootStoreUnavailable,
               "store error reading " + where + ": " + ToString(error)};
}

Result<model::VerifiedManifest> Booter::FetchManifest() {
  ScopedTimer timer(&timings_.manifest_us);
  model::ModelStore& store = request_.store;
  const std::string json_name(model::kManifestFileName);
  const std::string sig_name(model::kSignatureFileName);
  Result<std::vector<uint8_t>> json = Retry<std::vector<uint8_t>>(json_name, [&] {
    return store.Fetch(request_.model_id, request_.version, json_name,
                       model::kDefaultMaxManifestBytes);
  });
  if (!json.has_value()) {
    if (json.error().code == ErrorCode::kLimitExceeded) {
      return Error{ErrorCode::kBootBadManifest, "manifest.json is larger than 1 MiB"};
    }
    return StoreError(json.error(), json_name, false);
  }
  Result<std::vector<uint8_t>> sig = Retry<std::vector<uint8_t>>(sig_name, [&] {
    return store.Fetch(request_.model_id, request_.version, sig_name, kMaxSignatureFileBytes);
  });
  if (!sig.has_value()) {
    if (sig.error().code == ErrorCode::kLimitExceeded) {
      return Error{ErrorCode::kBootBadSignature, "manifest.sig is oversized"};
    }
    return StoreError(sig.error(), sig_name, false);
  }
  Result<std::array<uint8_t, crypto::kEd25519SignatureSize>> signature =
      model::ParseSignatureFile(*sig);
  if (!signature.has_value()) {
    return Error{ErrorCode::kBootBadSignature, "manifest.sig: " + ToString(signature.error())};
  }
  Result<model::VerifiedManifest> verified =
      model::VerifiedManifest::Verify(*json, *signature, request_.owner_key);
  if (!verified.has_value()) {
    const ErrorCode code = verified.error().code;
    const bool signature_failed =
        code == ErrorCode::kManifestSignatureInvalid || code == ErrorCode::kManifestSignerMismatch;
    return Error{signature_failed ? ErrorCode::kBootBadSignature : ErrorCode::kBootBadManifest,
                 "manifest of " + request_.model_id + "/" + request_.version + " (owner key " +
                     model::SignerKeyId(request_.owner_key) + "): " + ToString(verified.error())};
  }
  const model::Manifest& manifest = verified->manifest();
  if (manifest.model_id != request_.model_id || manifest.version != request_.version) {
    return Error{ErrorCode::kBootModelMismatch, "the store's manifest for " + request_.model_id +
                                                    "/" + request_.version + " is signed for " +
                                                    manifest.model_id + "/" + manifest.version};
  }
  Report("manifest", "", 1, 1);
  return verified;
}

Result<Plan> Booter::PlanFiles(const model::VerifiedManifest& verified) const {
  const model::Manifest& manifest = verified.manifest();
  if (manifest.format != "safetensors") {
    return Error{ErrorCode::kBootBadManifest,
                 "weights format \"" + manifest.format + "\" cannot be booted (safetensors only)"};
  }
  Plan plan;
  plan.config = verified.Find(kConfigFileName);
  plan.tokenizer = verified.Find(kTokenizerFileName);
  for (const model::ManifestFile& file : manifest.files) {
    if (file.role != model::kRoleWeights) {
      continue;
    }
    if (plan.weights != nullptr) {
      return Error{ErrorCode::kBootBadManifest,
                   "several weights files: sharded models cannot be booted yet"};
    }
    plan.weights = &file;
  }
  if (plan.config == nullptr || plan.tokenizer == nullptr || plan.weights == nullptr) {
    return Error{ErrorCode::kBootBadManifest,
                 "the manifest lacks config.json, tokenizer.json or a weights file"};
  }
  plan.modules = verified.Find(model::kModulesFileName);
  if (plan.modules != nullptr) {
    plan.sentence_bert = verified.Find(model::kSentenceBertConfigFileName);
    if (plan.sentence_bert == nullptr) {
      return Error{ErrorCode::kBootBadManifest,
                   "the manifest lists modules.json but not sentence_bert_config.json"};
    }
  }
  if (manifest.model_hash_scheme != air::kSchemeSha256Single) {
    return Error{ErrorCode::kBootBadManifest,
                 "model_hash_scheme " + manifest.model_hash_scheme + " cannot be booted"};
  }
  for (const model::ManifestFile* file :
       {plan.config, plan.tokenizer, plan.weights, plan.modules, plan.sentence_bert}) {
    if (file != nullptr) {
      EML_RETURN_IF_ERROR(AddToPlan(manifest, *file, plan));
    }
  }
  return plan;
}

Status Booter::AddToPlan(const model::Manifest& manifest, const model::ManifestFile& file,
                         Plan& plan) const {
  size_t sum = 0;
  if (file.size > SIZE_MAX ||
      !CheckedAdd(static_cast<size_t>(plan.total_bytes), static_cast<size_t>(file.size), &sum) ||
      sum > request_.max_model_bytes) {
    return Error{ErrorCode::kBootModelTooLarge,
                 "model " + manifest.model_id + "/" + manifest.version + " needs more than " +
                     std::to_string(request_.max_model_bytes) + " bytes (max_model_bytes)"};
  }
  plan.total_bytes = sum;
  plan.needs_key = plan.needs_key || file.encryption.has_value();
  if (file.encryption.has_value() &&
      file.encryption->segment_size > crypto::kDefaultMaxSegmentSize) {
    return Error{ErrorCode::kBootBadManifest, file.name + ": segment size above " +
                                                  std::to_string(crypto::kDefaultMaxSegmentSize) +
                                                  " bytes"};
  }
  return OkStatus();
}

Result<SecretBytes> Booter::FetchKey(const model::VerifiedManifest& verified) {
  ScopedTimer timer(&timings_.key_us);
  Result<SecretBytes> key = keys_.DataKey(verified);
  const KeySourceTimings parts = keys_.timings();
  timings_.challenge_us = parts.challenge_us;
  timings_.attest_us = parts.attest_us;
  timings_.release_us = parts.release_us;
  if (!key.has_value() && (key.error().code == ErrorCode::kBootKeyDenied ||
                           key.error().code == ErrorCode::kBootKeyBadRequest ||
                           key.error().code == ErrorCode::kBootBrokerUnavailable)) {
    return key.error();
  }
  if (!key.has_value()) {
    return Error{ErrorCode::kBootKeyUnavailable,
                 "data key for " + verified.manifest().key_id + ": " + ToString(key.error())};
  }
  if (key->size() != crypto::kStreamKeySize) {
    return Error{ErrorCode::kBootKeyUnavailable,
                 "data key for " + verified.manifest().key_id + " is not 32 bytes"};
  }
  Report("key", "", 1, 1);
  return key;
}

Status Booter::ReadPlain(const model::ManifestFile& file, LockedBuffer& out,
                         crypto::Sha256Hasher& hasher) {
  model::ModelStore& store = request_.store;
  Result<uint64_t> size = TimedFetch<uint64_t>(
      file.name, [&] { return store.Size(request_.model_id, request_.version, file.name); });
  if (!size.has_value()) {
    return StoreError(size.error(), file.name, false);
  }
  if (*size != file.size) {
    return Error{ErrorCode::kBootHashMismatch, file.name + " is " + std::to_string(*size) +
                                                   " bytes, the manifest says " +
                                                   std::to_string(file.size)};
  }
  const std::span<uint8_t> dest = out.MutableReveal(InsecureSecretAccess::Get());
  for (uint64_t offset = 0; offset < file.size; offset += kPlainReadChunkBytes) {
    const size_t length =
        static_cast<size_t>(std::min<uint64_t>(kPlainReadChunkBytes, file.size - offset));
    ScopedTimer timer(&timings_.fetch_us);
    Result<std::vector<uint8_t>> chunk = Retry<std::vector<uint8_t>>(file.name, [&] {
      return store.ReadRange(request_.model_id, request_.version, file.name, offset, length);
    });
    if (!chunk.has_value()) {
      return StoreError(chunk.error(), file.name, false);
    }
    if (chunk->size() != length) {
      return Error{ErrorCode::kBootHashMismatch, file.name + ": the store returned a short range"};
    }
    const std::span<uint8_t> piece = dest.subspan(static_cast<size_t>(offset), length);
    std::ranges::copy(*chunk, piece.begin());
    Hash(hasher, piece);
    Report("file", file.name, offset + length, file.size);
  }
  return OkStatus();
}

Status Booter::ReadEncrypted(const model::ManifestFile& file, const SecretBytes& dek,
                             LockedBuffer& out, crypto::Sha256Hasher& hasher) {
  model::ModelStore& store = request_.store;
  const model::FileEncryption& encryption = *file.encryption;
  const std::string stored = model::StoredPath(file);
  Result<uint64_t> size = TimedFetch<uint64_t>(
      stored, [&] { return store.Size(request_.model_id, request_.version, stored); });
  if (!size.has_value()) {
    return StoreError(size.error(), stored, true);
  }
  const uint64_t segment_size = encryption.segment_size;
  const uint64_t stride = segment_size + crypto::kStreamTagSize;
  if (*size != encryption.encrypted_size) {
    const std::string at =
        *size < crypto::kStreamHeaderSize
            ? "the header"
            : "segment " + std::to_string((*size - crypto::kStreamHeaderSize) / stride);
    return Error{ErrorCode::kBootSegmentInvalid,
                 stored + " is " + std::to_string(*size) + " bytes, the manifest says " +
                     std::to_string(encryption.encrypted_size) +
                     (*size < encryption.encrypted_size ? " (truncated at " + at + ")"
                                                        : " (bytes after the final segment)")};
  }
  Result<std::vector<uint8_t>> header = TimedFetch<std::vector<uint8_t>>(stored, [&] {
    return store.ReadRange(request_.model_id, request_.version, stored, 0,
                           crypto::kStreamHeaderSize);
  });
  if (!header.has_value()) {
    return StoreError(header.error(), stored, true);
  }
  std::unique_ptr<crypto::StreamSegmentCipher> cipher;
  {
    ScopedTimer timer(&timings_.decrypt_us);
    Result<std::unique_ptr<crypto::StreamSegmentCipher>> made =
        crypto::StreamSegmentCipher::New(dek, *header);
    if (!made.has_value()) {
      return Error{made.error().code == ErrorCode::kStreamWrongKey ? ErrorCode::kBootWrongKey
                                                                   : ErrorCode::kBootSegmentInvalid,
                   stored + " header: " + ToString(made.error())};
    }
    cipher = *std::move(made);
  }
  if (cipher->header().segment_size != encryption.segment_size ||
      !ConstantTimeEquals(cipher->header().file_id, encryption.file_id)) {
    return Error{ErrorCode::kBootSegmentInvalid,
                 stored + " header: another file's header (file id or segment size differs)"};
  }
  const std::span<uint8_t> dest = out.MutableReveal(InsecureSecretAccess::Get());
  const uint64_t num_segments = file.size == 0 ? 1 : (file.size + segment_size - 1) / segment_size;
  // Whole segments per ranged read (fewer round trips through a host proxy), as many as fit in
  // max_read_bytes and at least one; each segment is still opened and reported on its own, and
  // each read's plaintext is hashed beside the next read.
  uint64_t per_read = std::max<uint64_t>(1, options_.max_read_bytes / stride);
  HashBehind hash_behind(hasher, &timings_.hash_us);
  for (uint64_t first = 0; first < num_segments;) {
    const uint64_t count = std::min(per_read, num_segments - first);
    const uint64_t plain_end = std::min(file.size, (first + count) * segment_size);
    const size_t sealed_length =
        static_cast<size_t>(plain_end - first * segment_size + count * crypto::kStreamTagSize);
    Result<std::vector<uint8_t>> sealed = TimedFetch<std::vector<uint8_t>>(stored, [&] {
      return store.ReadRange(request_.model_id, request_.version, stored,
                             crypto::kStreamHeaderSize + first * stride, sealed_length);
    });
    if (!sealed.has_value() && sealed.error().code == ErrorCode::kLimitExceeded && count > 1) {
      per_read = 1;  // the store caps its replies below this read (a host proxy): one at a time
      continue;
    }
    if (!sealed.has_value()) {
      return StoreError(sealed.error(), stored, true);
    }
    if (sealed->size() != sealed_length) {
      return Error{ErrorCode::kBootSegmentInvalid, stored + " segment " + std::to_string(first) +
                                                       ": the store returned a short range"};
    }
    const std::span<const uint8_t> chunk(*sealed);
    for (uint64_t index = first; index < first + count; ++index) {
      const uint64_t begin = index * segment_size;
      const size_t length = static_cast<size_t>(std::min(segment_size, file.size - begin));
      const std::span<uint8_t> plain = dest.subspan(static_cast<size_t>(begin), length);
      const std::span<const uint8_t> sealed_segment = chunk.subspan(
          static_cast<size_t>((index - first) * stride), length + crypto::kStreamTagSize);
      Status opened = OkStatus();
      {
        ScopedTimer timer(&timings_.decrypt_us);
        opened = cipher->OpenSegment(static_cast<uint32_t>(index), index + 1 == num_segments,
                                     sealed_segment, plain);
      }
      if (!opened.has_value()) {
        return Error{ErrorCode::kBootSegmentInvalid, stored + " segment " + std::to_string(index) +
                                                         ": " + ToString(opened.error())};
      }
      Report("file", file.name, begin + length, file.size);
    }
    const uint64_t plain_begin = first * segment_size;
    hash_behind.Add(dest.subspan(static_cast<size_t>(plain_begin),
                                 static_cast<size_t>(plain_end - plain_begin)));
    first += count;
  }
  hash_behind.Wait();
  ++files_decrypted_;
  return OkStatus();
}

Status Booter::CheckDigest(const model::ManifestFile& file, crypto::Sha256Hasher& hasher) {
  ScopedTimer timer(&timings_.hash_us);
  const air::Sha256Digest digest = hasher.Finish();
  if (!ConstantTimeEquals(digest, file.sha256)) {
    return Error{ErrorCode::kBootHashMismatch,
                 file.name + ": SHA-256 of the plaintext differs from the manifest"};
  }
  return OkStatus();
}

Result<LockedBuffer> Booter::LoadFile(const model::ManifestFile& file, const SecretBytes& dek) {
  EML_ASSIGN_OR_RETURN(LockedBuffer buffer,
                       LockedBuffer::Create(static_cast<size_t>(file.size), options_.warn));
  all_locked_ = all_locked_ && (buffer.locked() || file.size == 0);
  crypto::Sha256Hasher hasher;
  if (file.encryption.has_value()) {
    EML_RETURN_IF_ERROR(ReadEncrypted(file, dek, buffer, hasher));
  } else {
    EML_RETURN_IF_ERROR(ReadPlain(file, buffer, hasher));
  }
  EML_RETURN_IF_ERROR(CheckDigest(file, hasher));
  return buffer;
}

Result<std::optional<model::SentenceEmbeddingConfig>> Booter::LoadPipeline(
    const model::VerifiedManifest& verified, Plan& plan, SecretBytes& dek) {
  if (plan.modules == nullptr) {
    return std::nullopt;  // as ModelDirectory::Open without modules.json: the default pipeline
  }
  const auto load_json = [&](const model::ManifestFile& file) -> Result<LockedBuffer> {
    if (file.size > model::kMaxModelJsonBytes) {
      return Error{ErrorCode::kBootBadManifest, file.name + " is larger than 1 MiB"};
    }
    if (file.encryption.has_value() && dek.empty()) {
      EML_ASSIGN_OR_RETURN(dek, FetchKey(verified));
    }
    return LoadFile(file, dek);
  };
  const auto engine_failed = [&](const Error& error) {
    return Error{
        ErrorCode::kBootEngineFailed,
        verified.manifest().model_id + "/" + verified.manifest().version + ": " + ToString(error)};
  };
  const InsecureSecretAccess access = InsecureSecretAccess::Get();
  EML_ASSIGN_OR_RETURN(const LockedBuffer modules, load_json(*plan.modules));
  const std::string_view modules_text = AsVerifiedText(modules.Reveal(access));
  Result<std::string> pooling_name = model::PoolingConfigName(modules_text);
  if (!pooling_name.has_value()) {
    return engine_failed(pooling_name.error());
  }
  const model::ManifestFile* pooling_file = verified.Find(*pooling_name);
  if (pooling_file == nullptr) {
    return Error{ErrorCode::kBootBadManifest,
                 "modules.json names " + *pooling_name + ", which the manifest does not list"};
  }
  EML_RETURN_IF_ERROR(AddToPlan(verified.manifest(), *pooling_file, plan));
  EML_ASSIGN_OR_RETURN(const LockedBuffer pooling, load_json(*pooling_file));
  EML_ASSIGN_OR_RETURN(const LockedBuffer sentence_bert, load_json(*plan.sentence_bert));
  Result<model::SentenceEmbeddingConfig> embedding =
      model::ParseSentenceEmbeddingConfig(modules_text, AsVerifiedText(pooling.Reveal(access)),
                                          AsVerifiedText(sentence_bert.Reveal(access)));
  if (!embedding.has_value()) {
    return engine_failed(embedding.error());
  }
  return *embedding;
}

Result<BootedModel> Booter::Run() {
  const Clock::time_point start = Clock::now();
  EML_ASSIGN_OR_RETURN(const model::VerifiedManifest verified, FetchManifest());
  EML_ASSIGN_OR_RETURN(Plan plan, PlanFiles(verified));
  SecretBytes dek;
  if (plan.needs_key) {
    EML_ASSIGN_OR_RETURN(dek, FetchKey(verified));
  }
  // The small pipeline files first: a package the engine cannot run fails before the weights.
  EML_ASSIGN_OR_RETURN(const std::optional<model::SentenceEmbeddingConfig> embedding,
                       LoadPipeline(verified, plan, dek));
  EML_ASSIGN_OR_RETURN(LockedBuffer config, LoadFile(*plan.config, dek));
  EML_ASSIGN_OR_RETURN(LockedBuffer tokenizer, LoadFile(*plan.tokenizer, dek));
  EML_ASSIGN_OR_RETURN(LockedBuffer weights, LoadFile(*plan.weights, dek));
  dek.Wipe();  // every file is decrypted: the key is not needed any more
  const model::Manifest& manifest = verified.manifest();
  // sha256-single: the model hash is the weights file's SHA-256, just checked above.
  if (!ConstantTimeEquals(manifest.model_hash, plan.weights->sha256)) {
    return Error{ErrorCode::kBootHashMismatch,
                 "model_hash differs from the SHA-256 of " + plan.weights->name};
  }

  BootedModel out;
  {
    ScopedTimer timer(&timings_.load_us);
    Report("load", "", 0, 1);
    const InsecureSecretAccess access = InsecureSecretAccess::Get();
    Result<std::unique_ptr<engine::Embedder>> embedder = engine::Embedder::LoadFromMemoryView(
        AsVerifiedText(config.Reveal(access)), AsVerifiedText(tokenizer.Reveal(access)),
        weights.Reveal(access), embedding, options_.engine);
    if (!embedder.has_value()) {
      return Error{ErrorCode::kBootEngineFailed,
                   manifest.model_id + "/" + manifest.version + ": " + ToString(embedder.error())};
    }
    out.embedder = *std::move(embedder);
    weights.Wipe();  // the engine holds its own copy
    Report("load", "", 1, 1);
  }
  out.model_id = manifest.model_id;
  out.version = manifest.version;
  out.model_hash = manifest.model_hash;
  out.model_hash_scheme = manifest.model_hash_scheme;
  out.model_bytes = plan.total_bytes;
  out.files_decrypted = files_decrypted_;
  out.memory_locked = all_locked_;
  timings_.total_us = MicrosSince(start);
  out.timings = timings_;
  return out;
}

}  // namespace

Result<StaticDataKeySource> StaticDataKeySource::FromFile(const std::filesystem::path& path) {
  // Read with plain read(2) straight into secret storage: no stream buffer keeps a copy.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return Error{ErrorCode::kBootKeyUnavailable, "cannot open data key file " + path.string()};
  }
  SecretBytes key(crypto::kStreamKeySize + 1);  // one spare byte tells a longer file
  const std::span<uint8_t> bytes = key.MutableReveal(InsecureSecretAccess::Get());
  size_t got = 0;
  while (got < bytes.size()) {
    const std::span<uint8_t> rest = bytes.subspan(got);
    const ssize_t n = ::read(fd, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      break;
    }
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  if (got != crypto::kStreamKeySize) {
    return Error{ErrorCode::kBootKeyUnavailable,
                 "data key file " + path.string() + " is not exactly 32 bytes"};
  }
  return StaticDataKeySource(SecretBytes::CopyFrom(bytes.first(crypto::kStreamKeySize)));
}

Result<SecretBytes> StaticDataKeySource::DataKey(const model::VerifiedManifest& /*manifest*/) {
  return key_.Clone();
}

std::vector<std::pair<std::string, uint64_t>> BootTimingFields(const BootTimings& timings) {
  return {{"manifest_us", timings.manifest_us},
          {"key_us", timings.key_us},
          {"challenge_us", timings.challenge_us},
          {"attest_us", timings.attest_us},
          {"release_us", timings.release_us},
          {"fetch_us", timings.fetch_us},
          {"decrypt_us", timings.decrypt_us},
          {"hash_us", timings.hash_us},
          {"load_us", timings.load_us},
          {"total_us", timings.total_us},
          {"first_inference_us", timings.first_inference_us}};
}

std::string FormatBootTimings(const BootTimings& timings) {
  std::string out;
  for (const auto& [name, micros] : BootTimingFields(timings)) {
    char part[64];
    std::snprintf(part, sizeof(part), "%s%.*s %.1f ms", out.empty() ? "" : ", ",
                  static_cast<int>(name.size() - 3), name.c_str(),
                  static_cast<double>(micros) / 1000.0);
    out += part;
  }
  return out;
}

Result<BootedModel> BootModel(const BootRequest& request, DataKeySource& keys,
                              const BootProgressFn& progress, const BootOptions& options) {
  Booter booter(request, keys, progress, options);
  return booter.Run();
}

int BootExitCode(ErrorCode code) {
  static constexpr std::pair<ErrorCode, int> kTable[] = {
      {ErrorCode::kBootBadSignature, 10},      {ErrorCode::kBootHashMismatch, 11},
      {ErrorCode::kBootSegmentInvalid, 12},    {ErrorCode::kBootKeyUnavailable, 13},
      {ErrorCode::kBootStoreUnavailable, 14},  {ErrorCode::kBootModelTooLarge, 15},
      {ErrorCode::kBootModelMismatch, 16},     {ErrorCode::kBootWrongKey, 17},
      {ErrorCode::kBootModelNotFound, 18},     {ErrorCode::kBootBadManifest, 19},
      {ErrorCode::kBootEngineFailed, 20},      {ErrorCode::kBootKeyDenied, 21},
      {ErrorCode::kBootBrokerUnavailable, 22}, {ErrorCode::kBootKeyBadRequest, 23},
  };
  for (const auto& [boot_code, exit_code] : kTable) {
    if (boot_code == code) {
      return exit_code;
    }
  }
  return 0;
}

Result<std::unique_ptr<model::ModelStore>> OpenBootStore(std::string_view url) {
  Result<std::unique_ptr<model::ModelStore>> store = model::OpenModelStore(url);
  if (store.has_value()) {
    return store;
  }
  const ErrorCode code = store.error().code;
  if (code == ErrorCode::kStoreBadUrl || code == ErrorCode::kStoreUnsupportedScheme) {
    return Error{ErrorCode::kEnclaveBadConfig, "--store: " + ToString(store.error())};
  }
  return Error{ErrorCode::kBootStoreUnavailable,
               "store " + std::string(url) + ": " + ToString(store.error())};
}

}  // namespace eml::enclave
