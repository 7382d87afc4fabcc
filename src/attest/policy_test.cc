#include "attest/policy.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "attest/builtin_roots.h"
#include "attest/nitro/aws_root.h"
#include "attest/sim/sim_provider.h"
#include "common/encoding.h"
#include "testing/test_util.h"

namespace eml::attest {
namespace {

namespace fs = std::filesystem;
using ::eml::testing::HasError;
using ::eml::testing::IsOk;
using ::eml::testing::ReadFileBytes;
using ::eml::testing::ReadFileText;
using ::eml::testing::SharedVectorPath;
using ::eml::testing::SourcePath;

fs::path JwksPath() { return SourcePath("tests/vectors/gcp/jwks.json"); }

constexpr int64_t kNow = 1'800'000'000;  // 2027-01-15, inside the sim root's validity
constexpr uint64_t kNowMs = uint64_t{kNow} * 1000;

// Real AWS documents (vectors/nitro/expected.json), verified at their own time.
constexpr char kProduction[] = "nitro/cape-js/cape-spec-attestationDocument.bin";
constexpr int64_t kProductionAt = 1663263809;
constexpr char kProductionPcr0[] =
    "ea4212ee889ba1b4dbfe744aadecca8b1930de60a3a1ce3b0c79f42b231700fc561c3d9b34f0565ed9eb6f46099"
    "6624c";
constexpr char kProductionNonce[] = "47b5fba6979cbf7e567e2629";
constexpr char kProductionPublicKey[] =
    "15db1c67adc9fce91f7da323c708b6e639f0585af8a4a091127f2dfdcfeaf808";
constexpr char kDebug[] = "nitro/fortanix-rust-sgx/request_proper.bin";
constexpr int64_t kDebugAt = 1631182761;
constexpr char kTdxQuote[] = "tdx/go-tdx-guest/tdx_prod_quote_SPR_E4.dat";
constexpr int64_t kTdxAt = 1688000000;  // the sample collateral is current
constexpr char kTdxMrtd[] =
    "6363b8043668a3ad953278e10389574d326c6749fb78aa810ecd9336923db86f22fc00b8dcd404bc10d5e119d72"
    "15cbb";
constexpr char kSnpReport[] = "sevsnp/go-sev-guest/attestation.bin";
constexpr int64_t kSnpAt = 1700000000;  // inside the real VCEK's validity
constexpr char kSnpMeasurement[] =
    "b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b6bdf8a9ece31a5a608eb0cf2e48"
    "72b01";
constexpr char kGcpToken[] = "gcp/oak/ctf_sha2-sample.jwt";
constexpr int64_t kGcpAt = 1757060250;  // the token's iat
constexpr char kGcpAudience[] = "z08381475938604996746";
constexpr char kGcpImageDigest[] =
    "sha256:e2e5e3672f416ac9ca71aa639abf86db0b713729a48c125a925af6c808b20b5d";

const std::vector<uint8_t> kBinary = {'e', 'l', 'f'};
const std::vector<uint8_t> kConfig = {'{', '}'};
const std::vector<uint8_t> kAnchors = {'r'};
const std::vector<uint8_t> kNonce(16, 0x5A);
const std::vector<uint8_t> kPublicKey(32, 0x11);

std::vector<uint8_t> Unhex(std::string_view hex) {
  Result<std::vector<uint8_t>> bytes = HexDecode(hex);
  EML_CHECK(bytes.has_value());
  return *bytes;
}

class PolicyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("eml_attest_policy_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  sim::SimProvider MakeSim() {
    Result<sim::SimProvider> p =
        sim::SimProvider::Create(dir_ / "state", {kBinary, kConfig, kAnchors}, kNow);
    EML_CHECK(p.has_value());
    return *std::move(p);
  }

  std::vector<uint8_t> SimDocument(const sim::SimProvider& sim, uint64_t timestamp_ms = kNowMs) {
    sim::AttestationRequest req;
    req.nonce = kNonce;
    req.public_key = kPublicKey;
    Result<std::vector<uint8_t>> doc = sim.Attest(req, timestamp_ms);
    EML_CHECK(doc.has_value());
    return *doc;
  }

