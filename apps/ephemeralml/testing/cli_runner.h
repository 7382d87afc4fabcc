#pragma once
// Test-only support for end-to-end tests of a command-line binary (never linked into a shipped
// binary). CliTest is a gtest fixture base: each test gets a fresh temporary directory (dir_),
// removed after the test, and Run(args) executes the binary through the shell with every argument
// single-quoted, capturing its exit code, stdout and stderr. An abnormal exit (a signal) reads as
// exit code -1.

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

namespace eml::apps {

// RunResult: what one run of the binary produced.
struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

class CliTest : public ::testing::Test {
 protected:
  // binary: the program Run() executes. dir_prefix: the stem of the per-test temporary directory's
  // name (e.g. "eml-attest-cli" gives /tmp/eml-attest-cli-XXXXXX).
  CliTest(std::string binary, std::string dir_prefix);

  void SetUp() override;
  void TearDown() override;

  // Run executes `binary args...`; stdout and stderr go through files in dir_, overwritten by the
  // next Run.
  RunResult Run(const std::vector<std::string>& args);

  std::filesystem::path dir_;

 private:
  std::string binary_;
  std::string dir_prefix_;
};

}  // namespace eml::apps
