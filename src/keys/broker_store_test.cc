#include "keys/broker_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "keys/testing/broker_fixture.h"
#include "testing/test_util.h"

namespace eml::keys {
namespace {

using ::eml::testing::HasError;
using ::eml::testing::IsOk;

constexpr char kNitroPolicy[] =
    R"({"version": 1, "evidence": {"version": 1, "platforms": {"aws-nitro": {}}}})";

class BrokerStoreTest : public testing::BrokerFixture {
 protected:
  std::unique_ptr<BrokerStore> OpenStore() {
    Result<std::unique_ptr<BrokerStore>> store = BrokerStore::Open(DbPath());
    EXPECT_THAT(store, IsOk());
    EML_CHECK(store.has_value());
    return *std::move(store);
  }
};

TEST_F(BrokerStoreTest, OpenCreatesTheSchemaInWalModeAndReopens) {
  {
    std::unique_ptr<BrokerStore> store = OpenStore();
    EXPECT_THAT(store->SchemaVersion(), ::testing::Optional(kSchemaVersion));
    EXPECT_THAT(store->IntegrityCheck(), IsOk());
    EXPECT_TRUE(std::filesystem::exists(dir_ / "broker.db-wal"));
  }
  std::unique_ptr<BrokerStore> again = OpenStore();  // migrations are not re-applied
  EXPECT_THAT(again->SchemaVersion(), ::testing::Optional(kSchemaVersion));
}

TEST_F(BrokerStoreTest, NewerSchemaRefused) {
  ASSERT_THAT(OpenStore()->ExecForTest("INSERT INTO schema_version VALUES (2, 0)"), IsOk());
  EXPECT_THAT(BrokerStore::Open(DbPath()), HasError(ErrorCode::kBrokerStoreSchemaTooNew));
  // A version table with a gap is not trusted.
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::filesystem::remove(DbPath().string() + suffix);
  }
  ASSERT_THAT(OpenStore()->ExecForTest("INSERT INTO schema_version VALUES (3, 0)"), IsOk());
  EXPECT_THAT(BrokerStore::Open(DbPath()), HasError(ErrorCode::kBrokerStoreCorrupt));
}

TEST_F(BrokerStoreTest, NotADatabaseAndMissingFolderRefused) {
  std::ofstream(DbPath(), std::ios::binary) << std::string(4096, 'x');
  EXPECT_THAT(BrokerStore::Open(DbPath()), HasError(ErrorCode::kBrokerStoreCorrupt));
  EXPECT_THAT(BrokerStore::Open(dir_ / "absent" / "broker.db"),
              HasError(ErrorCode::kBrokerStoreOpenFailed));
}

TEST_F(BrokerStoreTest, ChallengeOutcomes) {
  std::unique_ptr<BrokerStore> store = OpenStore();
  const std::vector<uint8_t> nonce(32, 7);
  ASSERT_THAT(store->InsertChallenge(nonce, 100, 40, AuditRow{}), IsOk());
  EXPECT_THAT(store->ConsumeChallenge(std::vector<uint8_t>(32, 8), 50),
              ::testing::Optional(ChallengeOutcome::kUnknown));
  EXPECT_THAT(store->ConsumeChallenge(nonce, 101), ::testing::Optional(ChallengeOutcome::kExpired));
  EXPECT_THAT(store->ConsumeChallenge(nonce, 100),
              ::testing::Optional(ChallengeOutcome::kConsumed));
  EXPECT_THAT(store->ConsumeChallenge(nonce, 100),
              ::testing::Optional(ChallengeOutcome::kAlreadyUsed));
  // Pruned once long expired: then it is unknown.
  ASSERT_THAT(store->InsertChallenge(std::vector<uint8_t>(32, 9), 100 + kChallengeRetentionS + 60,
                                     100 + kChallengeRetentionS + 1, AuditRow{}),
              IsOk());
  EXPECT_THAT(store->ConsumeChallenge(nonce, 0), ::testing::Optional(ChallengeOutcome::kUnknown));
}

// A broker killed (SIGKILL) in the middle of a stream of registrations keeps every key whose
// Register returned, and the database passes integrity_check.
TEST_F(BrokerStoreTest, KilledWriterKeepsEveryCommittedKey) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(fds[0]);
    Result<std::unique_ptr<KeyBroker>> broker = OpenBroker();
    if (!broker.has_value()) {
      ::_exit(2);
    }
    for (uint32_t i = 0; i < 100000; ++i) {
      if (!(*broker)
               ->Register({"model-" + std::to_string(i), "1"}, DataKey(static_cast<uint8_t>(i)),
                          kNitroPolicy)
               .has_value()) {
        ::_exit(3);
      }
      // Reported only after Register returned, i.e. after the commit.
      if (::write(fds[1], &i, sizeof(i)) != static_cast<ssize_t>(sizeof(i))) {
        ::_exit(4);
      }
    }
    ::_exit(0);
  }
  ::close(fds[1]);
  std::set<uint32_t> committed;
  uint32_t index = 0;
  while (committed.size() < 40 && ::read(fds[0], &index, sizeof(index)) == sizeof(index)) {
    committed.insert(index);
  }
  ASSERT_EQ(committed.size(), 40u) << "the writer stopped early";
  ASSERT_EQ(::kill(child, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFSIGNALED(status));
  while (::read(fds[0], &index, sizeof(index)) == sizeof(index)) {
    committed.insert(index);
  }
  ::close(fds[0]);

  {
    std::unique_ptr<BrokerStore> store = OpenStore();
    EXPECT_THAT(store->IntegrityCheck(), IsOk());
  }
  OpenOrDie();
  Result<std::vector<KeyInfo>> keys = broker_->List();
  ASSERT_THAT(keys, IsOk());
  std::set<std::string> present;
  for (const KeyInfo& key : *keys) {
    present.insert(key.ref.model_id);
    EXPECT_NE(key.policy_json.find("aws-nitro"), std::string::npos);
  }
  for (const uint32_t i : committed) {
    EXPECT_EQ(present.count("model-" + std::to_string(i)), 1u) << i;
  }
  // At most the one registration in flight may have committed without being reported.
  EXPECT_LE(present.size(), committed.size() + 1);
  // The broker still writes after the crash.
  EXPECT_THAT(broker_->Register({"after", "1"}, DataKey(), kNitroPolicy), IsOk());
}

}  // namespace
}  // namespace eml::keys
