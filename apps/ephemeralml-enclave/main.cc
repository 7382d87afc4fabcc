// ephemeralml-enclave: the enclave process (DESIGN.md section 2). Only wiring: parse the flags,
// load the model, measure, attest (sim), serve sessions, and stop cleanly on SIGTERM / SIGINT.
//
//   ephemeralml-enclave --listen tcp:HOST:PORT|unix:PATH --state-dir DIR
//       (--model DIR | --store URL --model-id ID --model-version V --owner-key HEX
//        --data-key-file FILE [--max-model-mb N])
//       [--precision fp32|bf16|int8] [--threads N] [--max-sessions N] [--ready-file PATH]
//
// --model loads a plaintext directory (sim only); --store boots an encrypted, signed package
// (src/enclave/model_boot.h): the owner key is part of the measured configuration (PCR1).
//
// Exit codes: 0 after a clean stop, 2 usage or configuration errors, 1 any other start-up failure
// (one line on stderr names the step and the error code), 10-20 a failed encrypted boot (one
// line "boot failed: <reason>"; table in enclave::BootExitCode and docs/operations.md).
//
// Signals: SIGTERM and SIGINT are blocked in every thread from the start and taken by sigwait in
// main, so no code runs in a signal handler. On either: stop accepting, let in-flight requests
// finish and be answered, destroy the receipt key and the sim signing key (OpenSSL wipes them),
// exit 0 without waiting for idle sessions (their sockets close with the process).
//
// OpenMP: without OMP_WAIT_POLICY or GOMP_SPINCOUNT in its environment the enclave re-executes
// itself with OMP_WAIT_POLICY=passive before anything else runs (see UseDefaultOmpWaitPolicy).

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "attest/sim/sim_provider.h"
#include "common/encoding.h"
#include "common/error.h"
#include "common/result.h"
#include "crypto/ed25519.h"
#include "crypto/hash.h"
#include "enclave/boot.h"
#include "enclave/evidence.h"
#include "enclave/model_boot.h"
#include "enclave/server.h"
#include "enclave/service.h"
#include "engine/batch_scheduler.h"
#include "engine/embedder.h"
#include "model/manifest.h"
#include "model/model_directory.h"
#include "model/store.h"

