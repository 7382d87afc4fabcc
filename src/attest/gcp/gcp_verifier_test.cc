#include "attest/gcp/gcp_verifier.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "attest/gcp/claims.h"
#include "attest/gcp/cs_root.h"
#include "attest/nitro/aws_root.h"
#include "common/encoding.h"
#include "crypto/rsa.h"
#include "testing/test_util.h"

namespace eml::attest::gcp {
namespace {

using ::eml::testing::HasError;
using ::eml::testing::IsOk;
using ::eml::testing::ReadFileText;
using ::eml::testing::ReadJson;
using ::eml::testing::SharedVectorPath;
using ::eml::testing::SourcePath;
using Json = nlohmann::json;
using Failures = std::map<std::string, ErrorCode>;

constexpr char kDebugToken[] = "valid.jwt";
constexpr char kProductionToken[] = "ctf_sha2-sample.jwt";
constexpr char kInvalidSignatureToken[] = "invalid_signature.jwt";
// The generated vectors in tests/vectors/gcp/ (gen_gcp_vectors.py) are issued at this time.
constexpr int64_t kGeneratedIat = 1760000000;
constexpr char kGeneratedAudience[] = "https://relying-party.example";
// A fixed "current" time (2025-11-21), after both real tokens and their leaves expired.
constexpr int64_t kCurrentTimeUnix = 1763700000;

std::string RealToken(const std::string& name) {
  return ReadFileText(SharedVectorPath("gcp/oak/" + name));
}
std::string LocalVector(const std::string& name) {
  return ReadFileText(SourcePath("tests/vectors/gcp/" + name));
}
const Json& Expected(const std::string& name) {
  static const Json* json = new Json(ReadJson(SharedVectorPath("gcp/expected.json")));
  return (*json)["tokens"]["oak/" + name];
}
int64_t Iat(const std::string& name) { return Expected(name)["iat"].get<int64_t>(); }

crypto::Certificate CsRoot() {
  Result<crypto::Certificate> root = ConfidentialSpaceRoot();
  EML_CHECK(root.has_value());
  return *std::move(root);
}
crypto::Certificate ForgedRoot() {
  Result<crypto::Certificate> root = crypto::Certificate::FromPem(LocalVector("forged_root.pem"));
  EML_CHECK(root.has_value());
  return *std::move(root);
}
Jwks TestJwks() {
  Result<Jwks> jwks = Jwks::Parse(AsBytes(LocalVector("jwks.json")));
  EML_CHECK(jwks.has_value());
  return *std::move(jwks);
}

Policy PolicyFor(const std::string& audience, bool allow_debug = false) {
  Policy policy;
  policy.audience = audience;
  policy.allow_debug = allow_debug;
  return policy;
}
Policy RealPolicy(const std::string& name, bool allow_debug) {
  return PolicyFor(Expected(name)["aud"].get<std::string>(), allow_debug);
}

std::unique_ptr<GcpVerifier> Pki(Policy policy, crypto::Certificate root = CsRoot()) {
  Result<std::unique_ptr<GcpVerifier>> v = GcpVerifier::NewPki(std::move(root), std::move(policy));
  EML_CHECK(v.has_value());
  return *std::move(v);
}
std::unique_ptr<GcpVerifier> Oidc(Policy policy, Jwks jwks = TestJwks()) {
  Result<std::unique_ptr<GcpVerifier>> v = GcpVerifier::NewOidc(std::move(jwks), std::move(policy));
  EML_CHECK(v.has_value());
  return *std::move(v);
}

Verification VerifyAt(const GcpVerifier& verifier, const std::string& token, int64_t time_unix) {
  Result<Verification> v = verifier.Verify(AsBytes(token), time_unix);
  EML_CHECK(v.has_value());
  return *std::move(v);
}

// FailuresOf maps each failed step to its code; the report must agree with it.
Failures FailuresOf(const Verification& v) {
  Failures out;
  for (const StepResult& step : v.report.steps) {
    if (step.status == StepStatus::kFailed) {
      out[step.name] = step.code;
    }
  }
  EXPECT_EQ(v.report.verified, out.empty());
  EXPECT_EQ(v.evidence.has_value(), out.empty());
  return out;
}
StepStatus StatusOf(const Verification& v, const std::string& name) {
  for (const StepResult& step : v.report.steps) {
    if (step.name == name) {
      return step.status;
    }
  }
  ADD_FAILURE() << "no step " << name;
  return StepStatus::kNotRun;
}
std::vector<std::string> StepNames(const Verification& v) {
  std::vector<std::string> names;
  for (const StepResult& step : v.report.steps) {
    names.push_back(step.name);
  }
  return names;
}

// Token surgery on real tokens: decode, change, re-encode (the signature stays the old one).
struct Parts {
  Json header;
  Json payload;
  std::string signature_b64;
};
Parts Split(const std::string& token) {
  const size_t a = token.find('.');
  const size_t b = token.find('.', a + 1);
  const std::vector<uint8_t> header = *Base64UrlDecode(token.substr(0, a));
  const std::vector<uint8_t> payload = *Base64UrlDecode(token.substr(a + 1, b - a - 1));
  return {Json::parse(header.begin(), header.end()), Json::parse(payload.begin(), payload.end()),
          token.substr(b + 1)};
}
std::string Join(const Json& header, const Json& payload, const std::string& signature_b64) {
  return Base64UrlEncode(AsBytes(header.dump())) + "." + Base64UrlEncode(AsBytes(payload.dump())) +
         "." + signature_b64;
}

// SignTest signs header.payload with the generated OIDC test key (kid eml-test-key-1).
std::string SignTest(const Json& header, const Json& payload) {
  static const crypto::RsaPrivateKey* key = [] {
    std::string hex = LocalVector("oidc_key.pkcs8.hex");
    hex.erase(hex.find_last_not_of('\n') + 1);
    Result<crypto::RsaPrivateKey> k =
        crypto::RsaPrivateKey::FromPkcs8Der(SecretBytes::CopyFrom(*HexDecode(hex)));
    EML_CHECK(k.has_value());
    return new crypto::RsaPrivateKey(*std::move(k));
  }();
  const std::string input =
      Base64UrlEncode(AsBytes(header.dump())) + "." + Base64UrlEncode(AsBytes(payload.dump()));
  Result<std::vector<uint8_t>> sig = key->SignPkcs1Sha256(AsBytes(input));
  EML_CHECK(sig.has_value());
  return input + "." + Base64UrlEncode(*sig);
}
Parts GeneratedOidc() { return Split(LocalVector("oidc_valid.jwt")); }

TEST(ConfidentialSpaceRootTest, EmbeddedRootIsTheVectorFile) {
  Result<crypto::Certificate> file = crypto::Certificate::FromPem(
      ReadFileText(SharedVectorPath("gcp/oak/confidential_space_root.pem")));
  ASSERT_THAT(file, IsOk());
  crypto::Certificate root = CsRoot();
  EXPECT_TRUE(
      std::equal(root.der().begin(), root.der().end(), file->der().begin(), file->der().end()));
  EXPECT_EQ(HexEncode(root.Sha256Fingerprint()),
            ReadJson(SharedVectorPath("gcp/expected.json"))["root_sha256"].get<std::string>());
}

// Both real tokens verify at their own time and report exactly the decoded claims.
TEST(GcpVerifierTest, RealTokensVerifyAtTheirTime) {
  for (const char* name : {kDebugToken, kProductionToken}) {
    SCOPED_TRACE(name);
    const Json& want = Expected(name);
    Policy policy = RealPolicy(name, /*allow_debug=*/true);
    policy.allowed_hwmodels = {"GCP_AMD_SEV", "GCP_INTEL_TDX"};
    policy.image_digests = {"sha256:" + std::string(64, '0'),
                            want["image_digest"].get<std::string>()};
    const std::string nonce = want["eat_nonce"].get<std::string>();
    policy.expected_nonce = std::vector<uint8_t>(nonce.begin(), nonce.end());
    Verification v = VerifyAt(*Pki(policy), RealToken(name), Iat(name));
    EXPECT_EQ(FailuresOf(v), Failures{});
    EXPECT_EQ(StepNames(v),
              (std::vector<std::string>{
                  "jwt_structure", "jwt_algorithm", "claims_fields", "certificates", "root_pin",
                  "certificate_chain", "leaf_constraints", "jwt_signature", "issuer", "audience",
                  "validity", "swname", "hwmodel", "debug_mode", "image_digest", "nonce"}));
    for (const StepResult& step : v.report.steps) {
      EXPECT_EQ(step.status, StepStatus::kPassed) << step.name;
    }
    const VerificationReport& r = v.report;
    EXPECT_EQ(r.platform, "gcp-cs");
    EXPECT_EQ(HexEncode(r.document_sha256), want["sha256"].get<std::string>());
    EXPECT_EQ("sha256:" + HexEncode(r.named_measurements.at("image_digest")),
              want["image_digest"].get<std::string>());
    EXPECT_EQ(r.attributes.at("hwmodel"), want["hwmodel"].get<std::string>());
    EXPECT_EQ(r.attributes.at("swname"), want["swname"].get<std::string>());
    EXPECT_EQ(r.attributes.at("swversion"), want["swversion"][0].get<std::string>());
    EXPECT_EQ(r.attributes.at("dbgstat"), want["dbgstat"].get<std::string>());
    EXPECT_EQ(r.attributes.at("iss"), want["iss"].get<std::string>());
    EXPECT_EQ(r.attributes.at("aud"), want["aud"].get<std::string>());
    EXPECT_EQ(r.attributes.at("image_reference"), want["image_reference"].get<std::string>());
    EXPECT_EQ(r.attributes.at("token_kind"), "pki");
    EXPECT_EQ(r.timestamp_ms, static_cast<uint64_t>(Iat(name)) * 1000);
    EXPECT_EQ(r.nonce, std::vector<uint8_t>(nonce.begin(), nonce.end()));
    EXPECT_EQ(r.debug, want["dbgstat"].get<std::string>() != "disabled-since-boot");
    EXPECT_EQ(r.tcb_status, std::string(name) == kProductionToken ? "UpToDate" : "");
    ASSERT_TRUE(v.evidence.has_value());
    EXPECT_EQ(v.evidence->platform(), "gcp-cs");
    EXPECT_EQ(v.evidence->named_measurements(), r.named_measurements);
    EXPECT_EQ(v.evidence->attributes(), r.attributes);
    EXPECT_EQ(v.evidence->debug(), r.debug);
  }
}

TEST(GcpVerifierTest, DebugTokenRejectedByProductionPolicy) {
  Verification v =
      VerifyAt(*Pki(RealPolicy(kDebugToken, false)), RealToken(kDebugToken), Iat(kDebugToken));
  EXPECT_EQ(FailuresOf(v), (Failures{{"debug_mode", ErrorCode::kAttestDebugMode}}));
  EXPECT_TRUE(v.report.debug);
  EXPECT_EQ(v.report.FirstFailure(), ErrorCode::kAttestDebugMode);
  // The production token passes the same kind of policy.
  Verification prod = VerifyAt(*Pki(RealPolicy(kProductionToken, false)),
                               RealToken(kProductionToken), Iat(kProductionToken));
  EXPECT_EQ(FailuresOf(prod), Failures{});
  EXPECT_FALSE(prod.report.debug);
}

TEST(GcpVerifierTest, InvalidSignatureFailsOnTheSignature) {
  Verification v = VerifyAt(*Pki(RealPolicy(kDebugToken, true)), RealToken(kInvalidSignatureToken),
                            Iat(kDebugToken));
  EXPECT_EQ(FailuresOf(v), (Failures{{"jwt_signature", ErrorCode::kGcpSignatureInvalid}}));
}

TEST(GcpVerifierTest, WrongAudience) {
  Verification v = VerifyAt(*Pki(PolicyFor("https://other.example")), RealToken(kProductionToken),
                            Iat(kProductionToken));
  EXPECT_EQ(FailuresOf(v), (Failures{{"audience", ErrorCode::kGcpWrongAudience}}));
}

TEST(GcpVerifierTest, ExpiredAtTheCurrentTime) {
  Verification v = VerifyAt(*Pki(RealPolicy(kProductionToken, false)), RealToken(kProductionToken),
                            kCurrentTimeUnix);
  EXPECT_EQ(FailuresOf(v), (Failures{{"certificate_chain", ErrorCode::kX509Expired},
                                     {"validity", ErrorCode::kGcpExpired}}));
}

TEST(GcpVerifierTest, ExpiryBoundaryUsesTheSkew) {
  const int64_t exp = Expected(kProductionToken)["exp"].get<int64_t>();
  auto verifier = Pki(RealPolicy(kProductionToken, false));
  EXPECT_EQ(
      FailuresOf(VerifyAt(*verifier, RealToken(kProductionToken), exp + kDefaultMaxClockSkewS - 1)),
      Failures{});
  EXPECT_EQ(
      FailuresOf(VerifyAt(*verifier, RealToken(kProductionToken), exp + kDefaultMaxClockSkewS)),
      (Failures{{"validity", ErrorCode::kGcpExpired}}));
}

TEST(GcpVerifierTest, NotBeforeInTheFuture) {
  const int64_t nbf = Iat(kProductionToken);
  auto verifier = Pki(RealPolicy(kProductionToken, false));
  EXPECT_EQ(
      FailuresOf(VerifyAt(*verifier, RealToken(kProductionToken), nbf - kDefaultMaxClockSkewS)),
      Failures{});
  EXPECT_EQ(
      FailuresOf(VerifyAt(*verifier, RealToken(kProductionToken), nbf - kDefaultMaxClockSkewS - 1)),
      (Failures{{"validity", ErrorCode::kGcpNotYetValid}}));
}

TEST(GcpVerifierTest, IssuedInTheFutureWithoutNbf) {
  Parts p = GeneratedOidc();
  p.payload.erase("nbf");
  Verification v = VerifyAt(*Oidc(PolicyFor(kGeneratedAudience)), SignTest(p.header, p.payload),
                            kGeneratedIat - kDefaultMaxClockSkewS - 1);
  EXPECT_EQ(FailuresOf(v), (Failures{{"validity", ErrorCode::kAttestFromFuture}}));
}

TEST(GcpVerifierTest, MaxAge) {
  Policy policy = RealPolicy(kProductionToken, false);
  policy.max_age_s = 600;
  auto verifier = Pki(policy);
  const int64_t iat = Iat(kProductionToken);
  EXPECT_EQ(FailuresOf(VerifyAt(*verifier, RealToken(kProductionToken), iat + 600)), Failures{});
  EXPECT_EQ(FailuresOf(VerifyAt(*verifier, RealToken(kProductionToken), iat + 601)),
            (Failures{{"validity", ErrorCode::kAttestStale}}));
}

// Any alg but RS256 fails its own step first; no key is tried with it.
TEST(GcpVerifierTest, AlgorithmOtherThanRs256) {
  auto verifier = Pki(RealPolicy(kProductionToken, false));
  for (const char* alg : {"none", "HS256", "PS256", "RS384", "RS512", "ES256", "rs256", "RS256 "}) {
    SCOPED_TRACE(alg);
    Parts p = Split(RealToken(kProductionToken));
    p.header["alg"] = alg;
    Verification v =
        VerifyAt(*verifier, Join(p.header, p.payload, p.signature_b64), Iat(kProductionToken));
    EXPECT_EQ(FailuresOf(v), (Failures{{"jwt_algorithm", ErrorCode::kAttestBadAlgorithm}}));
    EXPECT_EQ(v.report.FirstFailure(), ErrorCode::kAttestBadAlgorithm);
    EXPECT_EQ(StatusOf(v, "jwt_signature"), StepStatus::kNotRun);
    EXPECT_EQ(StatusOf(v, "certificate_chain"), StepStatus::kNotRun);
  }
  // alg "none" with the signature removed, and HS256 "signed" with the leaf's public key.
  Parts none = Split(RealToken(kProductionToken));
  none.header["alg"] = "none";
  EXPECT_EQ(
      FailuresOf(VerifyAt(*verifier, Join(none.header, none.payload, ""), Iat(kProductionToken))),
      (Failures{{"jwt_algorithm", ErrorCode::kAttestBadAlgorithm}}));
}

// A header change that keeps alg RS256 reaches the signature, which no longer verifies.
TEST(GcpVerifierTest, ChangedHeaderBreaksTheSignature) {
  Parts p = Split(RealToken(kProductionToken));
  p.header["kid"] = "another-kid";
  Verification v = VerifyAt(*Pki(RealPolicy(kProductionToken, false)),
                            Join(p.header, p.payload, p.signature_b64), Iat(kProductionToken));
  EXPECT_EQ(FailuresOf(v), (Failures{{"jwt_signature", ErrorCode::kGcpSignatureInvalid}}));
}

TEST(GcpVerifierTest, ChangedClaimsBreakTheSignature) {
  Parts p = Split(RealToken(kDebugToken));
  p.payload["dbgstat"] = "disabled-since-boot";
  Verification v = VerifyAt(*Pki(RealPolicy(kDebugToken, false)),
                            Join(p.header, p.payload, p.signature_b64), Iat(kDebugToken));
  EXPECT_EQ(FailuresOf(v), (Failures{{"jwt_signature", ErrorCode::kGcpSignatureInvalid}}));
}

TEST(GcpVerifierTest, WrongRootPinned) {
  for (crypto::Certificate root : {ForgedRoot(), *nitro::AwsNitroRootG1()}) {
    SCOPED_TRACE(root.subject());
    Verification v = VerifyAt(*Pki(RealPolicy(kProductionToken, false), root),
                              RealToken(kProductionToken), Iat(kProductionToken));
    EXPECT_EQ(FailuresOf(v), (Failures{{"root_pin", ErrorCode::kAttestRootMismatch},
                                       {"certificate_chain", ErrorCode::kX509Untrusted}}));
  }
}

// x5c carrying another root: refused by the pin check, and the header no longer matches the
// signature.
TEST(GcpVerifierTest, X5cWithADifferentRoot) {
  Parts p = Split(RealToken(kProductionToken));
  p.header["x5c"][2] = Base64Encode(ForgedRoot().der());
  Verification v = VerifyAt(*Pki(RealPolicy(kProductionToken, false)),
                            Join(p.header, p.payload, p.signature_b64), Iat(kProductionToken));
  EXPECT_EQ(FailuresOf(v), (Failures{{"root_pin", ErrorCode::kAttestRootMismatch},
                                     {"jwt_signature", ErrorCode::kGcpSignatureInvalid}}));
}

// An attacker's own chain with a valid signature and perfect claims: only trust fails.
TEST(GcpVerifierTest, ForgedChainIsUntrusted) {
  auto verifier = Pki(PolicyFor(kGeneratedAudience));
  Verification with_root =
      VerifyAt(*verifier, LocalVector("pki_forged_with_root.jwt"), kGeneratedIat);
  EXPECT_EQ(FailuresOf(with_root), (Failures{{"root_pin", ErrorCode::kAttestRootMismatch},
                                             {"certificate_chain", ErrorCode::kX509Untrusted}}));
  EXPECT_EQ(StatusOf(with_root, "jwt_signature"), StepStatus::kPassed);
  Verification no_root = VerifyAt(*verifier, LocalVector("pki_forged_no_root.jwt"), kGeneratedIat);
  EXPECT_EQ(FailuresOf(no_root), (Failures{{"certificate_chain", ErrorCode::kX509Untrusted}}));
  // Pinning the attacker's root makes the same tokens pass: the failures above are trust alone.
  auto forged = Pki(PolicyFor(kGeneratedAudience), ForgedRoot());
  EXPECT_EQ(FailuresOf(VerifyAt(*forged, LocalVector("pki_forged_with_root.jwt"), kGeneratedIat)),
            Failures{});
  EXPECT_EQ(FailuresOf(VerifyAt(*forged, LocalVector("pki_forged_no_root.jwt"), kGeneratedIat)),
            Failures{});
}

TEST(GcpVerifierTest, CertificateProblems) {
  auto verifier = Pki(RealPolicy(kProductionToken, false));
  // No x5c at all (an OIDC-type token given to the PKI verifier).
  Verification no_x5c = VerifyAt(*verifier, LocalVector("oidc_valid.jwt"), kGeneratedIat);
  EXPECT_EQ(FailuresOf(no_x5c).at("certificates"), ErrorCode::kGcpBadHeader);
  EXPECT_EQ(StatusOf(no_x5c, "jwt_signature"), StepStatus::kNotRun);
  // An x5c entry that is not a certificate.
  Parts bad = Split(RealToken(kProductionToken));
  bad.header["x5c"][1] = "AQIDBA==";
  Verification bad_cert =
      VerifyAt(*verifier, Join(bad.header, bad.payload, bad.signature_b64), Iat(kProductionToken));
  EXPECT_EQ(FailuresOf(bad_cert), (Failures{{"certificates", ErrorCode::kAttestBadCertificate}}));
  EXPECT_EQ(StatusOf(bad_cert, "jwt_signature"), StepStatus::kNotRun);
  // The pinned root itself as the "leaf": a CA cannot sign tokens.
  Parts ca = Split(RealToken(kProductionToken));
  ca.header["x5c"] = Json::array({ca.header["x5c"][2]});
  Verification ca_leaf =
      VerifyAt(*verifier, Join(ca.header, ca.payload, ca.signature_b64), Iat(kProductionToken));
  Failures ca_failures = FailuresOf(ca_leaf);
  EXPECT_EQ(ca_failures.at("leaf_constraints"), ErrorCode::kAttestLeafConstraints);
  EXPECT_EQ(ca_failures.at("jwt_signature"), ErrorCode::kGcpSignatureInvalid);
}

TEST(GcpVerifierTest, TruncatedAndGarbageTokens) {
  auto verifier = Pki(RealPolicy(kProductionToken, false));
  const std::string token = RealToken(kProductionToken);
  const std::vector<std::string> bad = {"",
                                        "garbage",
                                        "a.b",
                                        "a.b.c.d",
                                        token + "\n",
                                        token.substr(0, token.find('.')),
                                        token.substr(0, token.size() / 2),
                                        token.substr(0, token.rfind('.')),
                                        std::string(100, '.'),
                                        "\x01\x02\x03"};
  for (const std::string& input : bad) {
    SCOPED_TRACE(input.substr(0, 40));
    Verification v = VerifyAt(*verifier, input, Iat(kProductionToken));
    Failures failures = FailuresOf(v);
    ASSERT_EQ(failures.size(), 1u);
    EXPECT_EQ(failures.begin()->first, "jwt_structure");
    EXPECT_EQ(v.report.steps.size(), 16u);
    EXPECT_EQ(StatusOf(v, "jwt_signature"), StepStatus::kNotRun);
  }
  // A signature one byte short decodes but has the wrong length.
  Parts p = Split(token);
  std::vector<uint8_t> signature = *Base64UrlDecode(p.signature_b64);
  signature.pop_back();
  const std::string short_sig = token.substr(0, token.rfind('.') + 1) + Base64UrlEncode(signature);
  EXPECT_EQ(FailuresOf(VerifyAt(*verifier, short_sig, Iat(kProductionToken))),
            (Failures{{"jwt_signature", ErrorCode::kGcpSignatureInvalid}}));
  EXPECT_THAT(verifier->Verify(AsBytes(token), -1), HasError(ErrorCode::kInvalidArgument));
  EXPECT_THAT(verifier->Verify(AsBytes(token), kMaxTimeUnix + 1),
              HasError(ErrorCode::kInvalidArgument));
}

TEST(GcpVerifierTest, HwModelAllowList) {
  Policy policy = RealPolicy(kProductionToken, false);
  policy.allowed_hwmodels = {"GCP_AMD_SEV_SNP"};
  Verification v = VerifyAt(*Pki(policy), RealToken(kProductionToken), Iat(kProductionToken));
  EXPECT_EQ(FailuresOf(v), (Failures{{"hwmodel", ErrorCode::kGcpHwModelNotAllowed}}));
  Verification any = VerifyAt(*Pki(RealPolicy(kProductionToken, false)),
                              RealToken(kProductionToken), Iat(kProductionToken));
  EXPECT_EQ(StatusOf(any, "hwmodel"), StepStatus::kNotApplicable);
}

TEST(GcpVerifierTest, ImageDigestPins) {
  Policy policy = RealPolicy(kProductionToken, false);
  policy.image_digests = {Expected(kDebugToken)["image_digest"].get<std::string>()};
  Verification v = VerifyAt(*Pki(policy), RealToken(kProductionToken), Iat(kProductionToken));
  EXPECT_EQ(FailuresOf(v), (Failures{{"image_digest", ErrorCode::kAttestMeasurementMismatch}}));
  // Pins compare as digests, so upper-case hex matches.
  std::string upper = Expected(kProductionToken)["image_digest"].get<std::string>();
  std::transform(upper.begin() + 7, upper.end(), upper.begin() + 7, ::toupper);
  policy.image_digests = {upper};
  EXPECT_EQ(FailuresOf(VerifyAt(*Pki(policy), RealToken(kProductionToken), Iat(kProductionToken))),
            Failures{});
}

TEST(GcpVerifierTest, NonceBinding) {
  Policy policy = RealPolicy(kProductionToken, false);
  policy.expected_nonce = std::vector<uint8_t>{'w', 'r', 'o', 'n', 'g', '-', 'n', 'o', 'n', 'c'};
  Verification v = VerifyAt(*Pki(policy), RealToken(kProductionToken), Iat(kProductionToken));
  EXPECT_EQ(FailuresOf(v), (Failures{{"nonce", ErrorCode::kAttestNonceMismatch}}));
  // A token without eat_nonce fails a policy that expects one.
  Parts p = GeneratedOidc();
  p.payload.erase("eat_nonce");
  Policy oidc_policy = PolicyFor(kGeneratedAudience);
  oidc_policy.expected_nonce = std::vector<uint8_t>{'n', 'o', 'n', 'c', 'e'};
  EXPECT_EQ(FailuresOf(VerifyAt(*Oidc(oidc_policy), SignTest(p.header, p.payload), kGeneratedIat)),
            (Failures{{"nonce", ErrorCode::kAttestNonceMismatch}}));
}

TEST(GcpVerifierTest, OidcTokenVerifies) {
  Policy policy = PolicyFor(kGeneratedAudience);
  const std::string second = "second-nonce-value";
  policy.expected_nonce = std::vector<uint8_t>(second.begin(), second.end());
  std::string digest = "sha256:";
  for (int i = 0; i < 32; ++i) {
    digest += "ab";  // The generator's image digest.
  }
  policy.image_digests = {digest};
  Verification v = VerifyAt(*Oidc(policy), LocalVector("oidc_valid.jwt"), kGeneratedIat);
  EXPECT_EQ(FailuresOf(v), Failures{});
  EXPECT_EQ(StepNames(v),
            (std::vector<std::string>{"jwt_structure", "jwt_algorithm", "claims_fields", "jwks_key",
                                      "jwt_signature", "issuer", "audience", "validity", "swname",
                                      "hwmodel", "debug_mode", "image_digest", "nonce"}));
  EXPECT_EQ(v.report.attributes.at("token_kind"), "oidc");
  EXPECT_EQ(v.report.nonce, std::vector<uint8_t>(second.begin(), second.end()));
  EXPECT_EQ(v.report.tcb_status, "UpToDate");
  // A token signed in C++ with the same key verifies too (two signers agree).
  Parts p = GeneratedOidc();
  EXPECT_EQ(FailuresOf(VerifyAt(*Oidc(policy), SignTest(p.header, p.payload), kGeneratedIat)),
            Failures{});
}

TEST(GcpVerifierTest, OidcUnknownKid) {
  auto verifier = Oidc(PolicyFor(kGeneratedAudience));
  Parts p = GeneratedOidc();
  p.header["kid"] = "not-in-the-set";
  Verification v = VerifyAt(*verifier, SignTest(p.header, p.payload), kGeneratedIat);
  EXPECT_EQ(FailuresOf(v), (Failures{{"jwks_key", ErrorCode::kGcpUnknownKeyId}}));
  EXPECT_EQ(StatusOf(v, "jwt_signature"), StepStatus::kNotRun);
  p.header.erase("kid");
  EXPECT_EQ(FailuresOf(VerifyAt(*verifier, SignTest(p.header, p.payload), kGeneratedIat)),
            (Failures{{"jwks_key", ErrorCode::kGcpUnknownKeyId}}));
}

TEST(GcpVerifierTest, OidcKeyMismatch) {
  // Signed by eml-test-key-2 but naming eml-test-key-1.
  auto verifier = Oidc(PolicyFor(kGeneratedAudience));
  EXPECT_EQ(FailuresOf(VerifyAt(*verifier, LocalVector("oidc_wrong_key.jwt"), kGeneratedIat)),
            (Failures{{"jwt_signature", ErrorCode::kGcpSignatureInvalid}}));
  // A JWKS whose eml-test-key-1 entry carries another key's modulus.
  Json set = ReadJson(SourcePath("tests/vectors/gcp/jwks.json"));
  set["keys"][0]["n"] = set["keys"][1]["n"];
  set["keys"][1]["kid"] = "renamed";
  Result<Jwks> swapped = Jwks::Parse(AsBytes(set.dump()));
  ASSERT_THAT(swapped, IsOk());
  EXPECT_EQ(FailuresOf(VerifyAt(*Oidc(PolicyFor(kGeneratedAudience), *std::move(swapped)),
                                LocalVector("oidc_valid.jwt"), kGeneratedIat)),
            (Failures{{"jwt_signature", ErrorCode::kGcpSignatureInvalid}}));
}

TEST(GcpVerifierTest, ClaimValues) {
  auto verifier = Oidc(PolicyFor(kGeneratedAudience));
  const auto with = [](const char* name, Json value) {
    Parts p = GeneratedOidc();
    p.payload[name] = std::move(value);
    return SignTest(p.header, p.payload);
  };
  EXPECT_EQ(
      FailuresOf(VerifyAt(*verifier, with("iss", "https://accounts.google.com"), kGeneratedIat)),
      (Failures{{"issuer", ErrorCode::kGcpWrongIssuer}}));
  EXPECT_EQ(FailuresOf(VerifyAt(*verifier, with("swname", "GCE"), kGeneratedIat)),
            (Failures{{"swname", ErrorCode::kGcpWrongSoftware}}));
  EXPECT_EQ(FailuresOf(VerifyAt(*verifier, with("aud", {"x", kGeneratedAudience}), kGeneratedIat)),
            Failures{});
  EXPECT_EQ(FailuresOf(VerifyAt(*verifier, with("aud", {"x", "y"}), kGeneratedIat)),
            (Failures{{"audience", ErrorCode::kGcpWrongAudience}}));
  // Anything but "disabled-since-boot" is a debug image.
  for (const char* dbgstat : {"enabled", "disabled", "", "DISABLED-SINCE-BOOT"}) {
    SCOPED_TRACE(dbgstat);
    Verification v = VerifyAt(*verifier, with("dbgstat", dbgstat), kGeneratedIat);
    EXPECT_EQ(FailuresOf(v), (Failures{{"debug_mode", ErrorCode::kAttestDebugMode}}));
    EXPECT_TRUE(v.report.debug);
  }
  // A malformed claim: the signature still verifies, the claim steps do not run.
  Verification bad = VerifyAt(*verifier, with("iat", "yesterday"), kGeneratedIat);
  EXPECT_EQ(FailuresOf(bad), (Failures{{"claims_fields", ErrorCode::kGcpBadClaim}}));
  EXPECT_EQ(StatusOf(bad, "jwt_signature"), StepStatus::kPassed);
  EXPECT_EQ(StatusOf(bad, "audience"), StepStatus::kNotRun);
}

TEST(GcpVerifierTest, BadPolicies) {
  const auto rejected = [](Policy policy) {
    return GcpVerifier::NewPki(CsRoot(), std::move(policy));
  };
  EXPECT_THAT(rejected(Policy{}), HasError(ErrorCode::kAttestBadPolicy));
  Policy bad_pin = PolicyFor("a");
  bad_pin.image_digests = {"sha256:1234"};
  EXPECT_THAT(rejected(bad_pin), HasError(ErrorCode::kAttestBadPolicy));
  Policy empty_model = PolicyFor("a");
  empty_model.allowed_hwmodels = {""};
  EXPECT_THAT(rejected(empty_model), HasError(ErrorCode::kAttestBadPolicy));
  Policy empty_nonce = PolicyFor("a");
  empty_nonce.expected_nonce = std::vector<uint8_t>{};
  EXPECT_THAT(rejected(empty_nonce), HasError(ErrorCode::kAttestBadPolicy));
  Policy negative_skew = PolicyFor("a");
  negative_skew.max_clock_skew_s = -1;
  EXPECT_THAT(rejected(negative_skew), HasError(ErrorCode::kAttestBadPolicy));
  Policy negative_age = PolicyFor("a");
  negative_age.max_age_s = -5;
  EXPECT_THAT(GcpVerifier::NewOidc(TestJwks(), negative_age),
              HasError(ErrorCode::kAttestBadPolicy));
}

}  // namespace
}  // namespace eml::attest::gcp
