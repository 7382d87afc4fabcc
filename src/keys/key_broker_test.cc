#include "keys/key_broker.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <latch>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "attest/sim/sim_provider.h"
#include "common/encoding.h"
#include "keys/broker_store.h"
#include "keys/testing/broker_fixture.h"
#include "testing/test_util.h"

namespace eml::keys {
namespace {

using ::eml::testing::HasError;
using ::eml::testing::IsOk;
using ::eml::testing::ReadFileText;
using Json = nlohmann::json;

const std::vector<uint8_t> kBinary = {'e', 'n', 'c', 'l', 'a', 'v', 'e'};
const std::vector<uint8_t> kConfig = {'{', '}'};
const std::vector<uint8_t> kAnchors = {'a'};
const KeyRef kRef{"minilm", "1.0.0"};

class KeyBrokerTest : public testing::BrokerFixture {
 protected:
  void SetUp() override {
    BrokerFixture::SetUp();
    // The sim leaf is issued an hour back so that evidence can be dated in the past.
    Result<attest::sim::SimProvider> sim = attest::sim::SimProvider::Create(
        dir_ / "sim-state", {kBinary, kConfig, kAnchors}, now_.load() - 3600);
    ASSERT_TRUE(sim.has_value()) << ToString(sim.error());
    sim_ = std::make_unique<attest::sim::SimProvider>(*std::move(sim));
    OpenOrDie();
  }

  std::string SimRootPem() const {
    return ReadFileText(dir_ / "sim-state" / attest::sim::kStateSubdir /
                        attest::sim::kRootCertFile);
  }

  // A release policy for sim evidence with PCR0 pinned (to `pcr0_hex`, default the sim's).
  Json SimPolicy(std::string pcr0_hex = "", std::vector<std::string> modes = {"evaluation"}) {
    if (pcr0_hex.empty()) {
      pcr0_hex = HexEncode(sim_->pcrs().at(0));
    }
    return Json{
        {"version", 1},
        {"evidence",
         {{"version", 1},
          {"platforms", {{"sim", {{"roots", {SimRootPem()}}, {"pcrs", {{"0", pcr0_hex}}}}}}},
          {"max_evidence_age_s", 600}}},
        {"security_modes", modes}};
  }

  std::vector<uint8_t> SimEvidence(const std::vector<uint8_t>& nonce,
                                   const std::vector<uint8_t>& public_key,
                                   int64_t age_s = 0) const {
    attest::sim::AttestationRequest request;
    request.nonce = nonce;
    request.public_key = public_key;
    Result<std::vector<uint8_t>> doc =
        sim_->Attest(request, static_cast<uint64_t>(now_.load() - age_s) * 1000);
    EML_CHECK(doc.has_value());
    return *doc;
  }

  void RegisterSim(const Json& policy = {}, const KeyRef& ref = kRef) {
    Result<KeyInfo> info =
        broker_->Register(ref, DataKey(), (policy.is_null() ? SimPolicy() : policy).dump());
    ASSERT_TRUE(info.has_value()) << ToString(info.error());
  }

  ReleaseRequest SimRequest(const KeyRef& ref = kRef) {
    ReleaseRequest request;
    request.ref = ref;
    request.challenge = NewChallenge();
    request.recipient_key = RecipientPublic();
    request.evidence = SimEvidence(request.challenge, request.recipient_key);
    return request;
  }

  // ExpectDenied checks the code and that the denial left exactly one audit row saying so.
  void ExpectDenied(const ReleaseRequest& request, ErrorCode code) {
    Result<ReleasedKey> released = broker_->Release(request);
    EXPECT_THAT(released, HasError(code));
    AuditRow row = LastAudit();
    EXPECT_EQ(row.action, "release");
    EXPECT_FALSE(row.allowed);
    EXPECT_EQ(row.code, static_cast<int>(code));
    EXPECT_EQ(row.reason.find('\n'), std::string::npos);
  }

