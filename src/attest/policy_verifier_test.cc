// PolicyVerifier and the policy keys that tighten a platform beyond its roots and pins: the
// sev-snp guest policy (allow_smt, allow_migration_agent, max_vmpl, minimum_tcb), the gcp-cs
// hwmodels and support_attributes, and the top-level binding requirement. Every verification
// here is real: SEV-SNP reports signed by the test AMD hierarchy (sevsnp/testing) and the real
// go-sev-guest report, Confidential Space tokens signed with the generated OIDC test key and
// the real Oak token.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "attest/envelope.h"
#include "attest/policy.h"
#include "attest/report_binding.h"
#include "attest/sevsnp/report.h"
#include "attest/sevsnp/testing/snp_test_pki.h"
#include "attest/sim/sim_provider.h"
#include "attest/tdx/testing/tdx_test_pki.h"
#include "common/encoding.h"
#include "common/secret_bytes.h"
#include "crypto/hash.h"
#include "crypto/rsa.h"
#include "testing/test_util.h"

namespace eml::attest {
namespace {

namespace fs = std::filesystem;
using ::eml::testing::HasError;
using ::eml::testing::IsOk;
using ::eml::testing::ReadFileBytes;
using ::eml::testing::ReadFileText;
using ::eml::testing::ReadJson;
using ::eml::testing::SharedVectorPath;
using ::eml::testing::SourcePath;
using Json = nlohmann::json;
using sevsnp::AttestationReport;
using sevsnp::testing::TestPkiSpec;
using sevsnp::testing::TestSnpPki;

constexpr int64_t kSnpTestAt = 1'800'000'000;  // inside the test hierarchy's validity
constexpr int64_t kRealSnpAt = 1'700'000'000;  // inside the real VCEK's validity
constexpr int64_t kGeneratedIat = 1'760'000'000;
constexpr char kGeneratedAudience[] = "https://relying-party.example";
constexpr int64_t kOakAt = 1757060250;  // the real token's iat
constexpr char kOakAudience[] = "z08381475938604996746";

const std::vector<uint8_t> kNonce(16, 0x5A);
const std::vector<uint8_t> kPublicKey(32, 0x11);

const StepResult* FindStep(const VerificationReport& report, const std::string& name) {
  for (const StepResult& step : report.steps) {
    if (step.name == name) {
      return &step;
    }
  }
  return nullptr;
}

// ExpectStep checks one step's status and code.
void ExpectStep(const Verification& v, const std::string& name, StepStatus status,
                ErrorCode code = ErrorCode::kOk) {
  const StepResult* step = FindStep(v.report, name);
  ASSERT_NE(step, nullptr) << "no step " << name << " in " << v.report.ToJson();
  EXPECT_EQ(step->status, status) << name << ": " << v.report.ToJson();
  EXPECT_EQ(step->code, code) << name << ": " << v.report.ToJson();
}

// ExpectOnlyFailure: the report fails exactly at `name` with `code`.
void ExpectOnlyFailure(const Verification& v, const std::string& name, ErrorCode code) {
  EXPECT_FALSE(v.report.verified);
  EXPECT_FALSE(v.evidence.has_value());
  for (const StepResult& step : v.report.steps) {
    if (step.status == StepStatus::kFailed) {
      EXPECT_EQ(step.name, name) << v.report.ToJson();
      EXPECT_EQ(step.code, code) << v.report.ToJson();
    }
  }
  ExpectStep(v, name, StepStatus::kFailed, code);
}

void ExpectVerified(const Verification& v) {
  EXPECT_TRUE(v.report.verified) << v.report.ToJson();
  EXPECT_TRUE(v.evidence.has_value());
}

class PolicyVerifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("eml_attest_policy_verifier_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  void WriteBytes(const fs::path& path, std::span<const uint8_t> bytes) {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
  }

  Result<EvidencePolicy> Parse(std::string_view json) { return ParseEvidencePolicy(json, dir_); }

  PolicyVerifier Verifier(std::string_view json) {
    Result<EvidencePolicy> policy = Parse(json);
    EXPECT_THAT(policy, IsOk()) << json;
    EML_CHECK(policy.has_value());
    Result<PolicyVerifier> v = PolicyVerifier::Create(*std::move(policy));
    EXPECT_THAT(v, IsOk()) << json;
    EML_CHECK(v.has_value());
    return *std::move(v);
  }

  static Verification Check(const PolicyVerifier& v, std::span<const uint8_t> evidence, int64_t at,
                            const BindingExpectation& binding = {}) {
    Result<Verification> r = v.Verify(evidence, at, binding);
    EML_CHECK(r.has_value());
    EXPECT_EQ(r->report.verified, r->evidence.has_value());
    return *std::move(r);
  }

  // SnpPolicy: a sev-snp policy trusting `pki`'s ARK (DER files in dir_), with `keys` added to
  // the platform entry and `top` to the top level.
  std::string SnpPolicy(const TestSnpPki& pki, const std::string& keys = "",
                        const std::string& top = "") {
    WriteBytes(dir_ / "ark.der", pki.ark().der());
    WriteBytes(dir_ / "ask.der", pki.ask().der());
    WriteBytes(dir_ / "vcek.der", pki.endorsement().der());
    return R"({"version": 1, "platforms": {"sev-snp": {"roots": ["ark.der"],
              "certificates": ["ask.der", "vcek.der"])" +
           (keys.empty() ? "" : ", " + keys) + "}}" + (top.empty() ? "" : ", " + top) + "}";
  }

  // RealSnpPolicy: the go-sev-guest report's Milan chain and VCEK, debug allowed (the sample
  // guest's policy sets DEBUG).
  std::string RealSnpPolicy(const std::string& keys) {
    fs::copy_file(SharedVectorPath("sevsnp/go-sev-guest/vcek.testcer.der"), dir_ / "vcek.der",
                  fs::copy_options::overwrite_existing);
    fs::copy_file(SharedVectorPath("sevsnp/go-sev-guest/ask_ark_milan.pem"), dir_ / "milan.pem",
                  fs::copy_options::overwrite_existing);
    return R"({"version": 1, "platforms": {"sev-snp": {"certificates": ["vcek.der", "milan.pem"], )" +
           keys + R"(}}, "allow_debug": true})";
  }

  fs::path dir_;
};

// ---- Parsing -------------------------------------------------------------------------------

