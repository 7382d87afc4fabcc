#pragma once
// Posture: accepts connections from the enclave side on a channel address and reads nothing
// from them: every connection gets a 4-byte big-endian length and the configured bytes (at most
// enclave::kMaxBootConfigBytes, checked by Start) and is closed. A peer that does not read is
// dropped after write_timeout_ms; connections are served one at a time.
//
// eml::host::BootConfigServer: the host's half of boot configuration (`ephemeralml host
// --boot-config FILE --boot-listen ADDR`; enclave/boot_config_fetch.h is the other half). The
// bytes are served exactly as given: the caller (the host command) parses them first with
// enclave::ParseBootConfig so that operator mistakes show at start, not in the enclave.
//
// Thread safety: Start, bound and Stop from one thread; serving runs on the server's own thread.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "channel/address.h"
#include "common/result.h"

namespace eml::host {

struct BootConfigServerOptions {
  int write_timeout_ms = 5'000;
  // Receives one line per connection that could not be served (no content); empty: dropped.
  std::function<void(const std::string&)> log;
};

class BootConfigServer {
 public:
  // Start listens on `listen` (port 0 picks one) and serves `bytes` until Stop.
  // Errors: kLimitExceeded (empty or over enclave::kMaxBootConfigBytes), channel::Listen's.
  static Result<std::unique_ptr<BootConfigServer>> Start(std::vector<uint8_t> bytes,
                                                         const channel::Address& listen,
                                                         BootConfigServerOptions options = {});
  ~BootConfigServer();
  BootConfigServer(const BootConfigServer&) = delete;
  BootConfigServer& operator=(const BootConfigServer&) = delete;

  // bound: the address the enclave connects to (the port the kernel picked).
  const channel::Address& bound() const { return listener_->bound(); }
  // served: connections answered in full so far.
  uint64_t served() const { return served_.load(); }
  // Stop stops accepting (within kAcceptPollMs) and joins the thread; idempotent.
  void Stop();

  static constexpr int kAcceptPollMs = 200;

 private:
  BootConfigServer(std::vector<uint8_t> message, std::unique_ptr<channel::Listener> listener,
                   BootConfigServerOptions options);
  void Run();

  const std::vector<uint8_t> message_;  // length prefix || bytes
  std::unique_ptr<channel::Listener> listener_;
  const BootConfigServerOptions options_;
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> served_{0};
  std::thread thread_;
};

}  // namespace eml::host