namespace {

using namespace eml;  // NOLINT: wiring code names many libraries.

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

struct Flags {
  std::string listen;
  std::string model_dir;
  std::string store_url;
  std::string model_id;
  std::string model_version;
  std::string owner_key_hex;
  std::string data_key_file;
  uint64_t max_model_mb = enclave::kDefaultMaxModelBytes >> 20;
  std::string state_dir;
  std::string precision = "fp32";
  int threads = 0;
  size_t max_sessions = enclave::kDefaultMaxSessions;
  std::string ready_file;
};

int Fail(std::string_view step, const Error& error) {
  std::fprintf(stderr, "ephemeralml-enclave: %.*s: %s\n", static_cast<int>(step.size()),
               step.data(), ToString(error).c_str());
  return error.code == ErrorCode::kEnclaveBadConfig ? kExitUsage : kExitFailure;
}

void Log(const std::string& line) {
  std::fprintf(stderr, "ephemeralml-enclave: %s\n", line.c_str());
}

// FailBoot reports a failed encrypted boot with its own exit code.
int FailBoot(const Error& error) {
  const int code = enclave::BootExitCode(error.code);
  if (code == 0) {
    return Fail("boot", error);
  }
  std::fprintf(stderr, "ephemeralml-enclave: boot failed: %s\n", ToString(error).c_str());
  return code;
}

// The model the enclave serves, however it was loaded.
struct LoadedModel {
  std::unique_ptr<engine::Embedder> embedder;
  enclave::ModelIdentity identity;
  std::string owner_key;  // SignerKeyId of the owner key (encrypted boot only)
  std::vector<std::pair<std::string, uint64_t>> cold_start_us;
};

// LoadPlaintextModel: only the sim platform may load a plaintext directory: on hardware the
// weights arrive encrypted and are decrypted inside the enclave (DESIGN.md section 3.2).
Result<LoadedModel> LoadPlaintextModel(const Flags& flags, const engine::EmbedderOptions& options) {
  Log("platform sim: loading a PLAINTEXT model directory (allowed on sim only): " +
      flags.model_dir);
  EML_ASSIGN_OR_RETURN(model::ModelDirectory directory,
                       model::ModelDirectory::Open(flags.model_dir));
  LoadedModel out;
  EML_ASSIGN_OR_RETURN(out.identity.hash, enclave::HashModelWeights(directory.weights_safetensors));
  EML_ASSIGN_OR_RETURN(out.embedder, engine::Embedder::LoadFromDirectory(directory.root, options));
  out.identity.id = enclave::ModelIdFromDirectory(directory.root);
  out.identity.version =
      "sha256-" + HexEncode(std::span<const uint8_t>(out.identity.hash).first(8));
  return out;
}

// BootPackagedModel boots a signed, encrypted package from --store (errors: kEnclaveBadConfig for
// flags, else enclave::BootModel's and OpenBootStore's).
Result<LoadedModel> BootPackagedModel(const Flags& flags, const engine::EmbedderOptions& options) {
  if (flags.model_id.empty() || flags.model_version.empty() || flags.owner_key_hex.empty() ||
      flags.data_key_file.empty() || flags.max_model_mb == 0 ||
      flags.max_model_mb > (UINT64_MAX >> 20)) {
    return Error{ErrorCode::kEnclaveBadConfig,
                 "--store needs --model-id, --model-version, --owner-key, --data-key-file and a "
                 "sane --max-model-mb"};
  }
  Result<std::vector<uint8_t>> owner_bytes =
      HexDecodeExact(flags.owner_key_hex, crypto::kEd25519PublicKeySize);
  Result<crypto::Ed25519PublicKey> owner =
      owner_bytes.has_value() ? crypto::Ed25519PublicKey::FromBytes(*owner_bytes)
                              : Result<crypto::Ed25519PublicKey>(owner_bytes.error());
  if (!owner.has_value()) {
    return Error{ErrorCode::kEnclaveBadConfig,
                 "--owner-key wants 64 hex digits of an Ed25519 public key"};
  }
  EML_ASSIGN_OR_RETURN(std::unique_ptr<model::ModelStore> store,
                       enclave::OpenBootStore(flags.store_url));
  EML_ASSIGN_OR_RETURN(enclave::StaticDataKeySource keys,
                       enclave::StaticDataKeySource::FromFile(flags.data_key_file));
  Log("encrypted boot of " + flags.model_id + "/" + flags.model_version + " from " +
      flags.store_url + " (owner " + model::SignerKeyId(*owner) +
      "; data key from a local file: sim only, no broker release yet)");
  const enclave::BootRequest request{.model_id = flags.model_id,
                                     .version = flags.model_version,
                                     .owner_key = *owner,
                                     .store = *store,
                                     .max_model_bytes = flags.max_model_mb << 20};
  enclave::BootOptions boot_options;
  boot_options.engine = options;
  boot_options.warn = [](const std::string& warning) { Log("warning: " + warning); };
  EML_ASSIGN_OR_RETURN(enclave::BootedModel booted,
                       enclave::BootModel(request, keys, nullptr, boot_options));
  Log("cold start: " + enclave::FormatBootTimings(booted.timings) + " (" +
      std::to_string(booted.model_bytes) + " bytes, " + std::to_string(booted.files_decrypted) +
      " files decrypted, memory " + (booted.memory_locked ? "locked" : "NOT locked") + ")");
  LoadedModel out;
  out.embedder = std::move(booted.embedder);
  out.identity.id = booted.model_id;
  out.identity.version = booted.version;
  out.identity.hash = booted.model_hash;
  out.identity.hash_scheme = booted.model_hash_scheme;
  out.owner_key = model::SignerKeyId(*owner);
  out.cold_start_us = enclave::BootTimingFields(booted.timings);
  return out;
}

Result<engine::Precision> ParsePrecision(const std::string& text) {
  if (text == "fp32") {
    return engine::Precision::kFp32;
  }
  if (text == "bf16") {
    return engine::Precision::kBf16;
  }
  if (text == "int8") {
    return engine::Precision::kInt8;
  }
  return Error{ErrorCode::kEnclaveBadConfig, "--precision wants fp32, bf16 or int8"};
}

Result<std::vector<uint8_t>> ReadWholeFile(const char* path) {
  FILE* file = std::fopen(path, "rb");
  if (file == nullptr) {
    return Error{ErrorCode::kIoError, std::string("cannot open ") + path};
  }
  std::vector<uint8_t> bytes;
  std::vector<uint8_t> chunk(1 << 20);
  size_t got = 0;
  while ((got = std::fread(chunk.data(), 1, chunk.size(), file)) > 0) {
    bytes.insert(bytes.end(), chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(got));
  }
  const bool failed = std::ferror(file) != 0;
  std::fclose(file);
  if (failed) {
    return Error{ErrorCode::kIoError, std::string("cannot read ") + path};
  }
  return bytes;
}

int64_t NowUnix() { return static_cast<int64_t>(std::time(nullptr)); }

int Run(const Flags& flags, const sigset_t& stop_signals) {
  Result<enclave::ListenAddress> address = enclave::ParseListenAddress(flags.listen);
  if (!address.has_value()) {
    return Fail("flags", address.error());
  }
  Result<engine::Precision> precision = ParsePrecision(flags.precision);
  if (!precision.has_value()) {
    return Fail("flags", precision.error());
  }
  if (flags.threads < 0 || flags.max_sessions == 0) {
    return Fail("flags", Error{ErrorCode::kEnclaveBadConfig,
                               "--threads must be >= 0 and --max-sessions >= 1"});
  }

  if (flags.model_dir.empty() == flags.store_url.empty()) {
    return Fail("flags", Error{ErrorCode::kEnclaveBadConfig,
                               "give exactly one of --model DIR and --store URL"});
  }
  engine::EmbedderOptions embedder_options;
  embedder_options.precision = *precision;
  embedder_options.num_threads = flags.threads;
  const bool plaintext = !flags.model_dir.empty();
  Result<LoadedModel> loaded = plaintext ? LoadPlaintextModel(flags, embedder_options)
                                         : BootPackagedModel(flags, embedder_options);
  if (!loaded.has_value()) {
    return plaintext || loaded.error().code == ErrorCode::kEnclaveBadConfig
               ? Fail(plaintext ? "model" : "flags", loaded.error())
               : FailBoot(loaded.error());
  }
  engine::EmbedderBackend backend(loaded->embedder.get());
  Result<std::unique_ptr<engine::BatchScheduler>> scheduler =
      engine::BatchScheduler::Create(&backend, engine::SchedulerOptions{});
  if (!scheduler.has_value()) {
    return Fail("scheduler", scheduler.error());
  }

  const enclave::ModelIdentity identity = loaded->identity;

  // Measurements. PCR2 needs the sim root, which the provider creates on first use: create (or
  // load) it once, then make the provider that attests with the final measurements.
  Result<std::vector<uint8_t>> binary = ReadWholeFile("/proc/self/exe");
  if (!binary.has_value()) {
    return Fail("measure binary", binary.error());
  }
  enclave::MeasuredConfig measured;
  measured.platform = std::string(enclave::kPlatformSim);
  measured.model_id = identity.id;
  measured.model_hash = identity.hash;
  measured.model_hash_scheme = identity.hash_scheme;
  measured.precision = flags.precision;
  measured.max_sessions = flags.max_sessions;
  measured.owner_key = loaded->owner_key;
  const std::string config_json = enclave::MeasuredConfigJson(measured);
  const std::string no_anchors;
  Result<attest::sim::SimProvider> root_only = attest::sim::SimProvider::Create(
      flags.state_dir, {*binary, AsBytes(config_json), AsBytes(no_anchors)}, NowUnix());
  if (!root_only.has_value()) {
    return Fail("sim root", root_only.error());
  }
  const std::vector<uint8_t> anchors(root_only->root().der().begin(),
                                     root_only->root().der().end());
  Result<attest::sim::SimProvider> provider = attest::sim::SimProvider::Create(
      flags.state_dir, {*binary, AsBytes(config_json), anchors}, NowUnix());
  if (!provider.has_value()) {
    return Fail("sim provider", provider.error());
  }
  auto source = std::make_unique<enclave::SimEvidenceSource>(*std::move(provider));

  Result<std::unique_ptr<enclave::Service>> service =
      enclave::Service::Create(source.get(), scheduler->get(), identity);
  if (!service.has_value()) {
    return Fail("service", service.error());
  }
  enclave::ServerOptions server_options;
  server_options.max_sessions = flags.max_sessions;
  Result<std::unique_ptr<enclave::Server>> server =
      enclave::Server::Create(service->get(), server_options);
  if (!server.has_value()) {
    return Fail("server", server.error());
  }
  Result<std::unique_ptr<channel::net::Listener>> listener = enclave::Listen(*address);
  if (!listener.has_value()) {
    return Fail("listen", listener.error());
  }
  const uint16_t port = (*listener)->port();
  if (Status started = (*server)->Start(*std::move(listener)); !started.has_value()) {
    return Fail("server", started.error());
  }

  enclave::ReadyInfo ready;
  ready.address = enclave::FormatListenAddress(*address, port);
  ready.platform = std::string(enclave::kPlatformSim);
  ready.sim_root = (std::filesystem::path(flags.state_dir) / attest::sim::kStateSubdir /
                    attest::sim::kRootCertFile)
                       .string();
  for (const uint32_t index : {0u, 1u, 2u}) {
    ready.pcrs[index] = source->provider()->pcrs().at(index);
  }
  ready.model_id = identity.id;
  ready.pid = static_cast<int64_t>(::getpid());
  ready.cold_start_us = loaded->cold_start_us;
  if (!flags.ready_file.empty()) {
    if (Status written =
            enclave::WriteFileAtomically(flags.ready_file, enclave::ReadyFileJson(ready));
        !written.has_value()) {
      (*server)->Shutdown();
      return Fail("ready file", written.error());
    }
  }
  Log("listening on " + ready.address + " (model " + identity.id + ", " + flags.precision +
      ", max " + std::to_string(flags.max_sessions) + " sessions)");

  int signal_number = 0;
  while (sigwait(&stop_signals, &signal_number) != 0) {
  }
  Log(std::string("signal ") + std::to_string(signal_number) + ": stopping");
  (*server)->Shutdown();  // no new work; in-flight requests answered
  // Nothing calls the service or the evidence source any more: wipe the keys.
  service->reset();
  source.reset();
  (*scheduler)->Shutdown(engine::ShutdownMode::kDrain);
  Log("stopped");
  std::fflush(stderr);
  std::fflush(stdout);
  // Idle sessions may still be blocked reading from their clients; do not wait for them.
  std::_Exit(kExitOk);
}

// The OpenMP wait policy the enclave runs with unless the operator chose one. Sessions, the
// scheduler worker and the engine's OpenMP team share a few cores: OpenMP threads that spin
// after every batch hold the core a session thread needs to answer (measured in
// docs/benchmarks.md, "End to end").
constexpr char kDefaultOmpWaitPolicy[] = "passive";

// UseDefaultOmpWaitPolicy: libgomp reads OMP_WAIT_POLICY and GOMP_SPINCOUNT once, when it is
// loaded (before main), so setting the default means executing this binary again with the
// variable set (same process id, same measured binary). An operator's OMP_WAIT_POLICY or
// GOMP_SPINCOUNT is kept. If the exec fails the enclave runs on with libgomp's default.
void UseDefaultOmpWaitPolicy(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr || std::getenv("GOMP_SPINCOUNT") != nullptr) {
    return;
  }
  if (::setenv("OMP_WAIT_POLICY", kDefaultOmpWaitPolicy, 1) == 0) {
    ::execv("/proc/self/exe", argv);
  }
}

}  // namespace

