#pragma once
// Posture: reads bytes the kernel's configfs-tsm returns (outblob, auxblob, provider,
// generation) inside a TDX or SEV-SNP guest; each read is capped (kMaxOutblobBytes,
// kMaxAuxblobBytes, kMaxSmallAttributeBytes). The evidence itself is verified elsewhere
// (attest/tdx/, attest/sevsnp/); here it is only carried. No fuzz target: nothing is parsed
// beyond a decimal counter and a provider name.
//
// eml::attest::tsm::TsmProvider: the TDX / SEV-SNP attestation provider through the Linux
// configfs-tsm report interface (Documentation/ABI/testing/configfs-tsm):
//   mkdir  <root>/<entry>                 a new report request
//   write  <entry>/inblob                 64 bytes of report data
//   read   <entry>/generation             the request's write counter (g0)
//   read   <entry>/outblob                the TDX quote or SEV-SNP report (made on first read)
//   read   <entry>/auxblob                SEV-SNP: the certificate table (absent / empty on TDX)
//   read   <entry>/provider               "tdx_guest" or "sev_guest"
//   read   <entry>/generation             must still be g0: otherwise another writer changed
//                                         the request between our write and our read
//   rmdir  <entry>
// Report data is attest::BindingDigest(public key, nonce) (attest/report_binding.h), exactly
// what PolicyVerifier checks. Evidence is the outblob for TDX and outblob || auxblob for SEV-SNP
// (the self-contained form attest/sevsnp/evidence.h reads).
//
// The root is a parameter (default /sys/kernel/config/tsm/report) so that tests run against a
// fake tree; in a plain directory nobody plays the kernel's part (creating the attribute files,
// producing outblob, removing them at rmdir), so tests supply ConfigfsHooks that do.
//
// Thread safety: a TsmProvider is immutable; Attest may run concurrently (each call uses its
// own entry, named "eml-<pid>-<counter>").

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"

namespace eml::attest::tsm {

inline constexpr char kDefaultConfigfsTsmRoot[] = "/sys/kernel/config/tsm/report";
inline constexpr char kProviderTdx[] = "tdx_guest";
inline constexpr char kProviderSevSnp[] = "sev_guest";
inline constexpr size_t kInblobBytes = 64;
inline constexpr size_t kMaxOutblobBytes = 128 * 1024;  // TDX quotes with PCK chains ~5-8 KiB
inline constexpr size_t kMaxAuxblobBytes = 64 * 1024;   // the SNP certificate table limit
inline constexpr size_t kMaxSmallAttributeBytes = 64;   // provider, generation

// ConfigfsHooks: a test seam that plays the kernel in a plain directory. Production uses none.
class ConfigfsHooks {
 public:
  virtual ~ConfigfsHooks() = default;
  // After mkdir: create the attribute files.
  virtual void OnMkdir(const std::filesystem::path& entry) = 0;
  // After a write to `attribute`: update outblob / generation.
  virtual void OnWrite(const std::filesystem::path& entry, const std::string& attribute) = 0;
  // Before a read of `attribute`.
  virtual void OnRead(const std::filesystem::path& entry, const std::string& attribute) = 0;
  // Before rmdir: remove the attribute files.
  virtual void OnRmdir(const std::filesystem::path& entry) = 0;
};

struct TsmOptions {
  std::filesystem::path root = kDefaultConfigfsTsmRoot;
  // expected_provider: kProviderTdx or kProviderSevSnp; empty accepts either.
  std::string expected_provider;
  std::shared_ptr<ConfigfsHooks> hooks_for_test;
};

// One raw report, as configfs-tsm returned it.
struct TsmReport {
  std::string provider;
  uint64_t generation = 0;
  std::vector<uint8_t> outblob;
  std::vector<uint8_t> auxblob;  // empty when the provider has none
};

class TsmProvider {
 public:
  // Create checks that `options.root` is a directory and that expected_provider is known.
  // Errors: kTsmUnavailable (no configfs-tsm at root), kInvalidArgument (unknown provider).
  static Result<TsmProvider> Create(TsmOptions options);

  // GetReport runs one request with `report_data` as inblob (the steps above) and always
  // removes the entry. Errors: kTsmUnavailable (mkdir refused: no TEE, no permission, or the
  // kernel lacks the provider), kTsmGenerationChanged, kTsmBadReport (empty or oversized
  // outblob / auxblob, malformed generation, provider not expected_provider), kIoError (a
  // read or write failed).
  Result<TsmReport> GetReport(std::span<const uint8_t, kInblobBytes> report_data) const;

  // Attest binds `public_key` and `nonce` (report data = BindingDigest) and returns the
  // evidence bytes (TDX: the quote; SEV-SNP: report || certificate table). Errors: as GetReport.
  Result<std::vector<uint8_t>> Attest(std::span<const uint8_t> public_key,
                                      std::span<const uint8_t> nonce) const;

 private:
  explicit TsmProvider(TsmOptions options) : options_(std::move(options)) {}

  TsmOptions options_;
};

}  // namespace eml::attest::tsm
