#include "cose/sign1.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "cbor/encoder.h"
#include "common/encoding.h"
#include "testing/test_util.h"

namespace eml::cose {
namespace {

using cbor::Value;
using ::eml::testing::HasError;
using ::eml::testing::Hex;
using ::eml::testing::IsOk;

std::vector<uint8_t> Bytes(std::string_view text) {
  return std::vector<uint8_t>(text.begin(), text.end());
}

std::vector<uint8_t> EncodeOrDie(const Value& v) {
  auto encoded = cbor::Encode(v);
  EML_CHECK(encoded.has_value());
  return *encoded;
}

// A COSE_Sign1 built by hand from its four parts (for malformed shapes).
std::vector<uint8_t> Message(Value protected_bstr, Value unprotected, Value payload,
                             Value signature, bool tagged = true) {
  Value array = Value::Array({std::move(protected_bstr), std::move(unprotected), std::move(payload),
                              std::move(signature)});
  return EncodeOrDie(tagged ? Value::Tag(kSign1Tag, std::move(array)) : array);
}

Value AlgHeaderBytes(int64_t alg) {
  return Value::Bytes(EncodeOrDie(Value::Map({{Value::Int(1), Value::Int(alg)}})));
}

Value Sig(size_t n) { return Value::Bytes(std::vector<uint8_t>(n, 0x5a)); }

ParseOptions WithTagRule(TagRule rule) {
  ParseOptions options;
  options.tag_rule = rule;
  return options;
}

ParseOptions AllowDetached() {
  ParseOptions options;
  options.allow_detached_payload = true;
  return options;
}

VerifyOptions WithAad(std::span<const uint8_t> aad) {
  VerifyOptions options;
  options.external_aad = aad;
  return options;
}

VerifyOptions WithDetached(std::span<const uint8_t> payload) {
  VerifyOptions options;
  options.detached_payload = payload;
  return options;
}

class Sign1Test : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ed = crypto::Ed25519PrivateKey::Generate();
    ASSERT_THAT(ed, IsOk());
    ed25519_.emplace(std::move(*ed));
    auto p256 = crypto::EcdsaPrivateKey::Generate(crypto::EcdsaCurve::kP256);
    ASSERT_THAT(p256, IsOk());
    p256_.emplace(std::move(*p256));
    auto p384 = crypto::EcdsaPrivateKey::Generate(crypto::EcdsaCurve::kP384);
    ASSERT_THAT(p384, IsOk());
    p384_.emplace(std::move(*p384));
  }

  Sign1Input Input() const {
    Sign1Input in;
    in.unprotected_header = Value::Map({{Value::Int(4), Value::Bytes(Bytes("key-1"))}});  // kid
    in.payload = Bytes("payload bytes");
    return in;
  }

  std::optional<crypto::Ed25519PrivateKey> ed25519_;
  std::optional<crypto::EcdsaPrivateKey> p256_;
  std::optional<crypto::EcdsaPrivateKey> p384_;
};

// --- Round trips. ---

TEST_F(Sign1Test, Ed25519RoundTrip) {
  auto bytes = SignSign1Ed25519(Input(), *ed25519_);
  ASSERT_THAT(bytes, IsOk());
  auto parsed = ParseSign1(*bytes, WithTagRule(TagRule::kRequireTagged));
  ASSERT_THAT(parsed, IsOk());
  EXPECT_TRUE(parsed->tagged());
  EXPECT_TRUE(parsed->canonical());
  EXPECT_EQ(parsed->algorithm(), -8);
  EXPECT_EQ(HexEncode(parsed->protected_bytes()), "a10127");
  EXPECT_THAT(*parsed->payload(), ::testing::ElementsAreArray(Bytes("payload bytes")));
  EXPECT_EQ(parsed->signature().size(), 64u);
  EXPECT_THAT(VerifySign1(*parsed, ed25519_->public_key()), IsOk());
  auto again = SerializeSign1(*parsed);
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(*again, *bytes);
}

