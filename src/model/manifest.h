#pragma once
// Posture: reads untrusted bytes (manifest.json and manifest.sig of a model package, fetched from
// a store through an untrusted host). Limits: ManifestLimits (bytes, files, nesting depth 8).
// Fuzz target: tests/fuzz/model_manifest_fuzz.cc (`model_manifest`).
//
// The signed model manifest (schema version 1; docs/formats.md, "Model manifest"): model id and
// version, architecture, weights format, every file of the package with role, size, SHA-256 and
// its encryption (EML STREAM v1 parameters, or null), the AIR v1 model_hash with its scheme, the
// data-key id, creation time and the signer's key id. manifest.json holds the manifest in
// canonical JSON (sorted keys, compact, UTF-8, integers only; see internal/canonical_json.h) and
// the Ed25519 signature is over exactly those bytes; manifest.sig holds it as 128 lowercase hex
// digits and a newline.
//
// Types: a Manifest is plain data (what ParseManifest returns: parsed, NOT verified).
// VerifiedManifest can only be made by VerifiedManifest::Verify, after the signature checked;
// code that acts on a package (decrypt, load, publish to an enclave) takes VerifiedManifest.
//
// Thread safety: values; no shared state.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "crypto/ed25519.h"

namespace eml::model {

inline constexpr uint64_t kManifestSchemaVersion = 1;
inline constexpr size_t kDefaultMaxManifestBytes = size_t{1} << 20;
inline constexpr size_t kDefaultMaxManifestFiles = 4096;
inline constexpr std::string_view kEncryptionSchemeStreamV1 = "eml-stream-v1";
inline constexpr std::string_view kEncryptedSuffix = ".enc";
inline constexpr std::string_view kManifestFileName = "manifest.json";
inline constexpr std::string_view kSignatureFileName = "manifest.sig";
inline constexpr std::string_view kSignerKeyIdPrefix = "ed25519:";
// File roles. The model_hash covers the "weights" files (docs/formats.md).
inline constexpr std::string_view kRoleWeights = "weights";
inline constexpr std::string_view kRoleConfig = "config";
inline constexpr std::string_view kRoleTokenizer = "tokenizer";
inline constexpr std::string_view kRoleOther = "other";
// A wrapped data key stored with the package (e.g. kms-key.json, keys/kms/key_file.h).
inline constexpr std::string_view kRoleKeyWrap = "key-wrap";

using Sha256Digest = std::array<uint8_t, 32>;

struct ManifestLimits {
  size_t max_bytes = kDefaultMaxManifestBytes;
  size_t max_files = kDefaultMaxManifestFiles;
};

// FileEncryption: how a file is stored encrypted, at "<name>.enc".
struct FileEncryption {
  std::string scheme = std::string(kEncryptionSchemeStreamV1);
  uint32_t segment_size = 0;
  std::array<uint8_t, 16> file_id{};
  uint64_t encrypted_size = 0;  // must equal crypto::StreamCiphertextSize(size, segment_size)
  Sha256Digest encrypted_sha256{};
};

struct ManifestFile {
  std::string name;       // relative path inside the model directory, '/'-separated
  std::string role;       // kRoleWeights, kRoleConfig, kRoleTokenizer, kRoleOther, kRoleKeyWrap
  uint64_t size = 0;      // plaintext bytes
  Sha256Digest sha256{};  // of the plaintext
  std::optional<FileEncryption> encryption;  // nullopt: stored as is, under `name`
};

struct Manifest {
  uint64_t schema_version = kManifestSchemaVersion;
  std::string model_id;
  std::string version;
  std::string architecture;
  std::string format;
  std::vector<ManifestFile> files;  // sorted by name, names unique
  Sha256Digest model_hash{};
  std::string model_hash_scheme;  // "sha256-single" or "sha256-concat" (AIR v1)
  std::string key_id;
  std::string created_at;     // RFC 3339 UTC, "YYYY-MM-DDTHH:MM:SSZ"
  std::string signer_key_id;  // "ed25519:" + 64 lowercase hex digits of the public key
};

// ValidateId checks a model id or version: 1..128 characters of [A-Za-z0-9._-], not starting
// with '.' (each is one path component in a store). Errors: kManifestBadField naming `field`.
Status ValidateId(const std::string& field, const std::string& value);

// ValidateFileName checks a file name: a relative '/'-separated path of [A-Za-z0-9._-] components,
// none "." or "..", at most 1024 bytes, not manifest.json or manifest.sig.
// Errors: kManifestBadFileName naming `field`.
Status ValidateFileName(const std::string& field, const std::string& name);

// StoredPath returns where `file` lives in a package: name, or name + ".enc" when encrypted.
std::string StoredPath(const ManifestFile& file);

// SignerKeyId returns "ed25519:<hex of the public key>".
std::string SignerKeyId(const crypto::Ed25519PublicKey& key);

// ValidateManifest checks every rule of the schema on a Manifest value (what Serialize requires
// and Parse guarantees). Errors: kManifestUnsupportedVersion, kManifestBadField (ids, names of
// roles, created_at, signer_key_id, key_id), kManifestBadFileName, kManifestDuplicateFile (also
// files out of name order), kManifestUnsupportedScheme, kManifestBadSize (segment size,
// encrypted_size, size above 2^53 - 1), kManifestBadHash (model_hash disagrees with a single
// weights file), kManifestTooLarge (file count). Details name the field.
Status ValidateManifest(const Manifest& manifest, const ManifestLimits& limits = {});

// ParseManifest parses canonical manifest bytes strictly (unsigned data: verify before use).
// Errors: kManifestTooLarge, kManifestBadJson, kManifestNonCanonical, kManifestDuplicateKey,
// kManifestUnknownField, kManifestMissingField, kManifestBadField (wrong JSON type or value),
// kManifestBadHash (not 64 lowercase hex digits), and ValidateManifest's errors.
Result<Manifest> ParseManifest(std::span<const uint8_t> bytes, const ManifestLimits& limits = {});

// SerializeManifest returns the canonical bytes of a valid manifest. Errors: ValidateManifest's.
Result<std::vector<uint8_t>> SerializeManifest(const Manifest& manifest);

struct SignedManifest {
  std::vector<uint8_t> manifest_json;  // canonical bytes, written as manifest.json
  std::array<uint8_t, crypto::kEd25519SignatureSize> signature{};
};

// SignManifest sets signer_key_id from `key`, serializes and signs. Errors: as SerializeManifest.
Result<SignedManifest> SignManifest(Manifest manifest, const crypto::Ed25519PrivateKey& key);

// SignatureFileBytes: the manifest.sig content, 128 lowercase hex digits and "\n".
std::vector<uint8_t> SignatureFileBytes(std::span<const uint8_t> signature);

// ParseSignatureFile reads manifest.sig (the trailing newline is optional).
// Errors: kManifestMalformedSignature.
Result<std::array<uint8_t, crypto::kEd25519SignatureSize>> ParseSignatureFile(
    std::span<const uint8_t> bytes);

class VerifiedManifest {
 public:
  // Verify checks `signature` over the exact `manifest_json` bytes with `signer` first, then
  // parses them and requires signer_key_id to name `signer`.
  // Errors: kManifestTooLarge, kManifestSignatureInvalid (any Ed25519 failure: the bytes or the
  // signature were changed, or another key signed), ParseManifest's errors, and
  // kManifestSignerMismatch.
  static Result<VerifiedManifest> Verify(std::span<const uint8_t> manifest_json,
                                         std::span<const uint8_t> signature,
                                         const crypto::Ed25519PublicKey& signer,
                                         const ManifestLimits& limits = {});

  const Manifest& manifest() const { return manifest_; }
  // bytes: the signed manifest.json bytes.
  const std::vector<uint8_t>& bytes() const { return bytes_; }
  // Find returns the entry named `name`, or nullptr.
  const ManifestFile* Find(std::string_view name) const;

 private:
  VerifiedManifest(Manifest manifest, std::vector<uint8_t> bytes)
      : manifest_(std::move(manifest)), bytes_(std::move(bytes)) {}

  Manifest manifest_;
  std::vector<uint8_t> bytes_;
};

}  // namespace eml::model
