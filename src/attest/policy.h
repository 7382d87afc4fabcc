#pragma once
// Posture: ParseEvidencePolicy reads policy files (operator-written, but treated as untrusted
// text: at most kMaxPolicyFileBytes, nlohmann-json wrapped so that no exception escapes, every
// key checked, unknown keys refused). PolicyVerifier::Verify reads untrusted evidence bytes of
// any content and hands them to the platform parsers (their own limits and fuzz targets).
//
// eml::attest evidence policy (DESIGN.md section 5.2; docs/attestation.md "Evidence policy"): a
// file that says which TEE platforms are acceptable, which roots each may chain to, which
// measurements must match, and how fresh and how bound the evidence must be. PolicyVerifier
// turns one policy into one verifier for evidence of every allowed platform.
//
// Policy JSON, version 1 (relative paths are resolved against the policy file's folder):
//   {"version": 1,
//    "platforms": {
//      "sim":       {"roots": ["sim-root.pem"], "pcrs": {"0": "<96 hex>", ...}},
//      "aws-nitro": {"roots": [], "pcrs": {...}},
//      "tdx":       {"roots": [], "collateral_dir": "tdx-collateral",
//                    "measurements": {"mrtd": hex, "rtmr0".."rtmr3": hex, ...},
//                    "tcb_statuses": ["UpToDate"]},
//      "sev-snp":   {"roots": [], "certificates": ["vcek.der", "ask.pem"],
//                    "measurements": {"measurement": hex, "host_data": hex},
//                    "allow_smt": true, "allow_migration_agent": false, "max_vmpl": 0,
//                    "minimum_tcb": {"bootloader": 2, "tee": 0, "snp": 5, "microcode": 68}},
//      "gcp-cs":    {"roots": [], "audience": "https://...", "jwks": "jwks.json",
//                    "measurements": {"image_digest": "sha256:<64 hex>"},
//                    "hwmodels": ["GCP_AMD_SEV_SNP", "GCP_INTEL_TDX"],
//                    "support_attributes": ["STABLE"]}},
//    "allow_debug": false,
//    "max_evidence_age_s": 600,
//    "binding": {"require_public_key": true, "require_nonce": true}}
// A "roots" or "certificates" entry that starts with kInlinePemPrefix is PEM text (one or more
// certificates) rather than a file name, for policies stored as text (the key broker's).
// "version" and "platforms" are required, everything else optional. An empty or absent
// "roots" means the platform's built-in default (AWS Nitro Root G1, Intel SGX Root CA, the AMD
// ARKs, the Confidential Space root); "sim" has no default and must name at least one root.
// Required per platform: "collateral_dir" for tdx (attest/tdx/tdx_verifier.h,
// LoadCollateralDirectory), "audience" for gcp-cs. With "jwks" a gcp-cs token is checked
// against that key set (OIDC tokens) instead of the root (PKI tokens).
// A platform absent from "platforms" is not allowed; "sim" is never implied.
// sev-snp guest-policy keys (defaults in brackets): "allow_smt" [true] and
// "allow_migration_agent" [false] accept reports whose guest policy sets SMT (bit 16) /
// MIGRATE_MA (bit 18); "max_vmpl" 0..3 [any]: the report's VMPL must be at most this;
// "minimum_tcb" [none]: an object of "bootloader", "tee", "snp", "microcode", "fmc" (Turin
// only), each optional, 0..255: the report's reported TCB and committed TCB must be at least
// each given component (absent components are 0).
// gcp-cs keys: "hwmodels" [any]: the token's hwmodel must be one of these (1..16 non-empty
// strings); "support_attributes" [none]: each listed value must appear in the token's
// submods.confidential_space.support_attributes (e.g. "STABLE", "LATEST", "USABLE"). swname
// needs no key: the GCP verifier always requires CONFIDENTIAL_SPACE.
// "binding" [both false]: "require_public_key" / "require_nonce" make PolicyVerifier::Verify
// refuse a call whose BindingExpectation lacks that element, so a policy file states that the
// evidence must bind the session or release key and a fresh nonce.
//
// Thread safety: EvidencePolicy is a plain value; PolicyVerifier is immutable and Verify may run
// concurrently.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "attest/sevsnp/report.h"
#include "attest/verifier.h"
#include "common/result.h"
#include "crypto/x509.h"

