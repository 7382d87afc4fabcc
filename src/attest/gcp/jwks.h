#pragma once
// Posture: Jwks::Parse reads bytes the caller supplies (a JWKS snapshot, e.g. a saved copy of
// Google's confidentialcomputing.googleapis.com JWKS), treated as untrusted in form: at most
// kMaxJwksBytes and kMaxJwksKeys, strict JSON without duplicate keys, RSA keys validated by
// crypto::RsaPublicKey::FromComponents. Fuzz target: attest_gcp_jwt (second input half).
//
// eml::attest::gcp::Jwks: the RS256 signing keys of an OIDC-type Confidential Space token
// issuer (RFC 7517 JSON Web Key Set), looked up by kid. Which keys to trust is the caller's
// decision: this class fetches nothing.
//
// Thread safety: immutable after Parse; Find may run concurrently.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "crypto/rsa.h"

namespace eml::attest::gcp {

inline constexpr size_t kMaxJwksBytes = 64 * 1024;
inline constexpr size_t kMaxJwksKeys = 32;

class Jwks {
 public:
  // Parse reads {"keys": [ ... ]}. Keys whose "kty" is not "RSA", whose "use" (if present) is
  // not "sig" or whose "alg" (if present) is not "RS256" are skipped. An RSA key needs a kid
  // (1..256 bytes, unique in the set) and base64url "n" and "e". Errors: kGcpBadJwks (over the
  // size limits, not the JWKS shape, a bad RSA key, a repeated kid, no usable key),
  // kGcpDuplicateJsonKey.
  static Result<Jwks> Parse(std::span<const uint8_t> json);

  // Find returns the RSA key named `kid`, or nullptr. The pointer lives as long as this set.
  const crypto::RsaPublicKey* Find(std::string_view kid) const EML_LIFETIME_BOUND;
  size_t size() const { return keys_.size(); }

 private:
  explicit Jwks(std::vector<std::pair<std::string, crypto::RsaPublicKey>> keys)
      : keys_(std::move(keys)) {}

  std::vector<std::pair<std::string, crypto::RsaPublicKey>> keys_;
};

}  // namespace eml::attest::gcp
