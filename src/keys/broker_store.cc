#include "keys/broker_store.h"

#include <sqlite3.h>

#include <algorithm>
#include <mutex>
#include <string_view>
#include <utility>

namespace eml::keys {
namespace {

// Migration n (1-based) is kMigrations[n - 1]; applied in order, never edited once released.
constexpr const char* kMigrations[] = {
    // 1: the initial schema.
    "CREATE TABLE meta ("
    "  name TEXT PRIMARY KEY,"
    "  value BLOB NOT NULL);"
    "CREATE TABLE keys ("
    "  id INTEGER PRIMARY KEY,"
    "  model_id TEXT NOT NULL,"
    "  version TEXT NOT NULL,"
    "  key_id TEXT NOT NULL UNIQUE,"
    "  state TEXT NOT NULL CHECK (state IN ('active', 'revoked')),"
    "  policy_json TEXT NOT NULL,"
    "  dek_nonce BLOB NOT NULL,"
    "  dek_ciphertext BLOB NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  UNIQUE (model_id, version));"
    "CREATE TABLE challenges ("
    "  nonce BLOB PRIMARY KEY,"
    "  expires_at INTEGER NOT NULL,"
    "  used INTEGER NOT NULL DEFAULT 0 CHECK (used IN (0, 1)));"
    "CREATE INDEX challenges_by_expiry ON challenges (expires_at);"
    "CREATE TABLE audit ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  time INTEGER NOT NULL,"
    "  action TEXT NOT NULL,"
    "  model_id TEXT NOT NULL,"
    "  version TEXT NOT NULL,"
    "  allowed INTEGER NOT NULL CHECK (allowed IN (0, 1)),"
    "  code INTEGER NOT NULL,"
    "  reason TEXT NOT NULL,"
    "  platform TEXT NOT NULL,"
    "  measurements_json TEXT NOT NULL,"
    "  evidence_sha256 TEXT NOT NULL);"
    "CREATE INDEX audit_by_ref ON audit (model_id, version, id);",
};
static_assert(std::size(kMigrations) == kSchemaVersion);

Error StoreError(ErrorCode code, sqlite3* db, const std::string& what) {
  std::string detail = what;
  if (db != nullptr) {
    detail += ": ";
    detail += sqlite3_errmsg(db);
  }
  return Error{code, detail};
}

// Stmt: one prepared statement, finalized on destruction.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK) {
      stmt_ = nullptr;
    }
  }
  ~Stmt() { sqlite3_finalize(stmt_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  bool ok() const { return stmt_ != nullptr && bind_ok_; }
  void Bind(int index, int64_t value) {
    bind_ok_ = bind_ok_ && ok_prepared() &&
               sqlite3_bind_int64(stmt_, index, static_cast<sqlite3_int64>(value)) == SQLITE_OK;
  }
  void Bind(int index, std::string_view text) {
    bind_ok_ = bind_ok_ && ok_prepared() &&
               sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT,
                                   SQLITE_UTF8) == SQLITE_OK;
  }
  void BindBlob(int index, std::span<const uint8_t> blob) {
    // A zero-length blob still binds as a blob, not NULL.
    static const uint8_t kEmpty = 0;
    const void* data = blob.empty() ? &kEmpty : blob.data();
    bind_ok_ = bind_ok_ && ok_prepared() &&
               sqlite3_bind_blob64(stmt_, index, data, blob.size(), SQLITE_TRANSIENT) == SQLITE_OK;
  }
  // Step returns SQLITE_ROW, SQLITE_DONE or an error code.
  int Step() { return ok() ? sqlite3_step(stmt_) : SQLITE_MISUSE; }

  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  std::string Text(int col) const {
    const unsigned char* text = sqlite3_column_text(stmt_, col);
    const int size = sqlite3_column_bytes(stmt_, col);
    return text == nullptr
               ? std::string()
               : std::string(reinterpret_cast<const char*>(text), static_cast<size_t>(size));
  }
  std::vector<uint8_t> Blob(int col) const {
    const auto* data = static_cast<const uint8_t*>(sqlite3_column_blob(stmt_, col));
    const int size = sqlite3_column_bytes(stmt_, col);
    return data == nullptr ? std::vector<uint8_t>()
                           : std::vector<uint8_t>(data, data + static_cast<size_t>(size));
  }

 private:
  bool ok_prepared() const { return stmt_ != nullptr; }
  sqlite3_stmt* stmt_ = nullptr;
  bool bind_ok_ = true;
};

