#pragma once
// eml::attest::gcp: the Google "Confidential Space Root CA" certificate, embedded so that the
// default trust anchor of PKI-type Confidential Space tokens does not depend on a file next to
// the binary. Source: the copy published in project-oak/oak
// (oak_attestation_gcp/data/confidential_space_root.pem, the same bytes as
// /work/shared/vectors/gcp/oak/confidential_space_root.pem); O=Google LLC, RSA-4096, valid
// 2024-01-19 - 2034-01-16. Google also serves it at
// https://confidentialcomputing.googleapis.com/.well-known/confidential_space_root.crt.
// Thread safety: pure function.

#include <array>
#include <cstdint>

#include "common/result.h"
#include "crypto/x509.h"

namespace eml::attest::gcp {

// SHA-256 of the root's DER:
// 148B293821BB0C6A317F413C8BA475814091CB22D49B9E3C94198DB8E8F86C39.
inline constexpr std::array<uint8_t, 32> kConfidentialSpaceRootSha256 = {
    0x14, 0x8B, 0x29, 0x38, 0x21, 0xBB, 0x0C, 0x6A, 0x31, 0x7F, 0x41, 0x3C, 0x8B, 0xA4, 0x75, 0x81,
    0x40, 0x91, 0xCB, 0x22, 0xD4, 0x9B, 0x9E, 0x3C, 0x94, 0x19, 0x8D, 0xB8, 0xE8, 0xF8, 0x6C, 0x39};

// ConfidentialSpaceRoot parses the embedded PEM and checks its fingerprint against
// kConfidentialSpaceRootSha256. Errors: kInternal (the embedded bytes are corrupt; a build
// defect).
Result<crypto::Certificate> ConfidentialSpaceRoot();

}  // namespace eml::attest::gcp
