#pragma once
// Posture: ReadEndorsementExtensions reads AMD's private X.509 extensions of a VCEK / VLEK
// certificate (untrusted until the chain verifies): each value is a short DER item read through
// ByteReader (INTEGER of at most 2 bytes, IA5String under 128 bytes, a 64- or 8-byte hwID).
// Fuzzed through the certificates in attest_sevsnp_report's verifier run.
//
// eml::attest::sevsnp: what a VCEK (Versioned Chip Endorsement Key) or VLEK (Versioned Loaded
// Endorsement Key) certificate says about the chip and TCB it was issued for (AMD "Versioned
// Chip Endorsement Key (VCEK) Certificate and KDS Interface Specification", 57230):
//   1.3.6.1.4.1.3704.1.2    productName  IA5String, e.g. "Milan-B0" (product before the '-';
//                                        "Siena" parts chain to the Genoa ASK / ARK)
//   1.3.6.1.4.1.3704.1.3.1  blSPL        INTEGER   boot loader security patch level
//   1.3.6.1.4.1.3704.1.3.2  teeSPL       INTEGER
//   1.3.6.1.4.1.3704.1.3.3  snpSPL       INTEGER
//   1.3.6.1.4.1.3704.1.3.8  ucodeSPL     INTEGER
//   1.3.6.1.4.1.3704.1.3.9  fmcSPL       INTEGER   (Turin and later only)
//   1.3.6.1.4.1.3704.1.4    hwID         raw chip id: 64 bytes; Turin may carry only the
//                                        first 8 (the KDS hwid of Turin); absent in a VLEK
//
// Thread safety: pure function.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "attest/sevsnp/report.h"
#include "common/result.h"
#include "crypto/x509.h"

namespace eml::attest::sevsnp {

inline constexpr char kOidProductName[] = "1.3.6.1.4.1.3704.1.2";
inline constexpr char kOidBlSpl[] = "1.3.6.1.4.1.3704.1.3.1";
inline constexpr char kOidTeeSpl[] = "1.3.6.1.4.1.3704.1.3.2";
inline constexpr char kOidSnpSpl[] = "1.3.6.1.4.1.3704.1.3.3";
inline constexpr char kOidUcodeSpl[] = "1.3.6.1.4.1.3704.1.3.8";
inline constexpr char kOidFmcSpl[] = "1.3.6.1.4.1.3704.1.3.9";
inline constexpr char kOidHwId[] = "1.3.6.1.4.1.3704.1.4";

struct EndorsementInfo {
  Product product = Product::kMilan;
  std::string product_name;                  // the whole productName, e.g. "Milan-B0"
  TcbVersion tcb;                            // the TCB the certificate was issued for
  std::optional<std::vector<uint8_t>> hwid;  // VCEK only
};

// ReadEndorsementExtensions reads the extensions above. Errors: kSnpBadEndorsementCert (an
// extension is missing, duplicated or malformed, an SPL is over 255, the product is not
// Milan / Genoa / Siena / Turin, the hwID has another size, fmcSPL is missing on Turin).
Result<EndorsementInfo> ReadEndorsementExtensions(const crypto::Certificate& cert);

}  // namespace eml::attest::sevsnp