// Runs a statement that returns no rows.
Status Run(sqlite3* db, Stmt& stmt, const std::string& what) {
  if (!stmt.ok()) {
    return StoreError(ErrorCode::kBrokerStoreFailed, db, what + " (prepare)");
  }
  const int rc = stmt.Step();
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
    return StoreError(ErrorCode::kBrokerStoreFailed, db, what);
  }
  return {};
}

Status Exec(sqlite3* db, const char* sql, const std::string& what,
            ErrorCode code = ErrorCode::kBrokerStoreFailed) {
  if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
    return StoreError(code, db, what);
  }
  return {};
}

// Txn: BEGIN IMMEDIATE (take the write lock up front, so SQLite's busy handler applies and no
// deferred read-to-write upgrade can deadlock); rolled back unless committed.
class Txn {
 public:
  explicit Txn(sqlite3* db) : db_(db) {}
  ~Txn() {
    if (open_) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    }
  }
  Txn(const Txn&) = delete;
  Txn& operator=(const Txn&) = delete;
  Status Begin() {
    EML_RETURN_IF_ERROR(Exec(db_, "BEGIN IMMEDIATE", "begin transaction"));
    open_ = true;
    return {};
  }
  Status Commit() {
    EML_RETURN_IF_ERROR(Exec(db_, "COMMIT", "commit"));
    open_ = false;
    return {};
  }

 private:
  sqlite3* db_;
  bool open_ = false;
};

const char* StateName(KeyState state) {
  switch (state) {
    case KeyState::kActive:
      return "active";
    case KeyState::kRevoked:
      return "revoked";
  }
  return "revoked";
}

Status InsertAudit(sqlite3* db, const AuditRow& row) {
  Stmt s(db,
         "INSERT INTO audit (time, action, model_id, version, allowed, code, reason, platform,"
         " measurements_json, evidence_sha256) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
  s.Bind(1, row.time);
  s.Bind(2, row.action);
  s.Bind(3, row.model_id);
  s.Bind(4, row.version);
  s.Bind(5, int64_t{row.allowed ? 1 : 0});
  s.Bind(6, int64_t{row.code});
  s.Bind(7, row.reason);
  s.Bind(8, row.platform);
  s.Bind(9, row.measurements_json);
  s.Bind(10, row.evidence_sha256_hex);
  return Run(db, s, "insert audit row");
}

Result<int64_t> ReadSchemaVersion(sqlite3* db) {
  Stmt s(db, "SELECT COALESCE(MAX(version), 0), COUNT(*) FROM schema_version");
  if (!s.ok() || s.Step() != SQLITE_ROW) {
    return StoreError(ErrorCode::kBrokerStoreCorrupt, db, "cannot read schema_version");
  }
  const int64_t version = s.Int(0);
  if (version < 0 || s.Int(1) != version) {
    return Error{ErrorCode::kBrokerStoreCorrupt,
                 "schema_version does not list migrations 1.." + std::to_string(version)};
  }
  return version;
}

}  // namespace

struct BrokerStore::Impl {
  sqlite3* db = nullptr;
  std::mutex mu;
  ~Impl() { sqlite3_close_v2(db); }
};

BrokerStore::BrokerStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
BrokerStore::~BrokerStore() = default;

