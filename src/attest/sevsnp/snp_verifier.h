#pragma once
// Posture: Verify reads untrusted bytes (SEV-SNP evidence: report + optional certificate table,
// attest/sevsnp/evidence.h, report.h); certificates parse through crypto::Certificate with its
// limits. Fuzz target: tests/fuzz/attest_sevsnp_report_fuzz.cc (attest_sevsnp_report).
//
// eml::attest::sevsnp::SnpVerifier verifies an AMD SEV-SNP attestation report at a given time
// against pinned AMD Root Keys (ARKs) and a Policy, and reports every step (attest/verifier.h).
//
// Evidence: the 1184-byte ATTESTATION_REPORT, optionally followed by the AMD certificate table
// (evidence.h) holding the VCEK or VLEK and the ASK. Certificates may also be given up front in
// Collateral (for bare reports). Where production gets them:
//   - in the guest: SNP_GET_EXT_REPORT / configfs-tsm `auxblob` returns the table the host
//     installed (SNP_SET_EXT_CONFIG); sending report || table is the self-contained form;
//   - otherwise from AMD KDS: VCEK at https://kdsintf.amd.com/vcek/v1/{product}/{chip_id hex}
//     ?blSPL=..&teeSPL=..&snpSPL=..&ucodeSPL=.. (the reported TCB), ASK + ARK at
//     /vcek/v1/{product}/cert_chain (VLEK: /vlek/v1/...). Certificates are public; only the
//     ARK is trusted, and it is pinned here, never taken from the evidence.
//
// Steps, in order, each with its own failure code:
//   report_structure    size, version 2..3, reserved fields   kSnpReportMalformed,
//                                               kSnpUnsupportedVersion, kSnpReservedNonZero
//   certificate_table   the table after the report parses and its certificates are X.509
//                       (not_applicable for a bare report)   kSnpCertTableMalformed,
//                                                           kAttestBadCertificate
//   signature_algorithm signature_algo = 1 (ECDSA P-384 with SHA-384)   kAttestBadAlgorithm
//   endorsement_key     a VCEK (or VLEK, by the report's SIGNING_KEY) from the table, else from
//                       Collateral (the VCEK whose hwID is the chip_id first); P-384 key and
//                       AMD extensions (vcek.h)   kSnpMissingEndorsementKey, kSnpBadEndorsementCert
//   product             the endorsement key's product has an ASK "SEV-<P>" (VLEK: ASVK
//                       "SEV-VLEK-<P>") and a pinned ARK "ARK-<P>"      kSnpProductMismatch
//   certificate_chain   VCEK -> ASK -> pinned ARK (VLEK -> ASVK -> ARK) at the verification
//                       time, RSASSA-PSS, strict RFC 5280 except key identifiers (AMD's VCEK
//                       has no authorityKeyIdentifier); the path is exactly those three with
//                       those names (crypto::VerifyChain codes, kSnpProductMismatch)
//   report_signature    ECDSA P-384 over bytes [0, 0x2A0) with the endorsement key
//                                                                     kSnpSignatureInvalid
//   chip_id             chip_id equals the VCEK's hwID (not_applicable for a VLEK)
//                                                                       kSnpChipIdMismatch
//   reported_tcb        reported_tcb equals the endorsement key's TCB    kSnpTcbMismatch
//   minimum_tcb         every component of reported_tcb and of committed_tcb (the floor
//                       the firmware cannot be rolled back below) >= the policy's
//                                                                         kSnpTcbTooLow
//   debug               guest policy bit 19 (DEBUG) unless allow_debug       kAttestDebugMode
//   migration_agent     guest policy bit 18 (MIGRATE_MA) unless allowed     kSnpMigrationAgent
//   smt                 guest policy bit 16 (SMT) unless allow_smt           kSnpSmtNotAllowed
//   vmpl                vmpl equals required_vmpl and is at most max_vmpl    kSnpVmplMismatch
//   measurement / host_data / id_key_digest / author_key_digest   equal to their pins
//                                                                 kAttestMeasurementMismatch
//   report_data         equals expected_report_data                    kSnpReportDataMismatch
// Policy steps with nothing to check are not_applicable. The policy and pin steps run from the
// parsed report even when the certificate steps fail, so a report shows every problem.
//
// Report: named_measurements "measurement", "host_data", "chip_id", "report_data",
// "id_key_digest", "author_key_digest", "family_id", "image_id"; attributes "product" (once
// known), "policy" (0x hex), "vmpl", "version", "guest_svn", "signing_key" ("vcek" / "vlek" /
// "none"), "reported_tcb" / "current_tcb" / "committed_tcb" / "launch_tcb" (16 hex digits, the
// bytes in report order); debug = policy bit 19; report_data. tcb_status stays empty: AMD
// publishes no TCB verdict; pin a minimum TCB instead. Revocation (the KDS CRL) is not checked.
//
// Thread safety: an SnpVerifier is immutable; Verify may run concurrently.

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "attest/sevsnp/report.h"
#include "attest/verifier.h"
#include "common/result.h"
#include "crypto/x509.h"