TEST_F(Sign1Test, Es256RoundTripUntagged) {
  Sign1Input in = Input();
  in.tagged = false;
  auto bytes = SignSign1Ecdsa(in, *p256_);
  ASSERT_THAT(bytes, IsOk());
  auto parsed = ParseSign1(*bytes, WithTagRule(TagRule::kRequireUntagged));
  ASSERT_THAT(parsed, IsOk());
  EXPECT_FALSE(parsed->tagged());
  EXPECT_EQ(parsed->algorithm(), -7);
  EXPECT_EQ(parsed->signature().size(), 64u);
  EXPECT_THAT(VerifySign1(*parsed, p256_->public_key()), IsOk());
  EXPECT_EQ(*SerializeSign1(*parsed), *bytes);
}

TEST_F(Sign1Test, Es384RoundTripWithExternalAad) {
  const std::vector<uint8_t> aad = Bytes("bound context");
  Sign1Input in = Input();
  in.external_aad = aad;
  in.protected_header = Value::Map({{Value::Int(3), Value::Uint(61)}});  // content type
  auto bytes = SignSign1Ecdsa(in, *p384_);
  ASSERT_THAT(bytes, IsOk());
  auto parsed = ParseSign1(*bytes);
  ASSERT_THAT(parsed, IsOk());
  EXPECT_EQ(parsed->algorithm(), -35);
  EXPECT_EQ(HexEncode(parsed->protected_bytes()), "a201382203183d");
  EXPECT_EQ(parsed->signature().size(), 96u);
  EXPECT_THAT(VerifySign1(*parsed, p384_->public_key(), WithAad(aad)), IsOk());
  EXPECT_THAT(VerifySign1(*parsed, p384_->public_key()),
              HasError(ErrorCode::kCoseSignatureInvalid));
}

TEST_F(Sign1Test, AirProtectedHeaderBytes) {
  // AIR v1: protected header a2 01 27 03 18 3d given with alg already present.
  Sign1Input in = Input();
  in.protected_header =
      Value::Map({{Value::Int(3), Value::Uint(61)}, {Value::Int(1), Value::Int(-8)}});
  in.unprotected_header = Value::Map({});
  auto bytes = SignSign1Ed25519(in, *ed25519_);
  ASSERT_THAT(bytes, IsOk());
  EXPECT_EQ(HexEncode(std::span(*bytes).first(10)), "d28446a2012703183da0");
}

TEST_F(Sign1Test, DetachedPayloadVerifiesWhenSupplied) {
  auto attached = SignSign1Ed25519(Input(), *ed25519_);
  ASSERT_THAT(attached, IsOk());
  auto parsed = ParseSign1(*attached);
  ASSERT_THAT(parsed, IsOk());
  const std::vector<uint8_t> detached =
      Message(Value::Bytes(parsed->protected_bytes()), parsed->unprotected_header(), Value::Null(),
              Value::Bytes(parsed->signature()));
  auto msg = ParseSign1(detached, AllowDetached());
  ASSERT_THAT(msg, IsOk());
  EXPECT_FALSE(msg->payload().has_value());
  const std::vector<uint8_t> payload = Bytes("payload bytes");
  EXPECT_THAT(VerifySign1(*msg, ed25519_->public_key(), WithDetached(payload)), IsOk());
  EXPECT_EQ(*SerializeSign1(*msg), detached);
  // A detached payload offered for an attached message is a caller error.
  EXPECT_THAT(VerifySign1(*parsed, ed25519_->public_key(), WithDetached(payload)),
              HasError(ErrorCode::kInvalidArgument));
}

TEST(SigStructureTest, MatchesCoseWgIntermediates) {
  // ecdsa-sig-01 and sign-pass-02 of the COSE WG Examples ("ToBeSign_hex").
  const std::vector<uint8_t> content = Bytes("This is the content.");
  EXPECT_EQ(HexEncode(SigStructure(Hex("a201260300"), {}, content)),
            "846a5369676e61747572653145a2012603004054546869732069732074686520636f6e74656e742e");
  EXPECT_EQ(HexEncode(SigStructure(Hex("a10126"), Hex("11aa22bb33cc44dd55006699"), content)),
            "846a5369676e61747572653143a101264c11aa22bb33cc44dd5500669954546869732069732074686520"
            "636f6e74656e742e");
}

// --- One test per error code (STYLE T2). ---

