#pragma once
// Posture: SplitEvidence and ParseCertTable read untrusted bytes (SEV-SNP evidence from a guest
// or relay); the table is at most kMaxCertTableBytes with at most kMaxCertTableEntries entries,
// read through ByteReader with checked offsets. Fuzz target: attest_sevsnp_report.
//
// eml::attest::sevsnp evidence framing. SEV-SNP evidence, as SnpVerifier takes it, is
//
//   the 1184-byte ATTESTATION_REPORT, optionally followed by
//   the AMD certificate table (the GHCB specification's extended-guest-request certificate
//   buffer: what SNP_GET_EXT_REPORT returns in `certs` and configfs-tsm in `auxblob`).
//
// The table is a list of 24-byte entries {GUID (16 bytes, RFC 4122 byte order), offset (u32
// LE), length (u32 LE)} ended by an all-zero entry; offsets count from the table's first byte.
// Known GUIDs: VCEK 63da758d-e664-4564-adc5-f4b93be8accd, VLEK
// a8074bc2-a25a-483e-aae6-39c045a0b8a1, ASK 4ab7b379-bbac-4fe4-a02f-05aef327c782, ARK
// c0b406a4-a803-4952-9743-3fb6014cd0ae; others are kept with kind kOther. Each certificate is
// DER. ParseCertTable requires: at least one entry, entries inside the buffer after the
// terminator, non-empty, not overlapping, no GUID twice, every byte not in the header or an
// entry zero (the kernel pads the buffer to pages with zeros).
//
// Thread safety: pure functions; returned views alias the input.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "common/result.h"

namespace eml::attest::sevsnp {

inline constexpr size_t kMaxCertTableBytes = 64 * 1024;
inline constexpr size_t kMaxCertTableEntries = 16;
inline constexpr size_t kCertTableEntrySize = 24;

using Guid = std::array<uint8_t, 16>;

enum class CertKind { kVcek, kVlek, kAsk, kArk, kOther };

inline constexpr Guid kVcekGuid = {0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64, 0x45, 0x64,
                                   0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd};
inline constexpr Guid kVlekGuid = {0xa8, 0x07, 0x4b, 0xc2, 0xa2, 0x5a, 0x48, 0x3e,
                                   0xaa, 0xe6, 0x39, 0xc0, 0x45, 0xa0, 0xb8, 0xa1};
inline constexpr Guid kAskGuid = {0x4a, 0xb7, 0xb3, 0x79, 0xbb, 0xac, 0x4f, 0xe4,
                                  0xa0, 0x2f, 0x05, 0xae, 0xf3, 0x27, 0xc7, 0x82};
inline constexpr Guid kArkGuid = {0xc0, 0xb4, 0x06, 0xa4, 0xa8, 0x03, 0x49, 0x52,
                                  0x97, 0x43, 0x3f, 0xb6, 0x01, 0x4c, 0xd0, 0xae};

// CertKindOf maps a table GUID to its kind.
CertKind CertKindOf(const Guid& guid);

struct CertTableEntry {
  Guid guid{};
  CertKind kind = CertKind::kOther;
  std::span<const uint8_t> der;  // aliases the table bytes
};

struct SplitEvidenceResult {
  std::span<const uint8_t> report;      // kReportSize bytes
  std::span<const uint8_t> cert_table;  // empty when the evidence is a bare report
};

// SplitEvidence separates the report from the certificate table. Errors: kSnpReportMalformed
// (shorter than a report), kSnpCertTableMalformed (table over kMaxCertTableBytes).
Result<SplitEvidenceResult> SplitEvidence(std::span<const uint8_t> evidence);

// ParseCertTable decodes a certificate table (rules above). Views alias `table`.
// Errors: kSnpCertTableMalformed.
Result<std::vector<CertTableEntry>> ParseCertTable(std::span<const uint8_t> table);

// SerializeCertTable lays out `entries` (guid + certificate bytes) as a table with no padding:
// header, terminator, then the certificates in order. Used by tests and tools.
std::vector<uint8_t> SerializeCertTable(
    std::span<const std::pair<Guid, std::vector<uint8_t>>> entries);

}  // namespace eml::attest::sevsnp