TEST_F(PolicyVerifierTest, NewKeysParseWithTheirDefaults) {
  Result<EvidencePolicy> defaults =
      Parse(R"({"version": 1, "platforms": {"sev-snp": {}, "gcp-cs": {"audience": "https://a"}}})");
  ASSERT_THAT(defaults, IsOk());
  const PlatformPolicy& snp = *defaults->Find("sev-snp");
  EXPECT_TRUE(snp.allow_smt);
  EXPECT_FALSE(snp.allow_migration_agent);
  EXPECT_FALSE(snp.max_vmpl.has_value());
  EXPECT_FALSE(snp.minimum_tcb.has_value());
  EXPECT_TRUE(defaults->Find("gcp-cs")->hwmodels.empty());
  EXPECT_TRUE(defaults->Find("gcp-cs")->support_attributes.empty());
  EXPECT_FALSE(defaults->binding.require_public_key);
  EXPECT_FALSE(defaults->binding.require_nonce);

  Result<EvidencePolicy> full = Parse(R"({"version": 1, "platforms": {
      "sev-snp": {"allow_smt": false, "allow_migration_agent": true, "max_vmpl": 2,
                  "minimum_tcb": {"bootloader": 3, "tee": 1, "snp": 255, "microcode": 0}},
      "gcp-cs": {"audience": "https://a", "hwmodels": ["GCP_AMD_SEV_SNP", "GCP_INTEL_TDX"],
                 "support_attributes": ["STABLE"]}},
      "binding": {"require_public_key": true, "require_nonce": true}})");
  ASSERT_THAT(full, IsOk());
  const PlatformPolicy& snp2 = *full->Find("sev-snp");
  EXPECT_FALSE(snp2.allow_smt);
  EXPECT_TRUE(snp2.allow_migration_agent);
  EXPECT_EQ(snp2.max_vmpl, 2u);
  ASSERT_TRUE(snp2.minimum_tcb.has_value());
  EXPECT_EQ(*snp2.minimum_tcb, (sevsnp::TcbVersion{0, 3, 1, 255, 0}));
  EXPECT_EQ(full->Find("gcp-cs")->hwmodels,
            (std::vector<std::string>{"GCP_AMD_SEV_SNP", "GCP_INTEL_TDX"}));
  EXPECT_EQ(full->Find("gcp-cs")->support_attributes, std::vector<std::string>{"STABLE"});
  EXPECT_TRUE(full->binding.require_public_key);
  EXPECT_TRUE(full->binding.require_nonce);

  Result<EvidencePolicy> partial = Parse(R"({"version": 1, "platforms": {"sev-snp": {
      "minimum_tcb": {"microcode": 200}}}, "binding": {"require_nonce": true}})");
  ASSERT_THAT(partial, IsOk());
  EXPECT_EQ(*partial->Find("sev-snp")->minimum_tcb, (sevsnp::TcbVersion{0, 0, 0, 0, 200}));
  EXPECT_FALSE(partial->binding.require_public_key);
  EXPECT_TRUE(partial->binding.require_nonce);
}

struct BadKey {
  const char* name;
  const char* json;
  ErrorCode code;
  const char* where;  // the detail must name this key
};

TEST_F(PolicyVerifierTest, MalformedNewKeysEachGiveTheirCodeAndName) {
  const BadKey cases[] = {
      {"allow_smt is text", R"({"version": 1, "platforms": {"sev-snp": {"allow_smt": "no"}}})",
       ErrorCode::kPolicyMalformed, "platforms.sev-snp.allow_smt"},
      {"allow_migration_agent is a number",
       R"({"version": 1, "platforms": {"sev-snp": {"allow_migration_agent": 1}}})",
       ErrorCode::kPolicyMalformed, "platforms.sev-snp.allow_migration_agent"},
      {"max_vmpl 4", R"({"version": 1, "platforms": {"sev-snp": {"max_vmpl": 4}}})",
       ErrorCode::kPolicyBadValue, "platforms.sev-snp.max_vmpl"},
      {"max_vmpl -1", R"({"version": 1, "platforms": {"sev-snp": {"max_vmpl": -1}}})",
       ErrorCode::kPolicyBadValue, "platforms.sev-snp.max_vmpl"},
      {"max_vmpl 1.5", R"({"version": 1, "platforms": {"sev-snp": {"max_vmpl": 1.5}}})",
       ErrorCode::kPolicyMalformed, "platforms.sev-snp.max_vmpl"},
      {"max_vmpl on tdx",
       R"({"version": 1, "platforms": {"tdx": {"collateral_dir": "c", "max_vmpl": 0}}})",
       ErrorCode::kPolicyUnknownKey, "max_vmpl"},
      {"minimum_tcb is a list", R"({"version": 1, "platforms": {"sev-snp": {"minimum_tcb": []}}})",
       ErrorCode::kPolicyMalformed, "platforms.sev-snp.minimum_tcb"},
      {"minimum_tcb empty", R"({"version": 1, "platforms": {"sev-snp": {"minimum_tcb": {}}}})",
       ErrorCode::kPolicyBadValue, "platforms.sev-snp.minimum_tcb"},
      {"minimum_tcb microcode 256",
       R"({"version": 1, "platforms": {"sev-snp": {"minimum_tcb": {"microcode": 256}}}})",
       ErrorCode::kPolicyBadValue, "platforms.sev-snp.minimum_tcb.microcode"},
      {"minimum_tcb snp negative",
       R"({"version": 1, "platforms": {"sev-snp": {"minimum_tcb": {"snp": -1}}}})",
       ErrorCode::kPolicyBadValue, "platforms.sev-snp.minimum_tcb.snp"},
      {"minimum_tcb tee is text",
       R"({"version": 1, "platforms": {"sev-snp": {"minimum_tcb": {"tee": "1"}}}})",
       ErrorCode::kPolicyMalformed, "platforms.sev-snp.minimum_tcb.tee"},
      {"minimum_tcb unknown component",
       R"({"version": 1, "platforms": {"sev-snp": {"minimum_tcb": {"ucode": 1}}}})",
       ErrorCode::kPolicyUnknownKey, "ucode"},
      {"hwmodels empty",
       R"({"version": 1, "platforms": {"gcp-cs": {"audience": "a", "hwmodels": []}}})",
       ErrorCode::kPolicyBadValue, "platforms.gcp-cs.hwmodels"},
      {"hwmodels is text",
       R"({"version": 1, "platforms": {"gcp-cs": {"audience": "a", "hwmodels": "GCP_AMD_SEV"}}})",
       ErrorCode::kPolicyMalformed, "platforms.gcp-cs.hwmodels"},
      {"hwmodels entry a number",
       R"({"version": 1, "platforms": {"gcp-cs": {"audience": "a", "hwmodels": [1]}}})",
       ErrorCode::kPolicyMalformed, "platforms.gcp-cs.hwmodels"},
      {"hwmodels entry empty",
       R"({"version": 1, "platforms": {"gcp-cs": {"audience": "a", "hwmodels": [""]}}})",
       ErrorCode::kPolicyBadValue, "platforms.gcp-cs.hwmodels"},
      {"hwmodels twice",
       R"({"version": 1, "platforms": {"gcp-cs": {"audience": "a",
           "hwmodels": ["GCP_AMD_SEV", "GCP_AMD_SEV"]}}})",
       ErrorCode::kPolicyBadValue, "platforms.gcp-cs.hwmodels"},
      {"hwmodels on sev-snp",
       R"({"version": 1, "platforms": {"sev-snp": {"hwmodels": ["GCP_AMD_SEV"]}}})",
       ErrorCode::kPolicyUnknownKey, "hwmodels"},
      {"support_attributes empty",
       R"({"version": 1, "platforms": {"gcp-cs": {"audience": "a", "support_attributes": []}}})",
       ErrorCode::kPolicyBadValue, "platforms.gcp-cs.support_attributes"},
      {"binding is a list", R"({"version": 1, "platforms": {"sev-snp": {}}, "binding": []})",
       ErrorCode::kPolicyMalformed, "policy.binding"},
      {"binding unknown key",
       R"({"version": 1, "platforms": {"sev-snp": {}}, "binding": {"require_key": true}})",
       ErrorCode::kPolicyUnknownKey, "require_key"},
      {"require_nonce is text",
       R"({"version": 1, "platforms": {"sev-snp": {}}, "binding": {"require_nonce": "yes"}})",
       ErrorCode::kPolicyMalformed, "binding.require_nonce"},
  };
  for (const BadKey& c : cases) {
    Result<EvidencePolicy> p = Parse(c.json);
    ASSERT_FALSE(p.has_value()) << c.name;
    EXPECT_EQ(p.error().code, c.code) << c.name << ": " << p.error().detail;
    EXPECT_NE(p.error().detail.find(c.where), std::string::npos)
        << c.name << ": " << p.error().detail;
  }
}

