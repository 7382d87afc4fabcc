// COSE_Sign1 against outside data (STYLE T3): the COSE WG Examples in vectors/cose/ (each file
// listed with its expected outcome, so the run count is checked) and real AWS Nitro attestation
// documents in vectors/nitro/ (untagged COSE_Sign1, ES384, signed by the leaf certificate that
// the payload carries).

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "cbor/decoder.h"
#include "common/encoding.h"
#include "common/secret_bytes.h"
#include "cose/sign1.h"
#include "crypto/ecdsa.h"
#include "crypto/ed25519.h"
#include "crypto/x509.h"
#include "testing/test_util.h"

namespace eml::cose {
namespace {

using ::eml::testing::HasError;
using ::eml::testing::Hex;
using ::eml::testing::IsOk;
using ::eml::testing::ReadFileBytes;
using ::eml::testing::ReadJson;
using ::eml::testing::SharedVectorPath;
using nlohmann::json;

struct CoseCase {
  const char* file;         // under vectors/cose/
  ErrorCode parse_expect;   // kOk: ParseSign1 succeeds
  ErrorCode verify_expect;  // checked when parsing succeeded
  const char* why;          // the vector's "fail" reason, or what makes it special
};

// Every file in vectors/cose/, with the outcome its title documents.
const CoseCase kCoseCases[] = {
    {"eddsa-examples/eddsa-sig-01.json", ErrorCode::kOk, ErrorCode::kOk, "Ed25519, sign0"},
    {"eddsa-examples/eddsa-sig-02.json", ErrorCode::kOk, ErrorCode::kCoseUnsupportedAlgorithm,
     "Ed448 (EdDSA with a 114-byte signature): not supported"},
    {"ecdsa-examples/ecdsa-sig-01.json", ErrorCode::kOk, ErrorCode::kOk, "ES256, P-256"},
    {"ecdsa-examples/ecdsa-sig-02.json", ErrorCode::kOk, ErrorCode::kOk, "ES384, P-384"},
    {"ecdsa-examples/ecdsa-sig-03.json", ErrorCode::kOk, ErrorCode::kCoseUnsupportedAlgorithm,
     "ES512 on P-521: not supported"},
    {"ecdsa-examples/ecdsa-sig-04.json", ErrorCode::kOk, ErrorCode::kCoseUnsupportedAlgorithm,
     "ES512 (SHA-512) on P-256: not supported"},
    {"sign1-tests/sign-pass-01.json", ErrorCode::kOk, ErrorCode::kOk,
     "protected h'A0', alg only in the unprotected header (allow_unprotected_algorithm)"},
    {"sign1-tests/sign-pass-02.json", ErrorCode::kOk, ErrorCode::kOk, "external AAD"},
    {"sign1-tests/sign-pass-03.json", ErrorCode::kOk, ErrorCode::kOk, "untagged"},
    {"sign1-tests/sign-fail-01.json", ErrorCode::kCoseWrongTag, ErrorCode::kOk,
     "ChangeCBORTag: tag 998"},
    {"sign1-tests/sign-fail-02.json", ErrorCode::kOk, ErrorCode::kCoseSignatureInvalid,
     "ChangeTag: payload byte changed"},
    {"sign1-tests/sign-fail-03.json", ErrorCode::kOk, ErrorCode::kCoseUnsupportedAlgorithm,
     "ChangeAttr: alg -999"},
    {"sign1-tests/sign-fail-04.json", ErrorCode::kOk, ErrorCode::kCoseUnsupportedAlgorithm,
     "ChangeAttr: alg \"unknown\" (text)"},
    {"sign1-tests/sign-fail-06.json", ErrorCode::kOk, ErrorCode::kCoseSignatureInvalid,
     "AddProtected: ctyp 0 added after signing"},
    {"sign1-tests/sign-fail-07.json", ErrorCode::kOk, ErrorCode::kCoseSignatureInvalid,
     "RemoveProtected: ctyp 0 removed after signing"},
};
constexpr size_t kNumCoseFiles = 15;

std::vector<uint8_t> JwkBytes(const json& key, const char* name) {
  const std::string hex_name = std::string(name) + "_hex";
  if (key.contains(hex_name)) {
    return Hex(key.at(hex_name).get<std::string>());
  }
  auto bytes = Base64UrlDecode(key.at(name).get<std::string>());
  EXPECT_TRUE(bytes.has_value());
  return bytes.has_value() ? *bytes : std::vector<uint8_t>{};
}

// VerificationKeyFromJwk reads the public half of a COSE WG example key. Curves we do not
// implement (P-521, Ed448) return nullopt.
std::optional<VerificationKey> VerificationKeyFromJwk(const json& key) {
  const std::string crv = key.at("crv").get<std::string>();
  if (crv == "Ed25519") {
    auto pub = crypto::Ed25519PublicKey::FromBytes(JwkBytes(key, "x"));
    EXPECT_THAT(pub, IsOk());
    return VerificationKey(*pub);
  }
  if (crv == "P-256" || crv == "P-384") {
    std::vector<uint8_t> point = {0x04};
    const std::vector<uint8_t> x = JwkBytes(key, "x");
    const std::vector<uint8_t> y = JwkBytes(key, "y");
    point.insert(point.end(), x.begin(), x.end());
    point.insert(point.end(), y.begin(), y.end());
    auto pub = crypto::EcdsaPublicKey::FromSec1(
        crv == "P-256" ? crypto::EcdsaCurve::kP256 : crypto::EcdsaCurve::kP384, point);
    EXPECT_THAT(pub, IsOk());
    return VerificationKey(*pub);
  }
  return std::nullopt;
}

TEST(CoseWgExamplesTest, EveryFileHasItsDocumentedOutcome) {
  ASSERT_EQ(std::size(kCoseCases), kNumCoseFiles);
  // A stand-in key for messages whose own key we cannot load (P-521, Ed448): the algorithm
  // check comes before any use of the key.
  auto fallback_key = crypto::EcdsaPrivateKey::Generate(crypto::EcdsaCurve::kP256);
  ASSERT_THAT(fallback_key, IsOk());
  size_t run = 0;
  size_t unsupported = 0;
  for (const CoseCase& c : kCoseCases) {
    SCOPED_TRACE(std::string(c.file) + ": " + c.why);
    const json vector = ReadJson(SharedVectorPath(std::string("cose/") + c.file));
    ++run;
    const bool marked_fail = vector.value("fail", false);
    EXPECT_EQ(marked_fail, c.parse_expect != ErrorCode::kOk ||
                               c.verify_expect == ErrorCode::kCoseSignatureInvalid ||
                               std::string(c.file).find("sign-fail") != std::string::npos);
    const json& sign = vector.at("input").at("sign0");
    const std::vector<uint8_t> message = Hex(vector.at("output").at("cbor").get<std::string>());
    auto parsed = ParseSign1(message);
    if (c.parse_expect != ErrorCode::kOk) {
      EXPECT_THAT(parsed, HasError(c.parse_expect));
      continue;
    }
    ASSERT_THAT(parsed, IsOk());
    if (c.verify_expect == ErrorCode::kOk) {
      EXPECT_THAT(*parsed->payload(), ::testing::ElementsAreArray(AsBytes(
                                          vector.at("input").at("plaintext").get<std::string>())));
    }
    VerifyOptions options;
    std::vector<uint8_t> external;
    if (sign.contains("external")) {
      external = Hex(sign.at("external").get<std::string>());
      options.external_aad = external;
    }
    options.allow_unprotected_algorithm = std::string(c.file).ends_with("sign-pass-01.json");
    const std::optional<VerificationKey> key = VerificationKeyFromJwk(sign.at("key"));
    const VerificationKey& use_key =
        key.has_value() ? *key : VerificationKey(fallback_key->public_key());
    const Status status = VerifySign1(*parsed, use_key, options);
    if (c.verify_expect == ErrorCode::kOk) {
      EXPECT_THAT(status, IsOk());
    } else {
      EXPECT_THAT(status, HasError(c.verify_expect));
    }
    if (c.verify_expect == ErrorCode::kCoseUnsupportedAlgorithm) {
      ++unsupported;
    }
  }
  EXPECT_EQ(run, kNumCoseFiles);
  EXPECT_EQ(unsupported, 5u);  // Ed448, two ES512, alg -999, alg "unknown"
}

TEST(CoseWgExamplesTest, SignPass01NeedsUnprotectedAlgorithmOptIn) {
  const json vector = ReadJson(SharedVectorPath("cose/sign1-tests/sign-pass-01.json"));
  auto parsed = ParseSign1(Hex(vector.at("output").at("cbor").get<std::string>()));
  ASSERT_THAT(parsed, IsOk());
  const std::optional<VerificationKey> key =
      VerificationKeyFromJwk(vector.at("input").at("sign0").at("key"));
  ASSERT_TRUE(key.has_value());
  EXPECT_THAT(VerifySign1(*parsed, *key), HasError(ErrorCode::kCoseMissingAlgorithm));
}

TEST(CoseWgExamplesTest, Ed25519SigningReproducesExample) {
  // Ed25519 is deterministic: signing the example's input gives the example's bytes.
  const json vector = ReadJson(SharedVectorPath("cose/eddsa-examples/eddsa-sig-01.json"));
  const json& key = vector.at("input").at("sign0").at("key");
  auto private_key =
      crypto::Ed25519PrivateKey::FromSeed(SecretBytes::CopyFrom(Hex(key.at("d_hex"))));
  ASSERT_THAT(private_key, IsOk());
  Sign1Input in;
  in.protected_header = cbor::Value::Map(
      {{cbor::Value::Int(1), cbor::Value::Int(-8)}, {cbor::Value::Int(3), cbor::Value::Uint(0)}});
  in.unprotected_header =
      cbor::Value::Map({{cbor::Value::Int(4), cbor::Value::Bytes(std::vector<uint8_t>{'1', '1'})}});
  const std::string plaintext = vector.at("input").at("plaintext").get<std::string>();
  in.payload.assign(plaintext.begin(), plaintext.end());
  auto signed_message = SignSign1Ed25519(in, *private_key);
  ASSERT_THAT(signed_message, IsOk());
  EXPECT_EQ(HexEncode(*signed_message),
            HexEncode(Hex(vector.at("output").at("cbor").get<std::string>())));
}

// --- AWS Nitro attestation documents. ---

struct NitroCase {
  const char* file;      // under vectors/nitro/
  ErrorCode key_expect;  // reading the leaf key from the payload's certificate
  ErrorCode verify_expect;
};

const NitroCase kNitroCases[] = {
    {"fortanix-rust-sgx/request_proper.bin", ErrorCode::kOk, ErrorCode::kOk},
    {"fortanix-rust-sgx/tampered_signature.bin", ErrorCode::kOk, ErrorCode::kCoseSignatureInvalid},
    // The leaf certificate inside the signed payload was altered so that it is no longer DER;
    // with the genuine leaf key (from request_proper) the altered payload fails the signature.
    {"fortanix-rust-sgx/tampered_certificate.bin", ErrorCode::kX509ParseFailed,
     ErrorCode::kCoseSignatureInvalid},
    {"cape-js/cape-spec-attestationDocument.bin", ErrorCode::kOk, ErrorCode::kOk},
    {"cape-js/cape-spec-keyAttestationDocument.bin", ErrorCode::kOk, ErrorCode::kOk},
    {"cape-js/isomorphic-attestation.bin", ErrorCode::kOk, ErrorCode::kOk},
};
constexpr size_t kNumNitroDocuments = 6;

Result<ParsedSign1> ParseNitro(const std::string& file) {
  ParseOptions options;
  options.tag_rule = TagRule::kRequireUntagged;  // Nitro documents carry no tag
  return ParseSign1(ReadFileBytes(SharedVectorPath("nitro/" + file)), options);
}

Result<crypto::EcdsaPublicKey> LeafKey(const ParsedSign1& doc) {
  EML_ASSIGN_OR_RETURN(cbor::Decoded payload, cbor::Decode(*doc.payload()));
  const cbor::Value* certificate = payload.value.MapFind("certificate");
  if (certificate == nullptr) {
    return Error{ErrorCode::kNotFound, "no certificate in the attestation payload"};
  }
  EML_ASSIGN_OR_RETURN(auto der, certificate->AsBytes());
  EML_ASSIGN_OR_RETURN(crypto::Certificate leaf, crypto::Certificate::FromDer(der));
  return leaf.EcdsaKey();
}

TEST(NitroAttestationTest, Es384SignaturesOfRealDocuments) {
  ASSERT_EQ(std::size(kNitroCases), kNumNitroDocuments);
  auto proper = ParseNitro("fortanix-rust-sgx/request_proper.bin");
  ASSERT_THAT(proper, IsOk());
  auto proper_key = LeafKey(*proper);
  ASSERT_THAT(proper_key, IsOk());
  size_t run = 0;
  for (const NitroCase& c : kNitroCases) {
    SCOPED_TRACE(c.file);
    ++run;
    auto doc = ParseNitro(c.file);
    ASSERT_THAT(doc, IsOk());
    EXPECT_FALSE(doc->tagged());
    EXPECT_EQ(doc->algorithm(), static_cast<int64_t>(Algorithm::kES384));
    EXPECT_EQ(doc->signature().size(), 96u);
    auto key = LeafKey(*doc);
    if (c.key_expect != ErrorCode::kOk) {
      EXPECT_THAT(key, HasError(c.key_expect));
      EXPECT_THAT(VerifySign1(*doc, *proper_key), HasError(c.verify_expect));
      continue;
    }
    ASSERT_THAT(key, IsOk());
    EXPECT_EQ(key->curve(), crypto::EcdsaCurve::kP384);
    const Status status = VerifySign1(*doc, *key);
    if (c.verify_expect == ErrorCode::kOk) {
      EXPECT_THAT(status, IsOk());
    } else {
      EXPECT_THAT(status, HasError(c.verify_expect));
    }
  }
  EXPECT_EQ(run, kNumNitroDocuments);
}

TEST(NitroAttestationTest, WrongCurveKeyIsAlgorithmKeyMismatch) {
  auto doc = ParseNitro("fortanix-rust-sgx/request_proper.bin");
  ASSERT_THAT(doc, IsOk());
  auto p256 = crypto::EcdsaPrivateKey::Generate(crypto::EcdsaCurve::kP256);
  ASSERT_THAT(p256, IsOk());
  EXPECT_THAT(VerifySign1(*doc, p256->public_key()),
              HasError(ErrorCode::kCoseAlgorithmKeyMismatch));
}

}  // namespace
}  // namespace eml::cose
