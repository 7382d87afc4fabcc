#pragma once
// Posture: ParseKmsKeyFile reads untrusted bytes: kms-key.json as a model store returns it (the
// store, and the host in front of it, may be hostile). Input is capped at kMaxKmsKeyFileBytes and
// must be byte for byte the one canonical spelling SerializeKmsKeyFile writes; it is read through
// eml::ByteReader, the blob is at most kms::kMaxCiphertextBlobBytes and the ARN at most
// kms::kMaxKeyIdBytes printable ASCII characters. Fuzz target: tests/fuzz/keys_kms_key_file_fuzz.cc
// (`keys_kms_key_file`).
//
// kms-key.json (docs/formats.md, "KMS key file"): the data key of a package packed with
// `ephemeralml model pack --kms-key ARN`, wrapped by AWS KMS (the CiphertextBlob of
// GenerateDataKey). Canonical JSON: sorted keys, compact, one trailing newline:
//   {"ciphertext_blob":"<standard base64>","key_arn":"<ARN>","version":1}\n
// The package lists the file in its signed manifest with role "key-wrap" (model::kRoleKeyWrap),
// and the manifest's key_id is "kms:" + the same ARN. The blob is no secret: only KMS can open it,
// and KMS hands the key only to a caller its key policy allows (an attested enclave).
//
// Thread safety: pure functions.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace eml::keys::kms {

inline constexpr std::string_view kKmsKeyFileName = "kms-key.json";
inline constexpr std::string_view kKmsKeyIdPrefix = "kms:";
inline constexpr size_t kMaxKmsKeyFileBytes = 16 * 1024;

struct KmsKeyFile {
  std::string key_arn;                   // "arn:PARTITION:kms:REGION:ACCOUNT:key/ID" (or alias/)
  std::vector<uint8_t> ciphertext_blob;  // GenerateDataKey's CiphertextBlob
};

// ValidateKeyArn checks that `arn` is a KMS key ARN with a region (see RegionFromKeyArn in
// kms_client.h), of printable ASCII without quotes or backslashes, at most kMaxKeyIdBytes.
// Errors: kInvalidArgument.
Status ValidateKeyArn(std::string_view arn);

// KeyIdForArn returns the manifest key_id of a KMS-wrapped package: "kms:" + arn.
std::string KeyIdForArn(std::string_view arn);

// KeyArnFromKeyId returns the ARN of a "kms:" key id. Errors: kKmsNotKmsKey (no "kms:" prefix
// or not a valid ARN after it).
Result<std::string> KeyArnFromKeyId(std::string_view key_id);

// SerializeKmsKeyFile returns the canonical bytes of `file`. Errors: kInvalidArgument (a bad
// ARN, an empty blob or one over kMaxCiphertextBlobBytes).
Result<std::vector<uint8_t>> SerializeKmsKeyFile(const KmsKeyFile& file);

// ParseKmsKeyFile reads canonical key file bytes. Errors: kKmsKeyFileMalformed (over the size
// limit, any other spelling, another version, bad base64, an empty or oversized blob, a bad
// ARN). Every accepted input re-serializes to the same bytes.
Result<KmsKeyFile> ParseKmsKeyFile(std::span<const uint8_t> bytes);

}  // namespace eml::keys::kms