TEST_F(PolicyVerifierTest, PoliciesBuiltInCodeAreValidatedForTheNewKeys) {
  Result<EvidencePolicy> base =
      Parse(R"({"version": 1, "platforms": {"sev-snp": {}, "gcp-cs": {"audience": "https://a"}}})");
  ASSERT_THAT(base, IsOk());
  EvidencePolicy vmpl = *base;
  vmpl.platforms["sev-snp"].max_vmpl = 4;
  EXPECT_THAT(PolicyVerifier::Create(vmpl), HasError(ErrorCode::kPolicyBadValue));
  EvidencePolicy vmpl_on_gcp = *base;
  vmpl_on_gcp.platforms["gcp-cs"].max_vmpl = 0;
  EXPECT_THAT(ValidateEvidencePolicy(vmpl_on_gcp), HasError(ErrorCode::kPolicyBadValue));
  EvidencePolicy tcb_on_gcp = *base;
  tcb_on_gcp.platforms["gcp-cs"].minimum_tcb = sevsnp::TcbVersion{};
  EXPECT_THAT(ValidateEvidencePolicy(tcb_on_gcp), HasError(ErrorCode::kPolicyBadValue));
  EvidencePolicy smt_on_gcp = *base;
  smt_on_gcp.platforms["gcp-cs"].allow_smt = false;
  EXPECT_THAT(ValidateEvidencePolicy(smt_on_gcp), HasError(ErrorCode::kPolicyBadValue));
  EvidencePolicy models_on_snp = *base;
  models_on_snp.platforms["sev-snp"].hwmodels = {"GCP_AMD_SEV"};
  EXPECT_THAT(ValidateEvidencePolicy(models_on_snp), HasError(ErrorCode::kPolicyBadValue));
  EvidencePolicy empty_model = *base;
  empty_model.platforms["gcp-cs"].hwmodels = {""};
  EXPECT_THAT(PolicyVerifier::Create(empty_model), HasError(ErrorCode::kPolicyBadValue));
  EvidencePolicy fine = *base;
  fine.platforms["sev-snp"].max_vmpl = 3;
  fine.platforms["gcp-cs"].support_attributes = {"STABLE"};
  EXPECT_THAT(PolicyVerifier::Create(fine), IsOk());
}

// ---- SEV-SNP guest policy (test AMD hierarchy) ---------------------------------------------

TEST_F(PolicyVerifierTest, SnpSmtRefusedOnlyWhenThePolicySaysSo) {
  const TestPkiSpec spec;
  const TestSnpPki pki = TestSnpPki::Create(spec);
  AttestationReport report = sevsnp::testing::BaseReport(spec);
  ASSERT_NE(report.policy & sevsnp::kPolicySmt, 0u);
  const std::vector<uint8_t> smt = pki.SignReport(report);
  report.policy &= ~sevsnp::kPolicySmt;
  const std::vector<uint8_t> no_smt = pki.SignReport(report);

  // Default: SMT allowed.
  Verification v = Check(Verifier(SnpPolicy(pki)), smt, kSnpTestAt);
  ExpectVerified(v);
  ExpectStep(v, "smt", StepStatus::kPassed);

  PolicyVerifier strict = Verifier(SnpPolicy(pki, R"("allow_smt": false)"));
  ExpectOnlyFailure(Check(strict, smt, kSnpTestAt), "smt", ErrorCode::kSnpSmtNotAllowed);
  ExpectVerified(Check(strict, no_smt, kSnpTestAt));
}

TEST_F(PolicyVerifierTest, SnpMigrationAgentRefusedByDefault) {
  const TestPkiSpec spec;
  const TestSnpPki pki = TestSnpPki::Create(spec);
  AttestationReport report = sevsnp::testing::BaseReport(spec);
  report.policy |= sevsnp::kPolicyMigrateMa;
  const std::vector<uint8_t> evidence = pki.SignReport(report);

  ExpectOnlyFailure(Check(Verifier(SnpPolicy(pki)), evidence, kSnpTestAt), "migration_agent",
                    ErrorCode::kSnpMigrationAgent);
  Verification allowed =
      Check(Verifier(SnpPolicy(pki, R"("allow_migration_agent": true)")), evidence, kSnpTestAt);
  ExpectVerified(allowed);
  ExpectStep(allowed, "migration_agent", StepStatus::kPassed);
}

TEST_F(PolicyVerifierTest, SnpVmplMustNotExceedMaxVmpl) {
  const TestPkiSpec spec;
  const TestSnpPki pki = TestSnpPki::Create(spec);
  AttestationReport report = sevsnp::testing::BaseReport(spec);
  report.vmpl = 2;
  const std::vector<uint8_t> vmpl2 = pki.SignReport(report);

  ExpectStep(Check(Verifier(SnpPolicy(pki)), vmpl2, kSnpTestAt), "vmpl",
             StepStatus::kNotApplicable);
  for (const char* max : {"0", "1"}) {
    SCOPED_TRACE(max);
    ExpectOnlyFailure(
        Check(Verifier(SnpPolicy(pki, std::string(R"("max_vmpl": )") + max)), vmpl2, kSnpTestAt),
        "vmpl", ErrorCode::kSnpVmplMismatch);
  }
  for (const char* max : {"2", "3"}) {
    SCOPED_TRACE(max);
    Verification v =
        Check(Verifier(SnpPolicy(pki, std::string(R"("max_vmpl": )") + max)), vmpl2, kSnpTestAt);
    ExpectVerified(v);
    ExpectStep(v, "vmpl", StepStatus::kPassed);
  }
}

TEST_F(PolicyVerifierTest, SnpMinimumTcbAgainstReportedAndCommittedTcb) {
  TestPkiSpec spec;
  spec.tcb = sevsnp::TcbVersion{0, 3, 1, 8, 115};
  const TestSnpPki pki = TestSnpPki::Create(spec);
  AttestationReport report = sevsnp::testing::BaseReport(spec);
  const std::vector<uint8_t> evidence = pki.SignReport(report);

  struct Case {
    const char* minimum;
    bool ok;
  };
  const Case cases[] = {
      {R"({"bootloader": 3, "tee": 1, "snp": 8, "microcode": 115})", true},  // equal
      {R"({"bootloader": 2, "tee": 0, "snp": 7, "microcode": 100})", true},  // below
      {R"({"microcode": 115})", true},
      {R"({"bootloader": 4})", false},
      {R"({"tee": 2})", false},
      {R"({"snp": 9})", false},
      {R"({"microcode": 116})", false},
      {R"({"bootloader": 3, "tee": 1, "snp": 8, "microcode": 255})", false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.minimum);
    Verification v = Check(Verifier(SnpPolicy(pki, std::string(R"("minimum_tcb": )") + c.minimum)),
                           evidence, kSnpTestAt);
    if (c.ok) {
      ExpectVerified(v);
      ExpectStep(v, "minimum_tcb", StepStatus::kPassed);
    } else {
      ExpectOnlyFailure(v, "minimum_tcb", ErrorCode::kSnpTcbTooLow);
    }
  }

  // The reported TCB matches the VCEK, but the firmware may still be rolled back below the
  // minimum: the committed TCB counts too.
  report.committed_tcb = sevsnp::EncodeTcb({0, 2, 1, 8, 115}, sevsnp::Product::kMilan);
  const std::vector<uint8_t> low_commit = pki.SignReport(report);
  PolicyVerifier min = Verifier(SnpPolicy(pki, R"("minimum_tcb": {"bootloader": 3})"));
  Verification v = Check(min, low_commit, kSnpTestAt);
  ExpectOnlyFailure(v, "minimum_tcb", ErrorCode::kSnpTcbTooLow);
  EXPECT_NE(FindStep(v.report, "minimum_tcb")->detail.find("committed"), std::string::npos);
  ExpectVerified(Check(Verifier(SnpPolicy(pki, R"("minimum_tcb": {"bootloader": 2})")), low_commit,
                       kSnpTestAt));
}

TEST_F(PolicyVerifierTest, SnpGuestPolicyStepsReportEveryProblemAtOnce) {
  const TestPkiSpec spec;
  const TestSnpPki pki = TestSnpPki::Create(spec);
  AttestationReport report = sevsnp::testing::BaseReport(spec);
  report.policy |= sevsnp::kPolicyMigrateMa;
  report.vmpl = 3;
  const std::vector<uint8_t> evidence = pki.SignReport(report);
  Verification v = Check(Verifier(SnpPolicy(pki, R"("allow_smt": false, "max_vmpl": 0,
      "minimum_tcb": {"snp": 200})")),
                         evidence, kSnpTestAt);
  EXPECT_FALSE(v.report.verified);
  ExpectStep(v, "smt", StepStatus::kFailed, ErrorCode::kSnpSmtNotAllowed);
  ExpectStep(v, "migration_agent", StepStatus::kFailed, ErrorCode::kSnpMigrationAgent);
  ExpectStep(v, "vmpl", StepStatus::kFailed, ErrorCode::kSnpVmplMismatch);
  ExpectStep(v, "minimum_tcb", StepStatus::kFailed, ErrorCode::kSnpTcbTooLow);
  ExpectStep(v, "report_signature", StepStatus::kPassed);
}

// ---- SEV-SNP: the real go-sev-guest report --------------------------------------------------

TEST_F(PolicyVerifierTest, RealSnpReportAgainstItsOwnReportedTcb) {
  const Json expected = ReadJson(SharedVectorPath("sevsnp/expected.json"))["attestation.bin"];
  const Json& tcb = expected["reported_tcb_decoded(Milan)"];
  const std::vector<uint8_t> report =
      ReadFileBytes(SharedVectorPath("sevsnp/go-sev-guest/attestation.bin"));
  ASSERT_EQ(expected["vmpl"].get<int>(), 0);

  const auto minimum = [&tcb](const char* bump) {
    std::string out = "{";
    for (const char* name : {"bootloader", "tee", "snp", "microcode"}) {
      const int value = tcb[name].get<int>() + (std::string_view(name) == bump ? 1 : 0);
      out += std::string(out.size() > 1 ? ", " : "") + "\"" + name + "\": " + std::to_string(value);
    }
    return out + "}";
  };
  // Its own reported TCB, VMPL 0 as the maximum, SMT allowed (its guest policy 0xb0000 sets it).
  Verification v =
      Check(Verifier(RealSnpPolicy(std::string(R"("max_vmpl": 0, "minimum_tcb": )") + minimum(""))),
            report, kRealSnpAt);
  ExpectVerified(v);
  ExpectStep(v, "minimum_tcb", StepStatus::kPassed);
  ExpectStep(v, "vmpl", StepStatus::kPassed);
  ExpectStep(v, "smt", StepStatus::kPassed);
  EXPECT_EQ(v.report.attributes.at("reported_tcb"), expected["reported_tcb"].get<std::string>());

  for (const char* bump : {"bootloader", "tee", "snp", "microcode"}) {
    SCOPED_TRACE(bump);
    ExpectOnlyFailure(
        Check(Verifier(RealSnpPolicy(std::string(R"("minimum_tcb": )") + minimum(bump))), report,
              kRealSnpAt),
        "minimum_tcb", ErrorCode::kSnpTcbTooLow);
  }
  ExpectOnlyFailure(Check(Verifier(RealSnpPolicy(R"("allow_smt": false)")), report, kRealSnpAt),
                    "smt", ErrorCode::kSnpSmtNotAllowed);
}

// ---- Binding requirement -------------------------------------------------------------------

TEST_F(PolicyVerifierTest, BindingRequirementRefusesCallsThatLackIt) {
  const TestPkiSpec spec;
  const TestSnpPki pki = TestSnpPki::Create(spec);
  AttestationReport report = sevsnp::testing::BaseReport(spec);
  const std::array<uint8_t, kReportDataBytes> digest = BindingDigest(kPublicKey, kNonce);
  std::copy(digest.begin(), digest.end(), report.report_data.begin());
  const std::vector<uint8_t> evidence = pki.SignReport(report);

  // No requirement: today's behaviour, the step is not_applicable.
  Verification loose = Check(Verifier(SnpPolicy(pki)), evidence, kSnpTestAt);
  ExpectVerified(loose);
  ExpectStep(loose, "binding_required", StepStatus::kNotApplicable);

  PolicyVerifier both = Verifier(
      SnpPolicy(pki, "", R"("binding": {"require_public_key": true, "require_nonce": true})"));
  ExpectOnlyFailure(Check(both, evidence, kSnpTestAt), "binding_required",
                    ErrorCode::kPolicyBindingRequired);
  // The key without the nonce: still refused, and the binding itself fails too (report data
  // binds the nonce).
  Verification key_only = Check(both, evidence, kSnpTestAt, {std::nullopt, kPublicKey});
  EXPECT_FALSE(key_only.report.verified);
  ExpectStep(key_only, "binding_required", StepStatus::kFailed, ErrorCode::kPolicyBindingRequired);
  EXPECT_NE(FindStep(key_only.report, "binding_required")->detail.find("nonce"), std::string::npos);
  // An empty key counts as none.
  ExpectStep(Check(both, evidence, kSnpTestAt, {kNonce, std::vector<uint8_t>{}}),
             "binding_required", StepStatus::kFailed, ErrorCode::kPolicyBindingRequired);
  Verification ok = Check(both, evidence, kSnpTestAt, {kNonce, kPublicKey});
  ExpectVerified(ok);
  ExpectStep(ok, "binding_required", StepStatus::kPassed);
  ExpectStep(ok, "binding", StepStatus::kPassed);

  // Only the nonce required: a key-less binding is fine as far as the requirement goes.
  PolicyVerifier nonce_only = Verifier(SnpPolicy(pki, "", R"("binding": {"require_nonce": true})"));
  ExpectStep(Check(nonce_only, evidence, kSnpTestAt, {kNonce, std::nullopt}), "binding_required",
             StepStatus::kPassed);
  ExpectStep(Check(nonce_only, evidence, kSnpTestAt, {std::nullopt, kPublicKey}),
             "binding_required", StepStatus::kFailed, ErrorCode::kPolicyBindingRequired);
}

TEST_F(PolicyVerifierTest, BindingRequirementAppliesToNitroDocuments) {
  constexpr int64_t kNow = 1'800'000'000;
  const std::vector<uint8_t> binary = {'e', 'l', 'f'};
  const std::vector<uint8_t> config = {'{', '}'};
  const std::vector<uint8_t> anchors = {'r'};
  Result<sim::SimProvider> sim =
      sim::SimProvider::Create(dir_ / "state", {binary, config, anchors}, kNow);
  ASSERT_THAT(sim, IsOk());
  sim::AttestationRequest req;
  req.nonce = kNonce;
  req.public_key = kPublicKey;
  Result<std::vector<uint8_t>> doc = sim->Attest(req, uint64_t{kNow} * 1000);
  ASSERT_THAT(doc, IsOk());
  PolicyVerifier v = Verifier(
      R"({"version": 1, "platforms": {"sim": {"roots": ["state/attest-sim/root.pem"]}},
          "binding": {"require_public_key": true, "require_nonce": true}})");
  Verification refused = Check(v, *doc, kNow);
  ExpectOnlyFailure(refused, "binding_required", ErrorCode::kPolicyBindingRequired);
  EXPECT_EQ(refused.report.steps.at(2).name, "binding_required");
  ExpectVerified(Check(v, *doc, kNow, {kNonce, kPublicKey}));
}

// ---- GCP Confidential Space: hwmodels and support_attributes -------------------------------

// SignTestToken signs `payload` with the generated OIDC test key (kid eml-test-key-1; its
// public half is in tests/vectors/gcp/jwks.json).
std::string SignTestToken(const Json& payload) {
  static const crypto::RsaPrivateKey* key = [] {
    std::string hex = ReadFileText(SourcePath("tests/vectors/gcp/oidc_key.pkcs8.hex"));
    hex.erase(hex.find_last_not_of('\n') + 1);
    Result<std::vector<uint8_t>> der = HexDecode(hex);
    EML_CHECK(der.has_value());
    Result<crypto::RsaPrivateKey> k =
        crypto::RsaPrivateKey::FromPkcs8Der(SecretBytes::CopyFrom(*der));
    EML_CHECK(k.has_value());
    return new crypto::RsaPrivateKey(*std::move(k));
  }();
  const Json header = {{"alg", "RS256"}, {"kid", "eml-test-key-1"}, {"typ", "JWT"}};
  const std::string input =
      Base64UrlEncode(AsBytes(header.dump())) + "." + Base64UrlEncode(AsBytes(payload.dump()));
  Result<std::vector<uint8_t>> sig = key->SignPkcs1Sha256(AsBytes(input));
  EML_CHECK(sig.has_value());
  return input + "." + Base64UrlEncode(*sig);
}

// GeneratedClaims: the claims of tests/vectors/gcp/oidc_valid.jwt.
Json GeneratedClaims() {
  const std::string token = ReadFileText(SourcePath("tests/vectors/gcp/oidc_valid.jwt"));
  const size_t a = token.find('.');
  const size_t b = token.find('.', a + 1);
  Result<std::vector<uint8_t>> payload = Base64UrlDecode(token.substr(a + 1, b - a - 1));
  EML_CHECK(payload.has_value());
  return Json::parse(payload->begin(), payload->end());
}

std::string GcpPolicy(const std::string& keys) {
  return std::string(R"({"version": 1, "platforms": {"gcp-cs": {"audience": ")") +
         kGeneratedAudience + R"(", "jwks": ")" +
         SourcePath("tests/vectors/gcp/jwks.json").string() + "\"" +
         (keys.empty() ? "" : ", " + keys) + "}}}";
}

TEST_F(PolicyVerifierTest, GcpHwModelOutsideTheListRefused) {
  Json claims = GeneratedClaims();
  claims["hwmodel"] = "GCP_AMD_SEV";
  const std::string sev = SignTestToken(claims);
  claims["hwmodel"] = "GCP_INTEL_TDX";
  const std::string tdx = SignTestToken(claims);

  // Default: any hardware.
  Verification any = Check(Verifier(GcpPolicy("")), AsBytes(sev), kGeneratedIat);
  ExpectVerified(any);
  ExpectStep(any, "hwmodel", StepStatus::kNotApplicable);

  PolicyVerifier snp_or_tdx =
      Verifier(GcpPolicy(R"("hwmodels": ["GCP_AMD_SEV_SNP", "GCP_INTEL_TDX"])"));
  ExpectOnlyFailure(Check(snp_or_tdx, AsBytes(sev), kGeneratedIat), "hwmodel",
                    ErrorCode::kGcpHwModelNotAllowed);
  Verification inside = Check(snp_or_tdx, AsBytes(tdx), kGeneratedIat);
  ExpectVerified(inside);
  ExpectStep(inside, "hwmodel", StepStatus::kPassed);
}

TEST_F(PolicyVerifierTest, GcpSupportAttributesMustAllBePresent) {
  Json claims = GeneratedClaims();
  claims["submods"]["confidential_space"]["support_attributes"] = {"LATEST", "STABLE", "USABLE"};
  const std::string stable = SignTestToken(claims);
  claims["submods"]["confidential_space"]["support_attributes"] = {"USABLE"};
  const std::string usable = SignTestToken(claims);
  claims["submods"].erase("confidential_space");
  const std::string none = SignTestToken(claims);

  Verification loose = Check(Verifier(GcpPolicy("")), AsBytes(usable), kGeneratedIat);
  ExpectVerified(loose);
  ExpectStep(loose, "support_attributes", StepStatus::kNotApplicable);
  EXPECT_EQ(loose.report.attributes.at("support_attributes"), "USABLE");

  PolicyVerifier v = Verifier(GcpPolicy(R"("support_attributes": ["STABLE"])"));
  Verification ok = Check(v, AsBytes(stable), kGeneratedIat);
  ExpectVerified(ok);
  ExpectStep(ok, "support_attributes", StepStatus::kPassed);
  ExpectOnlyFailure(Check(v, AsBytes(usable), kGeneratedIat), "support_attributes",
                    ErrorCode::kPolicySupportAttribute);
  ExpectOnlyFailure(Check(v, AsBytes(none), kGeneratedIat), "support_attributes",
                    ErrorCode::kPolicySupportAttribute);
  ExpectOnlyFailure(
      Check(Verifier(GcpPolicy(R"("support_attributes": ["STABLE", "EXPERIMENTAL"])")),
            AsBytes(stable), kGeneratedIat),
      "support_attributes", ErrorCode::kPolicySupportAttribute);

  // A malformed support_attributes claim is a malformed token.
  claims["submods"]["confidential_space"]["support_attributes"] = "STABLE";
  ExpectStep(Check(Verifier(GcpPolicy("")), AsBytes(SignTestToken(claims)), kGeneratedIat),
             "claims_fields", StepStatus::kFailed, ErrorCode::kGcpBadClaim);
}

TEST_F(PolicyVerifierTest, RealGcpTokenUnderHwModelAndSupportPolicy) {
  const std::string token_text = ReadFileText(SharedVectorPath("gcp/oak/ctf_sha2-sample.jwt"));
  const std::span<const uint8_t> token = AsBytes(token_text);
  const std::string head = std::string(R"({"version": 1, "platforms": {"gcp-cs": {"audience": ")") +
                           kOakAudience + "\", ";
  Verification ok = Check(
      Verifier(head + R"("hwmodels": ["GCP_INTEL_TDX"], "support_attributes": ["STABLE"]}}})"),
      token, kOakAt);
  ExpectVerified(ok);
  ExpectStep(ok, "hwmodel", StepStatus::kPassed);
  ExpectStep(ok, "support_attributes", StepStatus::kPassed);
  EXPECT_EQ(ok.report.attributes.at("support_attributes"), "LATEST,STABLE,USABLE");
  ExpectOnlyFailure(
      Check(Verifier(head + R"("hwmodels": ["GCP_AMD_SEV", "GCP_AMD_SEV_SNP"]}}})"), token, kOakAt),
      "hwmodel", ErrorCode::kGcpHwModelNotAllowed);
}

// ---- Evidence envelopes (attest/envelope.h) ------------------------------------------------

const std::vector<uint8_t> kUserData = {0xA2, 0x61, 0x6B, 0x01, 0x61, 0x76, 0x04};
constexpr int64_t kTdxAt = 1'700'000'000;  // inside the synthetic TDX collateral's validity

std::vector<uint8_t> Wrap(const std::string& platform, std::vector<uint8_t> evidence,
                          const std::vector<uint8_t>& public_key = kPublicKey,
                          const std::vector<uint8_t>& nonce = kNonce,
                          const std::vector<uint8_t>& user_data = kUserData) {
  EvidenceEnvelope e;
  e.platform = platform;
  e.evidence = std::move(evidence);
  e.public_key = public_key;
  e.nonce = nonce;
  e.user_data = user_data;
  Result<std::vector<uint8_t>> bytes = EncodeEnvelope(e);
  EML_CHECK(bytes.has_value());
  return *std::move(bytes);
}

// The report data an enclave's provider binds for (key, nonce, user_data).
std::vector<uint8_t> ReportData(const std::vector<uint8_t>& public_key = kPublicKey,
                                const std::vector<uint8_t>& nonce = kNonce,
                                const std::vector<uint8_t>& user_data = kUserData) {
  const auto digest = BindingDigest(public_key, BoundNonce(nonce, user_data));
  return {digest.begin(), digest.end()};
}

class EnvelopeVerifierTest : public PolicyVerifierTest {
 protected:
  // TdxPolicy trusts tdx_pki_'s root with SPR-sample collateral written into dir_.
  std::string TdxPolicy(const std::string& top = "") {
    tdx_pki_.WriteCollateralDirectory(
        dir_ / "tdx-collateral", tdx::testing::SprSampleTcbInfoBody(1698796800, 1701388800),
        tdx::testing::SprSampleQeIdentityBody(1698796800, 1701388800), 1690000000, 1710000000);
    WriteBytes(dir_ / "intel-test-root.der", tdx_pki_.root_der());
    return R"({"version": 1, "platforms": {"tdx": {"roots": ["intel-test-root.der"],
               "collateral_dir": "tdx-collateral"}})" +
           (top.empty() ? "" : ", " + top) + "}";
  }
  std::vector<uint8_t> TdxQuote(const std::vector<uint8_t>& report_data) const {
    return tdx_pki_.RebuildQuoteWithReportData(sample_quote_, report_data);
  }
  std::vector<uint8_t> SnpReport(const std::vector<uint8_t>& report_data) const {
    AttestationReport report = sevsnp::testing::BaseReport(snp_spec_);
    std::copy(report_data.begin(), report_data.end(), report.report_data.begin());
    return snp_pki_.SignReport(report);
  }
  static std::vector<uint8_t> GcpToken(const std::vector<uint8_t>& public_key = kPublicKey,
                                       const std::vector<uint8_t>& nonce = kNonce,
                                       const std::vector<uint8_t>& user_data = kUserData) {
    Json claims = GeneratedClaims();
    claims["eat_nonce"] = GcpBindingNonce(public_key, BoundNonce(nonce, user_data));
    const std::string token = SignTestToken(claims);
    return {token.begin(), token.end()};
  }

  // ExpectEnvelopeVerified: verified, with the envelope's claims as attested facts.
  static void ExpectEnvelopeVerified(const Verification& v, const std::string& platform,
                                     std::span<const uint8_t> envelope) {
    ExpectVerified(v);
    ASSERT_TRUE(v.evidence.has_value());
    EXPECT_EQ(v.report.steps.at(0).name, "evidence_kind");
    EXPECT_EQ(v.report.steps.at(0).detail, "envelope");
    ExpectStep(v, "envelope", StepStatus::kPassed);
    EXPECT_EQ(v.evidence->platform(), platform);
    EXPECT_EQ(v.evidence->public_key(), kPublicKey);
    EXPECT_EQ(v.evidence->nonce(), kNonce);
    EXPECT_EQ(v.evidence->user_data(), kUserData);
    const auto sha = crypto::Sha256(envelope);
    EXPECT_EQ(v.evidence->document_sha256(), sha);
  }

  std::vector<uint8_t> sample_quote_ =
      ReadFileBytes(SharedVectorPath(tdx::testing::kSprSampleQuote));
  tdx::testing::TestPki tdx_pki_ = tdx::testing::TestPki::Create();
  TestPkiSpec snp_spec_;
  TestSnpPki snp_pki_ = TestSnpPki::Create(snp_spec_);
};