  // A policy JSON naming the sim root (relative to dir_) with PCR0..2 pinned to `sim`'s.
  static std::string SimPolicyJson(const sim::SimProvider& sim, const std::string& extra = "") {
    return R"({"version": 1, "platforms": {"sim": {"roots": ["state/attest-sim/root.pem"],
              "pcrs": {"0": ")" +
           HexEncode(sim.pcrs().at(0)) + R"(", "1": ")" + HexEncode(sim.pcrs().at(1)) +
           R"(", "2": ")" + HexEncode(sim.pcrs().at(2)) + R"("}}})" + extra + "}";
  }

  PolicyVerifier Verifier(std::string_view json) {
    Result<EvidencePolicy> policy = ParseEvidencePolicy(json, dir_);
    EXPECT_THAT(policy, IsOk()) << json;
    EML_CHECK(policy.has_value());
    Result<PolicyVerifier> v = PolicyVerifier::Create(*std::move(policy));
    EML_CHECK(v.has_value());
    return *std::move(v);
  }

  static Verification Check(const PolicyVerifier& v, std::span<const uint8_t> evidence, int64_t now,
                            const BindingExpectation& binding = {}) {
    Result<Verification> r = v.Verify(evidence, now, binding);
    EML_CHECK(r.has_value());
    EXPECT_EQ(r->report.verified, r->evidence.has_value());
    return *std::move(r);
  }

  Result<EvidencePolicy> Parse(std::string_view json) { return ParseEvidencePolicy(json, dir_); }

  void WriteFile(const fs::path& path, std::string_view text) {
    std::ofstream(path, std::ios::binary) << text;
  }

  // MakeTdxCollateral lays out the Intel PCS sample responses as LoadCollateralDirectory wants.
  void MakeTdxCollateral(const fs::path& dir) {
    const fs::path src = SharedVectorPath("tdx/go-tdx-guest");
    fs::create_directories(dir);
    fs::copy_file(src / "sample_tcbInfo_response", dir / "tcb_info_50806f000000.json");
    fs::copy_file(src / "sample_qeIdentity_response", dir / "qe_identity.json");
    fs::copy_file(src / "tcb_info_issuer_chain.pem", dir / "tcb_signing_chain.pem");
    fs::copy_file(src / "pckcrl", dir / "pck_platform.crl.der");
    fs::copy_file(src / "rootcrl.der", dir / "root_ca.crl.der");
  }

  fs::path dir_;
};

// ---- Sim and Nitro verification ------------------------------------------------------------

TEST_F(PolicyTest, SimDocumentAcceptedUnderSimPolicy) {
  sim::SimProvider sim = MakeSim();
  PolicyVerifier v = Verifier(SimPolicyJson(sim, R"(, "max_evidence_age_s": 600)"));
  Verification r = Check(v, SimDocument(sim), kNow, {kNonce, kPublicKey});
  ASSERT_TRUE(r.report.verified) << r.report.ToJson();
  EXPECT_EQ(r.report.platform, "sim");
  EXPECT_EQ(r.evidence->platform(), "sim");
  EXPECT_EQ(r.evidence->nonce(), kNonce);
  EXPECT_EQ(r.evidence->public_key(), kPublicKey);
  EXPECT_EQ(r.report.steps.at(0).name, "evidence_kind");
  EXPECT_EQ(r.report.steps.at(1).name, "platform_allowed");
  // The two-argument Verifier interface: no binding expected.
  Result<Verification> plain = v.Verify(SimDocument(sim), kNow);
  ASSERT_THAT(plain, IsOk());
  EXPECT_TRUE(plain->report.verified);
}

TEST_F(PolicyTest, InlinePemRootsAreParsedAsCertificates) {
  sim::SimProvider sim = MakeSim();
  const std::string pem = ReadFileText(dir_ / "state/attest-sim/root.pem");
  ASSERT_EQ(pem.rfind(kInlinePemPrefix, 0), 0u);
  nlohmann::json policy = {
      {"version", 1}, {"platforms", {{"sim", {{"roots", {pem}}}}}}, {"max_evidence_age_s", 600}};
  // No file of that name exists anywhere: only the inline reading can succeed.
  PolicyVerifier v = Verifier(policy.dump());
  ASSERT_EQ(v.policy().Find(kPlatformSim)->roots.size(), 1u);
  EXPECT_TRUE(Check(v, SimDocument(sim), kNow, {kNonce, kPublicKey}).report.verified);

  std::string broken = pem;
  broken.replace(broken.size() / 2, 8, "@@@@@@@@");
  policy["platforms"]["sim"]["roots"] = {broken};
  EXPECT_THAT(Parse(policy.dump()), HasError(ErrorCode::kPolicyBadRoot));
  policy["platforms"]["sim"]["roots"] = {std::string(kInlinePemPrefix) + "\n"};
  EXPECT_THAT(Parse(policy.dump()), HasError(ErrorCode::kPolicyBadRoot));
}

