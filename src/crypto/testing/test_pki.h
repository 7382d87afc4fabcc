#pragma once
// A tiny certificate authority for tests: generates P-384 keys and issues X.509 v3
// certificates and CRLs with OpenSSL, returning DER for eml::crypto::Certificate::FromDer.
// Certificates follow what X509_V_FLAG_X509_STRICT expects (critical basicConstraints,
// keyUsage, subject and authority key identifiers). Tests only.
//
// Thread safety: TestKey is immutable; the functions are safe from any thread.

#include <cstdint>
#include <string>
#include <vector>

#include "crypto/openssl_handle.h"

namespace eml::crypto::testing {

// A P-384 key pair for signing test certificates.
class TestKey {
 public:
  static TestKey GenerateP384();
  evp_pkey_st* get() const { return pkey_.get(); }

 private:
  explicit TestKey(internal::PkeyRef pkey) : pkey_(std::move(pkey)) {}
  internal::PkeyRef pkey_;
};

struct CertSpec {
  std::string common_name;
  int64_t not_before_unix = 0;
  int64_t not_after_unix = 0;
  bool is_ca = false;
  uint64_t serial = 1;
  // Adds a critical extension with a private OID nobody understands.
  bool unknown_critical_extension = false;
};

// IssueCertificate returns the DER of a certificate for `subject_key` described by `spec`,
// signed (ECDSA-SHA384) by `issuer_key`. `issuer_der` is the issuer's certificate, or empty
// for a self-signed certificate (then issuer_key must be subject_key).
std::vector<uint8_t> IssueCertificate(const CertSpec& spec, const TestKey& subject_key,
                                      const TestKey& issuer_key,
                                      const std::vector<uint8_t>& issuer_der);

// IssueCrl returns the DER of a v2 CRL by the CA `issuer_der`/`issuer_key` listing
// `revoked_serials`, valid from this_update to next_update.
std::vector<uint8_t> IssueCrl(const TestKey& issuer_key, const std::vector<uint8_t>& issuer_der,
                              int64_t this_update_unix, int64_t next_update_unix,
                              const std::vector<uint64_t>& revoked_serials);

// GenerateRsaPkcs8ForTest returns a fresh RSA key of `bits` bits as unencrypted PKCS#8 DER,
// made by OpenSSL directly (so sizes our API refuses can be produced).
std::vector<uint8_t> GenerateRsaPkcs8ForTest(int bits);

}  // namespace eml::crypto::testing
