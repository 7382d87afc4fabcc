// End-to-end tests of `ephemeralml attest verify`: runs the built binary (EML_EPHEMERALML_PATH)
// on the real Nitro documents and on a sim document, and checks exit codes and JSON output.

#include <gtest/gtest.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "attest/sim/sim_provider.h"
#include "ephemeralml/testing/cli_runner.h"
#include "testing/test_util.h"

namespace eml::apps {
namespace {

namespace fs = std::filesystem;
using ::eml::testing::SharedVectorPath;

constexpr char kProduction[] = "nitro/cape-js/cape-spec-attestationDocument.bin";
constexpr char kProductionAt[] = "1663263809";
constexpr char kProductionPcr0[] =
    "ea4212ee889ba1b4dbfe744aadecca8b1930de60a3a1ce3b0c79f42b231700fc561c3d9b34f0565ed9eb6f46099"
    "6624c";
constexpr char kDebug[] = "nitro/fortanix-rust-sgx/request_proper.bin";
constexpr char kDebugAt[] = "1631182761";

class AttestCommandTest : public CliTest {
 protected:
  AttestCommandTest() : CliTest(EML_EPHEMERALML_PATH, "eml-attest-cli") {}

  static std::string Vector(const char* name) { return SharedVectorPath(name).string(); }
};

TEST_F(AttestCommandTest, RealDocumentVerifiesWithTheEmbeddedRootAtItsTime) {
  RunResult r = Run({"attest", "verify", Vector(kProduction), "--at", kProductionAt, "--expect-pcr",
                     std::string("0=") + kProductionPcr0, "--production", "--format", "json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["verified"], true);
  EXPECT_EQ(j["debug"], false);
  EXPECT_EQ(j["measurements"]["0"], kProductionPcr0);
}

TEST_F(AttestCommandTest, TextOutputAndDebugHandling) {
  RunResult ok = Run({"attest", "verify", Vector(kDebug), "--at", kDebugAt});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_NE(ok.out.find("verified: yes"), std::string::npos);
  EXPECT_NE(ok.out.find("debug: yes"), std::string::npos);
  RunResult prod = Run({"attest", "verify", Vector(kDebug), "--at", kDebugAt, "--production"});
  EXPECT_EQ(prod.exit_code, 1);
  EXPECT_NE(prod.err.find("ATTEST_DEBUG_MODE"), std::string::npos);
}

TEST_F(AttestCommandTest, NotVerifiedCasesExitOne) {
  // Now: the certificates expired long ago.
  EXPECT_EQ(Run({"attest", "verify", Vector(kProduction)}).exit_code, 1);
  // Wrong PCR0 pin.
  EXPECT_EQ(Run({"attest", "verify", Vector(kProduction), "--at", kProductionAt, "--expect-pcr",
                 "0=" + std::string(96, 'a')})
                .exit_code,
            1);
  // Wrong root.
  EXPECT_EQ(Run({"attest", "verify", Vector(kProduction), "--at", kProductionAt, "--root",
                 Vector("nitro/fortanix-rust-sgx/unknown_ca.crt")})
                .exit_code,
            1);
  // Tampered signature.
  EXPECT_EQ(Run({"attest", "verify", Vector("nitro/fortanix-rust-sgx/tampered_signature.bin"),
                 "--at", kDebugAt})
                .exit_code,
            1);
}

TEST_F(AttestCommandTest, UsageErrorsExitTwo) {
  EXPECT_EQ(Run({"attest", "verify", (dir_ / "missing.bin").string()}).exit_code, 2);
  EXPECT_EQ(Run({"attest", "verify", Vector(kProduction), "--expect-pcr", "zero=00"}).exit_code, 2);
  EXPECT_EQ(Run({"attest", "verify", Vector(kProduction), "--at", "yesterday"}).exit_code, 2);
  EXPECT_EQ(Run({"attest", "verify", Vector(kProduction), "--format", "xml"}).exit_code, 2);
  // The tampered root either fails to load (2) or is not the document's root (1).
  EXPECT_NE(Run({"attest", "verify", Vector(kProduction), "--at", kProductionAt, "--root",
                 Vector("nitro/fortanix-rust-sgx/tampered_root_cert.crt")})
                .exit_code,
            0);
}

TEST_F(AttestCommandTest, SimDocumentVerifiesWithTheSimRoot) {
  const std::vector<uint8_t> binary = {'b'}, config = {'c'}, anchors = {'a'};
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  Result<attest::sim::SimProvider> sim =
      attest::sim::SimProvider::Create(dir_ / "state", {binary, config, anchors}, now);
  ASSERT_TRUE(sim.has_value());
  attest::sim::AttestationRequest req;
  req.nonce = std::vector<uint8_t>(16, 0x01);
  Result<std::vector<uint8_t>> doc = sim->Attest(req, static_cast<uint64_t>(now) * 1000);
  ASSERT_TRUE(doc.has_value());
  const fs::path doc_path = dir_ / "sim.bin";
  std::ofstream(doc_path, std::ios::binary)
      .write(std::string(doc->begin(), doc->end()).data(),
             static_cast<std::streamsize>(doc->size()));
  const std::string root = (dir_ / "state" / "attest-sim" / "root.pem").string();
  const std::string at = std::to_string(now);
  RunResult r = Run({"attest", "verify", doc_path.string(), "--root", root, "--at", at,
                     "--production", "--expect-nonce", "01010101010101010101010101010101"});
  EXPECT_EQ(r.exit_code, 0) << r.err << r.out;
  // The AWS root does not accept it.
  EXPECT_EQ(Run({"attest", "verify", doc_path.string(), "--at", at}).exit_code, 1);
}

TEST_F(AttestCommandTest, TdxQuoteWithCollateral) {
  const fs::path src = SharedVectorPath("tdx/go-tdx-guest");
  const fs::path coll = dir_ / "tdx";
  fs::create_directories(coll);
  fs::copy_file(src / "sample_tcbInfo_response", coll / "tcb_info_50806f000000.json");
  fs::copy_file(src / "sample_qeIdentity_response", coll / "qe_identity.json");
  fs::copy_file(src / "tcb_info_issuer_chain.pem", coll / "tcb_signing_chain.pem");
  fs::copy_file(src / "pckcrl", coll / "pck_platform.crl.der");
  fs::copy_file(src / "rootcrl.der", coll / "root_ca.crl.der");
  const std::string quote = Vector("tdx/go-tdx-guest/tdx_prod_quote_SPR_E4.dat");
  RunResult r = Run({"attest", "verify", quote, "--collateral", coll.string(), "--at", "1688000000",
                     "--format", "json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["platform"], "tdx");
  EXPECT_EQ(j["tcb_status"], "NotSupported");
  // --production accepts only UpToDate.
  EXPECT_EQ(Run({"attest", "verify", quote, "--collateral", coll.string(), "--at", "1688000000",
                 "--production"})
                .exit_code,
            1);
  // The quote's report data binds another nonce.
  EXPECT_EQ(Run({"attest", "verify", quote, "--collateral", coll.string(), "--at", "1688000000",
                 "--expect-nonce", "00112233"})
                .exit_code,
            1);
  // No collateral: usage error.
  EXPECT_EQ(Run({"attest", "verify", quote, "--at", "1688000000"}).exit_code, 2);
}

TEST_F(AttestCommandTest, SevSnpReportWithCertificateFolder) {
  const fs::path certs = dir_ / "snp";
  fs::create_directories(certs);
  fs::copy_file(SharedVectorPath("sevsnp/go-sev-guest/vcek.testcer.der"), certs / "vcek.der");
  fs::copy_file(SharedVectorPath("sevsnp/go-sev-guest/ask_ark_milan.pem"), certs / "milan.pem");
  const std::string report = Vector("sevsnp/go-sev-guest/attestation.bin");
  RunResult r = Run({"attest", "verify", report, "--platform", "sev-snp", "--collateral",
                     certs.string(), "--at", "1700000000"});
  EXPECT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_NE(r.out.find("platform: sev-snp"), std::string::npos);
  // The sample guest allows debugging.
  RunResult prod = Run({"attest", "verify", report, "--collateral", certs.string(), "--at",
                        "1700000000", "--production"});
  EXPECT_EQ(prod.exit_code, 1);
  EXPECT_NE(prod.err.find("ATTEST_DEBUG_MODE"), std::string::npos);
}

TEST_F(AttestCommandTest, GcpTokenNeedsAnAudience) {
  const std::string token = Vector("gcp/oak/ctf_sha2-sample.jwt");
  EXPECT_EQ(Run({"attest", "verify", token, "--audience", "z08381475938604996746", "--at",
                 "1757060250", "--production"})
                .exit_code,
            0);
  EXPECT_EQ(Run({"attest", "verify", token, "--audience", "someone-else", "--at", "1757060250"})
                .exit_code,
            1);
  EXPECT_EQ(Run({"attest", "verify", token, "--at", "1757060250"}).exit_code, 2);
}

TEST_F(AttestCommandTest, PolicyFile) {
  const std::vector<uint8_t> binary = {'b'}, config = {'c'}, anchors = {'a'};
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  Result<attest::sim::SimProvider> sim =
      attest::sim::SimProvider::Create(dir_ / "state", {binary, config, anchors}, now);
  ASSERT_TRUE(sim.has_value());
  Result<std::vector<uint8_t>> doc = sim->Attest({}, static_cast<uint64_t>(now) * 1000);
  ASSERT_TRUE(doc.has_value());
  const fs::path doc_path = dir_ / "sim.bin";
  std::ofstream(doc_path, std::ios::binary)
      .write(std::string(doc->begin(), doc->end()).data(),
             static_cast<std::streamsize>(doc->size()));
  const fs::path sim_policy = dir_ / "sim-policy.json";
  std::ofstream(sim_policy) << R"({"version": 1, "platforms": {"sim": {"roots":
      ["state/attest-sim/root.pem"]}}, "max_evidence_age_s": 600})";
  const fs::path aws_policy = dir_ / "aws-policy.json";
  std::ofstream(aws_policy) << R"({"version": 1, "platforms": {"aws-nitro": {}}})";
  const std::string at = std::to_string(now);
  RunResult ok = Run({"attest", "verify", doc_path.string(), "--policy", sim_policy.string(),
                      "--at", at, "--format", "json"});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(nlohmann::json::parse(ok.out)["platform"], "sim");
  // A policy that does not name sim refuses it.
  RunResult refused =
      Run({"attest", "verify", doc_path.string(), "--policy", aws_policy.string(), "--at", at});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("POLICY_UNTRUSTED_ROOT"), std::string::npos);
  // --platform keeps only that platform of the policy.
  EXPECT_EQ(Run({"attest", "verify", doc_path.string(), "--policy", sim_policy.string(),
                 "--platform", "tdx"})
                .exit_code,
            2);
  // --policy does not mix with pinning flags; a broken policy is a usage error.
  EXPECT_EQ(Run({"attest", "verify", doc_path.string(), "--policy", sim_policy.string(), "--root",
                 (dir_ / "state" / "attest-sim" / "root.pem").string()})
                .exit_code,
            2);
  const fs::path broken = dir_ / "broken.json";
  std::ofstream(broken) << R"({"version": 1, "platforms": {"sim": {}}})";
  EXPECT_EQ(Run({"attest", "verify", doc_path.string(), "--policy", broken.string()}).exit_code, 2);
  // An unknown --platform is a usage error; a mismatched one is "not verified".
  EXPECT_EQ(Run({"attest", "verify", doc_path.string(), "--platform", "sgx"}).exit_code, 2);
  EXPECT_EQ(Run({"attest", "verify", doc_path.string(), "--platform", "gcp-cs", "--audience", "a",
                 "--at", at})
                .exit_code,
            1);
}

}  // namespace
}  // namespace eml::apps
