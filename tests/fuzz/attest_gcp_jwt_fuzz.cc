// Fuzz target attest_gcp_jwt: eml::attest::gcp parsing (ParseJwt, DecodeClaims, Jwks::Parse)
// and GcpVerifier::Verify on arbitrary bytes. The input is a token, optionally followed by a
// NUL byte and a JWKS document. Verification runs twice: PKI kind (pinned Confidential Space
// root, at the iat of the real production token ctf_sha2-sample.jwt, debug allowed) and OIDC
// kind (the generated test JWKS tests/vectors/gcp/jwks.json, at the generated tokens' iat).
// Properties: never crashes; ParseJwt fails only with codes 755-758, and a parsed token
// re-encodes to the input's own parts (base64url is canonical) within every limit;
// DecodeClaims fails only with claim / JSON codes and decoded claims respect their ranges;
// Verify always runs and reports the kind's steps once each, in order; a failed step carries
// a code and others kOk; `verified` holds exactly when no step failed, and then
// VerifiedEvidence is present; jwt_structure passes exactly when ParseJwt succeeds;
// Jwks::Parse fails only with kGcpBadJwks / kGcpDuplicateJsonKey and holds 1..32 keys.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <span>
#include <string>
#include <vector>

#include "attest/gcp/claims.h"
#include "attest/gcp/cs_root.h"
#include "attest/gcp/gcp_verifier.h"
#include "attest/gcp/jwks.h"
#include "attest/gcp/jwt.h"
#include "common/byte_reader.h"
#include "common/encoding.h"

