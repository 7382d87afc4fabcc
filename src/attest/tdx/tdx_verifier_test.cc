#include "attest/tdx/tdx_verifier.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "attest/tdx/intel_root.h"
#include "attest/tdx/quote.h"
#include "attest/tdx/testing/tdx_test_pki.h"
#include "common/encoding.h"
#include "testing/test_util.h"

namespace eml::attest::tdx {
namespace {

namespace fs = std::filesystem;
using ::eml::testing::HasError;
using ::eml::testing::ReadFileBytes;
using ::eml::testing::ReadFileText;
using ::eml::testing::ReadJson;
using ::eml::testing::SharedVectorPath;
using testing::PkiSpec;
using testing::TestPki;

constexpr char kSpr[] = "go-tdx-guest/tdx_prod_quote_SPR_E4.dat";
constexpr char kCcel[] = "go-tdx-guest/ccel-cos-113-tdx-quote.dat";
constexpr char kV5[] = "go-tdx-guest/quote_v5_sample.dat";
constexpr int64_t kSampleTime = 1688000000;     // 2023-06-29: the sample collateral is current
constexpr int64_t kStaleTime = 1691000000;      // 2023-08-02: tcbInfo, QE identity, CRL stale
constexpr int64_t kSyntheticTime = 1700000000;  // inside the synthetic PKI's validity

const std::vector<std::string> kAuthenticitySteps = {
    "quote_structure", "pck_certificates",    "pck_chain",
    "pck_revocation",  "qe_report_signature", "qe_report_data",
    "quote_signature", "pck_extensions",      "tcb_info",
    "qe_identity",     "tdx_module"};
const std::vector<std::string> kAllSteps = {
    "quote_structure", "pck_certificates",    "pck_chain",
    "pck_revocation",  "qe_report_signature", "qe_report_data",
    "quote_signature", "pck_extensions",      "tcb_info",
    "qe_identity",     "tdx_module",          "tcb_status",
    "debug_mode",      "measurements",        "report_data"};

std::vector<uint8_t> Vec(const std::string& name) {
  return ReadFileBytes(SharedVectorPath("tdx/" + name));
}
std::string Text(const std::string& name) { return ReadFileText(SharedVectorPath("tdx/" + name)); }

crypto::Certificate Cert(std::span<const uint8_t> der) {
  Result<crypto::Certificate> cert = crypto::Certificate::FromDer(der);
  EML_CHECK(cert.has_value());
  return std::move(*cert);
}
crypto::Crl Crl(std::span<const uint8_t> der) {
  Result<crypto::Crl> crl = crypto::Crl::FromDer(der);
  EML_CHECK(crl.has_value());
  return std::move(*crl);
}

crypto::Certificate IntelRoot() {
  Result<crypto::Certificate> root = IntelSgxRootCa();
  EML_CHECK(root.has_value());
  return std::move(*root);
}

Collateral SampleCollateral() {
  Collateral c;
  c.tcb_info_responses = {Text("go-tdx-guest/sample_tcbInfo_response"),
                          Text("go-tdx-guest/sample_tcbinfo_response_v5")};
  c.qe_identity_response = Text("go-tdx-guest/sample_qeIdentity_response");
  Result<std::vector<crypto::Certificate>> chain =
      crypto::Certificate::ParsePemBundle(Text("go-tdx-guest/tcb_info_issuer_chain.pem"));
  EML_CHECK(chain.has_value());
  c.tcb_signing_chain = std::move(*chain);
  c.crls = {Crl(Vec("go-tdx-guest/pckcrl")), Crl(Vec("go-tdx-guest/rootcrl.der"))};
  return c;
}

std::unique_ptr<TdxVerifier> MakeVerifier(Collateral collateral, Policy policy = {},
                                          std::optional<crypto::Certificate> root = {}) {
  Result<std::unique_ptr<TdxVerifier>> v = TdxVerifier::New(
      root.has_value() ? std::move(*root) : IntelRoot(), std::move(collateral), std::move(policy));
  EML_CHECK(v.has_value());
  return std::move(*v);
}

Verification VerifyAt(const TdxVerifier& v, std::span<const uint8_t> quote, int64_t time) {
  Result<Verification> r = v.Verify(quote, time);
  EML_CHECK(r.has_value());
  EXPECT_EQ(r->report.verified, r->evidence.has_value());
  return std::move(*r);
}

const StepResult& Step(const Verification& v, const std::string& name) {
  for (const StepResult& step : v.report.steps) {
    if (step.name == name) {
      return step;
    }
  }
  ADD_FAILURE() << "no step " << name;
  static const StepResult kNone;
  return kNone;
}

void ExpectPassed(const Verification& v, const std::vector<std::string>& names) {
  for (const std::string& name : names) {
    EXPECT_EQ(Step(v, name).status, StepStatus::kPassed)
        << name << ": " << ErrorCodeName(Step(v, name).code) << " " << Step(v, name).detail;
  }
}

void ExpectFailed(const Verification& v, const std::string& name, ErrorCode code) {
  EXPECT_EQ(Step(v, name).status, StepStatus::kFailed) << name;
  EXPECT_EQ(Step(v, name).code, code)
      << name << ": got " << ErrorCodeName(Step(v, name).code) << " " << Step(v, name).detail;
  EXPECT_FALSE(v.report.verified);
}

std::vector<std::string> StepNames(const Verification& v) {
  std::vector<std::string> names;
  for (const StepResult& step : v.report.steps) {
    names.push_back(step.name);
  }
  return names;
}

// --- The real SPR_E4 quote with Intel's sample collateral --------------------------------------

TEST(TdxVerifierTest, SprQuoteIsAuthenticButItsTcbIsNotSupported) {
  auto v = MakeVerifier(SampleCollateral());
  const std::vector<uint8_t> quote = Vec(kSpr);
  Verification r = VerifyAt(*v, quote, kSampleTime);
  EXPECT_EQ(StepNames(r), kAllSteps);
  ExpectPassed(r, kAuthenticitySteps);
  ExpectPassed(r, {"debug_mode"});
  ExpectFailed(r, "tcb_status", ErrorCode::kTdxTcbStatusNotAllowed);
  EXPECT_EQ(r.report.tcb_status, "NotSupported");
  EXPECT_EQ(r.report.attributes.at("platform_tcb_status"), "NotSupported");
  EXPECT_EQ(r.report.attributes.at("qe_identity_status"), "UpToDate");
  EXPECT_EQ(r.report.attributes.at("fmspc"), "50806f000000");
  EXPECT_EQ(r.report.attributes.at("pce_id"), "0000");
  EXPECT_EQ(r.report.attributes.at("tee_type"), "tdx");
  EXPECT_EQ(r.report.attributes.at("version"), "4");
  EXPECT_EQ(r.report.attributes.count("tcb_date"), 0u);  // no level matched
  EXPECT_EQ(Step(r, "measurements").status, StepStatus::kNotApplicable);
  EXPECT_EQ(Step(r, "report_data").status, StepStatus::kNotApplicable);
  EXPECT_EQ(r.report.platform, "tdx");
  EXPECT_FALSE(r.evidence.has_value());
}

TEST(TdxVerifierTest, SprQuoteReportCarriesTheDecodedClaims) {
  const nlohmann::json want = ReadJson(SharedVectorPath("tdx/expected.json"))["quotes"][kSpr];
  auto v = MakeVerifier(SampleCollateral());
  Verification r = VerifyAt(*v, Vec(kSpr), kSampleTime);
  const auto& m = r.report.named_measurements;
  EXPECT_EQ(HexEncode(m.at("mrtd")), want["mrtd"]);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(HexEncode(m.at("rtmr" + std::to_string(i))), want["rtmr" + std::to_string(i)]);
  }
  EXPECT_EQ(HexEncode(m.at("mrseam")), want["mrseam"]);
  for (const char* name : {"mrconfigid", "mrowner", "mrownerconfig", "mrsignerseam"}) {
    EXPECT_EQ(m.at(name).size(), 48u) << name;
  }
  ASSERT_TRUE(r.report.report_data.has_value());
  EXPECT_EQ(HexEncode(*r.report.report_data), want["report_data"]);
  EXPECT_EQ(r.report.attributes.at("td_attributes"), want["td_attributes"]);
  EXPECT_EQ(r.report.attributes.at("xfam"), want["xfam"]);
  EXPECT_EQ(r.report.attributes.at("tee_tcb_svn"), want["tee_tcb_svn"]);
  EXPECT_FALSE(r.report.debug);
}

TEST(TdxVerifierTest, SprQuoteVerifiesUnderAPolicyThatAcceptsNotSupported) {
  Policy policy;
  policy.allowed_tcb_statuses = {TcbStatus::kUpToDate, TcbStatus::kNotSupported};
  const std::vector<uint8_t> quote = Vec(kSpr);
  Result<ParsedQuote> parsed = ParseQuote(quote);
  ASSERT_TRUE(parsed.has_value());
  policy.measurement_pins["mrtd"].assign(parsed->body.mrtd.begin(), parsed->body.mrtd.end());
  policy.measurement_pins["rtmr0"].assign(parsed->body.rtmr[0].begin(), parsed->body.rtmr[0].end());
  policy.expected_report_data.emplace(parsed->body.report_data.begin(),
                                      parsed->body.report_data.end());
  auto v = MakeVerifier(SampleCollateral(), policy);
  Verification r = VerifyAt(*v, quote, kSampleTime);
  ExpectPassed(r, kAllSteps);
  ASSERT_TRUE(r.report.verified);
  ASSERT_TRUE(r.evidence.has_value());
  EXPECT_EQ(r.evidence->platform(), "tdx");
  EXPECT_EQ(r.evidence->tcb_status(), "NotSupported");
  EXPECT_EQ(r.evidence->named_measurements().at("mrtd"), policy.measurement_pins["mrtd"]);
  EXPECT_EQ(r.evidence->report_data(), policy.expected_report_data);
}

TEST(TdxVerifierTest, CollateralFromADirectoryGivesTheSameResult) {
  const fs::path dir = fs::path(::testing::TempDir()) / "tdx-collateral";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const fs::path src = SharedVectorPath("tdx/go-tdx-guest");
  fs::copy_file(src / "sample_tcbInfo_response", dir / "tcb_info_50806f000000.json");
  fs::copy_file(src / "sample_qeIdentity_response", dir / "qe_identity.json");
  fs::copy_file(src / "tcb_info_issuer_chain.pem", dir / "tcb_signing_chain.pem");
  fs::copy_file(src / "pckcrl", dir / "pck_platform.crl.der");
  fs::copy_file(src / "rootcrl.der", dir / "root_ca.crl.der");
  Result<Collateral> collateral = LoadCollateralDirectory(dir);
  ASSERT_TRUE(collateral.has_value()) << ToString(collateral.error());
  EXPECT_EQ(collateral->crls.size(), 2u);
  Verification r = VerifyAt(*MakeVerifier(std::move(*collateral)), Vec(kSpr), kSampleTime);
  ExpectPassed(r, kAuthenticitySteps);
  EXPECT_EQ(r.report.tcb_status, "NotSupported");

  fs::remove(dir / "qe_identity.json");
  EXPECT_THAT(LoadCollateralDirectory(dir), HasError(ErrorCode::kTdxCollateralMissing));
  EXPECT_THAT(LoadCollateralDirectory(dir / "absent"), HasError(ErrorCode::kIoError));
}

TEST(TdxVerifierTest, StaleCollateralFails) {
  auto v = MakeVerifier(SampleCollateral());
  Verification r = VerifyAt(*v, Vec(kSpr), kStaleTime);
  ExpectPassed(r, {"quote_structure", "pck_chain", "qe_report_signature", "qe_report_data",
                   "quote_signature"});
  ExpectFailed(r, "tcb_info", ErrorCode::kTdxCollateralExpired);
  ExpectFailed(r, "qe_identity", ErrorCode::kTdxCollateralExpired);
  ExpectFailed(r, "pck_revocation", ErrorCode::kX509Expired);  // PCK CRL past nextUpdate
  EXPECT_EQ(r.report.tcb_status, "NotSupported");  // the SVN comparison does not depend on time
}

TEST(TdxVerifierTest, TcbInfoFromTheFutureFails) {
  auto v = MakeVerifier(SampleCollateral());
  Verification r = VerifyAt(*v, Vec(kSpr), 1687000000);  // 2023-06-17, tcbInfo issued 2023-06-18
  ExpectPassed(r, {"pck_chain", "pck_revocation", "qe_identity"});
  ExpectFailed(r, "tcb_info", ErrorCode::kTdxCollateralNotYetValid);
}

TEST(TdxVerifierTest, PckChainExpiredAtTheVerificationTime) {
  auto v = MakeVerifier(SampleCollateral());
  Verification r = VerifyAt(*v, Vec(kSpr), 1900000000);  // 2030, the PCK leaf ended 2029-09-20
  ExpectFailed(r, "pck_chain", ErrorCode::kX509Expired);
}

TEST(TdxVerifierTest, WrongRootFails) {
  TestPki pki = TestPki::Create();
  auto v = MakeVerifier(SampleCollateral(), {}, Cert(pki.root_der()));
  Verification r = VerifyAt(*v, Vec(kSpr), kSampleTime);
  ExpectPassed(r, {"quote_signature", "qe_report_signature", "qe_report_data"});
  ExpectFailed(r, "pck_chain", ErrorCode::kX509Untrusted);
  ExpectFailed(r, "tcb_info", ErrorCode::kX509Untrusted);  // TCB signer chains to Intel only
}

// --- Flipped bits in each signed region --------------------------------------------------------

struct Flip {
  const char* what;
  size_t offset;
  const char* step;
  ErrorCode code;
};

TEST(TdxVerifierTest, FlippedBitInEachSignedRegionFails) {
  constexpr size_t kBody = 48;
  constexpr size_t kSig = 632 + 4;
  constexpr size_t kKey = kSig + 64;
  constexpr size_t kQeReport = kKey + 64 + 6;
  constexpr size_t kQeSig = kQeReport + 384;
  constexpr size_t kAuth = kQeSig + 64 + 2;
  const Flip flips[] = {
      {"header user_data", 30, "quote_signature", ErrorCode::kTdxQuoteSignatureInvalid},
      {"body mrtd", kBody + 136 + 5, "quote_signature", ErrorCode::kTdxQuoteSignatureInvalid},
      {"body report_data", kBody + 520 + 63, "quote_signature",
       ErrorCode::kTdxQuoteSignatureInvalid},
      {"quote signature", kSig + 10, "quote_signature", ErrorCode::kTdxQuoteSignatureInvalid},
      {"attestation key", kKey + 40, "qe_report_data", ErrorCode::kTdxQeReportDataMismatch},
      {"QE report cpusvn", kQeReport + 1, "qe_report_signature",
       ErrorCode::kTdxQeReportSignatureInvalid},
      {"QE report data", kQeReport + 320 + 3, "qe_report_signature",
       ErrorCode::kTdxQeReportSignatureInvalid},
      {"QE report signature", kQeSig + 33, "qe_report_signature",
       ErrorCode::kTdxQeReportSignatureInvalid},
      {"QE auth data", kAuth + 7, "qe_report_data", ErrorCode::kTdxQeReportDataMismatch},
  };
  auto v = MakeVerifier(SampleCollateral());
  const std::vector<uint8_t> original = Vec(kSpr);
  for (const Flip& flip : flips) {
    SCOPED_TRACE(flip.what);
    std::vector<uint8_t> quote = original;
    quote[flip.offset] ^= 0x04;
    Verification r = VerifyAt(*v, quote, kSampleTime);
    ExpectPassed(r, {"quote_structure", "pck_chain"});
    ExpectFailed(r, flip.step, flip.code);
  }
}

TEST(TdxVerifierTest, TruncatedQuoteFailsTheStructureStep) {
  auto v = MakeVerifier(SampleCollateral());
  const std::vector<uint8_t> quote = Vec(kSpr);
  Verification r = VerifyAt(*v, std::span(quote).first(2000), kSampleTime);
  ExpectFailed(r, "quote_structure", ErrorCode::kTdxQuoteMalformed);
  EXPECT_EQ(StepNames(r), kAllSteps);
  EXPECT_EQ(Step(r, "quote_signature").status, StepStatus::kNotRun);
}

TEST(TdxVerifierTest, BadCertificationDataTypeFailsTheStructureStep) {
  auto v = MakeVerifier(SampleCollateral());
  std::vector<uint8_t> quote = Vec(kSpr);
  quote[632 + 4 + 128] = 7;
  ExpectFailed(VerifyAt(*v, quote, kSampleTime), "quote_structure",
               ErrorCode::kTdxBadCertificationData);
}

TEST(TdxVerifierTest, NegativeTimeIsAnError) {
  auto v = MakeVerifier(SampleCollateral());
  EXPECT_THAT(v->Verify(Vec(kSpr), -1), HasError(ErrorCode::kInvalidArgument));
}

// --- The other real quotes ---------------------------------------------------------------------

TEST(TdxVerifierTest, CcelQuoteChainsToIntelButHasNoTcbInfo) {
  auto v = MakeVerifier(SampleCollateral());
  Verification r = VerifyAt(*v, Vec(kCcel), 1725000000);  // 2024-08-30, inside the PCK validity
  ExpectPassed(r, {"quote_structure", "pck_certificates", "pck_chain", "qe_report_signature",
                   "qe_report_data", "quote_signature", "pck_extensions"});
  EXPECT_EQ(r.report.attributes.at("fmspc"), "00806f050000");
  ExpectFailed(r, "tcb_info", ErrorCode::kTdxFmspcMismatch);   // no tcbInfo for its FMSPC
  ExpectFailed(r, "pck_revocation", ErrorCode::kX509Expired);  // the sample CRLs are old
  EXPECT_EQ(Step(r, "tcb_status").status, StepStatus::kNotRun);
}

TEST(TdxVerifierTest, V5QuoteVerifiesItsSignaturesAndChain) {
  auto v = MakeVerifier(SampleCollateral());
  Verification r = VerifyAt(*v, Vec(kV5), 1770000000);  // 2026-02-02
  ExpectPassed(r, {"quote_structure", "pck_certificates", "pck_chain", "qe_report_signature",
                   "qe_report_data", "quote_signature", "pck_extensions"});
  EXPECT_EQ(r.report.attributes.at("version"), "5");
  EXPECT_EQ(r.report.attributes.at("body_type"), "3");
  EXPECT_EQ(r.report.attributes.at("fmspc"), "90c06f000000");
  EXPECT_EQ(r.report.named_measurements.at("mrservicetd").size(), 48u);
  // The TCB Signing certificate in the sample chain expired 2025-05-21 (vectors README).
  ExpectFailed(r, "tcb_info", ErrorCode::kX509Expired);
}

// --- Synthetic PKI: revocation, FMSPC, collateral signatures, TCB levels -----------------------

// A TDX tcbInfo body for the synthetic PCK (FMSPC 50806f000000, PCE 0000) with one level per
// (sgx svn, pcesvn, tdx svn[2], status).
struct Level {
  int sgx;
  int pce;
  int tdx2;
  const char* status;
};

std::string SvnArray(int first, int count_nonzero, int size) {
  std::string out = "[";
  for (int i = 0; i < size; ++i) {
    out += std::string(i ? "," : "") + "{\"svn\":" + std::to_string(i < count_nonzero ? first : 0) +
           "}";
  }
  return out + "]";
}

std::string TcbInfoBody(const std::vector<Level>& levels, const std::string& fmspc = "50806f000000",
                        const std::string& module_mrsigner = std::string(96, '0'),
                        const char* issue = "2023-11-01T00:00:00Z",
                        const char* next = "2023-12-01T00:00:00Z") {
  std::string body = std::string("{\"id\":\"TDX\",\"version\":3,\"issueDate\":\"") + issue +
                     "\",\"nextUpdate\":\"" + next + "\",\"fmspc\":\"" + fmspc +
                     "\",\"pceId\":\"0000\",\"tcbType\":0,\"tcbEvaluationDataNumber\":17,"
                     "\"tdxModule\":{\"mrsigner\":\"" +
                     module_mrsigner +
                     "\",\"attributes\":\"0000000000000000\",\"attributesMask\":"
                     "\"FFFFFFFFFFFFFFFF\"},\"tcbLevels\":[";
  for (size_t i = 0; i < levels.size(); ++i) {
    const Level& l = levels[i];
    // tdx components: [3, 0, tdx2, 0...] so index 1 equals the quote's TEE_TCB_SVN[1] (0).
    std::string tdx = "[{\"svn\":3},{\"svn\":0},{\"svn\":" + std::to_string(l.tdx2) + "}";
    for (int j = 3; j < 16; ++j) {
      tdx += ",{\"svn\":0}";
    }
    tdx += "]";
    body += std::string(i ? "," : "") + "{\"tcb\":{\"sgxtcbcomponents\":" + SvnArray(l.sgx, 2, 16) +
            ",\"pcesvn\":" + std::to_string(l.pce) + ",\"tdxtcbcomponents\":" + tdx +
            "},\"tcbDate\":\"2023-08-09T00:00:00Z\",\"tcbStatus\":\"" + l.status +
            "\",\"advisoryIDs\":[\"INTEL-SA-00837\"]}";
  }
  return body + "]}";
}

std::string QeIdentityBody(int isvsvn_up_to_date,
                           const std::string& mrsigner =
                               "DC9E2A7C6F948F17474E34A7FC43ED030F7C1563F1BABDDF6340C82E0E54A8C5") {
  return "{\"id\":\"TD_QE\",\"version\":2,\"issueDate\":\"2023-11-01T00:00:00Z\",\"nextUpdate\":"
         "\"2023-12-01T00:00:00Z\",\"tcbEvaluationDataNumber\":17,\"miscselect\":\"00000000\","
         "\"miscselectMask\":\"FFFFFFFF\",\"attributes\":\"11000000000000000000000000000000\","
         "\"attributesMask\":\"FBFFFFFFFFFFFFFF0000000000000000\",\"mrsigner\":\"" +
         mrsigner + "\",\"isvprodid\":2,\"tcbLevels\":[{\"tcb\":{\"isvsvn\":" +
         std::to_string(isvsvn_up_to_date) +
         "},\"tcbDate\":\"2023-08-09T00:00:00Z\",\"tcbStatus\":\"UpToDate\"},{\"tcb\":{\"isvsvn\":"
         "1},\"tcbDate\":\"2018-01-04T00:00:00Z\",\"tcbStatus\":\"OutOfDate\"}]}";
}

// The SPR quote's SVNs: SGX comps [3,3,2,2,2,1,0,2,...], PCESVN 11, TEE_TCB_SVN [3,0,4,...],
// QE ISVSVN 4. The synthetic PCK copies the SGX values (testing::PckSpec defaults).
struct Synthetic {
  TestPki pki;
  std::vector<uint8_t> quote;

