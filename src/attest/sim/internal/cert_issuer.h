#pragma once
// eml::attest::sim::internal: X.509 issuance for the sim attestation PKI (a P-384 root CA and
// short-lived leaves), over OpenSSL. Private to attest/sim. Reads no untrusted bytes: every
// input is built by the sim provider itself.
// Thread safety: pure function.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"
#include "crypto/ecdsa.h"

namespace eml::attest::sim::internal {

struct CertRequest {
  std::string common_name;
  std::vector<uint8_t> serial;  // big-endian, 1..20 bytes; the top bit is cleared
  int64_t not_before_unix = 0;
  int64_t not_after_unix = 0;
  // is_ca: CA:TRUE, pathLen 0, keyCertSign|cRLSign; otherwise CA:FALSE, digitalSignature.
  bool is_ca = false;
};

// IssueCertificate returns the DER of a v3 certificate for `subject` signed with ECDSA-SHA384 by
// `issuer_key`; `issuer_der` is the issuer's certificate, or empty for a self-signed one (then
// `subject` must be `issuer_key`'s public key). Subject/authority key identifiers are included.
// Errors: kInvalidArgument (bad serial, issuer_der does not parse), kCryptoLibraryFailure.
Result<std::vector<uint8_t>> IssueCertificate(const CertRequest& request,
                                              const crypto::EcdsaPublicKey& subject,
                                              const crypto::EcdsaPrivateKey& issuer_key,
                                              std::span<const uint8_t> issuer_der);

}  // namespace eml::attest::sim::internal
