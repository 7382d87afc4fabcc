#pragma once
// Test-only fixture for the key broker tests: a fresh data folder per test, a fake clock, a
// recipient X25519 key and helpers to open the sealed DEK as an enclave would. Tests only.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/check.h"
#include "crypto/hpke.h"
#include "crypto/x25519.h"
#include "keys/key_broker.h"

namespace eml::keys::testing {

class BrokerFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("eml_keys_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    Result<crypto::X25519PrivateKey> key = crypto::X25519PrivateKey::Generate();
    EML_CHECK(key.has_value());
    recipient_ = std::make_unique<crypto::X25519PrivateKey>(*std::move(key));
  }
  void TearDown() override {
    broker_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::filesystem::path DbPath() const { return dir_ / "broker.db"; }

  static SecretBytes MasterKey(uint8_t fill = 0x42) {
    return SecretBytes::CopyFrom(std::vector<uint8_t>(32, fill));
  }
  static SecretBytes DataKey(uint8_t fill = 0xD7) {
    return SecretBytes::CopyFrom(std::vector<uint8_t>(kDataKeySize, fill));
  }

  Result<std::unique_ptr<KeyBroker>> OpenBroker(SecretBytes master = MasterKey()) {
    KeyBroker::Options options;
    options.challenge_ttl_s = 60;
    options.now = [this] { return now_.load(); };
    return KeyBroker::Open(DbPath().string(), std::move(master), std::move(options));
  }
  void OpenOrDie() {
    broker_.reset();
    Result<std::unique_ptr<KeyBroker>> broker = OpenBroker();
    ASSERT_TRUE(broker.has_value()) << ToString(broker.error());
    broker_ = *std::move(broker);
  }

  std::vector<uint8_t> RecipientPublic() const {
    const auto& bytes = recipient_->public_key().bytes();
    return {bytes.begin(), bytes.end()};
  }

  std::vector<uint8_t> NewChallenge() {
    Result<Challenge> c = broker_->NewChallenge();
    EML_CHECK(c.has_value());
    return {c->nonce.begin(), c->nonce.end()};
  }

  // OpenReleased opens a released key as the enclave does.
  std::vector<uint8_t> OpenReleased(const KeyRef& ref, const ReleasedKey& released) const {
    Result<crypto::HpkeSuite> suite = crypto::HpkeSuite::Create(
        crypto::HpkeKem::kDhkemX25519HkdfSha256, crypto::HpkeKdf::kHkdfSha256,
        crypto::HpkeAead::kChaCha20Poly1305);
    EML_CHECK(suite.has_value());
    Result<std::vector<uint8_t>> dek =
        crypto::HpkeOpen(*suite, released.enc, *recipient_,
                         ReleaseInfo(ref, released.evidence_sha256), {}, released.ciphertext);
    EXPECT_TRUE(dek.has_value()) << ToString(dek.error());
    return dek.has_value() ? *dek : std::vector<uint8_t>();
  }

  // AllAudit returns every audit row, oldest first (paging through Audit).
  std::vector<AuditRow> AllAudit(std::optional<KeyRef> ref = std::nullopt) const {
    std::vector<AuditRow> out;
    AuditQuery query;
    query.ref = std::move(ref);
    query.limit = 1000;
    for (;;) {
      Result<std::vector<AuditRow>> rows = broker_->Audit(query);
      EML_CHECK(rows.has_value());
      if (rows->empty()) {
        return out;
      }
      query.after_id = rows->back().id;
      out.insert(out.end(), rows->begin(), rows->end());
    }
  }
  // LastAudit returns the newest audit row.
  AuditRow LastAudit() const {
    std::vector<AuditRow> rows = AllAudit();
    EML_CHECK(!rows.empty());
    return rows.back();
  }

  std::filesystem::path dir_;
  std::atomic<int64_t> now_{1700000000};
  std::unique_ptr<crypto::X25519PrivateKey> recipient_;
  std::unique_ptr<KeyBroker> broker_;
};

}  // namespace eml::keys::testing
