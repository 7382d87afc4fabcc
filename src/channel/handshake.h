#pragma once
// The three-message attested X25519 handshake (docs/protocol.md "Handshake") as state machines
// over frame bytes, with no sockets: a transport moves the frames. Both sides attest their
// ephemeral key and nonce; each side requires the peer's verified document to bind exactly the
// key and nonce of the peer's Hello.
//
//   Initiator                                   Responder
//   Start()                  -- Hello seq 0 -->  HandleInitiatorHello()
//   HandleResponderHello()   <-- Hello seq 0 --
//                            -- Hello seq 1 -->  HandleConfirmation()
//   => Session                                   => Session
//
// Posture: the Handle* methods read the peer's handshake frames. Limits: HandshakeLimits (a
// frame at most 64 KiB + 13 + 1024 bytes, a document at most 64 KiB). The parsers under them
// are fuzzed by tests/fuzz/channel_frame_fuzz.cc and channel_hello_fuzz.cc.
//
// Thread safety: one handshake object per connection, used by one thread. The provider and
// verifier must outlive the handshake object.

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "channel/attestation.h"
#include "channel/frame.h"
#include "channel/handshake_messages.h"
#include "channel/key_schedule.h"
#include "channel/record.h"
#include "common/result.h"
#include "crypto/x25519.h"

namespace eml::channel {

// An established channel: seals this side's records and opens the peer's.
class Session {
 public:
  // Seal / Open: see RecordSealer::Seal and RecordOpener::Open.
  Status Seal(FrameType type, uint8_t flags, std::span<const uint8_t> plaintext,
              std::vector<uint8_t>* out) {
    return sealer_.Seal(type, flags, plaintext, out);
  }
  Result<FrameHeader> Open(std::span<const uint8_t> frame, std::vector<uint8_t>* out) {
    return opener_.Open(frame, out);
  }

  const Bytes32& session_id() const { return session_id_; }
  // The peer's verified binding (its document hash identifies the evidence used).
  const AttestedBinding& peer() const { return peer_; }

 private:
  friend class Initiator;
  friend class Responder;
  // FromKeys keys this side's sealer and opener (initiator: sends with k_i2r).
  static Result<Session> FromKeys(const SessionKeys& keys, bool initiator, AttestedBinding peer,
                                  const FrameLimits& record_limits);
  Session(RecordSealer sealer, RecordOpener opener, const Bytes32& session_id, AttestedBinding peer)
      : sealer_(std::move(sealer)),
        opener_(std::move(opener)),
        session_id_(session_id),
        peer_(std::move(peer)) {}

  RecordSealer sealer_;
  RecordOpener opener_;
  Bytes32 session_id_;
  AttestedBinding peer_;
};

struct HandshakeOptions {
  HandshakeLimits limits;
  FrameLimits record_limits;
};

class Initiator {
 public:
  // New makes an initiator with a fresh X25519 key and nonce. Errors: kCryptoRandomFailed.
  static Result<Initiator> New(AttestationProvider* provider, AttestationVerifier* verifier,
                               const HandshakeOptions& options = {});
  // Create uses the given key and nonce (deterministic tests and known-answer vectors).
  static Initiator Create(crypto::X25519PrivateKey key, const Bytes32& nonce,
                          AttestationProvider* provider, AttestationVerifier* verifier,
                          const HandshakeOptions& options = {});

  // Start attests the key and nonce and returns the initiator Hello frame (sequence 0).
  // Errors: kChannelBadState (called twice), the provider's codes, kChannelAttestationTooLarge.
  Result<std::vector<uint8_t>> Start();

  struct Finished {
    std::vector<uint8_t> confirmation_frame;  // send this, then use `session`
    Session session;
  };
  // HandleResponderHello checks the responder Hello frame, verifies its document and binding,
  // derives the keys and returns the confirmation frame (Hello, sequence 1) and the session.
  // Errors: kChannelBadState, frame codes, kChannelUnexpectedFrame (not Hello / sequence 0 /
  // flags 0), ParseHello codes, the verifier's codes, kChannelBindingMismatch,
  // kCryptoAllZeroSharedSecret. Any error ends the handshake (later calls: kChannelBadState).
  Result<Finished> HandleResponderHello(std::span<const uint8_t> frame);

 private:
  Initiator(crypto::X25519PrivateKey key, const Bytes32& nonce, AttestationProvider* provider,
            AttestationVerifier* verifier, const HandshakeOptions& options)
      : key_(std::move(key)),
        nonce_(nonce),
        provider_(provider),
        verifier_(verifier),
        options_(options) {}

  enum class State { kNew, kSentHello, kDone };
  crypto::X25519PrivateKey key_;
  Bytes32 nonce_;
  AttestationProvider* provider_;
  AttestationVerifier* verifier_;
  HandshakeOptions options_;
  State state_ = State::kNew;
  Bytes32 own_doc_hash_{};
};

class Responder {
 public:
  // New makes a responder with a fresh X25519 key and nonce. Errors: kCryptoRandomFailed.
  static Result<Responder> New(AttestationProvider* provider, AttestationVerifier* verifier,
                               const HandshakeOptions& options = {});
  // Create uses the given key and nonce (deterministic tests and known-answer vectors).
  static Responder Create(crypto::X25519PrivateKey key, const Bytes32& nonce,
                          AttestationProvider* provider, AttestationVerifier* verifier,
                          const HandshakeOptions& options = {});

  // HandleInitiatorHello checks the initiator Hello frame, verifies its document and binding,
  // attests this side and returns the responder Hello frame (sequence 0).
  // Errors: as Initiator::HandleResponderHello, plus the provider's codes.
  Result<std::vector<uint8_t>> HandleInitiatorHello(std::span<const uint8_t> frame);

  // HandleConfirmation checks the confirmation frame (Hello, sequence 1) in constant time and
  // returns the session. Errors: kChannelBadState, frame codes, kChannelUnexpectedFrame,
  // ParseConfirmation codes, kChannelConfirmationMismatch.
  Result<Session> HandleConfirmation(std::span<const uint8_t> frame);

 private:
  Responder(crypto::X25519PrivateKey key, const Bytes32& nonce, AttestationProvider* provider,
            AttestationVerifier* verifier, const HandshakeOptions& options)
      : key_(std::move(key)),
        nonce_(nonce),
        provider_(provider),
        verifier_(verifier),
        options_(options) {}

  enum class State { kNew, kSentHello, kDone };
  crypto::X25519PrivateKey key_;
  Bytes32 nonce_;
  AttestationProvider* provider_;
  AttestationVerifier* verifier_;
  HandshakeOptions options_;
  State state_ = State::kNew;
  std::optional<SessionKeys> keys_;
  AttestedBinding peer_;
};

}  // namespace eml::channel