namespace eml::attest::sevsnp {

inline constexpr char kPlatformName[] = "sev-snp";
inline constexpr size_t kMaxCollateralCertificates = 64;

// Trust anchors and public certificates the caller supplies.
struct Collateral {
  // arks: the pinned AMD Root Keys; empty means BuiltInArks() (Milan, Genoa, Turin).
  std::vector<crypto::Certificate> arks;
  // intermediates: ASK / ASVK certificates (e.g. from KDS cert_chain), used with the table's.
  std::vector<crypto::Certificate> intermediates;
  // endorsement_certs: VCEK / VLEK certificates for evidence without a certificate table.
  std::vector<crypto::Certificate> endorsement_certs;
};

struct Policy {
  std::optional<std::vector<uint8_t>> measurement;           // 48 bytes
  std::optional<std::vector<uint8_t>> host_data;             // 32 bytes
  std::optional<std::vector<uint8_t>> id_key_digest;         // 48 bytes
  std::optional<std::vector<uint8_t>> author_key_digest;     // 48 bytes
  std::optional<std::vector<uint8_t>> expected_report_data;  // 64 bytes
  // allow_debug: accept guests whose policy allows debugging (the hypervisor can read guest
  // memory). Never in production.
  bool allow_debug = false;
  // allow_migration_agent: accept guests that may be migrated by a migration agent.
  bool allow_migration_agent = false;
  // allow_smt: accept guests whose policy allows SMT (most clouds; a side-channel hardening
  // choice to turn off).
  bool allow_smt = true;
  std::optional<uint32_t> required_vmpl;  // 0..3
  // max_vmpl: the report's VMPL must be at most this (0 is the most privileged level).
  std::optional<uint32_t> max_vmpl;  // 0..3
  // minimum_tcb: each component (fmc only on Turin) of the reported and the committed TCB
  // must be at least this.
  std::optional<TcbVersion> minimum_tcb;
};

class SnpVerifier final : public Verifier {
 public:
  // New binds `collateral` (built-in ARKs when none given) and `policy`. Errors:
  // kAttestBadPolicy (a pin of the wrong size, required_vmpl or max_vmpl over 3, an ARK whose CN is
  // not "ARK-<product>", over kMaxCollateralCertificates), kInternal (built-in ARKs corrupt).
  static Result<std::unique_ptr<SnpVerifier>> New(Collateral collateral, Policy policy);

  // Verify: see attest/verifier.h and the steps above. Errors: kInvalidArgument when
  // verification_time_unix is negative or beyond year 9999.
  Result<Verification> Verify(std::span<const uint8_t> evidence,
                              int64_t verification_time_unix) const override;

  const Collateral& collateral() const EML_LIFETIME_BOUND { return collateral_; }
  const Policy& policy() const EML_LIFETIME_BOUND { return policy_; }

 private:
  SnpVerifier(Collateral collateral, Policy policy)
      : collateral_(std::move(collateral)), policy_(std::move(policy)) {}

  Collateral collateral_;
  Policy policy_;
};

}  // namespace eml::attest::sevsnp