TEST_F(PolicyTest, SimDocumentRefusedWithoutSimInPolicy) {
  sim::SimProvider sim = MakeSim();
  PolicyVerifier v = Verifier(R"({"version": 1, "platforms": {"aws-nitro": {}}})");
  Verification r = Check(v, SimDocument(sim), kNow);
  EXPECT_FALSE(r.report.verified);
  EXPECT_EQ(r.report.FirstFailure(), ErrorCode::kPolicyUntrustedRoot);
}

TEST_F(PolicyTest, NitroDocumentRefusedWhenNoNitroPlatformAllowed) {
  PolicyVerifier v =
      Verifier(R"({"version": 1, "platforms": {"sev-snp": {}, "gcp-cs": {"audience": "x"}}})");
  Verification r = Check(v, ReadFileBytes(SharedVectorPath(kProduction)), kProductionAt);
  EXPECT_EQ(r.report.FirstFailure(), ErrorCode::kPolicyPlatformNotAllowed);
}

TEST_F(PolicyTest, WrongPcrPinRefused) {
  sim::SimProvider sim = MakeSim();
  std::string json = SimPolicyJson(sim);
  const std::string pcr1 = HexEncode(sim.pcrs().at(1));
  json.replace(json.find(pcr1), pcr1.size(), std::string(96, 'a'));
  Verification r = Check(Verifier(json), SimDocument(sim), kNow);
  EXPECT_EQ(r.report.FirstFailure(), ErrorCode::kAttestMeasurementMismatch);
}

TEST_F(PolicyTest, StaleDocumentRefused) {
  sim::SimProvider sim = MakeSim();
  PolicyVerifier v = Verifier(SimPolicyJson(sim, R"(, "max_evidence_age_s": 600)"));
  Verification fresh = Check(v, SimDocument(sim), kNow + 600);
  EXPECT_TRUE(fresh.report.verified) << fresh.report.ToJson();
  Verification stale = Check(v, SimDocument(sim), kNow + 601);
  EXPECT_EQ(stale.report.FirstFailure(), ErrorCode::kAttestStale);
}

TEST_F(PolicyTest, BindingMismatchRefused) {
  sim::SimProvider sim = MakeSim();
  PolicyVerifier v = Verifier(SimPolicyJson(sim));
  const std::vector<uint8_t> doc = SimDocument(sim);
  const std::vector<uint8_t> other(16, 0x00);
  EXPECT_EQ(Check(v, doc, kNow, {other, std::nullopt}).report.FirstFailure(),
            ErrorCode::kAttestNonceMismatch);
  EXPECT_EQ(Check(v, doc, kNow, {kNonce, other}).report.FirstFailure(),
            ErrorCode::kAttestPublicKeyMismatch);
}

