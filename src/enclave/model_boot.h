#pragma once
// Posture: reads untrusted bytes: manifest.json, manifest.sig and the package files a model store
// returns (the store and the host in front of it may be hostile), and the bytes of a data key
// source. Limits: the manifest through model::ManifestLimits (1 MiB) and the signature file
// (kMaxSignatureFileBytes); the model's plaintext through BootRequest::max_model_bytes, checked
// against the signed sizes before anything is fetched; every encrypted file is read in ranges of
// whole segments (at most BootOptions::max_read_bytes, default kDefaultBootReadBytes, or one
// segment of at most crypto::kDefaultMaxSegmentSize + 16 bytes where that is larger) and every
// plaintext file in kPlainReadChunkBytes ranges; nothing past the size the signed manifest gives
// is read. Fuzz target: the manifest parser (`model_manifest`); segments are checked by the
// stream cipher.
//
// eml::enclave::BootModel: the in-enclave half of encrypted boot (DESIGN.md section 3.2; issue 5
// section 4; docs/operations.md "Encrypted boot"). Given a model id and version, the owner's
// Ed25519 key from the enclave's measured configuration, a model store and a data key source:
//   1. manifest: fetch manifest.json + manifest.sig, verify the signature with the owner key,
//      require the requested model id and version, pick the files the engine loads
//      (config.json, tokenizer.json, the one safetensors weights file and, when the manifest
//      lists modules.json, the pipeline files: modules.json, the pooling module's config.json
//      and sentence_bert_config.json) and refuse a model whose plaintext is above
//      max_model_bytes;
//   2. key: ask the DataKeySource for the data key (only when a loaded file is encrypted);
//   3. fetch / decrypt / hash, file by file: ranged reads of several whole segments at a time,
//      STREAM decryption of each segment straight into a LockedBuffer (mlock'ed where allowed,
//      zeroed when dropped) and SHA-256 of its plaintext in the same pass, while it is in cache;
//      the digest against the manifest, and the AIR model_hash (sha256-single: the weights
//      file's digest from that pass) against the weights;
//   4. wipe the data key, then load the engine from the locked buffers, which are wiped as soon
//      as the engine holds its own copy of the weights, with the pipeline the pipeline files
//      declare (pooling, normalization, max_seq_length), or without modules.json the default
//      one, the same rule as model::ModelDirectory::Open for a directory.
// Each step is timed (BootTimings). Store calls that fail with a transport-class error (I/O,
// connect, timeout) are retried kDefaultStoreAttempts times with doubling backoff.
//
// Error codes (each failure has its own; details are one line, never key or weight bytes):
//   kBootBadSignature     manifest.sig malformed, or not a valid signature by the owner key;
//   kBootBadManifest      a signed manifest the boot cannot use (schema, format, file layout);
//   kBootModelMismatch    the manifest names another model id or version;
//   kBootModelNotFound    the store lacks the version or a file the manifest lists;
//   kBootModelTooLarge    the files to load exceed max_model_bytes;
//   kBootKeyUnavailable   the key source refused, failed or gave a key of the wrong size;
//   kBootKeyDenied        the key broker denied the release (passed through from the source);
//   kBootBrokerUnavailable the key broker could not be reached (passed through from the source);
//   kBootKeyBadRequest the key broker rejected the request itself, e.g. an unknown key
//                         (passed through from the source);
//   kBootWrongKey         the key does not open the package's files (key check value);
//   kBootSegmentInvalid   an encrypted file's header or segment fails authentication, or the
//                         file is truncated or extended (details: file, segment index and the
//                         stream error's name, e.g. STREAM_SEGMENT_AUTH_FAILED);
//   kBootHashMismatch     a file's size or SHA-256, or the model_hash, differs from the manifest;
//   kBootStoreUnavailable the store failed every attempt;
//   kBootEngineFailed     the engine rejects the verified files (including a malformed or
//                         unsupported pipeline in modules.json or the pooling / sentence-bert
//                         files, or one inconsistent with config.json);
//   kLimitExceeded        a buffer could not be allocated.
//
// Thread safety: BootModel uses the store and key source from the calling thread only.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "air/claims.h"
#include "common/result.h"
#include "common/secret_bytes.h"
#include "crypto/ed25519.h"
#include "crypto/stream_aead.h"
#include "engine/embedder.h"
#include "model/manifest.h"
#include "model/store.h"

