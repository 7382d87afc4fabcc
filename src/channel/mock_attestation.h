#pragma once
// The reference's mock attestation envelope ("MOCK_ATT_V1\0" followed by three u32-LE
// length-prefixed fields: user_data, nonce, public_key), used by clients without a TEE. It binds
// but does not authenticate: anyone can make one. Use it only where the policy allows
// unauthenticated peers (the enclave accepting a non-TEE client), and in tests.
//
// Posture: ParseMockEnvelope reads the peer's attestation document. Limits: the whole envelope
// is at most max_bytes (64 KiB by default); fields are bounded by it. Trailing bytes are an error.
// Fuzz target: tests/fuzz/channel_hello_fuzz.cc.
//
// Thread safety: pure functions; the provider and verifier are stateless and thread-safe.

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "channel/attestation.h"
#include "common/result.h"

namespace eml::channel {

inline constexpr size_t kMockEnvelopeMagicSize = 12;  // "MOCK_ATT_V1\0"
inline constexpr size_t kDefaultMaxMockEnvelopeBytes = 64 * 1024;

struct MockEnvelope {
  std::vector<uint8_t> user_data;
  std::vector<uint8_t> nonce;
  std::vector<uint8_t> public_key;
};

// EncodeMockEnvelope returns the envelope bytes. Errors: kInvalidArgument if a field is longer
// than 2^32 - 1 bytes.
Result<std::vector<uint8_t>> EncodeMockEnvelope(const MockEnvelope& envelope);

// ParseMockEnvelope parses an envelope that fills `bytes` exactly.
// Errors: kChannelAttestationTooLarge (over max_bytes), kChannelBadMockAttestation (wrong magic,
// a field running past the end), kChannelTrailingBytes.
Result<MockEnvelope> ParseMockEnvelope(std::span<const uint8_t> bytes,
                                       size_t max_bytes = kDefaultMaxMockEnvelopeBytes);

// MockAttestationProvider attests (empty user_data, nonce, public_key).
class MockAttestationProvider final : public AttestationProvider {
 public:
  Result<std::vector<uint8_t>> Attest(std::span<const uint8_t> nonce,
                                      std::span<const uint8_t> public_key) override;
};

// MockAttestationVerifier accepts any well-formed envelope; document_hash = SHA-256(bytes).
class MockAttestationVerifier final : public AttestationVerifier {
 public:
  Result<AttestedBinding> Verify(std::span<const uint8_t> document) override;
};

}  // namespace eml::channel