TEST_F(PolicyTest, RealNitroDocumentVerifiesUnderAwsPolicyAtItsTime) {
  PolicyVerifier v = Verifier(std::string(R"({"version": 1, "platforms": {"aws-nitro":
      {"roots": [], "pcrs": {"0": ")") +
                              kProductionPcr0 + R"("}}}})");
  const std::vector<uint8_t> doc = ReadFileBytes(SharedVectorPath(kProduction));
  Verification r =
      Check(v, doc, kProductionAt, {Unhex(kProductionNonce), Unhex(kProductionPublicKey)});
  ASSERT_TRUE(r.report.verified) << r.report.ToJson();
  EXPECT_EQ(r.report.platform, "aws-nitro");
  EXPECT_EQ(r.evidence->measurements().at(0), Unhex(kProductionPcr0));
  // At the current time the AWS certificates have long expired.
  EXPECT_EQ(Check(v, doc, 1'900'000'000).report.FirstFailure(), ErrorCode::kX509Expired);
  // A policy that only names sim refuses a real AWS document.
  sim::SimProvider sim = MakeSim();
  EXPECT_EQ(Check(Verifier(SimPolicyJson(sim)), doc, kProductionAt).report.FirstFailure(),
            ErrorCode::kPolicyUntrustedRoot);
}

TEST_F(PolicyTest, DebugDocumentRefusedUnlessAllowed) {
  const std::vector<uint8_t> doc = ReadFileBytes(SharedVectorPath(kDebug));
  Verification refused =
      Check(Verifier(R"({"version": 1, "platforms": {"aws-nitro": {}}})"), doc, kDebugAt);
  EXPECT_EQ(refused.report.FirstFailure(), ErrorCode::kAttestDebugMode);
  Verification allowed =
      Check(Verifier(R"({"version": 1, "platforms": {"aws-nitro": {}}, "allow_debug": true})"), doc,
            kDebugAt);
  EXPECT_TRUE(allowed.report.verified) << allowed.report.ToJson();
  EXPECT_TRUE(allowed.evidence->debug());
}

TEST_F(PolicyTest, UnknownEvidenceRefused) {
  PolicyVerifier v = Verifier(R"({"version": 1, "platforms": {"aws-nitro": {}}})");
  const std::vector<uint8_t> junk = {'h', 'e', 'l', 'l', 'o'};
  Verification r = Check(v, junk, kNow);
  EXPECT_EQ(r.report.FirstFailure(), ErrorCode::kPolicyUnknownEvidence);
  EXPECT_EQ(Check(v, {}, kNow).report.FirstFailure(), ErrorCode::kPolicyUnknownEvidence);
}

TEST_F(PolicyTest, TdxQuoteRefusedWithoutTdxInPolicy) {
  PolicyVerifier v = Verifier(R"({"version": 1, "platforms": {"aws-nitro": {}}})");
  const std::vector<uint8_t> quote = ReadFileBytes(SharedVectorPath(kTdxQuote));
  EXPECT_EQ(DetectEvidenceKind(quote), EvidenceKind::kTdxQuote);
  EXPECT_EQ(Check(v, quote, kNow).report.FirstFailure(), ErrorCode::kPolicyPlatformNotAllowed);
}

TEST_F(PolicyTest, TdxQuoteVerifiesUnderTdxPolicy) {
  MakeTdxCollateral(dir_ / "coll");
  const std::string base = std::string(R"({"version": 1, "platforms": {"tdx": {
      "collateral_dir": "coll", "measurements": {"mrtd": ")") +
                           kTdxMrtd + R"("},
      "tcb_statuses": )";
  const std::vector<uint8_t> quote = ReadFileBytes(SharedVectorPath(kTdxQuote));
  // Authentic, but Intel rates this platform's TCB "NotSupported".
  Verification refused = Check(Verifier(base + R"(["UpToDate"]}}})"), quote, kTdxAt);
  EXPECT_EQ(refused.report.FirstFailure(), ErrorCode::kTdxTcbStatusNotAllowed);
  PolicyVerifier v = Verifier(base + R"(["UpToDate", "NotSupported"]}}})");
  Verification r = Check(v, quote, kTdxAt);
  ASSERT_TRUE(r.report.verified) << r.report.ToJson();
  EXPECT_EQ(r.report.platform, "tdx");
  EXPECT_EQ(r.evidence->named_measurements().at("mrtd"), Unhex(kTdxMrtd));
  // The quote's REPORTDATA binds someone else's data: a binding expectation fails.
  Verification unbound = Check(v, quote, kTdxAt, {kNonce, kPublicKey});
  EXPECT_EQ(unbound.report.FirstFailure(), ErrorCode::kPolicyBindingMismatch);
  // A wrong MRTD pin.
  std::string wrong = base + R"(["NotSupported"]}}})";
  wrong.replace(wrong.find(kTdxMrtd), 96, std::string(96, '0'));
  EXPECT_EQ(Check(Verifier(wrong), quote, kTdxAt).report.FirstFailure(),
            ErrorCode::kAttestMeasurementMismatch);
}

