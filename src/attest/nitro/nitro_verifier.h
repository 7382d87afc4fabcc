#pragma once
// Posture: Verify reads untrusted bytes (AWS Nitro attestation documents); parsing is
// nitro/document.h with its limits. Fuzz target: tests/fuzz/attest_nitro_fuzz.cc (attest_nitro).
//
// eml::attest::nitro::NitroVerifier verifies an AWS Nitro Enclaves attestation document at a
// given time against a pinned root and a Policy, and reports every step (attest/verifier.h).
//
// Steps, in order, each with its own failure code:
//   cose_structure     untagged COSE_Sign1 (cose::ParseSign1 codes, kAttestMalformed)
//   cose_algorithm     protected alg ES384                          kAttestBadAlgorithm
//   payload_fields     required fields, types, sizes (DecodePayload codes)
//   certificates       the leaf and every cabundle entry parse as X.509    kAttestBadCertificate
//   root_pin           cabundle[0] is byte-equal to the pinned root         kAttestRootMismatch
//   certificate_chain  pinned root -> cabundle[1..] -> leaf at the verification time, strict
//                      RFC 5280 incl. CA:TRUE / keyCertSign / pathLen on the issuers
//                      (crypto::VerifyChain codes: kX509Expired, kX509Untrusted, ...)
//   leaf_constraints   the leaf is not a CA and has a P-384 key         kAttestLeafConstraints
//   cose_signature     ES384 signature with the leaf key (kCoseSignatureInvalid, ...)
//   freshness          timestamp not after time + max_clock_skew_s       kAttestFromFuture;
//                      not older than max_age_s when the policy sets it  kAttestStale
//   debug_mode         PCR0 all zero = debug enclave; fails unless allow_debug   kAttestDebugMode
//   pcr_policy         every pinned PCR present and equal          kAttestMeasurementMismatch
//   nonce              equals expected_nonce when set (absent fails)      kAttestNonceMismatch
//   public_key         equals expected_public_key when set           kAttestPublicKeyMismatch
//
// Trust: the root is the caller's (pinned); cabundle[0] is never trusted, only required to be
// the same bytes as the pinned root, so a document that names another root fails early and
// clearly. Key identifier extensions are not required (Nitro instance CAs and leaves have
// none). Revocation is not checked: the CRL distribution points named by the regional and
// zonal CAs are not fetched (no network access here); the leaf lives about 3 hours.
//
// Thread safety: a NitroVerifier is immutable; Verify may run concurrently.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "attest/verifier.h"
#include "common/result.h"
#include "crypto/x509.h"

namespace eml::attest::nitro {

inline constexpr char kPlatformName[] = "aws-nitro";
inline constexpr int64_t kDefaultMaxClockSkewS = 5;

struct Policy {
  // pcr_pins: PCR index (0..31) -> expected 48-byte value.
  std::map<uint32_t, std::vector<uint8_t>> pcr_pins;
  // allow_debug: accept debug-mode enclaves (PCR0 all zero). Never in production.
  bool allow_debug = false;
  std::optional<std::vector<uint8_t>> expected_nonce;
  std::optional<std::vector<uint8_t>> expected_public_key;
  // max_age_s: the document timestamp may be at most this old at the verification time.
  std::optional<int64_t> max_age_s;
  // max_clock_skew_s: how far the timestamp may be after the verification time.
  int64_t max_clock_skew_s = kDefaultMaxClockSkewS;
};

class NitroVerifier final : public Verifier {
 public:
  // New binds the pinned `root` and `policy`. Errors: kAttestBadPolicy (a PCR pin index over 31
  // or not 48 bytes, a negative max_age_s or max_clock_skew_s, an expected nonce or public key
  // over the format's size limit).
  static Result<std::unique_ptr<NitroVerifier>> New(crypto::Certificate root, Policy policy);

  // Verify: see attest/verifier.h and the steps above. Errors: kInvalidArgument when
  // verification_time_unix is negative or beyond year 2255.
  Result<Verification> Verify(std::span<const uint8_t> evidence,
                              int64_t verification_time_unix) const override;

  const crypto::Certificate& root() const EML_LIFETIME_BOUND { return root_; }
  const Policy& policy() const EML_LIFETIME_BOUND { return policy_; }

 private:
  NitroVerifier(crypto::Certificate root, Policy policy)
      : root_(std::move(root)), policy_(std::move(policy)) {}

  crypto::Certificate root_;
  Policy policy_;
};

}  // namespace eml::attest::nitro
