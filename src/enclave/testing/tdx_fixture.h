#pragma once
// Test support for the enclave tests: a fake Intel TDX machine. The synthetic Intel PKI
// (attest/tdx/testing) rebuilds the real SPR sample quote with whatever report data the
// enclave asks configfs-tsm for (attest/tsm/testing FakeConfigfs), and the collateral and an
// evidence policy for that PKI are written to a folder, so a TsmEvidenceSource on this machine
// produces envelopes that the real PolicyVerifier accepts. Tests only.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "attest/tdx/testing/tdx_test_pki.h"
#include "attest/tsm/testing/fake_configfs.h"
#include "attest/tsm/tsm_provider.h"

namespace eml::enclave::testing {

class FakeTdxMachine {
 public:
  // FakeTdxMachine writes collateral valid from `issue_unix` to `next_update_unix` into
  // `dir`/tdx-collateral and makes `dir`/tsm the configfs-tsm root.
  FakeTdxMachine(const std::filesystem::path& dir, int64_t issue_unix, int64_t next_update_unix);

  // TsmOptions: configfs-tsm at `dir`/tsm played by kernel().
  attest::tsm::TsmOptions TsmOptions() const;
  // PolicyJson: an evidence policy allowing only tdx under the test root and collateral, with
  // the MRTD pinned to `mrtd` (48 bytes; empty: no pin).
  std::string PolicyJson(const std::vector<uint8_t>& mrtd) const;
  // mrtd: the sample quote's MRTD (what a TsmEvidenceSource measures).
  const std::vector<uint8_t>& mrtd() const { return mrtd_; }
  const attest::tsm::testing::FakeConfigfs& kernel() const { return *kernel_; }

 private:
  std::filesystem::path dir_;
  attest::tdx::testing::TestPki pki_;
  std::vector<uint8_t> sample_;
  std::vector<uint8_t> mrtd_;
  std::shared_ptr<attest::tsm::testing::FakeConfigfs> kernel_;
};

}  // namespace eml::enclave::testing
