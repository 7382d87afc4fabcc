#pragma once
// eml::attest::tdx: the Intel SGX Root CA certificate, the anchor of every PCK certificate chain
// and of the TCB Info / QE Identity signing chain, embedded so that the default trust anchor
// does not depend on a file next to the binary. Source: Intel
// https://certificates.trustedservices.intel.com/Intel_SGX_Provisioning_Certification_RootCA.pem
// (the same certificate as /work/shared/vectors/tdx/go-tdx-guest/trusted_root.pem);
// CN=Intel SGX Root CA, P-256, valid 2018-05-21 - 2049-12-31.
// Thread safety: pure function.

#include <array>
#include <cstdint>

#include "common/result.h"
#include "crypto/x509.h"

namespace eml::attest::tdx {

// SHA-256 of the root's DER: 44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3.
inline constexpr std::array<uint8_t, 32> kIntelSgxRootCaSha256 = {
    0x44, 0xA0, 0x19, 0x6B, 0x2B, 0x99, 0xF8, 0x89, 0xB8, 0xE1, 0x49, 0xE9, 0x5B, 0x80, 0x7A, 0x35,
    0x0E, 0x74, 0x24, 0x96, 0x43, 0x99, 0xE8, 0x85, 0xA7, 0xCB, 0xB8, 0xCC, 0xFA, 0xB6, 0x74, 0xD3};

// IntelSgxRootCa parses the embedded PEM and checks its fingerprint against
// kIntelSgxRootCaSha256. Errors: kInternal (the embedded bytes are corrupt; a build defect).
Result<crypto::Certificate> IntelSgxRootCa();

}  // namespace eml::attest::tdx
