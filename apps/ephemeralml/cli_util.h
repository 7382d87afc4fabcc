#pragma once
// Helpers shared by the ephemeralml command files: exit codes, bounded file reading, key files,
// and the hand-off of a command's result to main() through CLI11.
// Posture: reads operator-named files (untrusted content); every read is capped by a caller-given
// byte limit checked before and while reading, so a huge file is refused without reading it all.

#include <CLI/CLI.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/secret_bytes.h"

namespace eml::apps {

inline constexpr int kExitOk = 0;
inline constexpr int kExitNotVerified = 1;  // the input was read; the answer is "no"
inline constexpr int kExitUsage = 2;        // bad flags, unreadable or malformed input

// FinishCommand ends a subcommand's callback: on an error it prints "ephemeralml: <detail>" on
// one line to stderr and exits with kExitUsage; a non-zero code leaves through
// CLI::RuntimeError(code), which main() returns. Returns normally for kExitOk.
void FinishCommand(const Result<int>& result);

// GetOrAddSubcommand returns `parent`'s subcommand `name`, adding it when absent, so that
// several command files can share a group such as "keys".
CLI::App* GetOrAddSubcommand(CLI::App& parent, const std::string& name,
                             const std::string& description);

// ReadFileLimited reads at most `max_bytes` + 1 bytes of `path` (the extra byte tells the caller
// the file is larger). Errors: kIoError (cannot open or read).
Result<std::vector<uint8_t>> ReadFileLimited(const std::string& path, size_t max_bytes);

// ReadFileCapped reads the whole of `path` when it is at most `max_bytes`.
// Errors: kIoError, kLimitExceeded (larger than max_bytes; not read beyond the limit).
Result<std::vector<uint8_t>> ReadFileCapped(const std::string& path, size_t max_bytes);

// DecodeKeyText accepts exactly `size` raw bytes, or hex for them (surrounding whitespace
// ignored). Errors: kInvalidArgument (wrong length), kBadHex.
Result<std::vector<uint8_t>> DecodeKeyMaterial(std::span<const uint8_t> contents, size_t size);

// ReadSecretKeyFile reads a `size`-byte secret (raw or hex) from `path` into SecretBytes; the
// temporary copies are wiped. Errors: as ReadFileCapped and DecodeKeyMaterial.
Result<SecretBytes> ReadSecretKeyFile(const std::string& path, size_t size);

// WriteFileAtomic writes `bytes` to `path` through a temporary file in the same folder and a
// rename, so `path` is never half-written; `mode` is applied to the new file (e.g. 0600).
// `exclusive` refuses to replace an existing file. Errors: kIoError, kInvalidArgument (exists).
Status WriteFileAtomic(const std::string& path, std::span<const uint8_t> bytes, unsigned mode,
                       bool exclusive);

}  // namespace eml::apps
