#pragma once
// Posture: Verify reads untrusted bytes (TDX quotes; parsing is tdx/quote.h with its limits).
// LoadCollateralDirectory / TdxVerifier::New read operator-supplied Intel PCS responses (at most
// 1 MiB per JSON file, kMaxCrlSize per CRL). Fuzz target: tests/fuzz/attest_tdx_quote_fuzz.cc.
//
// eml::attest::tdx::TdxVerifier verifies an Intel TDX quote (v4 or v5) at a given time against
// the pinned Intel SGX Root CA, offline Intel PCS collateral and a Policy, and reports every
// step (attest/verifier.h). Platform name "tdx".
//
// Steps, in order, each with its own failure code:
//   quote_structure      ParseQuote (kTdxQuoteMalformed, kTdxUnsupportedQuote,
//                        kTdxBadCertificationData, kLimitExceeded)
//   pck_certificates     the type-5 PEM chain parses, leaf first, P-256 leaf
//                        (kTdxBadCertificationData, kAttestBadCertificate)
//   pck_chain            PCK leaf -> Platform/Processor CA -> pinned root at the time (kX509*)
//   pck_revocation       the same path with the PCK CRL and root CA CRL (kX509Revoked;
//                        kX509Expired / kX509NotYetValid for a stale CRL; kX509ChainInvalid
//                        when the CRL for an issuer is missing)
//   qe_report_signature  PCK leaf key over the 384-byte QE report  kTdxQeReportSignatureInvalid
//   qe_report_data       QE report_data == SHA-256(attestation key || QE auth data) || 0^32
//                                                                   kTdxQeReportDataMismatch
//   quote_signature      attestation key over header||body        kTdxQuoteSignatureInvalid
//   pck_extensions       FMSPC, PCE-ID, SVNs from OID 1.2.840.113741.1.13.1
//                                                                   kTdxPckExtensionInvalid
//   tcb_info             a tcbInfo for the PCK's FMSPC (kTdxFmspcMismatch, also for PCE-ID),
//                        signed by the TCB signing chain to the root (kX509*,
//                        kTdxCollateralSignatureInvalid), current (kTdxCollateralExpired,
//                        kTdxCollateralNotYetValid)
//   qe_identity          QE identity signed and current (as tcb_info), and the QE report
//                        matches its mrsigner, isvprodid, masked miscselect and attributes
//                        (kTdxQeIdentityMismatch)
//   tdx_module           MRSIGNERSEAM / SEAM attributes match the tcbInfo     kTdxModuleMismatch
//   tcb_status           Intel TCB level matching merged with the QE status; the result is
//                        in Policy::allowed_tcb_statuses            kTdxTcbStatusNotAllowed
//   debug_mode           TD_ATTRIBUTES bit 0 clear, or allow_debug        kAttestDebugMode
//   measurements         every pin equals the report's value    kAttestMeasurementMismatch
//   report_data          equals expected_report_data when set       kTdxReportDataMismatch
//
// The signed JSON values (tcbInfo, enclaveIdentity) are verified over their exact bytes in the
// response text; they are never re-serialized. A quote whose certification data is missing or
// does not chain to the pinned root fails even when its own signature verifies with the
// attestation key it carries (that key proves nothing by itself).
//
// Trust: the pinned root (IntelSgxRootCa() by default). Certificates in the quote and the
// collateral are only intermediates. Collateral must be fresh: tcbInfo, QE identity and CRLs
// are checked against their issue/next-update times at the verification time.
//
// Thread safety: a TdxVerifier is immutable; Verify may run concurrently.

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "attest/verifier.h"
#include "common/result.h"
#include "crypto/x509.h"