int main(int argc, char** argv) {
  UseDefaultOmpWaitPolicy(argv);
  // Block the stop signals before any thread starts, so every thread inherits the mask and only
  // sigwait in Run receives them. Writes to a closed socket must fail, not kill the process.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  Flags flags;
  CLI::App app{"EphemeralML enclave: attested embedding sessions", "ephemeralml-enclave"};
  app.add_option("--listen", flags.listen, "tcp:HOST:PORT or unix:PATH")->required();
  CLI::Option* model_option =
      app.add_option("--model", flags.model_dir, "model directory (plaintext; sim only)");
  CLI::Option* store_option =
      app.add_option("--store", flags.store_url, "model store URL (encrypted boot), file:///DIR");
  model_option->excludes(store_option);
  app.add_option("--model-id", flags.model_id, "model id in the store (with --store)");
  app.add_option("--model-version", flags.model_version, "model version (with --store)");
  app.add_option("--owner-key", flags.owner_key_hex,
                 "model owner's Ed25519 public key, 64 hex digits (measured: PCR1)");
  app.add_option("--data-key-file", flags.data_key_file,
                 "32-byte data key file (sim stand-in for the broker release)");
  app.add_option("--max-model-mb", flags.max_model_mb, "largest model plaintext to boot (MiB)")
      ->capture_default_str();
  app.add_option("--state-dir", flags.state_dir, "state directory (sim root under attest-sim/)")
      ->required();
  app.add_option("--precision", flags.precision, "fp32, bf16 or int8")->capture_default_str();
  app.add_option("--threads", flags.threads, "engine threads (0 = all cores)")
      ->capture_default_str();
  app.add_option("--max-sessions", flags.max_sessions, "concurrent sessions")
      ->capture_default_str();
  app.add_option("--ready-file", flags.ready_file, "write this JSON file once listening");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }
  return Run(flags, stop_signals);
}
