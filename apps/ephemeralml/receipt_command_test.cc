// End-to-end tests of `ephemeralml receipt ...` and `ephemeralml keys gen-receipt-key`: runs the
// built binary (path from EML_EPHEMERALML_PATH) and checks exit codes, stdout and stderr.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/encoding.h"
#include "ephemeralml/testing/cli_runner.h"
#include "testing/test_util.h"

namespace eml::apps {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

constexpr char kGoldenPublicKey[] =
    "197f6b23e16c8532c6abc838facd5ea789be0c76b2920334039bfa8b3d368d61";

class ReceiptCommandTest : public CliTest {
 protected:
  ReceiptCommandTest() : CliTest(EML_EPHEMERALML_PATH, "eml-receipt-cli") {}

  fs::path Write(const std::string& name, const std::vector<uint8_t>& bytes) {
    const fs::path path = dir_ / name;
    std::ofstream f(path, std::ios::binary);
    f.write(std::string(bytes.begin(), bytes.end()).data(),
            static_cast<std::streamsize>(bytes.size()));
    return path;
  }
  fs::path WriteText(const std::string& name, const std::string& text) {
    return Write(name, std::vector<uint8_t>(text.begin(), text.end()));
  }

  static std::vector<uint8_t> GoldenReceipt() {
    return ::eml::testing::Hex(::eml::testing::ReadJson(::eml::testing::SharedVectorPath(
        "air/valid/v1-nitro-no-nonce.json"))["receipt_hex"]
                                   .get<std::string>());
  }