Result<std::unique_ptr<BrokerStore>> BrokerStore::Open(const std::filesystem::path& db_path) {
  auto impl = std::make_unique<Impl>();
  const int flags =
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX | SQLITE_OPEN_NOFOLLOW;
  if (sqlite3_open_v2(db_path.c_str(), &impl->db, flags, nullptr) != SQLITE_OK) {
    return StoreError(ErrorCode::kBrokerStoreOpenFailed, impl->db,
                      "cannot open broker database " + db_path.string());
  }
  sqlite3* db = impl->db;
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, kBusyTimeoutMs);
  {
    // The first read of the file: a file that is not a database fails here.
    Stmt wal(db, "PRAGMA journal_mode = WAL");
    const int rc = wal.Step();
    if (rc != SQLITE_ROW) {
      const int primary = sqlite3_errcode(db) & 0xFF;
      return StoreError(primary == SQLITE_NOTADB || primary == SQLITE_CORRUPT
                            ? ErrorCode::kBrokerStoreCorrupt
                            : ErrorCode::kBrokerStoreOpenFailed,
                        db, db_path.string());
    }
    if (wal.Text(0) != "wal") {
      return Error{ErrorCode::kBrokerStoreOpenFailed,
                   db_path.string() + ": WAL journal mode is not available"};
    }
  }
  EML_RETURN_IF_ERROR(
      Exec(db, "PRAGMA synchronous = FULL", "set synchronous", ErrorCode::kBrokerStoreOpenFailed));
  EML_RETURN_IF_ERROR(Exec(db, "PRAGMA foreign_keys = ON", "enable foreign keys",
                           ErrorCode::kBrokerStoreOpenFailed));
  {
    Stmt check(db, "PRAGMA quick_check");
    if (!check.ok() || check.Step() != SQLITE_ROW || check.Text(0) != "ok") {
      return StoreError(ErrorCode::kBrokerStoreCorrupt, db,
                        db_path.string() + " fails its quick check");
    }
  }
  EML_RETURN_IF_ERROR(Exec(db,
                           "CREATE TABLE IF NOT EXISTS schema_version ("
                           "  version INTEGER PRIMARY KEY,"
                           "  applied_at INTEGER NOT NULL)",
                           "create schema_version", ErrorCode::kBrokerStoreOpenFailed));
  for (;;) {
    Txn txn(db);
    EML_RETURN_IF_ERROR(txn.Begin());
    EML_ASSIGN_OR_RETURN(int64_t version, ReadSchemaVersion(db));
    if (version > kSchemaVersion) {
      return Error{ErrorCode::kBrokerStoreSchemaTooNew,
                   db_path.string() + " has schema version " + std::to_string(version) +
                       "; this broker knows up to " + std::to_string(kSchemaVersion)};
    }
    if (version == kSchemaVersion) {
      EML_RETURN_IF_ERROR(txn.Commit());
      break;
    }
    const int64_t next = version + 1;
    EML_RETURN_IF_ERROR(Exec(db, kMigrations[next - 1],
                             "apply schema migration " + std::to_string(next),
                             ErrorCode::kBrokerStoreOpenFailed));
    Stmt mark(db,
              "INSERT INTO schema_version (version, applied_at) "
              "VALUES (?1, CAST(strftime('%s', 'now') AS INTEGER))");
    mark.Bind(1, next);
    EML_RETURN_IF_ERROR(Run(db, mark, "record schema migration"));
    EML_RETURN_IF_ERROR(txn.Commit());
  }
  return std::unique_ptr<BrokerStore>(new BrokerStore(std::move(impl)));
}

Result<int64_t> BrokerStore::SchemaVersion() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return ReadSchemaVersion(impl_->db);
}