TEST_F(EnvelopeVerifierTest, TdxEnvelopeVerifiesAndAttestsItsFields) {
  const PolicyVerifier v = Verifier(TdxPolicy());
  const std::vector<uint8_t> envelope = Wrap(kPlatformTdx, TdxQuote(ReportData()));
  EXPECT_EQ(DetectEvidenceKind(envelope), EvidenceKind::kEnvelope);
  const Verification ok = Check(v, envelope, kTdxAt, {kNonce, kPublicKey});
  ExpectEnvelopeVerified(ok, kPlatformTdx, envelope);
  ExpectStep(ok, "binding", StepStatus::kPassed);
  ExpectStep(ok, "envelope_binding", StepStatus::kPassed);
  EXPECT_EQ(ok.evidence->named_measurements().count("mrtd"), 1u);
  // Without an expectation the envelope's own binding is still checked.
  const Verification open = Check(v, envelope, kTdxAt);
  ExpectEnvelopeVerified(open, kPlatformTdx, envelope);
  ExpectStep(open, "binding", StepStatus::kPassed);
  ExpectStep(open, "envelope_binding", StepStatus::kNotApplicable);
}

TEST_F(EnvelopeVerifierTest, SnpEnvelopeVerifiesAndAttestsItsFields) {
  const PolicyVerifier v = Verifier(SnpPolicy(snp_pki_));
  const std::vector<uint8_t> envelope = Wrap(kPlatformSevSnp, SnpReport(ReportData()));
  const Verification ok = Check(v, envelope, kSnpTestAt, {kNonce, kPublicKey});
  ExpectEnvelopeVerified(ok, kPlatformSevSnp, envelope);
  ExpectStep(ok, "binding", StepStatus::kPassed);
}

