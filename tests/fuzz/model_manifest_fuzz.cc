// Fuzz target `model_manifest`: ParseManifest on arbitrary bytes, and VerifiedManifest::Verify
// with a fixed key and the input's first 64 bytes as the signature.
// Properties: never crashes; ParseManifest fails only with manifest codes (500-515); a parsed
// manifest re-serializes byte-identical (canonical form is the only accepted form) and passes
// ValidateManifest; Verify fails only with manifest codes, and a manifest signed by the fixed key
// verifies to the same manifest, while flipping one bit of its bytes makes Verify fail.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "common/secret_bytes.h"
#include "crypto/ed25519.h"
#include "model/manifest.h"

namespace {

void Require(bool condition) {
  if (!condition) {
    std::abort();
  }
}

bool IsManifestCode(eml::ErrorCode code) {
  const auto v = static_cast<uint16_t>(code);
  return v >= 500 && v <= 515;
}

const eml::crypto::Ed25519PrivateKey& Key() {
  static const eml::crypto::Ed25519PrivateKey* key =
      new eml::crypto::Ed25519PrivateKey(*eml::crypto::Ed25519PrivateKey::FromSeed(
          eml::SecretBytes::CopyFrom(std::vector<uint8_t>(32, 0x5a))));
  return *key;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> input(data, size);
  eml::Result<eml::model::Manifest> parsed = eml::model::ParseManifest(input);
  if (!parsed.has_value()) {
    Require(IsManifestCode(parsed.code()));
  } else {
    Require(eml::model::ValidateManifest(*parsed).has_value());
    eml::Result<std::vector<uint8_t>> again = eml::model::SerializeManifest(*parsed);
    Require(again.has_value());
    Require(std::vector<uint8_t>(input.begin(), input.end()) == *again);
    // Sign it and verify; then one flipped bit must fail.
    eml::Result<eml::model::SignedManifest> signed_manifest =
        eml::model::SignManifest(*parsed, Key());
    Require(signed_manifest.has_value());
    eml::Result<eml::model::VerifiedManifest> verified = eml::model::VerifiedManifest::Verify(
        signed_manifest->manifest_json, signed_manifest->signature, Key().public_key());
    Require(verified.has_value());
    Require(verified->manifest().model_id == parsed->model_id);
    std::vector<uint8_t> flipped = signed_manifest->manifest_json;
    flipped[size % flipped.size()] ^= 0x01;
    Require(!eml::model::VerifiedManifest::Verify(flipped, signed_manifest->signature,
                                                  Key().public_key())
                 .has_value());
  }
  if (size >= 64) {
    eml::Result<eml::model::VerifiedManifest> v = eml::model::VerifiedManifest::Verify(
        input.subspan(64), input.first(64), Key().public_key());
    Require(v.has_value() || IsManifestCode(v.code()));
  }
  return 0;
}
