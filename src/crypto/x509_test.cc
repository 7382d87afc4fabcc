#include "crypto/x509.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/encoding.h"
#include "crypto/testing/test_pki.h"
#include "testing/test_util.h"

namespace eml::crypto {
namespace {

using ::eml::testing::HasError;
using ::eml::testing::IsOk;
using ::eml::testing::ReadFileBytes;
using ::eml::testing::ReadFileText;
using ::eml::testing::SharedVectorPath;
using testing::CertSpec;
using testing::TestKey;

// Fixed instants (seconds since the epoch); the clock is never read.
constexpr int64_t k2020 = 1577836800;     // 2020-01-01T00:00:00Z
constexpr int64_t k2023 = 1672531200;     // 2023-01-01
constexpr int64_t k2024 = 1704067200;     // 2024-01-01
constexpr int64_t k2024Mid = 1717200000;  // 2024-06-01
constexpr int64_t k2025 = 1735689600;     // 2025-01-01
constexpr int64_t k2026 = 1767225600;     // 2026-01-01
constexpr int64_t k2040 = 2208988800;     // 2040-01-01

constexpr uint64_t kLeafSerial = 0x1001;
constexpr uint64_t kIntermediateSerial = 0x2002;

Certificate MustParse(const std::vector<uint8_t>& der) {
  Result<Certificate> cert = Certificate::FromDer(der);
  EML_CHECK(cert.has_value());
  return std::move(cert).value();
}

// Root (self-signed, 2020-2040) -> intermediate (2020-2040) -> leaf (2024-2025), all P-384.
class X509ChainTest : public ::testing::Test {
 protected:
  X509ChainTest()
      : root_key_(TestKey::GenerateP384()),
        intermediate_key_(TestKey::GenerateP384()),
        leaf_key_(TestKey::GenerateP384()),
        root_der_(testing::IssueCertificate(CertSpec{"Test Root", k2020, k2040, /*is_ca=*/true, 1},
                                            root_key_, root_key_, {})),
        intermediate_der_(testing::IssueCertificate(
            CertSpec{"Test Intermediate", k2020, k2040, /*is_ca=*/true, kIntermediateSerial},
            intermediate_key_, root_key_, root_der_)),
        leaf_der_(testing::IssueCertificate(
            CertSpec{"Test Leaf", k2024, k2025, /*is_ca=*/false, kLeafSerial}, leaf_key_,
            intermediate_key_, intermediate_der_)),
        root_(MustParse(root_der_)),
        intermediate_(MustParse(intermediate_der_)),
        leaf_(MustParse(leaf_der_)) {}

  Result<VerifiedChain> Verify(const Certificate& leaf, int64_t time,
                               std::vector<const Crl*> crls = {},
                               CrlScope scope = CrlScope::kWholeChain) {
    ChainOptions options;
    options.verification_time_unix = time;
    options.crls = std::move(crls);
    options.crl_scope = scope;
    std::vector<Certificate> intermediates = {intermediate_};
    std::vector<Certificate> roots = {root_};
    return VerifyChain(leaf, intermediates, roots, options);
  }

  Crl MakeCrl(const TestKey& key, const std::vector<uint8_t>& issuer_der,
              std::vector<uint64_t> revoked, int64_t this_update = k2020,
              int64_t next_update = k2040) {
    Result<Crl> crl =
        Crl::FromDer(testing::IssueCrl(key, issuer_der, this_update, next_update, revoked));
    EML_CHECK(crl.has_value());
    return std::move(crl).value();
  }

