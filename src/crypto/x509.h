#pragma once
// X.509 certificates and CRLs (RFC 5280) and chain verification against pinned roots AT A
// TIME THE CALLER GIVES. The current time is never read implicitly: attestation evidence is
// checked at its own timestamp, and archived evidence can be re-checked later. Verification
// uses OpenSSL with X509_V_FLAG_X509_STRICT; only the given roots are trusted (no system store),
// and a root is a trust anchor only when it is passed in `trusted_roots`.
//
// Posture: FromDer, FromPem, ParsePemBundle and Crl::FromDer/FromPem read untrusted bytes
// (certificate chains inside attestation documents and from vendor endpoints); OpenSSL's DER
// parser does the parsing, trailing bytes are rejected, inputs over kMaxCertificateSize are
// refused. Fuzz target: crypto_x509_parse.
//
// Thread safety: Certificate, Crl and VerifiedChain are immutable; use them from any number of
// threads. VerifyChain is safe to call concurrently.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/check.h"
#include "common/result.h"
#include "crypto/ecdsa.h"
#include "crypto/openssl_handle.h"

namespace eml::crypto {

namespace internal {
struct X509Access;  // Defined in x509.cc: the verifier's access to the OpenSSL objects.
}  // namespace internal

inline constexpr size_t kMaxCertificateSize = 64 * 1024;
inline constexpr size_t kMaxCrlSize = 4 * 1024 * 1024;
inline constexpr size_t kMaxPemBundleCertificates = 32;

class Certificate {
 public:
  // FromDer parses one DER certificate. Errors: kX509ParseFailed (not DER, trailing bytes),
  // kLimitExceeded (over kMaxCertificateSize).
  static Result<Certificate> FromDer(std::span<const uint8_t> der);
  // FromPem parses exactly one "CERTIFICATE" PEM block (surrounding whitespace allowed).
  // Errors: kX509ParseFailed, kLimitExceeded.
  static Result<Certificate> FromPem(std::string_view pem);
  // ParsePemBundle parses one or more concatenated PEM certificates, in order.
  // Errors: kX509ParseFailed (none found, or any block bad), kLimitExceeded (more than
  // kMaxPemBundleCertificates, or one too large).
  static Result<std::vector<Certificate>> ParsePemBundle(std::string_view pem);

  // der returns the certificate's DER bytes; the view lives as long as this object.
  std::span<const uint8_t> der() const EML_LIFETIME_BOUND { return der_; }
  // subject / issuer render the names on one line (RFC 2253 style), for logs and policy.
  std::string subject() const;
  std::string issuer() const;
  int64_t not_before_unix() const;
  int64_t not_after_unix() const;
  // is_ca: the basicConstraints extension is present with cA TRUE.
  bool is_ca() const;
  // SpkiDer returns the DER SubjectPublicKeyInfo.
  std::vector<uint8_t> SpkiDer() const;
  // EcdsaKey returns the subject key if it is P-256 or P-384. Errors: kCryptoBadKey.
  Result<EcdsaPublicKey> EcdsaKey() const;
  // Sha256Fingerprint is SHA-256 over the DER encoding (what pinning compares).
  std::array<uint8_t, 32> Sha256Fingerprint() const;
  // SubjectCommonName returns the subject's commonName as UTF-8 (the last one when there are
  // several), or an empty string when it has none or it does not convert.
  std::string SubjectCommonName() const;
  // ExtensionValue returns the bytes inside the extnValue OCTET STRING of the extension whose
  // OID is `dotted_oid` (e.g. "1.3.6.1.4.1.3704.1.4"), or nullopt when the certificate has none.
  // The bytes are whatever the issuer put there: callers parse them as untrusted input.
  // Errors: kInvalidArgument (`dotted_oid` is not a dotted OID), kX509ParseFailed (the
  // extension appears more than once).
  Result<std::optional<std::vector<uint8_t>>> ExtensionValue(std::string_view dotted_oid) const;

