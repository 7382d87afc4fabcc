// ephemeralml-enclave: the enclave process (DESIGN.md section 2). Only wiring: parse the flags,
// measure, load or boot the model, attest (sim), serve sessions, and stop cleanly on SIGTERM /
// SIGINT.
//
//   ephemeralml-enclave --listen tcp:HOST:PORT|unix:PATH|vsock:CID:PORT --state-dir DIR
//       (--model DIR | --store URL --model-id ID --model-version V --owner-key HEX
//        (--broker URL | --kms [--egress-proxy http://HOST:PORT|unix:PATH|vsock:CID:PORT]
//         | --data-key-file FILE)
//        [--max-model-mb N]
//        | --boot-from tcp:HOST:PORT|unix:PATH|vsock:CID:PORT --owner-key HEX [--max-model-mb N])
//       [--precision fp32|bf16|int8] [--threads N] [--max-sessions N] [--ready-file PATH]
//       [--platform sim|aws-nitro|tdx|sev-snp|gcp-cs [--nsm-device P] [--tsm-root DIR]
//        [--token-socket P] [--audience A]]
//   ephemeralml-enclave --print-measurements --state-dir DIR --owner-key HEX
//       [--precision P] [--max-sessions N]
//
// --model loads a plaintext directory (sim only), measured after it is hashed; --store boots an
// encrypted, signed package (src/enclave/model_boot.h): the enclave is measured first (PCR1
// covers the owner key, not the model: enclave/boot.h), then the data key is released by the key
// broker to this enclave's attestation (--broker, src/enclave/broker_key_source.h) or read from
// a file (--data-key-file, sim only). --print-measurements prints the PCRs such a boot attests
// with ({"pcrs": {...}, "sim_root": PATH}) and exits, so a release policy can pin them first.
// --boot-from reads the encrypted boot's model id, version, store, key source and egress proxy
// from the host instead (enclave/boot_config_fetch.h; untrusted and not measured: the owner key
// stays on the command line) and boots as those flags would; the configuration's max_model_mb
// may only lower --max-model-mb.
// After loading, one timed inference warms the engine up (cold start "first_inference_us").
// --platform picks who attests: sim (default; the enclave measures itself, receipts say
// "evaluation") or the TEE's own interface (enclave/platform_evidence.h; receipts say
// "production"). On hardware the owner key is measured only if the image's measured command
// line carries it; plaintext models, --data-key-file and --print-measurements are sim only.
//
// Exit codes: 0 after a clean stop, 2 usage or configuration errors, 1 any other start-up failure
// (one line on stderr names the step and the error code), 10-23 a failed encrypted boot (one
// line "boot failed: <reason>"; table in enclave::BootExitCode and docs/operations.md), 30-31 a
// failed --boot-from (enclave::BootConfigExitCode: host unreachable, configuration malformed).
//
// Signals: SIGTERM and SIGINT are blocked in every thread from the start and taken by sigwait in
// main, so no code runs in a signal handler. On either: stop accepting, let in-flight requests
// finish and be answered, destroy the receipt key and the sim signing key (OpenSSL wipes them),
// exit 0 without waiting for idle sessions (their sockets close with the process).
//
// OpenMP: without OMP_WAIT_POLICY or GOMP_SPINCOUNT in its environment the enclave re-executes
// itself with OMP_WAIT_POLICY=passive before anything else runs (see UseDefaultOmpWaitPolicy).

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <array>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "attest/sim/sim_provider.h"
#include "channel/address.h"
#include "common/encoding.h"
#include "common/error.h"
#include "common/result.h"
#include "crypto/ed25519.h"
#include "crypto/hash.h"
#include "enclave/boot.h"
#include "enclave/boot_config.h"
#include "enclave/boot_config_fetch.h"
#include "enclave/broker_key_source.h"
#include "enclave/evidence.h"
#include "enclave/kms_key_source.h"
#include "enclave/model_boot.h"
#include "enclave/platform_evidence.h"
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
  std::string broker_url;
  std::string egress_proxy;
  std::string boot_from;  // the host's boot configuration address; fills the fields above
  bool kms = false;       // the data key from AWS KMS, as the manifest's "kms:" key id names
  bool print_measurements = false;
  // --platform: "sim" (the default) or a TEE whose hardware attests (enclave/platform_evidence.h).
  enclave::PlatformEvidenceOptions hardware;
  std::string platform = std::string(enclave::kPlatformSim);
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
  const int code = enclave::BootExitCode(error.code) != 0 ? enclave::BootExitCode(error.code)
                                                          : enclave::BootConfigExitCode(error.code);
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
  std::optional<enclave::BootTimings> boot_timings;  // encrypted boot only
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

