#include "enclave/testing/sim_fixture.h"

#include <stdlib.h>

#include <chrono>
#include <cstdlib>
#include <mutex>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "attest/nitro/nitro_verifier.h"
#include "common/check.h"
#include "common/encoding.h"

namespace eml::enclave::testing {
namespace {

int64_t NowUnix() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::filesystem::path MakeTempDir() {
  // The folders hold sim root keys: remove them when the test binary exits.
  static std::mutex mu;
  static std::vector<std::filesystem::path>* made = [] {
    auto* paths = new std::vector<std::filesystem::path>();
    std::atexit([] {
      std::lock_guard<std::mutex> lock(mu);
      for (const std::filesystem::path& path : *made) {
        std::error_code ignored;
        std::filesystem::remove_all(path, ignored);
      }
    });
    return paths;
  }();
  std::string pattern = (std::filesystem::temp_directory_path() / "eml-enclave-XXXXXX").string();
  EML_CHECK(mkdtemp(pattern.data()) != nullptr);
  std::lock_guard<std::mutex> lock(mu);
  made->push_back(pattern);
  return pattern;
}

std::unique_ptr<SimEvidenceSource> NewSimSource(const std::filesystem::path& state_dir) {
  const std::string binary = "enclave binary bytes";
  const std::string config = "{\"model\":\"test\"}";
  const std::string anchors = "trust anchors";
  attest::sim::MeasuredInputs inputs{AsBytes(binary), AsBytes(config), AsBytes(anchors)};
  Result<attest::sim::SimProvider> provider =
      attest::sim::SimProvider::Create(state_dir, inputs, NowUnix());
  EML_CHECK(provider.has_value());
  return std::make_unique<SimEvidenceSource>(*std::move(provider));
}

Result<attest::Verification> VerifySimDocument(const SimEvidenceSource& source,
                                               std::span<const uint8_t> document,
                                               std::optional<std::vector<uint8_t>> nonce,
                                               std::optional<std::vector<uint8_t>> public_key) {
  attest::nitro::Policy policy;
  policy.expected_nonce = std::move(nonce);
  policy.expected_public_key = std::move(public_key);
  policy.pcr_pins = {{0, source.measurements().pcr0},
                     {1, source.measurements().pcr1},
                     {2, source.measurements().pcr2}};
  EML_ASSIGN_OR_RETURN(std::unique_ptr<attest::nitro::NitroVerifier> verifier,
                       attest::nitro::NitroVerifier::New(source.provider()->root(), policy));
  return verifier->Verify(document, NowUnix());
}

}  // namespace eml::enclave::testing
