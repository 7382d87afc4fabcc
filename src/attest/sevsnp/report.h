#pragma once
// Posture: ParseReport and SplitEvidence read untrusted bytes (SEV-SNP evidence from a guest or
// a relay); a report is exactly kReportSize bytes, read field by field through ByteReader;
// reserved fields are checked as AMD requires. Fuzz target: tests/fuzz/attest_sevsnp_report_fuzz.cc
// (attest_sevsnp_report).
//
// eml::attest::sevsnp: the AMD SEV-SNP ATTESTATION_REPORT structure (AMD "SEV Secure Nested
// Paging Firmware ABI Specification", 56860, MSG_REPORT_RSP / Table "ATTESTATION_REPORT
// Structure"), versions 2 and 3. All integers are little-endian. The signature covers bytes
// [0, kSignedSize); r and s are 72-byte little-endian fields at 0x2A0 and 0x2E8, of which
// ECDSA P-384 uses the low 48 bytes.
//
// Reserved rules enforced by ParseReport (kSnpReservedNonZero): bits 31:5 of the key-info word
// at 0x48, the word at 0x4C, 0x188..0x19F (v2) / 0x18B..0x19F (v3, after the CPUID bytes),
// 0x1EB, 0x1EF, 0x1F8..0x29F and the 368 bytes after s; guest policy bit 17 must be one and
// bits 63:26 zero. Fields AMD defines as values (platform_info, TCB bytes) are not restricted,
// so newer firmware stays readable.
//
// Thread safety: pure functions over values.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"

namespace eml::attest::sevsnp {

inline constexpr size_t kReportSize = 0x4A0;  // 1184
inline constexpr size_t kSignedSize = 0x2A0;  // bytes covered by the signature
inline constexpr size_t kSignatureComponentSize = 72;
inline constexpr uint32_t kMinReportVersion = 2;
inline constexpr uint32_t kMaxReportVersion = 3;
inline constexpr uint32_t kSignatureAlgoEcdsaP384Sha384 = 1;

// Guest policy bits (ABI spec, "Guest Policy Structure").
inline constexpr uint64_t kPolicySmt = uint64_t{1} << 16;
inline constexpr uint64_t kPolicyReservedOne = uint64_t{1} << 17;
inline constexpr uint64_t kPolicyMigrateMa = uint64_t{1} << 18;
inline constexpr uint64_t kPolicyDebug = uint64_t{1} << 19;
inline constexpr uint64_t kPolicyReservedZeroMask = ~((uint64_t{1} << 26) - 1);  // bits 63:26

// SIGNING_KEY values of the key-info word (bits 4:2 at 0x48).
inline constexpr uint8_t kSigningKeyVcek = 0;
inline constexpr uint8_t kSigningKeyVlek = 1;
inline constexpr uint8_t kSigningKeyNone = 7;

// The AMD products this verifier knows; TCB_VERSION layout differs from Turin on.
enum class Product { kMilan, kGenoa, kTurin };

// ProductName returns "Milan", "Genoa" or "Turin" (the names in AMD KDS URLs and cert CNs).
const char* ProductName(Product product);

// A decoded TCB_VERSION. Milan and Genoa: byte 0 boot loader, 1 TEE, 6 SNP, 7 microcode.
// Turin: byte 0 FMC, 1 boot loader, 2 TEE, 3 SNP, 7 microcode. fmc is 0 before Turin.
struct TcbVersion {
  uint8_t fmc = 0;
  uint8_t bootloader = 0;
  uint8_t tee = 0;
  uint8_t snp = 0;
  uint8_t microcode = 0;

  bool operator==(const TcbVersion&) const = default;
};

// DecodeTcb splits a raw TCB_VERSION (the little-endian u64 of the report) for `product`.
TcbVersion DecodeTcb(uint64_t raw, Product product);
// EncodeTcb is the inverse of DecodeTcb (other bytes zero).
uint64_t EncodeTcb(const TcbVersion& tcb, Product product);
// TcbHex renders the 8 TCB bytes in report order as 16 lowercase hex digits.
std::string TcbHex(uint64_t raw);

// Every field of the report; byte arrays are copies in report order.
struct AttestationReport {
  uint32_t version = 0;
  uint32_t guest_svn = 0;
  uint64_t policy = 0;
  std::array<uint8_t, 16> family_id{};
  std::array<uint8_t, 16> image_id{};
  uint32_t vmpl = 0;
  uint32_t signature_algo = 0;
  uint64_t current_tcb = 0;  // raw TCB_VERSION
  uint64_t platform_info = 0;
  bool author_key_en = false;  // key-info bit 0
  bool mask_chip_key = false;  // key-info bit 1: the signature is all zero
  uint8_t signing_key = 0;     // key-info bits 4:2 (kSigningKey*)
  std::array<uint8_t, 64> report_data{};
  std::array<uint8_t, 48> measurement{};
  std::array<uint8_t, 32> host_data{};
  std::array<uint8_t, 48> id_key_digest{};
  std::array<uint8_t, 48> author_key_digest{};
  std::array<uint8_t, 32> report_id{};
  std::array<uint8_t, 32> report_id_ma{};
  uint64_t reported_tcb = 0;  // raw TCB_VERSION
  // Version 3 and later; zero (reserved) in version 2.
  uint8_t cpuid_fam_id = 0;
  uint8_t cpuid_mod_id = 0;
  uint8_t cpuid_step = 0;
  std::array<uint8_t, 64> chip_id{};
  uint64_t committed_tcb = 0;  // raw TCB_VERSION
  uint8_t current_build = 0;
  uint8_t current_minor = 0;
  uint8_t current_major = 0;
  uint8_t committed_build = 0;
  uint8_t committed_minor = 0;
  uint8_t committed_major = 0;
  uint64_t launch_tcb = 0;  // raw TCB_VERSION
  // ECDSA r and s as stored: 72 bytes each, little-endian, zero-extended.
  std::array<uint8_t, kSignatureComponentSize> signature_r{};
  std::array<uint8_t, kSignatureComponentSize> signature_s{};
};

// ParseReport decodes exactly one report. Errors: kSnpReportMalformed (not kReportSize bytes),
// kSnpUnsupportedVersion (version outside 2..3), kSnpReservedNonZero (see above).
Result<AttestationReport> ParseReport(std::span<const uint8_t> bytes);

// SerializeReport encodes `report` into kReportSize bytes (reserved fields zero, policy as
// given). For every report ParseReport accepts, SerializeReport returns the input bytes.
std::vector<uint8_t> SerializeReport(const AttestationReport& report);

// SignatureP384 converts r and s to the big-endian r || s (96 bytes) that ECDSA P-384 takes.
// Errors: kSnpSignatureInvalid (a component has a non-zero byte above the low 48).
Result<std::vector<uint8_t>> SignatureP384(const AttestationReport& report);

}  // namespace eml::attest::sevsnp
