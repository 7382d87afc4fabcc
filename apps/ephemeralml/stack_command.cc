#include "stack_command.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "cli_util.h"
#include "common/encoding.h"
#include "common/result.h"
#include "crypto/ed25519.h"
#include "crypto/random.h"
#include "crypto/stream_aead.h"
#include "enclave/boot_config.h"
#include "keys_command.h"
#include "model/manifest.h"
#include "model/model_directory.h"
#include "model/package.h"
#include "model/store.h"

namespace eml::apps {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

inline constexpr int kExitAlreadyRunning = 1;
inline constexpr int kExitStartFailed = 1;
inline constexpr size_t kMaxStateFileBytes = 64 << 10;
inline constexpr int kStopTimeoutMs = 15'000;
inline constexpr int kMaxEvidenceAgeS = 600;

struct UpFlags {
  std::string model_dir;
  int port = kDefaultStackPort;
  std::string record_dir;
  std::string store_url;  // empty: file://$EPHEMERALML_HOME/store
  int timeout_s = 120;
};

// Paths of the stack under $EPHEMERALML_HOME.
struct StackPaths {
  fs::path home, run, logs, state, broker, packages, store;
  fs::path stack_json, enclave_ready, host_ready, broker_ready, socket, store_socket, egress_socket,
      boot_socket, boot_config, policy, release_policy, signing_key, package_json, enclave_log,
      host_log, broker_log;
};

StackPaths MakePaths() {
  StackPaths p;
  const char* env = std::getenv("EPHEMERALML_HOME");
  if (env != nullptr && env[0] != '\0') {
    p.home = env;
  } else {
    const char* user_home = std::getenv("HOME");
    p.home = fs::path(user_home != nullptr ? user_home : ".") / ".ephemeralml";
  }
  p.home = fs::absolute(p.home).lexically_normal();
  p.run = p.home / "run";
  p.logs = p.home / "logs";
  p.state = p.home / "state";
  p.broker = p.home / "broker";
  p.packages = p.home / "packages";
  p.store = p.home / "store";
  p.stack_json = p.run / "stack.json";
  p.enclave_ready = p.run / "enclave.ready.json";
  p.host_ready = p.run / "host.ready.json";
  p.broker_ready = p.run / "broker.ready.json";
  p.socket = p.run / "enclave.sock";
  // The host's proxies and boot configuration face the enclave on Unix sockets (VSock on Nitro),
  // so their addresses are known before the host starts and can go into boot.json.
  p.store_socket = p.run / "store.sock";
  p.egress_socket = p.run / "egress.sock";
  p.boot_socket = p.run / "boot.sock";
  p.boot_config = p.run / "boot.json";
  p.policy = p.home / "policy.json";
  p.release_policy = p.home / "release-policy.json";
  p.signing_key = p.home / "owner.key";
  p.package_json = p.packages / "current.json";
  p.enclave_log = p.logs / "enclave.log";
  p.host_log = p.logs / "host.log";
  p.broker_log = p.logs / "broker.log";
  return p;
}

Result<nlohmann::json> ReadJsonFile(const fs::path& path) {
  Result<std::vector<uint8_t>> bytes = ReadFileCapped(path.string(), kMaxStateFileBytes);
  if (!bytes.has_value()) {
    return Error{
        bytes.code() == ErrorCode::kIoError ? ErrorCode::kNotFound : ErrorCode::kStackBadState,
        "cannot read " + path.string()};
  }
  nlohmann::json out = nlohmann::json::parse(bytes->begin(), bytes->end(), nullptr, false);
  if (out.is_discarded() || !out.is_object()) {
    return Error{ErrorCode::kStackBadState, path.string() + " is not a JSON object"};
  }
  return out;
}

Status WriteText(const fs::path& path, const std::string& text, unsigned mode) {
  return WriteFileAtomic(path.string(),
                         std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()),
                         mode, false);
}

// ReadProcFile reads a small /proc file (their size reads as 0, so read until EOF, capped).
std::string ReadProcFile(const std::string& path) {
  std::string out;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return out;
  }
  char buf[4096];
  while (out.size() < kMaxStateFileBytes) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n <= 0) {
      break;
    }
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