TEST_F(EnvelopeVerifierTest, GcpEnvelopeVerifiesAndAttestsItsFields) {
  const PolicyVerifier v = Verifier(GcpPolicy(""));
  const std::vector<uint8_t> envelope = Wrap(kPlatformGcpCs, GcpToken());
  const Verification ok = Check(v, envelope, kGeneratedIat, {kNonce, kPublicKey});
  ExpectEnvelopeVerified(ok, kPlatformGcpCs, envelope);
  ExpectStep(ok, "nonce", StepStatus::kPassed);
}

TEST_F(EnvelopeVerifierTest, UserDataOtherThanTheBoundOneRefused) {
  std::vector<uint8_t> other = kUserData;
  other.back() ^= 1;
  const std::vector<uint8_t> tdx =
      Wrap(kPlatformTdx, TdxQuote(ReportData()), kPublicKey, kNonce, other);
  ExpectOnlyFailure(Check(Verifier(TdxPolicy()), tdx, kTdxAt, {kNonce, kPublicKey}), "binding",
                    ErrorCode::kPolicyBindingMismatch);
  const std::vector<uint8_t> snp =
      Wrap(kPlatformSevSnp, SnpReport(ReportData()), kPublicKey, kNonce, other);
  ExpectOnlyFailure(Check(Verifier(SnpPolicy(snp_pki_)), snp, kSnpTestAt), "binding",
                    ErrorCode::kPolicyBindingMismatch);
  const std::vector<uint8_t> gcp = Wrap(kPlatformGcpCs, GcpToken(), kPublicKey, kNonce, other);
  ExpectOnlyFailure(Check(Verifier(GcpPolicy("")), gcp, kGeneratedIat), "nonce",
                    ErrorCode::kAttestNonceMismatch);
  // Dropping the user_data is a change too.
  const std::vector<uint8_t> dropped =
      Wrap(kPlatformTdx, TdxQuote(ReportData()), kPublicKey, kNonce, {});
  ExpectOnlyFailure(Check(Verifier(TdxPolicy()), dropped, kTdxAt), "binding",
                    ErrorCode::kPolicyBindingMismatch);
}