  std::unique_ptr<attest::sim::SimProvider> sim_;
};

TEST_F(KeyBrokerTest, RegisterListUpdateRevokeAndAudit) {
  Result<KeyInfo> info = broker_->Register(kRef, DataKey(), SimPolicy().dump());
  ASSERT_THAT(info, IsOk());
  EXPECT_EQ(info->key_id.rfind("kb-", 0), 0u);
  EXPECT_EQ(info->key_id.size(), 3u + 16u);
  EXPECT_EQ(info->state, KeyState::kActive);
  EXPECT_EQ(info->created_at, now_.load());
  EXPECT_EQ(info->policy_json, SimPolicy().dump());  // canonical: sorted keys, compact

  now_ += 10;
  Result<KeyInfo> updated = broker_->UpdatePolicy(kRef, SimPolicy(std::string(96, 'a')).dump());
  ASSERT_THAT(updated, IsOk());
  EXPECT_EQ(updated->updated_at, now_.load());
  EXPECT_EQ(updated->created_at, now_.load() - 10);
  EXPECT_NE(updated->policy_json.find(std::string(96, 'a')), std::string::npos);

  ASSERT_THAT(broker_->Register({"other", "2"}, DataKey(1), SimPolicy().dump()), IsOk());
  EXPECT_THAT(broker_->Revoke(kRef), IsOk());
  Result<std::vector<KeyInfo>> list = broker_->List();
  ASSERT_THAT(list, IsOk());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].ref.model_id, "minilm");
  EXPECT_EQ((*list)[0].state, KeyState::kRevoked);
  EXPECT_EQ((*list)[1].ref.model_id, "other");
  EXPECT_EQ((*list)[1].state, KeyState::kActive);

  EXPECT_THAT(broker_->UpdatePolicy({"absent", "1"}, SimPolicy().dump()),
              HasError(ErrorCode::kBrokerUnknownKey));
  EXPECT_THAT(broker_->Revoke({"absent", "1"}), HasError(ErrorCode::kBrokerUnknownKey));

  const std::vector<AuditRow> all = AllAudit();
  std::vector<std::string> actions;
  for (const AuditRow& row : all) {
    actions.push_back(row.action + (row.allowed ? "+" : "-"));
  }
  EXPECT_EQ(actions, (std::vector<std::string>{"register+", "policy+", "register+", "revoke+",
                                               "policy-", "revoke-"}));
  EXPECT_EQ(AllAudit(kRef).size(), 3u);
  AuditQuery query;
  query.after_id = all[1].id;
  query.limit = 2;
  Result<std::vector<AuditRow>> page = broker_->Audit(query);
  ASSERT_THAT(page, IsOk());
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].id, all[2].id);
}

TEST_F(KeyBrokerTest, DuplicateRegisterRefused) {
  RegisterSim();
  EXPECT_THAT(broker_->Register(kRef, DataKey(2), SimPolicy().dump()),
              HasError(ErrorCode::kBrokerKeyExists));
  EXPECT_EQ(LastAudit().code, static_cast<int>(ErrorCode::kBrokerKeyExists));
}

TEST_F(KeyBrokerTest, BadRegistrationsRefused) {
  EXPECT_THAT(broker_->Register({"", "1"}, DataKey(), SimPolicy().dump()),
              HasError(ErrorCode::kBrokerBadRequest));
  EXPECT_THAT(broker_->Register({std::string(kMaxModelIdBytes + 1, 'm'), "1"}, DataKey(),
                                SimPolicy().dump()),
              HasError(ErrorCode::kBrokerBadRequest));
  EXPECT_THAT(broker_->Register({"m", "1\n"}, DataKey(), SimPolicy().dump()),
              HasError(ErrorCode::kBrokerBadRequest));
  EXPECT_THAT(broker_->Register(kRef, SecretBytes::CopyFrom(std::vector<uint8_t>(16, 1)),
                                SimPolicy().dump()),
              HasError(ErrorCode::kBrokerBadRequest));
  Json unknown = SimPolicy();
  unknown["extra"] = true;
  EXPECT_THAT(broker_->Register(kRef, DataKey(), unknown.dump()),
              HasError(ErrorCode::kBrokerBadPolicy));
  EXPECT_THAT(broker_->Register(kRef, DataKey(), "{"), HasError(ErrorCode::kBrokerBadPolicy));
  Result<std::vector<KeyInfo>> list = broker_->List();
  ASSERT_THAT(list, IsOk());
  EXPECT_TRUE(list->empty());
}

