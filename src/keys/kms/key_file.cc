#include "keys/kms/key_file.h"

#include <algorithm>
#include <utility>

#include "common/byte_reader.h"
#include "common/encoding.h"
#include "keys/kms/kms_client.h"
#include "keys/kms/kms_messages.h"

namespace eml::keys::kms {
namespace {

// The canonical file is these three literals with the base64 blob and the ARN between them.
constexpr std::string_view kHead = "{\"ciphertext_blob\":\"";
constexpr std::string_view kMiddle = "\",\"key_arn\":\"";
constexpr std::string_view kTail = "\",\"version\":1}\n";
// Standard base64 of the largest blob, padding included.
constexpr size_t kMaxBlobBase64Bytes = (kMaxCiphertextBlobBytes + 2) / 3 * 4;

Error Malformed(std::string detail) {
  return Error{ErrorCode::kKmsKeyFileMalformed, "kms-key.json: " + std::move(detail)};
}

// JSON string characters the file may hold unescaped: printable ASCII but '"' and '\'.
bool IsPlainChar(uint8_t c) { return c >= 0x20 && c < 0x7f && c != '"' && c != '\\'; }

// ReadLiteral consumes exactly `literal`.
bool ReadLiteral(ByteReader& reader, std::string_view literal) {
  std::span<const uint8_t> got;
  return reader.ReadBytes(literal.size(), &got) &&
         std::equal(got.begin(), got.end(), literal.begin(), literal.end());
}

// ReadText consumes plain characters up to (not including) the next '"', at most `max_bytes`.
bool ReadText(ByteReader& reader, size_t max_bytes, std::string* out) {
  std::string text;
  uint8_t c = 0;
  while (reader.PeekU8(&c) && c != '"') {
    if (!IsPlainChar(c) || text.size() == max_bytes || !reader.ReadU8(&c)) {
      return false;
    }
    text.push_back(static_cast<char>(c));
  }
  *out = std::move(text);
  return true;
}

}  // namespace

Status ValidateKeyArn(std::string_view arn) {
  if (arn.empty() || arn.size() > kMaxKeyIdBytes ||
      !std::all_of(arn.begin(), arn.end(),
                   [](char c) { return IsPlainChar(static_cast<uint8_t>(c)) && c != ' '; })) {
    return Error{ErrorCode::kInvalidArgument,
                 "a KMS key ARN is 1..2048 printable ASCII characters without spaces or quotes"};
  }
  if (RegionFromKeyArn(arn).empty()) {
    return Error{ErrorCode::kInvalidArgument,
                 "not a KMS key ARN (arn:PARTITION:kms:REGION:ACCOUNT:key/ID)"};
  }
  return OkStatus();
}

std::string KeyIdForArn(std::string_view arn) {
  return std::string(kKmsKeyIdPrefix) + std::string(arn);
}

Result<std::string> KeyArnFromKeyId(std::string_view key_id) {
  if (!key_id.starts_with(kKmsKeyIdPrefix) ||
      !ValidateKeyArn(key_id.substr(kKmsKeyIdPrefix.size())).has_value()) {
    return Error{ErrorCode::kKmsNotKmsKey,
                 "key_id \"" + std::string(key_id) + "\" is not \"kms:\" and a KMS key ARN"};
  }
  return std::string(key_id.substr(kKmsKeyIdPrefix.size()));
}

Result<std::vector<uint8_t>> SerializeKmsKeyFile(const KmsKeyFile& file) {
  EML_RETURN_IF_ERROR(ValidateKeyArn(file.key_arn));
  if (file.ciphertext_blob.empty() || file.ciphertext_blob.size() > kMaxCiphertextBlobBytes) {
    return Error{ErrorCode::kInvalidArgument, "the ciphertext blob is empty or over 6144 bytes"};
  }
  std::string text = std::string(kHead) + Base64Encode(file.ciphertext_blob) +
                     std::string(kMiddle) + file.key_arn + std::string(kTail);
  return std::vector<uint8_t>(text.begin(), text.end());
}

Result<KmsKeyFile> ParseKmsKeyFile(std::span<const uint8_t> bytes) {
  if (bytes.size() > kMaxKmsKeyFileBytes) {
    return Malformed("over the size limit");
  }
  ByteReader reader(bytes);
  std::string blob_text;
  KmsKeyFile out;
  if (!ReadLiteral(reader, kHead) || !ReadText(reader, kMaxBlobBase64Bytes, &blob_text) ||
      !ReadLiteral(reader, kMiddle) || !ReadText(reader, kMaxKeyIdBytes, &out.key_arn) ||
      !ReadLiteral(reader, kTail) || !reader.empty()) {
    return Malformed(
        "not {\"ciphertext_blob\":...,\"key_arn\":...,\"version\":1} in canonical form");
  }
  Result<std::vector<uint8_t>> blob = Base64Decode(blob_text);
  if (!blob.has_value() || blob->empty() || blob->size() > kMaxCiphertextBlobBytes ||
      Base64Encode(*blob) != blob_text) {
    return Malformed("ciphertext_blob is not canonical base64 of 1..6144 bytes");
  }
  if (!ValidateKeyArn(out.key_arn).has_value()) {
    return Malformed("key_arn is not a KMS key ARN");
  }
  out.ciphertext_blob = std::move(blob).value();
  return out;
}

}  // namespace eml::keys::kms
