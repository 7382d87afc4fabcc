// Releases to hardware-platform evidence through the same broker core (issue 6): Intel TDX
// quotes and AMD SEV-SNP reports whose report data is BindingDigest(recipient key, challenge),
// and Confidential Space tokens whose eat_nonce is GcpBindingNonce(recipient key, challenge),
// all under test PKIs named inline in the release policy.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "attest/envelope.h"
#include "attest/policy.h"
#include "attest/report_binding.h"
#include "attest/sevsnp/report.h"
#include "attest/sevsnp/testing/snp_test_pki.h"
#include "attest/tdx/quote.h"
#include "attest/tdx/testing/tdx_test_pki.h"
#include "common/encoding.h"
#include "crypto/rsa.h"
#include "keys/key_broker.h"
#include "keys/testing/broker_fixture.h"
#include "testing/test_util.h"

namespace eml::keys {
namespace {

using ::eml::testing::HasError;
using ::eml::testing::IsOk;
using ::eml::testing::ReadFileBytes;
using ::eml::testing::ReadFileText;
using ::eml::testing::SharedVectorPath;
using ::eml::testing::SourcePath;
using Json = nlohmann::json;

const KeyRef kRef{"llama", "3"};
const std::vector<uint8_t> kWant(kDataKeySize, 0xD7);

class PlatformReleaseTest : public testing::BrokerFixture {
 protected:
  void Register(const Json& evidence_policy) {
    const Json policy = {{"version", 1}, {"evidence", evidence_policy}};
    Result<KeyInfo> info = broker_->Register(kRef, DataKey(), policy.dump());
    ASSERT_TRUE(info.has_value()) << ToString(info.error());
  }
  std::vector<uint8_t> Digest(const std::vector<uint8_t>& challenge) const {
    const auto digest = attest::BindingDigest(RecipientPublic(), challenge);
    return {digest.begin(), digest.end()};
  }
  ReleaseRequest Request(const std::vector<uint8_t>& challenge, std::vector<uint8_t> evidence) {
    ReleaseRequest request;
    request.ref = kRef;
    request.challenge = challenge;
    request.recipient_key = RecipientPublic();
    request.evidence = std::move(evidence);
    return request;
  }
  void ExpectReleased(const ReleaseRequest& request, const char* platform) {
    Result<ReleasedKey> released = broker_->Release(request);
    ASSERT_TRUE(released.has_value()) << ToString(released.error());
    EXPECT_EQ(OpenReleased(kRef, *released), kWant);
    EXPECT_EQ(LastAudit().platform, platform);
    EXPECT_TRUE(LastAudit().allowed);
  }
  void ExpectDenied(const ReleaseRequest& request, ErrorCode code) {
    EXPECT_THAT(broker_->Release(request), HasError(code));
    EXPECT_EQ(LastAudit().code, static_cast<int>(code)) << LastAudit().reason;
  }
};

// ---- Intel TDX ---------------------------------------------------------------------------------

constexpr int64_t kTdxTime = 1700000000;  // inside the synthetic collateral's validity

class TdxReleaseTest : public PlatformReleaseTest {
 protected:
  void SetUp() override {
    PlatformReleaseTest::SetUp();
    now_ = kTdxTime;
    OpenOrDie();
    sample_ = ReadFileBytes(SharedVectorPath(attest::tdx::testing::kSprSampleQuote));
    // Collateral issued 2023-11-01, next update 2023-12-01; CRLs valid around kTdxTime.
    pki_.WriteCollateralDirectory(
        dir_ / "tdx-collateral", attest::tdx::testing::SprSampleTcbInfoBody(1698796800, 1701388800),
        attest::tdx::testing::SprSampleQeIdentityBody(1698796800, 1701388800), 1690000000,
        1710000000);
    Result<attest::tdx::ParsedQuote> parsed = attest::tdx::ParseQuote(sample_);
    ASSERT_THAT(parsed, IsOk());
    mrtd_hex_ = HexEncode(parsed->body.mrtd);
  }
  Json Policy(const std::string& mrtd_hex) const {
    // collateral_dir is relative: it resolves against the broker's data folder.
    return {{"version", 1},
            {"platforms",
             {{"tdx",
               {{"roots", {attest::tdx::testing::ToPem(pki_.root_der())}},
                {"collateral_dir", "tdx-collateral"},
                {"measurements", {{"mrtd", mrtd_hex}}}}}}}};
  }
  std::vector<uint8_t> Quote(const std::vector<uint8_t>& challenge, bool debug = false) const {
    return pki_.RebuildQuoteWithReportData(sample_, Digest(challenge), debug);
  }