TEST(ParseSign1Test, CborErrorsPassThrough) {
  std::vector<uint8_t> bytes =
      Message(AlgHeaderBytes(-8), Value::Map({}), Value::Bytes(Bytes("p")), Sig(64));
  bytes.push_back(0x00);
  EXPECT_THAT(ParseSign1(bytes), HasError(ErrorCode::kCborTrailingBytes));
  EXPECT_THAT(ParseSign1(std::span(bytes).first(10)), HasError(ErrorCode::kCborTruncated));
}

TEST(ParseSign1Test, Malformed) {
  const Value p = AlgHeaderBytes(-8);
  const Value u = Value::Map({});
  const Value pl = Value::Bytes(Bytes("p"));
  EXPECT_THAT(ParseSign1(EncodeOrDie(Value::Tag(18, Value::Map({})))),
              HasError(ErrorCode::kCoseMalformed));
  EXPECT_THAT(ParseSign1(EncodeOrDie(Value::Tag(18, Value::Array({p, u, pl})))),
              HasError(ErrorCode::kCoseMalformed));
  EXPECT_THAT(ParseSign1(Message(Value::Map({}), u, pl, Sig(64))),
              HasError(ErrorCode::kCoseMalformed));  // protected is a map, not a bstr
  EXPECT_THAT(ParseSign1(Message(p, u, Value::Text("p"), Sig(64))),
              HasError(ErrorCode::kCoseMalformed));
  EXPECT_THAT(ParseSign1(Message(p, u, pl, Value::Text("sig"))),
              HasError(ErrorCode::kCoseMalformed));
  EXPECT_THAT(
      ParseSign1(EncodeOrDie(Value::Tag(18, Value::Tag(18, Value::Array({p, u, pl, Sig(64)}))))),
      HasError(ErrorCode::kCoseMalformed));
}

TEST(ParseSign1Test, Untagged) {
  const std::vector<uint8_t> untagged =
      Message(AlgHeaderBytes(-8), Value::Map({}), Value::Bytes(Bytes("p")), Sig(64), false);
  EXPECT_THAT(ParseSign1(untagged), IsOk());
  EXPECT_THAT(ParseSign1(untagged, WithTagRule(TagRule::kRequireTagged)),
              HasError(ErrorCode::kCoseUntagged));
}

TEST(ParseSign1Test, WrongTag) {
  const Value array =
      Value::Array({AlgHeaderBytes(-8), Value::Map({}), Value::Bytes(Bytes("p")), Sig(64)});
  EXPECT_THAT(ParseSign1(EncodeOrDie(Value::Tag(17, array))), HasError(ErrorCode::kCoseWrongTag));
  EXPECT_THAT(
      ParseSign1(EncodeOrDie(Value::Tag(18, array)), WithTagRule(TagRule::kRequireUntagged)),
      HasError(ErrorCode::kCoseWrongTag));
}

TEST(ParseSign1Test, BadProtectedHeader) {
  const Value u = Value::Map({});
  const Value pl = Value::Bytes(Bytes("p"));
  // Not a map, not CBOR, trailing bytes, bad label type.
  EXPECT_THAT(ParseSign1(Message(Value::Bytes(Hex("8101")), u, pl, Sig(64))),
              HasError(ErrorCode::kCoseBadProtectedHeader));
  EXPECT_THAT(ParseSign1(Message(Value::Bytes(Hex("a101")), u, pl, Sig(64))),
              HasError(ErrorCode::kCoseBadProtectedHeader));
  EXPECT_THAT(ParseSign1(Message(Value::Bytes(Hex("a1012700")), u, pl, Sig(64))),
              HasError(ErrorCode::kCoseBadProtectedHeader));
  EXPECT_THAT(ParseSign1(Message(Value::Bytes(Hex("a1410127")), u, pl, Sig(64))),
              HasError(ErrorCode::kCoseBadProtectedHeader));
}

TEST(ParseSign1Test, BadUnprotectedHeader) {
  const Value p = AlgHeaderBytes(-8);
  const Value pl = Value::Bytes(Bytes("p"));
  EXPECT_THAT(ParseSign1(Message(p, Value::Array({}), pl, Sig(64))),
              HasError(ErrorCode::kCoseBadUnprotectedHeader));
  EXPECT_THAT(ParseSign1(Message(p, Value::Map({{Value::Float(1.5), Value::Null()}}), pl, Sig(64))),
              HasError(ErrorCode::kCoseBadUnprotectedHeader));
}

