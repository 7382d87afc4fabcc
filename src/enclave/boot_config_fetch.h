#pragma once
// Posture: FetchBootConfig reads from the host (untrusted): a 4-byte big-endian length, refused
// above kMaxBootConfigBytes before any more is read, then that many bytes within a deadline,
// parsed by ParseBootConfig (enclave/boot_config.h).
//
// eml::enclave::FetchBootConfig: the enclave's side of `--boot-from ADDR`. The host's boot
// configuration listener (host/boot_config_server.h) answers every connection with the length
// and its file's bytes, then closes; the enclave sends nothing. Connecting and reading are tried
// `attempts` times with doubling backoff (the host may still be starting); a configuration that
// arrives but is malformed is final.
//
// Thread safety: one call per thread; nothing shared.

#include <chrono>
#include <functional>

#include "channel/address.h"
#include "common/result.h"
#include "enclave/boot_config.h"

namespace eml::enclave {

struct BootConfigFetchOptions {
  int attempts = 5;
  std::chrono::milliseconds backoff{100};  // doubled per retry
  int connect_timeout_ms = 2'000;
  int read_timeout_ms = 5'000;  // for the length and the bytes together, per attempt
  // Sleeps between attempts (tests inject a recorder); empty: std::this_thread::sleep_for.
  std::function<void(std::chrono::milliseconds)> sleep;
};

// FetchBootConfig connects to `address`, reads and parses the configuration.
// Errors: kBootConfigUnreachable (every attempt failed to connect or read: the detail names the
// last channel error), kBootConfigMalformed (a length of 0 or above kMaxBootConfigBytes, or
// ParseBootConfig's).
Result<BootConfig> FetchBootConfig(const channel::Address& address,
                                   const BootConfigFetchOptions& options = {});

}  // namespace eml::enclave
