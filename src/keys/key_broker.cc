#include "keys/key_broker.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <utility>

#include "attest/policy.h"
#include "common/byte_writer.h"
#include "common/check.h"
#include "common/encoding.h"
#include "crypto/aead.h"
#include "crypto/hash.h"
#include "crypto/hpke.h"
#include "crypto/random.h"
#include "crypto/x25519.h"
#include "keys/broker_store.h"
#include "keys/master_key.h"
#include "keys/release_policy.h"

namespace eml::keys {
namespace {

constexpr char kMasterKeyCheckName[] = "master_key_check";
constexpr char kMasterKeyCheckLabel[] = "ephemeralml/key-broker/master-key-check/v1";
constexpr size_t kAeadNonceSize = 12;
constexpr size_t kSealedDekSize = kDataKeySize + 16;

int64_t SystemNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string RefText(const KeyRef& ref) { return ref.model_id + "@" + ref.version; }

AuditRow NewAuditRow(int64_t now, const char* action, const KeyRef& ref) {
  AuditRow row;
  row.time = now;
  row.action = action;
  row.model_id = ref.model_id;
  row.version = ref.version;
  return row;
}

// DekAad binds a sealed DEK to its row: key_id || model_id || version, each u16be-length
// prefixed so that no two rows share an AAD.
std::vector<uint8_t> DekAad(const std::string& key_id, const KeyRef& ref) {
  ByteWriter w;
  for (const std::string* part : {&key_id, &ref.model_id, &ref.version}) {
    w.PutU16Be(static_cast<uint16_t>(part->size()));
    w.PutBytes(AsBytes(*part));
  }
  std::optional<std::vector<uint8_t>> out = std::move(w).Finish();
  EML_CHECK(out.has_value());
  return *std::move(out);
}

Status CheckText(const std::string& text, size_t max_bytes, const char* what) {
  if (text.empty() || text.size() > max_bytes) {
    return Error{ErrorCode::kBrokerBadRequest,
                 std::string(what) + " must be 1.." + std::to_string(max_bytes) + " bytes"};
  }
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F) {
      return Error{ErrorCode::kBrokerBadRequest, std::string(what) + " has a control character"};
    }
  }
  return {};
}

Status CheckRef(const KeyRef& ref) {
  EML_RETURN_IF_ERROR(CheckText(ref.model_id, kMaxModelIdBytes, "model_id"));
  return CheckText(ref.version, kMaxVersionBytes, "version");
}

// OneLine keeps audit reasons on one line (verifier details may quote input).
std::string OneLine(std::string text) {
  for (char& c : text) {
    if (c == '\n' || c == '\r') {
      c = ' ';
    }
  }
  constexpr size_t kMaxReasonBytes = 512;
  if (text.size() > kMaxReasonBytes) {
    text.resize(kMaxReasonBytes);
  }
  return text;
}

std::string MeasurementsJson(const attest::VerificationReport& report) {
  nlohmann::json out = nlohmann::json::object();
  if (!report.measurements.empty()) {
    nlohmann::json pcrs = nlohmann::json::object();
    for (const auto& [index, value] : report.measurements) {
      pcrs[std::to_string(index)] = HexEncode(value);
    }
    out["pcrs"] = std::move(pcrs);
  }
  if (!report.named_measurements.empty()) {
    nlohmann::json named = nlohmann::json::object();
    for (const auto& [name, value] : report.named_measurements) {
      named[name] = HexEncode(value);
    }
    out["named"] = std::move(named);
  }
  return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// DenialFor maps the first failed step of a report to the broker's code and a reason.
Error DenialFor(const attest::VerificationReport& report) {
  for (const attest::StepResult& step : report.steps) {
    if (step.status != attest::StepStatus::kFailed) {
      continue;
    }
    const std::string what = "step " + step.name + " failed with " +
                             std::string(ErrorCodeName(step.code)) + ": " + step.detail;
    switch (step.code) {
      case ErrorCode::kPolicyPlatformNotAllowed:
      case ErrorCode::kPolicyUntrustedRoot:
        return Error{ErrorCode::kBrokerPlatformNotAllowed, what};
      case ErrorCode::kAttestMeasurementMismatch:
        return Error{ErrorCode::kBrokerMeasurementMismatch, what};
      case ErrorCode::kAttestDebugMode:
        return Error{ErrorCode::kBrokerDebugEvidence, what};
      case ErrorCode::kAttestStale:
        return Error{ErrorCode::kBrokerStaleEvidence, what};
      default:
        return Error{ErrorCode::kBrokerEvidenceRejected, what};
    }
  }
  return Error{ErrorCode::kBrokerEvidenceRejected, "the evidence was not verified"};
}

}  // namespace

