#pragma once
// eml::attest::tsm::testing::FakeConfigfs: plays the kernel's part of configfs-tsm in a plain
// directory (TsmOptions::hooks_for_test), with the outblob made by a callback from the inblob:
// tests pass a function that builds a real TDX quote or SEV-SNP report binding the report data
// (tdx/testing, sevsnp/testing), so what a provider returns verifies end to end. Tests only.
//
// Thread safety: the hooks may run concurrently (one entry per request; counters are guarded).

#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "attest/tsm/tsm_provider.h"

namespace eml::attest::tsm::testing {

class FakeConfigfs final : public ConfigfsHooks {
 public:
  // MakeOutblob returns the outblob for a 64-byte inblob.
  using MakeOutblob = std::function<std::vector<uint8_t>(std::span<const uint8_t> inblob)>;

  // FakeConfigfs answers as `provider` (kProviderTdx / kProviderSevSnp); a sev_guest entry
  // also gets `auxblob`.
  FakeConfigfs(std::string provider, MakeOutblob make_outblob, std::vector<uint8_t> auxblob = {})
      : provider_(std::move(provider)),
        make_outblob_(std::move(make_outblob)),
        auxblob_(std::move(auxblob)) {}

  void OnMkdir(const std::filesystem::path& entry) override;
  void OnWrite(const std::filesystem::path& entry, const std::string& attribute) override;
  void OnRead(const std::filesystem::path& /*entry*/, const std::string& /*attribute*/) override {}
  void OnRmdir(const std::filesystem::path& entry) override;

  // reports: how many inblobs were written; last_inblob: the latest one.
  int reports() const;
  std::vector<uint8_t> last_inblob() const;

 private:
  const std::string provider_;
  const MakeOutblob make_outblob_;
  const std::vector<uint8_t> auxblob_;
  mutable std::mutex mutex_;
  int reports_ = 0;  // guarded by mutex_
  std::vector<uint8_t> last_inblob_;
};

}  // namespace eml::attest::tsm::testing
