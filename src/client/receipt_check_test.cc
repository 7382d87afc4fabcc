#include "client/receipt_check.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <utility>

#include "air/issuer.h"
#include "common/encoding.h"
#include "crypto/hash.h"
#include "testing/test_util.h"

namespace eml::client {
namespace {

using ::eml::testing::HasError;
using ::testing::HasSubstr;

constexpr int64_t kNow = 1'790'000'000;

std::vector<uint8_t> Pcr(uint8_t fill) { return std::vector<uint8_t>(48, fill); }

air::Sha256Digest Digest(std::string_view text) { return crypto::Sha256(AsBytes(text)); }

crypto::Ed25519PrivateKey NewKey() {
  Result<crypto::Ed25519PrivateKey> key = crypto::Ed25519PrivateKey::Generate();
  EML_CHECK(key.has_value());
  return std::move(*key);
}

// A receipt as an honest sim enclave issues it, and the expectations of a client that attested
// that enclave, sent the request and received the result.
class ReceiptCheckTest : public ::testing::Test {
 protected:
  ReceiptCheckTest() : key_(NewKey()) {
    claims_.iss = "enclave-test";
    claims_.iat = kNow - 5;
    claims_.cti = {0x5a, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x40,
                   0x88, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f};
    claims_.eat_nonce = std::vector<uint8_t>(32, 0x7e);
    claims_.model_id = "minilm";
    claims_.model_version = "1";
    claims_.model_hash = Digest("weights");
    claims_.request_hash = Digest("request bytes");
    claims_.response_hash = Digest("result bytes");
    claims_.attestation_doc_hash = Digest("attestation document");
    claims_.enclave_measurements.measurement_type = std::string(air::kMeasurementTypeNitro);
    claims_.enclave_measurements.pcr0 = Pcr(0xa0);
    claims_.enclave_measurements.pcr1 = Pcr(0xa1);
    claims_.enclave_measurements.pcr2 = Pcr(0xa2);
    claims_.policy_version = "policy-1";
    claims_.sequence_number = 7;
    claims_.execution_time_ms = 3;
    claims_.memory_peak_mb = 90;
    claims_.security_mode = std::string(air::kSecurityModeEvaluation);
    claims_.model_hash_scheme = std::string(air::kSchemeSha256Single);

    expected_.request_hash = Digest("request bytes");
    expected_.response_hash = Digest("result bytes");
    expected_.attestation_doc_hash = Digest("attestation document");
    expected_.model = {"minilm", Digest("weights"), "sha256-single"};
    expected_.nonce = std::vector<uint8_t>(32, 0x7e);
    expected_.last_sequence = 6;
    expected_.evaluation_platform = true;
    expected_.platform = "sim";
    expected_.measurements = {{0, Pcr(0xa0)}, {1, Pcr(0xa1)}, {2, Pcr(0xa2)}, {3, Pcr(0)}};
    expected_.now_unix = kNow;
  }

  std::vector<uint8_t> Issue(const crypto::Ed25519PrivateKey& key) {
    Result<std::vector<uint8_t>> r = air::IssueReceipt(claims_, key);
    EML_CHECK(r.has_value());
    return *r;
  }

  ReceiptReport Check() { return Check(Issue(key_)); }
  ReceiptReport Check(const std::vector<uint8_t>& receipt) {
    Result<ReceiptReport> report = CheckReceipt(receipt, key_.public_key(), expected_);
    EML_CHECK(report.has_value());
    return *report;
  }

  static std::string StatusOf(const ReceiptReport& report, std::string_view name) {
    for (const ReceiptCheckResult& c : report.checks) {
      if (c.name == name) {
        return c.status;
      }
    }
    return "absent";
  }

