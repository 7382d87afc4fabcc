// e2e_bench: the runtime end to end (llama-bench style, STYLE.md P2): a real ephemeralml-enclave
// process on the real model, the host relay in front of it, verifying clients. Untimed warmup,
// fixed repetitions, p50/p95/p99/mean/stddev and raw samples, deterministic inputs, one JSON row
// per case with git commit, CPU model, threads, load average and a timestamp.
//
// Cases:
//   handshake_host      connect + attested handshake + policy verification through the host
//   b1_inprocess        batch-1 short text, Embedder::Embed in this process (no channel)
//   b1_direct           the same request over a session straight to the enclave
//   b1_host             the same request through the host relay
//   sessions_N          N concurrent sessions (N in --sessions, default 1,4,16,64) through the
//                       host, each sending --requests-per-session requests: throughput and p99
//   enclave_rss         the enclave's peak RSS (VmHWM) after all of the above
//
//   e2e_bench --enclave PATH [--model DIR] [--threads N] [--reps 50] [--warmup 5]
//             [--sessions 1,4,16,64] [--requests-per-session 20] [--out FILE]

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <numeric>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "attest/policy.h"
#include "client/session.h"
#include "engine/embedder.h"
#include "host/relay.h"
#include "model/model_directory.h"

namespace eml::bench {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr char kShortText[] = "Confidential inference keeps prompts away from the operator.";

std::string CpuModel() {
  std::ifstream f("/proc/cpuinfo");
  for (std::string line; std::getline(f, line);) {
    if (line.rfind("model name", 0) == 0) {
      const size_t colon = line.find(':');
      return colon == std::string::npos ? line : line.substr(colon + 2);
    }
  }
  return "unknown";
}

std::string GitCommit() {
  const std::string cmd = std::string("git -C '") + EML_SOURCE_DIR +
                          "' describe --always --dirty --abbrev=12 2>/dev/null";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) {
    return "unknown";
  }
  char buf[128] = {};
  const size_t n = std::fread(buf, 1, sizeof(buf) - 1, p);
  ::pclose(p);
  std::string s(buf, n);
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) {
    s.pop_back();
  }
  return s.empty() ? "unknown" : s;
}

std::string UtcTimestamp() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

double LoadAverage() {
  std::ifstream f("/proc/loadavg");
  double load = -1;
  f >> load;
  return load;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) {
    return 0;
  }
  std::sort(v.begin(), v.end());
  const double rank = p / 100.0 * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<size_t>(std::floor(rank));
  const auto hi = static_cast<size_t>(std::ceil(rank));
  return v[lo] + (v[hi] - v[lo]) * (rank - static_cast<double>(lo));
}

Json Stats(const std::vector<double>& ms) {
  const double mean = std::accumulate(ms.begin(), ms.end(), 0.0) / static_cast<double>(ms.size());
  double var = 0;
  for (double x : ms) {
    var += (x - mean) * (x - mean);
  }
  return {{"p50_ms", Percentile(ms, 50)},
          {"p95_ms", Percentile(ms, 95)},
          {"p99_ms", Percentile(ms, 99)},
          {"mean_ms", mean},
          {"stddev_ms", ms.size() > 1 ? std::sqrt(var / static_cast<double>(ms.size() - 1)) : 0},
          {"n", ms.size()},
          {"samples_ms", ms}};
}

double MsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

struct Flags {
  std::string enclave;
  std::string model_dir;
  int threads = 0;
  int reps = 50;
  int warmup = 5;
  std::vector<int> sessions = {1, 4, 16, 64};
  int requests_per_session = 20;
  std::string out = std::string(EML_SOURCE_DIR) + "/bench/results/e2e.json";
};

// The enclave process under test.
struct Enclave {
  pid_t pid = -1;
  Json ready;
  ~Enclave() {
    if (pid > 0) {
      ::kill(pid, SIGTERM);
      int status = 0;
      ::waitpid(pid, &status, 0);
    }
  }
};

