#include "attest/tdx/tdx_verifier.h"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <string>
#include <utility>

#include "attest/internal/report_builder.h"
#include "attest/tdx/internal/pck_extensions.h"
#include "attest/tdx/internal/pcs_collateral.h"
#include "attest/tdx/quote.h"
#include "common/encoding.h"
#include "common/secret_bytes.h"
#include "crypto/ecdsa.h"
#include "crypto/hash.h"

namespace eml::attest::tdx {

namespace {

constexpr int64_t kMaxVerificationTimeUnix = 253402300799;  // 9999-12-31T23:59:59Z
constexpr size_t kMaxCollateralFileBytes = 4 * 1024 * 1024;

constexpr const char* kMeasurementNames[] = {
    "mrtd",    "rtmr0",         "rtmr1",  "rtmr2",        "rtmr3",      "mrconfigid",
    "mrowner", "mrownerconfig", "mrseam", "mrsignerseam", "mrservicetd"};

struct StatusName {
  TcbStatus status;
  const char* name;
};
constexpr StatusName kStatusNames[] = {
    {TcbStatus::kUpToDate, "UpToDate"},
    {TcbStatus::kSwHardeningNeeded, "SWHardeningNeeded"},
    {TcbStatus::kConfigurationNeeded, "ConfigurationNeeded"},
    {TcbStatus::kConfigurationAndSwHardeningNeeded, "ConfigurationAndSWHardeningNeeded"},
    {TcbStatus::kOutOfDate, "OutOfDate"},
    {TcbStatus::kOutOfDateConfigurationNeeded, "OutOfDateConfigurationNeeded"},
    {TcbStatus::kRevoked, "Revoked"},
    {TcbStatus::kNotSupported, "NotSupported"},
};

using ::eml::attest::internal::ReportBuilder;

std::vector<uint8_t> ToVector(std::span<const uint8_t> bytes) {
  return std::vector<uint8_t>(bytes.begin(), bytes.end());
}

Status ToStatus(const Error& error) { return Status(error); }

Result<std::string> ReadFile(const std::filesystem::path& path) {
  std::error_code ec;
  const uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec) {
    return Error{ErrorCode::kIoError, "cannot stat " + path.string()};
  }
  if (size > kMaxCollateralFileBytes) {
    return Error{ErrorCode::kLimitExceeded, path.string() + " is too large"};
  }
  std::ifstream in(path, std::ios::binary);
  std::string text(static_cast<size_t>(size), '\0');
  if (!in.read(text.data(), static_cast<std::streamsize>(text.size()))) {
    return Error{ErrorCode::kIoError, "cannot read " + path.string()};
  }
  return text;
}

bool EndsWith(const std::string& text, std::string_view suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// State shared by the steps of one verification.
struct Context {
  const crypto::Certificate& root;
  const Collateral& collateral;
  const Policy& policy;
  int64_t time_unix;
  ReportBuilder& b;
  VerificationReport& report;
};

// ChainTo verifies `leaf` + `intermediates` to the pinned root at the time, optionally with CRLs.
Status ChainTo(const Context& c, const crypto::Certificate& leaf,
               std::span<const crypto::Certificate> intermediates, bool with_crls) {
  crypto::ChainOptions options;
  options.verification_time_unix = c.time_unix;
  if (with_crls) {
    for (const crypto::Crl& crl : c.collateral.crls) {
      options.crls.push_back(&crl);
    }
  }
  Result<crypto::VerifiedChain> chain = crypto::VerifyChain(
      leaf, intermediates, std::span<const crypto::Certificate>(&c.root, 1), options);
  return chain.has_value() ? OkStatus() : ToStatus(chain.error());
}

// ParsePckChain parses the type-5 PEM (Intel's QE appends a NUL terminator).
Result<std::vector<crypto::Certificate>> ParsePckChain(std::span<const uint8_t> pem_bytes) {
  while (!pem_bytes.empty() && pem_bytes.back() == 0) {
    pem_bytes = pem_bytes.first(pem_bytes.size() - 1);
  }
  std::string_view pem(reinterpret_cast<const char*>(pem_bytes.data()),  // NOLINT: text view
                       pem_bytes.size());
  Result<std::vector<crypto::Certificate>> certs = crypto::Certificate::ParsePemBundle(pem);
  if (!certs.has_value()) {
    return Error{ErrorCode::kAttestBadCertificate, "PCK chain: " + ToString(certs.error())};
  }
  if (certs->size() < 2) {
    return Error{ErrorCode::kTdxBadCertificationData, "PCK chain has no intermediate CA"};
  }
  Result<crypto::EcdsaPublicKey> key = certs->front().EcdsaKey();
  if (certs->front().is_ca() || !key.has_value() || key->curve() != crypto::EcdsaCurve::kP256) {
    return Error{ErrorCode::kAttestLeafConstraints, "PCK leaf is a CA or not P-256"};
  }
  return std::move(*certs);
}

Status CheckQeReportData(const ParsedQuote& quote) {
  crypto::Sha256Hasher hasher;
  hasher.Update(quote.attestation_key);
  hasher.Update(quote.qe_auth_data);
  std::array<uint8_t, 64> expected{};
  const std::array<uint8_t, 32> digest = hasher.Finish();
  std::copy(digest.begin(), digest.end(), expected.begin());
  if (!ConstantTimeEquals(quote.qe_report.report_data, expected)) {
    return Error{ErrorCode::kTdxQeReportDataMismatch,
                 "QE report data is not SHA-256(attestation key || QE auth data) || 0^32"};
  }
  return OkStatus();
}

Status CheckQuoteSignature(const ParsedQuote& quote) {
  std::array<uint8_t, 65> point{};
  point[0] = 0x04;
  std::copy(quote.attestation_key.begin(), quote.attestation_key.end(), point.begin() + 1);
  Result<crypto::EcdsaPublicKey> key =
      crypto::EcdsaPublicKey::FromSec1(crypto::EcdsaCurve::kP256, point);
  if (!key.has_value()) {
    return Error{ErrorCode::kTdxQuoteSignatureInvalid, "attestation key is not a P-256 point"};
  }
  if (!key->VerifyRaw(quote.signed_region, quote.signature).has_value()) {
    return Error{ErrorCode::kTdxQuoteSignatureInvalid, "quote signature does not verify"};
  }
  return OkStatus();
}

Status CheckQeReportSignature(const ParsedQuote& quote, const crypto::Certificate& pck_leaf) {
  EML_ASSIGN_OR_RETURN(crypto::EcdsaPublicKey key, pck_leaf.EcdsaKey());
  if (!key.VerifyRaw(quote.qe_report_bytes, quote.qe_report_signature).has_value()) {
    return Error{ErrorCode::kTdxQeReportSignatureInvalid, "QE report signature does not verify"};
  }
  return OkStatus();
}

// CheckSignedCollateral: TCB signing chain to the root, signature over the exact JSON bytes,
// then issueDate <= time <= nextUpdate.
Status CheckSignedCollateral(const Context& c, const internal::SignedJson& signed_json,
                             int64_t issue_date, int64_t next_update, const char* what) {
  const std::vector<crypto::Certificate>& chain = c.collateral.tcb_signing_chain;
  EML_RETURN_IF_ERROR(
      ChainTo(c, chain.front(), std::span<const crypto::Certificate>(chain).subspan(1), false));
  EML_ASSIGN_OR_RETURN(crypto::EcdsaPublicKey key, chain.front().EcdsaKey());
  if (!key.VerifyRaw(AsBytes(signed_json.body), signed_json.signature).has_value()) {
    return Error{ErrorCode::kTdxCollateralSignatureInvalid,
                 std::string(what) + " signature does not verify"};
  }
  if (c.time_unix < issue_date) {
    return Error{ErrorCode::kTdxCollateralNotYetValid, std::string(what) + " issued later"};
  }
  if (c.time_unix > next_update) {
    return Error{ErrorCode::kTdxCollateralExpired, std::string(what) + " past nextUpdate"};
  }
  return OkStatus();
}

Status CheckQeIdentityMatch(const internal::QeIdentity& identity, const QeReport& qe) {
  if (!std::equal(identity.mrsigner.begin(), identity.mrsigner.end(), qe.mrsigner.begin(),
                  qe.mrsigner.end())) {
    return Error{ErrorCode::kTdxQeIdentityMismatch, "QE MRSIGNER differs"};
  }
  if (identity.isv_prod_id != qe.isv_prod_id) {
    return Error{ErrorCode::kTdxQeIdentityMismatch, "QE ISVPRODID differs"};
  }
  if ((qe.miscselect & identity.miscselect_mask) != identity.miscselect) {
    return Error{ErrorCode::kTdxQeIdentityMismatch, "QE MISCSELECT differs under its mask"};
  }
  for (size_t i = 0; i < identity.attributes.size(); ++i) {
    if ((qe.attributes[i] & identity.attributes_mask[i]) != identity.attributes[i]) {
      return Error{ErrorCode::kTdxQeIdentityMismatch, "QE ATTRIBUTES differ under their mask"};
    }
  }
  return OkStatus();
}

void CopyClaims(const ParsedQuote& quote, VerificationReport& report) {
  const TdReportBody& body = quote.body;
  auto& m = report.named_measurements;
  m["mrtd"] = ToVector(body.mrtd);
  for (size_t i = 0; i < body.rtmr.size(); ++i) {
    m["rtmr" + std::to_string(i)] = ToVector(body.rtmr[i]);
  }
  m["mrconfigid"] = ToVector(body.mrconfigid);
  m["mrowner"] = ToVector(body.mrowner);
  m["mrownerconfig"] = ToVector(body.mrownerconfig);
  m["mrseam"] = ToVector(body.mrseam);
  m["mrsignerseam"] = ToVector(body.mrsignerseam);
  if (!body.mrservicetd.empty()) {
    m["mrservicetd"] = ToVector(body.mrservicetd);
  }
  report.report_data = ToVector(body.report_data);
  report.debug = IsDebugTd(body);
  report.attributes["tee_type"] = "tdx";
  report.attributes["version"] = std::to_string(quote.header.version);
  report.attributes["body_type"] = std::to_string(body.body_type);
  report.attributes["td_attributes"] = HexEncode(body.td_attributes);
  report.attributes["xfam"] = HexEncode(body.xfam);
  report.attributes["tee_tcb_svn"] = HexEncode(body.tee_tcb_svn);
  if (!body.tee_tcb_svn2.empty()) {
    report.attributes["tee_tcb_svn2"] = HexEncode(body.tee_tcb_svn2);
  }
}

struct CertState {
  std::optional<std::vector<crypto::Certificate>> chain;  // leaf first
  std::optional<internal::PckExtensions> extensions;
};

void RunCertificateSteps(const Context& c, const ParsedQuote& quote, CertState& state) {
  Result<std::vector<crypto::Certificate>> chain = ParsePckChain(quote.pck_chain_pem);
  if (!c.b.Record("pck_certificates", chain.has_value() ? OkStatus() : ToStatus(chain.error()))) {
    for (const char* name : {"pck_chain", "pck_revocation", "qe_report_signature"}) {
      c.b.NotRun(name);
    }
    return;
  }
  const crypto::Certificate& leaf = chain->front();
  std::span<const crypto::Certificate> intermediates = std::span(*chain).subspan(1);
  c.b.Record("pck_chain", ChainTo(c, leaf, intermediates, false));
  if (c.collateral.crls.empty()) {
    c.b.Fail("pck_revocation", Error{ErrorCode::kTdxCollateralMissing, "no CRLs in collateral"});
  } else {
    c.b.Record("pck_revocation", ChainTo(c, leaf, intermediates, true));
  }
  c.b.Record("qe_report_signature", CheckQeReportSignature(quote, leaf));
  state.chain = std::move(*chain);
}

void RunCollateralSteps(const Context& c, const internal::ParsedCollateral& parsed,
                        const ParsedQuote& quote, const CertState& state) {
  if (!state.chain.has_value()) {
    for (const char* name :
         {"pck_extensions", "tcb_info", "qe_identity", "tdx_module", "tcb_status"}) {
      c.b.NotRun(name);
    }
    return;
  }
  Result<internal::PckExtensions> pck = internal::ParsePckExtensions(state.chain->front().der());
  if (!c.b.Record("pck_extensions", pck.has_value() ? OkStatus() : ToStatus(pck.error()))) {
    for (const char* name : {"tcb_info", "qe_identity", "tdx_module", "tcb_status"}) {
      c.b.NotRun(name);
    }
    return;
  }
  c.report.attributes["fmspc"] = HexEncode(pck->fmspc);
  c.report.attributes["pce_id"] = HexEncode(pck->pce_id);

  // tcb_info: the tcbInfo for this FMSPC, authentic and current.
  const internal::TcbInfo* info = nullptr;
  for (const internal::TcbInfo& candidate : parsed.tcb_infos) {
    if (candidate.fmspc == pck->fmspc) {
      info = &candidate;
    }
  }
  bool info_authentic = false;
  if (info == nullptr) {
    c.b.Fail("tcb_info",
             Error{ErrorCode::kTdxFmspcMismatch, "no tcbInfo for FMSPC " + HexEncode(pck->fmspc)});
  } else if (info->pce_id != pck->pce_id) {
    c.b.Fail("tcb_info", Error{ErrorCode::kTdxFmspcMismatch, "tcbInfo PCE-ID differs"});
  } else {
    Status status = CheckSignedCollateral(c, info->signed_json, info->issue_date_unix,
                                          info->next_update_unix, "tcbInfo");
    // A stale but authentic tcbInfo still rates the TCB (for the report); the step fails.
    info_authentic = status.has_value() ||
                     status.error().code == ErrorCode::kTdxCollateralExpired ||
                     status.error().code == ErrorCode::kTdxCollateralNotYetValid;
    c.b.Record("tcb_info", status);
  }

  // qe_identity: authentic, current, and matching the QE report.
  const internal::QeIdentity& identity = parsed.qe_identity;
  Status qe_status = CheckSignedCollateral(c, identity.signed_json, identity.issue_date_unix,
                                           identity.next_update_unix, "QE identity");
  const bool qe_authentic = qe_status.has_value() ||
                            qe_status.error().code == ErrorCode::kTdxCollateralExpired ||
                            qe_status.error().code == ErrorCode::kTdxCollateralNotYetValid;
  Status qe_match = CheckQeIdentityMatch(identity, quote.qe_report);
  std::optional<TcbStatus> qe_tcb;
  if (qe_authentic && qe_match.has_value()) {
    qe_tcb = internal::MatchIsvLevel(identity.levels, quote.qe_report.isv_svn);
    c.report.attributes["qe_identity_status"] = TcbStatusName(*qe_tcb);
  }
  c.b.Record("qe_identity", qe_status.has_value() ? qe_match : qe_status);

  if (!info_authentic) {
    c.b.NotRun("tdx_module");
    c.b.NotRun("tcb_status");
    return;
  }
  Result<internal::TcbMatch> match = internal::MatchTcbLevel(
      *info, *pck, quote.body.tee_tcb_svn, quote.body.mrsignerseam, quote.body.seam_attributes);
  if (!c.b.Record("tdx_module", match.has_value() ? OkStatus() : ToStatus(match.error()))) {
    c.b.NotRun("tcb_status");
    return;
  }
  TcbStatus status = match->platform_status;
  c.report.attributes["platform_tcb_status"] = TcbStatusName(status);
  if (match->module_status.has_value()) {
    c.report.attributes["tdx_module_status"] = TcbStatusName(*match->module_status);
    status = internal::MergeStatus(status, *match->module_status);
  }
  if (match->level != nullptr) {
    c.report.attributes["tcb_date"] = match->level->tcb_date;
    std::string ids;
    for (const std::string& id : match->level->advisory_ids) {
      ids += (ids.empty() ? "" : ",") + id;
    }
    c.report.attributes["advisory_ids"] = ids;
  }
  if (!qe_tcb.has_value()) {
    c.report.tcb_status = TcbStatusName(status);
    c.b.NotRun("tcb_status");
    return;
  }
  status = internal::MergeStatus(status, *qe_tcb);
  c.report.tcb_status = TcbStatusName(status);
  if (c.policy.allowed_tcb_statuses.count(status) == 0) {
    c.b.Fail("tcb_status", Error{ErrorCode::kTdxTcbStatusNotAllowed,
                                 std::string("TCB status ") + TcbStatusName(status) +
                                     " is not allowed by the policy"});
  } else {
    c.b.Pass("tcb_status", TcbStatusName(status));
  }
}

void RunPolicySteps(const Context& c, const ParsedQuote& quote) {
  if (!IsDebugTd(quote.body)) {
    c.b.Pass("debug_mode", "production TD");
  } else if (c.policy.allow_debug) {
    c.b.Pass("debug_mode", "debug TD (TD_ATTRIBUTES bit 0), allowed by policy");
  } else {
    c.b.Fail("debug_mode", Error{ErrorCode::kAttestDebugMode, "debug TD (TD_ATTRIBUTES bit 0)"});
  }
  if (c.policy.measurement_pins.empty()) {
    c.b.Skip("measurements", "no measurement pins");
  } else {
    Status status = OkStatus();
    for (const auto& [name, expected] : c.policy.measurement_pins) {
      auto it = c.report.named_measurements.find(name);
      if (it == c.report.named_measurements.end() || !ConstantTimeEquals(it->second, expected)) {
        status = Error{ErrorCode::kAttestMeasurementMismatch, name + " differs from its pin"};
        break;
      }
    }
    c.b.Record("measurements", status);
  }
  if (!c.policy.expected_report_data.has_value()) {
    c.b.Skip("report_data", "no expected report data");
  } else if (!ConstantTimeEquals(quote.body.report_data, *c.policy.expected_report_data)) {
    c.b.Fail("report_data",
             Error{ErrorCode::kTdxReportDataMismatch, "report_data differs from the expected"});
  } else {
    c.b.Pass("report_data");
  }
}

constexpr const char* kQuoteDependentSteps[] = {
    "pck_certificates", "pck_chain",      "pck_revocation", "qe_report_signature", "qe_report_data",
    "quote_signature",  "pck_extensions", "tcb_info",       "qe_identity",         "tdx_module",
    "tcb_status",       "debug_mode",     "measurements",   "report_data"};

}  // namespace

const char* TcbStatusName(TcbStatus status) {
  for (const StatusName& entry : kStatusNames) {
    if (entry.status == status) {
      return entry.name;
    }
  }
  return "NotSupported";
}

Result<TcbStatus> TcbStatusFromName(std::string_view name) {
  for (const StatusName& entry : kStatusNames) {
    if (name == entry.name) {
      return entry.status;
    }
  }
  return Error{ErrorCode::kInvalidArgument, "unknown TCB status \"" + std::string(name) + "\""};
}

Result<Collateral> LoadCollateralDirectory(const std::filesystem::path& dir) {
  Collateral out;
  std::error_code ec;
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.is_regular_file()) {
      files.push_back(entry.path());
    }
  }
  if (ec) {
    return Error{ErrorCode::kIoError, "cannot list collateral directory " + dir.string()};
  }
  std::sort(files.begin(), files.end());
  bool have_qe_identity = false;
  for (const std::filesystem::path& path : files) {
    const std::string name = path.filename().string();
    if (name.rfind("tcb_info", 0) == 0 && EndsWith(name, ".json")) {
      EML_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
      out.tcb_info_responses.push_back(std::move(text));
    } else if (name == "qe_identity.json") {
      EML_ASSIGN_OR_RETURN(out.qe_identity_response, ReadFile(path));
      have_qe_identity = true;
    } else if (name == "tcb_signing_chain.pem") {
      EML_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
      EML_ASSIGN_OR_RETURN(out.tcb_signing_chain, crypto::Certificate::ParsePemBundle(text));
    } else if (EndsWith(name, ".crl.der") || EndsWith(name, ".crl.pem")) {
      EML_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
      Result<crypto::Crl> crl =
          EndsWith(name, ".der") ? crypto::Crl::FromDer(AsBytes(text)) : crypto::Crl::FromPem(text);
      if (!crl.has_value()) {
        return crl.error();
      }
      out.crls.push_back(std::move(*crl));
    }
  }
  if (out.tcb_info_responses.empty() || !have_qe_identity || out.tcb_signing_chain.empty() ||
      out.crls.empty()) {
    return Error{ErrorCode::kTdxCollateralMissing,
                 "collateral needs tcb_info*.json, qe_identity.json, tcb_signing_chain.pem and "
                 "at least one *.crl.der"};
  }
  return out;
}

