#include "keys/kms/kms_messages.h"

#include <openssl/crypto.h>

#include <exception>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <utility>

#include "common/encoding.h"

namespace eml::keys::kms {
namespace {

using Json = nlohmann::json;

Error BadResponse(std::string detail) {
  return Error{ErrorCode::kKmsBadResponse, std::move(detail)};
}
Error BadArgument(std::string detail) {
  return Error{ErrorCode::kInvalidArgument, std::move(detail)};
}

// Thrown by the parse callback to stop early; caught in ParseObject, never leaves this file.
struct StopParse {};

// ParseObject parses one JSON object with the depth, duplicate-key and size rules of the
// posture comment.
Result<Json> ParseObject(std::span<const uint8_t> body) {
  if (body.size() > kMaxResponseBytes) {
    return BadResponse("KMS response is over the size limit");
  }
  bool refused = false;
  std::vector<std::set<std::string>> open_objects;
  const Json::parser_callback_t callback = [&](int depth, Json::parse_event_t event, Json& parsed) {
    switch (event) {
      case Json::parse_event_t::object_start:
      case Json::parse_event_t::array_start:
        if (depth < 0 || static_cast<size_t>(depth) >= kMaxJsonDepth) {
          refused = true;
          throw StopParse{};
        }
        if (event == Json::parse_event_t::object_start) {
          open_objects.emplace_back();
        }
        break;
      case Json::parse_event_t::object_end:
        if (!open_objects.empty()) {
          open_objects.pop_back();
        }
        break;
      case Json::parse_event_t::key:
        if (open_objects.empty() || !parsed.is_string() ||
            !open_objects.back().insert(parsed.get_ref<const std::string&>()).second) {
          refused = true;
          throw StopParse{};
        }
        break;
      case Json::parse_event_t::array_end:
      case Json::parse_event_t::value:
        break;
    }
    return true;
  };
  Json value;
  try {
    value = Json::parse(body.begin(), body.end(), callback, /*allow_exceptions=*/false);
  } catch (const StopParse&) {
    refused = true;
  } catch (const std::exception&) {
    refused = true;
  }
  if (refused || value.is_discarded() || !value.is_object()) {
    return BadResponse("KMS response is not a valid JSON object");
  }
  return value;
}

// Field lookups: absent and null are the same ("not given").
const Json* Find(const Json& object, const char* name) {
  auto it = object.find(name);
  if (it == object.end() || it->is_null()) {
    return nullptr;
  }
  return &*it;
}

Result<std::string> RequiredString(const Json& object, const char* name, size_t max_bytes) {
  const Json* field = Find(object, name);
  if (field == nullptr || !field->is_string()) {
    return BadResponse(std::string("KMS response lacks string field ") + name);
  }
  const auto& text = field->get_ref<const std::string&>();
  if (text.empty() || text.size() > max_bytes) {
    return BadResponse(std::string("KMS response field ") + name + " has a bad size");
  }
  return text;
}

// Base64Field decodes a base64 field into `out`; absent leaves `present` false.
Status Base64Field(const Json& object, const char* name, size_t max_bytes,
                   std::vector<uint8_t>* out, bool* present) {
  const Json* field = Find(object, name);
  *present = field != nullptr;
  if (field == nullptr) {
    return OkStatus();
  }
  if (!field->is_string() || field->get_ref<const std::string&>().size() > 2 * max_bytes) {
    return BadResponse(std::string("KMS response field ") + name + " is not a bounded string");
  }
  Result<std::vector<uint8_t>> decoded = Base64Decode(field->get_ref<const std::string&>());
  if (!decoded.has_value() || decoded->empty() || decoded->size() > max_bytes) {
    return BadResponse(std::string("KMS response field ") + name + " is not valid base64");
  }
  *out = std::move(decoded).value();
  return OkStatus();
}

// SecretField decodes the base64 "Plaintext" field into secret storage and wipes the copies.
Status SecretField(Json& object, const char* name, SecretBytes* out, bool* present) {
  std::vector<uint8_t> bytes;
  Status status = Base64Field(object, name, kMaxPlaintextBytes, &bytes, present);
  if (status.has_value() && *present) {
    *out = SecretBytes::CopyFrom(bytes);
  }
  OPENSSL_cleanse(bytes.data(), bytes.size());
  auto it = object.find(name);
  if (it != object.end() && it->is_string()) {
    auto& text = it->get_ref<std::string&>();
    OPENSSL_cleanse(text.data(), text.size());
  }
  return status;
}

// PlaintextOrRecipient reads the pair of fields one of which a reply to a request with (or
// without) a Recipient must carry.
Status PlaintextOrRecipient(Json& object, bool expect_recipient, SecretBytes* plaintext,
                            std::vector<uint8_t>* for_recipient) {
  bool has_plaintext = false;
  bool has_recipient = false;
  EML_RETURN_IF_ERROR(SecretField(object, "Plaintext", plaintext, &has_plaintext));
  EML_RETURN_IF_ERROR(Base64Field(object, "CiphertextForRecipient", kMaxCiphertextBlobBytes * 4,
                                  for_recipient, &has_recipient));
  if (expect_recipient && (!has_recipient || has_plaintext)) {
    plaintext->Wipe();
    return BadResponse("KMS reply to a Recipient request lacks CiphertextForRecipient");
  }
  if (!expect_recipient && (!has_plaintext || has_recipient)) {
    plaintext->Wipe();
    return BadResponse("KMS reply lacks Plaintext");
  }
  return OkStatus();
}

bool IsPrintableAscii(std::string_view text) {
  for (char c : text) {
    if (c < 0x20 || c > 0x7e) {
      return false;
    }
  }
  return true;
}

Status CheckKeyId(std::string_view key_id) {
  if (key_id.empty() || key_id.size() > kMaxKeyIdBytes || !IsPrintableAscii(key_id)) {
    return BadArgument("KMS key id is empty, too long or not printable ASCII");
  }
  return OkStatus();
}

Status AddRecipient(const Recipient* recipient, Json* request) {
  if (recipient == nullptr) {
    return OkStatus();
  }
  if (recipient->attestation_document.empty() ||
      recipient->attestation_document.size() > kMaxAttestationDocumentBytes) {
    return BadArgument("attestation document is empty or too large");
  }
  (*request)["Recipient"] = {
      {"KeyEncryptionAlgorithm", "RSAES_OAEP_SHA_256"},
      {"AttestationDocument", Base64Encode(recipient->attestation_document)},
  };
  return OkStatus();
}

// Serialize writes `request`, whose strings are all ASCII (checked or base64), as bytes.
Result<std::vector<uint8_t>> Serialize(const Json& request) {
  try {
    std::string text = request.dump();
    std::vector<uint8_t> out(text.begin(), text.end());
    OPENSSL_cleanse(text.data(), text.size());
    return out;
  } catch (const std::exception&) {
    return BadArgument("KMS request could not be serialised");
  }
}

}  // namespace

Result<std::vector<uint8_t>> GenerateDataKeyRequestBody(std::string_view key_id,
                                                        const Recipient* recipient) {
  EML_RETURN_IF_ERROR(CheckKeyId(key_id));
  Json request = {{"KeyId", std::string(key_id)}, {"KeySpec", "AES_256"}};
  EML_RETURN_IF_ERROR(AddRecipient(recipient, &request));
  return Serialize(request);
}

Result<std::vector<uint8_t>> EncryptRequestBody(std::string_view key_id,
                                                const SecretBytes& plaintext) {
  EML_RETURN_IF_ERROR(CheckKeyId(key_id));
  if (plaintext.empty() || plaintext.size() > kMaxPlaintextBytes) {
    return BadArgument("KMS plaintext must be 1 to 4096 bytes");
  }
  Json request = {{"KeyId", std::string(key_id)},
                  {"Plaintext", Base64Encode(plaintext.Reveal(InsecureSecretAccess::Get()))}};
  Result<std::vector<uint8_t>> body = Serialize(request);
  auto& text = request["Plaintext"].get_ref<std::string&>();
  OPENSSL_cleanse(text.data(), text.size());
  return body;
}

Result<std::vector<uint8_t>> DecryptRequestBody(std::span<const uint8_t> ciphertext_blob,
                                                std::string_view key_id,
                                                const Recipient* recipient) {
  if (ciphertext_blob.empty() || ciphertext_blob.size() > kMaxCiphertextBlobBytes) {
    return BadArgument("KMS ciphertext blob must be 1 to 6144 bytes");
  }
  Json request = {{"CiphertextBlob", Base64Encode(ciphertext_blob)}};
  if (!key_id.empty()) {
    EML_RETURN_IF_ERROR(CheckKeyId(key_id));
    request["KeyId"] = std::string(key_id);
  }
  EML_RETURN_IF_ERROR(AddRecipient(recipient, &request));
  return Serialize(request);
}

Result<std::vector<uint8_t>> CreateKeyRequestBody(std::string_view description) {
  if (description.size() > 8192 || !IsPrintableAscii(description)) {
    return BadArgument("key description must be printable ASCII up to 8192 bytes");
  }
  Json request = {{"Description", std::string(description)},
                  {"KeySpec", "SYMMETRIC_DEFAULT"},
                  {"KeyUsage", "ENCRYPT_DECRYPT"}};
  return Serialize(request);
}

Result<DataKey> ParseGenerateDataKeyResponse(std::span<const uint8_t> body, bool expect_recipient) {
  EML_ASSIGN_OR_RETURN(Json object, ParseObject(body));
  DataKey out;
  EML_ASSIGN_OR_RETURN(out.key_id, RequiredString(object, "KeyId", kMaxKeyIdBytes));
  bool has_blob = false;
  EML_RETURN_IF_ERROR(Base64Field(object, "CiphertextBlob", kMaxCiphertextBlobBytes,
                                  &out.ciphertext_blob, &has_blob));
  if (!has_blob) {
    return BadResponse("KMS GenerateDataKey reply lacks CiphertextBlob");
  }
  EML_RETURN_IF_ERROR(PlaintextOrRecipient(object, expect_recipient, &out.plaintext,
                                           &out.ciphertext_for_recipient));
  if (!expect_recipient && out.plaintext.size() != kAes256DataKeySize) {
    return BadResponse("KMS data key is not 32 bytes");
  }
  return out;
}

Result<DecryptResult> ParseDecryptResponse(std::span<const uint8_t> body, bool expect_recipient) {
  EML_ASSIGN_OR_RETURN(Json object, ParseObject(body));
  DecryptResult out;
  EML_ASSIGN_OR_RETURN(out.key_id, RequiredString(object, "KeyId", kMaxKeyIdBytes));
  EML_RETURN_IF_ERROR(PlaintextOrRecipient(object, expect_recipient, &out.plaintext,
                                           &out.ciphertext_for_recipient));
  return out;
}

Result<EncryptResult> ParseEncryptResponse(std::span<const uint8_t> body) {
  EML_ASSIGN_OR_RETURN(Json object, ParseObject(body));
  EncryptResult out;
  EML_ASSIGN_OR_RETURN(out.key_id, RequiredString(object, "KeyId", kMaxKeyIdBytes));
  bool has_blob = false;
  EML_RETURN_IF_ERROR(Base64Field(object, "CiphertextBlob", kMaxCiphertextBlobBytes,
                                  &out.ciphertext_blob, &has_blob));
  if (!has_blob) {
    return BadResponse("KMS Encrypt reply lacks CiphertextBlob");
  }
  return out;
}

Result<std::string> ParseCreateKeyResponse(std::span<const uint8_t> body) {
  EML_ASSIGN_OR_RETURN(Json object, ParseObject(body));
  const Json* metadata = Find(object, "KeyMetadata");
  if (metadata == nullptr || !metadata->is_object()) {
    return BadResponse("KMS CreateKey reply lacks KeyMetadata");
  }
  EML_ASSIGN_OR_RETURN(std::string arn, RequiredString(*metadata, "Arn", kMaxKeyIdBytes));
  if (!IsPrintableAscii(arn)) {
    return BadResponse("KMS key ARN is not printable ASCII");
  }
  return arn;
}

std::string ErrorType(std::span<const uint8_t> body, const std::string* header) {
  std::string type;
  if (header != nullptr) {
    type = *header;
  } else {
    Result<Json> object = ParseObject(body);
    if (object.has_value()) {
      const Json* field = Find(*object, "__type");
      if (field != nullptr && field->is_string()) {
        type = field->get_ref<const std::string&>();
      }
    }
  }
  size_t hash = type.rfind('#');
  if (hash != std::string::npos) {
    type = type.substr(hash + 1);
  }
  type = type.substr(0, type.find(':'));
  if (type.size() > 128 || !IsPrintableAscii(type)) {
    return "";
  }
  return type;
}

Error MapErrorType(int status, std::string_view error_type) {
  std::string detail = "KMS answered " + std::to_string(status) + " " + std::string(error_type);
  ErrorCode code = ErrorCode::kKmsRequestRejected;
  if (error_type == "AccessDeniedException") {
    code = ErrorCode::kKmsAccessDenied;
  } else if (error_type == "NotFoundException") {
    code = ErrorCode::kKmsNotFound;
  } else if (error_type == "KMSInvalidStateException" || error_type == "DisabledException" ||
             error_type == "KeyUnavailableException") {
    code = ErrorCode::kKmsInvalidState;
  } else if (error_type == "InvalidCiphertextException" || error_type == "IncorrectKeyException") {
    code = ErrorCode::kKmsInvalidCiphertext;
  } else if (error_type == "UnrecognizedClientException" ||
             error_type == "InvalidSignatureException" || error_type == "IncompleteSignature" ||
             error_type == "MissingAuthenticationToken" || error_type == "ExpiredTokenException" ||
             error_type == "SignatureDoesNotMatch" || status == 401) {
    code = ErrorCode::kAwsAuthFailed;
  } else if (IsRetryable(status, error_type)) {
    code = ErrorCode::kKmsUnavailable;
  }
  return Error{code, std::move(detail)};
}

bool IsRetryable(int status, std::string_view error_type) {
  return status >= 500 || status == 429 || error_type == "ThrottlingException" ||
         error_type == "KMSInternalException" || error_type == "DependencyTimeoutException";
}

}  // namespace eml::keys::kms
