#include "host_command.h"

#include <signal.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "channel/address.h"
#include "channel/net/net.h"
#include "cli_util.h"
#include "common/result.h"
#include "enclave/boot_config.h"
#include "host/boot_config_server.h"
#include "host/egress_proxy.h"
#include "host/relay.h"
#include "host/store_proxy.h"
#include "model/store.h"

namespace eml::apps {
namespace {

struct HostFlags {
  std::string listen;
  std::string enclave;
  std::string record_dir;
  int max_connections = host::kDefaultMaxConnections;
  int idle_timeout_ms = host::kDefaultIdleTimeoutMs;
  std::string ready_file;
  std::string egress_listen;
  std::vector<std::string> egress_allow;
  std::string store_url;
  std::string store_listen = "127.0.0.1:0";
  std::string boot_config_file;
  std::string boot_listen;
};

// StartBootConfig checks --boot-config with the enclave's own parser and serves its exact bytes
// on --boot-listen (nullptr without --boot-config). Errors: kIoError (unreadable file),
// kBootConfigMalformed, kChannelBadAddress and the listener's.
Result<std::unique_ptr<host::BootConfigServer>> StartBootConfig(const HostFlags& flags) {
  if (flags.boot_config_file.empty()) {
    return std::unique_ptr<host::BootConfigServer>();
  }
  EML_ASSIGN_OR_RETURN(channel::Address listen, channel::ParseAddress(flags.boot_listen));
  EML_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes,
                       ReadFileLimited(flags.boot_config_file, enclave::kMaxBootConfigBytes));
  EML_RETURN_IF_ERROR(enclave::ParseBootConfig(bytes));
  host::BootConfigServerOptions options;
  options.log = [](const std::string& line) {
    std::fprintf(stderr, "ephemeralml host: %s\n", line.c_str());
  };
  return host::BootConfigServer::Start(std::move(bytes), listen, std::move(options));
}

// A running storage proxy and the backing store it serves (declared first: destroyed last).
struct StoreService {
  std::unique_ptr<model::ModelStore> store;
  std::unique_ptr<host::StoreProxy> proxy;
  std::string address;  // "HOST:PORT" (TCP) or the channel address once listening
};

// StartEgress starts the egress proxy when --egress-listen is given (nullptr otherwise).
Result<std::unique_ptr<host::EgressProxy>> StartEgress(const HostFlags& flags) {
  if (flags.egress_listen.empty()) {
    return std::unique_ptr<host::EgressProxy>();
  }
  host::EgressProxyOptions options;
  EML_ASSIGN_OR_RETURN(options.listen, host::ParseProxyListen(flags.egress_listen));
  options.allow = flags.egress_allow;
  options.max_connections = flags.max_connections;
  options.idle_timeout_ms = flags.idle_timeout_ms;
  options.record_dir = flags.record_dir;
  options.on_close = [](const host::EgressReport& r) {
    std::fprintf(
        stderr,
        "ephemeralml host: egress %llu to %s closed: %s (status %d); out %llu bytes, in "
        "%llu bytes\n",
        static_cast<unsigned long long>(r.id), r.destination.empty() ? "-" : r.destination.c_str(),
        std::string(ErrorCodeName(r.close_reason)).c_str(), r.status,
        static_cast<unsigned long long>(r.bytes_out), static_cast<unsigned long long>(r.bytes_in));
  };
  return host::EgressProxy::Start(std::move(options));
}

std::string FormatListen(const std::string& host, uint16_t port) {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

// StartStore opens --store with the host's credentials and serves it on --store-listen (an
// empty service without --store).
Result<StoreService> StartStore(const HostFlags& flags) {
  StoreService service;
  if (flags.store_url.empty()) {
    return service;
  }
  host::StoreProxyOptions options;
  EML_ASSIGN_OR_RETURN(options.listen, host::ParseProxyListen(flags.store_listen));
  EML_ASSIGN_OR_RETURN(service.store, model::OpenModelStore(flags.store_url));
  options.max_connections = flags.max_connections;
  options.record_dir = flags.record_dir;
  EML_ASSIGN_OR_RETURN(service.proxy, host::StoreProxy::Start(*service.store, std::move(options)));
  const channel::Address& bound = service.proxy->address();
  service.address = bound.kind == channel::Address::Kind::kTcp
                        ? FormatListen(bound.tcp.host, bound.tcp.port)
                        : channel::FormatAddress(bound);
  return service;
}

Result<int> RunHost(const HostFlags& flags) {
  EML_ASSIGN_OR_RETURN(channel::net::HostPort listen, channel::net::ParseHostPort(flags.listen));
  EML_ASSIGN_OR_RETURN(channel::Address enclave, channel::ParseAddress(flags.enclave));

  // Block the stop signals before the relay's thread starts, so it inherits the mask and only
  // sigwait below takes them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  host::RelayOptions options;
  options.listen_host = listen.host;
  options.listen_port = listen.port;
  options.enclave = enclave;
  options.max_connections = flags.max_connections;
  options.idle_timeout_ms = flags.idle_timeout_ms;
  options.record_dir = flags.record_dir;
  options.on_close = [](const host::ConnectionReport& r) {
    std::fprintf(
        stderr,
        "ephemeralml host: connection %llu closed: %s (%s); c2e %llu bytes / %llu "
        "frames, e2c %llu bytes / %llu frames\n",
        static_cast<unsigned long long>(r.id), std::string(ErrorCodeName(r.close_reason)).c_str(),
        r.reason_direction == host::Direction::kClientToEnclave ? "client side" : "enclave side",
        static_cast<unsigned long long>(r.bytes_c2e), static_cast<unsigned long long>(r.frames_c2e),
        static_cast<unsigned long long>(r.bytes_e2c),
        static_cast<unsigned long long>(r.frames_e2c));
  };
  EML_ASSIGN_OR_RETURN(std::unique_ptr<host::Relay> relay, host::Relay::Start(options));
  EML_ASSIGN_OR_RETURN(std::unique_ptr<host::EgressProxy> egress, StartEgress(flags));
  EML_ASSIGN_OR_RETURN(StoreService store, StartStore(flags));
  EML_ASSIGN_OR_RETURN(std::unique_ptr<host::BootConfigServer> boot, StartBootConfig(flags));

  const std::string address = FormatListen(listen.host, relay->port());
  nlohmann::json ready = {{"address", address},
                          {"enclave", channel::FormatAddress(enclave)},
                          {"pid", static_cast<int64_t>(::getpid())}};
  if (!flags.record_dir.empty()) {
    ready["record_dir"] = flags.record_dir;
  }
  if (egress != nullptr) {
    ready["egress_address"] = egress->address();
  }
  if (store.proxy != nullptr) {
    ready["store_address"] = store.address;
  }
  if (boot != nullptr) {
    ready["boot_address"] = channel::FormatAddress(boot->bound());
  }
  if (!flags.ready_file.empty()) {
    const std::string text = ready.dump() + "\n";
    EML_RETURN_IF_ERROR(WriteFileAtomic(
        flags.ready_file, std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()),
        0644, false));
  }
  std::fprintf(
      stderr, "ephemeralml host: relaying %s -> %s%s\n", address.c_str(),
      channel::FormatAddress(enclave).c_str(),
      flags.record_dir.empty() ? "" : (" (recording to " + flags.record_dir + ")").c_str());

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  std::fprintf(stderr, "ephemeralml host: signal %d, stopping\n", signal_number);
  if (egress != nullptr) {
    egress->Stop();
  }
  if (store.proxy != nullptr) {
    store.proxy->Stop();
  }
  if (boot != nullptr) {
    boot->Stop();
  }
  relay->Stop();
  return kExitOk;
}

}  // namespace