struct KeyBroker::State {
  std::unique_ptr<BrokerStore> store;
  std::unique_ptr<crypto::Aead> master;  // ChaCha20-Poly1305 under the master key
  std::filesystem::path data_dir;
  Options options;

  // Verifier cache: key_id -> the policy text it was built from and the verifier. A stored
  // policy that differs from the cached text (UpdatePolicy) rebuilds it.
  std::mutex cache_mu;
  struct CachedPolicy {
    std::string policy_json;
    std::shared_ptr<const attest::PolicyVerifier> verifier;
    std::vector<std::string> security_modes;
  };
  std::map<std::string, std::shared_ptr<const CachedPolicy>> verifiers;

  int64_t Now() const { return options.now ? options.now() : SystemNow(); }

  Result<std::vector<uint8_t>> Seal(std::span<const uint8_t> nonce, std::span<const uint8_t> pt,
                                    std::span<const uint8_t> aad) const {
    return master->Seal(nonce, pt, aad);
  }

  Result<std::shared_ptr<const CachedPolicy>> PolicyFor(const KeyInfo& info) {
    {
      std::lock_guard<std::mutex> lock(cache_mu);
      auto it = verifiers.find(info.key_id);
      if (it != verifiers.end() && it->second->policy_json == info.policy_json) {
        return it->second;
      }
    }
    Result<ReleasePolicy> policy = ParseReleasePolicy(info.policy_json, data_dir);
    if (!policy.has_value()) {
      return Error{ErrorCode::kBrokerBadPolicy,
                   "stored policy of " + RefText(info.ref) + ": " + policy.error().detail};
    }
    Result<attest::PolicyVerifier> verifier =
        attest::PolicyVerifier::Create(std::move(policy->evidence));
    if (!verifier.has_value()) {
      return Error{ErrorCode::kBrokerBadPolicy,
                   "policy of " + RefText(info.ref) + ": " +
                       std::string(ErrorCodeName(verifier.error().code)) + ": " +
                       verifier.error().detail};
    }
    auto cached = std::make_shared<const CachedPolicy>(CachedPolicy{
        info.policy_json, std::make_shared<const attest::PolicyVerifier>(*std::move(verifier)),
        std::move(policy->security_modes)});
    std::lock_guard<std::mutex> lock(cache_mu);
    verifiers[info.key_id] = cached;
    return std::shared_ptr<const CachedPolicy>(cached);
  }
};

KeyBroker::~KeyBroker() = default;

