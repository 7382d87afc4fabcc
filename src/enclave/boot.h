#pragma once
// Posture: ParseListenAddress reads a command-line value (the operator's, not a peer's).
//
// eml::enclave boot helpers for apps/ephemeralml-enclave: the listen address, the measured
// configuration (what PCR1 hashes), the ready file, and atomic file writes.
//
// Measurements of the sim enclave (DESIGN.md section 5.1):
//   PCR0 = SHA-384 of the bytes of the running binary (/proc/self/exe);
//   PCR1 = SHA-384 of MeasuredConfigJson: the effective configuration that decides what the
//          enclave computes and under which bounds: platform, precision, max sessions, the
//          application protocol versions, and either the model id, model hash and scheme (a
//          plaintext --model directory, hashed before it is served) or the model owner's
//          signing key (an encrypted boot: the enclave is measured BEFORE the boot, so the
//          model id and version, which come from the untrusted boot configuration, are not in
//          PCR1; only a package signed by the measured owner key boots, and the loaded model's
//          id and hash are attested through the handshake's user_data). Values that vary per
//          run without changing behaviour are left out: the listen address, the state, model
//          and ready-file paths, the store and broker URLs, the thread count (a performance
//          knob), the pid;
//   PCR2 = SHA-384 of the trust anchors the enclave carries: the sim root certificate (DER).
//
// Thread safety: pure functions, except WriteFileAtomically (one writer per path).

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "air/claims.h"
#include "channel/address.h"
#include "common/result.h"

namespace eml::enclave {

// ParseListenAddress parses --listen: a channel address (channel/address.h: "tcp:HOST:PORT" with
// HOST an IP literal, [v6] or localhost, "unix:PATH" or "vsock:CID:PORT"; port 0 picks one).
// Listen with channel::Listen; the ready file's address is channel::FormatAddress of the
// listener's bound(). Errors: kEnclaveBadConfig.
Result<channel::Address> ParseListenAddress(std::string_view text);

struct MeasuredConfig {
  std::string platform;  // "sim"
  // The plaintext model (empty model_id for an encrypted boot: then the three model fields are
  // left out of the JSON).
  std::string model_id;
  air::Sha256Digest model_hash{};
  std::string model_hash_scheme;
  std::string precision;  // "fp32", "bf16", "int8"
  size_t max_sessions = 0;
  // The model owner's signing key ("ed25519:" + hex, model::SignerKeyId) for an encrypted boot;
  // empty for a plaintext model directory (then left out of the JSON).
  std::string owner_key;
};

// MeasuredConfigJson returns the canonical JSON (keys sorted, no spaces, hashes as lowercase
// hex) of `config` plus "protocol": 4 and "message_version": 1. PCR1 is SHA-384 of these bytes.
// "owner_key" is present only when set, so a different owner key gives a different PCR1;
// "model_id", "model_hash" and "model_hash_scheme" only when model_id is set.
std::string MeasuredConfigJson(const MeasuredConfig& config);

// MeasurementsJson returns {"pcrs": {"0": hex, ...}, "sim_root": PATH} and a newline (what
// `ephemeralml-enclave --print-measurements` prints, for pinning a release policy).
std::string MeasurementsJson(const std::map<uint32_t, std::vector<uint8_t>>& pcrs,
                             const std::string& sim_root);

struct ReadyInfo {
  std::string address;                            // channel::FormatAddress
  std::string platform;                           // "sim"
  std::string sim_root;                           // path of the sim root certificate (PEM)
  std::map<uint32_t, std::vector<uint8_t>> pcrs;  // 0, 1, 2
  std::string model_id;
  int64_t pid = 0;
  // Encrypted boot only: the cold-start breakdown (BootTimingFields), written as "cold_start_us".
  std::vector<std::pair<std::string, uint64_t>> cold_start_us;
};

// ReadyFileJson returns the ready file: {"address", "platform", "sim_root", "pcrs": {"0": hex,
// "1": hex, "2": hex}, "model_id", "pid"} (README "binaries and the local stack"), plus
// "cold_start_us": {"manifest_us": n, ...} when cold_start_us is not empty.
std::string ReadyFileJson(const ReadyInfo& info);

// WriteFileAtomically writes `contents` to a temporary file beside `path`, syncs it and renames
// it over `path`, so readers see the old file or the whole new one. Errors: kIoError.
Status WriteFileAtomically(const std::filesystem::path& path, std::string_view contents);

// ModelIdFromDirectory returns the last non-empty component of `dir` ("all-MiniLM-L6-v2").
std::string ModelIdFromDirectory(const std::filesystem::path& dir);

}  // namespace eml::enclave
