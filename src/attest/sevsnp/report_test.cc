#include "attest/sevsnp/report.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/encoding.h"
#include "testing/test_util.h"

namespace eml::attest::sevsnp {
namespace {

using ::eml::testing::HasError;
using ::eml::testing::IsOk;
using ::eml::testing::ReadFileBytes;
using ::eml::testing::ReadJson;
using ::eml::testing::SharedVectorPath;

std::vector<uint8_t> RealReport() {
  return ReadFileBytes(SharedVectorPath("sevsnp/go-sev-guest/attestation.bin"));
}

// The real Milan report decodes to the values in vectors/sevsnp/expected.json.
TEST(SnpReportTest, ParsesRealMilanReport) {
  const auto expected = ReadJson(SharedVectorPath("sevsnp/expected.json"))["attestation.bin"];
  const std::vector<uint8_t> bytes = RealReport();
  ASSERT_EQ(bytes.size(), expected["size"].get<size_t>());
  Result<AttestationReport> r = ParseReport(bytes);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->version, expected["version"].get<uint32_t>());
  EXPECT_EQ(r->guest_svn, expected["guest_svn"].get<uint32_t>());
  EXPECT_EQ(r->policy, std::stoull(expected["policy"].get<std::string>(), nullptr, 16));
  EXPECT_EQ(r->vmpl, expected["vmpl"].get<uint32_t>());
  EXPECT_EQ(r->signature_algo, expected["signature_algo"].get<uint32_t>());
  EXPECT_EQ(TcbHex(r->current_tcb), expected["current_tcb"].get<std::string>());
  EXPECT_EQ(TcbHex(r->reported_tcb), expected["reported_tcb"].get<std::string>());
  EXPECT_EQ(TcbHex(r->platform_info), expected["platform_info"].get<std::string>());
  EXPECT_EQ(HexEncode(r->report_data), expected["report_data"].get<std::string>());
  EXPECT_EQ(HexEncode(r->measurement), expected["measurement"].get<std::string>());
  EXPECT_EQ(HexEncode(r->host_data), expected["host_data"].get<std::string>());
  EXPECT_EQ(HexEncode(r->id_key_digest), expected["id_key_digest"].get<std::string>());
  EXPECT_EQ(HexEncode(r->report_id), expected["report_id"].get<std::string>());
  EXPECT_EQ(HexEncode(r->chip_id), expected["chip_id"].get<std::string>());
  const auto& tcb = expected["reported_tcb_decoded(Milan)"];
  const TcbVersion decoded = DecodeTcb(r->reported_tcb, Product::kMilan);
  EXPECT_EQ(decoded.bootloader, tcb["bootloader"].get<int>());
  EXPECT_EQ(decoded.tee, tcb["tee"].get<int>());
  EXPECT_EQ(decoded.snp, tcb["snp"].get<int>());
  EXPECT_EQ(decoded.microcode, tcb["microcode"].get<int>());
  EXPECT_EQ(decoded.fmc, 0);
  EXPECT_EQ(r->signing_key, kSigningKeyVcek);
  EXPECT_FALSE(r->mask_chip_key);
  EXPECT_EQ(r->cpuid_fam_id, 0);  // version 2: reserved
  // The policy bits the verifier acts on: SMT and DEBUG set, no migration agent.
  EXPECT_NE(r->policy & kPolicySmt, 0u);
  EXPECT_NE(r->policy & kPolicyDebug, 0u);
  EXPECT_EQ(r->policy & kPolicyMigrateMa, 0u);
}

TEST(SnpReportTest, SerializeReproducesRealReport) {
  const std::vector<uint8_t> bytes = RealReport();
  Result<AttestationReport> r = ParseReport(bytes);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(SerializeReport(*r), bytes);
}

TEST(SnpReportTest, WrongSizeIsMalformed) {
  std::vector<uint8_t> bytes = RealReport();
  bytes.push_back(0);
  EXPECT_THAT(ParseReport(bytes), HasError(ErrorCode::kSnpReportMalformed));
  bytes.resize(kReportSize - 1);
  EXPECT_THAT(ParseReport(bytes), HasError(ErrorCode::kSnpReportMalformed));
  EXPECT_THAT(ParseReport({}), HasError(ErrorCode::kSnpReportMalformed));
}

TEST(SnpReportTest, UnsupportedVersions) {
  std::vector<uint8_t> bytes = RealReport();
  for (int version : {0, 1, 4, 5, 0xFF}) {
    bytes[0] = static_cast<uint8_t>(version);
    EXPECT_THAT(ParseReport(bytes), HasError(ErrorCode::kSnpUnsupportedVersion)) << version;
  }
}

// Every reserved region of a version-2 report is checked.
TEST(SnpReportTest, ReservedFieldsMustBeZero) {
  const std::vector<uint8_t> good = RealReport();
  const size_t offsets[] = {0x48,  0x4B,  0x4C,  0x4F,  0x188, 0x19F,
                            0x1EB, 0x1EF, 0x1F8, 0x29F, 0x330, 0x49F};
  for (size_t offset : offsets) {
    std::vector<uint8_t> bytes = good;
    // Bits 4:0 of 0x48 are defined; set bit 5 there, any bit elsewhere.
    bytes[offset] ^= offset == 0x48 ? 0x20 : 0x01;
    EXPECT_THAT(ParseReport(bytes), HasError(ErrorCode::kSnpReservedNonZero)) << offset;
  }
}

TEST(SnpReportTest, PolicyReservedBits) {
  std::vector<uint8_t> bytes = RealReport();
  bytes[0x08 + 2] &= static_cast<uint8_t>(~0x02);  // bit 17 must be one
  EXPECT_THAT(ParseReport(bytes), HasError(ErrorCode::kSnpReservedNonZero));
  bytes = RealReport();
  bytes[0x08 + 3] |= 0x04;  // bit 26 is reserved
  EXPECT_THAT(ParseReport(bytes), HasError(ErrorCode::kSnpReservedNonZero));
  bytes = RealReport();
  bytes[0x08 + 7] |= 0x80;  // bit 63
  EXPECT_THAT(ParseReport(bytes), HasError(ErrorCode::kSnpReservedNonZero));
}

// Version 3 defines CPUID family / model / stepping at 0x188..0x18A; the rest stays reserved.
TEST(SnpReportTest, Version3CpuidFields) {
  Result<AttestationReport> base = ParseReport(RealReport());
  ASSERT_THAT(base, IsOk());
  AttestationReport v3 = *base;
  v3.version = 3;
  v3.cpuid_fam_id = 0x19;
  v3.cpuid_mod_id = 0x11;
  v3.cpuid_step = 0x01;
  std::vector<uint8_t> bytes = SerializeReport(v3);
  EXPECT_EQ(bytes[0x188], 0x19);
  EXPECT_EQ(bytes[0x189], 0x11);
  EXPECT_EQ(bytes[0x18A], 0x01);
  Result<AttestationReport> parsed = ParseReport(bytes);
  ASSERT_THAT(parsed, IsOk());
  EXPECT_EQ(parsed->version, 3u);
  EXPECT_EQ(parsed->cpuid_fam_id, 0x19);
  EXPECT_EQ(parsed->cpuid_mod_id, 0x11);
  EXPECT_EQ(parsed->cpuid_step, 0x01);
  EXPECT_EQ(parsed->measurement, base->measurement);
  EXPECT_EQ(SerializeReport(*parsed), bytes);
  bytes[0x18B] = 1;
  EXPECT_THAT(ParseReport(bytes), HasError(ErrorCode::kSnpReservedNonZero));
  // The same CPUID bytes in a version-2 report are reserved.
  v3.version = 2;
  EXPECT_THAT(ParseReport(SerializeReport(v3)), HasError(ErrorCode::kSnpReservedNonZero));
}

TEST(SnpReportTest, AllFieldsRoundTrip) {
  AttestationReport r;
  r.version = 3;
  r.guest_svn = 0x01020304;
  r.policy = kPolicyReservedOne | kPolicyMigrateMa | 0x1F00;
  r.family_id.fill(0x11);
  r.image_id.fill(0x12);
  r.vmpl = 2;
  r.signature_algo = 1;
  r.current_tcb = 0x1122334455667788;
  r.platform_info = 0x25;
  r.author_key_en = true;
  r.mask_chip_key = true;
  r.signing_key = kSigningKeyVlek;
  r.report_data.fill(0x13);
  r.measurement.fill(0x14);
  r.host_data.fill(0x15);
  r.id_key_digest.fill(0x16);
  r.author_key_digest.fill(0x17);
  r.report_id.fill(0x18);
  r.report_id_ma.fill(0x19);
  r.reported_tcb = 0x0102030405060708;
  r.cpuid_fam_id = 0x1A;
  r.cpuid_mod_id = 0x02;
  r.cpuid_step = 0x03;
  r.chip_id.fill(0x1B);
  r.committed_tcb = 0x0807060504030201;
  r.current_build = 1;
  r.current_minor = 2;
  r.current_major = 3;
  r.committed_build = 4;
  r.committed_minor = 5;
  r.committed_major = 6;
  r.launch_tcb = 0xAABBCCDDEEFF0011;
  r.signature_r.fill(0x1C);
  r.signature_s.fill(0x1D);
  const std::vector<uint8_t> bytes = SerializeReport(r);
  ASSERT_EQ(bytes.size(), kReportSize);
  EXPECT_EQ(bytes[0x48], 0x07);  // author_key_en | mask_chip_key | (VLEK << 2)
  EXPECT_EQ(bytes[0x30], 2);
  EXPECT_EQ(bytes[0x1E8], 1);
  EXPECT_EQ(bytes[0x1EE], 6);
  EXPECT_EQ(bytes[0x2A0], 0x1C);
  EXPECT_EQ(bytes[0x2E8], 0x1D);
  Result<AttestationReport> parsed = ParseReport(bytes);
  ASSERT_THAT(parsed, IsOk());
  EXPECT_EQ(SerializeReport(*parsed), bytes);
  EXPECT_EQ(parsed->launch_tcb, r.launch_tcb);
  EXPECT_EQ(parsed->committed_major, 6);
  EXPECT_TRUE(parsed->author_key_en);
  EXPECT_TRUE(parsed->mask_chip_key);
  EXPECT_EQ(parsed->signing_key, kSigningKeyVlek);
  EXPECT_EQ(parsed->author_key_digest, r.author_key_digest);
  EXPECT_EQ(parsed->report_id_ma, r.report_id_ma);
}

TEST(SnpReportTest, TcbLayoutsPerProduct) {
  const TcbVersion milan = DecodeTcb(0x4405000000000002, Product::kMilan);
  EXPECT_EQ(milan, (TcbVersion{0, 2, 0, 5, 0x44}));
  EXPECT_EQ(EncodeTcb(milan, Product::kGenoa), 0x4405000000000002u);
  // Turin: FMC, boot loader, TEE, SNP in bytes 0..3.
  const TcbVersion turin = DecodeTcb(0x4800000004030201, Product::kTurin);
  EXPECT_EQ(turin, (TcbVersion{1, 2, 3, 4, 0x48}));
  EXPECT_EQ(EncodeTcb(turin, Product::kTurin), 0x4800000004030201u);
  EXPECT_EQ(TcbHex(0x4405000000000002), "0200000000000544");
}

TEST(SnpReportTest, SignatureConversion) {
  Result<AttestationReport> r = ParseReport(RealReport());
  ASSERT_THAT(r, IsOk());
  Result<std::vector<uint8_t>> sig = SignatureP384(*r);
  ASSERT_THAT(sig, IsOk());
  ASSERT_EQ(sig->size(), 96u);
  EXPECT_EQ((*sig)[0], r->signature_r[47]);
  EXPECT_EQ((*sig)[47], r->signature_r[0]);
  EXPECT_EQ((*sig)[48], r->signature_s[47]);
  r->signature_s[48] = 1;  // above 384 bits
  EXPECT_THAT(SignatureP384(*r), HasError(ErrorCode::kSnpSignatureInvalid));
}

}  // namespace
}  // namespace eml::attest::sevsnp