TEST_F(EnvelopeVerifierTest, WrongPublicKeyRefused) {
  const PolicyVerifier v = Verifier(TdxPolicy());
  const std::vector<uint8_t> other_key(32, 0x33);
  // The caller expects another key than the (genuine) envelope names.
  const std::vector<uint8_t> genuine = Wrap(kPlatformTdx, TdxQuote(ReportData()));
  ExpectOnlyFailure(Check(v, genuine, kTdxAt, {kNonce, other_key}), "envelope_binding",
                    ErrorCode::kEnvelopeBindingMismatch);
  // The envelope claims another key than the quote binds.
  const std::vector<uint8_t> swapped = Wrap(kPlatformTdx, TdxQuote(ReportData()), other_key);
  ExpectOnlyFailure(Check(v, swapped, kTdxAt), "binding", ErrorCode::kPolicyBindingMismatch);
}

TEST_F(EnvelopeVerifierTest, WrongNonceRefused) {
  const PolicyVerifier v = Verifier(TdxPolicy());
  const std::vector<uint8_t> other_nonce(16, 0x77);
  const std::vector<uint8_t> genuine = Wrap(kPlatformTdx, TdxQuote(ReportData()));
  ExpectOnlyFailure(Check(v, genuine, kTdxAt, {other_nonce, kPublicKey}), "envelope_binding",
                    ErrorCode::kEnvelopeBindingMismatch);
  const std::vector<uint8_t> replayed =
      Wrap(kPlatformTdx, TdxQuote(ReportData()), kPublicKey, other_nonce);
  ExpectOnlyFailure(Check(v, replayed, kTdxAt, {other_nonce, kPublicKey}), "binding",
                    ErrorCode::kPolicyBindingMismatch);
}

