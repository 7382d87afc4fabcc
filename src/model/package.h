#pragma once
// Posture: reads untrusted bytes (a package directory: manifest.json, manifest.sig and the files
// it lists, possibly tampered with by a store or host). Limits: the manifest through
// ManifestLimits; every file is streamed with one segment (or 1 MiB copy buffer) in memory and
// never read past the size the signed manifest gives; the encrypted files through
// crypto::DecryptOptions. Fuzz target: the manifest parser (`model_manifest`); the file checks are
// hashes and the stream cipher's tamper tests.
//
// Model packages (docs/formats.md, "Model package"): a directory holding
//   manifest.json   canonical signed manifest (manifest.h)
//   manifest.sig    Ed25519 signature, hex
//   <name>          files stored as is (config, tokenizer, README ...)
//   <name>.enc      files encrypted with EML STREAM v1 under the package's data key (DEK)
// PackModel builds one from a Hugging Face model directory; VerifyPackage checks one;
// ReadPackageFile decrypts one file into memory (the enclave path).
//
// Thread safety: free functions without shared state.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/secret_bytes.h"
#include "crypto/ed25519.h"
#include "crypto/stream_aead.h"
#include "model/manifest.h"

namespace eml::model {

// Progress of a pack or verify, after each segment or copy block.
struct PackageProgress {
  std::string file;
  uint64_t file_done = 0;
  uint64_t file_size = 0;
  uint64_t total_done = 0;
  uint64_t total_size = 0;
};
using ProgressFn = std::function<void(const PackageProgress&)>;

// PackedExtraFile: a file made by the packer rather than taken from the model directory (e.g.
// kms-key.json), stored unencrypted and listed in the manifest like any other.
struct PackedExtraFile {
  std::string name;  // must not clash with a model directory file
  std::string role;  // e.g. kRoleKeyWrap
  std::vector<uint8_t> bytes;
};

struct PackOptions {
  std::string model_id;
  std::string version;
  std::string architecture;                // empty: config.json "model_type"
  std::string key_id;                      // empty: "dek-" and 32 random hex digits
  std::optional<int64_t> created_at_unix;  // empty: now
  bool encrypt_all = false;  // else only weights and other weight-like files (.onnx, .bin, ...)
  uint32_t segment_size = crypto::kDefaultSegmentSize;
  std::vector<PackedExtraFile> extra_files;
  ProgressFn progress;
};

// FileRoleFor returns the role PackModel gives `name` (relative path) when the primary weights
// format is `format` ("safetensors" or "gguf"), and IsSecretByDefault whether it is encrypted
// without --encrypt-all (weights, and weight-like files such as .onnx/.bin/.pt/.h5).
std::string FileRoleFor(std::string_view name, std::string_view format);
bool IsSecretByDefault(std::string_view name, std::string_view role);

// PackModel hashes every regular file of `model_dir` (recursively, sorted by name; names starting
// with '.' are skipped, symlinks to regular files are followed), encrypts the secret ones with
// `dek` segment by segment, adds `options.extra_files` unencrypted, writes manifest.json and
// manifest.sig signed by `signer`, all into a temporary sibling of `out_dir` that is renamed to
// `out_dir` at the end (nothing is left behind on error). The model_hash is the weights file's
// SHA-256 (sha256-single) or, for several weights files, the SHA-256 of their concatenation in
// name order (sha256-concat).
// Errors: kPackageOutputExists, kPackageBadModelDir (not a directory, no .safetensors or .gguf
// weights, no architecture, a name the manifest cannot hold, a special file, an extra file whose
// name is taken), kNotFound, kIoError, kCryptoBadKeyLength, ValidateManifest's errors.
Result<Manifest> PackModel(const std::filesystem::path& model_dir,
                           const std::filesystem::path& out_dir, const SecretBytes& dek,
                           const crypto::Ed25519PrivateKey& signer, const PackOptions& options);

// LoadVerifiedManifest reads manifest.json and manifest.sig of `package_dir` and verifies them.
// Errors: kNotFound, kIoError, kManifestTooLarge, ParseSignatureFile's and
// VerifiedManifest::Verify's errors.
Result<VerifiedManifest> LoadVerifiedManifest(const std::filesystem::path& package_dir,
                                              const crypto::Ed25519PublicKey& signer);

struct VerifyOptions {
  const SecretBytes* dek = nullptr;  // when set, encrypted files are decrypted and checked
  ProgressFn progress;
};

struct PackageReport {
  size_t files_checked = 0;
  size_t files_decrypted = 0;
  uint64_t bytes_checked = 0;
};

// VerifyPackage checks the signature, that the directory holds exactly the listed files, and
// every file's size and SHA-256. Encrypted files: with a DEK they are decrypted (stream errors
// name the failing segment) and the plaintext checked, then the ciphertext; without one only
// encrypted_size and encrypted_sha256 are checked. A sha256-concat model_hash is recomputed
// when every weights file could be read.
// Errors: LoadVerifiedManifest's, kPackageUnlistedFile, kPackageFileMissing,
// kPackageSizeMismatch, kPackageHashMismatch, kStream* (crypto/stream_aead.h), kIoError.
Result<PackageReport> VerifyPackage(const std::filesystem::path& package_dir,
                                    const crypto::Ed25519PublicKey& signer,
                                    const VerifyOptions& options = {});

// ReadPackageFile returns the plaintext of the file `name` of a verified manifest, decrypting it
// segment by segment into the returned buffer when it is encrypted (`dek` required then), and
// checks its size and SHA-256. The buffer is secret storage (wiped when dropped).
// Errors: kNotFound (no such entry), kInvalidArgument (encrypted and no dek),
// kPackageFileMissing, kPackageSizeMismatch, kPackageHashMismatch, kStream*, kIoError.
Result<SecretBytes> ReadPackageFile(const std::filesystem::path& package_dir,
                                    const VerifiedManifest& manifest, std::string_view name,
                                    const SecretBytes* dek);

}  // namespace eml::model