void AddHostCommands(CLI::App& app) {
  auto flags = std::make_shared<HostFlags>();
  CLI::App* cmd = app.add_subcommand(
      "host", "Run the host's blind relay between clients and an enclave (holds no keys)");
  cmd->add_option("--listen", flags->listen, "Client-facing HOST:PORT (port 0 picks one)")
      ->required();
  cmd->add_option("--enclave", flags->enclave,
                  "Enclave transport: tcp:HOST:PORT, unix:PATH or vsock:CID:PORT")
      ->required();
  cmd->add_option("--record", flags->record_dir,
                  "Store every relayed byte per connection and direction in DIR (debugging)");
  cmd->add_option("--max-connections", flags->max_connections, "Client connections open at once")
      ->check(CLI::Range(1, 65536));
  cmd->add_option("--idle-timeout-ms", flags->idle_timeout_ms,
                  "Close a connection when nothing moved for this long")
      ->check(CLI::Range(1, 86'400'000));
  cmd->add_option("--ready-file", flags->ready_file, "Write this JSON file once listening");
  CLI::Option* egress_listen =
      cmd->add_option("--egress-listen", flags->egress_listen,
                      "Run the egress CONNECT proxy on HOST:PORT or a channel address "
                      "(tcp:HOST:PORT, unix:PATH, vsock:CID:PORT; port 0 picks)");
  cmd->add_option("--egress-allow", flags->egress_allow,
                  "Destination HOST:PORT the egress proxy may tunnel to (repeatable; exact match)")
      ->needs(egress_listen);
  CLI::Option* store_url =
      cmd->add_option("--store", flags->store_url,
                      "Serve this model store (file:///DIR or s3://BUCKET/PREFIX, opened with the "
                      "host's credentials) read-only to the enclave");
  cmd->add_option("--store-listen", flags->store_listen,
                  "Storage proxy HOST:PORT or a channel address (tcp:HOST:PORT, unix:PATH, "
                  "vsock:CID:PORT; default 127.0.0.1:0: port 0 picks)")
      ->needs(store_url);
  CLI::Option* boot_config = cmd->add_option(
      "--boot-config", flags->boot_config_file,
      "Serve this boot configuration file (JSON, docs/formats.md; checked at start) to the "
      "enclave's --boot-from");
  cmd->add_option("--boot-listen", flags->boot_listen,
                  "Boot configuration listener: tcp:HOST:PORT (port 0 picks), unix:PATH or "
                  "vsock:CID:PORT")
      ->needs(boot_config);
  boot_config->needs("--boot-listen");
  cmd->callback([flags] { FinishCommand(RunHost(*flags)); });
}

}  // namespace eml::apps