namespace {

using namespace eml::attest::gcp;  // NOLINT(build/namespaces): fuzz target.
using eml::ErrorCode;

constexpr int64_t kPkiTime = 1757060250;   // iat of ctf_sha2-sample.jwt
constexpr int64_t kOidcTime = 1760000000;  // iat of tests/vectors/gcp/*.jwt
constexpr const char* kPkiSteps[] = {
    "jwt_structure", "jwt_algorithm",     "claims_fields",    "certificates",
    "root_pin",      "certificate_chain", "leaf_constraints", "jwt_signature",
    "issuer",        "audience",          "validity",         "swname",
    "hwmodel",       "debug_mode",        "image_digest",     "nonce"};
constexpr const char* kOidcSteps[] = {
    "jwt_structure", "jwt_algorithm", "claims_fields", "jwks_key", "jwt_signature",
    "issuer",        "audience",      "validity",      "swname",   "hwmodel",
    "debug_mode",    "image_digest",  "nonce"};

void Require(bool condition) {
  if (!condition) {
    std::abort();
  }
}

const GcpVerifier& PkiVerifier() {
  static const GcpVerifier* verifier = [] {
    auto root = ConfidentialSpaceRoot();
    Require(root.has_value());
    Policy policy;
    policy.audience = "z08381475938604996746";
    policy.allow_debug = true;
    auto v = GcpVerifier::NewPki(*root, policy);
    Require(v.has_value());
    return v->release();
  }();
  return *verifier;
}

const GcpVerifier& OidcVerifier() {
  static const GcpVerifier* verifier = [] {
    std::ifstream in(EML_GCP_JWKS_PATH, std::ios::binary | std::ios::ate);
    Require(in.good());
    std::string text(static_cast<size_t>(in.tellg()), '\0');
    in.seekg(0);
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    auto jwks = Jwks::Parse(eml::AsBytes(text));
    Require(jwks.has_value());
    Policy policy;
    policy.audience = "https://relying-party.example";
    policy.expected_nonce = std::vector<uint8_t>{'0', '0', '1', '1', '2', '2', '3', '3'};
    auto v = GcpVerifier::NewOidc(*std::move(jwks), policy);
    Require(v.has_value());
    return v->release();
  }();
  return *verifier;
}

bool IsParseCode(ErrorCode code) {
  return code == ErrorCode::kGcpMalformedToken || code == ErrorCode::kGcpTokenTooLarge ||
         code == ErrorCode::kGcpDuplicateJsonKey || code == ErrorCode::kGcpBadHeader;
}

void CheckParsed(std::span<const uint8_t> token, const ParsedJwt& jwt) {
  // signing_input is the token's own "header.payload"; the rest is "." + the signature part.
  const std::string text(token.begin(), token.end());
  const std::string input(jwt.signing_input.begin(), jwt.signing_input.end());
  Require(text == input + "." + eml::Base64UrlEncode(jwt.signature));
  Require(input.substr(input.find('.') + 1) == eml::Base64UrlEncode(jwt.payload));
  Require(jwt.payload.size() <= kDefaultMaxPayloadBytes);
  Require(jwt.signature.size() <= kDefaultMaxSignatureBytes);
  Require(jwt.header.x5c.size() <= kDefaultMaxX5cCertificates);
  Require(!jwt.header.alg.empty());
  auto claims = DecodeClaims(jwt.payload);
  if (!claims.has_value()) {
    const ErrorCode code = claims.error().code;
    Require(code == ErrorCode::kGcpBadClaim || code == ErrorCode::kGcpMalformedToken ||
            code == ErrorCode::kGcpDuplicateJsonKey || code == ErrorCode::kGcpTokenTooLarge);
    return;
  }
  Require(claims->issued_at_unix >= 0 && claims->issued_at_unix < claims->expires_at_unix &&
          claims->expires_at_unix <= kMaxTimeUnix);
  Require(!claims->audiences.empty() && claims->audiences.size() <= kMaxClaimArrayEntries);
  Require(claims->eat_nonces.size() <= kMaxClaimArrayEntries);
  auto digest = ParseImageDigest(claims->image_digest);
  Require(digest.has_value() && *digest == claims->image_digest_sha256);
}

template <size_t kNumSteps>
void CheckReport(const GcpVerifier& verifier, std::span<const uint8_t> token, int64_t time,
                 const char* const (&steps)[kNumSteps], bool parsed) {
  auto result = verifier.Verify(token, time);
  Require(result.has_value());
  const eml::attest::VerificationReport& r = result->report;
  Require(r.steps.size() == kNumSteps);
  bool any_failed = false;
  for (size_t i = 0; i < kNumSteps; ++i) {
    Require(r.steps[i].name == steps[i]);
    const bool failed = r.steps[i].status == eml::attest::StepStatus::kFailed;
    Require(failed == (r.steps[i].code != ErrorCode::kOk));
    any_failed = any_failed || failed;
  }
  Require((r.steps[0].status == eml::attest::StepStatus::kPassed) == parsed);
  Require(r.verified == !any_failed);
  Require(result->evidence.has_value() == r.verified);
  if (r.verified) {
    Require(result->evidence->named_measurements() == r.named_measurements);
    Require(result->evidence->attributes() == r.attributes);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  eml::ByteReader reader(std::span<const uint8_t>(data, size));
  // Split at the first NUL: token, then an optional JWKS.
  eml::ByteReader scan = reader;
  size_t token_size = 0;
  uint8_t byte = 0;
  while (scan.ReadU8(&byte) && byte != 0) {
    ++token_size;
  }
  std::span<const uint8_t> token;
  Require(reader.ReadBytes(token_size, &token));
  if (reader.ReadU8(&byte)) {
    auto jwks = Jwks::Parse(reader.remaining());
    if (jwks.has_value()) {
      Require(jwks->size() >= 1 && jwks->size() <= kMaxJwksKeys);
    } else {
      Require(jwks.error().code == ErrorCode::kGcpBadJwks ||
              jwks.error().code == ErrorCode::kGcpDuplicateJsonKey);
    }
  }

  auto jwt = ParseJwt(token);
  if (jwt.has_value()) {
    CheckParsed(token, *jwt);
  } else {
    Require(IsParseCode(jwt.error().code));
  }
  CheckReport(PkiVerifier(), token, kPkiTime, kPkiSteps, jwt.has_value());
  CheckReport(OidcVerifier(), token, kOidcTime, kOidcSteps, jwt.has_value());
  return 0;
}