namespace eml::attest {

namespace gcp {
class Jwks;         // attest/gcp/jwks.h
class GcpVerifier;  // attest/gcp/gcp_verifier.h
}  // namespace gcp

inline constexpr int64_t kEvidencePolicyVersion = 1;
inline constexpr size_t kMaxPolicyFileBytes = 256 * 1024;
inline constexpr size_t kMaxPolicyRootFileBytes = 64 * 1024;
inline constexpr size_t kMaxRootsPerPlatform = 16;
// A roots / certificates entry starting with this is inline PEM, not a file name.
inline constexpr char kInlinePemPrefix[] = "-----BEGIN CERTIFICATE-----";
inline constexpr size_t kMaxTcbStatuses = 16;
inline constexpr size_t kMaxAudienceBytes = 1024;
// gcp-cs "hwmodels" / "support_attributes": at most this many entries of kMaxAudienceBytes.
inline constexpr size_t kMaxGcpPolicyStrings = 16;
// sev-snp "max_vmpl": VMPLs are 0..3.
inline constexpr uint32_t kMaxSnpVmpl = 3;
// max_evidence_age_s is at most one year: a larger value is a typo, not a policy.
inline constexpr int64_t kMaxEvidenceAgeLimitS = int64_t{366} * 24 * 3600;

// Platform names as they appear in policy files and in VerificationReport::platform.
inline constexpr char kPlatformSim[] = "sim";
inline constexpr char kPlatformAwsNitro[] = "aws-nitro";
inline constexpr char kPlatformTdx[] = "tdx";
inline constexpr char kPlatformSevSnp[] = "sev-snp";
inline constexpr char kPlatformGcpCs[] = "gcp-cs";

// What the evidence must bind, if set (see attest/report_binding.h for TDX / SEV-SNP / GCP).
struct BindingExpectation {
  std::optional<std::vector<uint8_t>> nonce;
  std::optional<std::vector<uint8_t>> public_key;
};

// One platform's entry. Fields a platform does not use are empty (the parser refuses keys
// that do not belong to the platform).
struct PlatformPolicy {
  // roots: the trust anchors; the parser fills in the built-in default when the file names
  // none (never for "sim").
  std::vector<crypto::Certificate> roots;
  // pcr_pins (sim, aws-nitro): PCR index 0..31 -> 48 bytes.
  std::map<uint32_t, std::vector<uint8_t>> pcr_pins;
  // measurement_pins (tdx, sev-snp, gcp-cs): name -> bytes, compared with
  // VerificationReport::named_measurements. Names and sizes: tdx mrtd, rtmr0..rtmr3,
  // mrconfigid, mrowner, mrownerconfig (48 bytes); sev-snp measurement (48), host_data (32),
  // id_key_digest, author_key_digest (48); gcp-cs image_digest (32, SHA-256 of the image).
  std::map<std::string, std::vector<uint8_t>> measurement_pins;
  // tcb_statuses (tdx): acceptable Intel TCB statuses (tdx::TcbStatusName spellings);
  // default {"UpToDate"}. SEV-SNP has no TCB verdict; GCP's is the token's own.
  std::vector<std::string> tcb_statuses;
  // certificates (sev-snp): public AMD certificates for evidence without a certificate table:
  // CAs (ASK / ASVK) become intermediates, the others VCEK / VLEK candidates. Never trusted.
  std::vector<crypto::Certificate> certificates;
  // collateral_dir (tdx): folder with the TCB info, QE identity and CRLs.
  std::optional<std::filesystem::path> collateral_dir;
  // jwks_file, audience (gcp-cs): the token signing keys and the expected "aud".
  std::optional<std::filesystem::path> jwks_file;
  std::optional<std::string> audience;
  // sev-snp guest policy: allow_smt (default true), allow_migration_agent (default false),
  // max_vmpl (0..3, unset = any), minimum_tcb (reported and committed TCB; unset = none).
  bool allow_smt = true;
  bool allow_migration_agent = false;
  std::optional<uint32_t> max_vmpl;
  std::optional<sevsnp::TcbVersion> minimum_tcb;
  // gcp-cs: hwmodels (empty = any) and support_attributes that must all be present.
  std::vector<std::string> hwmodels;
  std::vector<std::string> support_attributes;
};

// What the caller's BindingExpectation must hold for Verify to run (policy key "binding").
struct BindingRequirement {
  bool require_public_key = false;
  bool require_nonce = false;
};

// A parsed, validated policy.
struct EvidencePolicy {
  int64_t version = kEvidencePolicyVersion;
  std::map<std::string, PlatformPolicy> platforms;  // key: a kPlatform* name
  bool allow_debug = false;
  std::optional<int64_t> max_evidence_age_s;
  BindingRequirement binding;

