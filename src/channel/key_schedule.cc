#include "channel/key_schedule.h"

#include <algorithm>
#include <string_view>

#include "channel/frame.h"
#include "crypto/hash.h"
#include "crypto/hkdf.h"

namespace eml::channel {
namespace {

std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};  // NOLINT: constant labels
}

void AddLabelled(crypto::Sha256Hasher* hasher, std::string_view label,
                 std::span<const uint8_t> value) {
  EML_CHECK(label.size() <= 0xFF && value.size() <= 0xFFFF);
  const uint8_t label_len = static_cast<uint8_t>(label.size());
  const std::array<uint8_t, 2> value_len = {static_cast<uint8_t>(value.size() >> 8),
                                            static_cast<uint8_t>(value.size() & 0xFF)};
  hasher->Update({&label_len, 1});
  hasher->Update(AsBytes(label));
  hasher->Update(value_len);
  hasher->Update(value);
}

Result<SecretBytes> Expand(const SecretBytes& prk, std::string_view info) {
  return crypto::HkdfSha256Expand(prk, AsBytes(info), kChannelKeySize);
}

}  // namespace

Bytes32 CombineNonces(const Bytes32& a, const Bytes32& b) {
  Bytes32 out{};
  for (size_t i = 0; i < out.size(); ++i) {
    out[i] = static_cast<uint8_t>(a[i] ^ b[i]);
  }
  return out;
}

Bytes32 ComputeTranscript(const TranscriptInputs& inputs) {
  const bool initiator_low = std::lexicographical_compare(
      inputs.initiator_public_key.begin(), inputs.initiator_public_key.end(),
      inputs.responder_public_key.begin(), inputs.responder_public_key.end());
  const Bytes32& low = initiator_low ? inputs.initiator_public_key : inputs.responder_public_key;
  const Bytes32& high = initiator_low ? inputs.responder_public_key : inputs.initiator_public_key;
  const uint8_t version = kProtocolVersion;
  crypto::Sha256Hasher hasher;
  AddLabelled(&hasher, "init-attestation-hash", inputs.init_attestation_hash);
  AddLabelled(&hasher, "resp-attestation-hash", inputs.resp_attestation_hash);
  AddLabelled(&hasher, "pk-low", low);
  AddLabelled(&hasher, "pk-high", high);
  AddLabelled(&hasher, "combined-nonce", inputs.combined_nonce);
  AddLabelled(&hasher, "protocol-version", {&version, 1});
  return hasher.Finish();
}

Result<SessionKeys> DeriveSessionKeys(const SecretBytes& shared_secret, const Bytes32& transcript) {
  if (shared_secret.size() != 32) {
    return Error{ErrorCode::kInvalidArgument, "X25519 shared secret must be 32 bytes"};
  }
  const Bytes32 zero{};
  if (ConstantTimeEquals(shared_secret.Reveal(InsecureSecretAccess::Get()), zero)) {
    return Error{ErrorCode::kCryptoAllZeroSharedSecret, "non-contributory shared secret"};
  }
  SessionKeys keys;
  const SecretBytes prk = crypto::HkdfSha256Extract(transcript, shared_secret);
  EML_ASSIGN_OR_RETURN(keys.initiator_to_responder, Expand(prk, "cmt-initiator-to-responder"));
  EML_ASSIGN_OR_RETURN(keys.responder_to_initiator, Expand(prk, "cmt-responder-to-initiator"));
  const SecretBytes transcript_ikm = SecretBytes::CopyFrom(transcript);
  const SecretBytes session_prk = crypto::HkdfSha256Extract({}, transcript_ikm);
  EML_ASSIGN_OR_RETURN(SecretBytes session_id, Expand(session_prk, "cmt-session-id"));
  std::span<const uint8_t> id = session_id.Reveal(InsecureSecretAccess::Get());
  std::copy(id.begin(), id.end(), keys.session_id.begin());
  return keys;
}

Bytes32 ConfirmationHash(const SessionKeys& keys) {
  crypto::Sha256Hasher hasher;
  hasher.Update(AsBytes("cmt-confirmation"));
  hasher.Update(keys.session_id);
  hasher.Update(keys.initiator_to_responder.Reveal(InsecureSecretAccess::Get()));
  hasher.Update(keys.responder_to_initiator.Reveal(InsecureSecretAccess::Get()));
  return hasher.Finish();
}

}  // namespace eml::channel
