#pragma once
// Posture: BrokerStore reads only the broker's own SQLite database (a file the broker created;
// its schema version and integrity are checked at open). Every statement is prepared with bound
// parameters: no SQL is ever built from request text.
//
// eml::keys::BrokerStore (DESIGN.md section 6.4; docs/keybroker.md "Data model"): the key
// broker's persistent state in one SQLite database in WAL mode with synchronous=FULL, a busy
// timeout and foreign keys on. Tables: schema_version, meta (the master key check value), keys
// (one row per model version: key id, state, canonical release policy, DEK sealed under the
// master key), challenges (single-use nonces) and audit (one row per decision). The schema is
// created and upgraded by ordered migrations, each applied in its own transaction at Open.
//
// Durability: a write returns only after its transaction committed with synchronous=FULL, so a
// crash (or kill -9) at any instant keeps every write that returned and loses none of them
// half-way. The store never sees key bytes in the clear: KeyBroker seals them first.
//
// Thread safety: every method may be called from any thread; one mutex serialises access to
// the single connection (writes are short; attestation runs outside the store).

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"
#include "keys/key_broker.h"

struct sqlite3;

namespace eml::keys {

// Ordered migrations; kSchemaVersion is the last one's number.
inline constexpr int64_t kSchemaVersion = 1;
inline constexpr int kBusyTimeoutMs = 5000;
// Expired challenges are kept this long (to tell "expired" from "unknown"), then pruned.
inline constexpr int64_t kChallengeRetentionS = 3600;

// A key row as stored: the DEK only in sealed form.
struct StoredKey {
  KeyInfo info;
  std::vector<uint8_t> dek_nonce;       // 12 bytes
  std::vector<uint8_t> dek_ciphertext;  // 32 + 16 bytes
};

enum class ChallengeOutcome { kConsumed, kUnknown, kExpired, kAlreadyUsed };

class BrokerStore {
 public:
  // Open opens or creates the database at `db_path` (its folder must exist) and applies any
  // missing migrations. Errors: kBrokerStoreOpenFailed, kBrokerStoreCorrupt (not a database, a
  // failed quick_check, a version table that makes no sense), kBrokerStoreSchemaTooNew.
  static Result<std::unique_ptr<BrokerStore>> Open(const std::filesystem::path& db_path);
  ~BrokerStore();
  BrokerStore(const BrokerStore&) = delete;
  BrokerStore& operator=(const BrokerStore&) = delete;

  // SchemaVersion returns the applied schema version (kSchemaVersion after Open).
  Result<int64_t> SchemaVersion();
  // IntegrityCheck runs PRAGMA integrity_check; Ok iff SQLite answers "ok".
  // Errors: kBrokerStoreCorrupt (with SQLite's first complaint), kBrokerStoreFailed.
  Status IntegrityCheck();

  // GetMeta / PutMeta: small named blobs (the master key check value). PutMeta never replaces
  // an existing name (returns the stored value's presence as kBrokerKeyExists).
  Result<std::optional<std::vector<uint8_t>>> GetMeta(const std::string& name);
  Status PutMeta(const std::string& name, std::span<const uint8_t> value);

  // InsertKey stores a new key and its audit row in one transaction.
  // Errors: kBrokerKeyExists (model_id and version already present), kBrokerStoreFailed.
  Status InsertKey(const StoredKey& key, const AuditRow& audit);
  // UpdatePolicy replaces the policy of an existing key (any state) with its audit row.
  // Errors: kBrokerUnknownKey, kBrokerStoreFailed.
  Status UpdatePolicy(const KeyRef& ref, const std::string& policy_json, int64_t now,
                      const AuditRow& audit);
  // Revoke marks a key revoked (idempotent) with its audit row.
  // Errors: kBrokerUnknownKey, kBrokerStoreFailed.
  Status Revoke(const KeyRef& ref, int64_t now, const AuditRow& audit);
  // FindKey returns the key row, or nullopt. Errors: kBrokerStoreFailed, kBrokerStoreCorrupt.
  Result<std::optional<StoredKey>> FindKey(const KeyRef& ref);
  // ListKeys returns every key (no key bytes) ordered by model_id, version.
  Result<std::vector<KeyInfo>> ListKeys();

  // InsertChallenge stores a fresh challenge (and its audit row) and prunes challenges that
  // expired more than kChallengeRetentionS before `now`. Errors: kBrokerStoreFailed.
  Status InsertChallenge(std::span<const uint8_t> nonce, int64_t expires_at, int64_t now,
                         const AuditRow& audit);
  // ConsumeChallenge marks `nonce` used iff it is unused and expires_at >= now, atomically (one
  // UPDATE: of two concurrent callers exactly one gets kConsumed), and otherwise says why not.
  Result<ChallengeOutcome> ConsumeChallenge(std::span<const uint8_t> nonce, int64_t now);

  // AppendAudit adds one audit row. Errors: kBrokerStoreFailed.
  Status AppendAudit(const AuditRow& row);
  // QueryAudit returns rows with id > query.after_id (and the ref, if set), oldest first, at most
  // clamp(query.limit, 1, 1000).
  Result<std::vector<AuditRow>> QueryAudit(const AuditQuery& query);

  // ExecForTest runs one SQL statement (tests only: tampering with rows).
  Status ExecForTest(const std::string& sql);

 private:
  struct Impl;
  explicit BrokerStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace eml::keys
