#pragma once
// Posture: a Session reads untrusted bytes from the enclave (or anything that answers at the
// endpoint): handshake frames (channel limits, fuzz targets channel_frame / channel_hello), the
// attestation document (attest::PolicyVerifier and the platform parsers), response records
// (protocol::Decode*, fuzz target protocol_messages) and receipts (air verifier, fuzz target
// air_verify). Records are capped at the channel's 32 MiB, responses at 24 MiB.
//
// eml::client: the confidential inference client (DESIGN.md section 3.3).
//
//   Connect(endpoint, options)
//     opens TCP or a Unix socket, runs the initiator handshake (docs/protocol.md 1.2) with a
//     mock-envelope document for this side (a client has no TEE) and verifies the enclave's
//     document under options.policy BEFORE the confirmation or any application data is sent:
//     platform allowed, root, measurement pins, debug, freshness, and the document binding the
//     handshake key and nonce. The attested user_data (docs/protocol.md section 2) must decode
//     and name the receipt key and the loaded models.
//   Session::Embed(texts, options) / Session::Evidence(nonce)
//     send one request record and verify the response's receipt (client/receipt_check.h: key,
//     request and response hashes over the exact bytes, model, attestation_doc_hash, sequence,
//     nonce, security mode, measurements) before decoding the result for the caller. A receipt
//     whose cti is among the session's last kSeenCtiWindow receipts is refused as a replay
//     (older replays already fail the strictly increasing sequence, which the same signature
//     covers). Results
//     exist only as VerifiedEmbeddings / VerifiedEnclaveEvidence, whose constructors are private
//     to Session (STYLE B5).
//
// Errors of a request: kClientSessionClosed (an earlier failure ended the session),
// kInvalidArgument (no texts, a nonce outside 8..64 bytes), kClientUnknownModel (a model the
// attestation does not name), the channel's transport and record codes, protocol::Decode*
// codes for malformed responses, kClientBadResponse (another id, a non-data frame),
// kClientRemoteError (the enclave answered with an error; the session stays usable),
// kClientReceipt* (receipt_check.h), kClientBadResult (result inconsistent with the request),
// kClientEvidenceMismatch and attestation codes (Evidence). Every failure other than
// kClientRemoteError and kInvalidArgument closes the session.
//
// Thread safety: a Session is used by one thread at a time (requests are sequential).

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "attest/policy.h"
#include "attest/verifier.h"
#include "channel/address.h"
#include "channel/transport.h"
#include "client/receipt_check.h"
#include "common/result.h"
#include "crypto/ed25519.h"

namespace eml::client {

inline constexpr int kDefaultConnectTimeoutMs = 10'000;
inline constexpr int kDefaultRequestTimeoutMs = 120'000;
// How many recent receipt cti values a session remembers (16 bytes each, plus set overhead).
inline constexpr size_t kSeenCtiWindow = 65'536;

// Endpoint: where the enclave (or the host relaying to it) listens.
using Endpoint = channel::Address;

// ParseEndpoint accepts a channel address (channel/address.h: "tcp:HOST:PORT", "unix:PATH",
// "vsock:CID:PORT") or "HOST:PORT" / "[V6]:PORT" for "tcp:..." (HOST an IP literal or
// "localhost"); port 0 is refused. Errors: kChannelBadAddress.
Result<Endpoint> ParseEndpoint(std::string_view text);
// EndpointToString renders the canonical channel address (channel::FormatAddress).
std::string EndpointToString(const Endpoint& endpoint);

struct ClientOptions {
  // policy: the evidence policy the enclave must meet (required).
  std::shared_ptr<const attest::PolicyVerifier> policy;
  int connect_timeout_ms = kDefaultConnectTimeoutMs;
  int handshake_timeout_ms = channel::kDefaultHandshakeTimeoutMs;
  int request_timeout_ms = kDefaultRequestTimeoutMs;
  uint64_t receipt_max_age_s = kDefaultReceiptMaxAgeS;
  // now_unix: the verification clock (unix seconds); empty reads the system clock.
  std::function<int64_t()> now_unix;
};

struct EmbedOptions {
  // nonce: echoed by the receipt as eat_nonce (8..64 bytes; the CLI sends 32 random bytes).
  std::optional<std::vector<uint8_t>> nonce;
  // model: an attested model id; absent: the enclave's default (checked against the attested
  // models when the receipt is verified).
  std::optional<std::string> model;
};

// AttestedEnclave: what the handshake verified about the peer.
class AttestedEnclave {
 public:
  const attest::VerificationReport& report() const EML_LIFETIME_BOUND { return report_; }
  const attest::VerifiedEvidence& evidence() const EML_LIFETIME_BOUND { return evidence_; }
  // document: the verified attestation document bytes.
  const std::vector<uint8_t>& document() const EML_LIFETIME_BOUND { return document_; }
  const std::array<uint8_t, 32>& document_sha256() const EML_LIFETIME_BOUND {
    return evidence_.document_sha256();
  }
  const crypto::Ed25519PublicKey& receipt_key() const EML_LIFETIME_BOUND { return receipt_key_; }
  const std::vector<AttestedModel>& models() const EML_LIFETIME_BOUND { return models_; }
  // evaluation: the evidence is `sim` (receipts say security_mode "evaluation").
  bool evaluation() const { return evidence_.platform() == attest::kPlatformSim; }

