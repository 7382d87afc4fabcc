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

}  // namespace
}  // namespace eml::apps
