#include "enclave/evidence.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "attest/nitro/nitro_verifier.h"
#include "crypto/hash.h"
#include "enclave/testing/sim_fixture.h"
#include "testing/test_util.h"

namespace eml::enclave {
namespace {

using ::eml::testing::HasError;
using ::eml::testing::IsOk;

TEST(SimEvidenceSourceTest, ReportsSimMeasurementsAndEvaluationMode) {
  auto source = testing::NewSimSource(testing::MakeTempDir());
  EXPECT_EQ(source->platform(), "sim");
  EXPECT_EQ(source->security_mode(), air::kSecurityModeEvaluation);
  EXPECT_EQ(source->measurements().measurement_type, air::kMeasurementTypeNitro);
  EXPECT_EQ(source->measurements().pcr0, source->provider()->pcrs().at(0));
  EXPECT_EQ(source->measurements().pcr1, source->provider()->pcrs().at(1));
  EXPECT_EQ(source->measurements().pcr2, source->provider()->pcrs().at(2));
  EXPECT_EQ(source->measurements().pcr0.size(), 48u);
  EXPECT_FALSE(source->issuer().empty());
}

// An enclave outlives its sim leaf (3 h): documents past the first leaf's end must still
// verify, under the same root, PCRs and issuer.
TEST(SimEvidenceSourceTest, RenewsTheLeafBeforeItExpires) {
  const std::filesystem::path dir = testing::MakeTempDir();
  auto seed = testing::NewSimSource(dir);  // creates the root
  std::shared_ptr<const attest::sim::SimProvider> first = seed->provider();
  const int64_t start_s = first->leaf().not_before_unix() + attest::sim::kBackdateS;
  auto clock_ms = std::make_shared<std::atomic<uint64_t>>(uint64_t(start_s) * 1000);
  Result<attest::sim::SimProvider> provider = first->Renewed(start_s);
  ASSERT_THAT(provider, IsOk());
  SimEvidenceSource source(*std::move(provider), [clock_ms] { return clock_ms->load(); });
  const std::string issuer = source.issuer();
  const auto leaf_of = [&] { return source.provider()->leaf().Sha256Fingerprint(); };
  const auto leaf_at_start = leaf_of();

  ASSERT_THAT(source.Attest(std::nullopt, std::nullopt, {}), IsOk());
  EXPECT_EQ(leaf_of(), leaf_at_start);  // far from expiry: no renewal

  const int64_t late_s = start_s + attest::sim::kLeafLifetimeS + 3600;
  clock_ms->store(uint64_t(late_s) * 1000);
  Result<std::vector<uint8_t>> late = source.Attest(std::nullopt, std::nullopt, {});
  ASSERT_THAT(late, IsOk());
  EXPECT_NE(leaf_of(), leaf_at_start);
  EXPECT_EQ(source.issuer(), issuer);
  EXPECT_EQ(source.provider()->pcrs(), first->pcrs());
  attest::nitro::Policy policy;
  Result<std::unique_ptr<attest::nitro::NitroVerifier>> verifier =
      attest::nitro::NitroVerifier::New(first->root(), policy);
  ASSERT_THAT(verifier, IsOk());
  Result<attest::Verification> verified = (*verifier)->Verify(*late, late_s);
  ASSERT_THAT(verified, IsOk());
  EXPECT_TRUE(verified->report.verified);

  // Once the root is gone, renewal fails; the error surfaces when the leaf has run out.
  std::filesystem::remove_all(dir / attest::sim::kStateSubdir);
  const int64_t later_s = late_s + attest::sim::kLeafLifetimeS + 60;
  clock_ms->store(uint64_t(later_s) * 1000);
  EXPECT_THAT(source.Attest(std::nullopt, std::nullopt, {}), HasError(ErrorCode::kAttestSimState));
}

TEST(HandshakeAttesterTest, BindsKeyNonceAndUserDataAndRecordsTheDocument) {
  auto source = testing::NewSimSource(testing::MakeTempDir());
  const std::vector<uint8_t> user_data = {0xa1, 0x61, 0x76, 0x01};
  HandshakeAttester attester(source.get(), user_data);
  EXPECT_FALSE(attester.has_document());
  const std::vector<uint8_t> nonce(32, 0x5a);
  const std::vector<uint8_t> key(32, 0x77);
  Result<std::vector<uint8_t>> document = attester.Attest(nonce, key);
  ASSERT_THAT(document, IsOk());
  EXPECT_TRUE(attester.has_document());
  EXPECT_EQ(attester.document(), *document);
  EXPECT_EQ(attester.public_key(), key);
  EXPECT_EQ(attester.document_sha256(), crypto::Sha256(*document));

  Result<attest::Verification> verified =
      testing::VerifySimDocument(*source, *document, nonce, key);
  ASSERT_THAT(verified, IsOk());
  ASSERT_TRUE(verified->evidence.has_value()) << verified->report.ToJson();
  EXPECT_EQ(verified->evidence->user_data(), user_data);
  EXPECT_EQ(verified->evidence->document_sha256(), attester.document_sha256());

  // A different nonce does not verify against this document.
  Result<attest::Verification> other =
      testing::VerifySimDocument(*source, *document, std::vector<uint8_t>(32, 0x5b), key);
  ASSERT_THAT(other, IsOk());
  EXPECT_FALSE(other->evidence.has_value());
  EXPECT_EQ(other->report.FirstFailure(), ErrorCode::kAttestNonceMismatch);
}

TEST(HandshakeAttesterTest, SourceErrorsPassThrough) {
  auto source = testing::NewSimSource(testing::MakeTempDir());
  HandshakeAttester attester(source.get(), std::vector<uint8_t>(10, 1));
  // A public key over the Nitro format's 1024-byte limit.
  EXPECT_THAT(attester.Attest(std::vector<uint8_t>(32, 1), std::vector<uint8_t>(2000, 1)),
              ::eml::testing::HasError(ErrorCode::kInvalidArgument));
  EXPECT_FALSE(attester.has_document());
}

}  // namespace
}  // namespace eml::enclave
