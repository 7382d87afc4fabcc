#pragma once
// eml::attest::nitro: the AWS Nitro Enclaves Root-G1 certificate, embedded so that the default
// trust anchor does not depend on a file next to the binary. Source: AWS
// "AWS_NitroEnclaves_Root-G1.zip" (the same certificate as /work/shared/vectors/nitro/
// aws-nitro-enclaves-root-g1.pem); CN=aws.nitro-enclaves, P-384, valid 2019-10-28 - 2049-10-28.
// Thread safety: pure function.

#include <array>
#include <cstdint>

#include "common/result.h"
#include "crypto/x509.h"

namespace eml::attest::nitro {

// SHA-256 of the root's DER, as AWS publishes it:
// 641A0321A3E244EFE456463195D606317ED7CDCC3C1756E09893F3C68F79BB5B.
inline constexpr std::array<uint8_t, 32> kAwsNitroRootG1Sha256 = {
    0x64, 0x1A, 0x03, 0x21, 0xA3, 0xE2, 0x44, 0xEF, 0xE4, 0x56, 0x46, 0x31, 0x95, 0xD6, 0x06, 0x31,
    0x7E, 0xD7, 0xCD, 0xCC, 0x3C, 0x17, 0x56, 0xE0, 0x98, 0x93, 0xF3, 0xC6, 0x8F, 0x79, 0xBB, 0x5B};

// AwsNitroRootG1 parses the embedded PEM and checks its fingerprint against
// kAwsNitroRootG1Sha256. Errors: kInternal (the embedded bytes are corrupt; a build defect).
Result<crypto::Certificate> AwsNitroRootG1();

}  // namespace eml::attest::nitro