Result<std::unique_ptr<KeyBroker>> KeyBroker::Open(const std::string& db_path,
                                                   SecretBytes master_key, Options options) {
  if (master_key.size() != kMasterKeySize) {
    return Error{ErrorCode::kBrokerBadMasterKey, "the master key must be 32 bytes"};
  }
  if (options.challenge_ttl_s <= 0 || options.challenge_ttl_s > 3600) {
    return Error{ErrorCode::kInvalidArgument, "challenge_ttl_s must be 1..3600"};
  }
  auto state = std::make_unique<State>();
  Result<std::unique_ptr<crypto::Aead>> aead =
      crypto::Aead::New(crypto::AeadAlgorithm::kChaCha20Poly1305, master_key);
  if (!aead.has_value()) {
    return Error{ErrorCode::kBrokerBadMasterKey, "the master key is not a ChaCha20 key"};
  }
  state->master = *std::move(aead);
  state->options = std::move(options);
  const std::filesystem::path path(db_path);
  state->data_dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  EML_ASSIGN_OR_RETURN(state->store, BrokerStore::Open(path));

  // The master key check: an AEAD seal of nothing under a fixed label, made by the first Open.
  // A different key fails to open it, so a wrong key is refused here rather than at release.
  const std::span<const uint8_t> label = AsBytes(kMasterKeyCheckLabel);
  EML_ASSIGN_OR_RETURN(std::optional<std::vector<uint8_t>> check,
                       state->store->GetMeta(kMasterKeyCheckName));
  if (!check.has_value()) {
    std::vector<uint8_t> blob(kAeadNonceSize);
    EML_RETURN_IF_ERROR(crypto::RandomBytes(blob));
    EML_ASSIGN_OR_RETURN(std::vector<uint8_t> tag, state->Seal(blob, {}, label));
    blob.insert(blob.end(), tag.begin(), tag.end());
    Status put = state->store->PutMeta(kMasterKeyCheckName, blob);
    if (put.has_value()) {
      check = std::move(blob);
    } else if (put.error().code == ErrorCode::kBrokerKeyExists) {
      // Another process created it first: read theirs.
      EML_ASSIGN_OR_RETURN(check, state->store->GetMeta(kMasterKeyCheckName));
    } else {
      return put.error();
    }
  }
  if (!check.has_value() || check->size() < kAeadNonceSize ||
      !state->master
           ->Open(std::span<const uint8_t>(*check).first(kAeadNonceSize),
                  std::span<const uint8_t>(*check).subspan(kAeadNonceSize), label)
           .has_value()) {
    return Error{ErrorCode::kBrokerBadMasterKey,
                 "the master key is not the one this database was created with (" + db_path + ")"};
  }
  std::unique_ptr<KeyBroker> broker(new KeyBroker());
  broker->state_ = std::move(state);
  return broker;
}

Result<KeyInfo> KeyBroker::Register(const KeyRef& ref, const SecretBytes& data_key,
                                    std::string_view policy_json) {
  State& s = *state_;
  const int64_t now = s.Now();
  AuditRow audit = NewAuditRow(now, "register", ref);
  auto deny = [&](Error error) -> Error {
    audit.allowed = false;
    audit.code = static_cast<int>(error.code);
    audit.reason = OneLine(error.detail);
    (void)s.store->AppendAudit(audit);  // best effort: the caller gets the error either way
    return error;
  };
  if (Status ok = CheckRef(ref); !ok.has_value()) {
    return deny(ok.error());
  }
  if (data_key.size() != kDataKeySize) {
    return deny(Error{ErrorCode::kBrokerBadRequest, "the data key must be 32 bytes"});
  }
  Result<ReleasePolicy> policy = ParseReleasePolicy(policy_json, s.data_dir);
  if (!policy.has_value()) {
    return deny(policy.error());
  }
  KeyInfo info;
  info.ref = ref;
  std::array<uint8_t, 8> id{};
  EML_RETURN_IF_ERROR(crypto::RandomBytes(id));
  info.key_id = "kb-" + HexEncode(id);
  info.state = KeyState::kActive;
  info.policy_json = policy->canonical_json;
  info.created_at = now;
  info.updated_at = now;

  StoredKey stored;
  stored.info = info;
  stored.dek_nonce.resize(kAeadNonceSize);
  EML_RETURN_IF_ERROR(crypto::RandomBytes(stored.dek_nonce));
  EML_ASSIGN_OR_RETURN(stored.dek_ciphertext,
                       s.Seal(stored.dek_nonce, data_key.Reveal(InsecureSecretAccess::Get()),
                              DekAad(info.key_id, ref)));
  audit.allowed = true;
  audit.reason = "registered " + info.key_id;
  if (Status ok = s.store->InsertKey(stored, audit); !ok.has_value()) {
    return deny(ok.error());
  }
  return info;
}

Result<KeyInfo> KeyBroker::UpdatePolicy(const KeyRef& ref, std::string_view policy_json) {
  State& s = *state_;
  const int64_t now = s.Now();
  AuditRow audit = NewAuditRow(now, "policy", ref);
  auto deny = [&](Error error) -> Error {
    audit.allowed = false;
    audit.code = static_cast<int>(error.code);
    audit.reason = OneLine(error.detail);
    (void)s.store->AppendAudit(audit);
    return error;
  };
  if (Status ok = CheckRef(ref); !ok.has_value()) {
    return deny(ok.error());
  }
  Result<ReleasePolicy> policy = ParseReleasePolicy(policy_json, s.data_dir);
  if (!policy.has_value()) {
    return deny(policy.error());
  }
  audit.allowed = true;
  audit.reason = "policy replaced";
  if (Status ok = s.store->UpdatePolicy(ref, policy->canonical_json, now, audit); !ok.has_value()) {
    audit.allowed = false;
    return deny(ok.error());
  }
  EML_ASSIGN_OR_RETURN(std::optional<StoredKey> key, s.store->FindKey(ref));
  if (!key.has_value()) {
    return Error{ErrorCode::kBrokerUnknownKey, "no key is registered for " + RefText(ref)};
  }
  return key->info;
}

