#pragma once
// Posture: Verify reads untrusted bytes (a Google Confidential Space attestation token, JWS
// compact form); parsing is jwt.h / claims.h with their limits. Fuzz target:
// tests/fuzz/attest_gcp_jwt_fuzz.cc (attest_gcp_jwt).
//
// eml::attest::gcp::GcpVerifier verifies a Confidential Space token at a given time against a
// pinned trust anchor and a Policy, and reports every step (attest/verifier.h). Two kinds:
//   PKI  (NewPki):  the header's x5c [leaf, intermediate, (root copy)] chains to the PINNED
//                   Confidential Space root (cs_root.h); the leaf key signs the token.
//   OIDC (NewOidc): the header's kid names an RSA key in a JWKS the caller supplies.
//
// Steps, in order, each with its own failure code:
//   jwt_structure      three base64url parts, strict JSON header and payload (jwt.h codes)
//   jwt_algorithm      header alg is exactly "RS256" (none, HS256, PS256, ...)  kAttestBadAlgorithm
//   claims_fields      required claims present and well-typed (claims.h)            kGcpBadClaim
//   PKI only:
//   certificates       x5c present (kGcpBadHeader); each entry parses     kAttestBadCertificate
//   root_pin           a self-issued x5c entry (a root copy) is byte-equal to the pinned
//                      root; the copy is never trusted, only compared        kAttestRootMismatch
//   certificate_chain  x5c[0] -> other x5c entries -> pinned root at the verification time,
//                      strict RFC 5280 (crypto::VerifyChain codes: kX509Expired, kX509Untrusted)
//   leaf_constraints   the leaf is not a CA and holds an RSA key            kAttestLeafConstraints
//   OIDC only:
//   jwks_key           the header kid names a key of the JWKS                kGcpUnknownKeyId
//   jwt_signature      RSASSA-PKCS1-v1_5 SHA-256 over "header.payload"   kGcpSignatureInvalid
//   issuer             iss == https://confidentialcomputing.googleapis.com    kGcpWrongIssuer
//   audience           aud (string or array) names policy.audience          kGcpWrongAudience
//   validity           time < exp + skew (kGcpExpired); nbf <= time + skew (kGcpNotYetValid);
//                      iat <= time + skew (kAttestFromFuture); time - iat <= max_age_s when set
//                      (kAttestStale)
//   swname             swname == CONFIDENTIAL_SPACE                          kGcpWrongSoftware
//   hwmodel            in policy.allowed_hwmodels (not_applicable when empty) kGcpHwModelNotAllowed
//   debug_mode         dbgstat other than "disabled-since-boot" is a debug image; fails unless
//                      policy.allow_debug                                     kAttestDebugMode
//   image_digest       submods.container.image_digest is one of policy.image_digests
//                      (not_applicable when empty)                     kAttestMeasurementMismatch
//   nonce              an eat_nonce equals policy.expected_nonce (not_applicable when unset)
//                                                                             kAttestNonceMismatch
// A failed jwt_structure or jwt_algorithm leaves every later step not_run (no key is tried
// with an algorithm the token did not declare as RS256); a failed claims_fields leaves the
// claim steps not_run but still reports the signing-key and signature steps.
//
// Report: platform "gcp-cs"; named_measurements["image_digest"] = the 32 digest bytes;
// attributes hwmodel, swname, swversion (comma-joined), dbgstat, iss, aud (comma-joined),
// image_reference, support_attributes (comma-joined, empty when the token has none),
// token_kind ("pki" / "oidc"); tcb_status = tdx.gcp_attester_tcb_status when
// present; timestamp_ms = iat * 1000; nonce = the bytes of the matched eat_nonce (or of the
// first one when no nonce is expected); debug = dbgstat != "disabled-since-boot".
//
// Trust: only the pinned root (PKI) or the caller's JWKS (OIDC) is trusted; x5c's root copy
// is compared, never used as an anchor. Header fields that point elsewhere (jku, x5u) are
// ignored: nothing is fetched. Revocation is not checked (the intermediate names a CRL URL;
// leaves live about 60 days). Tokens live one hour: verify at a time inside [iat, exp].
//
// Thread safety: a GcpVerifier is immutable; Verify may run concurrently.

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "attest/gcp/jwks.h"
#include "attest/verifier.h"
#include "common/result.h"
#include "crypto/x509.h"

namespace eml::attest::gcp {

inline constexpr char kPlatformName[] = "gcp-cs";
inline constexpr char kIssuer[] = "https://confidentialcomputing.googleapis.com";
inline constexpr char kSwName[] = "CONFIDENTIAL_SPACE";
inline constexpr char kProductionDbgStat[] = "disabled-since-boot";
inline constexpr int64_t kDefaultMaxClockSkewS = 30;

struct Policy {
  // audience: the aud the token must name (the relying party's custom audience). Required.
  std::string audience;
  // allowed_hwmodels: e.g. {"GCP_AMD_SEV", "GCP_INTEL_TDX"}; empty accepts any.
  std::vector<std::string> allowed_hwmodels;
  // image_digests: "sha256:<64 hex>" container image pins; empty accepts any image.
  std::vector<std::string> image_digests;
  // allow_debug: accept debug images (dbgstat not "disabled-since-boot"). Never in production.
  bool allow_debug = false;
  // expected_nonce: compared byte-for-byte with each eat_nonce string.
  std::optional<std::vector<uint8_t>> expected_nonce;
  // max_age_s: iat may be at most this old at the verification time.
  std::optional<int64_t> max_age_s;
  // max_clock_skew_s: tolerance for exp, nbf and iat against the verification time.
  int64_t max_clock_skew_s = kDefaultMaxClockSkewS;
};

class GcpVerifier final : public Verifier {
 public:
  enum class Kind { kPki, kOidc };

  // NewPki binds the pinned `root` (normally ConfidentialSpaceRoot()) and `policy`.
  // Errors: kAttestBadPolicy (empty audience, a malformed image digest pin, an empty hwmodel,
  // an empty or over-long expected nonce, max_age_s or max_clock_skew_s out of range).
  static Result<std::unique_ptr<GcpVerifier>> NewPki(crypto::Certificate root, Policy policy);
  // NewOidc binds the caller's JWKS and `policy`. Errors: kAttestBadPolicy as NewPki.
  static Result<std::unique_ptr<GcpVerifier>> NewOidc(Jwks jwks, Policy policy);

  // Verify: see attest/verifier.h and the steps above. Errors: kInvalidArgument when
  // verification_time_unix is negative or after kMaxTimeUnix (claims.h).
  Result<Verification> Verify(std::span<const uint8_t> evidence,
                              int64_t verification_time_unix) const override;

  Kind kind() const { return kind_; }
  const Policy& policy() const EML_LIFETIME_BOUND { return policy_; }

 private:
  // One constructor per kind, so that no empty optional is ever moved (GCC 12 at -O1 with ASan
  // reports a false maybe-uninitialized on moving a disengaged std::optional<Jwks>).
  GcpVerifier(crypto::Certificate root, Policy policy)
      : kind_(Kind::kPki), root_(std::move(root)), policy_(std::move(policy)) {}
  GcpVerifier(Jwks jwks, Policy policy)
      : kind_(Kind::kOidc), jwks_(std::move(jwks)), policy_(std::move(policy)) {}

  Kind kind_;
  std::optional<crypto::Certificate> root_;  // Set for kPki.
  std::optional<Jwks> jwks_;                 // Set for kOidc.
  Policy policy_;
};

}  // namespace eml::attest::gcp