  crypto::Ed25519PrivateKey key_;
  air::Claims claims_;
  ReceiptExpectations expected_;
};

TEST_F(ReceiptCheckTest, HonestReceiptPassesEveryCheck) {
  const ReceiptReport report = Check();
  EXPECT_TRUE(report.verified) << report.ToJson();
  EXPECT_EQ(report.error, ErrorCode::kOk);
  ASSERT_TRUE(report.claims.has_value());
  EXPECT_EQ(report.claims->sequence_number, 7u);
  for (const char* name :
       {"SIG", "RHASH", "OHASH", "MHASH", "MODEL", "ADHASH", "NONCE", "SECURITY_MODE_POLICY",
        "PLATFORM", "SEQUENCE", "NONCE_ABSENT", "MEASUREMENTS"}) {
    EXPECT_EQ(StatusOf(report, name), "PASS") << name;
  }
  EXPECT_EQ(report.Summary(), "");
  EXPECT_THAT(report.ToJson(), HasSubstr("\"verified\":true"));
}

TEST_F(ReceiptCheckTest, FirstReceiptOfASessionHasNoPreviousSequence) {
  expected_.last_sequence.reset();
  claims_.sequence_number = 1;
  EXPECT_TRUE(Check().verified);
}

TEST_F(ReceiptCheckTest, ReceiptSignedByAnotherKeyFails) {
  const crypto::Ed25519PrivateKey other = NewKey();
  const ReceiptReport report = Check(Issue(other));
  EXPECT_FALSE(report.verified);
  EXPECT_EQ(report.error, ErrorCode::kClientReceiptSignature);
  EXPECT_EQ(StatusOf(report, "SIG"), "FAIL");
  EXPECT_EQ(StatusOf(report, "SEQUENCE"), "SKIP");
  EXPECT_FALSE(report.claims.has_value());
  EXPECT_THAT(report.Summary(), HasSubstr("SIG=SIG_FAILED"));
}

TEST_F(ReceiptCheckTest, WrongRequestHashFails) {
  claims_.request_hash = Digest("another request");
  EXPECT_EQ(Check().error, ErrorCode::kClientReceiptRequestHash);
}

TEST_F(ReceiptCheckTest, WrongResponseHashFails) {
  claims_.response_hash = Digest("another result");
  EXPECT_EQ(Check().error, ErrorCode::kClientReceiptResponseHash);
}

TEST_F(ReceiptCheckTest, WrongModelHashFails) {
  claims_.model_hash = Digest("other weights");
  EXPECT_EQ(Check().error, ErrorCode::kClientReceiptModelHash);
}

TEST_F(ReceiptCheckTest, WrongModelIdFails) {
  claims_.model_id = "another-model";
  EXPECT_EQ(Check().error, ErrorCode::kClientReceiptModelHash);
}

TEST_F(ReceiptCheckTest, WrongAttestationDocHashFails) {
  claims_.attestation_doc_hash = Digest("a recorded document of another enclave");
  EXPECT_EQ(Check().error, ErrorCode::kClientReceiptAttestationHash);
}

TEST_F(ReceiptCheckTest, ReplayedSequenceFails) {
  claims_.sequence_number = 6;  // equal to the last accepted
  const ReceiptReport report = Check();
  EXPECT_EQ(report.error, ErrorCode::kClientReceiptSequence);
  EXPECT_EQ(StatusOf(report, "SEQUENCE"), "FAIL");
  EXPECT_FALSE(report.claims.has_value());
}

TEST_F(ReceiptCheckTest, LowerSequenceFails) {
  claims_.sequence_number = 2;
  EXPECT_EQ(Check().error, ErrorCode::kClientReceiptSequence);
}

TEST_F(ReceiptCheckTest, NonceMismatchFails) {
  claims_.eat_nonce = std::vector<uint8_t>(32, 0x11);
  EXPECT_EQ(Check().error, ErrorCode::kClientReceiptNonce);
}

TEST_F(ReceiptCheckTest, MissingNonceFailsWhenOneWasSent) {
  claims_.eat_nonce.reset();
  EXPECT_EQ(Check().error, ErrorCode::kClientReceiptNonce);
}

TEST_F(ReceiptCheckTest, NonceFailsWhenNoneWasSent) {
  expected_.nonce.reset();
  const ReceiptReport report = Check();
  EXPECT_EQ(report.error, ErrorCode::kClientReceiptNonce);
  EXPECT_EQ(StatusOf(report, "NONCE_ABSENT"), "FAIL");
}

TEST_F(ReceiptCheckTest, NoNonceSentAndNoneEchoedPasses) {
  expected_.nonce.reset();
  claims_.eat_nonce.reset();
  EXPECT_TRUE(Check().verified);
}

TEST_F(ReceiptCheckTest, EvaluationReceiptUnderProductionEvidenceFails) {
  expected_.evaluation_platform = false;  // the evidence is hardware, the receipt says evaluation
  expected_.platform = "aws-nitro";
  const ReceiptReport report = Check();
  EXPECT_EQ(report.error, ErrorCode::kClientReceiptSecurityMode);
  EXPECT_EQ(StatusOf(report, "SECURITY_MODE_POLICY"), "FAIL");
}

TEST_F(ReceiptCheckTest, ProductionReceiptFromSimFails) {
  claims_.security_mode = std::string(air::kSecurityModeProduction);
  EXPECT_EQ(Check().error, ErrorCode::kClientReceiptSecurityMode);
}

TEST_F(ReceiptCheckTest, ProductionReceiptFromNitroPasses) {
  claims_.security_mode = std::string(air::kSecurityModeProduction);
  expected_.evaluation_platform = false;
  expected_.platform = "aws-nitro";
  EXPECT_TRUE(Check().verified);
}

TEST_F(ReceiptCheckTest, MeasurementDifferentFromEvidenceFails) {
  claims_.enclave_measurements.pcr1 = Pcr(0xee);
  const ReceiptReport report = Check();
  EXPECT_EQ(report.error, ErrorCode::kClientReceiptMeasurements);
  EXPECT_EQ(StatusOf(report, "MEASUREMENTS"), "FAIL");
}

TEST_F(ReceiptCheckTest, OptionalPcrMustMatchEvidenceToo) {
  claims_.enclave_measurements.pcr3 = Pcr(0x33);  // evidence PCR3 is zero
  EXPECT_EQ(Check().error, ErrorCode::kClientReceiptMeasurements);
  claims_.enclave_measurements.pcr3 = Pcr(0);
  EXPECT_TRUE(Check().verified);
  claims_.enclave_measurements.pcr8 = Pcr(0);  // PCR8 is not in the evidence at all
  EXPECT_EQ(Check().error, ErrorCode::kClientReceiptMeasurements);
}

TEST_F(ReceiptCheckTest, TdxMeasurementTypeOnNitroEvidenceFails) {
  claims_.enclave_measurements.measurement_type = std::string(air::kMeasurementTypeTdx);
  EXPECT_EQ(Check().error, ErrorCode::kClientReceiptMeasurements);
}

TEST_F(ReceiptCheckTest, TdxEvidenceComparesMrtdAndRtmrs) {
  claims_.security_mode = std::string(air::kSecurityModeProduction);
  claims_.enclave_measurements.measurement_type = std::string(air::kMeasurementTypeTdx);
  expected_.evaluation_platform = false;
  expected_.platform = "tdx";
  expected_.measurements.clear();
  expected_.named_measurements = {{"mrtd", Pcr(0xa0)}, {"rtmr0", Pcr(0xa1)}, {"rtmr1", Pcr(0xa2)}};
  EXPECT_TRUE(Check().verified);
  expected_.named_measurements["rtmr1"] = Pcr(0x01);
  EXPECT_EQ(Check().error, ErrorCode::kClientReceiptMeasurements);
}

TEST_F(ReceiptCheckTest, PlatformWithoutAirMeasurementTypeFailsClosed) {
  claims_.security_mode = std::string(air::kSecurityModeProduction);
  expected_.evaluation_platform = false;
  expected_.platform = "sev-snp";
  EXPECT_EQ(Check().error, ErrorCode::kClientReceiptMeasurements);
}

TEST_F(ReceiptCheckTest, StaleReceiptFails) {
  claims_.iat = kNow - 2 * static_cast<int64_t>(kDefaultReceiptMaxAgeS);
  const ReceiptReport report = Check();
  EXPECT_EQ(report.error, ErrorCode::kClientReceiptInvalid);
  EXPECT_EQ(StatusOf(report, "FRESH"), "FAIL");
}

TEST_F(ReceiptCheckTest, SeenCtiFails) {
  expected_.is_cti_seen = [](std::span<const uint8_t>) { return true; };
  const ReceiptReport report = Check();
  EXPECT_EQ(report.error, ErrorCode::kClientReceiptInvalid);
  EXPECT_EQ(StatusOf(report, "REPLAY"), "FAIL");
}

TEST_F(ReceiptCheckTest, GarbageIsNotAReceipt) {
  const ReceiptReport report = Check(std::vector<uint8_t>{0x01, 0x02, 0x03});
  EXPECT_FALSE(report.verified);
  EXPECT_EQ(report.error, ErrorCode::kClientReceiptInvalid);
}

TEST_F(ReceiptCheckTest, FlippedReceiptByteFails) {
  std::vector<uint8_t> receipt = Issue(key_);
  receipt[receipt.size() / 2] ^= 0x01;
  EXPECT_FALSE(Check(receipt).verified);
}

TEST_F(ReceiptCheckTest, BadExpectationsCannotRun) {
  expected_.nonce = std::vector<uint8_t>(4, 1);
  EXPECT_THAT(CheckReceipt(Issue(key_), key_.public_key(), expected_),
              HasError(ErrorCode::kInvalidArgument));
  expected_.nonce.reset();
  expected_.model.id.clear();
  EXPECT_THAT(CheckReceipt(Issue(key_), key_.public_key(), expected_),
              HasError(ErrorCode::kInvalidArgument));
}

}  // namespace
}  // namespace eml::client
