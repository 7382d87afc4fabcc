#include "keys/kms/kms_client.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <thread>
#include <utility>
#include <vector>

#include "common/encoding.h"
#include "crypto/hash.h"
#include "http/http_client.h"
#include "keys/kms/cms_unwrap.h"

namespace eml::keys::kms {
namespace {

constexpr int64_t kMaxRetryDelayMs = 5000;
constexpr size_t kMaxRegionBytes = 32;

std::string GetEnv(const char* name) {
  const char* value = std::getenv(name);  // NOLINT(concurrency-mt-unsafe): read at start-up
  return value == nullptr ? std::string() : std::string(value);
}

bool IsValidRegion(std::string_view region) {
  return !region.empty() && region.size() <= kMaxRegionBytes &&
         std::all_of(region.begin(), region.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
         });
}

bool IsHostChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == ':' || c == '[' || c == ']';
}

// SplitEndpoint checks "http(s)://HOST[:PORT][/]" and returns HOST[:PORT] in `host`.
bool SplitEndpoint(std::string_view endpoint, std::string* host) {
  std::string_view rest;
  if (endpoint.starts_with("https://")) {
    rest = endpoint.substr(8);
  } else if (endpoint.starts_with("http://")) {
    rest = endpoint.substr(7);
  } else {
    return false;
  }
  if (rest.ends_with('/')) {
    rest.remove_suffix(1);
  }
  if (rest.empty() || !std::all_of(rest.begin(), rest.end(), IsHostChar)) {
    return false;
  }
  *host = std::string(rest);
  return true;
}

int64_t SystemNowUnixS() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void SystemSleepMs(int64_t delay_ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
}

// WipeOnExit clears a request body (it may hold a base64 plaintext) however Call returns.
struct WipeOnExit {
  std::vector<uint8_t>* bytes;
  ~WipeOnExit() { OPENSSL_cleanse(bytes->data(), bytes->size()); }
};

}  // namespace

std::string RegionFromKeyArn(std::string_view key_id) {
  // arn:PARTITION:kms:REGION:ACCOUNT:RESOURCE
  if (!key_id.starts_with("arn:")) {
    return "";
  }
  std::vector<std::string_view> fields;
  size_t start = 0;
  while (fields.size() < 5) {
    size_t colon = key_id.find(':', start);
    if (colon == std::string_view::npos) {
      return "";
    }
    fields.push_back(key_id.substr(start, colon - start));
    start = colon + 1;
  }
  if (fields[2] != "kms" || !IsValidRegion(fields[3])) {
    return "";
  }
  return std::string(fields[3]);
}

Result<KmsClientOptions> OptionsFromEnvironment(std::string_view key_id) {
  KmsClientOptions options;
  options.region = RegionFromKeyArn(key_id);
  if (options.region.empty()) {
    options.region = GetEnv("AWS_REGION");
  }
  if (options.region.empty()) {
    options.region = GetEnv("AWS_DEFAULT_REGION");
  }
  if (options.region.empty()) {
    return Error{ErrorCode::kKmsNoRegion, "no region in the key ARN, AWS_REGION is unset"};
  }
  options.endpoint = GetEnv("EPHEMERALML_KMS_ENDPOINT");
  EML_ASSIGN_OR_RETURN(options.credentials, aws::CredentialsFromEnvironment());
  return options;
}

Result<std::unique_ptr<KmsClient>> KmsClient::Create(KmsClientOptions options) {
  if (!IsValidRegion(options.region)) {
    return Error{ErrorCode::kInvalidArgument, "KMS region is empty or malformed"};
  }
  if (options.max_attempts < 1 || options.retry_base_delay_ms < 0 || options.timeout_ms <= 0 ||
      options.connect_timeout_ms <= 0) {
    return Error{ErrorCode::kInvalidArgument, "bad KMS retry or timeout options"};
  }
  std::string host;
  if (options.endpoint.empty()) {
    host = "kms." + options.region + ".amazonaws.com";
    options.endpoint = "https://" + host;
  } else if (!SplitEndpoint(options.endpoint, &host)) {
    return Error{ErrorCode::kHttpBadUrl, "KMS endpoint is not http(s)://HOST[:PORT]"};
  }
  if (!options.now_unix_s) {
    options.now_unix_s = SystemNowUnixS;
  }
  if (!options.sleep_ms) {
    options.sleep_ms = SystemSleepMs;
  }
  EML_ASSIGN_OR_RETURN(std::unique_ptr<http::HttpClient> client, http::HttpClient::Create());
  std::string url = options.endpoint;
  if (!url.ends_with('/')) {
    url += '/';
  }
  return std::unique_ptr<KmsClient>(
      new KmsClient(std::move(options), std::move(client), std::move(url), std::move(host)));
}

KmsClient::KmsClient(KmsClientOptions options, std::unique_ptr<http::HttpClient> client,
                     std::string url, std::string host)
    : options_(std::move(options)),
      client_(std::move(client)),
      url_(std::move(url)),
      host_(std::move(host)) {}

KmsClient::~KmsClient() = default;