  // Allows: true iff `platform` has an entry.
  bool Allows(std::string_view platform) const {
    return platforms.count(std::string(platform)) > 0;
  }
  // Find: the platform's entry, or nullptr. The pointer lives as long as the policy.
  const PlatformPolicy* Find(std::string_view platform) const;
};

// ParseEvidencePolicy parses and validates `json`; relative paths in it (roots, collateral_dir,
// jwks) are resolved against `base_dir`, and root files are read and parsed now (PEM, several
// certificates per file allowed, or DER).
// Errors: kPolicyTooLarge (over kMaxPolicyFileBytes), kPolicyMalformed (not JSON, not an
//   object, a value of the wrong JSON type), kPolicyUnsupportedVersion, kPolicyMissingKey
//   ("version", "platforms", or roots for "sim"), kPolicyUnknownKey, kPolicyUnknownPlatform,
//   kPolicyNoPlatforms, kPolicyBadValue (bad hex or size of a pin, PCR index over 31, unknown
//   measurement name, negative or huge max_evidence_age_s, too many roots, empty audience,
//   max_vmpl over 3, a minimum_tcb component over 255 or none given, an empty or repeated
//   hwmodels / support_attributes entry),
//   kPolicyBadRoot (a root file unreadable or not a certificate, inline PEM that does not
//   parse). The detail names the key.
Result<EvidencePolicy> ParseEvidencePolicy(std::string_view json,
                                           const std::filesystem::path& base_dir);

// ValidateEvidencePolicy checks the rules every policy obeys, parsed or built in code: version 1,
// at least one platform, known platform names, roots present, pins of the right name and size
// (PCRs only on sim / aws-nitro), known TDX TCB statuses, tdx collateral_dir and gcp-cs audience
// present, max_evidence_age_s in range, the sev-snp keys (max_vmpl, minimum_tcb, allow_smt,
// allow_migration_agent) only on sev-snp and the gcp-cs lists only on gcp-cs. Errors: the
// parser's codes for those rules.
Status ValidateEvidencePolicy(const EvidencePolicy& policy);

// LoadEvidencePolicyFile reads `file` (at most kMaxPolicyFileBytes) and parses it with its
// folder as base_dir. Errors: kNotFound, kIoError, and those of ParseEvidencePolicy.
Result<EvidencePolicy> LoadEvidencePolicyFile(const std::filesystem::path& file);

// The kind of evidence bytes, by their shape (not verified).
enum class EvidenceKind {
  kUnknown,
  kNitroDocument,  // untagged COSE_Sign1 (CBOR array of 4): aws-nitro or sim
  kTdxQuote,       // Intel TDX quote v4/v5 (tee type 0x81)
  kSevSnpReport,   // AMD SEV-SNP attestation report (1184 bytes, version 2..5)
  kJwt,            // compact JWS (GCP Confidential Space token)
  kEnvelope,       // evidence envelope (attest/envelope.h) around a TDX / SEV-SNP / GCP item
};

// DetectEvidenceKind classifies `evidence` by its first bytes and size.
EvidenceKind DetectEvidenceKind(std::span<const uint8_t> evidence);
const char* EvidenceKindName(EvidenceKind kind);

// PolicyVerifier: verifies evidence of any platform the policy allows.
//
// Report steps: "evidence_kind" (kPolicyUnknownEvidence), "platform_allowed"
// (kPolicyPlatformNotAllowed; kPolicyUntrustedRoot for Nitro-format evidence whose root is none
// of the allowed sim / aws-nitro roots), "binding_required" (kPolicyBindingRequired: the
// policy's "binding" asks for a key or nonce that `binding` lacks; not_applicable when the
// policy requires neither), then the platform verifier's own steps with the policy's roots,
// pins, TCB statuses, allow_debug, the sev-snp guest-policy keys (its "smt",
// "migration_agent", "vmpl" and "minimum_tcb" steps), the gcp-cs hwmodels (its "hwmodel"
// step) and (where the evidence has a clock: Nitro, GCP) max_evidence_age_s; for gcp-cs then
// "support_attributes" (kPolicySupportAttribute; not_applicable when the policy lists none),
// then how the evidence binds `binding` (attest/report_binding.h):
//   sim / aws-nitro  the Nitro "nonce" and "public_key" steps (kAttestNonceMismatch,
//                    kAttestPublicKeyMismatch) compare the document's own fields;
//   tdx / sev-snp    "binding": report_data == BindingDigest(key, nonce) (kPolicyBindingMismatch);
//   gcp-cs           the GCP "nonce" step: an eat_nonce == GcpBindingNonce(key, nonce)
//                    (kAttestNonceMismatch).
// With neither a key nor a nonce expected, the binding steps are not_applicable (and TDX /
// SEV-SNP evidence has no freshness at all: always send a nonce). report.platform is "sim" for
// Nitro-format evidence under a sim root.
// Evidence envelopes (attest/envelope.h): "evidence_kind" (detail "envelope"), then "envelope"
// (kEnvelopeTooLarge, kEnvelopeMalformed, kEnvelopeUnsupportedVersion, kEnvelopeUnknownPlatform;
// kEnvelopePlatformMismatch when the wrapped evidence is not of the envelope's platform, a Nitro
// document or another envelope included), then the wrapped evidence's steps as above from
// "platform_allowed" on, checked against the envelope's own binding (public_key and
// BoundNonce(nonce, user_data), always, even when `binding` is empty), then "envelope_binding"
// (kEnvelopeBindingMismatch: `binding`'s key or nonce differs from the envelope's; not_applicable
// when `binding` has neither). The report's and VerifiedEvidence's public_key, nonce and
// user_data are then the envelope's (absent when empty), document_sha256 is SHA-256 of the whole
// envelope, and platform is the envelope's.
class PolicyVerifier final : public Verifier {
 public:
  // Create validates `policy` (the same rules as the parser: it may be built in code), loads
  // the TDX collateral and the GCP JWKS, and builds the platform verifiers. Errors:
  // kPolicyNoPlatforms, kPolicyBadValue, kPolicyMissingKey (no roots, tdx without
  // collateral_dir, gcp-cs without audience), kAttestBadPolicy (a pin a platform verifier
  // refuses), the TDX collateral codes (kTdxCollateralMissing, kTdxCollateralMalformed, kIoError)
  // and the JWKS codes (kGcpBadJwks, kNotFound, kIoError).
  static Result<PolicyVerifier> Create(EvidencePolicy policy);

