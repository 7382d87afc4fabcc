#include "enclave/testing/tdx_fixture.h"

#include <nlohmann/json.hpp>

#include "attest/tdx/quote.h"
#include "common/check.h"
#include "common/encoding.h"
#include "testing/test_util.h"

namespace eml::enclave::testing {
namespace {

// A PKI whose certificates outlive any test run (the default ends in 2030).
attest::tdx::testing::TestPki LongLivedPki() {
  attest::tdx::testing::PkiSpec spec;
  spec.not_after_unix = 4'000'000'000;
  spec.leaf_not_after_unix = 4'000'000'000;
  return attest::tdx::testing::TestPki::Create(spec);
}

}  // namespace

FakeTdxMachine::FakeTdxMachine(const std::filesystem::path& dir, int64_t issue_unix,
                               int64_t next_update_unix)
    : dir_(dir),
      pki_(LongLivedPki()),
      sample_(eml::testing::ReadFileBytes(
          eml::testing::SharedVectorPath(attest::tdx::testing::kSprSampleQuote))) {
  Result<attest::tdx::ParsedQuote> parsed = attest::tdx::ParseQuote(sample_);
  EML_CHECK(parsed.has_value());
  mrtd_.assign(parsed->body.mrtd.begin(), parsed->body.mrtd.end());
  pki_.WriteCollateralDirectory(
      dir_ / "tdx-collateral",
      attest::tdx::testing::SprSampleTcbInfoBody(issue_unix, next_update_unix),
      attest::tdx::testing::SprSampleQeIdentityBody(issue_unix, next_update_unix), issue_unix,
      next_update_unix);
  std::filesystem::create_directories(dir_ / "tsm");
  kernel_ = std::make_shared<attest::tsm::testing::FakeConfigfs>(
      attest::tsm::kProviderTdx, [pki = pki_, sample = sample_](std::span<const uint8_t> inblob) {
        return pki.RebuildQuoteWithReportData(sample, inblob);
      });
}

attest::tsm::TsmOptions FakeTdxMachine::TsmOptions() const {
  attest::tsm::TsmOptions options;
  options.root = dir_ / "tsm";
  options.hooks_for_test = kernel_;
  return options;
}

std::string FakeTdxMachine::PolicyJson(const std::vector<uint8_t>& mrtd) const {
  nlohmann::json tdx = {{"roots", {attest::tdx::testing::ToPem(pki_.root_der())}},
                        {"collateral_dir", (dir_ / "tdx-collateral").string()}};
  if (!mrtd.empty()) {
    tdx["measurements"] = {{"mrtd", HexEncode(mrtd)}};
  }
  const nlohmann::json policy = {{"version", 1}, {"platforms", {{"tdx", tdx}}}};
  return policy.dump();
}

}  // namespace eml::enclave::testing