  // Envelope wraps a quote bound to (key, BoundNonce(challenge, user_data)) as an enclave's
  // TsmEvidenceSource sends it.
  std::vector<uint8_t> Envelope(const std::vector<uint8_t>& challenge,
                                const std::vector<uint8_t>& key,
                                const std::vector<uint8_t>& user_data) const {
    const std::vector<uint8_t> bound = attest::BoundNonce(challenge, user_data);
    const auto digest = attest::BindingDigest(key, bound);
    attest::EvidenceEnvelope envelope;
    envelope.platform = attest::kPlatformTdx;
    envelope.evidence = pki_.RebuildQuoteWithReportData(sample_, digest);
    envelope.public_key = key;
    envelope.nonce = challenge;
    envelope.user_data = user_data;
    Result<std::vector<uint8_t>> bytes = attest::EncodeEnvelope(envelope);
    EML_CHECK(bytes.has_value());
    return *std::move(bytes);
  }

  attest::tdx::testing::TestPki pki_ = attest::tdx::testing::TestPki::Create();
  std::vector<uint8_t> sample_;
  std::string mrtd_hex_;
};

TEST_F(TdxReleaseTest, EnvelopeAroundBoundQuoteReleasesTheKey) {
  Register(Policy(mrtd_hex_));
  const std::vector<uint8_t> challenge = NewChallenge();
  const std::vector<uint8_t> user_data = {0xA1, 0x61, 0x6D, 0x01};
  const std::vector<uint8_t> envelope = Envelope(challenge, RecipientPublic(), user_data);
  ExpectReleased(Request(challenge, envelope), "tdx");
  EXPECT_NE(LastAudit().measurements_json.find(mrtd_hex_), std::string::npos);
}

TEST_F(TdxReleaseTest, EnvelopeForAnotherRecipientDenied) {
  Register(Policy(mrtd_hex_));
  const std::vector<uint8_t> challenge = NewChallenge();
  // A genuine envelope for someone else's key: the quote binds it, the broker's request does not.
  const std::vector<uint8_t> other_key(32, 0x09);
  ExpectDenied(Request(challenge, Envelope(challenge, other_key, {})),
               ErrorCode::kBrokerEvidenceRejected);
  EXPECT_NE(LastAudit().reason.find("ENVELOPE_BINDING_MISMATCH"), std::string::npos);
}

TEST_F(TdxReleaseTest, EnvelopeWithStaleChallengeDenied) {
  Register(Policy(mrtd_hex_));
  const std::vector<uint8_t> first = NewChallenge();
  const std::vector<uint8_t> envelope = Envelope(first, RecipientPublic(), {});
  ExpectReleased(Request(first, envelope), "tdx");
  ExpectDenied(Request(NewChallenge(), envelope), ErrorCode::kBrokerEvidenceRejected);
}

TEST_F(TdxReleaseTest, BoundQuoteReleasesTheKey) {
  Register(Policy(mrtd_hex_));
  const std::vector<uint8_t> challenge = NewChallenge();
  ExpectReleased(Request(challenge, Quote(challenge)), "tdx");
  EXPECT_NE(LastAudit().measurements_json.find(mrtd_hex_), std::string::npos);
}

TEST_F(TdxReleaseTest, WrongMrtdPinDenied) {
  Register(Policy(std::string(96, 'e')));
  const std::vector<uint8_t> challenge = NewChallenge();
  ExpectDenied(Request(challenge, Quote(challenge)), ErrorCode::kBrokerMeasurementMismatch);
}

TEST_F(TdxReleaseTest, DebugTdDenied) {
  Register(Policy(mrtd_hex_));
  const std::vector<uint8_t> challenge = NewChallenge();
  ExpectDenied(Request(challenge, Quote(challenge, /*debug=*/true)),
               ErrorCode::kBrokerDebugEvidence);
}

TEST_F(TdxReleaseTest, QuoteBoundToAnotherChallengeDenied) {
  Register(Policy(mrtd_hex_));
  const std::vector<uint8_t> first = NewChallenge();
  const std::vector<uint8_t> quote = Quote(first);
  ExpectReleased(Request(first, quote), "tdx");
  ExpectDenied(Request(NewChallenge(), quote), ErrorCode::kBrokerEvidenceRejected);
  EXPECT_NE(LastAudit().reason.find("POLICY_BINDING_MISMATCH"), std::string::npos);
}

// ---- AMD SEV-SNP -------------------------------------------------------------------------------

class SnpReleaseTest : public PlatformReleaseTest {
 protected:
  void SetUp() override {
    PlatformReleaseTest::SetUp();
    now_ = 1700000000;
    OpenOrDie();
  }
  Json Policy(const std::string& measurement_hex) const {
    using attest::tdx::testing::ToPem;
    return {{"version", 1},
            {"platforms",
             {{"sev-snp",
               {{"roots", {ToPem(pki_.ark().der())}},
                {"certificates", {ToPem(pki_.ask().der()), ToPem(pki_.endorsement().der())}},
                {"measurements", {{"measurement", measurement_hex}}}}}}}};
  }
  std::vector<uint8_t> Report(const std::vector<uint8_t>& challenge, bool debug = false) const {
    attest::sevsnp::AttestationReport report = attest::sevsnp::testing::BaseReport(spec_);
    const std::vector<uint8_t> digest = Digest(challenge);
    std::copy(digest.begin(), digest.end(), report.report_data.begin());
    if (debug) {
      report.policy |= attest::sevsnp::kPolicyDebug;
    }
    return pki_.SignReport(report);
  }
  std::string MeasurementHex() const {
    return HexEncode(attest::sevsnp::testing::BaseReport(spec_).measurement);
  }

