#include "attest/sevsnp/snp_verifier.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "attest/sevsnp/amd_roots.h"
#include "attest/sevsnp/evidence.h"
#include "attest/sevsnp/testing/snp_test_pki.h"
#include "attest/sevsnp/vcek.h"
#include "common/encoding.h"
#include "testing/test_util.h"

namespace eml::attest::sevsnp {
namespace {

using ::eml::testing::HasError;
using ::eml::testing::IsOk;
using ::eml::testing::ReadFileBytes;
using ::eml::testing::ReadFileText;
using ::eml::testing::ReadJson;
using ::eml::testing::SharedVectorPath;
using testing::BaseReport;
using testing::TestPkiSpec;
using testing::TestSnpPki;

constexpr int64_t kRealTime = 1700000000;   // 2023-11-14: inside the real VCEK's validity
constexpr int64_t kTestTime = 1700000000;   // inside the test PKI's 2020-2033 validity
constexpr int64_t kAfterVcek = 1900000000;  // 2030-03: the real VCEK (to 2029-09) has expired

constexpr const char* kAllSteps[] = {"report_structure",
                                     "certificate_table",
                                     "signature_algorithm",
                                     "endorsement_key",
                                     "product",
                                     "certificate_chain",
                                     "report_signature",
                                     "chip_id",
                                     "reported_tcb",
                                     "minimum_tcb",
                                     "debug",
                                     "migration_agent",
                                     "smt",
                                     "vmpl",
                                     "measurement",
                                     "host_data",
                                     "id_key_digest",
                                     "author_key_digest",
                                     "report_data"};

std::vector<uint8_t> RealReport() {
  return ReadFileBytes(SharedVectorPath("sevsnp/go-sev-guest/attestation.bin"));
}
crypto::Certificate RealVcek() {
  Result<crypto::Certificate> cert = crypto::Certificate::FromDer(
      ReadFileBytes(SharedVectorPath("sevsnp/go-sev-guest/vcek.testcer.der")));
  EML_CHECK(cert.has_value());
  return std::move(*cert);
}
// AmdChain returns [ASK, ARK] from one of the vector PEM files.
std::vector<crypto::Certificate> AmdChain(const std::string& file) {
  Result<std::vector<crypto::Certificate>> chain = crypto::Certificate::ParsePemBundle(
      ReadFileText(SharedVectorPath("sevsnp/go-sev-guest/" + file)));
  EML_CHECK(chain.has_value() && chain->size() == 2);
  return std::move(*chain);
}

// Collateral with the chain's ARK pinned, its ASK and the real VCEK.
Collateral RealCollateral(const std::string& chain_file) {
  std::vector<crypto::Certificate> chain = AmdChain(chain_file);
  Collateral c;
  c.intermediates = {chain[0]};
  c.arks = {chain[1]};
  c.endorsement_certs = {RealVcek()};
  return c;
}

Policy DebugAllowed() {
  Policy p;
  p.allow_debug = true;  // The real report's guest policy allows debugging.
  return p;
}

std::unique_ptr<SnpVerifier> MustNew(Collateral c, Policy p) {
  Result<std::unique_ptr<SnpVerifier>> v = SnpVerifier::New(std::move(c), std::move(p));
  EML_CHECK(v.has_value());
  return std::move(*v);
}

const StepResult& Step(const VerificationReport& r, const std::string& name) {
  for (const StepResult& step : r.steps) {
    if (step.name == name) {
      return step;
    }
  }
  ADD_FAILURE() << "no step " << name;
  static const StepResult kMissing;
  return kMissing;
}

void ExpectStepNames(const VerificationReport& r) {
  ASSERT_EQ(r.steps.size(), std::size(kAllSteps));
  for (size_t i = 0; i < r.steps.size(); ++i) {
    EXPECT_EQ(r.steps[i].name, kAllSteps[i]);
  }
}

// ---- The real Milan report ----

TEST(SnpVerifierRealTest, MilanReportVerifies) {
  const auto expected = ReadJson(SharedVectorPath("sevsnp/expected.json"))["attestation.bin"];
  auto verifier = MustNew(RealCollateral("ask_ark_milan.pem"), DebugAllowed());
  Result<Verification> v = verifier->Verify(RealReport(), kRealTime);
  ASSERT_THAT(v, IsOk());
  const VerificationReport& r = v->report;
  ExpectStepNames(r);
  for (const StepResult& step : r.steps) {
    EXPECT_NE(step.status, StepStatus::kFailed) << step.name << ": " << step.detail;
  }
  ASSERT_TRUE(r.verified);
  ASSERT_TRUE(v->evidence.has_value());
  EXPECT_EQ(r.platform, "sev-snp");
  EXPECT_EQ(Step(r, "certificate_table").status, StepStatus::kNotApplicable);
  EXPECT_EQ(Step(r, "chip_id").status, StepStatus::kPassed);
  EXPECT_EQ(HexEncode(r.named_measurements.at("measurement")),
            expected["measurement"].get<std::string>());
  EXPECT_EQ(HexEncode(r.named_measurements.at("host_data")),
            expected["host_data"].get<std::string>());
  EXPECT_EQ(HexEncode(r.named_measurements.at("chip_id")), expected["chip_id"].get<std::string>());
  EXPECT_EQ(HexEncode(r.named_measurements.at("report_data")),
            expected["report_data"].get<std::string>());
  EXPECT_EQ(HexEncode(r.named_measurements.at("id_key_digest")),
            expected["id_key_digest"].get<std::string>());
  EXPECT_EQ(r.attributes.at("product"), "Milan");
  EXPECT_EQ(r.attributes.at("policy"), expected["policy"].get<std::string>());
  EXPECT_EQ(r.attributes.at("vmpl"), "0");
  EXPECT_EQ(r.attributes.at("reported_tcb"), expected["reported_tcb"].get<std::string>());
  EXPECT_EQ(r.attributes.at("signing_key"), "vcek");
  EXPECT_TRUE(r.debug);
  ASSERT_TRUE(r.report_data.has_value());
  EXPECT_EQ(HexEncode(*r.report_data), expected["report_data"].get<std::string>());
  EXPECT_EQ(HexEncode(r.document_sha256), expected["sha256"].get<std::string>());
  EXPECT_EQ(v->evidence->named_measurements(), r.named_measurements);
  EXPECT_TRUE(v->evidence->debug());
  EXPECT_EQ(r.FirstFailure(), ErrorCode::kOk);
}

// The same report with the AMD certificate table appended verifies against the BUILT-IN ARKs,
// with no collateral at all: the self-contained form a guest sends.
TEST(SnpVerifierRealTest, ReportWithCertificateTableVerifiesWithBuiltInArks) {
  std::vector<crypto::Certificate> chain = AmdChain("ask_ark_milan.pem");
  const crypto::Certificate vcek = RealVcek();
  using Entries = std::vector<std::pair<Guid, std::vector<uint8_t>>>;
  const Entries entries = {
      {kVcekGuid, std::vector<uint8_t>(vcek.der().begin(), vcek.der().end())},
      {kAskGuid, std::vector<uint8_t>(chain[0].der().begin(), chain[0].der().end())},
      {kArkGuid, std::vector<uint8_t>(chain[1].der().begin(), chain[1].der().end())}};
  std::vector<uint8_t> evidence = RealReport();
  std::vector<uint8_t> table = SerializeCertTable(entries);
  table.resize(4096 * 2, 0);  // page padding, as the kernel returns it
  evidence.insert(evidence.end(), table.begin(), table.end());
  auto verifier = MustNew(Collateral{}, DebugAllowed());
  Result<Verification> v = verifier->Verify(evidence, kRealTime);
  ASSERT_THAT(v, IsOk());
  EXPECT_TRUE(v->report.verified) << v->report.ToJson();
  EXPECT_EQ(Step(v->report, "certificate_table").status, StepStatus::kPassed);
  // A corrupted table entry fails that step and leaves the chain steps unrun.
  evidence[kReportSize + kCertTableEntrySize * 4 + 5] ^= 0xFF;  // inside the VCEK DER
  v = verifier->Verify(evidence, kRealTime);
  ASSERT_THAT(v, IsOk());
  EXPECT_FALSE(v->report.verified);
  EXPECT_EQ(v->report.FirstFailure(), ErrorCode::kAttestBadCertificate);
  EXPECT_EQ(Step(v->report, "certificate_chain").status, StepStatus::kNotRun);
  // Non-zero padding is a malformed table.
  evidence = RealReport();
  table.back() = 1;
  evidence.insert(evidence.end(), table.begin(), table.end());
  v = verifier->Verify(evidence, kRealTime);
  ASSERT_THAT(v, IsOk());
  EXPECT_EQ(v->report.FirstFailure(), ErrorCode::kSnpCertTableMalformed);
}

TEST(SnpVerifierRealTest, DebugGuestFailsWithoutAllowDebug) {
  auto verifier = MustNew(RealCollateral("ask_ark_milan.pem"), Policy{});
  Result<Verification> v = verifier->Verify(RealReport(), kRealTime);
  ASSERT_THAT(v, IsOk());
  EXPECT_FALSE(v->report.verified);
  EXPECT_FALSE(v->evidence.has_value());
  EXPECT_EQ(v->report.FirstFailure(), ErrorCode::kAttestDebugMode);
  EXPECT_EQ(Step(v->report, "report_signature").status, StepStatus::kPassed);
}

TEST(SnpVerifierRealTest, FailsWithGenoaChain) {
  auto verifier = MustNew(RealCollateral("ask_ark_genoa.pem"), DebugAllowed());
  Result<Verification> v = verifier->Verify(RealReport(), kRealTime);
  ASSERT_THAT(v, IsOk());
  EXPECT_FALSE(v->report.verified);
  EXPECT_EQ(v->report.FirstFailure(), ErrorCode::kSnpProductMismatch);
  EXPECT_EQ(Step(v->report, "product").code, ErrorCode::kSnpProductMismatch);
  EXPECT_EQ(Step(v->report, "certificate_chain").code, ErrorCode::kX509Untrusted);
}

TEST(SnpVerifierRealTest, FailsWithTurinChain) {
  auto verifier = MustNew(RealCollateral("ask_ark_turin_vcek.pem"), DebugAllowed());
  Result<Verification> v = verifier->Verify(RealReport(), kRealTime);
  ASSERT_THAT(v, IsOk());
  EXPECT_FALSE(v->report.verified);
  EXPECT_EQ(Step(v->report, "product").code, ErrorCode::kSnpProductMismatch);
  EXPECT_EQ(Step(v->report, "certificate_chain").code, ErrorCode::kX509Untrusted);
}

// The Milan VLEK chain's ASVK cannot stand in for the ASK of a VCEK.
TEST(SnpVerifierRealTest, FailsWithMilanVlekChain) {
  auto verifier = MustNew(RealCollateral("ask_ark_milan_vlek.pem"), DebugAllowed());
  Result<Verification> v = verifier->Verify(RealReport(), kRealTime);
  ASSERT_THAT(v, IsOk());
  EXPECT_EQ(Step(v->report, "product").code, ErrorCode::kSnpProductMismatch);
  EXPECT_EQ(Step(v->report, "certificate_chain").code, ErrorCode::kX509Untrusted);
}

TEST(SnpVerifierRealTest, FlippedBitInSignedRegion) {
  auto verifier = MustNew(RealCollateral("ask_ark_milan.pem"), DebugAllowed());
  // report_data, measurement, chip_id, the last byte of launch_tcb (later bytes are reserved).
  for (size_t offset : {size_t{0x50}, size_t{0x90}, size_t{0x1A0}, size_t{0x1F7}}) {
    std::vector<uint8_t> bytes = RealReport();
    bytes[offset] ^= 0x01;
    Result<Verification> v = verifier->Verify(bytes, kRealTime);
    ASSERT_THAT(v, IsOk());
    EXPECT_FALSE(v->report.verified) << offset;
    EXPECT_EQ(Step(v->report, "report_signature").code, ErrorCode::kSnpSignatureInvalid) << offset;
  }
  // A flip inside the chip id also breaks the binding to the VCEK's hwID.
  std::vector<uint8_t> bytes = RealReport();
  bytes[0x1A0] ^= 0x01;
  Result<Verification> v = verifier->Verify(bytes, kRealTime);
  ASSERT_THAT(v, IsOk());
  EXPECT_EQ(Step(v->report, "chip_id").code, ErrorCode::kSnpChipIdMismatch);
  // A flip in r.
  bytes = RealReport();
  bytes[0x2A0] ^= 0x01;
  v = verifier->Verify(bytes, kRealTime);
  ASSERT_THAT(v, IsOk());
  EXPECT_EQ(v->report.FirstFailure(), ErrorCode::kSnpSignatureInvalid);
}

TEST(SnpVerifierRealTest, ExpiredVcekAtLaterTime) {
  auto verifier = MustNew(RealCollateral("ask_ark_milan.pem"), DebugAllowed());
  Result<Verification> v = verifier->Verify(RealReport(), kAfterVcek);
  ASSERT_THAT(v, IsOk());
  EXPECT_FALSE(v->report.verified);
  EXPECT_EQ(v->report.FirstFailure(), ErrorCode::kX509Expired);
  // Before the VCEK was issued (2022-09-24).
  v = verifier->Verify(RealReport(), 1640995200);  // 2022-01-01
  ASSERT_THAT(v, IsOk());
  EXPECT_EQ(v->report.FirstFailure(), ErrorCode::kX509NotYetValid);
}

TEST(SnpVerifierRealTest, NoVcekForBareReport) {
  Collateral c = RealCollateral("ask_ark_milan.pem");
  c.endorsement_certs.clear();
  auto verifier = MustNew(std::move(c), DebugAllowed());
  Result<Verification> v = verifier->Verify(RealReport(), kRealTime);
  ASSERT_THAT(v, IsOk());
  EXPECT_EQ(v->report.FirstFailure(), ErrorCode::kSnpMissingEndorsementKey);
  EXPECT_EQ(Step(v->report, "certificate_chain").status, StepStatus::kNotRun);
  // The policy steps still ran on the parsed report.
  EXPECT_EQ(Step(v->report, "debug").status, StepStatus::kPassed);
}

TEST(SnpVerifierRealTest, PinsAndReportData) {
  const auto expected = ReadJson(SharedVectorPath("sevsnp/expected.json"))["attestation.bin"];
  Policy p = DebugAllowed();
  p.measurement = *HexDecode(expected["measurement"].get<std::string>());
  p.host_data = std::vector<uint8_t>(32, 0);
  p.id_key_digest = std::vector<uint8_t>(48, 0);
  p.expected_report_data = *HexDecode(expected["report_data"].get<std::string>());
  p.required_vmpl = 0;
  p.minimum_tcb = TcbVersion{0, 2, 0, 5, 68};
  auto verifier = MustNew(RealCollateral("ask_ark_milan.pem"), p);
  Result<Verification> v = verifier->Verify(RealReport(), kRealTime);
  ASSERT_THAT(v, IsOk());
  EXPECT_TRUE(v->report.verified) << v->report.ToJson();
  EXPECT_EQ(Step(v->report, "measurement").status, StepStatus::kPassed);
  EXPECT_EQ(Step(v->report, "minimum_tcb").status, StepStatus::kPassed);

  Policy wrong = p;
  (*wrong.measurement)[0] ^= 1;
  v = MustNew(RealCollateral("ask_ark_milan.pem"), wrong)->Verify(RealReport(), kRealTime);
  ASSERT_THAT(v, IsOk());
  EXPECT_EQ(v->report.FirstFailure(), ErrorCode::kAttestMeasurementMismatch);
  wrong = p;
  (*wrong.host_data)[31] = 1;
  v = MustNew(RealCollateral("ask_ark_milan.pem"), wrong)->Verify(RealReport(), kRealTime);
  ASSERT_THAT(v, IsOk());
  EXPECT_EQ(Step(v->report, "host_data").code, ErrorCode::kAttestMeasurementMismatch);
  wrong = p;
  (*wrong.expected_report_data)[5] = 1;
  v = MustNew(RealCollateral("ask_ark_milan.pem"), wrong)->Verify(RealReport(), kRealTime);
  ASSERT_THAT(v, IsOk());
  EXPECT_EQ(v->report.FirstFailure(), ErrorCode::kSnpReportDataMismatch);
  wrong = p;
  wrong.required_vmpl = 1;
  v = MustNew(RealCollateral("ask_ark_milan.pem"), wrong)->Verify(RealReport(), kRealTime);
  ASSERT_THAT(v, IsOk());
  EXPECT_EQ(v->report.FirstFailure(), ErrorCode::kSnpVmplMismatch);
  wrong = p;
  wrong.minimum_tcb = TcbVersion{0, 2, 0, 5, 69};  // microcode 69 > 68
  v = MustNew(RealCollateral("ask_ark_milan.pem"), wrong)->Verify(RealReport(), kRealTime);
  ASSERT_THAT(v, IsOk());
  EXPECT_EQ(v->report.FirstFailure(), ErrorCode::kSnpTcbTooLow);
  wrong = p;
  wrong.allow_smt = false;  // the real guest policy allows SMT
  v = MustNew(RealCollateral("ask_ark_milan.pem"), wrong)->Verify(RealReport(), kRealTime);
  ASSERT_THAT(v, IsOk());
  EXPECT_EQ(v->report.FirstFailure(), ErrorCode::kSnpSmtNotAllowed);
}

TEST(SnpVerifierRealTest, MalformedEvidence) {
  auto verifier = MustNew(RealCollateral("ask_ark_milan.pem"), DebugAllowed());
  std::vector<uint8_t> bytes = RealReport();
  bytes.resize(100);
  Result<Verification> v = verifier->Verify(bytes, kRealTime);
  ASSERT_THAT(v, IsOk());
  ExpectStepNames(v->report);
  EXPECT_EQ(v->report.FirstFailure(), ErrorCode::kSnpReportMalformed);
  EXPECT_EQ(v->report.steps.back().status, StepStatus::kNotRun);
  bytes = RealReport();
  bytes[0] = 9;
  v = verifier->Verify(bytes, kRealTime);
  ASSERT_THAT(v, IsOk());
  EXPECT_EQ(v->report.FirstFailure(), ErrorCode::kSnpUnsupportedVersion);
  bytes = RealReport();
  bytes[0x34] = 2;  // signature_algo
  v = verifier->Verify(bytes, kRealTime);
  ASSERT_THAT(v, IsOk());
  EXPECT_EQ(v->report.FirstFailure(), ErrorCode::kAttestBadAlgorithm);
  EXPECT_THAT(verifier->Verify(RealReport(), -1), HasError(ErrorCode::kInvalidArgument));
}

TEST(SnpVerifierNewTest, RejectsBadPolicy) {
  Policy p;
  p.measurement = std::vector<uint8_t>(47, 0);
  EXPECT_THAT(SnpVerifier::New(Collateral{}, p), HasError(ErrorCode::kAttestBadPolicy));
  p = Policy{};
  p.expected_report_data = std::vector<uint8_t>(32, 0);
  EXPECT_THAT(SnpVerifier::New(Collateral{}, p), HasError(ErrorCode::kAttestBadPolicy));
  p = Policy{};
  p.required_vmpl = 4;
  EXPECT_THAT(SnpVerifier::New(Collateral{}, p), HasError(ErrorCode::kAttestBadPolicy));
  Collateral c;
  c.arks = {RealVcek()};  // not an ARK
  EXPECT_THAT(SnpVerifier::New(c, Policy{}), HasError(ErrorCode::kAttestBadPolicy));
  Result<std::unique_ptr<SnpVerifier>> defaults = SnpVerifier::New(Collateral{}, Policy{});
  ASSERT_THAT(defaults, IsOk());
  EXPECT_EQ((*defaults)->collateral().arks.size(), 3u);
}

TEST(SnpAmdRootsTest, BuiltInArksMatchVectors) {
  const auto fingerprints = ReadJson(SharedVectorPath("sevsnp/expected.json"))["ark_ask_sha256"];
  Result<std::vector<crypto::Certificate>> arks = BuiltInArks();
  ASSERT_THAT(arks, IsOk());
  ASSERT_EQ(arks->size(), 3u);
  EXPECT_EQ(HexEncode((*arks)[0].Sha256Fingerprint()),
            fingerprints["ask_ark_milan.pem"]["ARK-Milan"].get<std::string>());
  EXPECT_EQ(HexEncode((*arks)[1].Sha256Fingerprint()),
            fingerprints["ask_ark_genoa.pem"]["ARK-Genoa"].get<std::string>());
  EXPECT_EQ(HexEncode((*arks)[2].Sha256Fingerprint()),
            fingerprints["ask_ark_turin_vcek.pem"]["ARK-Turin"].get<std::string>());
  EXPECT_EQ((*arks)[2].SubjectCommonName(), "ARK-Turin");
}

TEST(SnpVcekTest, RealVcekExtensions) {
  Result<EndorsementInfo> info = ReadEndorsementExtensions(RealVcek());
  ASSERT_THAT(info, IsOk());
  EXPECT_EQ(info->product, Product::kMilan);
  EXPECT_EQ(info->product_name, "Milan-B0");
  EXPECT_EQ(info->tcb, (TcbVersion{0, 2, 0, 5, 68}));
  ASSERT_TRUE(info->hwid.has_value());
  EXPECT_EQ(info->hwid->size(), 64u);
}

// ---- Synthetic chains: every step's failure with test keys ----

class SnpSyntheticTest : public ::testing::Test {
 protected:
  static Collateral CollateralFor(const TestSnpPki& pki) {
    Collateral c;
    c.arks = {pki.ark()};
    c.intermediates = {pki.ask()};
    c.endorsement_certs = {pki.endorsement()};
    return c;
  }
  static Result<Verification> Run(const TestSnpPki& pki, const std::vector<uint8_t>& evidence,
                                  Policy policy = Policy{}, int64_t time = kTestTime) {
    return MustNew(CollateralFor(pki), std::move(policy))->Verify(evidence, time);
  }
};

TEST_F(SnpSyntheticTest, GoodReportVerifies) {
  const TestPkiSpec spec;
  const TestSnpPki pki = TestSnpPki::Create(spec);
  Result<Verification> v = Run(pki, pki.SignReport(BaseReport(spec)));
  ASSERT_THAT(v, IsOk());
  EXPECT_TRUE(v->report.verified) << v->report.ToJson();
  EXPECT_FALSE(v->report.debug);
}

TEST_F(SnpSyntheticTest, DebugGuestUnderProductionPolicy) {
  const TestPkiSpec spec;
  const TestSnpPki pki = TestSnpPki::Create(spec);
  AttestationReport report = BaseReport(spec);
  report.policy |= kPolicyDebug;
  const std::vector<uint8_t> evidence = pki.SignReport(report);
  Result<Verification> v = Run(pki, evidence);
  ASSERT_THAT(v, IsOk());
  EXPECT_EQ(v->report.FirstFailure(), ErrorCode::kAttestDebugMode);
  EXPECT_TRUE(v->report.debug);
  Policy allow;
  allow.allow_debug = true;
  v = Run(pki, evidence, allow);
  ASSERT_THAT(v, IsOk());
  EXPECT_TRUE(v->report.verified);
}

TEST_F(SnpSyntheticTest, MigrationAgent) {
  const TestPkiSpec spec;
  const TestSnpPki pki = TestSnpPki::Create(spec);
  AttestationReport report = BaseReport(spec);
  report.policy |= kPolicyMigrateMa;
  const std::vector<uint8_t> evidence = pki.SignReport(report);
  Result<Verification> v = Run(pki, evidence);
  ASSERT_THAT(v, IsOk());
  EXPECT_EQ(v->report.FirstFailure(), ErrorCode::kSnpMigrationAgent);
  Policy allow;
  allow.allow_migration_agent = true;
  v = Run(pki, evidence, allow);
  ASSERT_THAT(v, IsOk());
  EXPECT_TRUE(v->report.verified);
}

// A validly signed report whose chip_id is not the VCEK's hwID (a VCEK of another chip).
TEST_F(SnpSyntheticTest, ChipIdOfAnotherChip) {
  const TestPkiSpec spec;
  const TestSnpPki pki = TestSnpPki::Create(spec);
  AttestationReport report = BaseReport(spec);
  report.chip_id.fill(0x7E);
  Result<Verification> v = Run(pki, pki.SignReport(report));
  ASSERT_THAT(v, IsOk());
  EXPECT_EQ(v->report.FirstFailure(), ErrorCode::kSnpChipIdMismatch);
  EXPECT_EQ(Step(v->report, "report_signature").status, StepStatus::kPassed);
}

TEST_F(SnpSyntheticTest, ReportedTcbDiffersFromVcek) {
  const TestPkiSpec spec;
  const TestSnpPki pki = TestSnpPki::Create(spec);
  AttestationReport report = BaseReport(spec);
  TcbVersion other = spec.tcb;
  other.snp += 1;
  report.reported_tcb = EncodeTcb(other, Product::kMilan);
  Result<Verification> v = Run(pki, pki.SignReport(report));
  ASSERT_THAT(v, IsOk());
  EXPECT_EQ(v->report.FirstFailure(), ErrorCode::kSnpTcbMismatch);
}

TEST_F(SnpSyntheticTest, ExpiredChainAtVerificationTime) {
  TestPkiSpec spec;
  spec.vcek_not_after_unix = 1650000000;  // 2022-04-15, before kTestTime
  const TestSnpPki pki = TestSnpPki::Create(spec);
  Result<Verification> v = Run(pki, pki.SignReport(BaseReport(spec)));
  ASSERT_THAT(v, IsOk());
  EXPECT_EQ(v->report.FirstFailure(), ErrorCode::kX509Expired);
  // The same evidence checked at a time inside the validity passes (archived evidence).
  v = Run(pki, pki.SignReport(BaseReport(spec)), Policy{}, 1640000000);
  ASSERT_THAT(v, IsOk());
  EXPECT_TRUE(v->report.verified) << v->report.ToJson();
}

// A chain with the right names under a root that is not pinned.
TEST_F(SnpSyntheticTest, WrongRoot) {
  TestPkiSpec spec;
  spec.ark_key_slot = 1;
  const TestSnpPki impostor = TestSnpPki::Create(spec);
  const TestSnpPki genuine = TestSnpPki::Create(TestPkiSpec{});
  Collateral c = SnpSyntheticTest::CollateralFor(impostor);
  c.arks = {genuine.ark()};
  Result<Verification> v =
      MustNew(c, Policy{})->Verify(impostor.SignReport(BaseReport(spec)), kTestTime);
  ASSERT_THAT(v, IsOk());
  EXPECT_EQ(Step(v->report, "product").status, StepStatus::kPassed);
  EXPECT_EQ(v->report.FirstFailure(), ErrorCode::kX509Untrusted);
  // And against the real AMD ARKs.
  c.arks.clear();
  v = MustNew(c, Policy{})->Verify(impostor.SignReport(BaseReport(spec)), kTestTime);
  ASSERT_THAT(v, IsOk());
  EXPECT_FALSE(v->report.verified);
  EXPECT_EQ(Step(v->report, "certificate_chain").code, ErrorCode::kX509Untrusted);
}

TEST_F(SnpSyntheticTest, SignedByAnotherKey) {
  const TestPkiSpec spec;
  const TestSnpPki pki = TestSnpPki::Create(spec);
  const TestSnpPki other = TestSnpPki::Create(spec);  // same CA keys, a fresh VCEK key
  Result<Verification> v = Run(pki, other.SignReport(BaseReport(spec)));
  ASSERT_THAT(v, IsOk());
  EXPECT_EQ(v->report.FirstFailure(), ErrorCode::kSnpSignatureInvalid);
}

TEST_F(SnpSyntheticTest, MalformedVcekExtension) {
  TestPkiSpec spec;
  spec.omit_bl_spl = true;
  const TestSnpPki pki = TestSnpPki::Create(spec);
  Result<Verification> v = Run(pki, pki.SignReport(BaseReport(spec)));
  ASSERT_THAT(v, IsOk());
  EXPECT_EQ(v->report.FirstFailure(), ErrorCode::kSnpBadEndorsementCert);
  spec = TestPkiSpec{};
  spec.product_name = "Naples-B0";
  const TestSnpPki naples = TestSnpPki::Create(spec);
  v = Run(naples, naples.SignReport(BaseReport(spec)));
  ASSERT_THAT(v, IsOk());
  EXPECT_EQ(v->report.FirstFailure(), ErrorCode::kSnpBadEndorsementCert);
}

TEST_F(SnpSyntheticTest, UnsignedReport) {
  const TestPkiSpec spec;
  const TestSnpPki pki = TestSnpPki::Create(spec);
  AttestationReport report = BaseReport(spec);
  report.signing_key = kSigningKeyNone;
  Result<Verification> v = Run(pki, SerializeReport(report));
  ASSERT_THAT(v, IsOk());
  EXPECT_EQ(v->report.FirstFailure(), ErrorCode::kSnpMissingEndorsementKey);
}

// VLEK-signed reports chain through "SEV-VLEK-<product>" and have no chip binding.
TEST_F(SnpSyntheticTest, VlekReport) {
  TestPkiSpec spec;
  spec.vlek = true;
  const TestSnpPki pki = TestSnpPki::Create(spec);
  Result<Verification> v = Run(pki, pki.SignReport(BaseReport(spec)));
  ASSERT_THAT(v, IsOk());
  EXPECT_TRUE(v->report.verified) << v->report.ToJson();
  EXPECT_EQ(Step(v->report, "chip_id").status, StepStatus::kNotApplicable);
  EXPECT_EQ(v->report.attributes.at("signing_key"), "vlek");
  // A VCEK report cannot be checked with only a VLEK available.
  AttestationReport as_vcek = BaseReport(spec);
  as_vcek.signing_key = kSigningKeyVcek;
  v = Run(pki, pki.SignReport(as_vcek));
  ASSERT_THAT(v, IsOk());
  EXPECT_EQ(v->report.FirstFailure(), ErrorCode::kSnpMissingEndorsementKey);
}

// Turin: TCB with FMC, fmcSPL extension; a Turin VCEK under a Milan-named chain is refused.
TEST_F(SnpSyntheticTest, TurinAndProductMismatch) {
  TestPkiSpec spec;
  spec.product = "Turin";
  spec.product_name = "Turin-C0";
  spec.tcb_product = Product::kTurin;
  spec.tcb = TcbVersion{1, 2, 3, 4, 5};
  const TestSnpPki pki = TestSnpPki::Create(spec);
  AttestationReport report = BaseReport(spec);
  report.version = 3;
  report.cpuid_fam_id = 0x1A;
  Result<Verification> v = Run(pki, pki.SignReport(report));
  ASSERT_THAT(v, IsOk());
  EXPECT_TRUE(v->report.verified) << v->report.ToJson();
  EXPECT_EQ(v->report.attributes.at("product"), "Turin");
  Policy min;
  min.minimum_tcb = TcbVersion{2, 2, 3, 4, 5};  // FMC 2 > 1
  v = Run(pki, pki.SignReport(report), min);
  ASSERT_THAT(v, IsOk());
  EXPECT_EQ(v->report.FirstFailure(), ErrorCode::kSnpTcbTooLow);

  TestPkiSpec mixed = spec;
  mixed.product = "Milan";  // ARK-Milan / SEV-Milan names over a Turin VCEK
  const TestSnpPki wrong = TestSnpPki::Create(mixed);
  v = Run(wrong, wrong.SignReport(report));
  ASSERT_THAT(v, IsOk());
  EXPECT_EQ(v->report.FirstFailure(), ErrorCode::kSnpProductMismatch);
}

}  // namespace
}  // namespace eml::attest::sevsnp