Status BrokerStore::IntegrityCheck() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  Stmt s(impl_->db, "PRAGMA integrity_check");
  if (!s.ok() || s.Step() != SQLITE_ROW) {
    return StoreError(ErrorCode::kBrokerStoreFailed, impl_->db, "integrity_check");
  }
  const std::string answer = s.Text(0);
  if (answer != "ok") {
    return Error{ErrorCode::kBrokerStoreCorrupt, "integrity_check: " + answer};
  }
  return {};
}

Result<std::optional<std::vector<uint8_t>>> BrokerStore::GetMeta(const std::string& name) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  Stmt s(impl_->db, "SELECT value FROM meta WHERE name = ?1");
  s.Bind(1, name);
  const int rc = s.Step();
  if (rc == SQLITE_DONE) {
    return std::optional<std::vector<uint8_t>>();
  }
  if (rc != SQLITE_ROW) {
    return StoreError(ErrorCode::kBrokerStoreFailed, impl_->db, "read meta");
  }
  return std::optional<std::vector<uint8_t>>(s.Blob(0));
}

Status BrokerStore::PutMeta(const std::string& name, std::span<const uint8_t> value) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  Stmt s(impl_->db, "INSERT INTO meta (name, value) VALUES (?1, ?2)");
  s.Bind(1, name);
  s.BindBlob(2, value);
  if (!s.ok()) {
    return StoreError(ErrorCode::kBrokerStoreFailed, impl_->db, "write meta");
  }
  const int rc = s.Step();
  if (rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
    return Error{ErrorCode::kBrokerKeyExists, "meta entry " + name + " exists"};
  }
  if (rc != SQLITE_DONE) {
    return StoreError(ErrorCode::kBrokerStoreFailed, impl_->db, "write meta");
  }
  return {};
}

Status BrokerStore::InsertKey(const StoredKey& key, const AuditRow& audit) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  sqlite3* db = impl_->db;
  Txn txn(db);
  EML_RETURN_IF_ERROR(txn.Begin());
  Stmt s(db,
         "INSERT INTO keys (model_id, version, key_id, state, policy_json, dek_nonce,"
         " dek_ciphertext, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
  s.Bind(1, key.info.ref.model_id);
  s.Bind(2, key.info.ref.version);
  s.Bind(3, key.info.key_id);
  s.Bind(4, std::string_view(StateName(key.info.state)));
  s.Bind(5, key.info.policy_json);
  s.BindBlob(6, key.dek_nonce);
  s.BindBlob(7, key.dek_ciphertext);
  s.Bind(8, key.info.created_at);
  s.Bind(9, key.info.updated_at);
  if (!s.ok()) {
    return StoreError(ErrorCode::kBrokerStoreFailed, db, "insert key (prepare)");
  }
  const int rc = s.Step();
  if (rc == SQLITE_CONSTRAINT_UNIQUE) {
    return Error{ErrorCode::kBrokerKeyExists, "a key for " + key.info.ref.model_id + "@" +
                                                  key.info.ref.version + " is already registered"};
  }
  if (rc != SQLITE_DONE) {
    return StoreError(ErrorCode::kBrokerStoreFailed, db, "insert key");
  }
  EML_RETURN_IF_ERROR(InsertAudit(db, audit));
  return txn.Commit();
}

Status BrokerStore::UpdatePolicy(const KeyRef& ref, const std::string& policy_json, int64_t now,
                                 const AuditRow& audit) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  sqlite3* db = impl_->db;
  Txn txn(db);
  EML_RETURN_IF_ERROR(txn.Begin());
  Stmt s(db,
         "UPDATE keys SET policy_json = ?1, updated_at = ?2 WHERE model_id = ?3 AND version = ?4");
  s.Bind(1, policy_json);
  s.Bind(2, now);
  s.Bind(3, ref.model_id);
  s.Bind(4, ref.version);
  EML_RETURN_IF_ERROR(Run(db, s, "update policy"));
  if (sqlite3_changes(db) != 1) {
    return Error{ErrorCode::kBrokerUnknownKey,
                 "no key is registered for " + ref.model_id + "@" + ref.version};
  }
  EML_RETURN_IF_ERROR(InsertAudit(db, audit));
  return txn.Commit();
}