TEST_F(KeyBrokerTest, ReleaseToSimEvidenceEndToEnd) {
  RegisterSim();
  ReleaseRequest request = SimRequest();
  Result<ReleasedKey> released = broker_->Release(request);
  ASSERT_THAT(released, IsOk());
  EXPECT_EQ(released->enc.size(), 32u);
  EXPECT_EQ(released->ciphertext.size(), kDataKeySize + 16);
  const std::vector<uint8_t> want(kDataKeySize, 0xD7);
  EXPECT_EQ(OpenReleased(kRef, *released), want);

  AuditRow row = LastAudit();
  EXPECT_EQ(row.action, "release");
  EXPECT_TRUE(row.allowed);
  EXPECT_EQ(row.code, 0);
  EXPECT_EQ(row.platform, "sim");
  EXPECT_EQ(row.evidence_sha256_hex, HexEncode(released->evidence_sha256));
  const Json measurements = Json::parse(row.measurements_json);
  EXPECT_EQ(measurements["pcrs"]["0"], HexEncode(sim_->pcrs().at(0)));
  // No audit row anywhere holds the key bytes.
  for (const AuditRow& r : AllAudit()) {
    for (const std::string& text : {r.reason, r.measurements_json, r.evidence_sha256_hex}) {
      EXPECT_EQ(text.find(HexEncode(want)), std::string::npos);
    }
  }
  // The info binds the model: opening under another ref fails.
  Result<crypto::HpkeSuite> suite =
      crypto::HpkeSuite::Create(crypto::HpkeKem::kDhkemX25519HkdfSha256,
                                crypto::HpkeKdf::kHkdfSha256, crypto::HpkeAead::kChaCha20Poly1305);
  ASSERT_THAT(suite, IsOk());
  EXPECT_THAT(crypto::HpkeOpen(*suite, released->enc, *recipient_,
                               ReleaseInfo({"minilm", "1.0.1"}, released->evidence_sha256), {},
                               released->ciphertext),
              HasError(ErrorCode::kHpkeOpenFailed));
}

TEST_F(KeyBrokerTest, ReleaseInfoLayout) {
  std::array<uint8_t, 32> digest{};
  digest.fill(0xEE);
  const std::vector<uint8_t> info = ReleaseInfo({"ab", "v1"}, digest);
  std::vector<uint8_t> want(AsBytes("ephemeralml/key-release/v1").begin(),
                            AsBytes("ephemeralml/key-release/v1").end());
  for (const uint8_t b : std::vector<uint8_t>{0, 2, 'a', 'b', 0, 2, 'v', '1'}) {
    want.push_back(b);
  }
  want.insert(want.end(), digest.begin(), digest.end());
  EXPECT_EQ(info, want);
}

TEST_F(KeyBrokerTest, UnknownModelDenied) {
  RegisterSim();
  ExpectDenied(SimRequest({"nope", "1"}), ErrorCode::kBrokerUnknownKey);
}

TEST_F(KeyBrokerTest, RevokedKeyDenied) {
  RegisterSim();
  ASSERT_THAT(broker_->Revoke(kRef), IsOk());
  ExpectDenied(SimRequest(), ErrorCode::kBrokerKeyRevoked);
}

TEST_F(KeyBrokerTest, UnknownChallengeDenied) {
  RegisterSim();
  ReleaseRequest request = SimRequest();
  request.challenge.assign(kChallengeSize, 0x33);
  request.evidence = SimEvidence(request.challenge, request.recipient_key);
  ExpectDenied(request, ErrorCode::kBrokerUnknownChallenge);
}

TEST_F(KeyBrokerTest, ExpiredChallengeDenied) {
  RegisterSim();
  ReleaseRequest request = SimRequest();
  now_ += 61;
  request.evidence = SimEvidence(request.challenge, request.recipient_key);
  ExpectDenied(request, ErrorCode::kBrokerChallengeExpired);
}

TEST_F(KeyBrokerTest, ChallengeIsValidUntilItsExpiry) {
  RegisterSim();
  ReleaseRequest request = SimRequest();
  now_ += 60;
  request.evidence = SimEvidence(request.challenge, request.recipient_key);
  EXPECT_THAT(broker_->Release(request), IsOk());
}

TEST_F(KeyBrokerTest, ReplayedChallengeDenied) {
  RegisterSim();
  ReleaseRequest request = SimRequest();
  ASSERT_THAT(broker_->Release(request), IsOk());
  ExpectDenied(request, ErrorCode::kBrokerChallengeReplayed);
}