TEST_F(PolicyTest, SevSnpReportVerifiesUnderSnpPolicy) {
  fs::copy_file(SharedVectorPath("sevsnp/go-sev-guest/vcek.testcer.der"), dir_ / "vcek.der");
  fs::copy_file(SharedVectorPath("sevsnp/go-sev-guest/ask_ark_milan.pem"), dir_ / "milan.pem");
  const std::string platforms = std::string(R"({"version": 1, "platforms": {"sev-snp": {
      "certificates": ["vcek.der", "milan.pem"], "measurements": {"measurement": ")") +
                                kSnpMeasurement + R"("}}})";
  const std::vector<uint8_t> report = ReadFileBytes(SharedVectorPath(kSnpReport));
  EXPECT_EQ(DetectEvidenceKind(report), EvidenceKind::kSevSnpReport);
  // The sample guest's policy allows debugging (bit 19).
  EXPECT_EQ(Check(Verifier(platforms + "}"), report, kSnpAt).report.FirstFailure(),
            ErrorCode::kAttestDebugMode);
  PolicyVerifier v = Verifier(platforms + R"(, "allow_debug": true})");
  Verification r = Check(v, report, kSnpAt);
  ASSERT_TRUE(r.report.verified) << r.report.ToJson();
  EXPECT_EQ(r.report.platform, "sev-snp");
  EXPECT_EQ(r.evidence->named_measurements().at("measurement"), Unhex(kSnpMeasurement));
  EXPECT_EQ(Check(v, report, kSnpAt, {kNonce, std::nullopt}).report.FirstFailure(),
            ErrorCode::kPolicyBindingMismatch);
}

TEST_F(PolicyTest, GcpTokenVerifiesUnderGcpPolicy) {
  const std::string json = std::string(R"({"version": 1, "platforms": {"gcp-cs": {"audience": ")") +
                           kGcpAudience + R"(", "measurements": {"image_digest": ")" +
                           kGcpImageDigest + R"("}}}, "max_evidence_age_s": 600})";
  const std::vector<uint8_t> token = ReadFileBytes(SharedVectorPath(kGcpToken));
  EXPECT_EQ(DetectEvidenceKind(token), EvidenceKind::kJwt);
  PolicyVerifier v = Verifier(json);
  Verification r = Check(v, token, kGcpAt);
  ASSERT_TRUE(r.report.verified) << r.report.ToJson();
  EXPECT_EQ(r.report.platform, "gcp-cs");
  // Its eat_nonce is not our binding of this key and nonce.
  EXPECT_EQ(Check(v, token, kGcpAt, {kNonce, kPublicKey}).report.FirstFailure(),
            ErrorCode::kAttestNonceMismatch);
  // Stale under the policy's max age (the token itself is valid for an hour).
  EXPECT_EQ(Check(v, token, kGcpAt + 601).report.FirstFailure(), ErrorCode::kAttestStale);
  // The wrong audience.
  std::string other = json;
  other.replace(other.find(kGcpAudience), std::string(kGcpAudience).size(), "someone-else");
  EXPECT_EQ(Check(Verifier(other), token, kGcpAt).report.FirstFailure(),
            ErrorCode::kGcpWrongAudience);
}

TEST_F(PolicyTest, GcpOidcTokenVerifiesAgainstThePolicyJwks) {
  PolicyVerifier v = Verifier(R"({"version": 1, "platforms": {"gcp-cs": {
      "audience": "https://relying-party.example", "jwks": ")" +
                              JwksPath().string() + R"("}}})");
  Verification r =
      Check(v, AsBytes(ReadFileText(SourcePath("tests/vectors/gcp/oidc_valid.jwt"))), 1760000000);
  EXPECT_TRUE(r.report.verified) << r.report.ToJson();
  EXPECT_EQ(r.report.attributes.at("token_kind"), "oidc");
}

TEST_F(PolicyTest, CreateLoadsTdxCollateralAndJwks) {
  fs::create_directories(dir_ / "empty");
  Result<EvidencePolicy> tdx =
      Parse(R"({"version": 1, "platforms": {"tdx": {"collateral_dir": "empty"}}})");
  ASSERT_THAT(tdx, IsOk());
  EXPECT_THAT(PolicyVerifier::Create(*std::move(tdx)), HasError(ErrorCode::kTdxCollateralMissing));
  WriteFile(dir_ / "jwks.json", R"({"keys": []})");
  Result<EvidencePolicy> gcp =
      Parse(R"({"version": 1, "platforms": {"gcp-cs": {"audience": "a", "jwks": "jwks.json"}}})");
  ASSERT_THAT(gcp, IsOk());
  EXPECT_THAT(PolicyVerifier::Create(*std::move(gcp)), HasError(ErrorCode::kGcpBadJwks));
}

TEST_F(PolicyTest, VerificationTimeOutOfRange) {
  PolicyVerifier v = Verifier(R"({"version": 1, "platforms": {"aws-nitro": {}}})");
  EXPECT_THAT(v.Verify({}, -1, {}), HasError(ErrorCode::kInvalidArgument));
}

// ---- Parsing ---------------------------------------------------------------------------------