// ParseOwnerKey reads --owner-key. Errors: kEnclaveBadConfig.
Result<crypto::Ed25519PublicKey> ParseOwnerKey(const std::string& hex) {
  Result<std::vector<uint8_t>> bytes = HexDecodeExact(hex, crypto::kEd25519PublicKeySize);
  Result<crypto::Ed25519PublicKey> owner = bytes.has_value()
                                               ? crypto::Ed25519PublicKey::FromBytes(*bytes)
                                               : Result<crypto::Ed25519PublicKey>(bytes.error());
  if (!owner.has_value()) {
    return Error{ErrorCode::kEnclaveBadConfig,
                 "--owner-key wants 64 hex digits of an Ed25519 public key"};
  }
  return owner;
}

// CheckBootFlags checks the flags of an encrypted boot. Errors: kEnclaveBadConfig.
Status CheckBootFlags(const Flags& flags) {
  const int key_sources = (flags.broker_url.empty() ? 0 : 1) +
                          (flags.data_key_file.empty() ? 0 : 1) + (flags.kms ? 1 : 0);
  if (flags.model_id.empty() || flags.model_version.empty() || flags.owner_key_hex.empty() ||
      key_sources != 1 || flags.max_model_mb == 0 || flags.max_model_mb > (UINT64_MAX >> 20)) {
    return Error{ErrorCode::kEnclaveBadConfig,
                 "--store needs --model-id, --model-version, --owner-key, one of --broker, "
                 "--kms and --data-key-file, and a sane --max-model-mb"};
  }
  if (!flags.egress_proxy.empty() && !flags.data_key_file.empty()) {
    return Error{ErrorCode::kEnclaveBadConfig, "--egress-proxy is for --broker or --kms"};
  }
  if (!flags.data_key_file.empty() && flags.platform != enclave::kPlatformSim) {
    return Error{ErrorCode::kEnclaveBadConfig,
                 "--data-key-file is for --platform sim: on hardware the key is released to the "
                 "attested enclave (--broker or --kms)"};
  }
  return OkStatus();
}

// MeasuredConfigOf: what PCR1 covers (enclave/boot.h): the plaintext model's identity, or for an
// encrypted boot the owner key instead.
enclave::MeasuredConfig MeasuredConfigOf(const Flags& flags,
                                         const enclave::ModelIdentity* plaintext_model,
                                         const crypto::Ed25519PublicKey* owner) {
  enclave::MeasuredConfig measured;
  measured.platform = flags.platform;
  if (plaintext_model != nullptr) {
    measured.model_id = plaintext_model->id;
    measured.model_hash = plaintext_model->hash;
    measured.model_hash_scheme = plaintext_model->hash_scheme;
  }
  measured.precision = flags.precision;
  measured.max_sessions = flags.max_sessions;
  if (owner != nullptr) {
    measured.owner_key = model::SignerKeyId(*owner);
  }
  return measured;
}