  // ExpectOneLineError: a usage/input failure prints exactly one line on stderr.
  static void ExpectOneLineError(const RunResult& r, int code) {
    EXPECT_EQ(r.exit_code, code) << r.err;
    ASSERT_FALSE(r.err.empty());
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;
  }
};

// Every shipped vector gives its expected exit code and, in JSON, its expected finding.
TEST_F(ReceiptCommandTest, EverySharedVector) {
  size_t count = 0;
  for (const char* sub : {"air/valid", "air/invalid"}) {
    for (const auto& entry : fs::directory_iterator(::eml::testing::SharedVectorPath(sub))) {
      SCOPED_TRACE(entry.path().string());
      const Json v = ::eml::testing::ReadJson(entry.path());
      std::vector<std::string> args = {"receipt", "verify", entry.path().string(), "--format",
                                       "json"};
      args.push_back("--public-key");
      args.push_back(v.contains("wrong_public_key_hex") ? v["wrong_public_key_hex"]
                                                        : v["public_key_hex"]);
      const Json policy = v.value("verify_policy", Json::object());
      args.push_back("--max-age");
      args.push_back(std::to_string(policy.value("max_age_secs", 0)));
      if (policy.contains("expected_nonce_hex")) {
        args.insert(args.end(), {"--expected-nonce", policy["expected_nonce_hex"]});
      } else if (v.contains("claims") && v["claims"].contains("eat_nonce_hex")) {
        args.insert(args.end(), {"--expected-nonce", v["claims"]["eat_nonce_hex"]});
      }
      if (policy.contains("expected_model_hash_hex")) {
        args.insert(args.end(), {"--expected-model-hash", policy["expected_model_hash_hex"]});
      }
      if (policy.contains("expected_platform")) {
        args.insert(args.end(), {"--expected-platform", policy["expected_platform"]});
      }
      const RunResult r = Run(args);
      const Json report = Json::parse(r.out);
      if (v.contains("expected_failure")) {
        EXPECT_EQ(r.exit_code, 1);
        EXPECT_FALSE(report["verified"].get<bool>());
        EXPECT_EQ(report["claims"], nullptr);
        bool found = false;
        for (const Json& check : report["checks"]) {
          if (check["status"] == "FAIL") {
            found = check["check"] == v["expected_failure"]["check"] &&
                    check["code"] == v["expected_failure"]["code"] &&
                    check["layer"] == v["expected_failure"]["layer"];
          }
        }
        EXPECT_TRUE(found) << r.out;
        EXPECT_NE(r.err.find(v["expected_failure"]["code"].get<std::string>()), std::string::npos);
      } else {
        EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
        EXPECT_TRUE(report["verified"].get<bool>());
        EXPECT_EQ(report["claims"]["model_id"], v["claims"]["model_id"]);
        EXPECT_TRUE(r.err.empty());
      }
      ++count;
    }
  }
  EXPECT_EQ(count, 10u);
}

TEST_F(ReceiptCommandTest, RawReceiptAndKeyFiles) {
  const fs::path receipt = Write("r.cbor", GoldenReceipt());
  const fs::path hex_key = WriteText("pk.hex", std::string(kGoldenPublicKey) + "\n");
  const fs::path raw_key = Write("pk.bin", ::eml::testing::Hex(kGoldenPublicKey));
  for (const fs::path& key : {hex_key, raw_key}) {
    const RunResult r = Run({"receipt", "verify", receipt.string(), "--public-key-file",
                             key.string(), "--max-age", "0"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("VERIFIED"), std::string::npos);
    EXPECT_NE(r.out.find("minilm-l6-v2"), std::string::npos);
  }
  // The default --max-age (3600 s) rejects the 2025 golden receipt as stale.
  const RunResult stale =
      Run({"receipt", "verify", receipt.string(), "--public-key", kGoldenPublicKey});
  EXPECT_EQ(stale.exit_code, 1);
  EXPECT_NE(stale.err.find("TIMESTAMP_STALE"), std::string::npos);
  // Policy flags reach the verifier.
  const RunResult eval = Run({"receipt", "verify", receipt.string(), "--public-key",
                              kGoldenPublicKey, "--max-age", "0", "--expected-model", "other"});
  EXPECT_EQ(eval.exit_code, 1);
  EXPECT_NE(eval.err.find("MODEL_ID_MISMATCH"), std::string::npos);
  const RunResult nonce = Run({"receipt", "verify", receipt.string(), "--public-key",
                               kGoldenPublicKey, "--max-age", "0", "--require-nonce"});
  EXPECT_EQ(nonce.exit_code, 1);
  EXPECT_NE(nonce.err.find("NONCE_MISSING"), std::string::npos);
}

TEST_F(ReceiptCommandTest, BadReceiptBytesAreNotVerified) {
  std::vector<uint8_t> truncated = GoldenReceipt();
  truncated.resize(300);
  std::vector<uint8_t> random(500);
  for (size_t i = 0; i < random.size(); ++i) {
    random[i] = static_cast<uint8_t>((i * 2654435761u) >> 13);
  }
  for (const auto& [name, bytes] : std::vector<std::pair<std::string, std::vector<uint8_t>>>{
           {"truncated", truncated}, {"random", random}, {"empty", {}}}) {
    SCOPED_TRACE(name);
    const RunResult r = Run({"receipt", "verify", Write(name, bytes).string(), "--public-key",
                             kGoldenPublicKey, "--max-age", "0"});
    ExpectOneLineError(r, 1);
    EXPECT_NE(r.err.find("COSE_DECODE"), std::string::npos);
  }
}

TEST_F(ReceiptCommandTest, HugeFileIsRefusedWithoutReadingIt) {
  const fs::path huge = dir_ / "huge.bin";
  { std::ofstream f(huge, std::ios::binary); }
  fs::resize_file(huge, uint64_t{8} << 30);  // sparse 8 GiB
  const RunResult r = Run({"receipt", "verify", huge.string(), "--public-key", kGoldenPublicKey});
  ExpectOneLineError(r, 1);
  EXPECT_NE(r.err.find("RECEIPT_TOO_LARGE"), std::string::npos);
  const RunResult inspect = Run({"receipt", "inspect", huge.string()});
  ExpectOneLineError(inspect, 2);
}

TEST_F(ReceiptCommandTest, UsageAndInputErrors) {
  const std::string receipt = Write("r.cbor", GoldenReceipt()).string();
  const std::vector<std::vector<std::string>> cases = {
      {"receipt", "verify", (dir_ / "missing").string(), "--public-key", kGoldenPublicKey},
      {"receipt", "verify", dir_.string(), "--public-key", kGoldenPublicKey},
      {"receipt", "verify", receipt, "--public-key", std::string(kGoldenPublicKey).substr(2)},
      {"receipt", "verify", receipt, "--public-key",
       "zz" + std::string(kGoldenPublicKey).substr(2)},
      {"receipt", "verify", receipt, "--public-key", std::string(64, '0')},  // small order
      {"receipt", "verify", receipt},
      {"receipt", "verify", receipt, "--public-key-file", WriteText("short", "abc").string()},
      {"receipt", "verify", receipt, "--public-key", kGoldenPublicKey, "--expected-model-hash",
       "abcd"},
      {"receipt", "verify", receipt, "--public-key", kGoldenPublicKey, "--expected-platform",
       "sgx"},
      {"receipt", "verify", receipt, "--public-key", kGoldenPublicKey, "--expected-nonce", "0102"},
      {"receipt", "verify", receipt, "--public-key", kGoldenPublicKey, "--format", "xml"},
      {"receipt", "verify", WriteText("bad.json", "{\"receipt_hex\": 5}").string(), "--public-key",
       kGoldenPublicKey},
      {"receipt", "verify", WriteText("badhex.json", "{\"receipt_hex\": \"d2x\"}").string(),
       "--public-key", kGoldenPublicKey},
      {"receipt", "verify", WriteText("broken.json", "{\"receipt_hex\": ").string(), "--public-key",
       kGoldenPublicKey},
      {"receipt", "inspect", Write("junk", {0xff, 0x00, 0x01}).string()},
  };
  for (const auto& args : cases) {
    SCOPED_TRACE(args.back());
    ExpectOneLineError(Run(args), 2);
  }
  // CLI11 usage errors (several lines of help are fine) also exit 2; --help exits 0.
  EXPECT_EQ(Run({}).exit_code, 2);
  EXPECT_EQ(Run({"receipt", "frobnicate"}).exit_code, 2);
  EXPECT_EQ(Run({"receipt", "verify", receipt, "--public-key", kGoldenPublicKey,
                 "--public-key-file", receipt})
                .exit_code,
            2);
  EXPECT_EQ(Run({"--help"}).exit_code, 0);
}

TEST_F(ReceiptCommandTest, InspectSaysItDoesNotVerify) {
  const RunResult r = Run({"receipt", "inspect", Write("r.cbor", GoldenReceipt()).string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("UNVERIFIED", 0), 0u);
  EXPECT_NE(r.out.find("(model_id): \"minilm-l6-v2\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"measurement_type\": \"nitro-pcr\""), std::string::npos);
  // A bad-signature receipt still inspects: nothing is verified.
  const RunResult wrong =
      Run({"receipt", "inspect",
           ::eml::testing::SharedVectorPath("air/invalid/v1-wrong-alg.json").string()});
  EXPECT_EQ(wrong.exit_code, 0) << wrong.err;
}

TEST_F(ReceiptCommandTest, GenerateKeyIssueAndVerify) {
  const fs::path key = dir_ / "receipt.key";
  const RunResult gen = Run({"keys", "gen-receipt-key", key.string()});
  ASSERT_EQ(gen.exit_code, 0) << gen.err;
  ASSERT_EQ(gen.out.size(), 65u);
  const std::string public_key = gen.out.substr(0, 64);
  EXPECT_EQ(fs::file_size(key), 32u);
  EXPECT_EQ(fs::status(key).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  ExpectOneLineError(Run({"keys", "gen-receipt-key", key.string()}), 2);  // exists

  const fs::path claims = ::eml::testing::SharedVectorPath("air/valid/v1-tdx-with-nonce.json");
  const fs::path out = dir_ / "issued.cbor";
  const RunResult issue =
      Run({"receipt", "issue", "--signing-key-file", key.string(), "--claims-json", claims.string(),
           "--iat", "now", "--cti", "random", "--out", out.string()});
  ASSERT_EQ(issue.exit_code, 0) << issue.err;
  const RunResult verify =
      Run({"receipt", "verify", out.string(), "--public-key", public_key, "--expected-nonce",
           "deadbeefcafebabe", "--expected-platform", "tdx-mrtd-rtmr"});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;

  // The golden seed and the vector's own claims re-create the shipped receipt exactly.
  std::string seed_hex;
  for (int i = 0; i < 32; ++i) {
    seed_hex += "2a";
  }
  const fs::path seed = WriteText("seed.hex", seed_hex + "\n");
  const fs::path again = dir_ / "again.cbor";
  ASSERT_EQ(Run({"receipt", "issue", "--signing-key-file", seed.string(), "--claims-json",
                 claims.string(), "--out", again.string()})
                .exit_code,
            0);
  EXPECT_EQ(HexEncode(::eml::testing::ReadFileBytes(again)),
            ::eml::testing::ReadJson(claims)["receipt_hex"].get<std::string>());

  // Invalid claims or key material: nothing is written.
  const fs::path never = dir_ / "never.cbor";
  ExpectOneLineError(
      Run({"receipt", "issue", "--signing-key-file", seed.string(), "--claims-json",
           claims.string(), "--security-mode", "GatewayOnly", "--out", never.string()}),
      2);
  ExpectOneLineError(
      Run({"receipt", "issue", "--signing-key-file", WriteText("short.key", "abcd").string(),
           "--claims-json", claims.string(), "--out", never.string()}),
      2);
  EXPECT_FALSE(fs::exists(never));
}

}  // namespace
}  // namespace eml::apps