  explicit Synthetic(const PkiSpec& spec = {}) : pki(TestPki::Create(spec)) {
    quote = pki.RebuildQuote(Vec(kSpr), pki.PckChainPem());
  }
  Collateral MakeCollateral(const std::string& tcb_body, const std::string& qe_body,
                            const std::vector<uint64_t>& revoked = {}) const {
    Collateral c;
    c.tcb_info_responses = {pki.SignedResponse("tcbInfo", tcb_body)};
    c.qe_identity_response = pki.SignedResponse("enclaveIdentity", qe_body);
    c.tcb_signing_chain = {Cert(pki.tcb_signing_der()), Cert(pki.root_der())};
    c.crls = {Crl(pki.PlatformCrl(1690000000, 1710000000, revoked)),
              Crl(pki.RootCrl(1690000000, 1710000000))};
    return c;
  }
  std::unique_ptr<TdxVerifier> Verifier(Collateral c, Policy policy = {}) const {
    return MakeVerifier(std::move(c), std::move(policy), Cert(pki.root_der()));
  }
};

const std::vector<Level> kUpToDateLevels = {{2, 11, 4, "UpToDate"}, {1, 5, 1, "OutOfDate"}};

TEST(TdxVerifierSyntheticTest, UpToDatePlatformVerifies) {
  Synthetic s;
  auto v = s.Verifier(s.MakeCollateral(TcbInfoBody(kUpToDateLevels), QeIdentityBody(4)));
  Verification r = VerifyAt(*v, s.quote, kSyntheticTime);
  ExpectPassed(r, kAuthenticitySteps);
  ExpectPassed(r, {"tcb_status", "debug_mode"});
  EXPECT_EQ(Step(r, "measurements").status, StepStatus::kNotApplicable);
  EXPECT_EQ(Step(r, "report_data").status, StepStatus::kNotApplicable);
  EXPECT_TRUE(r.report.verified);
  EXPECT_EQ(r.report.tcb_status, "UpToDate");
  EXPECT_EQ(r.report.attributes.at("tcb_date"), "2023-08-09T00:00:00Z");
  EXPECT_EQ(r.report.attributes.at("advisory_ids"), "INTEL-SA-00837");
}

TEST(TdxVerifierSyntheticTest, TcbLevelMatchingGivesEachStatus) {
  struct Case {
    std::vector<Level> levels;
    int qe_isvsvn;
    TcbStatus want;
  };
  const Case cases[] = {
      {{{2, 11, 4, "SWHardeningNeeded"}}, 4, TcbStatus::kSwHardeningNeeded},
      {{{2, 11, 4, "ConfigurationNeeded"}}, 4, TcbStatus::kConfigurationNeeded},
      {{{2, 11, 4, "ConfigurationAndSWHardeningNeeded"}},
       4,
       TcbStatus::kConfigurationAndSwHardeningNeeded},
      {{{9, 11, 4, "UpToDate"}, {2, 11, 4, "OutOfDate"}}, 4, TcbStatus::kOutOfDate},
      {{{2, 12, 4, "UpToDate"}, {2, 11, 3, "OutOfDateConfigurationNeeded"}},
       4,
       TcbStatus::kOutOfDateConfigurationNeeded},
      {{{2, 11, 5, "UpToDate"}, {2, 11, 4, "Revoked"}}, 4, TcbStatus::kRevoked},
      {{{2, 11, 5, "UpToDate"}}, 4, TcbStatus::kNotSupported},
      // The QE identity rates ISVSVN 4 OutOfDate (UpToDate needs 5): merged into the platform.
      {{{2, 11, 4, "UpToDate"}}, 5, TcbStatus::kOutOfDate},
      {{{2, 11, 4, "ConfigurationNeeded"}}, 5, TcbStatus::kOutOfDateConfigurationNeeded},
  };
  Synthetic s;
  for (const Case& c : cases) {
    SCOPED_TRACE(TcbStatusName(c.want));
    Policy strict;
    auto v =
        s.Verifier(s.MakeCollateral(TcbInfoBody(c.levels), QeIdentityBody(c.qe_isvsvn)), strict);
    Verification r = VerifyAt(*v, s.quote, kSyntheticTime);
    EXPECT_EQ(r.report.tcb_status, TcbStatusName(c.want));
    ExpectFailed(r, "tcb_status", ErrorCode::kTdxTcbStatusNotAllowed);
    Policy lenient;
    lenient.allowed_tcb_statuses = {c.want};
    v = s.Verifier(s.MakeCollateral(TcbInfoBody(c.levels), QeIdentityBody(c.qe_isvsvn)), lenient);
    EXPECT_TRUE(VerifyAt(*v, s.quote, kSyntheticTime).report.verified);
  }
}

TEST(TdxVerifierSyntheticTest, RevokedPckFails) {
  Synthetic s;
  auto v = s.Verifier(
      s.MakeCollateral(TcbInfoBody(kUpToDateLevels), QeIdentityBody(4), {s.pki.leaf_serial()}));
  Verification r = VerifyAt(*v, s.quote, kSyntheticTime);
  ExpectPassed(r, {"pck_chain", "quote_signature", "qe_report_signature", "tcb_status"});
  ExpectFailed(r, "pck_revocation", ErrorCode::kX509Revoked);
}

TEST(TdxVerifierSyntheticTest, MissingCrlsFail) {
  Synthetic s;
  Collateral c = s.MakeCollateral(TcbInfoBody(kUpToDateLevels), QeIdentityBody(4));
  c.crls.pop_back();  // no root CA CRL: the platform CA's revocation status is unknown
  ExpectFailed(VerifyAt(*s.Verifier(c), s.quote, kSyntheticTime), "pck_revocation",
               ErrorCode::kX509ChainInvalid);
  c.crls.clear();
  ExpectFailed(VerifyAt(*s.Verifier(c), s.quote, kSyntheticTime), "pck_revocation",
               ErrorCode::kTdxCollateralMissing);
}

TEST(TdxVerifierSyntheticTest, QuoteWhoseChainDoesNotReachIntelFailsDespiteItsSignature) {
  Synthetic s;
  // Pinned to the real Intel root: the quote's own signature and QE binding verify, the chain
  // does not.
  auto v = MakeVerifier(SampleCollateral());
  Verification r = VerifyAt(*v, s.quote, kSampleTime);
  ExpectPassed(r, {"quote_signature", "qe_report_signature", "qe_report_data"});
  ExpectFailed(r, "pck_chain", ErrorCode::kX509Untrusted);
  // Certification data with only the leaf: rejected before any chain building.
  const std::vector<uint8_t> leaf_only =
      s.pki.RebuildQuote(Vec(kSpr), testing::ToPem(s.pki.leaf_der()));
  ExpectFailed(VerifyAt(*v, leaf_only, kSampleTime), "pck_certificates",
               ErrorCode::kTdxBadCertificationData);
  const std::vector<uint8_t> garbage = s.pki.RebuildQuote(Vec(kSpr), "not a certificate");
  ExpectFailed(VerifyAt(*v, garbage, kSampleTime), "pck_certificates",
               ErrorCode::kAttestBadCertificate);
}

TEST(TdxVerifierSyntheticTest, WrongFmspcCollateralFails) {
  Synthetic s;
  auto v =
      s.Verifier(s.MakeCollateral(TcbInfoBody(kUpToDateLevels, "00606a000000"), QeIdentityBody(4)));
  Verification r = VerifyAt(*v, s.quote, kSyntheticTime);
  ExpectFailed(r, "tcb_info", ErrorCode::kTdxFmspcMismatch);
  EXPECT_EQ(Step(r, "tcb_status").status, StepStatus::kNotRun);
}

TEST(TdxVerifierSyntheticTest, WrongPceIdFails) {
  PkiSpec spec;
  spec.pck.pce_id = {0x00, 0x01};
  Synthetic s(spec);
  auto v = s.Verifier(s.MakeCollateral(TcbInfoBody(kUpToDateLevels), QeIdentityBody(4)));
  ExpectFailed(VerifyAt(*v, s.quote, kSyntheticTime), "tcb_info", ErrorCode::kTdxFmspcMismatch);
}

TEST(TdxVerifierSyntheticTest, PckWithoutSgxExtensionFails) {
  PkiSpec spec;
  spec.pck.include_sgx_extension = false;
  Synthetic s(spec);
  auto v = s.Verifier(s.MakeCollateral(TcbInfoBody(kUpToDateLevels), QeIdentityBody(4)));
  ExpectFailed(VerifyAt(*v, s.quote, kSyntheticTime), "pck_extensions",
               ErrorCode::kTdxPckExtensionInvalid);
}

TEST(TdxVerifierSyntheticTest, TamperedTcbInfoBytesFailTheSignature) {
  Synthetic s;
  Collateral c = s.MakeCollateral(TcbInfoBody(kUpToDateLevels), QeIdentityBody(4));
  // Same JSON value, different bytes (a space): the signature covers the exact text.
  std::string& response = c.tcb_info_responses[0];
  response.replace(response.find("\"version\":3"), 11, "\"version\": 3");
  ExpectFailed(VerifyAt(*s.Verifier(c), s.quote, kSyntheticTime), "tcb_info",
               ErrorCode::kTdxCollateralSignatureInvalid);
  c = s.MakeCollateral(TcbInfoBody(kUpToDateLevels), QeIdentityBody(4));
  c.qe_identity_response.replace(c.qe_identity_response.find("\"isvprodid\":2"), 13,
                                 "\"isvprodid\":3");
  ExpectFailed(VerifyAt(*s.Verifier(c), s.quote, kSyntheticTime), "qe_identity",
               ErrorCode::kTdxCollateralSignatureInvalid);
}

TEST(TdxVerifierSyntheticTest, StaleOrFutureTcbInfoFails) {
  Synthetic s;
  auto v =
      s.Verifier(s.MakeCollateral(TcbInfoBody(kUpToDateLevels, "50806f000000", std::string(96, '0'),
                                              "2023-09-01T00:00:00Z", "2023-10-01T00:00:00Z"),
                                  QeIdentityBody(4)));
  ExpectFailed(VerifyAt(*v, s.quote, kSyntheticTime), "tcb_info", ErrorCode::kTdxCollateralExpired);
  v = s.Verifier(s.MakeCollateral(TcbInfoBody(kUpToDateLevels, "50806f000000", std::string(96, '0'),
                                              "2023-12-01T00:00:00Z", "2024-01-01T00:00:00Z"),
                                  QeIdentityBody(4)));
  ExpectFailed(VerifyAt(*v, s.quote, kSyntheticTime), "tcb_info",
               ErrorCode::kTdxCollateralNotYetValid);
}

TEST(TdxVerifierSyntheticTest, QeIdentityMismatchFails) {
  Synthetic s;
  auto v = s.Verifier(
      s.MakeCollateral(TcbInfoBody(kUpToDateLevels), QeIdentityBody(4, std::string(64, 'A'))));
  ExpectFailed(VerifyAt(*v, s.quote, kSyntheticTime), "qe_identity",
               ErrorCode::kTdxQeIdentityMismatch);
}

TEST(TdxVerifierSyntheticTest, TdxModuleSignerMismatchFails) {
  Synthetic s;
  auto v = s.Verifier(s.MakeCollateral(
      TcbInfoBody(kUpToDateLevels, "50806f000000", std::string(96, '1')), QeIdentityBody(4)));
  ExpectFailed(VerifyAt(*v, s.quote, kSyntheticTime), "tdx_module", ErrorCode::kTdxModuleMismatch);
}

TEST(TdxVerifierSyntheticTest, ExpiredPckLeafFails) {
  PkiSpec spec;
  spec.leaf_not_after_unix = kSyntheticTime - 1;
  Synthetic s(spec);
  auto v = s.Verifier(s.MakeCollateral(TcbInfoBody(kUpToDateLevels), QeIdentityBody(4)));
  ExpectFailed(VerifyAt(*v, s.quote, kSyntheticTime), "pck_chain", ErrorCode::kX509Expired);
}

// A quote with a changed body, signed by a fresh attestation key the QE report binds.
std::vector<uint8_t> WithBody(const Synthetic& s, size_t offset, uint8_t value) {
  Result<ParsedQuote> parsed = ParseQuote(s.quote);
  EML_CHECK(parsed.has_value());
  std::vector<uint8_t> region(parsed->signed_region.begin(), parsed->signed_region.end());
  region[offset] = value;
  return s.pki.RebuildQuote(s.quote, s.pki.PckChainPem(), region);
}

TEST(TdxVerifierSyntheticTest, DebugTdFailsUnlessAllowed) {
  Synthetic s;
  constexpr size_t kTdAttributes = 48 + 16 + 48 + 48 + 8;
  const std::vector<uint8_t> debug_quote = WithBody(s, kTdAttributes, 0x01);
  const Collateral c = s.MakeCollateral(TcbInfoBody(kUpToDateLevels), QeIdentityBody(4));
  Verification r = VerifyAt(*s.Verifier(c), debug_quote, kSyntheticTime);
  ExpectPassed(r, kAuthenticitySteps);
  EXPECT_TRUE(r.report.debug);
  ExpectFailed(r, "debug_mode", ErrorCode::kAttestDebugMode);
  Policy allow;
  allow.allow_debug = true;
  EXPECT_TRUE(VerifyAt(*s.Verifier(c, allow), debug_quote, kSyntheticTime).report.verified);
}

TEST(TdxVerifierSyntheticTest, MeasurementAndReportDataPins) {
  Synthetic s;
  const Collateral c = s.MakeCollateral(TcbInfoBody(kUpToDateLevels), QeIdentityBody(4));
  Policy pins;
  pins.measurement_pins["rtmr2"] = std::vector<uint8_t>(48, 0x00);
  ExpectFailed(VerifyAt(*s.Verifier(c, pins), s.quote, kSyntheticTime), "measurements",
               ErrorCode::kAttestMeasurementMismatch);
  pins = Policy{};
  pins.measurement_pins["mrservicetd"] = std::vector<uint8_t>(48, 0x00);  // absent in v4
  ExpectFailed(VerifyAt(*s.Verifier(c, pins), s.quote, kSyntheticTime), "measurements",
               ErrorCode::kAttestMeasurementMismatch);
  pins = Policy{};
  pins.expected_report_data = std::vector<uint8_t>(64, 0x00);
  ExpectFailed(VerifyAt(*s.Verifier(c, pins), s.quote, kSyntheticTime), "report_data",
               ErrorCode::kTdxReportDataMismatch);
}

// --- Construction errors -----------------------------------------------------------------------

TEST(TdxVerifierNewTest, BadPolicyIsRejected) {
  Policy p;
  p.measurement_pins["pcr0"] = std::vector<uint8_t>(48);
  EXPECT_THAT(TdxVerifier::New(IntelRoot(), SampleCollateral(), p),
              HasError(ErrorCode::kAttestBadPolicy));
  p = Policy{};
  p.measurement_pins["mrtd"] = std::vector<uint8_t>(32);
  EXPECT_THAT(TdxVerifier::New(IntelRoot(), SampleCollateral(), p),
              HasError(ErrorCode::kAttestBadPolicy));
  p = Policy{};
  p.expected_report_data = std::vector<uint8_t>(32);
  EXPECT_THAT(TdxVerifier::New(IntelRoot(), SampleCollateral(), p),
              HasError(ErrorCode::kAttestBadPolicy));
}

TEST(TdxVerifierNewTest, MalformedOrMissingCollateralIsRejected) {
  Collateral c = SampleCollateral();
  c.tcb_info_responses[0] = "{\"tcbInfo\":{\"id\":\"TDX\"},\"signature\":\"00\"}";
  EXPECT_THAT(TdxVerifier::New(IntelRoot(), c, {}), HasError(ErrorCode::kTdxCollateralMalformed));
  c = SampleCollateral();
  c.tcb_info_responses.push_back(c.tcb_info_responses[0]);  // two for one FMSPC
  EXPECT_THAT(TdxVerifier::New(IntelRoot(), c, {}), HasError(ErrorCode::kTdxCollateralMalformed));
  c = SampleCollateral();
  c.qe_identity_response += "{}";
  EXPECT_THAT(TdxVerifier::New(IntelRoot(), c, {}), HasError(ErrorCode::kTdxCollateralMalformed));
  c = SampleCollateral();
  c.tcb_info_responses.clear();
  EXPECT_THAT(TdxVerifier::New(IntelRoot(), c, {}), HasError(ErrorCode::kTdxCollateralMissing));
}

TEST(TdxVerifierNewTest, TcbStatusNamesRoundTrip) {
  for (TcbStatus s :
       {TcbStatus::kUpToDate, TcbStatus::kSwHardeningNeeded, TcbStatus::kConfigurationNeeded,
        TcbStatus::kConfigurationAndSwHardeningNeeded, TcbStatus::kOutOfDate,
        TcbStatus::kOutOfDateConfigurationNeeded, TcbStatus::kRevoked, TcbStatus::kNotSupported}) {
    Result<TcbStatus> back = TcbStatusFromName(TcbStatusName(s));
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(*back, s);
  }
  EXPECT_THAT(TcbStatusFromName("Fine"), HasError(ErrorCode::kInvalidArgument));
}

}  // namespace
}  // namespace eml::attest::tdx