 private:
  friend class PolicyChannelVerifier;
  AttestedEnclave(attest::VerificationReport report, attest::VerifiedEvidence evidence,
                  std::vector<uint8_t> document, crypto::Ed25519PublicKey receipt_key,
                  std::vector<AttestedModel> models)
      : report_(std::move(report)),
        evidence_(std::move(evidence)),
        document_(std::move(document)),
        receipt_key_(std::move(receipt_key)),
        models_(std::move(models)) {}

  attest::VerificationReport report_;
  attest::VerifiedEvidence evidence_;
  std::vector<uint8_t> document_;
  crypto::Ed25519PublicKey receipt_key_;
  std::vector<AttestedModel> models_;
};

// PolicyChannelVerifier: the channel's AttestationVerifier hook on top of an evidence policy.
// Verify accepts only a document that passes every policy step at now_unix and whose user_data
// decodes; it then remembers the AttestedEnclave. Errors: the first failed step's code (e.g.
// kAttestMeasurementMismatch, kPolicyPlatformNotAllowed), kClientBadUserData, kInvalidArgument.
class PolicyChannelVerifier final : public channel::AttestationVerifier {
 public:
  PolicyChannelVerifier(const attest::PolicyVerifier* policy, int64_t now_unix)
      : policy_(policy), now_unix_(now_unix) {}
  Result<channel::AttestedBinding> Verify(std::span<const uint8_t> document) override;
  // attested: set after a successful Verify.
  std::optional<AttestedEnclave>& attested() { return attested_; }

 private:
  const attest::PolicyVerifier* policy_;
  int64_t now_unix_;
  std::optional<AttestedEnclave> attested_;
};

// VerifiedEmbeddings: an embed result whose receipt passed every check.
class VerifiedEmbeddings {
 public:
  const std::string& model_id() const EML_LIFETIME_BOUND { return model_id_; }
  size_t dim() const { return dim_; }
  size_t count() const { return token_counts_.size(); }
  // embeddings: count() * dim() floats, row-major.
  const std::vector<float>& embeddings() const EML_LIFETIME_BOUND { return embeddings_; }
  const std::vector<uint64_t>& token_counts() const EML_LIFETIME_BOUND { return token_counts_; }
  // receipt: the AIR v1 receipt bytes; request / result: the exact bytes it covers.
  const std::vector<uint8_t>& receipt() const EML_LIFETIME_BOUND { return receipt_; }
  const std::vector<uint8_t>& request_bytes() const EML_LIFETIME_BOUND { return request_; }
  const std::vector<uint8_t>& result_bytes() const EML_LIFETIME_BOUND { return result_; }
  const ReceiptReport& receipt_report() const EML_LIFETIME_BOUND { return report_; }

 private:
  friend class Session;
  VerifiedEmbeddings() = default;

