#include "enclave/boot_config_fetch.h"

#include <array>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace eml::enclave {
namespace {

using Clock = std::chrono::steady_clock;

int RemainingMs(Clock::time_point deadline) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left > 1 ? static_cast<int>(left) : 1;
}

// ReadOnce makes one attempt. A transport failure comes back as the channel's error; a bad
// length or document as kBootConfigMalformed.
Result<BootConfig> ReadOnce(const channel::Address& address,
                            const BootConfigFetchOptions& options) {
  EML_ASSIGN_OR_RETURN(std::unique_ptr<channel::Stream> stream,
                       channel::Connect(address, options.connect_timeout_ms));
  const Clock::time_point deadline =
      Clock::now() + std::chrono::milliseconds(options.read_timeout_ms);
  std::array<uint8_t, 4> header{};
  EML_RETURN_IF_ERROR(stream->ReadExact(header, RemainingMs(deadline)));
  const uint32_t length = (uint32_t{header[0]} << 24) | (uint32_t{header[1]} << 16) |
                          (uint32_t{header[2]} << 8) | uint32_t{header[3]};
  if (length == 0 || length > kMaxBootConfigBytes) {
    return Error{ErrorCode::kBootConfigMalformed,
                 "boot configuration: the host announced " + std::to_string(length) +
                     " bytes (1 to " + std::to_string(kMaxBootConfigBytes) + " allowed)"};
  }
  std::vector<uint8_t> bytes(length);
  EML_RETURN_IF_ERROR(stream->ReadExact(bytes, RemainingMs(deadline)));
  return ParseBootConfig(bytes);
}

}  // namespace

Result<BootConfig> FetchBootConfig(const channel::Address& address,
                                   const BootConfigFetchOptions& options) {
  std::chrono::milliseconds backoff = options.backoff;
  Error last{ErrorCode::kBootConfigUnreachable, "no attempt made"};
  for (int attempt = 1; attempt <= options.attempts; ++attempt) {
    Result<BootConfig> config = ReadOnce(address, options);
    if (config.has_value() || config.error().code == ErrorCode::kBootConfigMalformed) {
      return config;
    }
    last = config.error();
    if (attempt < options.attempts) {
      if (options.sleep) {
        options.sleep(backoff);
      } else {
        std::this_thread::sleep_for(backoff);
      }
      backoff *= 2;
    }
  }
  return Error{ErrorCode::kBootConfigUnreachable,
               "boot configuration from " + channel::FormatAddress(address) +
                   " unreachable after " + std::to_string(options.attempts) +
                   " attempts: " + ToString(last)};
}

}  // namespace eml::enclave
