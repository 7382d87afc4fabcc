#pragma once
// Posture: ParseBootConfig reads the boot configuration the host serves to the enclave
// (`ephemeralml-enclave --boot-from`): untrusted bytes. At most kMaxBootConfigBytes are looked
// at; the document must be one JSON object (nesting and duplicate keys refused, as for the key
// broker's bodies: keys::http::CheckStrictJsonObject) with exactly the fields below, each of its
// type, no empty strings, and printable ASCII only in the URL fields. Nothing here opens a store
// or a connection: the boot that uses the result checks the URLs again as its flags would be
// (OpenBootStore, BrokerDataKeySource). Fuzz target: enclave_boot_config.
//
// The boot configuration (docs/formats.md, "Boot configuration"):
//   {"v": 1, "model_id": ID, "model_version": VERSION, "store": STORE_URL,
//    "key_source": "broker" | "kms", "broker": URL (with "broker" only, and then required),
//    "egress_proxy": PROXY (optional), "max_model_mb": UINT (optional, 1..2^44-1)}
// ID and VERSION follow model::ValidateId; STORE_URL is file:///PATH, s3://BUCKET[/PREFIX],
// http://HOST:PORT, unix:PATH or vsock:CID:PORT; the broker URL http(s)://...; PROXY
// http://HOST:PORT, unix:PATH or vsock:CID:PORT. What it does NOT hold: the owner key, which
// stays in the enclave's measured command line (PCR1): a hostile configuration can only name
// packages the owner signed, and the manifest checks refuse any other model id or version.
//
// Thread safety: pure functions.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "common/result.h"

namespace eml::enclave {

inline constexpr size_t kMaxBootConfigBytes = 16 * 1024;
inline constexpr size_t kMaxBootConfigUrlBytes = 2048;

struct BootConfig {
  enum class KeySource { kBroker, kKms };
  std::string model_id;
  std::string model_version;
  std::string store;
  KeySource key_source = KeySource::kBroker;
  std::string broker;                    // kBroker only
  std::string egress_proxy;              // empty: none
  std::optional<uint64_t> max_model_mb;  // absent: the enclave's own bound
};

// ParseBootConfig parses and checks a boot configuration. Errors: kBootConfigMalformed (the
// detail names the field; never echoes more than a short printable key name).
Result<BootConfig> ParseBootConfig(std::span<const uint8_t> bytes);

// FormatBootConfig renders `config` as compact JSON with the keys in sorted order; for a valid
// configuration ParseBootConfig gives it back.
std::string FormatBootConfig(const BootConfig& config);

// BootConfigExitCode: the exit code of ephemeralml-enclave for a --boot-from failure
// (docs/operations.md): 30 kBootConfigUnreachable, 31 kBootConfigMalformed; 0 for any other code.
int BootConfigExitCode(ErrorCode code);

}  // namespace eml::enclave
