#pragma once
// Posture: ParseQuote reads untrusted bytes (Intel TDX DCAP quotes from a guest's configfs-tsm
// or from a peer). Limits: QuoteLimits (defaults below). Fuzz target:
// tests/fuzz/attest_tdx_quote_fuzz.cc (attest_tdx_quote).
//
// eml::attest::tdx: the layout of Intel TDX quotes, versions 4 and 5 (Intel TDX DCAP Quote
// Generation Library and Quote Verification Library API, "TD Quote Format"). All integers are
// little-endian.
//
//   v4: header (48) | TD report body 1.0 (584)            | u32 sig_len | signature data
//   v5: header (48) | u16 body_type | u32 body_size | body | u32 sig_len | signature data
//       body_type 2 = TDX 1.0 (584 bytes), 3 = TDX 1.5 (648 bytes: + tee_tcb_svn2, mrservicetd)
//   signature data: ECDSA-P256 r||s (64) | attestation key x||y (64) | certification data
//   certification data: u16 type | u32 size | data; type 6 = QE report certification data:
//       QE report (384, an SGX report body) | QE report signature (64) | u16 auth_size |
//       QE auth data | nested certification data (u16 type 5 = PCK chain PEM | u32 size | PEM)
//
// The quote signature covers everything before sig_len ("signed_region"). Every length used is
// the one inside the quote; bytes after the signature data are allowed (TDX quote buffers are
// often zero-padded) and counted in `trailing_bytes`. Nothing here checks a signature.
//
// Thread safety: pure functions; ParsedQuote is a plain value of views.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "common/check.h"
#include "common/result.h"

namespace eml::attest::tdx {

inline constexpr uint16_t kQuoteVersion4 = 4;
inline constexpr uint16_t kQuoteVersion5 = 5;
inline constexpr uint16_t kAttestationKeyTypeEcdsaP256 = 2;
inline constexpr uint32_t kTeeTypeTdx = 0x81;
inline constexpr uint16_t kBodyTypeTdx10 = 2;
inline constexpr uint16_t kBodyTypeTdx15 = 3;
inline constexpr uint16_t kCertDataTypePckChain = 5;
inline constexpr uint16_t kCertDataTypeQeReport = 6;

inline constexpr size_t kHeaderBytes = 48;
inline constexpr size_t kTdReportBody10Bytes = 584;
inline constexpr size_t kTdReportBody15Bytes = 648;
inline constexpr size_t kSgxReportBytes = 384;
inline constexpr size_t kEcdsaP256SignatureBytes = 64;
inline constexpr size_t kEcdsaP256RawKeyBytes = 64;
inline constexpr size_t kMeasurementBytes = 48;
inline constexpr size_t kReportDataBytes = 64;
inline constexpr size_t kTeeTcbSvnBytes = 16;

// Defaults sized to the format: real quotes are about 5 KB (most of it the PCK chain PEM).
inline constexpr size_t kDefaultMaxQuoteBytes = 64 * 1024;
inline constexpr size_t kDefaultMaxSignatureDataBytes = 32 * 1024;
inline constexpr size_t kDefaultMaxQeAuthDataBytes = 4096;
inline constexpr size_t kDefaultMaxPckChainBytes = 24 * 1024;

struct QuoteLimits {
  size_t max_quote_bytes = kDefaultMaxQuoteBytes;  // whole input, trailing bytes included
  size_t max_signature_data_bytes = kDefaultMaxSignatureDataBytes;
  size_t max_qe_auth_data_bytes = kDefaultMaxQeAuthDataBytes;
  size_t max_pck_chain_bytes = kDefaultMaxPckChainBytes;
};

struct QuoteHeader {
  uint16_t version = 0;
  uint16_t attestation_key_type = 0;
  uint32_t tee_type = 0;
  std::span<const uint8_t> qe_vendor_id;  // 16
  std::span<const uint8_t> user_data;     // 20
};

// The TD report body. Views of kMeasurementBytes unless noted.
struct TdReportBody {
  uint16_t body_type = kBodyTypeTdx10;   // v4 quotes carry a TDX 1.0 body
  std::span<const uint8_t> tee_tcb_svn;  // 16
  std::span<const uint8_t> mrseam;
  std::span<const uint8_t> mrsignerseam;
  std::span<const uint8_t> seam_attributes;  // 8
  std::span<const uint8_t> td_attributes;    // 8; bit 0 = DEBUG
  std::span<const uint8_t> xfam;             // 8
  std::span<const uint8_t> mrtd;
  std::span<const uint8_t> mrconfigid;
  std::span<const uint8_t> mrowner;
  std::span<const uint8_t> mrownerconfig;
  std::array<std::span<const uint8_t>, 4> rtmr;
  std::span<const uint8_t> report_data;   // 64
  std::span<const uint8_t> tee_tcb_svn2;  // 16; TDX 1.5 only (empty otherwise)
  std::span<const uint8_t> mrservicetd;   // TDX 1.5 only (empty otherwise)
};

// The QE's SGX report body (384 bytes).
struct QeReport {
  std::span<const uint8_t> cpu_svn;  // 16
  uint32_t miscselect = 0;
  std::span<const uint8_t> attributes;  // 16
  std::span<const uint8_t> mrenclave;   // 32
  std::span<const uint8_t> mrsigner;    // 32
  uint16_t isv_prod_id = 0;
  uint16_t isv_svn = 0;
  std::span<const uint8_t> report_data;  // 64
};

// ParsedQuote: views into the bytes given to ParseQuote (valid as long as they are).
struct ParsedQuote {
  QuoteHeader header;
  TdReportBody body;
  std::span<const uint8_t> signed_region;    // header .. end of body (what the quote signs)
  std::span<const uint8_t> signature;        // r||s, 64
  std::span<const uint8_t> attestation_key;  // x||y, 64
  std::span<const uint8_t> qe_report_bytes;  // 384, what the QE report signature covers
  QeReport qe_report;
  std::span<const uint8_t> qe_report_signature;  // r||s, 64
  std::span<const uint8_t> qe_auth_data;
  std::span<const uint8_t> pck_chain_pem;  // leaf first; may end in NUL bytes
  size_t trailing_bytes = 0;               // after the signature data
};

// ParseQuote parses a v4 or v5 TDX quote. Errors:
//   kLimitExceeded          input, signature data, QE auth data or PCK chain over `limits`;
//   kTdxQuoteMalformed      truncated, or a length disagrees with its content (including bytes
//                           left inside the signature data or the certification data);
//   kTdxUnsupportedQuote    version not 4/5, v5 body type not 2/3 or body size not its type's,
//                           attestation key type not ECDSA-P256, TEE type not TDX (0x81);
//   kTdxBadCertificationData  certification data type not 6, or nested type not 5, or empty.
Result<ParsedQuote> ParseQuote(std::span<const uint8_t> quote EML_LIFETIME_BOUND,
                               const QuoteLimits& limits = {});

// IsDebugTd: TD_ATTRIBUTES bit 0 (DEBUG) is set.
bool IsDebugTd(const TdReportBody& body);

}  // namespace eml::attest::tdx