TEST_F(EnvelopeVerifierTest, PlatformMustMatchTheWrappedEvidence) {
  const std::string policy = TdxPolicy();
  const PolicyVerifier v = Verifier(policy);
  const std::vector<uint8_t> quote = TdxQuote(ReportData());
  for (const char* platform : {kPlatformSevSnp, kPlatformGcpCs}) {
    const Verification refused = Check(v, Wrap(platform, quote), kTdxAt);
    ExpectOnlyFailure(refused, "envelope", ErrorCode::kEnvelopePlatformMismatch);
    EXPECT_EQ(refused.report.platform, platform);
  }
  // An envelope inside an envelope.
  ExpectOnlyFailure(Check(v, Wrap(kPlatformTdx, Wrap(kPlatformTdx, quote)), kTdxAt), "envelope",
                    ErrorCode::kEnvelopePlatformMismatch);
  // A TDX envelope under a policy without tdx.
  ExpectOnlyFailure(Check(Verifier(SnpPolicy(snp_pki_)), Wrap(kPlatformTdx, quote), kTdxAt),
                    "platform_allowed", ErrorCode::kPolicyPlatformNotAllowed);
}

TEST_F(EnvelopeVerifierTest, NitroDocumentsAreNeverWrapped) {
  const std::vector<uint8_t> nitro =
      ReadFileBytes(SharedVectorPath("nitro/cape-js/isomorphic-attestation.bin"));
  ASSERT_EQ(DetectEvidenceKind(nitro), EvidenceKind::kNitroDocument);
  const PolicyVerifier v = Verifier(R"({"version": 1, "platforms": {"aws-nitro": {}}})");
  ExpectOnlyFailure(Check(v, Wrap(kPlatformTdx, nitro), kTdxAt), "envelope",
                    ErrorCode::kEnvelopePlatformMismatch);
}