  TestKey root_key_;
  TestKey intermediate_key_;
  TestKey leaf_key_;
  std::vector<uint8_t> root_der_;
  std::vector<uint8_t> intermediate_der_;
  std::vector<uint8_t> leaf_der_;
  Certificate root_;
  Certificate intermediate_;
  Certificate leaf_;
};

TEST_F(X509ChainTest, ValidInsideValidity) {
  Result<VerifiedChain> chain = Verify(leaf_, k2024Mid);
  ASSERT_THAT(chain, IsOk());
  ASSERT_EQ(chain->path().size(), 3u);
  EXPECT_EQ(chain->leaf().Sha256Fingerprint(), leaf_.Sha256Fingerprint());
  EXPECT_EQ(chain->path()[1].Sha256Fingerprint(), intermediate_.Sha256Fingerprint());
  EXPECT_EQ(chain->path()[2].Sha256Fingerprint(), root_.Sha256Fingerprint());
  EXPECT_THAT(leaf_.subject(), ::testing::HasSubstr("CN=Test Leaf"));
  EXPECT_THAT(leaf_.issuer(), ::testing::HasSubstr("CN=Test Intermediate"));
  EXPECT_EQ(leaf_.not_before_unix(), k2024);
  EXPECT_EQ(leaf_.not_after_unix(), k2025);
  EXPECT_FALSE(leaf_.is_ca());
  EXPECT_TRUE(intermediate_.is_ca());
  Result<EcdsaPublicKey> key = leaf_.EcdsaKey();
  ASSERT_THAT(key, IsOk());
  EXPECT_EQ(key->curve(), EcdsaCurve::kP384);
  EXPECT_EQ(std::vector<uint8_t>(leaf_.der().begin(), leaf_.der().end()), leaf_der_);
}

TEST_F(X509ChainTest, ExpiredAfterNotAfter) {
  EXPECT_THAT(Verify(leaf_, k2026), HasError(ErrorCode::kX509Expired));
}

TEST_F(X509ChainTest, NotYetValidBeforeNotBefore) {
  EXPECT_THAT(Verify(leaf_, k2023), HasError(ErrorCode::kX509NotYetValid));
}

TEST_F(X509ChainTest, UntrustedWithOtherRoot) {
  TestKey other_key = TestKey::GenerateP384();
  Certificate other_root = MustParse(testing::IssueCertificate(
      CertSpec{"Test Root", k2020, k2040, /*is_ca=*/true, 1}, other_key, other_key, {}));
  ChainOptions options;
  options.verification_time_unix = k2024Mid;
  std::vector<Certificate> intermediates = {intermediate_};
  std::vector<Certificate> roots = {other_root};
  EXPECT_THAT(VerifyChain(leaf_, intermediates, roots, options),
              HasError(ErrorCode::kX509Untrusted));
}

TEST_F(X509ChainTest, UntrustedWithoutIntermediate) {
  ChainOptions options;
  options.verification_time_unix = k2024Mid;
  std::vector<Certificate> roots = {root_};
  EXPECT_THAT(VerifyChain(leaf_, {}, roots, options), HasError(ErrorCode::kX509Untrusted));
}

TEST_F(X509ChainTest, EmptyRoots) {
  ChainOptions options;
  options.verification_time_unix = k2024Mid;
  EXPECT_THAT(VerifyChain(leaf_, {}, {}, options), HasError(ErrorCode::kX509EmptyChain));
}

TEST_F(X509ChainTest, TamperedSignature) {
  std::vector<uint8_t> der = leaf_der_;
  der[der.size() - 3] ^= 0x01;  // Inside the last INTEGER of the ECDSA signature.
  Result<Certificate> tampered = Certificate::FromDer(der);
  ASSERT_THAT(tampered, IsOk());
  EXPECT_THAT(Verify(*tampered, k2024Mid), HasError(ErrorCode::kX509BadSignature));
}

TEST_F(X509ChainTest, IntermediateNotCa) {
  std::vector<uint8_t> not_ca_der = testing::IssueCertificate(
      CertSpec{"Test Intermediate", k2020, k2040, /*is_ca=*/false, kIntermediateSerial},
      intermediate_key_, root_key_, root_der_);
  Certificate leaf = MustParse(
      testing::IssueCertificate(CertSpec{"Test Leaf", k2024, k2025, /*is_ca=*/false, kLeafSerial},
                                leaf_key_, intermediate_key_, not_ca_der));
  ChainOptions options;
  options.verification_time_unix = k2024Mid;
  std::vector<Certificate> intermediates = {MustParse(not_ca_der)};
  std::vector<Certificate> roots = {root_};
  EXPECT_THAT(VerifyChain(leaf, intermediates, roots, options),
              HasError(ErrorCode::kX509BadConstraints));
}

TEST_F(X509ChainTest, UnknownCriticalExtension) {
  CertSpec spec{"Test Leaf", k2024, k2025, /*is_ca=*/false, kLeafSerial};
  spec.unknown_critical_extension = true;
  Certificate leaf =
      MustParse(testing::IssueCertificate(spec, leaf_key_, intermediate_key_, intermediate_der_));
  EXPECT_THAT(Verify(leaf, k2024Mid), HasError(ErrorCode::kX509ChainInvalid));
}

TEST_F(X509ChainTest, CrlNotRevoked) {
  Crl root_crl = MakeCrl(root_key_, root_der_, {});
  Crl intermediate_crl = MakeCrl(intermediate_key_, intermediate_der_, {0x9999});
  EXPECT_THAT(Verify(leaf_, k2024Mid, {&root_crl, &intermediate_crl}), IsOk());
  EXPECT_THAT(intermediate_crl.issuer(), ::testing::HasSubstr("CN=Test Intermediate"));
}

TEST_F(X509ChainTest, RevokedLeaf) {
  Crl root_crl = MakeCrl(root_key_, root_der_, {});
  Crl intermediate_crl = MakeCrl(intermediate_key_, intermediate_der_, {kLeafSerial});
  EXPECT_THAT(Verify(leaf_, k2024Mid, {&root_crl, &intermediate_crl}),
              HasError(ErrorCode::kX509Revoked));
  EXPECT_THAT(Verify(leaf_, k2024Mid, {&intermediate_crl}, CrlScope::kLeafOnly),
              HasError(ErrorCode::kX509Revoked));
}

TEST_F(X509ChainTest, RevokedIntermediate) {
  Crl root_crl = MakeCrl(root_key_, root_der_, {kIntermediateSerial});
  Crl intermediate_crl = MakeCrl(intermediate_key_, intermediate_der_, {});
  EXPECT_THAT(Verify(leaf_, k2024Mid, {&root_crl, &intermediate_crl}),
              HasError(ErrorCode::kX509Revoked));
  // Leaf-only checking does not look at the intermediate.
  EXPECT_THAT(Verify(leaf_, k2024Mid, {&intermediate_crl}, CrlScope::kLeafOnly), IsOk());
}

TEST_F(X509ChainTest, MissingCrlIsChainInvalid) {
  // Whole-chain checking needs a CRL from the root too.
  Crl intermediate_crl = MakeCrl(intermediate_key_, intermediate_der_, {});
  EXPECT_THAT(Verify(leaf_, k2024Mid, {&intermediate_crl}), HasError(ErrorCode::kX509ChainInvalid));
}

TEST_F(X509ChainTest, ExpiredCrl) {
  Crl stale = MakeCrl(intermediate_key_, intermediate_der_, {}, k2020, k2023);
  EXPECT_THAT(Verify(leaf_, k2024Mid, {&stale}, CrlScope::kLeafOnly),
              HasError(ErrorCode::kX509Expired));
}

TEST_F(X509ChainTest, CrlSignedByWrongKey) {
  Crl forged = MakeCrl(leaf_key_, intermediate_der_, {});
  EXPECT_THAT(Verify(leaf_, k2024Mid, {&forged}, CrlScope::kLeafOnly),
              HasError(ErrorCode::kX509BadSignature));
}

TEST(X509ParseTest, RejectsGarbageAndTrailingBytes) {
  EXPECT_THAT(Certificate::FromDer(std::vector<uint8_t>{0x30, 0x03, 0x02, 0x01, 0x01}),
              HasError(ErrorCode::kX509ParseFailed));
  std::vector<uint8_t> der =
      ReadFileBytes(SharedVectorPath("nitro/aws-nitro-enclaves-root-g1.der"));
  der.push_back(0);
  EXPECT_THAT(Certificate::FromDer(der), HasError(ErrorCode::kX509ParseFailed));
  EXPECT_THAT(Certificate::FromDer(std::vector<uint8_t>(kMaxCertificateSize + 1)),
              HasError(ErrorCode::kLimitExceeded));
  EXPECT_THAT(Certificate::FromPem("not a pem"), HasError(ErrorCode::kX509ParseFailed));
  EXPECT_THAT(Crl::FromDer(std::vector<uint8_t>{0x30, 0x00}),
              HasError(ErrorCode::kX509ParseFailed));
}

TEST(X509ParseTest, PemTrailingGarbageRejected) {
  std::string pem = ReadFileText(SharedVectorPath("nitro/aws-nitro-enclaves-root-g1.pem"));
  EXPECT_THAT(Certificate::FromPem(pem + "\n\n"), IsOk());
  EXPECT_THAT(Certificate::FromPem(pem + "junk"), HasError(ErrorCode::kX509ParseFailed));
  // Exactly one certificate for FromPem; a bundle takes several.
  EXPECT_THAT(Certificate::FromPem(pem + "\n" + pem), HasError(ErrorCode::kLimitExceeded));
  Result<std::vector<Certificate>> bundle = Certificate::ParsePemBundle(pem + "\n" + pem);
  ASSERT_THAT(bundle, IsOk());
  EXPECT_EQ(bundle->size(), 2u);
}

// The real AWS Nitro Enclaves root (G1), as pinned by every Nitro verifier.
TEST(X509NitroRootTest, ParsesWithStableFingerprint) {
  Result<Certificate> pem =
      Certificate::FromPem(ReadFileText(SharedVectorPath("nitro/aws-nitro-enclaves-root-g1.pem")));
  ASSERT_THAT(pem, IsOk());
  Result<Certificate> der =
      Certificate::FromDer(ReadFileBytes(SharedVectorPath("nitro/aws-nitro-enclaves-root-g1.der")));
  ASSERT_THAT(der, IsOk());
  const std::string kFingerprint =
      "641a0321a3e244efe456463195d606317ed7cdcc3c1756e09893f3c68f79bb5b";
  EXPECT_EQ(HexEncode(pem->Sha256Fingerprint()), kFingerprint);
  EXPECT_EQ(HexEncode(der->Sha256Fingerprint()), kFingerprint);
  EXPECT_EQ(pem->subject(), "CN=aws.nitro-enclaves,OU=AWS,O=Amazon,C=US");
  EXPECT_EQ(pem->issuer(), pem->subject());
  EXPECT_TRUE(pem->is_ca());
  EXPECT_EQ(pem->not_before_unix(), 1572269285);  // 2019-10-28T13:28:05Z
  EXPECT_EQ(pem->not_after_unix(), 2519044085);   // 2049-10-28T14:28:05Z
  Result<EcdsaPublicKey> key = pem->EcdsaKey();
  ASSERT_THAT(key, IsOk());
  EXPECT_EQ(key->curve(), EcdsaCurve::kP384);
  // The root alone verifies as a trust anchor at a time inside its validity, not outside.
  std::vector<Certificate> roots = {*der};
  ChainOptions options;
  options.verification_time_unix = 1631182760;  // 2021-09-09, a real attestation's time.
  EXPECT_THAT(VerifyChain(*pem, {}, roots, options), IsOk());
  options.verification_time_unix = 2600000000;  // 2052
  EXPECT_THAT(VerifyChain(*pem, {}, roots, options), HasError(ErrorCode::kX509Expired));
}

// A real AMD SEV-SNP VCEK (P-384) under ASK "SEV-Milan" and ARK "ARK-Milan" (RSA-4096,
// RSASSA-PSS SHA-384, salt 48): RSA-PSS chains verify, and the private AMD extensions read back.
TEST(X509AmdVcekTest, PssChainVerifiesAndExtensionsRead) {
  Result<Certificate> vcek =
      Certificate::FromDer(ReadFileBytes(SharedVectorPath("sevsnp/go-sev-guest/vcek.testcer.der")));
  ASSERT_THAT(vcek, IsOk());
  Result<std::vector<Certificate>> chain = Certificate::ParsePemBundle(
      ReadFileText(SharedVectorPath("sevsnp/go-sev-guest/ask_ark_milan.pem")));
  ASSERT_THAT(chain, IsOk());
  ASSERT_EQ(chain->size(), 2u);
  EXPECT_EQ(vcek->SubjectCommonName(), "SEV-VCEK");
  EXPECT_EQ((*chain)[0].SubjectCommonName(), "SEV-Milan");
  EXPECT_EQ((*chain)[1].SubjectCommonName(), "ARK-Milan");

  ChainOptions options;
  options.verification_time_unix = 1700000000;   // 2023-11-14, inside every validity period.
  options.allow_missing_key_identifiers = true;  // AMD's VCEK has no authorityKeyIdentifier.
  std::vector<Certificate> roots = {(*chain)[1]};
  Result<VerifiedChain> verified =
      VerifyChain(*vcek, std::span<const Certificate>(*chain).first(1), roots, options);
  ASSERT_THAT(verified, IsOk());
  EXPECT_EQ(verified->path().size(), 3u);
  // A flipped bit in the VCEK's RSA-PSS signature breaks the chain.
  std::vector<uint8_t> tampered(vcek->der().begin(), vcek->der().end());
  tampered[tampered.size() - 10] ^= 0x01;
  Result<Certificate> bad = Certificate::FromDer(tampered);
  ASSERT_THAT(bad, IsOk());
  EXPECT_THAT(VerifyChain(*bad, std::span<const Certificate>(*chain).first(1), roots, options),
              HasError(ErrorCode::kX509BadSignature));

  // hwID (1.3.6.1.4.1.3704.1.4): the raw 64-byte chip id; blSPL: DER INTEGER 2;
  // productName: IA5String "Milan-B0".
  Result<std::optional<std::vector<uint8_t>>> hwid = vcek->ExtensionValue("1.3.6.1.4.1.3704.1.4");
  ASSERT_THAT(hwid, IsOk());
  ASSERT_TRUE(hwid->has_value());
  EXPECT_EQ(HexEncode(**hwid),
            "3ac3fe21e13fb0990eb28a802e3fb6a29483a6b0753590c951bdd3b8e53786184ca39e359669a2b7"
            "6a1936776b564ea464cdce40c05f63c9b610c5068b006b5d");
  Result<std::optional<std::vector<uint8_t>>> bl_spl =
      vcek->ExtensionValue("1.3.6.1.4.1.3704.1.3.1");
  ASSERT_THAT(bl_spl, IsOk());
  EXPECT_EQ(bl_spl->value(), (std::vector<uint8_t>{0x02, 0x01, 0x02}));
  Result<std::optional<std::vector<uint8_t>>> product =
      vcek->ExtensionValue("1.3.6.1.4.1.3704.1.2");
  ASSERT_THAT(product, IsOk());
  EXPECT_EQ(HexEncode(product->value()), "16084d696c616e2d4230");
  // Absent extension; an OID that is not dotted decimal.
  Result<std::optional<std::vector<uint8_t>>> absent = vcek->ExtensionValue("1.3.6.1.4.1.3704.1.5");
  ASSERT_THAT(absent, IsOk());
  EXPECT_FALSE(absent->has_value());
  EXPECT_THAT(vcek->ExtensionValue("commonName"), HasError(ErrorCode::kInvalidArgument));
  EXPECT_THAT(vcek->ExtensionValue(""), HasError(ErrorCode::kInvalidArgument));
}

}  // namespace
}  // namespace eml::crypto