// Sha384OfFile hashes the file at `path` in 1 MiB reads: the ~70 MB binary on sim is measured
// once, streaming, and never held whole.
Result<std::array<uint8_t, crypto::kSha384Size>> Sha384OfFile(const char* path) {
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return Error{ErrorCode::kIoError, std::string("cannot open ") + path};
  }
  crypto::Sha384Hasher hasher;
  std::vector<uint8_t> chunk(size_t{1} << 20);
  ssize_t got = 0;
  while ((got = ::read(fd, chunk.data(), chunk.size())) != 0) {
    if (got < 0 && errno == EINTR) {
      continue;
    }
    if (got < 0) {
      ::close(fd);
      return Error{ErrorCode::kIoError, std::string("cannot read ") + path};
    }
    hasher.Update(std::span<const uint8_t>(chunk.data(), static_cast<size_t>(got)));
  }
  ::close(fd);
  return hasher.Finish();
}

int64_t NowUnix() { return static_cast<int64_t>(std::time(nullptr)); }

// MakeEvidenceSource returns the source that attests for --platform. On hardware the platform
// measured the enclave before it ran (CreatePlatformEvidenceSource reads the measurements). On
// sim it measures the enclave itself (PCR0 the running binary, PCR1 `measured`, PCR2 the sim
// root, created on first use, so it is loaded before the provider is made). Errors: kIoError,
// the sim provider's, CreatePlatformEvidenceSource's.
Result<std::unique_ptr<enclave::EvidenceSource>> MakeEvidenceSource(
    const Flags& flags, const enclave::MeasuredConfig& measured) {
  if (flags.platform != enclave::kPlatformSim) {
    enclave::PlatformEvidenceOptions hardware = flags.hardware;
    hardware.platform = flags.platform;
    return enclave::CreatePlatformEvidenceSource(hardware);
  }
  attest::sim::MeasuredDigests digests;
  EML_ASSIGN_OR_RETURN(digests.enclave_binary, Sha384OfFile("/proc/self/exe"));
  digests.configuration = crypto::Sha384(AsBytes(enclave::MeasuredConfigJson(measured)));
  EML_ASSIGN_OR_RETURN(const crypto::Certificate root,
                       attest::sim::SimProvider::RootCertificate(flags.state_dir, NowUnix()));
  digests.trust_anchors = crypto::Sha384(root.der());
  EML_ASSIGN_OR_RETURN(
      attest::sim::SimProvider provider,
      attest::sim::SimProvider::CreateFromDigests(flags.state_dir, digests, NowUnix()));
  return std::unique_ptr<enclave::EvidenceSource>(
      std::make_unique<enclave::SimEvidenceSource>(std::move(provider)));
}

std::map<uint32_t, std::vector<uint8_t>> PcrsOf(const enclave::EvidenceSource& source) {
  const air::Measurements& m = source.measurements();
  return {{0, m.pcr0}, {1, m.pcr1}, {2, m.pcr2}};
}

std::string SimRootPath(const Flags& flags) {
  return (std::filesystem::path(flags.state_dir) / attest::sim::kStateSubdir /
          attest::sim::kRootCertFile)
      .string();
}

// MakeKeySource: the broker release (--broker), KMS Decrypt to the attested RSA key (--kms; the
// wrapped key is read from `store`) or the local key file (--data-key-file).
// Errors: kEnclaveBadConfig, kBootKeyUnavailable (key file), kHttpLibraryFailure.
Result<std::unique_ptr<enclave::DataKeySource>> MakeKeySource(
    const Flags& flags, const enclave::EvidenceSource* evidence, model::ModelStore* store) {
  if (flags.kms) {
    enclave::KmsKeySourceOptions options;
    options.proxy = flags.egress_proxy;
    Log("data key from AWS KMS (Decrypt to an attested RSA key)" +
        (flags.egress_proxy.empty() ? std::string() : " through " + flags.egress_proxy));
    return std::unique_ptr<enclave::DataKeySource>(
        std::make_unique<enclave::KmsDataKeySource>(evidence, store, std::move(options)));
  }
  if (flags.broker_url.empty()) {
    EML_ASSIGN_OR_RETURN(enclave::StaticDataKeySource keys,
                         enclave::StaticDataKeySource::FromFile(flags.data_key_file));
    Log("data key from a local file: sim only, no attested release");
    return std::unique_ptr<enclave::DataKeySource>(
        std::make_unique<enclave::StaticDataKeySource>(std::move(keys)));
  }
  enclave::BrokerClientOptions options;
  options.broker_url = flags.broker_url;
  options.proxy = flags.egress_proxy;
  options.log = [](const std::string& line) { Log(line); };
  EML_ASSIGN_OR_RETURN(std::unique_ptr<enclave::BrokerDataKeySource> keys,
                       enclave::BrokerDataKeySource::Create(evidence, std::move(options)));
  Log("data key by attested release from " + flags.broker_url +
      (flags.egress_proxy.empty() ? "" : " through " + flags.egress_proxy));
  return std::unique_ptr<enclave::DataKeySource>(std::move(keys));
}

