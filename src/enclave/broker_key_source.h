#pragma once
// Posture: reads the key broker's HTTP answers, which reach the enclave through the host (both
// untrusted): at most keys::http::kMaxAnswerBytes per answer, parsed by the strict bounded
// parsers of keys/http/api.h (fuzz target keys_http_body); the sealed key is authenticated by
// HPKE before any byte of it is used.
//
// eml::enclave::BrokerDataKeySource: the data key of an encrypted package by attested release
// from the key broker (DESIGN.md section 3.2; issue 5 section 4; docs/keybroker.md, "The
// enclave side"). For each DataKey call:
//   1. a fresh X25519 key pair (the private scalar lives in OpenSSL, wiped when freed);
//   2. POST /v1/challenge -> a single-use nonce;
//   3. EvidenceSource::Attest(public_key = the X25519 public key, nonce = the challenge,
//      user_data = empty): the broker checks this document against the key's release policy;
//   4. POST /v1/release {model_id, version, evidence, challenge, recipient_key} -> HPKE enc and
//      ciphertext, opened with keys::ReleaseInfo(ref, SHA-256(evidence)) into the 32-byte DEK.
// A transport failure (connect, timeout, cut-off answer) or a 5xx answer restarts the exchange
// from step 2 after a doubling backoff, at most `attempts` times in all; a denial is final.
//
// Errors of DataKey (details are one line; never key bytes):
//   kBootKeyDenied           the broker denied the release (a 403 error answer: the policy, a
//                            revoked key, a stale or replayed challenge); the detail names the
//                            broker's code, e.g. BROKER_MEASUREMENT_MISMATCH, and its message;
//   kBootKeyBadRequest  the broker rejected the request with another 4xx error answer
//                            (400 malformed, 404 unknown key, 409, ...): a misconfiguration,
//                            named in the detail like a denial;
//   kBootBrokerUnavailable   every attempt failed in transport or with a 5xx answer;
//   kReleaseBadAnswer        an answer is not the expected JSON (or is too large);
//   kReleaseUnexpectedStatus an answer's status is neither 200, a 4xx error answer nor 5xx;
//   kReleaseEvidenceMismatch the release answer names other evidence than the one sent;
//   kReleaseOpenFailed       the sealed key does not open (sealed to another key or info);
//   the evidence source's errors (attestation failed), kHttpLibraryFailure, crypto errors.
//
// Thread safety: one thread at a time (BootModel calls it once); `evidence` is shared.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/result.h"
#include "common/secret_bytes.h"
#include "enclave/evidence.h"
#include "enclave/model_boot.h"
#include "http/http_client.h"
#include "model/manifest.h"

namespace eml::enclave {

inline constexpr int kDefaultBrokerAttempts = 4;
inline constexpr int kMaxBrokerAttempts = 10;
inline constexpr std::chrono::milliseconds kDefaultBrokerBackoff{250};
inline constexpr std::chrono::milliseconds kMaxBrokerBackoff{60'000};
inline constexpr int64_t kDefaultBrokerTimeoutMs = 10'000;
inline constexpr int64_t kDefaultBrokerConnectTimeoutMs = 3'000;

struct BrokerClientOptions {
  // broker_url: "http://HOST:PORT" or "https://HOST:PORT" (a trailing '/' is dropped); the
  // routes are appended to it.
  std::string broker_url;
  // proxy: "http://HOST:PORT", "unix:PATH" or "vsock:CID:PORT" of the host's CONNECT egress proxy
  // (http::Request::proxy); empty: connect directly.
  std::string proxy;
  // ca_file: PEM bundle for an https broker instead of the system's trust store.
  std::string ca_file;
  int attempts = kDefaultBrokerAttempts;                      // 1..kMaxBrokerAttempts
  std::chrono::milliseconds backoff = kDefaultBrokerBackoff;  // doubled per retry
  int64_t timeout_ms = kDefaultBrokerTimeoutMs;               // per request
  int64_t connect_timeout_ms = kDefaultBrokerConnectTimeoutMs;
  // Sleeps between attempts (tests inject a recorder); empty: std::this_thread::sleep_for.
  std::function<void(std::chrono::milliseconds)> sleep;
  // Receives one line per failed attempt that will be retried; empty: dropped.
  std::function<void(const std::string&)> log;
};

class BrokerDataKeySource final : public DataKeySource {
 public:
  // Create checks the options and makes the HTTP client. `evidence` must outlive the source.
  // Errors: kEnclaveBadConfig (a URL that is not http(s)://, a proxy http::CheckProxy refuses,
  // attempts / backoff / timeouts out of range), kHttpLibraryFailure.
  static Result<std::unique_ptr<BrokerDataKeySource>> Create(const EvidenceSource* evidence,
                                                             BrokerClientOptions options);

  // DataKey runs the release for manifest.manifest().model_id / version. Errors: see the file
  // comment.
  Result<SecretBytes> DataKey(const model::VerifiedManifest& manifest) override;
  KeySourceTimings timings() const override { return timings_; }

 private:
  BrokerDataKeySource(const EvidenceSource* evidence, BrokerClientOptions options,
                      std::unique_ptr<http::HttpClient> client)
      : evidence_(evidence), options_(std::move(options)), client_(std::move(client)) {}

  const EvidenceSource* evidence_;
  BrokerClientOptions options_;
  std::unique_ptr<http::HttpClient> client_;
  KeySourceTimings timings_;
};

}  // namespace eml::enclave