TEST_F(PolicyTest, DefaultRootsAreBuiltIn) {
  Result<EvidencePolicy> p = Parse(
      R"({"version": 1, "platforms": {"aws-nitro": {"roots": []}, "tdx": {"collateral_dir": "c"},
          "sev-snp": {}, "gcp-cs": {"audience": "https://broker.example"}}})");
  ASSERT_THAT(p, IsOk());
  Result<crypto::Certificate> aws = nitro::AwsNitroRootG1();
  ASSERT_THAT(aws, IsOk());
  ASSERT_EQ(p->Find("aws-nitro")->roots.size(), 1u);
  EXPECT_EQ(p->Find("aws-nitro")->roots[0].Sha256Fingerprint(), aws->Sha256Fingerprint());
  EXPECT_EQ(HexEncode(p->Find("tdx")->roots.at(0).Sha256Fingerprint()),
            "44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3");
  EXPECT_EQ(p->Find("sev-snp")->roots.size(), 3u);  // ARK Milan, Genoa, Turin
  EXPECT_EQ(HexEncode(p->Find("gcp-cs")->roots.at(0).Sha256Fingerprint()),
            "148b293821bb0c6a317f413c8ba475814091cb22d49b9e3c94198db8e8f86c39");
  EXPECT_EQ(p->Find("tdx")->tcb_statuses, std::vector<std::string>{"UpToDate"});
  EXPECT_FALSE(p->Allows("sim"));
  EXPECT_FALSE(p->allow_debug);
  EXPECT_FALSE(p->max_evidence_age_s.has_value());
  EXPECT_THAT(BuiltInRoots("sim"), HasError(ErrorCode::kNotFound));
}

TEST_F(PolicyTest, FullSchemaParsesAndResolvesPathsAgainstThePolicyFolder) {
  fs::create_directories(dir_ / "conf");
  MakeTdxCollateral(dir_ / "conf/tdx-coll");
  fs::copy_file(SharedVectorPath("sevsnp/go-sev-guest/vcek.testcer.der"), dir_ / "conf/vcek.der");
  fs::copy_file(SharedVectorPath("sevsnp/go-sev-guest/ask_ark_milan.pem"), dir_ / "conf/milan.pem");
  fs::copy_file(SharedVectorPath("tdx/go-tdx-guest/trusted_root.pem"), dir_ / "conf/intel.pem");
  fs::copy_file(SharedVectorPath("nitro/aws-nitro-enclaves-root-g1.der"), dir_ / "conf/aws.der");
  WriteFile(dir_ / "conf/policy.json",
            std::string(R"({
    "version": 1,
    "platforms": {
      "aws-nitro": {"roots": ["aws.der"], "pcrs": {"0": ")") +
                kProductionPcr0 + R"("}},
      "tdx": {"roots": ["intel.pem"], "measurements": {"mrtd": ")" +
                std::string(96, 'a') + R"(", "rtmr3": ")" + std::string(96, '0') +
                R"("},
              "tcb_statuses": ["UpToDate", "SWHardeningNeeded"], "collateral_dir": "tdx-coll"},
      "sev-snp": {"certificates": ["vcek.der", "milan.pem"], "measurements": {"measurement": ")" +
                std::string(96, 'b') + R"(", "host_data": ")" + std::string(64, 'c') +
                R"("}},
      "gcp-cs": {"measurements": {"image_digest": "sha256:)" +
                std::string(64, 'd') + R"("}, "jwks": ")" + JwksPath().string() + R"(",
                 "audience": "https://broker.example"}
    },
    "allow_debug": false,
    "max_evidence_age_s": 300})");
  Result<EvidencePolicy> p = LoadEvidencePolicyFile(dir_ / "conf/policy.json");
  ASSERT_THAT(p, IsOk());
  EXPECT_EQ(p->max_evidence_age_s, 300);
  EXPECT_EQ(p->Find("aws-nitro")->pcr_pins.at(0), Unhex(kProductionPcr0));
  const PlatformPolicy& tdx = *p->Find("tdx");
  EXPECT_EQ(tdx.collateral_dir, dir_ / "conf" / "tdx-coll");
  EXPECT_EQ(tdx.measurement_pins.at("mrtd"), std::vector<uint8_t>(48, 0xAA));
  EXPECT_EQ(tdx.tcb_statuses.size(), 2u);
  EXPECT_EQ(p->Find("sev-snp")->measurement_pins.at("host_data"), std::vector<uint8_t>(32, 0xCC));
  EXPECT_EQ(p->Find("sev-snp")->certificates.size(), 3u);  // VCEK, ASK, ARK
  const PlatformPolicy& gcp = *p->Find("gcp-cs");
  EXPECT_EQ(gcp.measurement_pins.at("image_digest"), std::vector<uint8_t>(32, 0xDD));
  EXPECT_EQ(gcp.jwks_file, JwksPath());  // absolute: kept as is
  EXPECT_EQ(gcp.audience, "https://broker.example");
  EXPECT_THAT(PolicyVerifier::Create(*std::move(p)), IsOk());
}

