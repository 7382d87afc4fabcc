#include "stack_command.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "cli_util.h"
#include "common/result.h"
#include "model/model_directory.h"

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
  int timeout_s = 120;
};

// Paths of the stack under $EPHEMERALML_HOME.
struct StackPaths {
  fs::path home, run, logs, state;
  fs::path stack_json, enclave_ready, host_ready, socket, policy, enclave_log, host_log;
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
  p.stack_json = p.run / "stack.json";
  p.enclave_ready = p.run / "enclave.ready.json";
  p.host_ready = p.run / "host.ready.json";
  p.socket = p.run / "enclave.sock";
  p.policy = p.home / "policy.json";
  p.enclave_log = p.logs / "enclave.log";
  p.host_log = p.logs / "host.log";
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
  for (const fs::path& f : {p.stack_json, p.enclave_ready, p.host_ready, p.socket}) {
    fs::remove(f, ignored);
  }
}

// RunningPids reads stack.json and returns the pids still alive that are ours.
std::vector<pid_t> RunningPids(const nlohmann::json& stack) {
  std::vector<pid_t> out;
  for (const char* role : {"host", "enclave"}) {
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

// MakePolicy builds policy.json from the enclave's ready file.
Result<std::string> MakePolicy(const nlohmann::json& ready, const StackPaths& p) {
  const std::string root = StringField(ready, "sim_root");
  if (StringField(ready, "platform") != "sim" || root.empty() || !ready.contains("pcrs") ||
      !ready["pcrs"].is_object()) {
    return Error{ErrorCode::kStackBadState, "enclave ready file lacks platform/sim_root/pcrs"};
  }
  nlohmann::json pcrs = nlohmann::json::object();
  for (const char* index : {"0", "1", "2"}) {
    const std::string value = StringField(ready["pcrs"], index);
    if (value.size() != 96) {
      return Error{ErrorCode::kStackBadState, std::string("enclave ready file: PCR") + index};
    }
    pcrs[index] = value;
  }
  // Paths in a policy are relative to its folder.
  const fs::path rel = fs::path(root).lexically_relative(p.home);
  const std::string root_ref =
      (!rel.empty() && rel.native().rfind("..", 0) != 0) ? rel.string() : root;
  nlohmann::json policy = {{"version", 1},
                           {"platforms", {{"sim", {{"roots", {root_ref}}, {"pcrs", pcrs}}}}},
                           {"allow_debug", false},
                           {"max_evidence_age_s", kMaxEvidenceAgeS}};
  return policy.dump(2) + "\n";
}

// StartStack starts both processes; on failure the caller stops whatever `pids` holds.
Result<int> StartStack(const UpFlags& flags, const StackPaths& p, std::vector<pid_t>* pids) {
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
  const fs::path model =
      flags.model_dir.empty() ? model::DefaultModelDirectoryPath() : fs::path(flags.model_dir);
  if (p.socket.string().size() > 107) {
    return Error{ErrorCode::kStackStartFailed,
                 "socket path too long for a Unix socket: " + p.socket.string()};
  }
  const Clock::time_point deadline = Clock::now() + std::chrono::seconds(flags.timeout_s);

  EML_ASSIGN_OR_RETURN(
      pid_t enclave_pid,
      Spawn({enclave.string(), "--listen", "unix:" + p.socket.string(), "--model", model.string(),
             "--state-dir", p.state.string(), "--ready-file", p.enclave_ready.string()},
            p.enclave_log));
  pids->push_back(enclave_pid);
  std::cout << "starting enclave (pid " << enclave_pid << ", model " << model.string() << ")"
            << std::endl;
  EML_ASSIGN_OR_RETURN(nlohmann::json enclave_ready,
                       WaitReady(enclave_pid, p.enclave_ready, p.enclave_log, "enclave", deadline));
  const std::string enclave_address = StringField(enclave_ready, "address");
  if (enclave_address.empty()) {
    return Error{ErrorCode::kStackBadState, "enclave ready file has no address"};
  }
  EML_ASSIGN_OR_RETURN(std::string policy, MakePolicy(enclave_ready, p));

  std::vector<std::string> host_argv = {
      self.string(), "host",          "--listen",     "127.0.0.1:" + std::to_string(flags.port),
      "--enclave",   enclave_address, "--ready-file", p.host_ready.string()};
  if (!flags.record_dir.empty()) {
    host_argv.push_back("--record");
    host_argv.push_back(fs::absolute(flags.record_dir).string());
  }
  EML_ASSIGN_OR_RETURN(pid_t host_pid, Spawn(host_argv, p.host_log));
  pids->push_back(host_pid);
  EML_ASSIGN_OR_RETURN(nlohmann::json host_ready,
                       WaitReady(host_pid, p.host_ready, p.host_log, "host", deadline));
  const std::string host_address = StringField(host_ready, "address");
  if (host_address.empty()) {
    return Error{ErrorCode::kStackBadState, "host ready file has no address"};
  }

  EML_RETURN_IF_ERROR(WriteText(p.policy, policy, 0644));
  nlohmann::json stack = {
      {"version", 1},
      {"enclave",
       {{"pid", enclave_pid},
        {"address", enclave_address},
        {"log", p.enclave_log.string()},
        {"model_id", StringField(enclave_ready, "model_id")}}},
      {"host", {{"pid", host_pid}, {"address", host_address}, {"log", p.host_log.string()}}},
      {"policy", p.policy.string()},
      {"model_dir", model.string()}};
  if (!flags.record_dir.empty()) {
    stack["host"]["record_dir"] = fs::absolute(flags.record_dir).string();
  }
  EML_RETURN_IF_ERROR(WriteText(p.stack_json, stack.dump(2) + "\n", 0644));

  std::cout << "EphemeralML stack is up (platform sim, security_mode evaluation)\n"
            << "  enclave  pid " << enclave_pid << "  " << enclave_address << "  model "
            << StringField(enclave_ready, "model_id") << "\n"
            << "  host     pid " << host_pid << "  " << host_address << " -> " << enclave_address
            << "\n"
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
  for (const fs::path& dir : {p.home, p.run, p.logs, p.state}) {
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
  // The host first, so no new session reaches an enclave that is stopping.
  for (const char* role : {"host", "enclave"}) {
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
      "up", "Start the local stack (sim enclave + host relay) in the background");
  up->add_option("--model", flags->model_dir, "Model directory (default: the fetched MiniLM)");
  up->add_option("--port", flags->port, "Client-facing port on 127.0.0.1 (0 picks one)")
      ->check(CLI::Range(0, 65535));
  up->add_option("--record", flags->record_dir,
                 "Have the host record every relayed byte in DIR (debugging, blindness checks)");
  up->add_option("--timeout-s", flags->timeout_s, "How long to wait for both processes")
      ->check(CLI::Range(1, 3600));
  up->callback([flags] { FinishCommand(RunUp(*flags)); });
  CLI::App* down = app.add_subcommand("down", "Stop the local stack started by `up`");
  down->callback([] { FinishCommand(RunDown()); });
}

}  // namespace eml::apps
