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
//                    "measurements": {"measurement": hex, "host_data": hex}},
//      "gcp-cs":    {"roots": [], "audience": "https://...", "jwks": "jwks.json",
//                    "measurements": {"image_digest": "sha256:<64 hex>"}}},
//    "allow_debug": false,
//    "max_evidence_age_s": 600}
// "version" and "platforms" are required, everything else optional. An empty or absent
// "roots" means the platform's built-in default (AWS Nitro Root G1, Intel SGX Root CA, the AMD
// ARKs, the Confidential Space root); "sim" has no default and must name at least one root.
// Required per platform: "collateral_dir" for tdx (attest/tdx/tdx_verifier.h,
// LoadCollateralDirectory), "audience" for gcp-cs. With "jwks" a gcp-cs token is checked
// against that key set (OIDC tokens) instead of the root (PKI tokens).
// A platform absent from "platforms" is not allowed; "sim" is never implied.
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
inline constexpr size_t kMaxTcbStatuses = 16;
inline constexpr size_t kMaxAudienceBytes = 1024;
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
};

// A parsed, validated policy.
struct EvidencePolicy {
  int64_t version = kEvidencePolicyVersion;
  std::map<std::string, PlatformPolicy> platforms;  // key: a kPlatform* name
  bool allow_debug = false;
  std::optional<int64_t> max_evidence_age_s;

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
//   measurement name, negative or huge max_evidence_age_s, too many roots, empty audience),
//   kPolicyBadRoot (a root file unreadable or not a certificate). The detail names the key.
Result<EvidencePolicy> ParseEvidencePolicy(std::string_view json,
                                           const std::filesystem::path& base_dir);

// ValidateEvidencePolicy checks the rules every policy obeys, parsed or built in code: version 1,
// at least one platform, known platform names, roots present, pins of the right name and size
// (PCRs only on sim / aws-nitro), known TDX TCB statuses, tdx collateral_dir and gcp-cs audience
// present, max_evidence_age_s in range. Errors: the parser's codes for those rules.
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
};

// DetectEvidenceKind classifies `evidence` by its first bytes and size.
EvidenceKind DetectEvidenceKind(std::span<const uint8_t> evidence);
const char* EvidenceKindName(EvidenceKind kind);

// PolicyVerifier: verifies evidence of any platform the policy allows.
//
// Report steps: "evidence_kind" (kPolicyUnknownEvidence), "platform_allowed"
// (kPolicyPlatformNotAllowed; kPolicyUntrustedRoot for Nitro-format evidence whose root is none
// of the allowed sim / aws-nitro roots), then the platform verifier's own steps with the
// policy's roots, pins, TCB statuses, allow_debug and (where the evidence has a clock: Nitro,
// GCP) max_evidence_age_s, then how the evidence binds `binding` (attest/report_binding.h):
//   sim / aws-nitro  the Nitro "nonce" and "public_key" steps (kAttestNonceMismatch,
//                    kAttestPublicKeyMismatch) compare the document's own fields;
//   tdx / sev-snp    "binding": report_data == BindingDigest(key, nonce) (kPolicyBindingMismatch);
//   gcp-cs           the GCP "nonce" step: an eat_nonce == GcpBindingNonce(key, nonce)
//                    (kAttestNonceMismatch).
// With neither a key nor a nonce expected, the binding steps are not_applicable (and TDX /
// SEV-SNP evidence has no freshness at all: always send a nonce). report.platform is "sim" for
// Nitro-format evidence under a sim root.
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
  Result<Verification> VerifyTeeReport(EvidenceKind kind, std::span<const uint8_t> evidence,
                                       int64_t now_unix, const BindingExpectation& binding) const;
  Result<std::unique_ptr<gcp::GcpVerifier>> MakeGcpVerifier(
      const BindingExpectation& binding) const;

  EvidencePolicy policy_;
  // Platform verifiers built once by Create (immutable, shared between copies).
  std::shared_ptr<const Verifier> tdx_;
  std::shared_ptr<const Verifier> sev_snp_;
  std::shared_ptr<const gcp::Jwks> gcp_jwks_;  // set when gcp-cs names a JWKS file
};

}  // namespace eml::attest