TEST_F(KeyBrokerTest, ChallengeIsConsumedEvenWhenTheReleaseIsDenied) {
  RegisterSim(SimPolicy(std::string(96, 'b')));
  ReleaseRequest request = SimRequest();
  ExpectDenied(request, ErrorCode::kBrokerMeasurementMismatch);
  ASSERT_THAT(broker_->UpdatePolicy(kRef, SimPolicy().dump()), IsOk());
  ExpectDenied(request, ErrorCode::kBrokerChallengeReplayed);
}

TEST_F(KeyBrokerTest, WrongPlatformDenied) {
  // A production policy that allows only AWS Nitro (built-in root): sim evidence is refused.
  const Json policy = {
      {"version", 1},
      {"evidence", {{"version", 1}, {"platforms", {{"aws-nitro", Json::object()}}}}}};
  RegisterSim(policy);
  ExpectDenied(SimRequest(), ErrorCode::kBrokerPlatformNotAllowed);
  EXPECT_EQ(LastAudit().reason.find("POLICY_UNTRUSTED_ROOT") != std::string::npos ||
                LastAudit().reason.find("POLICY_PLATFORM_NOT_ALLOWED") != std::string::npos,
            true);
}

TEST_F(KeyBrokerTest, WrongPcrPinDenied) {
  RegisterSim(SimPolicy(std::string(96, 'c')));
  ExpectDenied(SimRequest(), ErrorCode::kBrokerMeasurementMismatch);
  EXPECT_EQ(LastAudit().platform, "sim");
  EXPECT_NE(LastAudit().measurements_json.find(HexEncode(sim_->pcrs().at(0))), std::string::npos);
}

TEST_F(KeyBrokerTest, StaleEvidenceDenied) {
  RegisterSim();
  ReleaseRequest request = SimRequest();
  request.evidence = SimEvidence(request.challenge, request.recipient_key, /*age_s=*/601);
  ExpectDenied(request, ErrorCode::kBrokerStaleEvidence);
  request = SimRequest();
  request.evidence = SimEvidence(request.challenge, request.recipient_key, /*age_s=*/600);
  EXPECT_THAT(broker_->Release(request), IsOk());
}

TEST_F(KeyBrokerTest, SecurityModeNotAllowed) {
  RegisterSim(SimPolicy("", {"production"}));
  ExpectDenied(SimRequest(), ErrorCode::kBrokerSecurityModeNotAllowed);
  // The default is production only.
  Json policy = SimPolicy();
  policy.erase("security_modes");
  ASSERT_THAT(broker_->UpdatePolicy(kRef, policy.dump()), IsOk());
  ExpectDenied(SimRequest(), ErrorCode::kBrokerSecurityModeNotAllowed);
}

TEST_F(KeyBrokerTest, ReplayedEvidenceWithANewChallengeDenied) {
  RegisterSim();
  ReleaseRequest first = SimRequest();
  ASSERT_THAT(broker_->Release(first), IsOk());
  ReleaseRequest replay = first;
  replay.challenge = NewChallenge();
  ExpectDenied(replay, ErrorCode::kBrokerEvidenceRejected);
  EXPECT_NE(LastAudit().reason.find("ATTEST_NONCE_MISMATCH"), std::string::npos);
}

TEST_F(KeyBrokerTest, EvidenceBoundToAnotherKeyDenied) {
  RegisterSim();
  ReleaseRequest request = SimRequest();
  request.recipient_key.assign(32, 0x09);  // a valid X25519 point, not the bound one
  ExpectDenied(request, ErrorCode::kBrokerEvidenceRejected);
  EXPECT_NE(LastAudit().reason.find("ATTEST_PUBLIC_KEY_MISMATCH"), std::string::npos);
}

TEST_F(KeyBrokerTest, MalformedRequestsDenied) {
  RegisterSim();
  ReleaseRequest request = SimRequest();
  ReleaseRequest short_challenge = request;
  short_challenge.challenge.resize(16);
  ExpectDenied(short_challenge, ErrorCode::kBrokerBadRequest);
  ReleaseRequest short_key = request;
  short_key.recipient_key.resize(31);
  ExpectDenied(short_key, ErrorCode::kBrokerBadRequest);
  ReleaseRequest huge = request;
  huge.evidence.assign(kMaxEvidenceBytes + 1, 0);
  ExpectDenied(huge, ErrorCode::kBrokerBadRequest);
  ReleaseRequest garbage = request;
  garbage.evidence.assign(100, 0x41);
  ExpectDenied(garbage, ErrorCode::kBrokerEvidenceRejected);
  // The challenge was consumed by the garbage attempt (checked after the shape checks).
  ExpectDenied(request, ErrorCode::kBrokerChallengeReplayed);
}