Result<int> Run(const Flags& flags) {
  const fs::path model =
      flags.model_dir.empty() ? model::DefaultModelDirectoryPath() : fs::path(flags.model_dir);
  char tmpl[] = "/tmp/eml-e2e-bench-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) {
    return Error{ErrorCode::kIoError, "mkdtemp"};
  }
  const fs::path dir = tmpl;
  Enclave enclave;
  {
    std::vector<std::string> args = {flags.enclave,
                                     "--listen",
                                     "unix:" + (dir / "e.sock").string(),
                                     "--model",
                                     model.string(),
                                     "--state-dir",
                                     (dir / "state").string(),
                                     "--ready-file",
                                     (dir / "ready.json").string(),
                                     "--max-sessions",
                                     "128"};
    if (flags.threads > 0) {
      args.push_back("--threads");
      args.push_back(std::to_string(flags.threads));
    }
    std::vector<char*> argv;
    for (std::string& a : args) {
      argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    enclave.pid = ::fork();
    if (enclave.pid == 0) {
      if (std::freopen((dir / "enclave.log").c_str(), "w", stderr) == nullptr) {
        ::_exit(126);
      }
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    for (int i = 0; i < 6000 && !fs::exists(dir / "ready.json"); ++i) {
      int status = 0;
      if (::waitpid(enclave.pid, &status, WNOHANG) == enclave.pid) {
        enclave.pid = -1;
        return Error{ErrorCode::kInternal, "enclave exited; see " + (dir / "enclave.log").string()};
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    std::ifstream in(dir / "ready.json");
    enclave.ready = Json::parse(in, nullptr, false);
    if (enclave.ready.is_discarded()) {
      return Error{ErrorCode::kInternal, "enclave ready file unreadable"};
    }
  }
  const Json policy_json = {{"version", 1},
                            {"platforms",
                             {{"sim",
                               {{"roots", {enclave.ready["sim_root"]}},
                                {"pcrs",
                                 {{"0", enclave.ready["pcrs"]["0"]},
                                  {"1", enclave.ready["pcrs"]["1"]},
                                  {"2", enclave.ready["pcrs"]["2"]}}}}}}},
                            {"allow_debug", false},
                            {"max_evidence_age_s", 600}};
  std::ofstream(dir / "policy.json") << policy_json.dump();
  EML_ASSIGN_OR_RETURN(attest::EvidencePolicy policy,
                       attest::LoadEvidencePolicyFile(dir / "policy.json"));
  EML_ASSIGN_OR_RETURN(attest::PolicyVerifier verifier,
                       attest::PolicyVerifier::Create(std::move(policy)));
  client::ClientOptions options;
  options.policy = std::make_shared<const attest::PolicyVerifier>(std::move(verifier));

  host::RelayOptions relay_options;
  EML_ASSIGN_OR_RETURN(relay_options.enclave,
                       host::ParseEnclaveAddress(enclave.ready["address"].get<std::string>()));
  relay_options.max_connections = 256;
  EML_ASSIGN_OR_RETURN(std::unique_ptr<host::Relay> relay, host::Relay::Start(relay_options));
  client::Endpoint via_host;
  via_host.tcp = {"127.0.0.1", relay->port()};
  EML_ASSIGN_OR_RETURN(client::Endpoint direct,
                       client::ParseEndpoint(enclave.ready["address"].get<std::string>()));

  const Json common = {{"git_commit", GitCommit()},          {"cpu", CpuModel()},
                       {"threads", flags.threads},           {"timestamp", UtcTimestamp()},
                       {"model", model.filename().string()}, {"precision", "fp32"},
                       {"enclave_transport", "unix"}};
  std::vector<Json> rows;
  auto add = [&](Json row) {
    row.update(common);
    row["load_avg_1m"] = LoadAverage();
    std::cerr << row["case"].get<std::string>() << ": "
              << (row.contains("p50_ms")
                      ? "p50 " + std::to_string(row["p50_ms"].get<double>()) + " ms"
                      : row.dump())
              << std::endl;
    rows.push_back(std::move(row));
  };

  // Handshake through the host.
  {
    std::vector<double> ms;
    for (int i = 0; i < flags.warmup + flags.reps; ++i) {
      const Clock::time_point start = Clock::now();
      EML_ASSIGN_OR_RETURN(std::unique_ptr<client::Session> s, client::Connect(via_host, options));
      if (i >= flags.warmup) {
        ms.push_back(MsSince(start));
      }
    }
    Json row = Stats(ms);
    row["case"] = "handshake_host";
    add(std::move(row));
  }
  const std::vector<std::string> texts = {kShortText};
  // In process.
  {
    EML_ASSIGN_OR_RETURN(
        std::unique_ptr<engine::Embedder> embedder,
        engine::Embedder::LoadFromDirectory(model, {.num_threads = flags.threads}));
    std::vector<double> ms;
    for (int i = 0; i < flags.warmup + flags.reps; ++i) {
      const Clock::time_point start = Clock::now();
      EML_ASSIGN_OR_RETURN(engine::EmbedResult r, embedder->Embed(texts));
      if (i >= flags.warmup) {
        ms.push_back(MsSince(start));
      }
    }
    Json row = Stats(ms);
    row["case"] = "b1_inprocess";
    add(std::move(row));
  }
  // One session, batch 1, direct and through the host.
  for (const auto& [name, endpoint] :
       {std::pair<std::string, client::Endpoint>{"b1_direct", direct}, {"b1_host", via_host}}) {
    EML_ASSIGN_OR_RETURN(std::unique_ptr<client::Session> s, client::Connect(endpoint, options));
    std::vector<double> ms;
    for (int i = 0; i < flags.warmup + flags.reps; ++i) {
      const Clock::time_point start = Clock::now();
      EML_ASSIGN_OR_RETURN(client::VerifiedEmbeddings r, s->Embed(texts));
      if (i >= flags.warmup) {
        ms.push_back(MsSince(start));
      }
    }
    Json row = Stats(ms);
    row["case"] = name;
    row["receipt_verified"] = true;
    add(std::move(row));
  }
  // Concurrent sessions through the host.
  for (int n : flags.sessions) {
    std::vector<std::unique_ptr<client::Session>> sessions;
    for (int i = 0; i < n; ++i) {
      EML_ASSIGN_OR_RETURN(std::unique_ptr<client::Session> s, client::Connect(via_host, options));
      EML_ASSIGN_OR_RETURN(client::VerifiedEmbeddings warm, s->Embed(texts));
      sessions.push_back(std::move(s));
    }
    std::mutex mu;
    std::vector<double> ms;
    std::atomic<int> failures{0};
    const Clock::time_point start = Clock::now();
    std::vector<std::thread> threads;
    for (int i = 0; i < n; ++i) {
      threads.emplace_back([&, i] {
        std::vector<double> mine;
        for (int r = 0; r < flags.requests_per_session; ++r) {
          const Clock::time_point t0 = Clock::now();
          if (!sessions[static_cast<size_t>(i)]->Embed(texts).has_value()) {
            failures.fetch_add(1);
            return;
          }
          mine.push_back(MsSince(t0));
        }
        std::lock_guard lock(mu);
        ms.insert(ms.end(), mine.begin(), mine.end());
      });
    }
    for (std::thread& t : threads) {
      t.join();
    }
    const double elapsed_s = MsSince(start) / 1000.0;
    if (failures.load() > 0) {
      return Error{ErrorCode::kInternal, "a request failed at " + std::to_string(n) + " sessions"};
    }
    Json row = Stats(ms);
    row["case"] = "sessions_" + std::to_string(n);
    row["sessions"] = n;
    row["requests"] = ms.size();
    row["throughput_rps"] = static_cast<double>(ms.size()) / elapsed_s;
    add(std::move(row));
  }
  // Peak RSS of the enclave.
  {
    std::ifstream status("/proc/" + std::to_string(enclave.pid) + "/status");
    int64_t hwm_kb = -1;
    for (std::string line; std::getline(status, line);) {
      if (line.rfind("VmHWM:", 0) == 0) {
        hwm_kb = std::stoll(line.substr(6));
      }
    }
    add({{"case", "enclave_rss"}, {"peak_rss_mb", static_cast<double>(hwm_kb) / 1024.0}});
  }
  relay->Stop();
  std::ofstream out(flags.out);
  out << "[\n";
  for (size_t i = 0; i < rows.size(); ++i) {
    out << rows[i].dump() << (i + 1 < rows.size() ? ",\n" : "\n");
  }
  out << "]\n";
  std::cerr << "wrote " << flags.out << std::endl;
  std::error_code ignored;
  fs::remove_all(dir, ignored);
  return 0;
}

}  // namespace
}  // namespace eml::bench

int main(int argc, char** argv) {
  eml::bench::Flags flags;
  CLI::App app{"EphemeralML end-to-end benchmark (enclave + host + verifying clients)"};
  app.add_option("--enclave", flags.enclave, "ephemeralml-enclave binary")->required();
  app.add_option("--model", flags.model_dir, "Model directory");
  app.add_option("--threads", flags.threads, "Enclave and in-process engine threads (0 = all)");
  app.add_option("--reps", flags.reps, "Timed repetitions per latency case");
  app.add_option("--warmup", flags.warmup, "Untimed repetitions first");
  app.add_option("--sessions", flags.sessions, "Concurrent session counts")->delimiter(',');
  app.add_option("--requests-per-session", flags.requests_per_session, "Requests per session");
  app.add_option("--out", flags.out, "JSON output file");
  CLI11_PARSE(app, argc, argv);
  eml::Result<int> r = eml::bench::Run(flags);
  if (!r.has_value()) {
    std::cerr << "e2e_bench: " << eml::ToString(r.error()) << std::endl;
    return 1;
  }
  return 0;
}