TEST_F(EnvelopeVerifierTest, OversizeAndTruncatedEnvelopesRefused) {
  const PolicyVerifier v = Verifier(TdxPolicy());
  const std::vector<uint8_t> envelope = Wrap(kPlatformTdx, TdxQuote(ReportData()));
  const std::vector<uint8_t> truncated(envelope.begin(), envelope.end() - 1);
  ExpectOnlyFailure(Check(v, truncated, kTdxAt), "envelope", ErrorCode::kEnvelopeMalformed);
  std::vector<uint8_t> oversize = envelope;
  oversize.resize(kMaxEnvelopeBytes + 1, 0);
  ExpectOnlyFailure(Check(v, oversize, kTdxAt), "envelope", ErrorCode::kEnvelopeTooLarge);
  // A single flipped bit in the wrapped quote fails the quote's own signature check.
  std::vector<uint8_t> flipped = TdxQuote(ReportData());
  flipped[48 + 100] ^= 1;
  const Verification tampered = Check(v, Wrap(kPlatformTdx, flipped), kTdxAt);
  EXPECT_FALSE(tampered.report.verified);
  EXPECT_FALSE(tampered.evidence.has_value());
}

TEST_F(EnvelopeVerifierTest, BindingRequirementAppliesToTheCallerNotTheEnvelope) {
  const PolicyVerifier v =
      Verifier(TdxPolicy(R"("binding": {"require_public_key": true, "require_nonce": true})"));
  const std::vector<uint8_t> envelope = Wrap(kPlatformTdx, TdxQuote(ReportData()));
  ExpectOnlyFailure(Check(v, envelope, kTdxAt), "binding_required",
                    ErrorCode::kPolicyBindingRequired);
  ExpectVerified(Check(v, envelope, kTdxAt, {kNonce, kPublicKey}));
}

}  // namespace
}  // namespace eml::attest