TdxVerifier::TdxVerifier(crypto::Certificate root, Collateral collateral, Policy policy,
                         std::unique_ptr<const internal::ParsedCollateral> parsed)
    : root_(std::move(root)),
      collateral_(std::move(collateral)),
      policy_(std::move(policy)),
      parsed_(std::move(parsed)) {}

TdxVerifier::~TdxVerifier() = default;

Result<std::unique_ptr<TdxVerifier>> TdxVerifier::New(crypto::Certificate root,
                                                      Collateral collateral, Policy policy) {
  for (const auto& pin : policy.measurement_pins) {
    const std::string& name = pin.first;  // a plain reference: clang 14 cannot capture bindings
    const bool known = std::any_of(std::begin(kMeasurementNames), std::end(kMeasurementNames),
                                   [&](const char* known_name) { return name == known_name; });
    if (!known || pin.second.size() != kMeasurementBytes) {
      return Error{ErrorCode::kAttestBadPolicy, "bad measurement pin \"" + name + "\""};
    }
  }
  if (policy.expected_report_data.has_value() &&
      policy.expected_report_data->size() != kReportDataBytes) {
    return Error{ErrorCode::kAttestBadPolicy, "expected_report_data is not 64 bytes"};
  }
  if (collateral.tcb_info_responses.empty() || collateral.tcb_signing_chain.empty()) {
    return Error{ErrorCode::kTdxCollateralMissing, "no tcbInfo or TCB signing certificate"};
  }
  auto parsed = std::make_unique<internal::ParsedCollateral>();
  for (const std::string& response : collateral.tcb_info_responses) {
    EML_ASSIGN_OR_RETURN(internal::TcbInfo info, internal::ParseTcbInfoResponse(response));
    for (const internal::TcbInfo& other : parsed->tcb_infos) {
      if (other.fmspc == info.fmspc) {
        return Error{ErrorCode::kTdxCollateralMalformed, "two tcbInfo for one FMSPC"};
      }
    }
    parsed->tcb_infos.push_back(std::move(info));
  }
  EML_ASSIGN_OR_RETURN(parsed->qe_identity,
                       internal::ParseQeIdentityResponse(collateral.qe_identity_response));
  return std::unique_ptr<TdxVerifier>(new TdxVerifier(std::move(root), std::move(collateral),
                                                      std::move(policy), std::move(parsed)));
}

Result<Verification> TdxVerifier::Verify(std::span<const uint8_t> evidence,
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
  const Context c{root_, collateral_, policy_, verification_time_unix, b, report};

  Result<ParsedQuote> quote = ParseQuote(evidence);
  if (!b.Record("quote_structure", quote.has_value() ? OkStatus() : ToStatus(quote.error()))) {
    for (const char* name : kQuoteDependentSteps) {
      b.NotRun(name);
    }
    return out;
  }
  CopyClaims(*quote, report);
  CertState certs;
  RunCertificateSteps(c, *quote, certs);
  b.Record("qe_report_data", CheckQeReportData(*quote));
  b.Record("quote_signature", CheckQuoteSignature(*quote));
  RunCollateralSteps(c, *parsed_, *quote, certs);
  RunPolicySteps(c, *quote);
  report.verified = !b.failed();
  if (report.verified) {
    out.evidence = MakeVerifiedEvidence(report);
  }
  return out;
}

}  // namespace eml::attest::tdx
