// End-to-end tests of `ephemeralml embed-local`: runs the built binary (EML_EPHEMERALML_PATH) on
// the real all-MiniLM-L6-v2 model (scripts/fetch-model) and checks the JSON, the vectors' norms
// and the exit codes.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ephemeralml/testing/cli_runner.h"
#include "model/model_directory.h"
#include "testing/test_util.h"

namespace eml::apps {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

class EmbedCommandTest : public CliTest {
 protected:
  EmbedCommandTest() : CliTest(EML_EPHEMERALML_PATH, "eml-embed-cli") {}

  static bool ModelPresent() {
    const fs::path model = model::DefaultModelDirectoryPath();
    if (fs::exists(model / "model.safetensors")) return true;
    ADD_FAILURE() << "model files missing in " << model << ": run scripts/fetch-model";
    return false;
  }

  // CheckDocument checks the shape of embed-local's JSON and that every vector has unit norm.
  static void CheckDocument(const Json& doc, const std::string& precision, size_t count) {
    EXPECT_EQ(doc.at("model"), "all-MiniLM-L6-v2");
    EXPECT_EQ(doc.at("precision"), precision);
    EXPECT_EQ(doc.at("dim"), 384);
    ASSERT_TRUE(doc.at("data").is_array());
    ASSERT_EQ(doc.at("data").size(), count);
    for (size_t i = 0; i < count; ++i) {
      const Json& row = doc["data"][i];
      EXPECT_EQ(row.at("index"), i);
      EXPECT_TRUE(row.at("tokens").is_number_unsigned());
      const Json& v = row.at("embedding");
      ASSERT_TRUE(v.is_array());
      ASSERT_EQ(v.size(), 384u);
      double norm2 = 0;
      for (const Json& x : v) {
        ASSERT_TRUE(x.is_number());
        norm2 += x.get<double>() * x.get<double>();
      }
      EXPECT_NEAR(std::sqrt(norm2), 1.0, 1e-4) << "row " << i;
    }
  }
};

TEST_F(EmbedCommandTest, TwoTextsGiveUnitVectors) {
  if (!ModelPresent()) return;
  const RunResult r = Run({"embed-local", "--threads", "2", "hello world",
                           "A confidential enclave computes sentence embeddings."});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  const Json doc = Json::parse(r.out);
  CheckDocument(doc, "fp32", 2);
  EXPECT_EQ(doc["data"][0]["tokens"], 4);  // [CLS] hello world [SEP]
  EXPECT_GT(doc["data"][1]["tokens"].get<int>(), 4);
  // Two different texts, two different directions (cosine well below 1).
  double dot = 0;
  for (size_t c = 0; c < 384; ++c) {
    dot +=
        doc["data"][0]["embedding"][c].get<double>() * doc["data"][1]["embedding"][c].get<double>();
  }
  EXPECT_LT(dot, 0.9);
}

TEST_F(EmbedCommandTest, ExplicitModelAndInt8) {
  if (!ModelPresent()) return;
  const RunResult r = Run({"embed-local", "--model", model::DefaultModelDirectoryPath().string(),
                           "--precision", "int8", "--threads", "1", "first text", "second"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  CheckDocument(Json::parse(r.out), "int8", 2);
}

TEST_F(EmbedCommandTest, UsageErrorsExitTwo) {
  RunResult r = Run({"embed-local"});  // No TEXT.
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.out, "");
  r = Run({"embed-local", "--precision", "fp16", "text"});
  EXPECT_EQ(r.exit_code, 2);
  r = Run({"embed-local", "--threads", "-1", "text"});
  EXPECT_EQ(r.exit_code, 2);
  if (!ModelPresent()) return;
  r = Run({"embed-local", "ok", "bad \xff utf-8"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("TOKENIZER_INVALID_UTF8"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST_F(EmbedCommandTest, MissingModelExitsOneWithOneLine) {
  const RunResult r = Run({"embed-local", "--model", (dir_ / "no-such-model").string(), "text"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  ASSERT_FALSE(r.err.empty());
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;  // exactly one line
  EXPECT_EQ(r.err.rfind("ephemeralml: embed-local: ", 0), 0u) << r.err;
}

}  // namespace
}  // namespace eml::apps
