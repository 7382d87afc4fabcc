#include "attest/sim/sim_provider.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "attest/nitro/document.h"
#include "attest/nitro/nitro_verifier.h"
#include "cbor/decoder.h"
#include "cbor/encoder.h"
#include "common/encoding.h"
#include "crypto/hash.h"
#include "testing/test_util.h"

namespace eml::attest::sim {
namespace {

using ::eml::testing::HasError;
using ::eml::testing::IsOk;

constexpr int64_t kNow = 1'800'000'000;  // a fixed instant (2027-01-15)
constexpr uint64_t kNowMs = uint64_t{kNow} * 1000 + 123;

const std::vector<uint8_t> kBinary = {'e', 'l', 'f', 1, 2, 3};
const std::vector<uint8_t> kConfig = {'{', '}'};
const std::vector<uint8_t> kAnchors = {'r', 'o', 'o', 't', 's'};

class SimProviderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("eml_attest_sim_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  SimProvider Make(int64_t now = kNow) {
    Result<SimProvider> p = SimProvider::Create(dir_, Inputs(), now);
    EML_CHECK(p.has_value());
    return *std::move(p);
  }
  static MeasuredInputs Inputs() { return {kBinary, kConfig, kAnchors}; }

  static std::unique_ptr<nitro::NitroVerifier> Verifier(const crypto::Certificate& root,
                                                        nitro::Policy policy = {}) {
    Result<std::unique_ptr<nitro::NitroVerifier>> v = nitro::NitroVerifier::New(root, policy);
    EML_CHECK(v.has_value());
    return *std::move(v);
  }
  static Verification Check(const nitro::NitroVerifier& v, std::span<const uint8_t> doc,
                            int64_t time = kNow) {
    Result<Verification> r = v.Verify(doc, time);
    EML_CHECK(r.has_value());
    return *std::move(r);
  }

