#include "host/boot_config_server.h"

#include <utility>

#include "enclave/boot_config.h"

namespace eml::host {

Result<std::unique_ptr<BootConfigServer>> BootConfigServer::Start(std::vector<uint8_t> bytes,
                                                                  const channel::Address& listen,
                                                                  BootConfigServerOptions options) {
  if (bytes.empty() || bytes.size() > enclave::kMaxBootConfigBytes) {
    return Error{ErrorCode::kLimitExceeded, "a boot configuration holds 1 to " +
                                                std::to_string(enclave::kMaxBootConfigBytes) +
                                                " bytes"};
  }
  const auto length = static_cast<uint32_t>(bytes.size());
  std::vector<uint8_t> message = {static_cast<uint8_t>(length >> 24),
                                  static_cast<uint8_t>(length >> 16),
                                  static_cast<uint8_t>(length >> 8), static_cast<uint8_t>(length)};
  message.insert(message.end(), bytes.begin(), bytes.end());
  EML_ASSIGN_OR_RETURN(std::unique_ptr<channel::Listener> listener, channel::Listen(listen));
  std::unique_ptr<BootConfigServer> server(
      new BootConfigServer(std::move(message), std::move(listener), std::move(options)));
  server->thread_ = std::thread([raw = server.get()] { raw->Run(); });
  return server;
}

BootConfigServer::BootConfigServer(std::vector<uint8_t> message,
                                   std::unique_ptr<channel::Listener> listener,
                                   BootConfigServerOptions options)
    : message_(std::move(message)), listener_(std::move(listener)), options_(std::move(options)) {}

BootConfigServer::~BootConfigServer() { Stop(); }

void BootConfigServer::Stop() {
  stopping_.store(true);
  if (thread_.joinable()) {
    thread_.join();
  }
}

void BootConfigServer::Run() {
  while (!stopping_.load()) {
    Result<std::unique_ptr<channel::Stream>> stream = listener_->Accept(kAcceptPollMs);
    if (!stream.has_value()) {
      if (stream.error().code != ErrorCode::kChannelTimeout && options_.log) {
        options_.log("boot configuration: accept failed: " + ToString(stream.error()));
      }
      continue;
    }
    Status written = (*stream)->WriteAll(message_, options_.write_timeout_ms);
    if (written.has_value()) {
      served_.fetch_add(1);
    } else if (options_.log) {
      options_.log("boot configuration: not served: " + ToString(written.error()));
    }
  }
}

}  // namespace eml::host