namespace eml::enclave {

inline constexpr int kDefaultStoreAttempts = 3;
inline constexpr std::chrono::milliseconds kDefaultStoreBackoff{100};
inline constexpr size_t kMaxSignatureFileBytes = 256;
inline constexpr size_t kPlainReadChunkBytes = size_t{1} << 20;
// Bytes of whole encrypted segments asked for in one ranged read: 8 segments of the default size
// with their tags (8 MiB + 128 bytes), one round trip instead of eight through the host's storage
// proxy (whose default reply cap, 16 MiB, is above it).
inline constexpr size_t kDefaultBootReadBytes =
    8 * (size_t{crypto::kDefaultSegmentSize} + crypto::kStreamTagSize);
inline constexpr uint64_t kDefaultMaxModelBytes = uint64_t{2} << 30;  // 2 GiB of plaintext
inline constexpr std::string_view kConfigFileName = "config.json";
inline constexpr std::string_view kTokenizerFileName = "tokenizer.json";

// KeySourceTimings: microseconds a data key source spent in its remote steps, summed over its
// attempts (zero for a source without them).
struct KeySourceTimings {
  uint64_t challenge_us = 0;  // asking for a challenge (broker)
  uint64_t attest_us = 0;     // making the attestation document
  uint64_t release_us = 0;    // the release (or decrypt) call and opening its answer
};

// DataKeySource gives the data key (DEK) of a verified package: a local file (sim), the key
// broker's attested release (enclave/broker_key_source.h) or KMS.
class DataKeySource {
 public:
  virtual ~DataKeySource() = default;
  // DataKey returns the package's 32-byte data key. Errors: the source's own. BootModel passes
  // kBootKeyDenied and kBootBrokerUnavailable through and reports any other as
  // kBootKeyUnavailable (the source's code named in the detail).
  virtual Result<SecretBytes> DataKey(const model::VerifiedManifest& manifest) = 0;
  // timings: the remote steps of the latest DataKey call (BootModel copies them).
  virtual KeySourceTimings timings() const { return {}; }
};

// StaticDataKeySource hands out one fixed key (sim and tests: the file `ephemeralml model pack`
// writes with --dek-out, 32 raw bytes).
class StaticDataKeySource final : public DataKeySource {
 public:
  explicit StaticDataKeySource(SecretBytes key) : key_(std::move(key)) {}
  // FromFile reads a key file of exactly 32 bytes. Errors: kBootKeyUnavailable (missing,
  // unreadable, or another size).
  static Result<StaticDataKeySource> FromFile(const std::filesystem::path& path);
  Result<SecretBytes> DataKey(const model::VerifiedManifest& manifest) override;