// IsZombie: `pid` has exited but its parent has not collected it yet (kill(pid, 0) still
// succeeds then; in a container whose init does not reap, it stays so).
bool IsZombie(pid_t pid) {
  const std::string stat = ReadProcFile("/proc/" + std::to_string(pid) + "/stat");
  const size_t paren = stat.rfind(')');
  return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] == 'Z';
}

// IsOurProcess: `pid` is alive and its command line names one of our binaries (so a pid reused
// by an unrelated process is never signalled).
bool IsOurProcess(pid_t pid) {
  if (pid <= 1 || ::kill(pid, 0) != 0 || IsZombie(pid)) {
    return false;
  }
  const std::string cmdline = ReadProcFile("/proc/" + std::to_string(pid) + "/cmdline");
  return cmdline.find("ephemeralml") != std::string::npos;
}

// Exited collects `pid` if it is our child and says whether it has exited.
bool Exited(pid_t pid) {
  int status = 0;
  if (::waitpid(pid, &status, WNOHANG) == pid) {
    return true;
  }
  return ::kill(pid, 0) != 0 || IsZombie(pid);
}

// StopProcess: SIGTERM, wait up to timeout_ms, then SIGKILL. Returns how it ended.
std::string StopProcess(pid_t pid, int timeout_ms) {
  if (!IsOurProcess(pid)) {
    return "not running";
  }
  ::kill(pid, SIGTERM);
  const Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (Clock::now() < deadline) {
    if (Exited(pid)) {
      return "stopped";
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(pid, SIGKILL);
  for (int i = 0; i < 100 && !Exited(pid); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return "killed after " + std::to_string(timeout_ms / 1000) + " s";
}

// Spawn starts argv[0] with argv in a new session, stdin from /dev/null and stdout/stderr
// appended to `log`. Errors: kStackStartFailed.
Result<pid_t> Spawn(const std::vector<std::string>& argv, const fs::path& log) {
  std::vector<char*> args;
  for (const std::string& a : argv) {
    args.push_back(const_cast<char*>(a.c_str()));
  }
  args.push_back(nullptr);
  const int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    return Error{ErrorCode::kStackStartFailed, "cannot open log " + log.string()};
  }
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const pid_t pid = ::fork();
  if (pid == 0) {
    // Child: only async-signal-safe calls until exec.
    ::setsid();
    ::dup2(null_fd, STDIN_FILENO);
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(log_fd);
  if (null_fd >= 0) {
    ::close(null_fd);
  }
  if (pid < 0) {
    return Error{ErrorCode::kStackStartFailed, "fork failed"};
  }
  return pid;
}

std::string LogTail(const fs::path& log, size_t lines) {
  std::ifstream in(log);
  std::vector<std::string> all;
  for (std::string line; std::getline(in, line);) {
    all.push_back(line);
  }
  std::string out;
  for (size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i) {
    out += "    " + all[i] + "\n";
  }
  return out;
}

// WaitReady waits until `ready` exists and parses, or the process exits, or the deadline.
Result<nlohmann::json> WaitReady(pid_t pid, const fs::path& ready, const fs::path& log,
                                 const std::string& what, Clock::time_point deadline) {
  while (true) {
    std::error_code ec;
    if (fs::exists(ready, ec)) {
      return ReadJsonFile(ready);
    }
    if (Exited(pid)) {
      return Error{ErrorCode::kStackStartFailed, what + " exited during start-up; last lines of " +
                                                     log.string() + ":\n" + LogTail(log, 8)};
    }
    if (Clock::now() >= deadline) {
      return Error{ErrorCode::kStackStartFailed, what + " not ready in time; see " + log.string()};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

void RemoveRunFiles(const StackPaths& p) {
  std::error_code ignored;
  for (const fs::path& f : {p.stack_json, p.enclave_ready, p.host_ready, p.broker_ready, p.socket,
                            p.store_socket, p.egress_socket, p.boot_socket, p.boot_config}) {
    fs::remove(f, ignored);
  }
}

// The stack's processes, in the order `down` stops them: the host first, so no new session
// reaches an enclave that is stopping; the broker last.
constexpr const char* kRoles[] = {"host", "enclave", "broker"};

// RunningPids reads stack.json and returns the pids still alive that are ours.
std::vector<pid_t> RunningPids(const nlohmann::json& stack) {
  std::vector<pid_t> out;
  for (const char* role : kRoles) {
    if (stack.contains(role) && stack[role].is_object() && stack[role].contains("pid") &&
        stack[role]["pid"].is_number_integer()) {
      const auto pid = static_cast<pid_t>(stack[role]["pid"].get<int64_t>());
      if (IsOurProcess(pid)) {
        out.push_back(pid);
      }
    }
  }
  return out;
}

std::string StringField(const nlohmann::json& j, const char* key) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : "";
}

// RunForOutput runs `argv` to completion (stdin /dev/null, stderr appended to `log`) and returns
// what it printed on stdout (at most kMaxStateFileBytes). Errors: kStackStartFailed (cannot
// start, non-zero exit, past the deadline: then it is killed).
Result<std::string> RunForOutput(const std::vector<std::string>& argv, const fs::path& log,
                                 Clock::time_point deadline) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    return Error{ErrorCode::kStackStartFailed, "pipe failed"};
  }
  std::vector<char*> args;
  for (const std::string& a : argv) {
    args.push_back(const_cast<char*>(a.c_str()));
  }
  args.push_back(nullptr);
  const int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(null_fd, STDIN_FILENO);
    ::dup2(pipe_fds[1], STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(pipe_fds[1]);
  for (const int fd : {log_fd, null_fd}) {
    if (fd >= 0) {
      ::close(fd);
    }
  }
  if (pid < 0) {
    ::close(pipe_fds[0]);
    return Error{ErrorCode::kStackStartFailed, "fork failed"};
  }
  std::string out;
  bool timed_out = false;
  char buf[4096];
  while (true) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd pfd{pipe_fds[0], POLLIN, 0};
    const int ready = ::poll(&pfd, 1, static_cast<int>(std::min<int64_t>(left.count(), 1000)));
    if (ready < 0 && errno != EINTR) {
      break;
    }
    if (ready <= 0) {
      continue;
    }
    const ssize_t n = ::read(pipe_fds[0], buf, sizeof(buf));
    if (n <= 0) {
      break;  // EOF: the program closed its stdout (it exits)
    }
    if (out.size() < kMaxStateFileBytes) {
      out.append(buf, static_cast<size_t>(n));
    }
  }
  ::close(pipe_fds[0]);
  if (timed_out) {
    ::kill(pid, SIGKILL);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (timed_out || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return Error{ErrorCode::kStackStartFailed,
                 fs::path(argv[0]).filename().string() + " " + argv[1] + " failed" +
                     (timed_out ? " (timed out)" : "") + "; last lines of " + log.string() + ":\n" +
                     LogTail(log, 8)};
  }
  return out;
}

// Measurements: what `ephemeralml-enclave --print-measurements` prints.
struct Measurements {
  nlohmann::json pcrs;  // {"0": hex, "1": hex, "2": hex}
  std::string sim_root;
};

Result<Measurements> ParseMeasurements(const std::string& text) {
  const nlohmann::json doc = nlohmann::json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("pcrs") || !doc["pcrs"].is_object() ||
      StringField(doc, "sim_root").empty()) {
    return Error{ErrorCode::kStackBadState,
                 "ephemeralml-enclave --print-measurements printed no pcrs / sim_root"};
  }
  Measurements out{nlohmann::json::object(), StringField(doc, "sim_root")};
  for (const char* index : {"0", "1", "2"}) {
    const std::string value = StringField(doc["pcrs"], index);
    if (value.size() != 96) {
      return Error{ErrorCode::kStackBadState, std::string("--print-measurements: PCR") + index};
    }
    out.pcrs[index] = value;
  }
  return out;
}

// EvidencePolicy: platform "sim", the enclave's sim root and its PCR0-2; the client's policy.json
// and the evidence part of the broker's release policy. Paths in a policy are relative to its
// folder (both files live in $EPHEMERALML_HOME).
nlohmann::json EvidencePolicy(const Measurements& m, const StackPaths& p) {
  const fs::path rel = fs::path(m.sim_root).lexically_relative(p.home);
  const std::string root_ref =
      (!rel.empty() && rel.native().rfind("..", 0) != 0) ? rel.string() : m.sim_root;
  return {{"version", 1},
          {"platforms", {{"sim", {{"roots", {root_ref}}, {"pcrs", m.pcrs}}}}},
          {"allow_debug", false},
          {"max_evidence_age_s", kMaxEvidenceAgeS}};
}

// LoadOwnerKey reads the owner's Ed25519 signing seed, creating it (0600) on first use.
Result<crypto::Ed25519PrivateKey> LoadOwnerKey(const StackPaths& p) {
  std::error_code ec;
  if (!fs::exists(p.signing_key, ec)) {
    EML_ASSIGN_OR_RETURN(SecretBytes seed, crypto::RandomSecret(crypto::kEd25519SeedSize));
    EML_RETURN_IF_ERROR(WriteFileAtomic(p.signing_key.string(),
                                        seed.Reveal(InsecureSecretAccess::Get()), 0600,
                                        /*exclusive=*/true));
    std::cout << "created owner signing key " << p.signing_key.string() << " (mode 0600)"
              << std::endl;
  }
  EML_ASSIGN_OR_RETURN(SecretBytes seed,
                       ReadSecretKeyFile(p.signing_key.string(), crypto::kEd25519SeedSize));
  return crypto::Ed25519PrivateKey::FromSeed(seed);
}

// Package: the packed model `up` serves, recorded in packages/current.json.
struct Package {
  std::string model_id, version;
  fs::path dir, dek, source;
};

// StageModel links (or copies) the model directory's files into `stage`, leaving out ONNX
// exports: the engine reads safetensors, and the exports would triple the package.
Status StageModel(const fs::path& model, const fs::path& stage) {
  std::error_code ec;
  for (fs::recursive_directory_iterator it(model, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_regular_file() || it->path().extension() == ".onnx") {
      continue;
    }
    const fs::path target = stage / it->path().lexically_relative(model);
    fs::create_directories(target.parent_path(), ec);
    fs::create_hard_link(it->path(), target, ec);
    if (ec) {
      ec.clear();
      fs::copy_file(it->path(), target, ec);
    }
  }
  if (ec) {
    return Error{ErrorCode::kIoError, "cannot stage " + model.string() + ": " + ec.message()};
  }
  return OkStatus();
}

// EnsurePackage returns the cached package of `model` when packages/current.json names one
// packed from that directory by this owner key (package and DEK still present); otherwise it
// packs a new version (a UTC timestamp, so it never collides with a version already published
// or registered) with --encrypt-all, DEK in packages/ID-VERSION.dek (0600).
Result<Package> EnsurePackage(const fs::path& model, const crypto::Ed25519PrivateKey& owner,
                              const StackPaths& p) {
  const std::string owner_id = model::SignerKeyId(owner.public_key());
  std::error_code ec;
  if (Result<nlohmann::json> cached = ReadJsonFile(p.package_json); cached.has_value()) {
    Package pkg{StringField(*cached, "model_id"), StringField(*cached, "version"),
                StringField(*cached, "package"), StringField(*cached, "dek"),
                StringField(*cached, "source")};
    if (pkg.source == model && StringField(*cached, "owner_key") == owner_id &&
        fs::is_directory(pkg.dir, ec) && fs::exists(pkg.dek, ec)) {
      std::cout << "reusing package " << pkg.model_id << " " << pkg.version << std::endl;
      return pkg;
    }
  }
  char version[32];
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  ::gmtime_r(&now, &utc);
  std::strftime(version, sizeof(version), "%Y%m%dT%H%M%SZ", &utc);
  Package pkg{model.filename().string(), version, {}, {}, model};
  pkg.dir = p.packages / (pkg.model_id + "-" + pkg.version);
  pkg.dek = p.packages / (pkg.model_id + "-" + pkg.version + ".dek");
  const fs::path stage = p.packages / (".stage-" + pkg.version);
  fs::remove_all(stage, ec);
  EML_RETURN_IF_ERROR(StageModel(model, stage));
  EML_ASSIGN_OR_RETURN(SecretBytes dek, crypto::RandomSecret(crypto::kStreamKeySize));
  Status written = WriteFileAtomic(pkg.dek.string(), dek.Reveal(InsecureSecretAccess::Get()), 0600,
                                   /*exclusive=*/true);
  model::PackOptions options;
  options.model_id = pkg.model_id;
  options.version = pkg.version;
  options.encrypt_all = true;
  std::cout << "packing " << model.string() << " as " << pkg.model_id << " " << pkg.version
            << " (every file encrypted)" << std::endl;
  Result<model::Manifest> manifest = written.has_value()
                                         ? model::PackModel(stage, pkg.dir, dek, owner, options)
                                         : Result<model::Manifest>(written.error());
  fs::remove_all(stage, ec);
  if (!manifest.has_value()) {
    fs::remove(pkg.dek, ec);
    return std::move(manifest).error();
  }
  const nlohmann::json record = {{"model_id", pkg.model_id},    {"version", pkg.version},
                                 {"package", pkg.dir.string()}, {"dek", pkg.dek.string()},
                                 {"source", model.string()},    {"owner_key", owner_id}};
  EML_RETURN_IF_ERROR(WriteText(p.package_json, record.dump(2) + "\n", 0644));
  return pkg;
}

// PublishPackage copies the package into the store at `url` (already there: kept).
Status PublishPackage(const Package& pkg, const std::string& url) {
  EML_ASSIGN_OR_RETURN(std::unique_ptr<model::ModelStore> store, model::OpenModelStore(url));
  const Status published = store->Publish(pkg.dir);
  if (!published.has_value() && published.code() != ErrorCode::kStoreVersionExists) {
    return published.error();
  }
  return OkStatus();
}

// FormatColdStart renders the enclave ready file's cold_start_us as "step 1.2 ms, ...": the
// boot's steps in order, total, then the first inference.
std::string FormatColdStart(const nlohmann::json& ready) {
  if (!ready.contains("cold_start_us") || !ready["cold_start_us"].is_object()) {
    return "(not reported)";
  }
  const nlohmann::json& steps = ready["cold_start_us"];
  std::string out;
  for (const char* name : {"manifest", "challenge", "attest", "release", "key", "fetch", "decrypt",
                           "hash", "load", "total", "first_inference"}) {
    const std::string field = std::string(name) + "_us";
    if (!steps.contains(field) || !steps[field].is_number_unsigned()) {
      continue;
    }
    char text[96];
    std::snprintf(text, sizeof(text), "%s%s %.1f ms", out.empty() ? "" : ", ", name,
                  static_cast<double>(steps[field].get<uint64_t>()) / 1000.0);
    out += text;
  }
  return out;
}

// Binaries: this executable and ephemeralml-enclave beside it (or in the build tree's
// sibling folder).
struct Binaries {
  fs::path self, enclave;
};

Result<Binaries> FindBinaries() {
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (ec) {
    return Error{ErrorCode::kStackStartFailed, "cannot locate the ephemeralml executable"};
  }
  const fs::path enclave_bin = self.parent_path() / "ephemeralml-enclave";
  const fs::path enclave_alt =
      self.parent_path().parent_path() / "ephemeralml-enclave" / "ephemeralml-enclave";
  fs::path enclave = enclave_bin;
  if (!fs::exists(enclave_bin, ec) && fs::exists(enclave_alt, ec)) {
    enclave = enclave_alt;
  }
  if (!fs::exists(enclave, ec)) {
    return Error{ErrorCode::kStackStartFailed, enclave_bin.string() + " not found"};
  }
  return Binaries{self, enclave};
}

// StartStack starts the broker, the host and the enclave; on failure the caller stops whatever
// `pids` holds.
Result<int> StartStack(const UpFlags& flags, const StackPaths& p, std::vector<pid_t>* pids) {
  EML_ASSIGN_OR_RETURN(Binaries bin, FindBinaries());
  const fs::path model = fs::absolute(flags.model_dir.empty() ? model::DefaultModelDirectoryPath()
                                                              : fs::path(flags.model_dir))
                             .lexically_normal();
  if (p.socket.string().size() > 107) {
    return Error{ErrorCode::kStackStartFailed,
                 "socket path too long for a Unix socket: " + p.socket.string()};
  }
  const Clock::time_point deadline = Clock::now() + std::chrono::seconds(flags.timeout_s);

  // 1. The key broker (creates its folder, master key and admin token on first start).
  EML_ASSIGN_OR_RETURN(pid_t broker_pid,
                       Spawn({bin.self.string(), "keybroker", "serve", "--listen", "127.0.0.1:0",
                              "--data", p.broker.string(), "--ready-file", p.broker_ready.string()},
                             p.broker_log));
  pids->push_back(broker_pid);
  EML_ASSIGN_OR_RETURN(nlohmann::json broker_ready,
                       WaitReady(broker_pid, p.broker_ready, p.broker_log, "broker", deadline));
  const std::string broker_address = StringField(broker_ready, "address");
  const std::string broker_url = StringField(broker_ready, "url");
  const std::string token_file = StringField(broker_ready, "token_file");
  if (broker_address.empty() || broker_url.empty() || token_file.empty()) {
    return Error{ErrorCode::kStackBadState, "broker ready file lacks address/url/token_file"};
  }
  std::cout << "broker   pid " << broker_pid << "  " << broker_url << std::endl;

  // 2. The owner's signed, encrypted package, published to the local file store.
  EML_ASSIGN_OR_RETURN(crypto::Ed25519PrivateKey owner, LoadOwnerKey(p));
  const std::string owner_hex = HexEncode(owner.public_key().bytes());
  EML_ASSIGN_OR_RETURN(Package pkg, EnsurePackage(model, owner, p));
  const std::string store_url =
      flags.store_url.empty() ? "file://" + p.store.string() : flags.store_url;
  EML_RETURN_IF_ERROR(PublishPackage(pkg, store_url));

  // 3. The enclave's measurements before it runs, pinned in both policies.
  EML_ASSIGN_OR_RETURN(std::string printed,
                       RunForOutput({bin.enclave.string(), "--print-measurements", "--state-dir",
                                     p.state.string(), "--owner-key", owner_hex},
                                    p.enclave_log, deadline));
  EML_ASSIGN_OR_RETURN(Measurements measured, ParseMeasurements(printed));
  const nlohmann::json evidence = EvidencePolicy(measured, p);
  EML_RETURN_IF_ERROR(WriteText(p.policy, evidence.dump(2) + "\n", 0644));
  const nlohmann::json release = {
      {"version", 1}, {"evidence", evidence}, {"security_modes", {"evaluation"}}};
  EML_RETURN_IF_ERROR(WriteText(p.release_policy, release.dump(2) + "\n", 0644));
  EML_ASSIGN_OR_RETURN(SecretBytes dek,
                       ReadSecretKeyFile(pkg.dek.string(), crypto::kStreamKeySize));
  EML_ASSIGN_OR_RETURN(std::string registered,
                       RegisterOrUpdateKey({broker_url, token_file, pkg.model_id, pkg.version,
                                            p.release_policy.string()},
                                           std::move(dek)));
  std::cout << "key      " << registered << " for " << pkg.model_id << " " << pkg.version
            << " (release policy: sim root, PCR0-2, evaluation)" << std::endl;

  // 4. The host: client relay, storage proxy over the file store, egress proxy to the broker,
  // and the boot configuration it hands the enclave (untrusted input there: the enclave checks
  // the package against the owner key it was measured with).
  enclave::BootConfig boot;
  boot.model_id = pkg.model_id;
  boot.model_version = pkg.version;
  boot.store = "unix:" + p.store_socket.string();
  boot.key_source = enclave::BootConfig::KeySource::kBroker;
  boot.broker = broker_url;
  boot.egress_proxy = "unix:" + p.egress_socket.string();
  EML_RETURN_IF_ERROR(WriteText(p.boot_config, enclave::FormatBootConfig(boot) + "\n", 0644));
  std::vector<std::string> host_argv = {
      bin.self.string(), "host",
      "--listen",        "127.0.0.1:" + std::to_string(flags.port),
      "--enclave",       "unix:" + p.socket.string(),
      "--ready-file",    p.host_ready.string(),
      "--store",         store_url,
      "--store-listen",  boot.store,
      "--egress-listen", boot.egress_proxy,
      "--egress-allow",  broker_address,
      "--boot-config",   p.boot_config.string(),
      "--boot-listen",   "unix:" + p.boot_socket.string()};
  if (!flags.record_dir.empty()) {
    host_argv.push_back("--record");
    host_argv.push_back(fs::absolute(flags.record_dir).string());
  }
  EML_ASSIGN_OR_RETURN(pid_t host_pid, Spawn(host_argv, p.host_log));
  pids->push_back(host_pid);
  EML_ASSIGN_OR_RETURN(nlohmann::json host_ready,
                       WaitReady(host_pid, p.host_ready, p.host_log, "host", deadline));
  const std::string host_address = StringField(host_ready, "address");
  const std::string store_address = StringField(host_ready, "store_address");
  const std::string egress_address = StringField(host_ready, "egress_address");
  const std::string boot_address = StringField(host_ready, "boot_address");
  if (host_address.empty() || store_address.empty() || egress_address.empty() ||
      boot_address.empty()) {
    return Error{ErrorCode::kStackBadState,
                 "host ready file lacks address/store_address/egress_address/boot_address"};
  }

  // 5. The enclave: measured with the owner key only; it asks the host for the boot
  // configuration, reads the package through the host's storage proxy and gets the key from the
  // broker through the egress proxy.
  const std::vector<std::string> enclave_argv = {bin.enclave.string(),
                                                 "--listen",
                                                 "unix:" + p.socket.string(),
                                                 "--state-dir",
                                                 p.state.string(),
                                                 "--ready-file",
                                                 p.enclave_ready.string(),
                                                 "--owner-key",
                                                 owner_hex,
                                                 "--boot-from",
                                                 boot_address};
  EML_ASSIGN_OR_RETURN(pid_t enclave_pid, Spawn(enclave_argv, p.enclave_log));
  pids->push_back(enclave_pid);
  std::cout << "starting enclave (pid " << enclave_pid << ", " << pkg.model_id << " " << pkg.version
            << " booting from " << boot_address << ")" << std::endl;
  EML_ASSIGN_OR_RETURN(nlohmann::json enclave_ready,
                       WaitReady(enclave_pid, p.enclave_ready, p.enclave_log, "enclave", deadline));
  const std::string enclave_address = StringField(enclave_ready, "address");
  if (enclave_address.empty()) {
    return Error{ErrorCode::kStackBadState, "enclave ready file has no address"};
  }

  nlohmann::json stack = {{"version", 1},
                          {"broker",
                           {{"pid", broker_pid},
                            {"url", broker_url},
                            {"token_file", token_file},
                            {"log", p.broker_log.string()}}},
                          {"enclave",
                           {{"pid", enclave_pid},
                            {"address", enclave_address},
                            {"log", p.enclave_log.string()},
                            {"model_id", pkg.model_id},
                            {"model_version", pkg.version},
                            {"argv", enclave_argv}}},
                          {"host",
                           {{"pid", host_pid},
                            {"address", host_address},
                            {"store_address", store_address},
                            {"egress_address", egress_address},
                            {"boot_address", boot_address},
                            {"log", p.host_log.string()}}},
                          {"policy", p.policy.string()},
                          {"release_policy", p.release_policy.string()},
                          {"store", store_url},
                          {"package", pkg.dir.string()},
                          {"model_dir", model.string()}};
  if (!flags.record_dir.empty()) {
    stack["host"]["record_dir"] = fs::absolute(flags.record_dir).string();
  }
  EML_RETURN_IF_ERROR(WriteText(p.stack_json, stack.dump(2) + "\n", 0644));

  std::cout << "EphemeralML stack is up (platform sim, security_mode evaluation)\n"
            << "  broker   pid " << broker_pid << "  " << broker_url << " (data "
            << p.broker.string() << ")\n"
            << "  host     pid " << host_pid << "  " << host_address << " -> " << enclave_address
            << "; store proxy " << store_address << " -> " << store_url << "; egress "
            << egress_address << " -> " << broker_address << " only\n"
            << "  enclave  pid " << enclave_pid << "  " << enclave_address << "  model "
            << pkg.model_id << " " << pkg.version << "\n"
            << "  cold start " << FormatColdStart(enclave_ready) << "\n"
            << "  policy   " << p.policy.string() << " (sim root + PCR0-2 pins)\n"
            << "  logs     " << p.logs.string() << "\n"
            << "Connect with:\n"
            << "  ephemeralml embed --connect " << host_address << " 'text'\n"
            << "Stop with:\n"
            << "  ephemeralml down\n";
  return kExitOk;
}

Result<int> RunUp(const UpFlags& flags) {
  const StackPaths p = MakePaths();
  for (const fs::path& dir : {p.home, p.run, p.logs, p.state, p.packages, p.store}) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) {
      return Error{ErrorCode::kStackStartFailed, "cannot create " + dir.string()};
    }
  }
  Result<nlohmann::json> existing = ReadJsonFile(p.stack_json);
  if (existing.has_value()) {
    if (!RunningPids(*existing).empty()) {
      const Error running{ErrorCode::kStackAlreadyRunning,
                          "a stack is already running (host " +
                              StringField((*existing)["host"], "address") +
                              "); `ephemeralml down` stops it"};
      std::cout << "ephemeralml: up: " << ToString(running) << std::endl;
      return kExitAlreadyRunning;
    }
  }
  RemoveRunFiles(p);  // stale files of a stack that died
  std::vector<pid_t> pids;
  Result<int> started = StartStack(flags, p, &pids);
  if (!started.has_value()) {
    for (auto it = pids.rbegin(); it != pids.rend(); ++it) {
      StopProcess(*it, 5'000);
    }
    RemoveRunFiles(p);
    std::cerr << "ephemeralml: up: " << ToString(started.error()) << std::endl;
    return kExitStartFailed;
  }
  return started;
}

Result<int> RunDown() {
  const StackPaths p = MakePaths();
  Result<nlohmann::json> stack = ReadJsonFile(p.stack_json);
  if (!stack.has_value()) {
    if (stack.code() != ErrorCode::kNotFound) {
      RemoveRunFiles(p);
      std::cout << "ephemeralml: down: " << ToString(stack.error()) << "; removed the run files"
                << std::endl;
      return kExitOk;
    }
    std::cout << "ephemeralml: no stack running" << std::endl;
    return kExitOk;
  }
  for (const char* role : kRoles) {
    if (!(*stack).contains(role) || !(*stack)[role].is_object() ||
        !(*stack)[role].contains("pid") || !(*stack)[role]["pid"].is_number_integer()) {
      continue;
    }
    const auto pid = static_cast<pid_t>((*stack)[role]["pid"].get<int64_t>());
    std::cout << role << " (pid " << pid << "): " << StopProcess(pid, kStopTimeoutMs) << std::endl;
  }
  RemoveRunFiles(p);
  std::cout << "ephemeralml: stack stopped" << std::endl;
  return kExitOk;
}

}  // namespace

void AddStackCommands(CLI::App& app) {
  auto flags = std::make_shared<UpFlags>();
  CLI::App* up = app.add_subcommand(
      "up", "Start the local stack (key broker, host with proxies, sim enclave) in the background");
  up->add_option("--model", flags->model_dir,
                 "Model directory to pack and serve (default: the fetched MiniLM)");
  up->add_option("--port", flags->port, "Client-facing port on 127.0.0.1 (0 picks one)")
      ->check(CLI::Range(0, 65535));
  up->add_option("--store", flags->store_url,
                 "Store to publish to and boot from, through the host (default "
                 "file://$EPHEMERALML_HOME/store; s3://BUCKET/PREFIX with the AWS_* environment)");
  up->add_option("--record", flags->record_dir,
                 "Have the host record every relayed byte in DIR (debugging, blindness checks)");
  up->add_option("--timeout-s", flags->timeout_s, "How long to wait for the whole start-up")
      ->check(CLI::Range(1, 3600));
  up->callback([flags] { FinishCommand(RunUp(*flags)); });
  CLI::App* down = app.add_subcommand("down", "Stop the local stack started by `up`");
  down->callback([] { FinishCommand(RunDown()); });
}

}  // namespace eml::apps
