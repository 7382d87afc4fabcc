#include "attest/sevsnp/snp_verifier.h"

#include <cstdio>
#include <string>
#include <utility>

#include "attest/internal/report_builder.h"
#include "attest/sevsnp/amd_roots.h"
#include "attest/sevsnp/evidence.h"
#include "attest/sevsnp/vcek.h"
#include "common/secret_bytes.h"
#include "crypto/ecdsa.h"
#include "crypto/hash.h"

namespace eml::attest::sevsnp {
namespace {

constexpr int64_t kMaxVerificationTimeUnix = 253402300799;  // 9999-12-31T23:59:59Z
constexpr uint32_t kMaxVmpl = 3;
constexpr size_t kMeasurementBytes = 48;
constexpr size_t kHostDataBytes = 32;
constexpr size_t kReportDataBytes = 64;
constexpr size_t kTurinHwIdBytes = 8;

using ::eml::attest::internal::ReportBuilder;

constexpr const char* kCertificateSteps[] = {"endorsement_key",  "product", "certificate_chain",
                                             "report_signature", "chip_id", "reported_tcb",
                                             "minimum_tcb"};
constexpr const char* kPolicySteps[] = {"debug",         "migration_agent",   "smt",
                                        "vmpl",          "measurement",       "host_data",
                                        "id_key_digest", "author_key_digest", "report_data"};

std::string Hex64(uint64_t value) {
  char buffer[19];
  std::snprintf(buffer, sizeof(buffer), "0x%llx",
                static_cast<unsigned long long>(value));  // NOLINT
  return buffer;
}

const char* SigningKeyName(uint8_t signing_key) {
  switch (signing_key) {
    case kSigningKeyVcek:
      return "vcek";
    case kSigningKeyVlek:
      return "vlek";
    case kSigningKeyNone:
      return "none";
    default:
      return "reserved";
  }
}

template <size_t N>
std::vector<uint8_t> ToVector(const std::array<uint8_t, N>& bytes) {
  return std::vector<uint8_t>(bytes.begin(), bytes.end());
}

void CopyClaims(const AttestationReport& r, VerificationReport& report) {
  report.named_measurements = {
      {"measurement", ToVector(r.measurement)},
      {"host_data", ToVector(r.host_data)},
      {"chip_id", ToVector(r.chip_id)},
      {"report_data", ToVector(r.report_data)},
      {"id_key_digest", ToVector(r.id_key_digest)},
      {"author_key_digest", ToVector(r.author_key_digest)},
      {"family_id", ToVector(r.family_id)},
      {"image_id", ToVector(r.image_id)},
  };
  report.attributes["policy"] = Hex64(r.policy);
  report.attributes["vmpl"] = std::to_string(r.vmpl);
  report.attributes["version"] = std::to_string(r.version);
  report.attributes["guest_svn"] = std::to_string(r.guest_svn);
  report.attributes["signing_key"] = SigningKeyName(r.signing_key);
  report.attributes["reported_tcb"] = TcbHex(r.reported_tcb);
  report.attributes["current_tcb"] = TcbHex(r.current_tcb);
  report.attributes["committed_tcb"] = TcbHex(r.committed_tcb);
  report.attributes["launch_tcb"] = TcbHex(r.launch_tcb);
  report.debug = (r.policy & kPolicyDebug) != 0;
  report.report_data = ToVector(r.report_data);
}

// The certificates the evidence's table carries, parsed.
struct TableCertificates {
  std::optional<crypto::Certificate> vcek;
  std::optional<crypto::Certificate> vlek;
  std::vector<crypto::Certificate> intermediates;  // ASK / ASVK entries
};

Result<TableCertificates> ParseTableCertificates(std::span<const uint8_t> table) {
  EML_ASSIGN_OR_RETURN(std::vector<CertTableEntry> entries, ParseCertTable(table));
  TableCertificates out;
  for (const CertTableEntry& entry : entries) {
    if (entry.kind == CertKind::kOther) {
      continue;  // Other GUIDs are the host's business; nothing here trusts them.
    }
    Result<crypto::Certificate> cert = crypto::Certificate::FromDer(entry.der);
    if (!cert.has_value()) {
      return Error{ErrorCode::kAttestBadCertificate,
                   "certificate table entry: " + ToString(cert.error())};
    }
    switch (entry.kind) {
      case CertKind::kVcek:
        out.vcek = std::move(*cert);
        break;
      case CertKind::kVlek:
        out.vlek = std::move(*cert);
        break;
      case CertKind::kAsk:
        out.intermediates.push_back(std::move(*cert));
        break;
      case CertKind::kArk:  // Never trusted: the ARK is pinned. Parsed only to reject junk.
      case CertKind::kOther:
        break;
    }
  }
  return out;
}

struct Endorsement {
  crypto::Certificate cert;
  EndorsementInfo info;
  crypto::EcdsaPublicKey key;
  bool is_vlek = false;
};

bool HwIdMatches(const std::vector<uint8_t>& hwid, const std::array<uint8_t, 64>& chip_id) {
  const std::span<const uint8_t> chip(chip_id);
  return ConstantTimeEquals(hwid,
                            hwid.size() == kTurinHwIdBytes ? chip.first(kTurinHwIdBytes) : chip);
}

// PickCollateral chooses among the caller's endorsement certificates: the right CN, and for a
// VCEK the one whose hwID is the report's chip_id when there is one.
const crypto::Certificate* PickCollateral(const std::vector<crypto::Certificate>& certs, bool vlek,
                                          const AttestationReport& report) {
  const char* want_cn = vlek ? "SEV-VLEK" : "SEV-VCEK";
  const crypto::Certificate* first = nullptr;
  for (const crypto::Certificate& cert : certs) {
    if (cert.SubjectCommonName() != want_cn) {
      continue;
    }
    if (first == nullptr) {
      first = &cert;
    }
    Result<EndorsementInfo> info = ReadEndorsementExtensions(cert);
    if (!vlek && info.has_value() && info->hwid.has_value() &&
        HwIdMatches(*info->hwid, report.chip_id)) {
      return &cert;
    }
  }
  return first;
}

Result<Endorsement> SelectEndorsement(const AttestationReport& report,
                                      const TableCertificates& table,
                                      const Collateral& collateral) {
  if (report.mask_chip_key || report.signing_key == kSigningKeyNone) {
    return Error{ErrorCode::kSnpMissingEndorsementKey, "the report is not signed"};
  }
  if (report.signing_key != kSigningKeyVcek && report.signing_key != kSigningKeyVlek) {
    return Error{ErrorCode::kSnpMissingEndorsementKey, "reserved SIGNING_KEY value"};
  }
  const bool vlek = report.signing_key == kSigningKeyVlek;
  const std::optional<crypto::Certificate>& from_table = vlek ? table.vlek : table.vcek;
  const crypto::Certificate* cert =
      from_table.has_value() ? &*from_table
                             : PickCollateral(collateral.endorsement_certs, vlek, report);
  if (cert == nullptr) {
    return Error{ErrorCode::kSnpMissingEndorsementKey,
                 vlek ? "no VLEK certificate" : "no VCEK certificate"};
  }
  Result<EndorsementInfo> info = ReadEndorsementExtensions(*cert);
  if (!info.has_value()) {
    return info.error();
  }
  if (!vlek && !info->hwid.has_value()) {
    return Error{ErrorCode::kSnpBadEndorsementCert, "the VCEK has no hwID"};
  }
  Result<crypto::EcdsaPublicKey> key = cert->EcdsaKey();
  if (!key.has_value() || key->curve() != crypto::EcdsaCurve::kP384) {
    return Error{ErrorCode::kSnpBadEndorsementCert, "the endorsement key is not P-384"};
  }
  return Endorsement{*cert, std::move(*info), std::move(*key), vlek};
}

std::string AskName(const Endorsement& e) {
  return std::string(e.is_vlek ? "SEV-VLEK-" : "SEV-") + ProductName(e.info.product);
}
std::string ArkName(const Endorsement& e) {
  return std::string("ARK-") + ProductName(e.info.product);
}

bool HasCn(std::span<const crypto::Certificate> certs, const std::string& cn) {
  for (const crypto::Certificate& cert : certs) {
    if (cert.SubjectCommonName() == cn) {
      return true;
    }
  }
  return false;
}

Status CheckProduct(const Endorsement& e, std::span<const crypto::Certificate> intermediates,
                    std::span<const crypto::Certificate> arks) {
  if (!HasCn(intermediates, AskName(e))) {
    return Error{ErrorCode::kSnpProductMismatch,
                 e.info.product_name + " endorsement key but no " + AskName(e) + " certificate"};
  }
  if (!HasCn(arks, ArkName(e))) {
    return Error{ErrorCode::kSnpProductMismatch,
                 e.info.product_name + " endorsement key but no pinned " + ArkName(e)};
  }
  return OkStatus();
}

Status CheckChain(const Endorsement& e, std::span<const crypto::Certificate> intermediates,
                  std::span<const crypto::Certificate> arks, int64_t time_unix) {
  crypto::ChainOptions options;
  options.verification_time_unix = time_unix;
  // AMD's VCEK carries no authorityKeyIdentifier; every other strict check applies.
  options.allow_missing_key_identifiers = true;
  EML_ASSIGN_OR_RETURN(crypto::VerifiedChain chain,
                       crypto::VerifyChain(e.cert, intermediates, arks, options));
  const std::vector<crypto::Certificate>& path = chain.path();
  if (path.size() != 3 || path[1].SubjectCommonName() != AskName(e) ||
      path[2].SubjectCommonName() != ArkName(e)) {
    return Error{ErrorCode::kSnpProductMismatch,
                 "the chain is not endorsement key -> " + AskName(e) + " -> " + ArkName(e)};
  }
  return OkStatus();
}

Status CheckSignature(const Endorsement& e, const AttestationReport& report,
                      std::span<const uint8_t> report_bytes) {
  EML_ASSIGN_OR_RETURN(std::vector<uint8_t> r_s, SignatureP384(report));
  if (!e.key.VerifyRaw(report_bytes.first(kSignedSize), r_s).has_value()) {
    return Error{ErrorCode::kSnpSignatureInvalid, "report signature does not verify"};
  }
  return OkStatus();
}

bool AtLeast(const TcbVersion& tcb, const TcbVersion& min, Product product) {
  return (product != Product::kTurin || tcb.fmc >= min.fmc) && tcb.bootloader >= min.bootloader &&
         tcb.tee >= min.tee && tcb.snp >= min.snp && tcb.microcode >= min.microcode;
}

// Steps that need the endorsement key; `product` is set when it is known.
void RunCertificateSteps(const AttestationReport& report, std::span<const uint8_t> report_bytes,
                         const TableCertificates& table, const Collateral& collateral,
                         const Policy& policy, int64_t time_unix, VerificationReport& out,
                         ReportBuilder& b) {
  Result<Endorsement> e = SelectEndorsement(report, table, collateral);
  if (!b.Record("endorsement_key", e.has_value() ? OkStatus() : Status(e.error()),
                e.has_value() ? e->info.product_name : "")) {
    for (size_t i = 1; i < std::size(kCertificateSteps); ++i) {
      b.NotRun(kCertificateSteps[i]);
    }
    return;
  }
  out.attributes["product"] = ProductName(e->info.product);
  std::vector<crypto::Certificate> intermediates = table.intermediates;
  intermediates.insert(intermediates.end(), collateral.intermediates.begin(),
                       collateral.intermediates.end());
  b.Record("product", CheckProduct(*e, intermediates, collateral.arks));
  b.Record("certificate_chain", CheckChain(*e, intermediates, collateral.arks, time_unix));
  b.Record("report_signature", CheckSignature(*e, report, report_bytes));
  if (e->is_vlek) {
    b.Skip("chip_id", "VLEK: not bound to one chip");
  } else if (HwIdMatches(*e->info.hwid, report.chip_id)) {
    b.Pass("chip_id");
  } else {
    b.Fail("chip_id", Error{ErrorCode::kSnpChipIdMismatch, "chip_id differs from the hwID"});
  }
  const TcbVersion reported = DecodeTcb(report.reported_tcb, e->info.product);
  if (EncodeTcb(e->info.tcb, e->info.product) == report.reported_tcb) {
    b.Pass("reported_tcb");
  } else {
    b.Fail("reported_tcb", Error{ErrorCode::kSnpTcbMismatch,
                                 "reported_tcb differs from the endorsement key's TCB"});
  }
  if (!policy.minimum_tcb.has_value()) {
    b.Skip("minimum_tcb", "no minimum TCB");
  } else if (!AtLeast(reported, *policy.minimum_tcb, e->info.product)) {
    b.Fail("minimum_tcb",
           Error{ErrorCode::kSnpTcbTooLow,
                 "reported TCB " + TcbHex(report.reported_tcb) + " below the minimum"});
  } else if (!AtLeast(DecodeTcb(report.committed_tcb, e->info.product), *policy.minimum_tcb,
                      e->info.product)) {
    b.Fail("minimum_tcb",
           Error{ErrorCode::kSnpTcbTooLow,
                 "committed TCB " + TcbHex(report.committed_tcb) + " below the minimum"});
  } else {
    b.Pass("minimum_tcb");
  }
}

void CheckFlag(ReportBuilder& b, const char* name, bool set, bool allowed, ErrorCode code,
               const char* what) {
  if (!set) {
    b.Pass(name, std::string(what) + " not allowed by the guest policy");
  } else if (allowed) {
    b.Pass(name, std::string(what) + " allowed by the guest policy, accepted by policy");
  } else {
    b.Fail(name, Error{code, std::string(what) + " allowed by the guest policy"});
  }
}

template <size_t N>
void CheckPin(ReportBuilder& b, const char* name, const std::array<uint8_t, N>& actual,
              const std::optional<std::vector<uint8_t>>& pin, ErrorCode code) {
  if (!pin.has_value()) {
    b.Skip(name, "not pinned");
  } else if (ConstantTimeEquals(actual, *pin)) {
    b.Pass(name);
  } else {
    b.Fail(name, Error{code, std::string(name) + " differs from its pin"});
  }
}

void RunPolicySteps(const AttestationReport& report, const Policy& policy, ReportBuilder& b) {
  CheckFlag(b, "debug", (report.policy & kPolicyDebug) != 0, policy.allow_debug,
            ErrorCode::kAttestDebugMode, "debugging");
  CheckFlag(b, "migration_agent", (report.policy & kPolicyMigrateMa) != 0,
            policy.allow_migration_agent, ErrorCode::kSnpMigrationAgent, "a migration agent");
  CheckFlag(b, "smt", (report.policy & kPolicySmt) != 0, policy.allow_smt,
            ErrorCode::kSnpSmtNotAllowed, "SMT");
  if (!policy.required_vmpl.has_value() && !policy.max_vmpl.has_value()) {
    b.Skip("vmpl", "no required VMPL");
  } else if (policy.required_vmpl.has_value() && report.vmpl != *policy.required_vmpl) {
    b.Fail("vmpl", Error{ErrorCode::kSnpVmplMismatch,
                         "VMPL " + std::to_string(report.vmpl) + " is not the required one"});
  } else if (policy.max_vmpl.has_value() && report.vmpl > *policy.max_vmpl) {
    b.Fail("vmpl", Error{ErrorCode::kSnpVmplMismatch, "VMPL " + std::to_string(report.vmpl) +
                                                          " is above the maximum " +
                                                          std::to_string(*policy.max_vmpl)});
  } else {
    b.Pass("vmpl");
  }
  CheckPin(b, "measurement", report.measurement, policy.measurement,
           ErrorCode::kAttestMeasurementMismatch);
  CheckPin(b, "host_data", report.host_data, policy.host_data,
           ErrorCode::kAttestMeasurementMismatch);
  CheckPin(b, "id_key_digest", report.id_key_digest, policy.id_key_digest,
           ErrorCode::kAttestMeasurementMismatch);
  CheckPin(b, "author_key_digest", report.author_key_digest, policy.author_key_digest,
           ErrorCode::kAttestMeasurementMismatch);
  CheckPin(b, "report_data", report.report_data, policy.expected_report_data,
           ErrorCode::kSnpReportDataMismatch);
}

bool BadSize(const std::optional<std::vector<uint8_t>>& pin, size_t size) {
  return pin.has_value() && pin->size() != size;
}

}  // namespace

Result<std::unique_ptr<SnpVerifier>> SnpVerifier::New(Collateral collateral, Policy policy) {
  if (BadSize(policy.measurement, kMeasurementBytes) || BadSize(policy.host_data, kHostDataBytes) ||
      BadSize(policy.id_key_digest, kMeasurementBytes) ||
      BadSize(policy.author_key_digest, kMeasurementBytes) ||
      BadSize(policy.expected_report_data, kReportDataBytes)) {
    return Error{ErrorCode::kAttestBadPolicy, "a pin has the wrong size"};
  }
  if (policy.required_vmpl.has_value() && *policy.required_vmpl > kMaxVmpl) {
    return Error{ErrorCode::kAttestBadPolicy, "required_vmpl over 3"};
  }
  if (policy.max_vmpl.has_value() && *policy.max_vmpl > kMaxVmpl) {
    return Error{ErrorCode::kAttestBadPolicy, "max_vmpl over 3"};
  }
  if (collateral.arks.size() > kMaxCollateralCertificates ||
      collateral.intermediates.size() > kMaxCollateralCertificates ||
      collateral.endorsement_certs.size() > kMaxCollateralCertificates) {
    return Error{ErrorCode::kAttestBadPolicy, "too many collateral certificates"};
  }
  if (collateral.arks.empty()) {
    EML_ASSIGN_OR_RETURN(collateral.arks, BuiltInArks());
  }
  for (const crypto::Certificate& ark : collateral.arks) {
    if (ark.SubjectCommonName().rfind("ARK-", 0) != 0) {
      return Error{ErrorCode::kAttestBadPolicy, "a pinned root is not an AMD ARK-<product>"};
    }
  }
  return std::unique_ptr<SnpVerifier>(new SnpVerifier(std::move(collateral), std::move(policy)));
}

Result<Verification> SnpVerifier::Verify(std::span<const uint8_t> evidence,
                                         int64_t verification_time_unix) const {
  if (verification_time_unix < 0 || verification_time_unix > kMaxVerificationTimeUnix) {
    return Error{ErrorCode::kInvalidArgument, "verification time out of range"};
  }
  Verification out;
  VerificationReport& report = out.report;
  report.platform = kPlatformName;
  report.verification_time_unix = verification_time_unix;
  report.document_sha256 = crypto::Sha256(evidence);
  ReportBuilder b(report);

  Result<SplitEvidenceResult> split = SplitEvidence(evidence);
  Result<AttestationReport> parsed =
      split.has_value() ? ParseReport(split->report) : Result<AttestationReport>(split.error());
  if (!b.Record("report_structure", parsed.has_value() ? OkStatus() : Status(parsed.error()))) {
    b.NotRun("certificate_table");
    b.NotRun("signature_algorithm");
    for (const char* name : kCertificateSteps) {
      b.NotRun(name);
    }
    for (const char* name : kPolicySteps) {
      b.NotRun(name);
    }
    return out;
  }
  CopyClaims(*parsed, report);
  Result<TableCertificates> table = TableCertificates{};
  if (split->cert_table.empty()) {
    b.Skip("certificate_table", "bare report");
  } else {
    table = ParseTableCertificates(split->cert_table);
    b.Record("certificate_table", table.has_value() ? OkStatus() : Status(table.error()));
  }
  const bool algorithm_ok = parsed->signature_algo == kSignatureAlgoEcdsaP384Sha384;
  b.Record("signature_algorithm",
           algorithm_ok ? OkStatus()
                        : Status(Error{ErrorCode::kAttestBadAlgorithm,
                                       "signature_algo " + std::to_string(parsed->signature_algo) +
                                           " is not ECDSA P-384 SHA-384"}));
  if (table.has_value() && algorithm_ok) {
    RunCertificateSteps(*parsed, split->report, *table, collateral_, policy_,
                        verification_time_unix, report, b);
  } else {
    for (const char* name : kCertificateSteps) {
      b.NotRun(name);
    }
  }
  RunPolicySteps(*parsed, policy_, b);
  report.verified = !b.failed();
  if (report.verified) {
    out.evidence = MakeVerifiedEvidence(report);
  }
  return out;
}

}  // namespace eml::attest::sevsnp
