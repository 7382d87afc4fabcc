#include "ephemeralml/testing/cli_runner.h"

#include <stdlib.h>
#include <sys/wait.h>

#include <cstdlib>
#include <utility>

#include "testing/test_util.h"

namespace eml::apps {
namespace {

namespace fs = std::filesystem;

// Quote makes `arg` one shell word: single quotes, each inner quote written as '\''.
std::string Quote(const std::string& arg) {
  std::string out = "'";
  for (char c : arg) {
    out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  }
  return out + "'";
}

}  // namespace

CliTest::CliTest(std::string binary, std::string dir_prefix)
    : binary_(std::move(binary)), dir_prefix_(std::move(dir_prefix)) {}

void CliTest::SetUp() {
  std::string pattern = (fs::temp_directory_path() / (dir_prefix_ + "-XXXXXX")).string();
  ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
  dir_ = pattern;
}

void CliTest::TearDown() {
  if (!dir_.empty()) {
    fs::remove_all(dir_);
  }
}

RunResult CliTest::Run(const std::vector<std::string>& args) {
  std::string cmd = Quote(binary_);
  for (const std::string& a : args) {
    cmd += " " + Quote(a);
  }
  const fs::path out = dir_ / "stdout";
  const fs::path err = dir_ / "stderr";
  cmd += " >" + Quote(out.string()) + " 2>" + Quote(err.string());
  const int status = std::system(cmd.c_str());
  RunResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = ::eml::testing::ReadFileText(out);
  r.err = ::eml::testing::ReadFileText(err);
  return r;
}

}  // namespace eml::apps