TEST_F(KeyBrokerTest, PolicyUpdateReplacesTheCachedVerifier) {
  RegisterSim();
  ASSERT_THAT(broker_->Release(SimRequest()), IsOk());
  ASSERT_THAT(broker_->UpdatePolicy(kRef, SimPolicy(std::string(96, 'd')).dump()), IsOk());
  ExpectDenied(SimRequest(), ErrorCode::kBrokerMeasurementMismatch);
  ASSERT_THAT(broker_->UpdatePolicy(kRef, SimPolicy().dump()), IsOk());
  EXPECT_THAT(broker_->Release(SimRequest()), IsOk());
}

TEST_F(KeyBrokerTest, ConcurrentReleasesEachWithItsOwnChallenge) {
  RegisterSim();
  constexpr int kThreads = 8;
  std::vector<ReleaseRequest> requests;
  for (int i = 0; i < kThreads; ++i) {
    requests.push_back(SimRequest());
  }
  std::vector<Result<ReleasedKey>> results(kThreads, Error{ErrorCode::kInternal, "not run"});
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      results[static_cast<size_t>(i)] = broker_->Release(requests[static_cast<size_t>(i)]);
    });
  }
  for (std::thread& t : threads) {
    t.join();
  }
  const std::vector<uint8_t> want(kDataKeySize, 0xD7);
  for (int i = 0; i < kThreads; ++i) {
    ASSERT_THAT(results[static_cast<size_t>(i)], IsOk()) << i;
    EXPECT_EQ(OpenReleased(kRef, *results[static_cast<size_t>(i)]), want);
  }
  // Every challenge was consumed exactly once.
  for (const ReleaseRequest& request : requests) {
    EXPECT_THAT(broker_->Release(request), HasError(ErrorCode::kBrokerChallengeReplayed));
  }
  int allowed = 0;
  for (const AuditRow& row : AllAudit(kRef)) {
    allowed += row.action == "release" && row.allowed ? 1 : 0;
  }
  EXPECT_EQ(allowed, kThreads);
}

TEST_F(KeyBrokerTest, TwoThreadsRacingOnOneChallengeGiveExactlyOneRelease) {
  RegisterSim();
  for (int round = 0; round < 4; ++round) {
    const ReleaseRequest request = SimRequest();
    std::vector<Result<ReleasedKey>> results(2, Error{ErrorCode::kInternal, "not run"});
    std::latch start(2);
    std::thread a([&] {
      start.arrive_and_wait();
      results[0] = broker_->Release(request);
    });
    std::thread b([&] {
      start.arrive_and_wait();
      results[1] = broker_->Release(request);
    });
    a.join();
    b.join();
    EXPECT_NE(results[0].has_value(), results[1].has_value()) << "round " << round;
    const Result<ReleasedKey>& loser = results[0].has_value() ? results[1] : results[0];
    EXPECT_THAT(loser, HasError(ErrorCode::kBrokerChallengeReplayed));
  }
}

TEST_F(KeyBrokerTest, KeysSurviveReopen) {
  RegisterSim();
  ASSERT_THAT(broker_->Register({"second", "7"}, DataKey(0x11), SimPolicy().dump()), IsOk());
  Result<std::vector<KeyInfo>> before = broker_->List();
  ASSERT_THAT(before, IsOk());
  OpenOrDie();
  Result<std::vector<KeyInfo>> after = broker_->List();
  ASSERT_THAT(after, IsOk());
  ASSERT_EQ(after->size(), before->size());
  for (size_t i = 0; i < after->size(); ++i) {
    EXPECT_EQ((*after)[i].key_id, (*before)[i].key_id);
    EXPECT_EQ((*after)[i].policy_json, (*before)[i].policy_json);
  }
  Result<ReleasedKey> released = broker_->Release(SimRequest({"second", "7"}));
  ASSERT_THAT(released, IsOk());
  EXPECT_EQ(OpenReleased({"second", "7"}, *released), std::vector<uint8_t>(kDataKeySize, 0x11));
}