// BootPackagedModel boots a signed, encrypted package from --store with the key from
// MakeKeySource (errors: kEnclaveBadConfig for flags, else enclave::BootModel's and
// OpenBootStore's).
Result<LoadedModel> BootPackagedModel(const Flags& flags, const engine::EmbedderOptions& options,
                                      const crypto::Ed25519PublicKey& owner,
                                      const enclave::EvidenceSource* evidence) {
  EML_ASSIGN_OR_RETURN(std::unique_ptr<model::ModelStore> store,
                       enclave::OpenBootStore(flags.store_url));
  EML_ASSIGN_OR_RETURN(std::unique_ptr<enclave::DataKeySource> keys,
                       MakeKeySource(flags, evidence, store.get()));
  Log("encrypted boot of " + flags.model_id + "/" + flags.model_version + " from " +
      flags.store_url + " (owner " + model::SignerKeyId(owner) + ")");
  const enclave::BootRequest request{.model_id = flags.model_id,
                                     .version = flags.model_version,
                                     .owner_key = owner,
                                     .store = *store,
                                     .max_model_bytes = flags.max_model_mb << 20};
  enclave::BootOptions boot_options;
  boot_options.engine = options;
  boot_options.warn = [](const std::string& warning) { Log("warning: " + warning); };
  EML_ASSIGN_OR_RETURN(enclave::BootedModel booted,
                       enclave::BootModel(request, *keys, nullptr, boot_options));
  Log("booted " + std::to_string(booted.model_bytes) + " bytes, " +
      std::to_string(booted.files_decrypted) + " files decrypted, memory " +
      (booted.memory_locked ? "locked" : "NOT locked"));
  LoadedModel out;
  out.embedder = std::move(booted.embedder);
  out.identity.id = booted.model_id;
  out.identity.version = booted.version;
  out.identity.hash = booted.model_hash;
  out.identity.hash_scheme = booted.model_hash_scheme;
  out.boot_timings = booted.timings;
  return out;
}

// WarmUp runs one timed inference, so the first client does not pay for the engine's lazy
// setup, and records its time in the cold-start breakdown. Errors: the engine's.
Status WarmUp(LoadedModel& loaded) {
  const auto start = std::chrono::steady_clock::now();
  EML_RETURN_IF_ERROR(loaded.embedder->Embed(std::vector<std::string>{"warm-up"}));
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - start);
  if (loaded.boot_timings.has_value()) {
    loaded.boot_timings->first_inference_us = static_cast<uint64_t>(micros.count());
    Log("cold start: " + enclave::FormatBootTimings(*loaded.boot_timings));
  }
  return OkStatus();
}