TEST(ParseSign1Test, DetachedPayload) {
  const std::vector<uint8_t> detached =
      Message(AlgHeaderBytes(-8), Value::Map({}), Value::Null(), Sig(64));
  EXPECT_THAT(ParseSign1(detached), HasError(ErrorCode::kCoseDetachedPayload));
  EXPECT_THAT(ParseSign1(detached, AllowDetached()), IsOk());
}

TEST(ParseSign1Test, DuplicateHeaderLabel) {
  EXPECT_THAT(ParseSign1(Message(AlgHeaderBytes(-8), Value::Map({{Value::Int(1), Value::Int(-7)}}),
                                 Value::Bytes(Bytes("p")), Sig(64))),
              HasError(ErrorCode::kCoseDuplicateHeaderLabel));
}

TEST(ParseSign1Test, EmptyProtectedHeaderIsEmptyMap) {
  auto parsed = ParseSign1(Message(Value::Bytes(std::vector<uint8_t>{}), Value::Map({}),
                                   Value::Bytes(Bytes("p")), Sig(64)));
  ASSERT_THAT(parsed, IsOk());
  EXPECT_EQ(parsed->protected_header(), Value::Map({}));
  EXPECT_FALSE(parsed->algorithm().has_value());
}

TEST(ParseSign1Test, NonCanonicalInputIsFlagged) {
  // The same message with unsorted unprotected labels: parses, canonical() is false, and
  // re-serializing gives the deterministic form.
  // 18([h'a10127', {4: h'01', 2: h'02'}, h'7061796c6f6164', h'00' * 64])
  const std::vector<uint8_t> bytes =
      Hex("d28443a10127a2044101024102477061796c6f61645840" + std::string(128, '0'));
  auto parsed = ParseSign1(bytes);
  ASSERT_THAT(parsed, IsOk());
  EXPECT_FALSE(parsed->canonical());
  auto again = SerializeSign1(*parsed);
  ASSERT_THAT(again, IsOk());
  EXPECT_NE(*again, bytes);
  auto reparsed = ParseSign1(*again);
  ASSERT_THAT(reparsed, IsOk());
  EXPECT_TRUE(reparsed->canonical());
}

TEST_F(Sign1Test, MissingAlgorithm) {
  auto parsed = ParseSign1(Message(Value::Bytes(std::vector<uint8_t>{}), Value::Map({}),
                                   Value::Bytes(Bytes("p")), Sig(64)));
  ASSERT_THAT(parsed, IsOk());
  EXPECT_THAT(VerifySign1(*parsed, ed25519_->public_key()),
              HasError(ErrorCode::kCoseMissingAlgorithm));
}

TEST_F(Sign1Test, UnsupportedAlgorithm) {
  for (int64_t alg : {-36, -37, 0, 1}) {
    auto parsed =
        ParseSign1(Message(AlgHeaderBytes(alg), Value::Map({}), Value::Bytes(Bytes("p")), Sig(64)));
    ASSERT_THAT(parsed, IsOk());
    EXPECT_THAT(VerifySign1(*parsed, p256_->public_key()),
                HasError(ErrorCode::kCoseUnsupportedAlgorithm));
  }
}

TEST_F(Sign1Test, AlgorithmKeyMismatch) {
  auto es256 = SignSign1Ecdsa(Input(), *p256_);
  ASSERT_THAT(es256, IsOk());
  auto parsed = ParseSign1(*es256);
  ASSERT_THAT(parsed, IsOk());
  EXPECT_THAT(VerifySign1(*parsed, ed25519_->public_key()),
              HasError(ErrorCode::kCoseAlgorithmKeyMismatch));
  EXPECT_THAT(VerifySign1(*parsed, p384_->public_key()),
              HasError(ErrorCode::kCoseAlgorithmKeyMismatch));
  auto eddsa = ParseSign1(*SignSign1Ed25519(Input(), *ed25519_));
  ASSERT_THAT(eddsa, IsOk());
  EXPECT_THAT(VerifySign1(*eddsa, p256_->public_key()),
              HasError(ErrorCode::kCoseAlgorithmKeyMismatch));
  // Signing: a protected alg that does not fit the key.
  Sign1Input in = Input();
  in.protected_header = Value::Map({{Value::Int(1), Value::Int(-7)}});
  EXPECT_THAT(SignSign1Ed25519(in, *ed25519_), HasError(ErrorCode::kCoseAlgorithmKeyMismatch));
  EXPECT_THAT(SignSign1Ecdsa(in, *p384_), HasError(ErrorCode::kCoseAlgorithmKeyMismatch));
}

