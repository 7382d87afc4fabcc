#pragma once
// eml::attest::tdx::testing: a synthetic Intel-shaped PKI for tests (all P-256, ECDSA-SHA256):
// a root CA, a "PCK Platform CA", a PCK leaf carrying the SGX extension (OID
// 1.2.840.113741.1.13.1), and a "TCB Signing" certificate; plus CRLs, signed PCS-style JSON
// responses and a quote rebuilder that swaps a real quote's PCK chain for this PKI's and
// re-signs its QE report (the QE report data still binds the quote's attestation key, so the
// quote signature stays valid). Tests only.
//
// Thread safety: a TestPki is immutable after Create; its methods are safe from any thread.

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/ecdsa.h"

namespace eml::attest::tdx::testing {

struct PckSpec {
  std::array<uint8_t, 6> fmspc = {0x50, 0x80, 0x6f, 0x00, 0x00, 0x00};
  std::array<uint8_t, 2> pce_id = {0x00, 0x00};
  std::array<uint8_t, 16> sgx_svn = {3, 3, 2, 2, 2, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0};
  uint16_t pce_svn = 11;
  bool include_sgx_extension = true;
};

struct PkiSpec {
  int64_t not_before_unix = 1600000000;  // 2020-09-13
  int64_t not_after_unix = 1900000000;   // 2030-03-17
  int64_t leaf_not_after_unix = 1900000000;
  PckSpec pck;
};

class TestPki {
 public:
  static TestPki Create(const PkiSpec& spec = {});

  const std::vector<uint8_t>& root_der() const { return root_der_; }
  const std::vector<uint8_t>& platform_ca_der() const { return platform_ca_der_; }
  const std::vector<uint8_t>& leaf_der() const { return leaf_der_; }
  const std::vector<uint8_t>& tcb_signing_der() const { return tcb_signing_der_; }
  uint64_t leaf_serial() const { return kLeafSerial; }

  // PckChainPem: leaf, platform CA, root, as PEM (what a quote's type-5 data holds).
  std::string PckChainPem() const;
  // SignedResponse returns {"<key>":<body>,"signature":"<hex r||s>"} signed by the TCB signer.
  std::string SignedResponse(std::string_view key, std::string_view body) const;
  // PlatformCrl / RootCrl: DER CRLs by the platform CA / root listing `revoked_serials`.
  std::vector<uint8_t> PlatformCrl(int64_t this_update, int64_t next_update,
                                   const std::vector<uint64_t>& revoked_serials) const;
  std::vector<uint8_t> RootCrl(int64_t this_update, int64_t next_update) const;
  // SignWithLeaf: raw r||s over `message` with the PCK leaf key.
  std::vector<uint8_t> SignWithLeaf(std::span<const uint8_t> message) const;

  // RebuildQuote re-encodes the real `quote` with `pem` as its PCK chain and its QE report
  // re-signed with this PKI's leaf key. With `signed_region` (header || body) it also makes a
  // fresh attestation key, signs signed_region with it and binds it in the QE report data.
  std::vector<uint8_t> RebuildQuote(std::span<const uint8_t> quote, std::string_view pem,
                                    std::span<const uint8_t> signed_region = {}) const;

  // RebuildQuoteWithReportData returns the v4 `quote` with its body's REPORTDATA set to
  // `report_data` (64 bytes) and, with `debug`, TD_ATTRIBUTES bit 0 (DEBUG) set, rebuilt with
  // this PKI's chain (PckChainPem) and a fresh attestation key signing the changed body.
  std::vector<uint8_t> RebuildQuoteWithReportData(std::span<const uint8_t> quote,
                                                  std::span<const uint8_t> report_data,
                                                  bool debug = false) const;

  // WriteCollateralDirectory writes collateral signed by this PKI in the layout that
  // LoadCollateralDirectory reads: the tcbInfo (FMSPC 50806f000000) and QE identity responses
  // with the given JSON bodies, the TCB signing chain, and platform / root CRLs (no revoked
  // serials) valid from `this_update` to `next_update`.
  void WriteCollateralDirectory(const std::filesystem::path& dir, std::string_view tcb_info_body,
                                std::string_view qe_identity_body, int64_t this_update,
                                int64_t next_update) const;

 private:
  static constexpr uint64_t kLeafSerial = 0x1234;
  struct Keys;
  TestPki() = default;

  std::shared_ptr<Keys> keys_;
  std::vector<uint8_t> root_der_;
  std::vector<uint8_t> platform_ca_der_;
  std::vector<uint8_t> leaf_der_;
  std::vector<uint8_t> tcb_signing_der_;
};

// ToPem wraps DER certificate bytes as a PEM block.
std::string ToPem(std::span<const uint8_t> der);

// The real SPR sample quote every TDX test rebuilds (under the shared vectors folder).
inline constexpr char kSprSampleQuote[] = "tdx/go-tdx-guest/tdx_prod_quote_SPR_E4.dat";

// SprSampleTcbInfoBody / SprSampleQeIdentityBody: PCS-style JSON bodies for
// WriteCollateralDirectory under which the SPR sample quote rebuilt with a TestPki (default
// PckSpec: FMSPC 50806f000000, PCE 0000, SGX SVNs 3,3,2,..., PCESVN 11; the quote's TEE_TCB_SVN
// 3,0,4 and QE ISVSVN 4) is UpToDate, with issueDate `issue_unix` and nextUpdate
// `next_update_unix`.
std::string SprSampleTcbInfoBody(int64_t issue_unix, int64_t next_update_unix);
std::string SprSampleQeIdentityBody(int64_t issue_unix, int64_t next_update_unix);

}  // namespace eml::attest::tdx::testing