// PrintMeasurements prints the measurements of an encrypted boot with these flags.
int PrintMeasurements(const Flags& flags) {
  if (flags.platform != enclave::kPlatformSim) {
    return Fail("flags", Error{ErrorCode::kEnclaveBadConfig,
                               "--print-measurements is for --platform sim: on hardware the "
                               "platform's own tools give the image's measurements"});
  }
  if (!flags.model_dir.empty() || flags.owner_key_hex.empty()) {
    return Fail("flags", Error{ErrorCode::kEnclaveBadConfig,
                               "--print-measurements is for an encrypted boot: give --owner-key, "
                               "not --model"});
  }
  Result<crypto::Ed25519PublicKey> owner = ParseOwnerKey(flags.owner_key_hex);
  if (!owner.has_value()) {
    return Fail("flags", owner.error());
  }
  Result<std::unique_ptr<enclave::EvidenceSource>> source =
      MakeEvidenceSource(flags, MeasuredConfigOf(flags, nullptr, &*owner));
  if (!source.has_value()) {
    return Fail("measure", source.error());
  }
  const std::string json = enclave::MeasurementsJson(PcrsOf(**source), SimRootPath(flags));
  std::fwrite(json.data(), 1, json.size(), stdout);
  return std::fflush(stdout) == 0 ? kExitOk : kExitFailure;
}

Result<engine::Precision> ParsePrecision(const std::string& text) {
  if (std::optional<engine::Precision> precision = engine::ParsePrecision(text)) {
    return *precision;
  }
  return Error{ErrorCode::kEnclaveBadConfig, "--precision wants fp32, bf16 or int8"};
}

// StartModel measures, creates the evidence source and loads or boots the model, in the order
// each kind of model needs. On failure it has reported the error and set *exit_code.
struct Started {
  std::unique_ptr<enclave::EvidenceSource> source;
  LoadedModel loaded;
};
Result<Started> StartModel(const Flags& flags, const engine::EmbedderOptions& options,
                           int* exit_code) {
  Started out;
  if (!flags.model_dir.empty()) {
    Result<LoadedModel> loaded = LoadPlaintextModel(flags, options);
    if (!loaded.has_value()) {
      *exit_code = Fail("model", loaded.error());
      return loaded.error();
    }
    out.loaded = *std::move(loaded);
    Result<std::unique_ptr<enclave::EvidenceSource>> source =
        MakeEvidenceSource(flags, MeasuredConfigOf(flags, &out.loaded.identity, nullptr));
    if (!source.has_value()) {
      *exit_code = Fail("measure", source.error());
      return source.error();
    }
    out.source = *std::move(source);
    return out;
  }
  Status checked = CheckBootFlags(flags);
  Result<crypto::Ed25519PublicKey> owner = checked.has_value()
                                               ? ParseOwnerKey(flags.owner_key_hex)
                                               : Result<crypto::Ed25519PublicKey>(checked.error());
  if (!owner.has_value()) {
    *exit_code = Fail("flags", owner.error());
    return owner.error();
  }
  Result<std::unique_ptr<enclave::EvidenceSource>> source =
      MakeEvidenceSource(flags, MeasuredConfigOf(flags, nullptr, &*owner));
  if (!source.has_value()) {
    *exit_code = Fail("measure", source.error());
    return source.error();
  }
  out.source = *std::move(source);
  Result<LoadedModel> loaded = BootPackagedModel(flags, options, *owner, out.source.get());
  if (!loaded.has_value() && !flags.boot_from.empty() &&
      loaded.error().code == ErrorCode::kEnclaveBadConfig) {
    // A store or URL that only the boot itself could check came from the host.
    loaded = Error{ErrorCode::kBootConfigMalformed, "boot configuration: " + loaded.error().detail};
  }
  if (!loaded.has_value()) {
    *exit_code = loaded.error().code == ErrorCode::kEnclaveBadConfig ? Fail("flags", loaded.error())
                                                                     : FailBoot(loaded.error());
    return loaded.error();
  }
  out.loaded = *std::move(loaded);
  return out;
}