 private:
  SecretBytes key_;
};

// BootTimings: microseconds per step. challenge, attest and release are the key source's parts
// of key (KeySourceTimings); fetch, decrypt and hash are summed over all files (an encrypted
// file is hashed on a second thread beside its fetch and decryption, so hash overlaps them);
// total is the wall time of BootModel (the parts do not add up to it exactly). first_inference
// is not BootModel's: the enclave fills it in after its timed warm-up inference.
struct BootTimings {
  uint64_t manifest_us = 0;
  uint64_t key_us = 0;
  uint64_t challenge_us = 0;
  uint64_t attest_us = 0;
  uint64_t release_us = 0;
  uint64_t fetch_us = 0;
  uint64_t decrypt_us = 0;
  uint64_t hash_us = 0;
  uint64_t load_us = 0;
  uint64_t total_us = 0;
  uint64_t first_inference_us = 0;
};

// BootTimingFields lists the timings as ("manifest_us", v), ("key_us", v), ("challenge_us", v),
// ("attest_us", v), ("release_us", v), ("fetch_us", v), ... ("total_us", v),
// ("first_inference_us", v): every field, always, in this order (logs, JSON).
std::vector<std::pair<std::string, uint64_t>> BootTimingFields(const BootTimings& timings);
// FormatBootTimings renders "manifest 1.2 ms, key 0.0 ms, ..., total 84.0 ms, ...".
std::string FormatBootTimings(const BootTimings& timings);

struct BootRequest {
  std::string model_id;
  std::string version;
  // The owner's signing key, from the enclave's measured configuration (PCR1), never from the
  // host.
  const crypto::Ed25519PublicKey& owner_key;
  model::ModelStore& store;
  uint64_t max_model_bytes = kDefaultMaxModelBytes;
};

struct BootProgress {
  std::string_view step;  // "manifest", "key", "file", "load"
  std::string_view file;  // for "file"
  uint64_t done_bytes = 0;
  uint64_t total_bytes = 0;
};
using BootProgressFn = std::function<void(const BootProgress&)>;

struct BootOptions {
  engine::EmbedderOptions engine;
  int store_attempts = kDefaultStoreAttempts;
  std::chrono::milliseconds store_backoff = kDefaultStoreBackoff;  // doubled per retry
  // Upper bound of one ranged read of encrypted segments (at least one segment is read). A store
  // that refuses a read of several segments as too large (kLimitExceeded: a host proxy with a
  // smaller reply cap) is read one segment at a time from then on.
  size_t max_read_bytes = kDefaultBootReadBytes;
  // Sleeps between store attempts (tests inject a recorder); empty: std::this_thread::sleep_for.
  std::function<void(std::chrono::milliseconds)> sleep;
  // Receives warnings (e.g. memory that could not be locked); empty: dropped.
  std::function<void(const std::string&)> warn;
};

struct BootedModel {
  std::unique_ptr<engine::Embedder> embedder;
  std::string model_id;
  std::string version;
  air::Sha256Digest model_hash{};  // the manifest's AIR model_hash, checked against the weights
  std::string model_hash_scheme;
  uint64_t model_bytes = 0;  // plaintext bytes fetched and checked
  size_t files_decrypted = 0;
  bool memory_locked = false;  // every decrypted buffer was mlock'ed
  BootTimings timings;
};

// BootModel runs the steps above. On error nothing is kept: buffers and the key are wiped.
// Errors: see the file comment.
Result<BootedModel> BootModel(const BootRequest& request, DataKeySource& keys,
                              const BootProgressFn& progress, const BootOptions& options = {});

// BootExitCode returns the process exit code of ephemeralml-enclave for a boot failure
// (docs/operations.md, "Encrypted boot"): 10 kBootBadSignature, 11 kBootHashMismatch,
// 12 kBootSegmentInvalid, 13 kBootKeyUnavailable, 14 kBootStoreUnavailable, 15 kBootModelTooLarge,
// 16 kBootModelMismatch, 17 kBootWrongKey, 18 kBootModelNotFound, 19 kBootBadManifest,
// 20 kBootEngineFailed, 21 kBootKeyDenied, 22 kBootBrokerUnavailable, 23 kBootKeyBadRequest;
// 0 for any other code (not a boot failure).
int BootExitCode(ErrorCode code);

// OpenBootStore opens the store at `url` for a boot. Errors: kEnclaveBadConfig (malformed URL or
// unsupported scheme), kBootStoreUnavailable (the store cannot be opened, e.g. its directory is
// missing).
Result<std::unique_ptr<model::ModelStore>> OpenBootStore(std::string_view url);

}  // namespace eml::enclave