  std::filesystem::path dir_;
};

TEST_F(SimProviderTest, RoundTripThroughTheNitroVerifier) {
  SimProvider p = Make();
  AttestationRequest req;
  req.public_key = std::vector<uint8_t>(32, 0x11);
  req.user_data = std::vector<uint8_t>{'h', 'i'};
  req.nonce = std::vector<uint8_t>(16, 0x22);
  Result<std::vector<uint8_t>> doc = p.Attest(req, kNowMs);
  ASSERT_THAT(doc, IsOk());

  nitro::Policy policy;
  policy.pcr_pins = {{0, p.pcrs().at(0)}, {1, p.pcrs().at(1)}, {2, p.pcrs().at(2)}};
  policy.expected_nonce = req.nonce;
  policy.expected_public_key = req.public_key;
  policy.max_age_s = 60;
  Verification v = Check(*Verifier(p.root(), policy), *doc);
  EXPECT_TRUE(v.report.verified) << v.report.ToJson();
  ASSERT_TRUE(v.evidence.has_value());
  EXPECT_FALSE(v.evidence->debug());
  EXPECT_EQ(v.evidence->public_key(), req.public_key);
  EXPECT_EQ(v.evidence->user_data(), req.user_data);
  EXPECT_EQ(v.evidence->nonce(), req.nonce);
  EXPECT_EQ(v.evidence->timestamp_ms(), std::optional<uint64_t>(kNowMs));
  EXPECT_EQ(v.evidence->measurements().size(), kNumPcrs);
  EXPECT_EQ(v.report.module_id, p.module_id());
}

TEST_F(SimProviderTest, DocumentHasTheNitroShape) {
  SimProvider p = Make();
  Result<std::vector<uint8_t>> doc = p.Attest({}, kNowMs);
  ASSERT_THAT(doc, IsOk());
  Result<cose::ParsedSign1> envelope = nitro::ParseEnvelope(*doc);
  ASSERT_THAT(envelope, IsOk());
  EXPECT_FALSE(envelope->tagged());
  EXPECT_EQ(HexEncode(envelope->protected_bytes()), "a1013822");
  EXPECT_EQ(envelope->signature().size(), 96u);
  Result<nitro::Payload> payload = nitro::DecodePayload(*envelope->payload());
  ASSERT_THAT(payload, IsOk());
  EXPECT_EQ(payload->digest, "SHA384");
  ASSERT_EQ(payload->cabundle.size(), 1u);
  EXPECT_EQ(payload->cabundle[0],
            std::vector<uint8_t>(p.root().der().begin(), p.root().der().end()));
  ASSERT_EQ(payload->pcrs.size(), 16u);
  auto sha384 = [](const std::vector<uint8_t>& b) {
    auto d = crypto::Sha384(b);
    return std::vector<uint8_t>(d.begin(), d.end());
  };
  EXPECT_EQ(payload->pcrs.at(0), sha384(kBinary));
  EXPECT_EQ(payload->pcrs.at(1), sha384(kConfig));
  EXPECT_EQ(payload->pcrs.at(2), sha384(kAnchors));
  for (uint32_t i = 3; i < 16; ++i) {
    EXPECT_TRUE(nitro::PcrIsZero(payload->pcrs.at(i))) << i;
  }
  EXPECT_FALSE(payload->public_key.has_value());
  EXPECT_FALSE(payload->nonce.has_value());
}

TEST_F(SimProviderTest, DigestsGiveTheSamePcrsAsBytesAndTheRootCanBeMeasuredFirst) {
  // The enclave's path: root certificate first (created here, on first use), its DER measured
  // into PCR2, then a provider from precomputed digests.
  Result<crypto::Certificate> root = SimProvider::RootCertificate(dir_, kNow);
  ASSERT_THAT(root, IsOk());
  EXPECT_TRUE(std::filesystem::exists(dir_ / kStateSubdir / kRootKeyFile));
  const std::vector<uint8_t> root_der(root->der().begin(), root->der().end());
  const MeasuredInputs inputs{kBinary, kConfig, root_der};
  const MeasuredDigests digests = Measure(inputs);
  EXPECT_EQ(digests.enclave_binary, crypto::Sha384(kBinary));
  EXPECT_EQ(digests.configuration, crypto::Sha384(kConfig));
  EXPECT_EQ(digests.trust_anchors, crypto::Sha384(root_der));
  Result<SimProvider> from_digests = SimProvider::CreateFromDigests(dir_, digests, kNow);
  ASSERT_THAT(from_digests, IsOk());
  Result<SimProvider> from_bytes = SimProvider::Create(dir_, inputs, kNow);
  ASSERT_THAT(from_bytes, IsOk());
  EXPECT_EQ(from_digests->pcrs(), from_bytes->pcrs());
  EXPECT_EQ(from_digests->pcrs(), SimPcrs(inputs));
  // Same root on every later call: the one measured is the one that signs.
  EXPECT_TRUE(std::equal(from_digests->root().der().begin(), from_digests->root().der().end(),
                         root_der.begin(), root_der.end()));
  Result<crypto::Certificate> again = SimProvider::RootCertificate(dir_, kNow + 60);
  ASSERT_THAT(again, IsOk());
  EXPECT_TRUE(
      std::equal(again->der().begin(), again->der().end(), root_der.begin(), root_der.end()));
  EXPECT_THAT(SimProvider::RootCertificate(dir_, -1), HasError(ErrorCode::kInvalidArgument));
  EXPECT_THAT(SimProvider::CreateFromDigests(dir_, digests, -1),
              HasError(ErrorCode::kInvalidArgument));
}

TEST_F(SimProviderTest, RootIsCreatedOnceWithPrivateKeyFileAndReused) {
  SimProvider first = Make();
  struct stat st {};
  ASSERT_EQ(::stat((dir_ / kStateSubdir / kRootKeyFile).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((dir_ / kStateSubdir).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  SimProvider second = Make(kNow + 10);
  EXPECT_EQ(first.root().Sha256Fingerprint(), second.root().Sha256Fingerprint());
  // A new leaf per process (provider).
  EXPECT_NE(first.leaf().Sha256Fingerprint(), second.leaf().Sha256Fingerprint());
  EXPECT_TRUE(first.root().is_ca());
  EXPECT_FALSE(first.leaf().is_ca());
  EXPECT_EQ(first.leaf().not_after_unix() - first.leaf().not_before_unix(),
            kLeafLifetimeS + kBackdateS);
}

TEST_F(SimProviderTest, TamperedDocumentFailsTheSignature) {
  SimProvider p = Make();
  AttestationRequest req;
  req.nonce = std::vector<uint8_t>(16, 0x22);
  Result<std::vector<uint8_t>> doc = p.Attest(req, kNowMs);
  ASSERT_THAT(doc, IsOk());
  std::vector<uint8_t> tampered = *doc;
  tampered.back() ^= 0x01;  // last signature byte
  EXPECT_EQ(Check(*Verifier(p.root()), tampered).report.FirstFailure(),
            ErrorCode::kCoseSignatureInvalid);
  // Flip a byte of the nonce inside the payload: still parses, signature fails.
  std::vector<uint8_t> nonce_flip = *doc;
  for (size_t i = 0; i + 16 <= nonce_flip.size(); ++i) {
    if (std::all_of(nonce_flip.begin() + static_cast<std::ptrdiff_t>(i),
                    nonce_flip.begin() + static_cast<std::ptrdiff_t>(i + 16),
                    [](uint8_t b) { return b == 0x22; })) {
      nonce_flip[i] = 0x23;
      break;
    }
  }
  ASSERT_NE(nonce_flip, *doc);
  Verification v = Check(*Verifier(p.root()), nonce_flip);
  EXPECT_EQ(v.report.FirstFailure(), ErrorCode::kCoseSignatureInvalid);
  EXPECT_FALSE(v.evidence.has_value());
}

TEST_F(SimProviderTest, WrongRootIsRejected) {
  SimProvider p = Make();
  Result<std::vector<uint8_t>> doc = p.Attest({}, kNowMs);
  ASSERT_THAT(doc, IsOk());
  const std::filesystem::path other_dir = dir_ / "other";
  Result<SimProvider> other = SimProvider::Create(other_dir, Inputs(), kNow);
  ASSERT_THAT(other, IsOk());
  Verification v = Check(*Verifier(other->root()), *doc);
  EXPECT_EQ(v.report.FirstFailure(), ErrorCode::kAttestRootMismatch);
  EXPECT_EQ(v.report.steps[5].code, ErrorCode::kX509Untrusted);  // certificate_chain
  // The real AWS root does not accept sim documents either.
  Result<crypto::Certificate> aws = crypto::Certificate::FromDer(
      testing::ReadFileBytes(testing::SharedVectorPath("nitro/aws-nitro-enclaves-root-g1.der")));
  ASSERT_THAT(aws, IsOk());
  EXPECT_EQ(Check(*Verifier(*aws), *doc).report.FirstFailure(), ErrorCode::kAttestRootMismatch);
}

TEST_F(SimProviderTest, NonceAndPublicKeyBinding) {
  SimProvider p = Make();
  AttestationRequest req;
  req.public_key = std::vector<uint8_t>(32, 0x11);
  req.nonce = std::vector<uint8_t>(16, 0x22);
  Result<std::vector<uint8_t>> doc = p.Attest(req, kNowMs);
  ASSERT_THAT(doc, IsOk());
  nitro::Policy wrong_nonce;
  wrong_nonce.expected_nonce = std::vector<uint8_t>(16, 0x23);
  EXPECT_EQ(Check(*Verifier(p.root(), wrong_nonce), *doc).report.FirstFailure(),
            ErrorCode::kAttestNonceMismatch);
  nitro::Policy wrong_key;
  wrong_key.expected_public_key = std::vector<uint8_t>(32, 0x12);
  EXPECT_EQ(Check(*Verifier(p.root(), wrong_key), *doc).report.FirstFailure(),
            ErrorCode::kAttestPublicKeyMismatch);
  // A document without a nonce fails a policy that expects one.
  Result<std::vector<uint8_t>> bare = p.Attest({}, kNowMs);
  ASSERT_THAT(bare, IsOk());
  nitro::Policy want_nonce;
  want_nonce.expected_nonce = req.nonce;
  EXPECT_EQ(Check(*Verifier(p.root(), want_nonce), *bare).report.FirstFailure(),
            ErrorCode::kAttestNonceMismatch);
}

TEST_F(SimProviderTest, PcrPinsDetectADifferentBinary) {
  SimProvider p = Make();
  Result<std::vector<uint8_t>> doc = p.Attest({}, kNowMs);
  ASSERT_THAT(doc, IsOk());
  const std::vector<uint8_t> other_binary = {'e', 'l', 'f', 9};
  nitro::Policy policy;
  policy.pcr_pins[0] = SimPcrs({other_binary, kConfig, kAnchors}).at(0);
  policy.pcr_pins[1] = p.pcrs().at(1);
  Verification v = Check(*Verifier(p.root(), policy), *doc);
  EXPECT_EQ(v.report.FirstFailure(), ErrorCode::kAttestMeasurementMismatch);
}

TEST_F(SimProviderTest, LeafExpiryAndFreshnessAreEnforced) {
  SimProvider p = Make();
  Result<std::vector<uint8_t>> doc = p.Attest({}, kNowMs);
  ASSERT_THAT(doc, IsOk());
  Verification later = Check(*Verifier(p.root()), *doc, kNow + kLeafLifetimeS + 1);
  EXPECT_EQ(later.report.FirstFailure(), ErrorCode::kX509Expired);
  nitro::Policy fresh;
  fresh.max_age_s = 30;
  EXPECT_EQ(Check(*Verifier(p.root(), fresh), *doc, kNow + 31).report.FirstFailure(),
            ErrorCode::kAttestStale);
  EXPECT_EQ(Check(*Verifier(p.root()), *doc, kNow - 30).report.FirstFailure(),
            ErrorCode::kAttestFromFuture);
}

TEST_F(SimProviderTest, RenewedProviderAttestsPastTheFirstLeafsExpiry) {
  SimProvider p = Make();
  const int64_t later = kNow + kLeafLifetimeS + 600;
  ASSERT_THAT(p.Attest({}, uint64_t(later) * 1000), HasError(ErrorCode::kInvalidArgument));
  Result<SimProvider> renewed = p.Renewed(later);
  ASSERT_THAT(renewed, IsOk());
  EXPECT_EQ(renewed->root().Sha256Fingerprint(), p.root().Sha256Fingerprint());
  EXPECT_NE(renewed->leaf().Sha256Fingerprint(), p.leaf().Sha256Fingerprint());
  EXPECT_EQ(renewed->module_id(), p.module_id());
  EXPECT_EQ(renewed->pcrs(), p.pcrs());
  Result<std::vector<uint8_t>> doc = renewed->Attest({}, uint64_t(later) * 1000);
  ASSERT_THAT(doc, IsOk());
  EXPECT_TRUE(Check(*Verifier(p.root()), *doc, later).report.verified);
}

TEST_F(SimProviderTest, RenewalRefusesARootReplacedSinceStart) {
  SimProvider p = Make();
  std::filesystem::remove_all(dir_ / kStateSubdir);
  EXPECT_THAT(p.Renewed(kNow + 60), HasError(ErrorCode::kAttestSimState));
  SimProvider other = Make();  // creates a new root in the same folder
  EXPECT_NE(other.root().Sha256Fingerprint(), p.root().Sha256Fingerprint());
  EXPECT_THAT(p.Renewed(kNow + 60), HasError(ErrorCode::kAttestSimState));
  EXPECT_THAT(p.Renewed(-1), HasError(ErrorCode::kInvalidArgument));
}

TEST_F(SimProviderTest, AttestRejectsBadArguments) {
  SimProvider p = Make();
  AttestationRequest big;
  big.user_data = std::vector<uint8_t>(nitro::kMaxUserDataBytes + 1);
  EXPECT_THAT(p.Attest(big, kNowMs), HasError(ErrorCode::kInvalidArgument));
  EXPECT_THAT(p.Attest({}, uint64_t{kNow + kLeafLifetimeS} * 1000),
              HasError(ErrorCode::kInvalidArgument));
  EXPECT_THAT(SimProvider::Create(dir_, Inputs(), -1), HasError(ErrorCode::kInvalidArgument));
}

TEST_F(SimProviderTest, StateProblemsAreReported) {
  { SimProvider p = Make(); }
  const std::filesystem::path key = dir_ / kStateSubdir / kRootKeyFile;
  const std::filesystem::path cert = dir_ / kStateSubdir / kRootCertFile;
  // A key readable by others is refused.
  ASSERT_EQ(::chmod(key.c_str(), 0644), 0);
  EXPECT_THAT(SimProvider::Create(dir_, Inputs(), kNow), HasError(ErrorCode::kAttestSimState));
  ASSERT_EQ(::chmod(key.c_str(), 0600), 0);
  // After the root's lifetime it is not used.
  EXPECT_THAT(SimProvider::Create(dir_, Inputs(), kNow + kRootLifetimeS + 1),
              HasError(ErrorCode::kAttestSimState));
  // A corrupt certificate file.
  { std::ofstream(cert, std::ios::trunc) << "not a certificate"; }
  EXPECT_THAT(SimProvider::Create(dir_, Inputs(), kNow), HasError(ErrorCode::kAttestSimState));
  // A certificate of another root next to this key.
  const std::filesystem::path other_dir = dir_ / "other";
  ASSERT_THAT(SimProvider::Create(other_dir, Inputs(), kNow), IsOk());
  std::filesystem::copy_file(other_dir / kStateSubdir / kRootCertFile, cert,
                             std::filesystem::copy_options::overwrite_existing);
  EXPECT_THAT(SimProvider::Create(dir_, Inputs(), kNow), HasError(ErrorCode::kAttestSimState));
  // A missing key with a certificate present.
  std::filesystem::remove(key);
  EXPECT_THAT(SimProvider::Create(dir_, Inputs(), kNow), HasError(ErrorCode::kAttestSimState));
}

}  // namespace
}  // namespace eml::attest::sim
