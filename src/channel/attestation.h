#pragma once
// The attestation hooks of the channel handshake. A provider makes a document that binds a
// handshake public key and nonce; a verifier checks a peer's document and returns what it binds.
// Platform implementations (sim, Nitro, ...) live in src/attest and plug in here; the mock
// envelope of the reference (mock_attestation.h) is the in-library implementation.
//
// Thread safety: implementations say their own; the handshake calls them from one thread.

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "common/result.h"

namespace eml::channel {

// What a verified attestation document binds. `public_key` and `nonce` are empty when the
// document carries none (the handshake then fails with kChannelBindingMismatch).
struct AttestedBinding {
  std::vector<uint8_t> public_key;
  std::vector<uint8_t> nonce;
  // document_hash enters the handshake transcript (resp-attestation-hash on the initiator).
  std::array<uint8_t, 32> document_hash{};
};

class AttestationProvider {
 public:
  virtual ~AttestationProvider() = default;
  // Attest returns a document binding `nonce` and `public_key` (both 32 bytes). Errors are the
  // implementation's own codes; the handshake passes them through.
  virtual Result<std::vector<uint8_t>> Attest(std::span<const uint8_t> nonce,
                                              std::span<const uint8_t> public_key) = 0;
};

class AttestationVerifier {
 public:
  virtual ~AttestationVerifier() = default;
  // Verify checks `document` under the verifier's policy and returns its binding. Errors are
  // the implementation's own codes; the handshake passes them through.
  virtual Result<AttestedBinding> Verify(std::span<const uint8_t> document) = 0;
};

}  // namespace eml::channel