  std::string model_id_;
  size_t dim_ = 0;
  std::vector<float> embeddings_;
  std::vector<uint64_t> token_counts_;
  std::vector<uint8_t> receipt_;
  std::vector<uint8_t> request_;
  std::vector<uint8_t> result_;
  ReceiptReport report_;
};

// VerifiedEnclaveEvidence: a fresh document verified under the policy (bound to the request's
// nonce and the handshake's public key, with the handshake's user_data) and its receipt.
class VerifiedEnclaveEvidence {
 public:
  const std::vector<uint8_t>& document() const EML_LIFETIME_BOUND { return document_; }
  const attest::VerificationReport& report() const EML_LIFETIME_BOUND { return report_; }
  const std::vector<uint8_t>& receipt() const EML_LIFETIME_BOUND { return receipt_; }
  const ReceiptReport& receipt_report() const EML_LIFETIME_BOUND { return receipt_report_; }

 private:
  friend class Session;
  VerifiedEnclaveEvidence() = default;

  std::vector<uint8_t> document_;
  attest::VerificationReport report_;
  std::vector<uint8_t> receipt_;
  ReceiptReport receipt_report_;
};

class Session {
 public:
  // Connect: see the file comment. Errors: kInvalidArgument (no policy), transport codes,
  // handshake codes, PolicyChannelVerifier::Verify codes.
  static Result<std::unique_ptr<Session>> Connect(const Endpoint& endpoint,
                                                  const ClientOptions& options);
  // Start runs the handshake over an already open stream (relays, tests).
  static Result<std::unique_ptr<Session>> Start(std::unique_ptr<channel::Stream> stream,
                                                const ClientOptions& options);

  // Embed: one request with every text; see the file comment for errors.
  Result<VerifiedEmbeddings> Embed(std::span<const std::string> texts,
                                   const EmbedOptions& options = {});
  // Evidence asks for a fresh document bound to `nonce` (8..64 bytes when set).
  Result<VerifiedEnclaveEvidence> Evidence(const std::optional<std::vector<uint8_t>>& nonce);

  const AttestedEnclave& enclave() const EML_LIFETIME_BOUND { return enclave_; }
  // last_sequence: the highest receipt sequence_number accepted so far.
  std::optional<uint64_t> last_sequence() const { return last_sequence_; }

 private:
  struct Exchange {
    std::vector<uint8_t> request;
    std::vector<uint8_t> result;
    std::vector<uint8_t> receipt;
  };

  Session(std::unique_ptr<channel::Stream> stream, channel::Session channel,
          AttestedEnclave enclave, ClientOptions options)
      : stream_(std::move(stream)),
        channel_(std::move(channel)),
        enclave_(std::move(enclave)),
        options_(std::move(options)) {}

  int64_t Now() const;
  // RoundTrip sends one request record and returns the successful response's bytes.
  Result<Exchange> RoundTrip(std::vector<uint8_t> request, uint64_t id);
  // VerifyReceipt checks an exchange's receipt and advances the sequence on success.
  Result<ReceiptReport> VerifyReceipt(const Exchange& exchange, const AttestedModel& model,
                                      const std::optional<std::vector<uint8_t>>& nonce);
  const AttestedModel* FindModel(std::string_view id) const;
  void RememberCti(const air::Cti& cti);

  std::unique_ptr<channel::Stream> stream_;
  channel::Session channel_;
  AttestedEnclave enclave_;
  ClientOptions options_;
  uint64_t next_id_ = 1;
  std::optional<uint64_t> last_sequence_;
  // The cti of the last kSeenCtiWindow accepted receipts: a set for lookups, a queue for
  // eviction, so a long session costs O(log n) per receipt and bounded memory.
  std::set<air::Cti> seen_cti_;
  std::deque<air::Cti> seen_cti_order_;
  bool closed_ = false;
};

// Connect is Session::Connect.
inline Result<std::unique_ptr<Session>> Connect(const Endpoint& endpoint,
                                                const ClientOptions& options) {
  return Session::Connect(endpoint, options);
}

}  // namespace eml::client
