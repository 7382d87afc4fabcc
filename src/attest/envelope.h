#pragma once
// Posture: DecodeEnvelope reads untrusted bytes (evidence an enclave sends to a client, the key
// broker or `attest verify`): at most kMaxEnvelopeBytes, strict deterministic CBOR of depth 1
// with exactly the six keys below; anything else is refused. The wrapped evidence is only
// carried here (PolicyVerifier verifies it with the platform parsers). Fuzz target:
// tests/fuzz/attest_envelope_fuzz.cc (attest_envelope).
//
// eml::attest evidence envelope (docs/attestation.md "Evidence envelope"). TDX quotes, SEV-SNP
// reports and Confidential Space tokens have one free binding field (report data, eat_nonce),
// so the enclave's public key, nonce and user_data travel beside the evidence in one
// deterministic CBOR map (untagged, so its first byte is 0xA6):
//   {"v": 1, "platform": "tdx" | "sev-snp" | "gcp-cs", "evidence": bstr (non-empty),
//    "public_key": bstr, "nonce": bstr, "user_data": bstr}   (the last three may be empty)
// and the evidence binds them through BoundNonce (attest/report_binding.h):
//   report data = BindingDigest(public_key, BoundNonce(nonce, user_data))   (tdx, sev-snp)
//   eat_nonce   = GcpBindingNonce(public_key, BoundNonce(nonce, user_data)) (gcp-cs)
// PolicyVerifier (attest/policy.h) recognises envelopes, verifies the wrapped evidence with that
// derived binding, and then treats the envelope's public_key, nonce and user_data as attested.
// Nitro-format documents (aws-nitro, sim) carry these fields themselves and are never wrapped.
//
// Thread safety: pure functions.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"

namespace eml::attest {

inline constexpr size_t kMaxEnvelopeBytes = 64 * 1024;
inline constexpr uint64_t kEnvelopeVersion = 1;

// One envelope's contents. platform is kPlatformTdx, kPlatformSevSnp or kPlatformGcpCs
// (attest/policy.h); empty public_key / nonce / user_data mean "none".
struct EvidenceEnvelope {
  std::string platform;
  std::vector<uint8_t> evidence;
  std::vector<uint8_t> public_key;
  std::vector<uint8_t> nonce;
  std::vector<uint8_t> user_data;
};

// EncodeEnvelope returns the deterministic CBOR of `envelope`. Errors:
// kEnvelopeUnknownPlatform, kEnvelopeMalformed (empty evidence), kEnvelopeTooLarge (the
// encoding is over kMaxEnvelopeBytes).
Result<std::vector<uint8_t>> EncodeEnvelope(const EvidenceEnvelope& envelope);

// DecodeEnvelope parses `bytes`. Errors: kEnvelopeTooLarge (over kMaxEnvelopeBytes),
// kEnvelopeMalformed (not CBOR, not deterministic, not a map, a missing, repeated or unknown
// key, a value of the wrong type, empty evidence), kEnvelopeUnsupportedVersion ("v" is an
// unsigned integer other than 1; checked before the other keys), kEnvelopeUnknownPlatform.
Result<EvidenceEnvelope> DecodeEnvelope(std::span<const uint8_t> bytes);

// LooksLikeEnvelope: the first byte is a CBOR map of six entries (0xA6). Shape only.
bool LooksLikeEnvelope(std::span<const uint8_t> bytes);

}  // namespace eml::attest