Status BrokerStore::Revoke(const KeyRef& ref, int64_t now, const AuditRow& audit) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  sqlite3* db = impl_->db;
  Txn txn(db);
  EML_RETURN_IF_ERROR(txn.Begin());
  Stmt s(db,
         "UPDATE keys SET state = 'revoked', updated_at = ?1 WHERE model_id = ?2 AND version = ?3");
  s.Bind(1, now);
  s.Bind(2, ref.model_id);
  s.Bind(3, ref.version);
  EML_RETURN_IF_ERROR(Run(db, s, "revoke key"));
  if (sqlite3_changes(db) != 1) {
    return Error{ErrorCode::kBrokerUnknownKey,
                 "no key is registered for " + ref.model_id + "@" + ref.version};
  }
  EML_RETURN_IF_ERROR(InsertAudit(db, audit));
  return txn.Commit();
}

namespace {

constexpr char kSelectKey[] =
    "SELECT model_id, version, key_id, state, policy_json, created_at, updated_at, dek_nonce,"
    " dek_ciphertext FROM keys";

Result<StoredKey> ReadKeyRow(const Stmt& s) {
  StoredKey key;
  key.info.ref.model_id = s.Text(0);
  key.info.ref.version = s.Text(1);
  key.info.key_id = s.Text(2);
  const std::string state = s.Text(3);
  if (state == "active") {
    key.info.state = KeyState::kActive;
  } else if (state == "revoked") {
    key.info.state = KeyState::kRevoked;
  } else {
    return Error{ErrorCode::kBrokerStoreCorrupt, "key " + key.info.key_id + " has a bad state"};
  }
  key.info.policy_json = s.Text(4);
  key.info.created_at = s.Int(5);
  key.info.updated_at = s.Int(6);
  key.dek_nonce = s.Blob(7);
  key.dek_ciphertext = s.Blob(8);
  return key;
}

}  // namespace

Result<std::optional<StoredKey>> BrokerStore::FindKey(const KeyRef& ref) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  Stmt s(impl_->db, (std::string(kSelectKey) + " WHERE model_id = ?1 AND version = ?2").c_str());
  s.Bind(1, ref.model_id);
  s.Bind(2, ref.version);
  const int rc = s.Step();
  if (rc == SQLITE_DONE) {
    return std::optional<StoredKey>();
  }
  if (rc != SQLITE_ROW) {
    return StoreError(ErrorCode::kBrokerStoreFailed, impl_->db, "find key");
  }
  EML_ASSIGN_OR_RETURN(StoredKey key, ReadKeyRow(s));
  return std::optional<StoredKey>(std::move(key));
}

Result<std::vector<KeyInfo>> BrokerStore::ListKeys() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  Stmt s(impl_->db, (std::string(kSelectKey) + " ORDER BY model_id, version").c_str());
  std::vector<KeyInfo> out;
  for (;;) {
    const int rc = s.Step();
    if (rc == SQLITE_DONE) {
      break;
    }
    if (rc != SQLITE_ROW) {
      return StoreError(ErrorCode::kBrokerStoreFailed, impl_->db, "list keys");
    }
    EML_ASSIGN_OR_RETURN(StoredKey key, ReadKeyRow(s));
    out.push_back(std::move(key.info));
  }
  return out;
}

