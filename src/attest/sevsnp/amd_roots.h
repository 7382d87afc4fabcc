#pragma once
// eml::attest::sevsnp: the AMD Root Keys (ARK) of the SEV-SNP products this build knows, embedded
// so that the default trust anchors do not depend on files next to the binary. Source: AMD KDS
// https://kdsintf.amd.com/vcek/v1/{Milan,Genoa,Turin}/cert_chain (the same certificates as
// /work/shared/vectors/sevsnp/go-sev-guest/ask_ark_*.pem). Each is a self-signed RSA-4096
// certificate with RSASSA-PSS SHA-384 signatures:
//   ARK-Milan  2020-10-22 - 2045-10-22
//   ARK-Genoa  2022-01-26 - 2047-01-26
//   ARK-Turin  2023-05-15 - 2048-05-15
// Thread safety: pure functions.

#include <array>
#include <cstdint>
#include <vector>

#include "attest/sevsnp/report.h"
#include "common/result.h"
#include "crypto/x509.h"

namespace eml::attest::sevsnp {

// SHA-256 of each ARK's DER encoding.
inline constexpr std::array<uint8_t, 32> kArkMilanSha256 = {
    0x69, 0xD0, 0x63, 0xB4, 0x53, 0x44, 0xD2, 0x6A, 0x2E, 0x94, 0xE1, 0xF4, 0x21, 0x0D, 0xE4, 0x9E,
    0xF5, 0x55, 0x30, 0x82, 0x87, 0xD4, 0xC1, 0x74, 0x44, 0x5C, 0x95, 0x63, 0x9A, 0x54, 0x0B, 0xCD};
inline constexpr std::array<uint8_t, 32> kArkGenoaSha256 = {
    0x4C, 0x65, 0x98, 0xD1, 0x9C, 0x18, 0x71, 0x9C, 0x5D, 0xFD, 0x4A, 0x7D, 0x33, 0x5F, 0x67, 0x4E,
    0x5B, 0xFE, 0x1D, 0x8F, 0x80, 0x0C, 0xEA, 0x2C, 0xF2, 0x70, 0xC1, 0x0D, 0x10, 0x3D, 0xB2, 0xF1};
inline constexpr std::array<uint8_t, 32> kArkTurinSha256 = {
    0x1F, 0x08, 0x41, 0x61, 0xA4, 0x4B, 0xB6, 0xD9, 0x37, 0x78, 0xA9, 0x04, 0x87, 0x7D, 0x48, 0x19,
    0xCA, 0xFA, 0x5D, 0x05, 0xEF, 0x41, 0x93, 0xB2, 0xDE, 0xD9, 0xDD, 0x9C, 0x73, 0xDD, 0x3F, 0x6A};

// AmdArk parses the embedded ARK of `product` and checks its fingerprint.
// Errors: kInternal (the embedded bytes are corrupt; a build defect).
Result<crypto::Certificate> AmdArk(Product product);

// BuiltInArks returns the Milan, Genoa and Turin ARKs, in that order. Errors: as AmdArk.
Result<std::vector<crypto::Certificate>> BuiltInArks();

}  // namespace eml::attest::sevsnp