TEST_F(KeyBrokerTest, WrongMasterKeyAtReopenIsRefusedWithoutLeakingKeys) {
  RegisterSim();
  broker_.reset();
  Result<std::unique_ptr<KeyBroker>> wrong = OpenBroker(MasterKey(0x43));
  ASSERT_THAT(wrong, HasError(ErrorCode::kBrokerBadMasterKey));
  const std::string text = ToString(wrong.error());
  EXPECT_EQ(text.find(HexEncode(std::vector<uint8_t>(32, 0x42))), std::string::npos);
  EXPECT_EQ(text.find(HexEncode(std::vector<uint8_t>(32, 0x43))), std::string::npos);
  EXPECT_EQ(text.find(HexEncode(std::vector<uint8_t>(kDataKeySize, 0xD7))), std::string::npos);
  EXPECT_THAT(OpenBroker(SecretBytes::CopyFrom(std::vector<uint8_t>(31, 0x42))),
              HasError(ErrorCode::kBrokerBadMasterKey));
  OpenOrDie();  // the right key still opens it
  EXPECT_THAT(broker_->Release(SimRequest()), IsOk());
}

TEST_F(KeyBrokerTest, SwappedSealedKeysDoNotOpen) {
  RegisterSim();
  RegisterSim(SimPolicy(), {"other", "1"});
  {
    // A second connection tampers with the rows, as an attacker with the file could.
    Result<std::unique_ptr<BrokerStore>> store = BrokerStore::Open(DbPath());
    ASSERT_THAT(store, IsOk());
    ASSERT_THAT((*store)->ExecForTest(
                    "UPDATE keys SET (dek_nonce, dek_ciphertext) = (SELECT dek_nonce, "
                    "dek_ciphertext FROM keys WHERE model_id = 'other') WHERE model_id = 'minilm'"),
                IsOk());
  }
  Result<ReleasedKey> denied = broker_->Release(SimRequest());
  ASSERT_THAT(denied, HasError(ErrorCode::kBrokerKeyUnsealFailed));
  EXPECT_EQ(LastAudit().code, static_cast<int>(ErrorCode::kBrokerKeyUnsealFailed));
  // Neither the error nor the audit row carries key bytes.
  for (const std::string& text : {ToString(denied.error()), LastAudit().reason}) {
    EXPECT_EQ(text.find(HexEncode(std::vector<uint8_t>(kDataKeySize, 0xD7))), std::string::npos);
    EXPECT_EQ(text.find(HexEncode(std::vector<uint8_t>(32, 0x42))), std::string::npos);
  }
  EXPECT_THAT(broker_->Release(SimRequest({"other", "1"})), IsOk());
}

TEST_F(KeyBrokerTest, ReleaseThatCannotBeAuditedIsNotMade) {
  RegisterSim();
  {
    Result<std::unique_ptr<BrokerStore>> store = BrokerStore::Open(DbPath());
    ASSERT_THAT(store, IsOk());
    ASSERT_THAT(
        (*store)->ExecForTest("CREATE TRIGGER refuse_release_rows BEFORE INSERT ON audit WHEN "
                              "NEW.action = 'release' AND NEW.allowed = 1 BEGIN "
                              "SELECT RAISE(ABORT, 'audit refused'); END"),
        IsOk());
  }
  EXPECT_THAT(broker_->Release(SimRequest()), HasError(ErrorCode::kBrokerStoreFailed));
  for (const AuditRow& row : AllAudit()) {
    EXPECT_FALSE(row.action == "release" && row.allowed);
  }
}

TEST_F(KeyBrokerTest, StoredPolicyThatNoLongerLoadsDenied) {
  // A policy whose TDX collateral folder is missing parses but cannot build a verifier.
  const Json policy = {
      {"version", 1},
      {"evidence",
       {{"version", 1}, {"platforms", {{"tdx", {{"collateral_dir", "no-such-folder"}}}}}}}};
  RegisterSim(policy);
  ExpectDenied(SimRequest(), ErrorCode::kBrokerBadPolicy);
}

}  // namespace
}  // namespace eml::keys
