#include "enclave/broker_key_source.h"

#include <openssl/crypto.h>

#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "common/check.h"
#include "common/encoding.h"
#include "crypto/hash.h"
#include "crypto/hpke.h"
#include "crypto/x25519.h"
#include "keys/http/api.h"
#include "keys/release_info.h"

namespace eml::enclave {
namespace {

namespace api = keys::http;

static_assert(api::kChallengeNonceBytes == keys::kChallengeSize);
static_assert(api::kReleaseCiphertextBytes == keys::kDataKeySize + 16);
static_assert(api::kReleaseEncBytes == crypto::kX25519KeySize);

Error BadConfig(std::string detail) {
  return Error{ErrorCode::kEnclaveBadConfig, std::move(detail)};
}

// Unavailable marks a failure worth another attempt (transport, 5xx).
Error Unavailable(std::string detail) {
  return Error{ErrorCode::kBootBrokerUnavailable, std::move(detail)};
}

bool StartsWith(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

uint64_t MicrosSince(std::chrono::steady_clock::time_point start) {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                   std::chrono::steady_clock::now() - start)
                                   .count());
}

// Timed adds the time of its scope to a counter.
class Timed {
 public:
  explicit Timed(uint64_t* out) : out_(out), start_(std::chrono::steady_clock::now()) {}
  ~Timed() { *out_ += MicrosSince(start_); }
  Timed(const Timed&) = delete;
  Timed& operator=(const Timed&) = delete;

 private:
  uint64_t* out_;
  std::chrono::steady_clock::time_point start_;
};

// OneAttempt is one challenge -> attest -> release exchange with one recipient key.
class OneAttempt {
 public:
  OneAttempt(const BrokerClientOptions& options, http::HttpClient& client,
             const EvidenceSource& evidence, const crypto::X25519PrivateKey& recipient,
             KeySourceTimings& timings)
      : options_(options),
        client_(client),
        evidence_(evidence),
        recipient_(recipient),
        timings_(timings) {}

  Result<SecretBytes> Run(const keys::KeyRef& ref) {
    std::vector<uint8_t> nonce;
    {
      Timed timed(&timings_.challenge_us);
      EML_ASSIGN_OR_RETURN(const http::Response answer, Post("/v1/challenge", AsBytes("{}")));
      EML_ASSIGN_OR_RETURN(api::ChallengeAnswer challenge, api::ParseChallengeAnswer(answer.body));
      nonce = std::move(challenge.nonce);
    }
    const std::span<const uint8_t> public_key = recipient_.public_key().bytes();
    std::vector<uint8_t> document;
    {
      Timed timed(&timings_.attest_us);
      EML_ASSIGN_OR_RETURN(document, evidence_.Attest(public_key, nonce, {}));
    }
    Timed timed(&timings_.release_us);
    const api::ReleaseBody body{.model_id = ref.model_id,
                                .version = ref.version,
                                .evidence = document,
                                .challenge = std::move(nonce),
                                .recipient_key = {public_key.begin(), public_key.end()}};
    EML_ASSIGN_OR_RETURN(const http::Response answer,
                         Post("/v1/release", AsBytes(api::EncodeReleaseBody(body))));
    EML_ASSIGN_OR_RETURN(const api::ReleaseAnswer released, api::ParseReleaseAnswer(answer.body));
    const std::array<uint8_t, 32> evidence_sha256 = crypto::Sha256(document);
    if (evidence_sha256 != released.evidence_sha256) {
      return Error{ErrorCode::kReleaseEvidenceMismatch,
                   "the release answer names evidence " + HexEncode(released.evidence_sha256) +
                       ", the enclave sent " + HexEncode(evidence_sha256)};
    }
    return Open(ref, released);
  }

 private:
  Result<SecretBytes> Open(const keys::KeyRef& ref, const api::ReleaseAnswer& released) const {
    EML_ASSIGN_OR_RETURN(const crypto::HpkeSuite suite,
                         crypto::HpkeSuite::Create(crypto::HpkeKem::kDhkemX25519HkdfSha256,
                                                   crypto::HpkeKdf::kHkdfSha256,
                                                   crypto::HpkeAead::kChaCha20Poly1305));
    Result<std::vector<uint8_t>> opened =
        crypto::HpkeOpen(suite, released.enc, recipient_,
                         keys::ReleaseInfo(ref, released.evidence_sha256), {}, released.ciphertext);
    if (!opened.has_value()) {
      return Error{ErrorCode::kReleaseOpenFailed,
                   "the released key (" + released.key_id +
                       ") does not open with this enclave's key: " + ToString(opened.error())};
    }
    SecretBytes key = SecretBytes::CopyFrom(*opened);
    OPENSSL_cleanse(opened->data(), opened->size());
    return key;
  }