Status BrokerStore::InsertChallenge(std::span<const uint8_t> nonce, int64_t expires_at, int64_t now,
                                    const AuditRow& audit) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  sqlite3* db = impl_->db;
  Txn txn(db);
  EML_RETURN_IF_ERROR(txn.Begin());
  Stmt prune(db, "DELETE FROM challenges WHERE expires_at < ?1");
  prune.Bind(1, now - kChallengeRetentionS);
  EML_RETURN_IF_ERROR(Run(db, prune, "prune challenges"));
  Stmt s(db, "INSERT INTO challenges (nonce, expires_at, used) VALUES (?1, ?2, 0)");
  s.BindBlob(1, nonce);
  s.Bind(2, expires_at);
  EML_RETURN_IF_ERROR(Run(db, s, "insert challenge"));
  EML_RETURN_IF_ERROR(InsertAudit(db, audit));
  return txn.Commit();
}

Result<ChallengeOutcome> BrokerStore::ConsumeChallenge(std::span<const uint8_t> nonce,
                                                       int64_t now) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  sqlite3* db = impl_->db;
  Txn txn(db);
  EML_RETURN_IF_ERROR(txn.Begin());
  Stmt use(db, "UPDATE challenges SET used = 1 WHERE nonce = ?1 AND used = 0 AND expires_at >= ?2");
  use.BindBlob(1, nonce);
  use.Bind(2, now);
  EML_RETURN_IF_ERROR(Run(db, use, "consume challenge"));
  ChallengeOutcome outcome = ChallengeOutcome::kConsumed;
  if (sqlite3_changes(db) != 1) {
    Stmt why(db, "SELECT used FROM challenges WHERE nonce = ?1");
    why.BindBlob(1, nonce);
    const int rc = why.Step();
    if (rc == SQLITE_DONE) {
      outcome = ChallengeOutcome::kUnknown;
    } else if (rc == SQLITE_ROW) {
      outcome = why.Int(0) != 0 ? ChallengeOutcome::kAlreadyUsed : ChallengeOutcome::kExpired;
    } else {
      return StoreError(ErrorCode::kBrokerStoreFailed, db, "look up challenge");
    }
  }
  EML_RETURN_IF_ERROR(txn.Commit());
  return outcome;
}

Status BrokerStore::AppendAudit(const AuditRow& row) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return InsertAudit(impl_->db, row);
}

Result<std::vector<AuditRow>> BrokerStore::QueryAudit(const AuditQuery& query) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  sqlite3* db = impl_->db;
  // ?4 = 1 filters by the ref; a fixed statement either way.
  Stmt s(db,
         "SELECT id, time, action, model_id, version, allowed, code, reason, platform,"
         " measurements_json, evidence_sha256 FROM audit WHERE id > ?1 AND"
         " (?4 = 0 OR (model_id = ?2 AND version = ?3)) ORDER BY id LIMIT ?5");
  s.Bind(1, query.after_id);
  s.Bind(2, query.ref.has_value() ? std::string_view(query.ref->model_id) : std::string_view());
  s.Bind(3, query.ref.has_value() ? std::string_view(query.ref->version) : std::string_view());
  s.Bind(4, int64_t{query.ref.has_value() ? 1 : 0});
  s.Bind(5, static_cast<int64_t>(std::clamp<size_t>(query.limit, 1, 1000)));
  std::vector<AuditRow> out;
  for (;;) {
    const int rc = s.Step();
    if (rc == SQLITE_DONE) {
      break;
    }
    if (rc != SQLITE_ROW) {
      return StoreError(ErrorCode::kBrokerStoreFailed, db, "query audit");
    }
    AuditRow row;
    row.id = s.Int(0);
    row.time = s.Int(1);
    row.action = s.Text(2);
    row.model_id = s.Text(3);
    row.version = s.Text(4);
    row.allowed = s.Int(5) != 0;
    row.code = static_cast<int>(s.Int(6));
    row.reason = s.Text(7);
    row.platform = s.Text(8);
    row.measurements_json = s.Text(9);
    row.evidence_sha256_hex = s.Text(10);
    out.push_back(std::move(row));
  }
  return out;
}

Status BrokerStore::ExecForTest(const std::string& sql) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return Exec(impl_->db, sql.c_str(), "exec");
}

}  // namespace eml::keys
