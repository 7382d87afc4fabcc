#pragma once
// Posture: KMS replies are untrusted (any server on the path, or the host relaying for an
// enclave, can forge them): bodies are capped at kMaxResponseBytes and parsed by
// kms_messages.h (fuzzed); CiphertextForRecipient is unwrapped by cms_unwrap.h (fuzzed).
//
// eml::keys::kms::KmsClient (DESIGN.md section 6.4): the AWS KMS JSON 1.1 protocol over
// libcurl: POST / with X-Amz-Target: TrentService.<Operation>, Content-Type
// application/x-amz-json-1.1, signed with SigV4 for service "kms". Connection errors,
// timeouts, 5xx and throttling are retried with exponential backoff (max_attempts in all),
// then reported as kKmsUnavailable. Error replies map to codes by their exception name (see
// MapErrorType in kms_messages.h).
//
// Thread safety: one thread at a time (one HTTP connection per client).
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "aws/sigv4.h"
#include "common/result.h"
#include "common/secret_bytes.h"
#include "crypto/rsa.h"
#include "keys/kms/kms_messages.h"

namespace eml::http {
class HttpClient;
}  // namespace eml::http

namespace eml::keys::kms {

struct KmsClientOptions {
  std::string region;    // e.g. "us-east-1"
  std::string endpoint;  // "" for https://kms.REGION.amazonaws.com; else http(s)://HOST[:PORT]
  aws::Credentials credentials;
  int max_attempts = 4;               // first try included (>= 1)
  int64_t retry_base_delay_ms = 100;  // doubles per retry, capped at 5 s
  int64_t timeout_ms = 10000;         // per request
  int64_t connect_timeout_ms = 3000;
  std::string ca_file;  // PEM bundle instead of the system store (tests)
  // proxy: "http://HOST:PORT" of an HTTP CONNECT proxy (the host's egress proxy for an enclave),
  // or its "unix:PATH" / "vsock:CID:PORT" (http::Request::proxy); empty: connect directly.
  std::string proxy;
  // Injected for tests; defaults are the system clock and std::this_thread::sleep_for.
  std::function<int64_t()> now_unix_s;
  std::function<void(int64_t delay_ms)> sleep_ms;
};

// RegionFromKeyArn returns the region field of "arn:PARTITION:kms:REGION:ACCOUNT:key/ID" (or
// alias/NAME), or "" when `key_id` is not a KMS ARN (a bare key id or alias).
std::string RegionFromKeyArn(std::string_view key_id);

// OptionsFromEnvironment builds options for `key_id`: region from the ARN, else AWS_REGION,
// else AWS_DEFAULT_REGION; endpoint from EPHEMERALML_KMS_ENDPOINT (tests, VPC endpoints);
// credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN.
// Errors: kKmsNoRegion, kAwsNoCredentials.
Result<KmsClientOptions> OptionsFromEnvironment(std::string_view key_id);

class KmsClient {
 public:
  // Create checks the options and makes the HTTP client (no request is sent). Errors:
  // kInvalidArgument (empty or malformed region, max_attempts < 1, negative delays),
  // kHttpBadUrl (endpoint not http(s)://HOST[:PORT]), kHttpLibraryFailure.
  static Result<std::unique_ptr<KmsClient>> Create(KmsClientOptions options);
  ~KmsClient();
  KmsClient(const KmsClient&) = delete;
  KmsClient& operator=(const KmsClient&) = delete;

  // Every operation may fail with: kInvalidArgument (see the request builders in
  // kms_messages.h), kKmsAccessDenied, kKmsNotFound, kKmsInvalidState, kKmsInvalidCiphertext,
  // kKmsRequestRejected, kAwsAuthFailed, kKmsUnavailable, kKmsBadResponse, kHttpBadUrl,
  // kHttpResponseTooLarge.

  // GenerateDataKey asks for a new AES-256 data key under `key_id`. Without a recipient the
  // result holds the plaintext key; with one, KMS encrypts it to the attested RSA key and the
  // result holds CiphertextForRecipient instead (see DecryptToEnclave for the unwrap).
  Result<DataKey> GenerateDataKey(std::string_view key_id, const Recipient* recipient = nullptr);
  // Encrypt encrypts up to 4096 bytes under `key_id`.
  Result<EncryptResult> Encrypt(std::string_view key_id, const SecretBytes& plaintext);
  // Decrypt decrypts a ciphertext blob; key_id may be empty for symmetric keys.
  Result<DecryptResult> Decrypt(std::span<const uint8_t> ciphertext_blob, std::string_view key_id,
                                const Recipient* recipient = nullptr);
  // CreateKey makes a symmetric ENCRYPT_DECRYPT key and returns its ARN (tests and setup).
  Result<std::string> CreateKey(std::string_view description);

 private:
  KmsClient(KmsClientOptions options, std::unique_ptr<http::HttpClient> client, std::string url,
            std::string host);
  // Call sends one operation with retries and returns the body of a 200 reply.
  Result<std::vector<uint8_t>> Call(std::string_view operation, std::vector<uint8_t> body);

  KmsClientOptions options_;
  std::unique_ptr<http::HttpClient> client_;
  std::string url_;   // endpoint + "/"
  std::string host_;  // Host header value
};

// DecryptToEnclave is the enclave path: Decrypt with a Recipient (the enclave's attestation
// document binding `enclave_key`'s public half), then the CMS unwrap of CiphertextForRecipient
// with `enclave_key`. The plaintext never leaves the enclave in clear. Errors: those of
// Decrypt, and those of UnwrapCiphertextForRecipient (kCms*).
Result<SecretBytes> DecryptToEnclave(KmsClient& client, std::span<const uint8_t> ciphertext_blob,
                                     std::string_view key_id, const Recipient& recipient,
                                     const crypto::RsaPrivateKey& enclave_key);

}  // namespace eml::keys::kms
