#include "channel/handshake.h"

#include <algorithm>
#include <utility>

#include "crypto/hash.h"
#include "crypto/random.h"

namespace eml::channel {
namespace {

// ReadHandshakeFrame decodes a Hello frame with the expected sequence and no flags.
Result<FrameView> ReadHandshakeFrame(std::span<const uint8_t> frame, uint32_t sequence,
                                     const HandshakeLimits& limits) {
  if (frame.size() > limits.max_handshake_frame_bytes) {
    return Error{ErrorCode::kChannelPayloadTooLarge, "handshake frame over the limit"};
  }
  EML_ASSIGN_OR_RETURN(FrameView view, DecodeFrame(frame, HandshakeFrameLimits(limits)));
  if (view.header.type != FrameType::kHello || view.header.sequence != sequence ||
      view.header.flags != 0) {
    return Error{ErrorCode::kChannelUnexpectedFrame, "not the expected handshake Hello"};
  }
  return view;
}

// CheckBinding requires the verified document to bind exactly the Hello's key and nonce.
Status CheckBinding(const AttestedBinding& binding, const HelloMessage& hello) {
  if (!std::equal(binding.public_key.begin(), binding.public_key.end(), hello.public_key.begin(),
                  hello.public_key.end()) ||
      !std::equal(binding.nonce.begin(), binding.nonce.end(), hello.nonce.begin(),
                  hello.nonce.end())) {
    return Error{ErrorCode::kChannelBindingMismatch,
                 "attested key or nonce differs from the Hello"};
  }
  return OkStatus();
}

Result<Bytes32> FreshNonce() {
  Bytes32 nonce{};
  EML_RETURN_IF_ERROR(crypto::RandomBytes(nonce));
  return nonce;
}

Result<SessionKeys> AgreeAndDerive(const crypto::X25519PrivateKey& key,
                                   const Bytes32& peer_public_key, const TranscriptInputs& inputs) {
  EML_ASSIGN_OR_RETURN(crypto::X25519PublicKey peer,
                       crypto::X25519PublicKey::FromBytes(peer_public_key));
  EML_ASSIGN_OR_RETURN(SecretBytes shared, key.Agree(peer));
  return DeriveSessionKeys(shared, ComputeTranscript(inputs));
}

}  // namespace

Result<Session> Session::FromKeys(const SessionKeys& keys, bool initiator, AttestedBinding peer,
                                  const FrameLimits& record_limits) {
  const SecretBytes& send = initiator ? keys.initiator_to_responder : keys.responder_to_initiator;
  const SecretBytes& recv = initiator ? keys.responder_to_initiator : keys.initiator_to_responder;
  EML_ASSIGN_OR_RETURN(RecordSealer sealer,
                       RecordSealer::New(send, keys.session_id, record_limits));
  EML_ASSIGN_OR_RETURN(RecordOpener opener,
                       RecordOpener::New(recv, keys.session_id, record_limits));
  return Session(std::move(sealer), std::move(opener), keys.session_id, std::move(peer));
}

Result<Initiator> Initiator::New(AttestationProvider* provider, AttestationVerifier* verifier,
                                 const HandshakeOptions& options) {
  EML_ASSIGN_OR_RETURN(crypto::X25519PrivateKey key, crypto::X25519PrivateKey::Generate());
  EML_ASSIGN_OR_RETURN(Bytes32 nonce, FreshNonce());
  return Create(std::move(key), nonce, provider, verifier, options);
}

Initiator Initiator::Create(crypto::X25519PrivateKey key, const Bytes32& nonce,
                            AttestationProvider* provider, AttestationVerifier* verifier,
                            const HandshakeOptions& options) {
  EML_CHECK(provider != nullptr && verifier != nullptr);
  return Initiator(std::move(key), nonce, provider, verifier, options);
}

Result<std::vector<uint8_t>> Initiator::Start() {
  if (state_ != State::kNew) {
    return Error{ErrorCode::kChannelBadState, "Start called twice"};
  }
  state_ = State::kDone;  // Until the Hello is built: any error ends the handshake.
  HelloMessage hello;
  hello.public_key = key_.public_key().bytes();
  hello.nonce = nonce_;
  EML_ASSIGN_OR_RETURN(hello.attestation_doc, provider_->Attest(hello.nonce, hello.public_key));
  EML_ASSIGN_OR_RETURN(std::vector<uint8_t> payload,
                       EncodeHello(HelloKind::kInitiator, hello, options_.limits));
  EML_ASSIGN_OR_RETURN(
      std::vector<uint8_t> frame,
      EncodeFrame(FrameType::kHello, 0, 0, payload, HandshakeFrameLimits(options_.limits)));
  own_doc_hash_ = crypto::Sha256(hello.attestation_doc);
  state_ = State::kSentHello;
  return frame;
}

Result<Initiator::Finished> Initiator::HandleResponderHello(std::span<const uint8_t> frame) {
  if (state_ != State::kSentHello) {
    return Error{ErrorCode::kChannelBadState, "no initiator Hello outstanding"};
  }
  state_ = State::kDone;
  EML_ASSIGN_OR_RETURN(FrameView view, ReadHandshakeFrame(frame, 0, options_.limits));
  EML_ASSIGN_OR_RETURN(HelloMessage hello,
                       ParseHello(HelloKind::kResponder, view.payload, options_.limits));
  EML_ASSIGN_OR_RETURN(AttestedBinding peer, verifier_->Verify(hello.attestation_doc));
  EML_RETURN_IF_ERROR(CheckBinding(peer, hello));
  TranscriptInputs inputs;
  inputs.init_attestation_hash = own_doc_hash_;
  inputs.resp_attestation_hash = peer.document_hash;
  inputs.initiator_public_key = key_.public_key().bytes();
  inputs.responder_public_key = hello.public_key;
  inputs.combined_nonce = CombineNonces(nonce_, hello.nonce);
  EML_ASSIGN_OR_RETURN(SessionKeys keys, AgreeAndDerive(key_, hello.public_key, inputs));
  const std::vector<uint8_t> payload = EncodeConfirmation(ConfirmationHash(keys));
  EML_ASSIGN_OR_RETURN(
      std::vector<uint8_t> confirmation,
      EncodeFrame(FrameType::kHello, 0, 1, payload, HandshakeFrameLimits(options_.limits)));
  EML_ASSIGN_OR_RETURN(Session session, Session::FromKeys(keys, /*initiator=*/true, std::move(peer),
                                                          options_.record_limits));
  return Finished{std::move(confirmation), std::move(session)};
}

Result<Responder> Responder::New(AttestationProvider* provider, AttestationVerifier* verifier,
                                 const HandshakeOptions& options) {
  EML_ASSIGN_OR_RETURN(crypto::X25519PrivateKey key, crypto::X25519PrivateKey::Generate());
  EML_ASSIGN_OR_RETURN(Bytes32 nonce, FreshNonce());
  return Create(std::move(key), nonce, provider, verifier, options);
}

Responder Responder::Create(crypto::X25519PrivateKey key, const Bytes32& nonce,
                            AttestationProvider* provider, AttestationVerifier* verifier,
                            const HandshakeOptions& options) {
  EML_CHECK(provider != nullptr && verifier != nullptr);
  return Responder(std::move(key), nonce, provider, verifier, options);
}

Result<std::vector<uint8_t>> Responder::HandleInitiatorHello(std::span<const uint8_t> frame) {
  if (state_ != State::kNew) {
    return Error{ErrorCode::kChannelBadState, "initiator Hello already handled"};
  }
  state_ = State::kDone;
  EML_ASSIGN_OR_RETURN(FrameView view, ReadHandshakeFrame(frame, 0, options_.limits));
  EML_ASSIGN_OR_RETURN(HelloMessage peer_hello,
                       ParseHello(HelloKind::kInitiator, view.payload, options_.limits));
  EML_ASSIGN_OR_RETURN(AttestedBinding peer, verifier_->Verify(peer_hello.attestation_doc));
  EML_RETURN_IF_ERROR(CheckBinding(peer, peer_hello));

  HelloMessage hello;
  hello.public_key = key_.public_key().bytes();
  hello.nonce = nonce_;
  EML_ASSIGN_OR_RETURN(hello.attestation_doc, provider_->Attest(hello.nonce, hello.public_key));
  EML_ASSIGN_OR_RETURN(std::vector<uint8_t> payload,
                       EncodeHello(HelloKind::kResponder, hello, options_.limits));
  EML_ASSIGN_OR_RETURN(
      std::vector<uint8_t> out,
      EncodeFrame(FrameType::kHello, 0, 0, payload, HandshakeFrameLimits(options_.limits)));
  TranscriptInputs inputs;
  inputs.init_attestation_hash = crypto::Sha256(peer_hello.attestation_doc);
  inputs.resp_attestation_hash = crypto::Sha256(hello.attestation_doc);
  inputs.initiator_public_key = peer_hello.public_key;
  inputs.responder_public_key = hello.public_key;
  inputs.combined_nonce = CombineNonces(peer_hello.nonce, nonce_);
  EML_ASSIGN_OR_RETURN(SessionKeys keys, AgreeAndDerive(key_, peer_hello.public_key, inputs));
  keys_ = std::move(keys);
  peer_ = std::move(peer);
  state_ = State::kSentHello;
  return out;
}

Result<Session> Responder::HandleConfirmation(std::span<const uint8_t> frame) {
  if (state_ != State::kSentHello || !keys_.has_value()) {
    return Error{ErrorCode::kChannelBadState, "no responder Hello outstanding"};
  }
  state_ = State::kDone;
  SessionKeys keys = std::move(*keys_);
  keys_.reset();
  EML_ASSIGN_OR_RETURN(FrameView view, ReadHandshakeFrame(frame, 1, options_.limits));
  EML_ASSIGN_OR_RETURN(Bytes32 received, ParseConfirmation(view.payload));
  const Bytes32 expected = ConfirmationHash(keys);
  if (!ConstantTimeEquals(received, expected)) {
    return Error{ErrorCode::kChannelConfirmationMismatch, "peer derived different keys"};
  }
  return Session::FromKeys(keys, /*initiator=*/false, std::move(peer_), options_.record_limits);
}

}  // namespace eml::channel