// Serve runs the session server on the loaded model until SIGTERM / SIGINT.
int Serve(const Flags& flags, const channel::Address& address, Started model,
          const sigset_t& stop_signals) {
  std::unique_ptr<enclave::EvidenceSource> source = std::move(model.source);
  const LoadedModel& loaded = model.loaded;
  engine::EmbedderBackend backend(loaded.embedder.get());
  Result<std::unique_ptr<engine::BatchScheduler>> scheduler =
      engine::BatchScheduler::Create(&backend, engine::SchedulerOptions{});
  if (!scheduler.has_value()) {
    return Fail("scheduler", scheduler.error());
  }
  const enclave::ModelIdentity identity = loaded.identity;

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
  Result<std::unique_ptr<channel::Listener>> listener = channel::Listen(address);
  if (!listener.has_value()) {
    return Fail("listen", listener.error());
  }
  const std::string bound = channel::FormatAddress((*listener)->bound());
  if (Status started = (*server)->Start(*std::move(listener)); !started.has_value()) {
    return Fail("server", started.error());
  }

  enclave::ReadyInfo ready;
  ready.address = bound;
  ready.platform = std::string(source->platform());
  if (flags.platform == enclave::kPlatformSim) {
    ready.sim_root = SimRootPath(flags);
  }
  ready.pcrs = PcrsOf(*source);
  ready.model_id = identity.id;
  ready.pid = static_cast<int64_t>(::getpid());
  if (loaded.boot_timings.has_value()) {
    ready.cold_start_us = enclave::BootTimingFields(*loaded.boot_timings);
  }
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

// ApplyBootConfig fetches the host's boot configuration (--boot-from) and sets the flags it
// stands for. Returns 0, or the exit code after reporting the failure.
int ApplyBootConfig(Flags& flags) {
  Result<channel::Address> address = channel::ParseAddress(flags.boot_from);
  if (!address.has_value() ||
      (address->kind == channel::Address::Kind::kTcp && address->tcp.port == 0) ||
      (address->kind == channel::Address::Kind::kVsock && address->vsock.port == 0)) {
    return Fail("flags", Error{ErrorCode::kEnclaveBadConfig,
                               "--boot-from wants tcp:HOST:PORT, unix:PATH or vsock:CID:PORT"});
  }
  Result<enclave::BootConfig> config = enclave::FetchBootConfig(*address);
  if (!config.has_value()) {
    return FailBoot(config.error());
  }
  flags.model_id = config->model_id;
  flags.model_version = config->model_version;
  flags.store_url = config->store;
  flags.kms = config->key_source == enclave::BootConfig::KeySource::kKms;
  flags.broker_url = config->broker;
  flags.egress_proxy = config->egress_proxy;
  if (config->max_model_mb.has_value() && *config->max_model_mb < flags.max_model_mb) {
    flags.max_model_mb = *config->max_model_mb;
  }
  Log("boot configuration from " + channel::FormatAddress(*address) + ": " + flags.model_id + "/" +
      flags.model_version + " from " + flags.store_url + ", key from " +
      (flags.kms ? std::string("kms") : flags.broker_url));
  return kExitOk;
}

int Run(Flags flags, const sigset_t& stop_signals) {
  if (flags.print_measurements) {
    return PrintMeasurements(flags);
  }
  if (flags.listen.empty()) {
    return Fail("flags", Error{ErrorCode::kEnclaveBadConfig, "--listen is required"});
  }
  Result<channel::Address> address = enclave::ParseListenAddress(flags.listen);
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
  if (!flags.boot_from.empty()) {
    if (const int failed = ApplyBootConfig(flags); failed != kExitOk) {
      return failed;
    }
  }
  if (flags.model_dir.empty() == flags.store_url.empty()) {
    return Fail("flags", Error{ErrorCode::kEnclaveBadConfig,
                               "give exactly one of --model DIR and --store URL"});
  }
  if (!flags.model_dir.empty() && flags.platform != enclave::kPlatformSim) {
    return Fail("flags", Error{ErrorCode::kEnclaveBadConfig,
                               "--model (a plaintext directory) is for --platform sim only; "
                               "hardware enclaves boot an encrypted package with --store"});
  }
  engine::EmbedderOptions embedder_options;
  embedder_options.precision = *precision;
  embedder_options.num_threads = flags.threads;
  int exit_code = kExitFailure;
  Result<Started> model = StartModel(flags, embedder_options, &exit_code);
  if (!model.has_value()) {
    return exit_code;
  }
  if (Status warm = WarmUp(model->loaded); !warm.has_value()) {
    return Fail("warm-up inference", warm.error());
  }
  return Serve(flags, *address, *std::move(model), stop_signals);
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
  app.add_option("--listen", flags.listen,
                 "tcp:HOST:PORT, unix:PATH or vsock:CID:PORT (required to serve; port 0 picks)");
  CLI::Option* model_option =
      app.add_option("--model", flags.model_dir, "model directory (plaintext; sim only)");
  CLI::Option* store_option = app.add_option(
      "--store", flags.store_url,
      "model store URL (encrypted boot): file:///DIR, s3://B/P or http://HOST:PORT (host proxy)");
  model_option->excludes(store_option);
  app.add_option("--model-id", flags.model_id, "model id in the store (with --store)");
  app.add_option("--model-version", flags.model_version, "model version (with --store)");
  app.add_option("--owner-key", flags.owner_key_hex,
                 "model owner's Ed25519 public key, 64 hex digits (measured: PCR1)");
  CLI::Option* key_file_option =
      app.add_option("--data-key-file", flags.data_key_file,
                     "32-byte data key file (sim stand-in for the broker release)");
  CLI::Option* broker_option = app.add_option("--broker", flags.broker_url,
                                              "key broker URL: the data key by attested release");
  broker_option->excludes(key_file_option);
  app.add_flag("--kms", flags.kms,
               "data key from AWS KMS, as the manifest's kms: key id names "
               "(EPHEMERALML_KMS_ENDPOINT, AWS_REGION, AWS_* credentials)")
      ->excludes(key_file_option)
      ->excludes(broker_option);
  app.add_option("--egress-proxy", flags.egress_proxy,
                 "The host's CONNECT proxy to reach the broker or KMS: http://HOST:PORT, "
                 "unix:PATH or vsock:CID:PORT");
  CLI::Option* print_option =
      app.add_flag("--print-measurements", flags.print_measurements,
                   "print the PCRs of an encrypted boot with these flags and exit");
  CLI::Option* boot_from_option = app.add_option(
      "--boot-from", flags.boot_from,
      "read the encrypted boot's model id, version, store, key source and egress proxy from the "
      "host's boot configuration at tcp:HOST:PORT, unix:PATH or vsock:CID:PORT (untrusted)");
  for (CLI::Option* exclusive :
       {model_option, store_option, app.get_option("--model-id"), app.get_option("--model-version"),
        key_file_option, broker_option, app.get_option("--kms"), app.get_option("--egress-proxy"),
        print_option}) {
    boot_from_option->excludes(exclusive);
  }
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
  app.add_option("--platform", flags.platform,
                 "who attests: sim (local evaluation), aws-nitro, tdx, sev-snp or gcp-cs")
      ->check(CLI::IsMember({"sim", "aws-nitro", "tdx", "sev-snp", "gcp-cs"}))
      ->capture_default_str();
  app.add_option("--nsm-device", flags.hardware.nsm_device_path, "aws-nitro: the NSM device")
      ->capture_default_str();
  app.add_option("--tsm-root", flags.hardware.configfs_tsm_root,
                 "tdx / sev-snp: the configfs-tsm report folder")
      ->capture_default_str();
  app.add_option("--token-socket", flags.hardware.token_socket_path,
                 "gcp-cs: the Confidential Space launcher's token socket")
      ->capture_default_str();
  app.add_option("--audience", flags.hardware.audience,
                 "gcp-cs: the audience the tokens are requested for (required there)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }
  return Run(flags, stop_signals);
}
