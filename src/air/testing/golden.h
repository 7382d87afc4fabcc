#pragma once
// Test and benchmark support (never linked into a product binary): the AIR v1 golden key
// (seed 0x2A * 32, public key 197f6b23...8d61) and the claims of the shipped golden vector
// valid/v1-nitro-no-nonce.json.

#include <cstdint>
#include <vector>

#include "air/claims.h"
#include "common/check.h"
#include "common/secret_bytes.h"
#include "crypto/ed25519.h"

namespace eml::air::testing {

inline constexpr uint64_t kGoldenIat = 1740500000;

inline crypto::Ed25519PrivateKey GoldenKey() {
  SecretBytes seed(32);
  for (uint8_t& b : seed.MutableReveal(InsecureSecretAccess::Get())) {
    b = 0x2a;
  }
  Result<crypto::Ed25519PrivateKey> key = crypto::Ed25519PrivateKey::FromSeed(seed);
  EML_CHECK(key.has_value());
  return *std::move(key);
}

// GoldenNitroClaims: the claims of valid/v1-nitro-no-nonce.json.
inline Claims GoldenNitroClaims() {
  Claims c;
  c.iss = "cyntrisec.com";
  c.iat = kGoldenIat;
  for (uint8_t i = 0; i < 16; ++i) {
    c.cti[i] = static_cast<uint8_t>(i + 1);
  }
  c.model_id = "minilm-l6-v2";
  c.model_version = "1.0.0";
  c.model_hash.fill(0xaa);
  c.request_hash.fill(0xbb);
  c.response_hash.fill(0xcc);
  c.attestation_doc_hash.fill(0xdd);
  c.enclave_measurements.measurement_type = std::string(kMeasurementTypeNitro);
  c.enclave_measurements.pcr0.assign(48, 0x01);
  c.enclave_measurements.pcr1.assign(48, 0x02);
  c.enclave_measurements.pcr2.assign(48, 0x03);
  c.policy_version = "policy-2026.02";
  c.sequence_number = 42;
  c.execution_time_ms = 116;
  c.memory_peak_mb = 512;
  c.security_mode = std::string(kSecurityModeProduction);
  return c;
}

}  // namespace eml::air::testing