struct BadPolicy {
  const char* name;
  const char* json;
  ErrorCode code;
};

TEST_F(PolicyTest, MalformedPoliciesEachGiveTheirCode) {
  fs::create_directories(dir_ / "state");
  WriteFile(dir_ / "garbage.pem", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
  WriteFile(dir_ / "garbage.der", "not a certificate");
  const BadPolicy cases[] = {
      {"not json", R"({"version": 1,)", ErrorCode::kPolicyMalformed},
      {"not an object", R"([1])", ErrorCode::kPolicyMalformed},
      {"duplicate key", R"({"version": 1, "version": 1, "platforms": {"aws-nitro": {}}})",
       ErrorCode::kPolicyMalformed},
      {"version is text", R"({"version": "1", "platforms": {"aws-nitro": {}}})",
       ErrorCode::kPolicyMalformed},
      {"platforms is a list", R"({"version": 1, "platforms": ["aws-nitro"]})",
       ErrorCode::kPolicyMalformed},
      {"platform entry is a list", R"({"version": 1, "platforms": {"aws-nitro": []}})",
       ErrorCode::kPolicyMalformed},
      {"root entry not a string", R"({"version": 1, "platforms": {"aws-nitro": {"roots": [1]}}})",
       ErrorCode::kPolicyMalformed},
      {"allow_debug is a number",
       R"({"version": 1, "platforms": {"aws-nitro": {}}, "allow_debug": 1})",
       ErrorCode::kPolicyMalformed},
      {"version 2", R"({"version": 2, "platforms": {"aws-nitro": {}}})",
       ErrorCode::kPolicyUnsupportedVersion},
      {"version -1", R"({"version": -1, "platforms": {"aws-nitro": {}}})",
       ErrorCode::kPolicyUnsupportedVersion},
      {"unknown top-level key", R"({"version": 1, "platforms": {"aws-nitro": {}}, "debug": true})",
       ErrorCode::kPolicyUnknownKey},
      {"pcrs under tdx", R"({"version": 1, "platforms": {"tdx": {"pcrs": {}}}})",
       ErrorCode::kPolicyUnknownKey},
      {"no version", R"({"platforms": {"aws-nitro": {}}})", ErrorCode::kPolicyMissingKey},
      {"no platforms", R"({"version": 1})", ErrorCode::kPolicyMissingKey},
      {"sim without roots", R"({"version": 1, "platforms": {"sim": {}}})",
       ErrorCode::kPolicyMissingKey},
      {"short PCR", R"({"version": 1, "platforms": {"aws-nitro": {"pcrs": {"0": "abcd"}}}})",
       ErrorCode::kPolicyBadValue},
      {"PCR index 32",
       R"({"version": 1, "platforms": {"aws-nitro": {"pcrs": {"32": ")"
       "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
       "000000"
       R"("}}}})",
       ErrorCode::kPolicyBadValue},
      {"PCR index 01", R"({"version": 1, "platforms": {"aws-nitro": {"pcrs": {"01": "00"}}}})",
       ErrorCode::kPolicyBadValue},
      {"unknown measurement",
       R"({"version": 1, "platforms": {"tdx": {"measurements": {"mrseam": "00"}}}})",
       ErrorCode::kPolicyBadValue},
      {"negative age",
       R"({"version": 1, "platforms": {"aws-nitro": {}}, "max_evidence_age_s": -5})",
       ErrorCode::kPolicyBadValue},
      {"huge age",
       R"({"version": 1, "platforms": {"aws-nitro": {}}, "max_evidence_age_s": 99999999999})",
       ErrorCode::kPolicyBadValue},
      {"empty tcb_statuses", R"({"version": 1, "platforms": {"tdx": {"tcb_statuses": []}}})",
       ErrorCode::kPolicyBadValue},
      {"empty audience", R"({"version": 1, "platforms": {"gcp-cs": {"audience": ""}}})",
       ErrorCode::kPolicyBadValue},
      {"gcp-cs without audience", R"({"version": 1, "platforms": {"gcp-cs": {}}})",
       ErrorCode::kPolicyMissingKey},
      {"tdx without collateral", R"({"version": 1, "platforms": {"tdx": {}}})",
       ErrorCode::kPolicyMissingKey},
      {"unknown TCB status",
       R"({"version": 1, "platforms": {"tdx": {"collateral_dir": "c", "tcb_statuses": ["Fine"]}}})",
       ErrorCode::kPolicyBadValue},
      {"tcb_statuses under sev-snp",
       R"({"version": 1, "platforms": {"sev-snp": {"tcb_statuses": ["UpToDate"]}}})",
       ErrorCode::kPolicyUnknownKey},
      {"bad certificate file",
       R"({"version": 1, "platforms": {"sev-snp": {"certificates": ["garbage.der"]}}})",
       ErrorCode::kPolicyBadRoot},
      {"unknown platform", R"({"version": 1, "platforms": {"azure-cvm": {}}})",
       ErrorCode::kPolicyUnknownPlatform},
      {"empty platforms", R"({"version": 1, "platforms": {}})", ErrorCode::kPolicyNoPlatforms},
      {"missing root file", R"({"version": 1, "platforms": {"sim": {"roots": ["nope.pem"]}}})",
       ErrorCode::kPolicyBadRoot},
      {"garbage PEM root",
       R"({"version": 1, "platforms": {"aws-nitro": {"roots": ["garbage.pem"]}}})",
       ErrorCode::kPolicyBadRoot},
      {"garbage DER root",
       R"({"version": 1, "platforms": {"aws-nitro": {"roots": ["garbage.der"]}}})",
       ErrorCode::kPolicyBadRoot},
      {"root is a folder", R"({"version": 1, "platforms": {"sim": {"roots": ["state"]}}})",
       ErrorCode::kPolicyBadRoot},
  };
  for (const BadPolicy& c : cases) {
    EXPECT_THAT(Parse(c.json), HasError(c.code)) << c.name;
  }
}