Result<std::vector<uint8_t>> KmsClient::Call(std::string_view operation,
                                             std::vector<uint8_t> body) {
  WipeOnExit wipe{&body};
  const std::string target = "TrentService." + std::string(operation);
  const std::string payload_hash = HexEncode(crypto::Sha256(body));
  int64_t delay_ms = options_.retry_base_delay_ms;
  Error last{ErrorCode::kKmsUnavailable, "KMS was not reached"};
  for (int attempt = 1; attempt <= options_.max_attempts; ++attempt) {
    if (attempt > 1) {
      options_.sleep_ms(delay_ms);
      delay_ms = std::min(delay_ms * 2, kMaxRetryDelayMs);
    }
    aws::SignableRequest signable;
    signable.method = "POST";
    signable.host = host_;
    signable.path = "/";
    signable.headers = {{"content-type", "application/x-amz-json-1.1"}, {"x-amz-target", target}};
    signable.payload_sha256_hex = payload_hash;
    aws::SigningScope scope{options_.region, "kms", options_.now_unix_s()};
    EML_ASSIGN_OR_RETURN(aws::SignedHeaders signed_headers,
                         aws::Sign(signable, scope, options_.credentials));
    http::Request request;
    request.method = "POST";
    request.url = url_;
    request.headers = std::move(signed_headers.headers);
    request.body = body;
    request.timeout_ms = options_.timeout_ms;
    request.connect_timeout_ms = options_.connect_timeout_ms;
    request.max_response_bytes = kMaxResponseBytes;
    request.ca_file = options_.ca_file;
    request.proxy = options_.proxy;
    Result<http::Response> response = client_->Send(request);
    OPENSSL_cleanse(request.body.data(), request.body.size());
    if (!response.has_value()) {
      ErrorCode code = response.code();
      if (code != ErrorCode::kHttpConnect && code != ErrorCode::kHttpTimeout &&
          code != ErrorCode::kHttpProtocol) {
        return std::move(response).error();
      }
      last = Error{ErrorCode::kKmsUnavailable,
                   "KMS " + std::string(operation) + ": " + ToString(response.error())};
      continue;
    }
    if (response->status == 200) {
      return std::move(response->body);
    }
    std::string type = ErrorType(response->body, response->Header("x-amzn-errortype"));
    Error error = MapErrorType(response->status, type);
    if (!IsRetryable(response->status, type)) {
      return error;
    }
    last = Error{ErrorCode::kKmsUnavailable, std::move(error.detail)};
  }
  return last;
}

Result<DataKey> KmsClient::GenerateDataKey(std::string_view key_id, const Recipient* recipient) {
  EML_ASSIGN_OR_RETURN(std::vector<uint8_t> request, GenerateDataKeyRequestBody(key_id, recipient));
  EML_ASSIGN_OR_RETURN(std::vector<uint8_t> reply, Call("GenerateDataKey", std::move(request)));
  Result<DataKey> parsed = ParseGenerateDataKeyResponse(reply, recipient != nullptr);
  OPENSSL_cleanse(reply.data(), reply.size());
  return parsed;
}

Result<EncryptResult> KmsClient::Encrypt(std::string_view key_id, const SecretBytes& plaintext) {
  EML_ASSIGN_OR_RETURN(std::vector<uint8_t> request, EncryptRequestBody(key_id, plaintext));
  EML_ASSIGN_OR_RETURN(std::vector<uint8_t> reply, Call("Encrypt", std::move(request)));
  return ParseEncryptResponse(reply);
}

Result<DecryptResult> KmsClient::Decrypt(std::span<const uint8_t> ciphertext_blob,
                                         std::string_view key_id, const Recipient* recipient) {
  EML_ASSIGN_OR_RETURN(std::vector<uint8_t> request,
                       DecryptRequestBody(ciphertext_blob, key_id, recipient));
  EML_ASSIGN_OR_RETURN(std::vector<uint8_t> reply, Call("Decrypt", std::move(request)));
  Result<DecryptResult> parsed = ParseDecryptResponse(reply, recipient != nullptr);
  OPENSSL_cleanse(reply.data(), reply.size());
  return parsed;
}

Result<std::string> KmsClient::CreateKey(std::string_view description) {
  EML_ASSIGN_OR_RETURN(std::vector<uint8_t> request, CreateKeyRequestBody(description));
  EML_ASSIGN_OR_RETURN(std::vector<uint8_t> reply, Call("CreateKey", std::move(request)));
  return ParseCreateKeyResponse(reply);
}

Result<SecretBytes> DecryptToEnclave(KmsClient& client, std::span<const uint8_t> ciphertext_blob,
                                     std::string_view key_id, const Recipient& recipient,
                                     const crypto::RsaPrivateKey& enclave_key) {
  EML_ASSIGN_OR_RETURN(DecryptResult result, client.Decrypt(ciphertext_blob, key_id, &recipient));
  return UnwrapCiphertextForRecipient(result.ciphertext_for_recipient, enclave_key);
}

}  // namespace eml::keys::kms