TEST_F(Sign1Test, MissingPayload) {
  auto parsed = ParseSign1(Message(AlgHeaderBytes(-8), Value::Map({}), Value::Null(), Sig(64)),
                           AllowDetached());
  ASSERT_THAT(parsed, IsOk());
  EXPECT_THAT(VerifySign1(*parsed, ed25519_->public_key()),
              HasError(ErrorCode::kCoseMissingPayload));
}

TEST_F(Sign1Test, SignatureInvalid) {
  for (bool ed : {true, false}) {
    SCOPED_TRACE(ed ? "EdDSA" : "ES384");
    auto bytes = ed ? SignSign1Ed25519(Input(), *ed25519_) : SignSign1Ecdsa(Input(), *p384_);
    ASSERT_THAT(bytes, IsOk());
    std::vector<uint8_t> tampered = *bytes;
    tampered[tampered.size() - 5] ^= 0x01;  // inside the signature
    auto parsed = ParseSign1(tampered);
    ASSERT_THAT(parsed, IsOk());
    const VerificationKey key =
        ed ? VerificationKey(ed25519_->public_key()) : VerificationKey(p384_->public_key());
    EXPECT_THAT(VerifySign1(*parsed, key), HasError(ErrorCode::kCoseSignatureInvalid));
    // Another payload under the original signature.
    auto original = ParseSign1(*bytes);
    ASSERT_THAT(original, IsOk());
    const std::vector<uint8_t> swapped =
        Message(Value::Bytes(original->protected_bytes()), original->unprotected_header(),
                Value::Bytes(Bytes("payload bytez")), Value::Bytes(original->signature()));
    EXPECT_THAT(VerifySign1(*ParseSign1(swapped), key), HasError(ErrorCode::kCoseSignatureInvalid));
  }
}

TEST_F(Sign1Test, BadSignatureLength) {
  auto bytes = SignSign1Ecdsa(Input(), *p256_);
  ASSERT_THAT(bytes, IsOk());
  auto original = ParseSign1(*bytes);
  ASSERT_THAT(original, IsOk());
  const std::vector<uint8_t> short_sig =
      Message(Value::Bytes(original->protected_bytes()), original->unprotected_header(),
              Value::Bytes(*original->payload()), Value::Bytes(original->signature().first(63)));
  EXPECT_THAT(VerifySign1(*ParseSign1(short_sig), p256_->public_key()),
              HasError(ErrorCode::kCryptoBadSignatureLength));
  auto ed_msg =
      ParseSign1(Message(AlgHeaderBytes(-8), Value::Map({}), Value::Bytes(Bytes("p")), Sig(65)));
  ASSERT_THAT(ed_msg, IsOk());
  EXPECT_THAT(VerifySign1(*ed_msg, ed25519_->public_key()),
              HasError(ErrorCode::kCryptoBadSignatureLength));
}

TEST_F(Sign1Test, SignRejectsBadHeaders) {
  Sign1Input in = Input();
  in.unprotected_header = Value::Map({{Value::Int(1), Value::Int(-8)}});  // alg would be in both
  EXPECT_THAT(SignSign1Ed25519(in, *ed25519_), HasError(ErrorCode::kCoseDuplicateHeaderLabel));
  in.unprotected_header = Value::Array({});
  EXPECT_THAT(SignSign1Ed25519(in, *ed25519_), HasError(ErrorCode::kInvalidArgument));
  in = Input();
  in.protected_header =
      Value::Map({{Value::Int(7), Value::Null()}, {Value::Int(7), Value::Null()}});
  EXPECT_THAT(SignSign1Ed25519(in, *ed25519_), HasError(ErrorCode::kCborDuplicateKey));
}

}  // namespace
}  // namespace eml::cose