TEST_F(PolicyTest, OversizedPolicyRefused) {
  const std::string big(kMaxPolicyFileBytes + 1, ' ');
  EXPECT_THAT(Parse(big), HasError(ErrorCode::kPolicyTooLarge));
  WriteFile(dir_ / "big.json", big);
  EXPECT_THAT(LoadEvidencePolicyFile(dir_ / "big.json"), HasError(ErrorCode::kPolicyTooLarge));
  EXPECT_THAT(LoadEvidencePolicyFile(dir_ / "absent.json"), HasError(ErrorCode::kNotFound));
}

TEST_F(PolicyTest, CreateValidatesPoliciesBuiltInCode) {
  EXPECT_THAT(PolicyVerifier::Create(EvidencePolicy{}), HasError(ErrorCode::kPolicyNoPlatforms));
  EvidencePolicy no_root;
  no_root.platforms["sim"] = PlatformPolicy{};
  EXPECT_THAT(PolicyVerifier::Create(no_root), HasError(ErrorCode::kPolicyMissingKey));
  Result<EvidencePolicy> p = Parse(R"({"version": 1, "platforms": {"aws-nitro": {}}})");
  ASSERT_THAT(p, IsOk());
  EvidencePolicy bad_pin = *p;
  bad_pin.platforms["aws-nitro"].pcr_pins[0] = {1, 2, 3};
  EXPECT_THAT(PolicyVerifier::Create(bad_pin), HasError(ErrorCode::kPolicyBadValue));
  EvidencePolicy pcrs_on_snp = *p;
  pcrs_on_snp.platforms["sev-snp"].roots = p->Find("aws-nitro")->roots;
  pcrs_on_snp.platforms["sev-snp"].pcr_pins[0] = std::vector<uint8_t>(48, 0);
  EXPECT_THAT(PolicyVerifier::Create(pcrs_on_snp), HasError(ErrorCode::kPolicyBadValue));
  EvidencePolicy bad_age = *p;
  bad_age.max_evidence_age_s = -1;
  EXPECT_THAT(PolicyVerifier::Create(bad_age), HasError(ErrorCode::kPolicyBadValue));
}

}  // namespace
}  // namespace eml::attest
