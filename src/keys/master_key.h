#pragma once
// Posture: LoadMasterKey reads an operator-provided file (at most 65 bytes are accepted, the
// mode is checked before the bytes are read) and LoadMasterKeyFromEnvironment an environment
// variable; neither ever echoes key bytes into an error.
//
// eml::keys master key: the 32-byte key under which the key broker seals every stored data key
// (ChaCha20-Poly1305, docs/keybroker.md "Master key"). It comes from a file or from the
// environment:
//   file  exactly 32 raw bytes, or 64 hex digits (optionally followed by one newline); the file
//         must be a regular file that neither group nor others can access (chmod 600)
//   env   EPHEMERALML_BROKER_MASTER_KEY = 64 hex digits
//
// Thread safety: pure functions (CreateMasterKeyFile touches only its own path).

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string_view>

#include "common/result.h"
#include "common/secret_bytes.h"

namespace eml::keys {

inline constexpr size_t kMasterKeySize = 32;
inline constexpr char kMasterKeyEnv[] = "EPHEMERALML_BROKER_MASTER_KEY";

// LoadMasterKey reads the key file at `path`. Errors: kBrokerBadMasterKey (absent, not a regular
// file, group/other accessible, wrong size, not hex), kIoError (cannot be read).
Result<SecretBytes> LoadMasterKey(const std::filesystem::path& path);

// MasterKeyFromHex decodes 64 hex digits. Errors: kBrokerBadMasterKey.
Result<SecretBytes> MasterKeyFromHex(std::string_view hex);

// LoadMasterKeyFromEnvironment returns the key in kMasterKeyEnv, or nullopt when it is unset.
// Errors: kBrokerBadMasterKey (set but not 64 hex digits).
Result<std::optional<SecretBytes>> LoadMasterKeyFromEnvironment();

// CreateMasterKeyFile writes a new random key to `path` as 64 hex digits and a newline, mode
// 0600, atomically: the file appears complete or not at all, and an existing file is never
// replaced. Errors: kBrokerBadMasterKey (the path exists), kIoError.
Status CreateMasterKeyFile(const std::filesystem::path& path);

}  // namespace eml::keys
