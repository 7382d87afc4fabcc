#include "attest/gcp/gcp_verifier.h"

#include <algorithm>
#include <array>
#include <string>
#include <string_view>
#include <utility>

#include "attest/gcp/claims.h"
#include "attest/gcp/jwt.h"
#include "attest/internal/report_builder.h"
#include "common/encoding.h"
#include "common/secret_bytes.h"
#include "crypto/hash.h"
#include "crypto/rsa.h"

namespace eml::attest::gcp {
namespace {

bool SameBytes(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

std::string Join(const std::vector<std::string>& parts) {
  std::string out;
  for (const std::string& part : parts) {
    out += out.empty() ? part : "," + part;
  }
  return out;
}

using ::eml::attest::internal::ReportBuilder;

constexpr const char* kPkiKeySteps[] = {"certificates", "root_pin", "certificate_chain",
                                        "leaf_constraints"};
constexpr const char* kOidcKeySteps[] = {"jwks_key"};
constexpr const char* kClaimSteps[] = {"issuer",  "audience",   "validity",     "swname",
                                       "hwmodel", "debug_mode", "image_digest", "nonce"};

Status Check(bool ok, ErrorCode code, std::string detail) {
  if (ok) {
    return OkStatus();
  }
  return Error{code, std::move(detail)};
}

// PKI: the leaf key, after recording the four certificate steps. Null when no key is usable.
std::optional<crypto::RsaPublicKey> RunPkiKeySteps(const JwtHeader& header,
                                                   const crypto::Certificate& root,
                                                   int64_t time_unix, ReportBuilder& b) {
  if (header.x5c.empty()) {
    b.Fail("certificates", Error{ErrorCode::kGcpBadHeader, "the header has no x5c chain"});
    for (size_t i = 1; i < std::size(kPkiKeySteps); ++i) {
      b.NotRun(kPkiKeySteps[i]);
    }
    return std::nullopt;
  }
  std::vector<crypto::Certificate> certs;
  for (size_t i = 0; i < header.x5c.size(); ++i) {
    Result<crypto::Certificate> cert = crypto::Certificate::FromDer(header.x5c[i]);
    if (!cert.has_value()) {
      b.Fail("certificates", Error{ErrorCode::kAttestBadCertificate,
                                   "x5c[" + std::to_string(i) + "]: " + ToString(cert.error())});
      for (size_t j = 1; j < std::size(kPkiKeySteps); ++j) {
        b.NotRun(kPkiKeySteps[j]);
      }
      return std::nullopt;
    }
    certs.push_back(std::move(*cert));
  }
  b.Pass("certificates");
  // The copy of a root inside x5c is never an anchor; a different one fails early and clearly.
  std::vector<crypto::Certificate> intermediates;
  Status root_pin = OkStatus();
  for (size_t i = 1; i < certs.size(); ++i) {
    if (SameBytes(certs[i].der(), root.der())) {
      continue;
    }
    if (certs[i].subject() == certs[i].issuer()) {
      root_pin = Error{ErrorCode::kAttestRootMismatch,
                       "x5c[" + std::to_string(i) + "] is a root other than the pinned one"};
    }
    intermediates.push_back(certs[i]);
  }
  b.Record("root_pin", root_pin);
  crypto::ChainOptions options;
  options.verification_time_unix = time_unix;
  Result<crypto::VerifiedChain> chain = crypto::VerifyChain(
      certs.front(), intermediates, std::span<const crypto::Certificate>(&root, 1), options);
  b.Record("certificate_chain", chain.has_value() ? OkStatus() : Status(chain.error()));
  Result<crypto::RsaPublicKey> key = crypto::RsaPublicKey::FromSpkiDer(certs.front().SpkiDer());
  if (certs.front().is_ca()) {
    b.Fail("leaf_constraints", Error{ErrorCode::kAttestLeafConstraints, "the leaf is a CA"});
  } else if (!key.has_value()) {
    b.Fail("leaf_constraints", Error{ErrorCode::kAttestLeafConstraints,
                                     "the leaf key is not usable RSA: " + ToString(key.error())});
  } else {
    b.Pass("leaf_constraints");
  }
  if (!key.has_value()) {
    return std::nullopt;
  }
  return *std::move(key);
}

std::optional<crypto::RsaPublicKey> RunOidcKeyStep(const JwtHeader& header, const Jwks& jwks,
                                                   ReportBuilder& b) {
  const crypto::RsaPublicKey* key = header.kid.has_value() ? jwks.Find(*header.kid) : nullptr;
  if (key == nullptr) {
    b.Fail("jwks_key",
           Error{ErrorCode::kGcpUnknownKeyId, header.kid.has_value()
                                                  ? "kid \"" + *header.kid + "\" is not in the JWKS"
                                                  : "the header has no kid"});
    return std::nullopt;
  }
  b.Pass("jwks_key");
  return *key;
}

Status CheckValidity(const Claims& claims, int64_t time_unix, const Policy& policy) {
  const int64_t skew = policy.max_clock_skew_s;
  if (time_unix - skew >= claims.expires_at_unix) {
    return Error{ErrorCode::kGcpExpired, "exp is at or before the verification time"};
  }
  if (claims.not_before_unix.has_value() && *claims.not_before_unix > time_unix + skew) {
    return Error{ErrorCode::kGcpNotYetValid, "nbf is after the verification time"};
  }
  if (claims.issued_at_unix > time_unix + skew) {
    return Error{ErrorCode::kAttestFromFuture, "iat is after the verification time"};
  }
  if (policy.max_age_s.has_value() && time_unix - claims.issued_at_unix > *policy.max_age_s) {
    return Error{ErrorCode::kAttestStale, "the token is older than max_age_s"};
  }
  return OkStatus();
}

// MatchedNonce: the index of the eat_nonce equal to the expected nonce, if any.
std::optional<size_t> MatchedNonce(const Claims& claims, const std::vector<uint8_t>& expected) {
  for (size_t i = 0; i < claims.eat_nonces.size(); ++i) {
    if (ConstantTimeEquals(AsBytes(claims.eat_nonces[i]), expected)) {
      return i;
    }
  }
  return std::nullopt;
}

bool IsDebug(const Claims& claims) { return claims.dbgstat != kProductionDbgStat; }

void RunClaimSteps(const Claims& claims, int64_t time_unix, const Policy& policy,
                   ReportBuilder& b) {
  b.Record("issuer", Check(claims.issuer == kIssuer, ErrorCode::kGcpWrongIssuer,
                           "iss is \"" + claims.issuer + "\""));
  const bool audience_ok = std::find(claims.audiences.begin(), claims.audiences.end(),
                                     policy.audience) != claims.audiences.end();
  b.Record("audience", Check(audience_ok, ErrorCode::kGcpWrongAudience,
                             "aud does not name the expected audience"));
  b.Record("validity", CheckValidity(claims, time_unix, policy));
  b.Record("swname", Check(claims.swname == kSwName, ErrorCode::kGcpWrongSoftware,
                           "swname is \"" + claims.swname + "\""));
  if (policy.allowed_hwmodels.empty()) {
    b.Skip("hwmodel", "no hwmodel allow list");
  } else {
    const bool allowed = std::find(policy.allowed_hwmodels.begin(), policy.allowed_hwmodels.end(),
                                   claims.hwmodel) != policy.allowed_hwmodels.end();
    b.Record("hwmodel", Check(allowed, ErrorCode::kGcpHwModelNotAllowed,
                              "hwmodel \"" + claims.hwmodel + "\" is not allowed"));
  }
  if (!IsDebug(claims)) {
    b.Pass("debug_mode");
  } else if (policy.allow_debug) {
    b.Pass("debug_mode", "debug image (dbgstat \"" + claims.dbgstat + "\"), allowed by policy");
  } else {
    b.Fail("debug_mode",
           Error{ErrorCode::kAttestDebugMode, "debug image (dbgstat \"" + claims.dbgstat + "\")"});
  }
  if (policy.image_digests.empty()) {
    b.Skip("image_digest", "no image digest pins");
  } else {
    bool pinned = false;
    for (const std::string& pin : policy.image_digests) {
      Result<std::array<uint8_t, 32>> digest = ParseImageDigest(pin);  // Checked in New*.
      pinned = pinned || (digest.has_value() && *digest == claims.image_digest_sha256);
    }
    b.Record("image_digest", Check(pinned, ErrorCode::kAttestMeasurementMismatch,
                                   "image digest " + claims.image_digest + " is not pinned"));
  }
  if (!policy.expected_nonce.has_value()) {
    b.Skip("nonce", "no expected nonce");
  } else {
    b.Record("nonce",
             Check(MatchedNonce(claims, *policy.expected_nonce).has_value(),
                   ErrorCode::kAttestNonceMismatch, "no eat_nonce equals the expected nonce"));
  }
}

void CopyClaims(const Claims& claims, const Policy& policy, GcpVerifier::Kind kind,
                VerificationReport& report) {
  report.named_measurements["image_digest"] =
      std::vector<uint8_t>(claims.image_digest_sha256.begin(), claims.image_digest_sha256.end());
  report.attributes["hwmodel"] = claims.hwmodel;
  report.attributes["swname"] = claims.swname;
  report.attributes["swversion"] = Join(claims.swversion);
  report.attributes["dbgstat"] = claims.dbgstat;
  report.attributes["iss"] = claims.issuer;
  report.attributes["aud"] = Join(claims.audiences);
  report.attributes["image_reference"] = claims.image_reference;
  report.attributes["support_attributes"] = Join(claims.support_attributes);
  report.attributes["token_kind"] = kind == GcpVerifier::Kind::kPki ? "pki" : "oidc";
  report.tcb_status = claims.tcb_status;
  report.timestamp_ms = static_cast<uint64_t>(claims.issued_at_unix) * 1000;  // <= kMaxTimeUnix
  report.debug = IsDebug(claims);
  if (!claims.eat_nonces.empty()) {
    std::optional<size_t> matched;
    if (policy.expected_nonce.has_value()) {
      matched = MatchedNonce(claims, *policy.expected_nonce);
    }
    std::span<const uint8_t> nonce = AsBytes(claims.eat_nonces[matched.value_or(0)]);
    report.nonce = std::vector<uint8_t>(nonce.begin(), nonce.end());
  }
}

Status CheckPolicy(const Policy& policy) {
  if (policy.audience.empty()) {
    return Error{ErrorCode::kAttestBadPolicy, "the audience is required"};
  }
  for (const std::string& pin : policy.image_digests) {
    if (!ParseImageDigest(pin).has_value()) {
      return Error{ErrorCode::kAttestBadPolicy, "an image digest pin is not sha256:<64 hex>"};
    }
  }
  for (const std::string& model : policy.allowed_hwmodels) {
    if (model.empty()) {
      return Error{ErrorCode::kAttestBadPolicy, "an allowed hwmodel is empty"};
    }
  }
  if (policy.expected_nonce.has_value() &&
      (policy.expected_nonce->empty() || policy.expected_nonce->size() > kMaxNonceClaimBytes)) {
    return Error{ErrorCode::kAttestBadPolicy, "the expected nonce is empty or too long"};
  }
  if ((policy.max_age_s.has_value() &&
       (*policy.max_age_s < 0 || *policy.max_age_s > kMaxTimeUnix)) ||
      policy.max_clock_skew_s < 0 || policy.max_clock_skew_s > kMaxTimeUnix) {
    return Error{ErrorCode::kAttestBadPolicy, "max_age_s or max_clock_skew_s out of range"};
  }
  return OkStatus();
}

}  // namespace

Result<std::unique_ptr<GcpVerifier>> GcpVerifier::NewPki(crypto::Certificate root, Policy policy) {
  EML_RETURN_IF_ERROR(CheckPolicy(policy));
  return std::unique_ptr<GcpVerifier>(new GcpVerifier(std::move(root), std::move(policy)));
}

Result<std::unique_ptr<GcpVerifier>> GcpVerifier::NewOidc(Jwks jwks, Policy policy) {
  EML_RETURN_IF_ERROR(CheckPolicy(policy));
  return std::unique_ptr<GcpVerifier>(new GcpVerifier(std::move(jwks), std::move(policy)));
}

Result<Verification> GcpVerifier::Verify(std::span<const uint8_t> evidence,
                                         int64_t verification_time_unix) const {
  if (verification_time_unix < 0 || verification_time_unix > kMaxTimeUnix) {
    return Error{ErrorCode::kInvalidArgument, "verification time out of range"};
  }
  Verification out;
  VerificationReport& report = out.report;
  report.platform = kPlatformName;
  report.verification_time_unix = verification_time_unix;
  report.document_sha256 = crypto::Sha256(evidence);
  ReportBuilder b(report);
  const std::span<const char* const> key_steps = kind_ == Kind::kPki
                                                     ? std::span<const char* const>(kPkiKeySteps)
                                                     : std::span<const char* const>(kOidcKeySteps);

  Result<ParsedJwt> jwt = ParseJwt(evidence);
  bool algorithm_ok = false;
  if (b.Record("jwt_structure", jwt.has_value() ? OkStatus() : Status(jwt.error()))) {
    // Exact, case-sensitive (RFC 7515 section 4.1.1): RS256 and nothing else.
    algorithm_ok =
        b.Record("jwt_algorithm", Check(jwt->header.alg == "RS256", ErrorCode::kAttestBadAlgorithm,
                                        "alg \"" + jwt->header.alg + "\" is not RS256"));
  } else {
    b.NotRun("jwt_algorithm");
  }
  if (!algorithm_ok) {
    b.NotRun("claims_fields");
    for (const char* name : key_steps) {
      b.NotRun(name);
    }
    b.NotRun("jwt_signature");
    for (const char* name : kClaimSteps) {
      b.NotRun(name);
    }
    return out;
  }
  Result<Claims> claims = DecodeClaims(jwt->payload);
  b.Record("claims_fields", claims.has_value() ? OkStatus() : Status(claims.error()));
  std::optional<crypto::RsaPublicKey> key =
      kind_ == Kind::kPki ? RunPkiKeySteps(jwt->header, *root_, verification_time_unix, b)
                          : RunOidcKeyStep(jwt->header, *jwks_, b);
  if (!key.has_value()) {
    b.NotRun("jwt_signature");
  } else {
    Status signature = key->VerifyPkcs1Sha256(jwt->signing_input, jwt->signature);
    b.Record("jwt_signature", signature.has_value() ? OkStatus()
                                                    : Status(Error{ErrorCode::kGcpSignatureInvalid,
                                                                   ToString(signature.error())}));
  }
  if (!claims.has_value()) {
    for (const char* name : kClaimSteps) {
      b.NotRun(name);
    }
    return out;
  }
  CopyClaims(*claims, policy_, kind_, report);
  RunClaimSteps(*claims, verification_time_unix, policy_, b);
  report.verified = !b.failed();
  if (report.verified) {
    out.evidence = MakeVerifiedEvidence(report);
  }
  return out;
}

}  // namespace eml::attest::gcp