namespace eml::attest::tdx {

namespace internal {
struct ParsedCollateral;  // attest/tdx/internal/pcs_collateral.h
}  // namespace internal

inline constexpr char kPlatformName[] = "tdx";

// Intel's TCB statuses. kNotSupported: no TCB level matches the platform.
enum class TcbStatus {
  kUpToDate,
  kSwHardeningNeeded,
  kConfigurationNeeded,
  kConfigurationAndSwHardeningNeeded,
  kOutOfDate,
  kOutOfDateConfigurationNeeded,
  kRevoked,
  kNotSupported,
};

// TcbStatusName: Intel's spelling ("UpToDate", "SWHardeningNeeded", "ConfigurationNeeded",
// "ConfigurationAndSWHardeningNeeded", "OutOfDate", "OutOfDateConfigurationNeeded", "Revoked")
// and "NotSupported".
const char* TcbStatusName(TcbStatus status);
// TcbStatusFromName: the inverse. Errors: kInvalidArgument.
Result<TcbStatus> TcbStatusFromName(std::string_view name);

// Collateral: Intel PCS responses, kept as received (signatures cover their exact bytes).
struct Collateral {
  // TDX tcbInfo responses ({"tcbInfo":{...},"signature":"..."}), at most one per FMSPC.
  std::vector<std::string> tcb_info_responses;
  // The TD QE identity response ({"enclaveIdentity":{...},"signature":"..."}).
  std::string qe_identity_response;
  // TCB-Info-Issuer-Chain: the Intel SGX TCB Signing certificate (and optionally the root,
  // which is ignored: the pinned root is the anchor). Signs tcbInfo and QE identity.
  std::vector<crypto::Certificate> tcb_signing_chain;
  // CRLs: the PCK CRL(s) (Platform and/or Processor CA) and the Intel SGX Root CA CRL.
  std::vector<crypto::Crl> crls;
};

// LoadCollateralDirectory reads a collateral directory (docs/attestation.md, "TDX"):
//   tcb_info*.json         one or more TDX tcbInfo responses (one per FMSPC)
//   qe_identity.json       the TD QE identity response
//   tcb_signing_chain.pem  the TCB-Info-Issuer-Chain header, URL-decoded
//   *.crl.der / *.crl.pem  PCK CRL(s) and the root CA CRL (DER or PEM)
// Other files are ignored. Errors: kTdxCollateralMissing (a required file is absent),
// kIoError, kLimitExceeded, kX509ParseFailed.
Result<Collateral> LoadCollateralDirectory(const std::filesystem::path& dir);

struct Policy {
  // measurement_pins: named measurement ("mrtd", "rtmr0".."rtmr3", "mrconfigid", "mrowner",
  // "mrownerconfig", "mrseam", "mrsignerseam", "mrservicetd") -> expected 48 bytes.
  std::map<std::string, std::vector<uint8_t>> measurement_pins;
  // allowed_tcb_statuses: the merged TCB statuses that pass the tcb_status step.
  std::set<TcbStatus> allowed_tcb_statuses = {TcbStatus::kUpToDate};
  // allow_debug: accept debug TDs (TD_ATTRIBUTES bit 0). Never in production.
  bool allow_debug = false;
  // expected_report_data: the 64-byte REPORTDATA the TD must have bound.
  std::optional<std::vector<uint8_t>> expected_report_data;
};

class TdxVerifier final : public Verifier {
 public:
  // New binds the pinned `root`, `collateral` and `policy`; it parses the collateral JSON (not
  // its signatures, which Verify checks at the verification time). Errors: kAttestBadPolicy (an
  // unknown pin name, a pin not 48 bytes, expected_report_data not 64 bytes),
  // kTdxCollateralMalformed (a response is not Intel's shape, two tcbInfo for one FMSPC),
  // kTdxCollateralMissing (no tcbInfo, no TCB signing certificate).
  static Result<std::unique_ptr<TdxVerifier>> New(crypto::Certificate root, Collateral collateral,
                                                  Policy policy);

  // Verify: see attest/verifier.h and the steps above. The report carries named_measurements
  // (mrtd, rtmr0..3, mrconfigid, mrowner, mrownerconfig, mrseam, mrsignerseam, [mrservicetd]),
  // report_data, tcb_status and attributes (tee_type, version, body_type, fmspc, pce_id,
  // qe_identity_status, platform_tcb_status, [tdx_module_status, tcb_date, advisory_ids],
  // td_attributes, xfam, tee_tcb_svn). Errors: kInvalidArgument for a time outside
  // [0, 253402300799] (year 9999).
  Result<Verification> Verify(std::span<const uint8_t> evidence,
                              int64_t verification_time_unix) const override;

  const Policy& policy() const EML_LIFETIME_BOUND { return policy_; }

  ~TdxVerifier() override;

 private:
  TdxVerifier(crypto::Certificate root, Collateral collateral, Policy policy,
              std::unique_ptr<const internal::ParsedCollateral> parsed);

  crypto::Certificate root_;
  Collateral collateral_;
  Policy policy_;
  std::unique_ptr<const internal::ParsedCollateral> parsed_;
};

}  // namespace eml::attest::tdx