Status KeyBroker::Revoke(const KeyRef& ref) {
  State& s = *state_;
  const int64_t now = s.Now();
  AuditRow audit = NewAuditRow(now, "revoke", ref);
  auto deny = [&](Error error) -> Error {
    audit.allowed = false;
    audit.code = static_cast<int>(error.code);
    audit.reason = OneLine(error.detail);
    (void)s.store->AppendAudit(audit);
    return error;
  };
  if (Status ok = CheckRef(ref); !ok.has_value()) {
    return deny(ok.error());
  }
  audit.allowed = true;
  audit.reason = "revoked";
  if (Status ok = s.store->Revoke(ref, now, audit); !ok.has_value()) {
    return deny(ok.error());
  }
  return {};
}

Result<std::vector<KeyInfo>> KeyBroker::List() const { return state_->store->ListKeys(); }

Result<std::vector<AuditRow>> KeyBroker::Audit(const AuditQuery& query) const {
  return state_->store->QueryAudit(query);
}

Result<Challenge> KeyBroker::NewChallenge() {
  State& s = *state_;
  const int64_t now = s.Now();
  Challenge challenge;
  EML_RETURN_IF_ERROR(crypto::RandomBytes(challenge.nonce));
  challenge.expires_at = now + s.options.challenge_ttl_s;
  AuditRow audit = NewAuditRow(now, "challenge", KeyRef{});
  audit.allowed = true;
  audit.reason = "expires at " + std::to_string(challenge.expires_at);
  EML_RETURN_IF_ERROR(s.store->InsertChallenge(challenge.nonce, challenge.expires_at, now, audit));
  return challenge;
}

