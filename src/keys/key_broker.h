#pragma once
// Posture: Register / UpdatePolicy take operator input (admin API, authenticated by the HTTP
// layer); Release takes untrusted bytes from anyone (evidence, nonce, key) and verifies them
// with the attestation verifier core before any key material is touched.
//
// eml::keys::KeyBroker (DESIGN.md sections 3.2 and 6.4): holds model data keys (DEKs) and
// their release policies in a BrokerStore (SQLite), hands out single-use challenges, and
// releases a DEK only to fresh evidence that matches the key's policy, sealed with HPKE
// (RFC 9180 base mode, DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / ChaCha20-Poly1305) to the
// X25519 key the evidence binds. Every decision, allowed or denied, is one audit row.
//
// Release policy JSON, version 1 (docs/keybroker.md):
//   {"version": 1,
//    "evidence": { <an attest evidence policy, attest/policy.h; root entries may be inline PEM
//                   text; other relative paths resolve against the broker's data folder> },
//    "security_modes": ["production"]}      // optional; default ["production"]
// "evaluation" must be listed (and "sim" named in evidence.platforms) for a key to be
// released to the simulated platform.
//
// Thread safety: every method may be called concurrently; BrokerStore serialises writes.
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/secret_bytes.h"
#include "keys/release_info.h"  // KeyRef, ReleaseInfo, kDataKeySize, kChallengeSize

namespace eml::keys {

inline constexpr int64_t kDefaultChallengeTtlS = 60;
inline constexpr size_t kMaxEvidenceBytes = 64 * 1024;

enum class KeyState { kActive, kRevoked };

// What List returns: never the key bytes.
struct KeyInfo {
  KeyRef ref;
  std::string key_id;  // "kb-" + 16 hex: random, assigned at registration
  KeyState state = KeyState::kActive;
  std::string policy_json;  // canonical (sorted keys, compact)
  int64_t created_at = 0;   // unix seconds
  int64_t updated_at = 0;
};

struct Challenge {
  std::array<uint8_t, kChallengeSize> nonce{};
  int64_t expires_at = 0;  // unix seconds
};

struct ReleaseRequest {
  KeyRef ref;
  std::vector<uint8_t> evidence;       // attestation document / quote / report / token
  std::vector<uint8_t> challenge;      // the nonce from Challenge(), bound in the evidence
  std::vector<uint8_t> recipient_key;  // 32-byte X25519 public key, bound in the evidence
};

// What the enclave receives: HPKE enc and ciphertext of the 32-byte DEK, opened with
// crypto::HpkeOpen(suite, enc, sk, ReleaseInfo(ref, evidence_sha256), aad = {}, ciphertext).
struct ReleasedKey {
  std::string key_id;
  std::vector<uint8_t> enc;         // 32 bytes
  std::vector<uint8_t> ciphertext;  // 32 + 16 bytes
  std::array<uint8_t, 32> evidence_sha256{};
};

struct AuditRow {
  int64_t id = 0;
  int64_t time = 0;      // unix seconds
  std::string action;    // "register", "policy", "revoke", "challenge", "release"
  std::string model_id;  // empty for "challenge"
  std::string version;
  bool allowed = false;
  int code = 0;                     // eml::ErrorCode value, 0 when allowed
  std::string reason;               // one line, never key bytes
  std::string platform;             // release: the evidence platform, when known
  std::string measurements_json;    // release: decoded measurements (hex), when known
  std::string evidence_sha256_hex;  // release
};

struct AuditQuery {
  std::optional<KeyRef> ref;
  int64_t after_id = 0;
  size_t limit = 100;  // at most 1000
};

class BrokerStore;  // keys/broker_store.h

class KeyBroker {
 public:
  struct Options {
    int64_t challenge_ttl_s = kDefaultChallengeTtlS;
    // Clock for tests; default: the system clock in unix seconds.
    std::function<int64_t()> now;
  };
  // Opens (creating and migrating) the SQLite database at `db_path`, with DEKs sealed at rest
  // under `master_key` (32 bytes; keys/master_key.h loads one). The folder of `db_path` is the
  // broker's data folder (it must exist): relative paths in policies resolve against it. Errors:
  // kBrokerStore*,
  // kBrokerBadMasterKey (not 32 bytes, or not the key this database was created with: a check
  // value sealed by the first Open must open), kInvalidArgument (challenge_ttl_s not 1..3600).
  static Result<std::unique_ptr<KeyBroker>> Open(const std::string& db_path, SecretBytes master_key,
                                                 Options options);

  // Admin operations. Errors include kBrokerBadRequest, kBrokerBadPolicy, kBrokerKeyExists,
  // kBrokerUnknownKey.
  Result<KeyInfo> Register(const KeyRef& ref, const SecretBytes& data_key,
                           std::string_view policy_json);
  Result<KeyInfo> UpdatePolicy(const KeyRef& ref, std::string_view policy_json);
  Status Revoke(const KeyRef& ref);
  Result<std::vector<KeyInfo>> List() const;
  Result<std::vector<AuditRow>> Audit(const AuditQuery& query) const;

  // Release API.
  Result<Challenge> NewChallenge();
  // Release: consumes the challenge first (single use even when the release is then denied),
  // verifies the evidence under the key's policy with the challenge and recipient key as the
  // binding, and seals the DEK. Each denial has its own code (kBrokerBadRequest for a
  // malformed request, checked before the challenge; kBrokerUnknownChallenge,
  // kBrokerChallengeExpired, kBrokerChallengeReplayed (already used), kBrokerUnknownKey,
  // kBrokerKeyRevoked, kBrokerEvidenceRejected with the verifier's step and code in the detail,
  // kBrokerPlatformNotAllowed, kBrokerMeasurementMismatch, kBrokerDebugEvidence,
  // kBrokerStaleEvidence, kBrokerSecurityModeNotAllowed, kBrokerBadPolicy (a stored policy that
  // no longer loads, e.g. its collateral folder vanished), kBrokerKeyUnsealFailed (the stored
  // row does not open under the master key), kBrokerStoreFailed) and one audit row.
  Result<ReleasedKey> Release(const ReleaseRequest& request);

  ~KeyBroker();

 private:
  KeyBroker() = default;
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace eml::keys
