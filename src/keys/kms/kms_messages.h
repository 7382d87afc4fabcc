#pragma once
// Posture: the Parse* functions read untrusted bytes: KMS response bodies, which any server on
// the path (or the host relaying for an enclave) can forge. Bodies are capped at
// kMaxResponseBytes, JSON nesting at kMaxJsonDepth; duplicate keys, invalid UTF-8, trailing
// text, a wrong type in a field the operation reads, bad base64 and oversized fields are
// refused; unknown fields are ignored (AWS adds fields over time). nlohmann-json exceptions
// never leave this file. Fuzz target: tests/fuzz/keys_kms_response_fuzz.cc.
//
// eml::keys::kms message layer for the AWS KMS JSON 1.1 protocol (TrentService): request
// bodies for GenerateDataKey, Encrypt, Decrypt (with an optional Recipient) and CreateKey, the
// matching response parsers, and the mapping of KMS error bodies to error codes.
//
// Thread safety: pure functions.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/secret_bytes.h"

namespace eml::keys::kms {

inline constexpr size_t kMaxResponseBytes = 64 * 1024;
inline constexpr size_t kMaxJsonDepth = 8;
// KMS limits: key ids up to 2048 characters, plaintexts up to 4096 bytes, ciphertext blobs up
// to 6144 bytes; an attestation document is at most 16 KiB.
inline constexpr size_t kMaxKeyIdBytes = 2048;
inline constexpr size_t kMaxPlaintextBytes = 4096;
inline constexpr size_t kMaxCiphertextBlobBytes = 6144;
inline constexpr size_t kMaxAttestationDocumentBytes = 16 * 1024;
inline constexpr size_t kAes256DataKeySize = 32;

// Recipient: the enclave's attestation document, whose public_key field holds the RSA-2048
// SubjectPublicKeyInfo KMS encrypts to (KeyEncryptionAlgorithm RSAES_OAEP_SHA_256).
struct Recipient {
  std::vector<uint8_t> attestation_document;
};

// Request bodies (JSON). Errors: kInvalidArgument (a key id that is empty, too long or not
// printable ASCII; a plaintext, blob or attestation document over its KMS limit).
Result<std::vector<uint8_t>> GenerateDataKeyRequestBody(std::string_view key_id,
                                                        const Recipient* recipient);
Result<std::vector<uint8_t>> EncryptRequestBody(std::string_view key_id,
                                                const SecretBytes& plaintext);
// key_id may be empty for symmetric keys (KMS finds the key from the blob).
Result<std::vector<uint8_t>> DecryptRequestBody(std::span<const uint8_t> ciphertext_blob,
                                                std::string_view key_id,
                                                const Recipient* recipient);
Result<std::vector<uint8_t>> CreateKeyRequestBody(std::string_view description);

// Exactly one of plaintext / ciphertext_for_recipient is set in a parsed response.
struct DataKey {
  std::string key_id;                             // the key ARN KMS used
  std::vector<uint8_t> ciphertext_blob;           // to store beside the encrypted data
  SecretBytes plaintext;                          // 32 bytes; empty when a Recipient was given
  std::vector<uint8_t> ciphertext_for_recipient;  // CMS EnvelopedData (BER)
};

struct DecryptResult {
  std::string key_id;
  SecretBytes plaintext;  // empty when a Recipient was given
  std::vector<uint8_t> ciphertext_for_recipient;
};

struct EncryptResult {
  std::string key_id;
  std::vector<uint8_t> ciphertext_blob;
};

// Response parsers. `expect_recipient` says whether the request carried a Recipient: then
// CiphertextForRecipient must be present and Plaintext absent or null, otherwise the reverse.
// Errors: kKmsBadResponse (any deviation listed in the posture; a data key that is not 32
// bytes).
Result<DataKey> ParseGenerateDataKeyResponse(std::span<const uint8_t> body, bool expect_recipient);
Result<DecryptResult> ParseDecryptResponse(std::span<const uint8_t> body, bool expect_recipient);
Result<EncryptResult> ParseEncryptResponse(std::span<const uint8_t> body);
// ParseCreateKeyResponse returns KeyMetadata.Arn.
Result<std::string> ParseCreateKeyResponse(std::span<const uint8_t> body);

// ErrorType returns the short KMS exception name of an error reply: the x-amzn-errortype header
// when given, else the body's "__type", without any "namespace#" prefix and ":" suffix; empty
// when neither can be read.
std::string ErrorType(std::span<const uint8_t> body, const std::string* header);

// MapErrorType maps an HTTP status and exception name to an error: kKmsAccessDenied,
// kKmsNotFound, kKmsInvalidState, kKmsInvalidCiphertext, kAwsAuthFailed, kKmsUnavailable
// (throttling and server faults), kKmsRequestRejected (any other). The detail holds the
// status and the name, never message text.
Error MapErrorType(int status, std::string_view error_type);

// IsRetryable: throttling, KMS internal and dependency faults, and 5xx statuses.
bool IsRetryable(int status, std::string_view error_type);

}  // namespace eml::keys::kms
