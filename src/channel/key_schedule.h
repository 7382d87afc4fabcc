#pragma once
// The handshake key schedule (docs/protocol.md "Key schedule"): the labelled SHA-256
// transcript, HKDF-SHA256 directional keys and session id, and the key confirmation hash.
//
// Thread safety: pure functions, safe from any thread.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "common/result.h"
#include "common/secret_bytes.h"

namespace eml::channel {

inline constexpr size_t kSessionIdSize = 32;
inline constexpr size_t kTranscriptHashSize = 32;
inline constexpr size_t kChannelKeySize = 32;

using Bytes32 = std::array<uint8_t, 32>;

struct TranscriptInputs {
  Bytes32 init_attestation_hash{};  // SHA-256 of the initiator's attestation document.
  Bytes32 resp_attestation_hash{};  // The responder document's hash (verifier's document_hash).
  Bytes32 initiator_public_key{};
  Bytes32 responder_public_key{};
  Bytes32 combined_nonce{};  // initiator nonce XOR responder nonce.
};

// CombineNonces returns a XOR b.
Bytes32 CombineNonces(const Bytes32& a, const Bytes32& b);

// ComputeTranscript returns SHA-256 over the labelled items init-attestation-hash,
// resp-attestation-hash, pk-low, pk-high (keys sorted bytewise), combined-nonce and
// protocol-version (one byte, 4); each item is u8 label length | label | u16 BE value
// length | value.
Bytes32 ComputeTranscript(const TranscriptInputs& inputs);

struct SessionKeys {
  SecretBytes initiator_to_responder;  // 32 bytes
  SecretBytes responder_to_initiator;  // 32 bytes
  Bytes32 session_id{};
};

// DeriveSessionKeys: keys = HKDF-SHA256(salt = transcript, ikm = shared_secret) expanded with
// "cmt-initiator-to-responder" / "cmt-responder-to-initiator"; session_id = HKDF-SHA256(no
// salt, ikm = transcript) expanded with "cmt-session-id". Errors: kCryptoAllZeroSharedSecret
// when shared_secret is all zero (non-contributory), kInvalidArgument if it is not 32 bytes.
Result<SessionKeys> DeriveSessionKeys(const SecretBytes& shared_secret, const Bytes32& transcript);

// ConfirmationHash returns SHA-256("cmt-confirmation" || session_id || k_i2r || k_r2i).
Bytes32 ConfirmationHash(const SessionKeys& keys);

}  // namespace eml::channel