 private:
  Certificate(internal::X509Ref x509, std::vector<uint8_t> der)
      : x509_(std::move(x509)), der_(std::move(der)) {}
  friend struct internal::X509Access;

  internal::X509Ref x509_;
  std::vector<uint8_t> der_;
};

class Crl {
 public:
  // FromDer parses one DER CRL. Errors: kX509ParseFailed, kLimitExceeded (over kMaxCrlSize).
  static Result<Crl> FromDer(std::span<const uint8_t> der);
  // FromPem parses exactly one "X509 CRL" PEM block. Errors: as FromDer.
  static Result<Crl> FromPem(std::string_view pem);

  std::span<const uint8_t> der() const EML_LIFETIME_BOUND { return der_; }
  std::string issuer() const;

 private:
  Crl(internal::X509CrlRef crl, std::vector<uint8_t> der)
      : crl_(std::move(crl)), der_(std::move(der)) {}
  friend struct internal::X509Access;

  internal::X509CrlRef crl_;
  std::vector<uint8_t> der_;
};

// Which certificates the CRLs must cover when `crls` is not empty.
enum class CrlScope {
  kWholeChain,  // Every certificate below the root needs a CRL from its issuer (CRL_CHECK_ALL).
  kLeafOnly,    // Only the leaf is checked (X509_V_FLAG_CRL_CHECK).
};

struct ChainOptions {
  // The instant at which every certificate (and CRL) must be valid, in seconds since the Unix
  // epoch. Required: there is no "now" default.
  int64_t verification_time_unix = 0;
  // CRLs to check against; empty means no revocation check. The pointers must outlive the call.
  std::vector<const Crl*> crls;
  CrlScope crl_scope = CrlScope::kWholeChain;
  // allow_missing_key_identifiers: waive the authorityKeyIdentifier / subjectKeyIdentifier
  // presence checks of X509_V_FLAG_X509_STRICT (a profile rule for issuing CAs, not part of
  // RFC 5280 path validation). AWS Nitro instance CAs and leaves carry neither; every other
  // strict check (signatures, validity, CA:TRUE, keyCertSign, pathLen) still applies. Off by
  // default.
  bool allow_missing_key_identifiers = false;
};

// The result of a successful VerifyChain: the leaf and the path leaf -> ... -> root.
class VerifiedChain {
 public:
  const Certificate& leaf() const EML_LIFETIME_BOUND { return path_.front(); }
  // path: leaf first, the pinned root last.
  const std::vector<Certificate>& path() const EML_LIFETIME_BOUND { return path_; }

 private:
  explicit VerifiedChain(std::vector<Certificate> path) : path_(std::move(path)) {}
  friend struct internal::X509Access;

  std::vector<Certificate> path_;
};

// VerifyChain builds and checks a path from `leaf` through any of `intermediates` to one of
// `trusted_roots`, at options.verification_time_unix, with X509_V_FLAG_X509_STRICT.
// Errors (the first failure OpenSSL reports, mapped):
//   kX509EmptyChain      no trusted roots were given;
//   kX509Expired         a certificate (or CRL) is past notAfter (nextUpdate) at that time;
//   kX509NotYetValid     a certificate (or CRL) is before notBefore (thisUpdate);
//   kX509Untrusted       no path to a given root;
//   kX509BadSignature    a certificate or CRL signature does not verify with its issuer key;
//   kX509BadConstraints  an issuer is not a CA, path length exceeded, key usage forbids signing;
//   kX509Revoked         a certificate is listed in a given CRL;
//   kX509ChainInvalid    anything else (unknown critical extension, missing CRL, ...).
Result<VerifiedChain> VerifyChain(const Certificate& leaf,
                                  std::span<const Certificate> intermediates,
                                  std::span<const Certificate> trusted_roots,
                                  const ChainOptions& options);

}  // namespace eml::crypto