  attest::sevsnp::testing::TestPkiSpec spec_;
  attest::sevsnp::testing::TestSnpPki pki_ = attest::sevsnp::testing::TestSnpPki::Create(spec_);
};

TEST_F(SnpReleaseTest, BoundReportReleasesTheKey) {
  Register(Policy(MeasurementHex()));
  const std::vector<uint8_t> challenge = NewChallenge();
  ExpectReleased(Request(challenge, Report(challenge)), "sev-snp");
}

TEST_F(SnpReleaseTest, WrongMeasurementPinDenied) {
  Register(Policy(std::string(96, 'f')));
  const std::vector<uint8_t> challenge = NewChallenge();
  ExpectDenied(Request(challenge, Report(challenge)), ErrorCode::kBrokerMeasurementMismatch);
}

TEST_F(SnpReleaseTest, DebugGuestDenied) {
  Register(Policy(MeasurementHex()));
  const std::vector<uint8_t> challenge = NewChallenge();
  ExpectDenied(Request(challenge, Report(challenge, /*debug=*/true)),
               ErrorCode::kBrokerDebugEvidence);
}

TEST_F(SnpReleaseTest, ReportForAnotherKeyDenied) {
  Register(Policy(MeasurementHex()));
  const std::vector<uint8_t> challenge = NewChallenge();
  ReleaseRequest request = Request(challenge, Report(challenge));
  request.recipient_key.assign(32, 0x09);
  ExpectDenied(request, ErrorCode::kBrokerEvidenceRejected);
}

// ---- GCP Confidential Space --------------------------------------------------------------------

constexpr int64_t kGcpIat = 1760000000;  // tests/vectors/gcp/oidc_valid.jwt
constexpr char kGcpAudience[] = "https://relying-party.example";

class GcpReleaseTest : public PlatformReleaseTest {
 protected:
  void SetUp() override {
    PlatformReleaseTest::SetUp();
    now_ = kGcpIat + 5;
    OpenOrDie();
    // The JWKS lives in the data folder and is named relatively.
    std::filesystem::copy_file(SourcePath("tests/vectors/gcp/jwks.json"), dir_ / "jwks.json");
  }
  static std::string Vector(const std::string& name) {
    return ReadFileText(SourcePath("tests/vectors/gcp/" + name));
  }
  Json Policy(const std::string& image_digest) const {
    return {{"version", 1},
            {"platforms",
             {{"gcp-cs",
               {{"audience", kGcpAudience},
                {"jwks", "jwks.json"},
                {"measurements", {{"image_digest", image_digest}}}}}}},
            {"max_evidence_age_s", 600}};
  }
  // Token re-signs the generated OIDC token with its eat_nonce binding (key, challenge).
  std::vector<uint8_t> Token(const std::vector<uint8_t>& challenge) const {
    const std::string token = Vector("oidc_valid.jwt");
    const size_t a = token.find('.');
    const size_t b = token.find('.', a + 1);
    const std::vector<uint8_t> header = *Base64UrlDecode(token.substr(0, a));
    const std::vector<uint8_t> payload_bytes = *Base64UrlDecode(token.substr(a + 1, b - a - 1));
    Json payload = Json::parse(payload_bytes.begin(), payload_bytes.end());
    payload["eat_nonce"] = attest::GcpBindingNonce(RecipientPublic(), challenge);
    const std::string input = token.substr(0, a) + "." + Base64UrlEncode(AsBytes(payload.dump()));
    std::string key_hex = Vector("oidc_key.pkcs8.hex");
    key_hex.erase(key_hex.find_last_not_of('\n') + 1);
    Result<crypto::RsaPrivateKey> key =
        crypto::RsaPrivateKey::FromPkcs8Der(SecretBytes::CopyFrom(*HexDecode(key_hex)));
    EML_CHECK(key.has_value() && !header.empty());
    Result<std::vector<uint8_t>> signature = key->SignPkcs1Sha256(AsBytes(input));
    EML_CHECK(signature.has_value());
    const std::string out = input + "." + Base64UrlEncode(*signature);
    return {out.begin(), out.end()};
  }
  static std::string ImageDigest() {
    const std::string token = Vector("oidc_valid.jwt");
    const size_t a = token.find('.');
    const size_t b = token.find('.', a + 1);
    const std::vector<uint8_t> bytes = *Base64UrlDecode(token.substr(a + 1, b - a - 1));
    return Json::parse(bytes.begin(), bytes.end())["submods"]["container"]["image_digest"];
  }
};

TEST_F(GcpReleaseTest, BoundTokenReleasesTheKey) {
  Register(Policy(ImageDigest()));
  const std::vector<uint8_t> challenge = NewChallenge();
  ExpectReleased(Request(challenge, Token(challenge)), "gcp-cs");
}

TEST_F(GcpReleaseTest, WrongImageDigestPinDenied) {
  Register(Policy("sha256:" + std::string(64, '0')));
  const std::vector<uint8_t> challenge = NewChallenge();
  ExpectDenied(Request(challenge, Token(challenge)), ErrorCode::kBrokerMeasurementMismatch);
}

TEST_F(GcpReleaseTest, StaleTokenDenied) {
  Register(Policy(ImageDigest()));
  now_ = kGcpIat + 601;  // the token's iat is fixed; its exp is an hour later
  const std::vector<uint8_t> challenge = NewChallenge();
  ExpectDenied(Request(challenge, Token(challenge)), ErrorCode::kBrokerStaleEvidence);
}

TEST_F(GcpReleaseTest, TokenForAnotherChallengeDenied) {
  Register(Policy(ImageDigest()));
  const std::vector<uint8_t> challenge = NewChallenge();
  ExpectDenied(Request(challenge, Token(NewChallenge())), ErrorCode::kBrokerEvidenceRejected);
  EXPECT_NE(LastAudit().reason.find("ATTEST_NONCE_MISMATCH"), std::string::npos);
}

}  // namespace
}  // namespace eml::keys