Result<ReleasedKey> KeyBroker::Release(const ReleaseRequest& request) {
  State& s = *state_;
  const int64_t now = s.Now();
  const KeyRef& ref = request.ref;
  AuditRow audit = NewAuditRow(now, "release", ref);
  // Every exit below goes through deny() or the final allowed audit row.
  auto deny = [&](Error error) -> Error {
    audit.allowed = false;
    audit.code = static_cast<int>(error.code);
    audit.reason = OneLine(error.detail);
    (void)s.store->AppendAudit(audit);
    return error;
  };

  if (Status ok = CheckRef(ref); !ok.has_value()) {
    return deny(ok.error());
  }
  if (request.evidence.empty() || request.evidence.size() > kMaxEvidenceBytes) {
    return deny(Error{ErrorCode::kBrokerBadRequest,
                      "evidence must be 1.." + std::to_string(kMaxEvidenceBytes) + " bytes"});
  }
  const std::array<uint8_t, 32> evidence_sha256 = crypto::Sha256(request.evidence);
  audit.evidence_sha256_hex = HexEncode(evidence_sha256);
  if (request.challenge.size() != kChallengeSize) {
    return deny(Error{ErrorCode::kBrokerBadRequest, "the challenge must be 32 bytes"});
  }
  Result<crypto::X25519PublicKey> recipient =
      crypto::X25519PublicKey::FromBytes(request.recipient_key);
  if (request.recipient_key.size() != crypto::kX25519KeySize || !recipient.has_value()) {
    return deny(Error{ErrorCode::kBrokerBadRequest, "the recipient key must be 32 bytes"});
  }

  // 1. The challenge, single use even if the release is denied afterwards.
  Result<ChallengeOutcome> outcome = s.store->ConsumeChallenge(request.challenge, now);
  if (!outcome.has_value()) {
    return deny(outcome.error());
  }
  switch (*outcome) {
    case ChallengeOutcome::kConsumed:
      break;
    case ChallengeOutcome::kUnknown:
      return deny(Error{ErrorCode::kBrokerUnknownChallenge, "the challenge was never issued"});
    case ChallengeOutcome::kExpired:
      return deny(Error{ErrorCode::kBrokerChallengeExpired, "the challenge has expired"});
    case ChallengeOutcome::kAlreadyUsed:
      return deny(Error{ErrorCode::kBrokerChallengeReplayed, "the challenge was already used"});
  }

  // 2. The key and its state.
  Result<std::optional<StoredKey>> key = s.store->FindKey(ref);
  if (!key.has_value()) {
    return deny(key.error());
  }
  if (!key->has_value()) {
    return deny(Error{ErrorCode::kBrokerUnknownKey, "no key is registered for " + RefText(ref)});
  }
  const StoredKey& stored = **key;
  if (stored.info.state == KeyState::kRevoked) {
    return deny(Error{ErrorCode::kBrokerKeyRevoked, stored.info.key_id + " is revoked"});
  }

  // 3. The evidence under the key's policy, bound to (challenge, recipient key).
  Result<std::shared_ptr<const State::CachedPolicy>> policy = s.PolicyFor(stored.info);
  if (!policy.has_value()) {
    return deny(policy.error());
  }
  attest::BindingExpectation binding;
  binding.nonce = request.challenge;
  binding.public_key = request.recipient_key;
  Result<attest::Verification> verification =
      (*policy)->verifier->Verify(request.evidence, now, binding);
  if (!verification.has_value()) {
    return deny(Error{
        ErrorCode::kBrokerEvidenceRejected,
        "verification could not run: " + std::string(ErrorCodeName(verification.error().code))});
  }
  const attest::VerificationReport& report = verification->report;
  audit.platform = report.platform;
  audit.measurements_json = MeasurementsJson(report);
  if (!report.verified || !verification->evidence.has_value()) {
    return deny(DenialFor(report));
  }

  // 4. The security mode of the evidence's platform.
  const std::string mode = SecurityModeOf(verification->evidence->platform());
  const std::vector<std::string>& modes = (*policy)->security_modes;
  if (std::find(modes.begin(), modes.end(), mode) == modes.end()) {
    return deny(Error{ErrorCode::kBrokerSecurityModeNotAllowed,
                      "platform " + report.platform + " runs in " + mode +
                          " mode, which the policy does not list"});
  }

  // 5. Unseal the DEK and seal it to the recipient.
  if (stored.dek_nonce.size() != kAeadNonceSize || stored.dek_ciphertext.size() != kSealedDekSize) {
    return deny(Error{ErrorCode::kBrokerKeyUnsealFailed,
                      "the stored key " + stored.info.key_id + " has the wrong size"});
  }
  SecretBytes dek(kDataKeySize);
  if (!s.master
           ->OpenInto(stored.dek_nonce, stored.dek_ciphertext,
                      DekAad(stored.info.key_id, stored.info.ref),
                      dek.MutableReveal(InsecureSecretAccess::Get()))
           .has_value()) {
    return deny(Error{ErrorCode::kBrokerKeyUnsealFailed,
                      "the stored key " + stored.info.key_id +
                          " does not open under the master key (wrong key or altered row)"});
  }
  EML_ASSIGN_OR_RETURN(
      crypto::HpkeSuite suite,
      crypto::HpkeSuite::Create(crypto::HpkeKem::kDhkemX25519HkdfSha256,
                                crypto::HpkeKdf::kHkdfSha256, crypto::HpkeAead::kChaCha20Poly1305));
  Result<crypto::HpkeSealed> sealed =
      crypto::HpkeSeal(suite, *recipient, ReleaseInfo(ref, evidence_sha256), {},
                       dek.Reveal(InsecureSecretAccess::Get()));
  if (!sealed.has_value()) {
    return deny(Error{
        ErrorCode::kBrokerBadRequest,
        "cannot seal to the recipient key: " + std::string(ErrorCodeName(sealed.error().code))});
  }

  audit.allowed = true;
  audit.code = 0;
  audit.reason = "released " + stored.info.key_id + " to " + report.platform + " evidence";
  // Fail closed: a release that cannot be audited is not made.
  EML_RETURN_IF_ERROR(s.store->AppendAudit(audit));
  ReleasedKey out;
  out.key_id = stored.info.key_id;
  out.enc = std::move(sealed->enc);
  out.ciphertext = std::move(sealed->ciphertext);
  out.evidence_sha256 = evidence_sha256;
  return out;
}

}  // namespace eml::keys