  // Verify detects the evidence kind, runs the matching platform verifier with this policy's
  // roots and pins, and checks `binding`. report.verified == evidence.has_value(). Errors
  // (could not run at all): kInvalidArgument (now_unix negative or beyond year 2255),
  // kAttestBadPolicy (a binding key or nonce over the platform's size limit).
  Result<Verification> Verify(std::span<const uint8_t> evidence, int64_t now_unix,
                              const BindingExpectation& binding) const;

  // Verifier interface: Verify with no binding expectation.
  Result<Verification> Verify(std::span<const uint8_t> evidence,
                              int64_t verification_time_unix) const override;

  const EvidencePolicy& policy() const EML_LIFETIME_BOUND { return policy_; }

 private:
  explicit PolicyVerifier(EvidencePolicy policy) : policy_(std::move(policy)) {}

  Result<Verification> VerifyNitro(std::span<const uint8_t> evidence, int64_t now_unix,
                                   const BindingExpectation& binding) const;
  // VerifyTeeReport checks `binding` in the evidence and the policy's "binding" requirement
  // against `caller` (the same expectation, except for evidence inside an envelope).
  Result<Verification> VerifyTeeReport(EvidenceKind kind, std::span<const uint8_t> evidence,
                                       int64_t now_unix, const BindingExpectation& binding,
                                       const BindingExpectation& caller) const;
  Result<Verification> VerifyEnvelope(std::span<const uint8_t> evidence, int64_t now_unix,
                                      const BindingExpectation& binding) const;
  Result<std::unique_ptr<gcp::GcpVerifier>> MakeGcpVerifier(
      const BindingExpectation& binding) const;

  EvidencePolicy policy_;
  // Platform verifiers built once by Create (immutable, shared between copies).
  std::shared_ptr<const Verifier> tdx_;
  std::shared_ptr<const Verifier> sev_snp_;
  std::shared_ptr<const gcp::Jwks> gcp_jwks_;  // set when gcp-cs names a JWKS file
};

}  // namespace eml::attest