  // Post sends one request and returns a 200 answer; other answers and failures become the
  // errors of the file comment.
  Result<http::Response> Post(std::string_view route, std::span<const uint8_t> body) {
    http::Request request;
    request.method = "POST";
    request.url = options_.broker_url + std::string(route);
    request.headers.emplace_back("Content-Type", "application/json");
    request.body.assign(body.begin(), body.end());
    request.timeout_ms = options_.timeout_ms;
    request.connect_timeout_ms = options_.connect_timeout_ms;
    request.max_response_bytes = api::kMaxAnswerBytes;
    request.ca_file = options_.ca_file;
    request.proxy = options_.proxy;
    const std::string what = "POST " + std::string(route);
    Result<http::Response> response = client_.Send(request);
    if (!response.has_value()) {
      const ErrorCode code = response.error().code;
      if (code == ErrorCode::kHttpConnect || code == ErrorCode::kHttpTimeout ||
          code == ErrorCode::kHttpProtocol) {
        return Unavailable(what + ": " + ToString(response.error()));
      }
      if (code == ErrorCode::kHttpResponseTooLarge) {
        return Error{
            ErrorCode::kReleaseBadAnswer,
            what + ": answer larger than " + std::to_string(api::kMaxAnswerBytes) + " bytes"};
      }
      return response.error();
    }
    const int status = response->status;
    if (status == 200) {
      return response;
    }
    if (status >= 500 && status <= 599) {
      return Unavailable(what + ": broker answered HTTP " + std::to_string(status));
    }
    if (status >= 400 && status <= 499) {
      Result<api::ErrorAnswer> refusal = api::ParseErrorAnswer(response->body);
      if (refusal.has_value()) {
        // 403 is the policy's denial; any other 4xx says the request itself is wrong (unknown
        // key, malformed body): a configuration to fix, not a policy decision.
        return Error{status == 403 ? ErrorCode::kBootKeyDenied : ErrorCode::kBootKeyBadRequest,
                     what + ": broker refused (HTTP " + std::to_string(status) + ") " +
                         refusal->name + " (" + std::to_string(refusal->code) +
                         "): " + refusal->message};
      }
    }
    return Error{ErrorCode::kReleaseUnexpectedStatus,
                 what + ": broker answered HTTP " + std::to_string(status)};
  }

  const BrokerClientOptions& options_;
  http::HttpClient& client_;
  const EvidenceSource& evidence_;
  const crypto::X25519PrivateKey& recipient_;
  KeySourceTimings& timings_;
};

}  // namespace

Result<std::unique_ptr<BrokerDataKeySource>> BrokerDataKeySource::Create(
    const EvidenceSource* evidence, BrokerClientOptions options) {
  EML_CHECK(evidence != nullptr);
  if (!StartsWith(options.broker_url, "http://") && !StartsWith(options.broker_url, "https://")) {
    return BadConfig("--broker wants an http:// or https:// URL");
  }
  if (options.broker_url.back() == '/') {
    options.broker_url.pop_back();
  }
  if (!options.proxy.empty() && !http::CheckProxy(options.proxy).has_value()) {
    return BadConfig("--egress-proxy wants http://HOST:PORT, unix:PATH or vsock:CID:PORT");
  }
  if (options.attempts < 1 || options.attempts > kMaxBrokerAttempts ||
      options.backoff.count() < 0 || options.backoff > kMaxBrokerBackoff ||
      options.timeout_ms < 1 || options.connect_timeout_ms < 1) {
    return BadConfig("broker client attempts, backoff or timeouts out of range");
  }
  EML_ASSIGN_OR_RETURN(std::unique_ptr<http::HttpClient> client, http::HttpClient::Create());
  return std::unique_ptr<BrokerDataKeySource>(
      new BrokerDataKeySource(evidence, std::move(options), std::move(client)));
}

Result<SecretBytes> BrokerDataKeySource::DataKey(const model::VerifiedManifest& manifest) {
  timings_ = {};
  const keys::KeyRef ref{manifest.manifest().model_id, manifest.manifest().version};
  EML_ASSIGN_OR_RETURN(const crypto::X25519PrivateKey recipient,
                       crypto::X25519PrivateKey::Generate());
  OneAttempt attempt(options_, *client_, *evidence_, recipient, timings_);
  std::chrono::milliseconds backoff = options_.backoff;
  for (int i = 1;; ++i) {
    Result<SecretBytes> key = attempt.Run(ref);
    if (key.has_value() || key.error().code != ErrorCode::kBootBrokerUnavailable) {
      return key;
    }
    if (i == options_.attempts) {
      return Unavailable("key broker " + options_.broker_url + " unavailable after " +
                         std::to_string(i) + " attempts; last: " + key.error().detail);
    }
    if (options_.log) {
      options_.log("key broker attempt " + std::to_string(i) + " failed (" + key.error().detail +
                   "); retrying in " + std::to_string(backoff.count()) + " ms");
    }
    if (options_.sleep) {
      options_.sleep(backoff);
    } else {
      std::this_thread::sleep_for(backoff);
    }
    backoff *= 2;
  }
}

}  // namespace eml::enclave
