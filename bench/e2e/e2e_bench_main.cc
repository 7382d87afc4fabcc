// e2e_bench: the runtime end to end (llama-bench style, STYLE.md P2): a real ephemeralml-enclave
// process on the real model, the host relay in front of it, verifying clients. Untimed warmup,
// fixed repetitions, p50/p95/p99/mean/stddev and raw samples, deterministic inputs, one JSON row
// per case with git commit, CPU model, threads, load average and a timestamp.
//
// Phases run one after another, so that no two engines share the cores:
//   1. In process, before any enclave exists (this process runs with the enclave's default
//      OMP_WAIT_POLICY=passive unless the caller set OMP_WAIT_POLICY or GOMP_SPINCOUNT):
//      b1_inprocess        batch-1 short text, Embedder::Embed in this process (no channel)
//      inprocess_b32       32 short texts in one call: the engine's batched ceiling (texts/s)
//   2. Our overhead, with a constant-time fake engine behind the real Service and Server in this
//      process (the real scheduler, channel, receipts and verifying client; no model):
//      overhead_raw_T      round trip of raw bytes of the same sizes as one embed request and
//                          its response over loopback transport T (unix, tcp)
//      overhead_full_T     the embed request through channel + receipt + client verification
//      overhead_T          full - raw (p50, p99) and the CPU time per request both ways
//      relay_hop           the fake-engine request through the host relay minus direct (unix)
//      Raw and full requests alternate in blocks, so load changes hit both alike.
//   3. OpenMP wait policy A/B: enclaves started with OMP_WAIT_POLICY=passive, =active and with
//      GOMP_SPINCOUNT=300000 (libgomp's spin when no policy is set), in rotating order for
//      --ab-rounds rounds; per policy and session count the median throughput, p99 and enclave
//      CPU time per request (omp_ab_POLICY_sessions_N).
//   4. The enclave with its default settings:
//      handshake_host      connect + attested handshake + policy verification through the host
//      b1_direct           the batch-1 request over a session straight to the enclave
//      b1_host             the same request through the host relay
//      sessions_N          N concurrent sessions (N in --sessions, default 1,4,16,64) through the
//                          host, each sending --requests-per-session requests: throughput, p99
//                          and the enclave's CPU time per request
//      enclave_rss         the enclave's peak RSS (VmHWM) after all of the above
//
//   e2e_bench --enclave PATH [--model DIR] [--threads N] [--precision fp32|bf16|int8]
//             [--reps 50] [--warmup 5]
//             [--sessions 1,4,16,64] [--requests-per-session 20] [--overhead-requests 2000]
//             [--ab-rounds 3] [--ab-requests-per-session 10] [--out FILE]

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <numeric>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "attest/policy.h"
#include "attest/sim/sim_provider.h"
#include "channel/address.h"
#include "channel/net/net.h"
#include "channel/transport.h"
#include "client/session.h"
#include "common/encoding.h"
#include "crypto/hash.h"
#include "enclave/server.h"
#include "enclave/service.h"
#include "enclave/testing/sim_fixture.h"
#include "engine/batch_scheduler.h"
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
  std::string precision = "fp32";
  int reps = 50;
  int warmup = 5;
  std::vector<int> sessions = {1, 4, 16, 64};
  int requests_per_session = 20;
  int overhead_requests = 2000;
  int ab_rounds = 3;
  int ab_requests_per_session = 10;
  std::string out = std::string(EML_SOURCE_DIR) + "/bench/results/e2e.json";
};

double Median(std::vector<double> v) { return Percentile(std::move(v), 50); }

// CPU time (user + system) of this process, all threads.
double SelfCpuMs() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

// CPU time (user + system) of another process, from /proc/PID/stat (clock-tick resolution).
double ProcessCpuMs(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const size_t paren = stat.rfind(')');
  if (paren == std::string::npos) {
    return -1;
  }
  std::istringstream fields(stat.substr(paren + 2));
  std::string field;
  double ticks = 0;
  // Fields after the command: state is field 3; utime and stime are fields 14 and 15.
  for (int index = 3; index <= 15 && (fields >> field); ++index) {
    if (index >= 14) {
      ticks += std::stod(field);
    }
  }
  return ticks * 1e3 / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

double PeakRssMb(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmHWM:", 0) == 0) {
      return static_cast<double>(std::stoll(line.substr(6))) / 1024.0;
    }
  }
  return -1;
}

// Deterministic short texts (9..16 tokens) for the batched in-process ceiling.
std::vector<std::string> ShortTexts(size_t n) {
  const std::vector<std::string> base = {kShortText,
                                         "The receipt binds the request hash to the attested key.",
                                         "Sessions share one batch queue in front of the engine.",
                                         "A host relay forwards frames it cannot read.",
                                         "Embeddings leave the enclave only inside the channel.",
                                         "Every response carries a signed receipt.",
                                         "The client checks the measurements before sending data.",
                                         "Short texts dominate this workload."};
  std::vector<std::string> out;
  for (size_t i = 0; i < n; ++i) {
    out.push_back(base[i % base.size()]);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The enclave process under test.

// The child's environment: ours without the OpenMP wait settings, plus `omp_env` when set.
std::vector<std::string> ChildEnvironment(const std::string& omp_env) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string_view entry(*e);
    if (entry.rfind("OMP_WAIT_POLICY=", 0) != 0 && entry.rfind("GOMP_SPINCOUNT=", 0) != 0) {
      env.emplace_back(entry);
    }
  }
  if (!omp_env.empty()) {
    env.push_back(omp_env);
  }
  return env;
}

struct Enclave {
  pid_t pid = -1;
  Json ready;
  client::ClientOptions options;
  client::Endpoint direct;
  Enclave() = default;
  Enclave(const Enclave&) = delete;
  Enclave& operator=(const Enclave&) = delete;
  ~Enclave() { Stop(); }
  void Stop() {
    if (pid > 0) {
      ::kill(pid, SIGTERM);
      int status = 0;
      ::waitpid(pid, &status, 0);
      pid = -1;
    }
  }
};

Result<client::ClientOptions> SimClientOptions(const fs::path& dir, const std::string& root_path,
                                               const Json& pcrs) {
  const Json policy_json = {
      {"version", 1},
      {"platforms",
       {{"sim",
         {{"roots", {root_path}},
          {"pcrs", {{"0", pcrs["0"]}, {"1", pcrs["1"]}, {"2", pcrs["2"]}}}}}}},
      {"allow_debug", false},
      {"max_evidence_age_s", 600}};
  std::ofstream(dir / "policy.json") << policy_json.dump();
  EML_ASSIGN_OR_RETURN(attest::EvidencePolicy policy,
                       attest::LoadEvidencePolicyFile(dir / "policy.json"));
  EML_ASSIGN_OR_RETURN(attest::PolicyVerifier verifier,
                       attest::PolicyVerifier::Create(std::move(policy)));
  client::ClientOptions options;
  options.policy = std::make_shared<const attest::PolicyVerifier>(std::move(verifier));
  return options;
}

// StartEnclave runs the enclave in `dir` (which must not hold another one's socket) with the
// OpenMP wait setting `omp_env` ("NAME=VALUE"; empty: the enclave's own default).
Result<std::unique_ptr<Enclave>> StartEnclave(const Flags& flags, const fs::path& model,
                                              const fs::path& dir, const std::string& omp_env) {
  fs::create_directories(dir);
  auto enclave = std::make_unique<Enclave>();
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
  args.push_back("--precision");
  args.push_back(flags.precision);
  std::vector<char*> argv;
  for (std::string& a : args) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);
  std::vector<std::string> env = ChildEnvironment(omp_env);
  std::vector<char*> envp;
  for (std::string& e : env) {
    envp.push_back(e.data());
  }
  envp.push_back(nullptr);
  enclave->pid = ::fork();
  if (enclave->pid == 0) {
    if (std::freopen((dir / "enclave.log").c_str(), "w", stderr) == nullptr) {
      ::_exit(126);
    }
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  for (int i = 0; i < 6000 && !fs::exists(dir / "ready.json"); ++i) {
    int status = 0;
    if (::waitpid(enclave->pid, &status, WNOHANG) == enclave->pid) {
      enclave->pid = -1;
      return Error{ErrorCode::kInternal, "enclave exited; see " + (dir / "enclave.log").string()};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::ifstream in(dir / "ready.json");
  enclave->ready = Json::parse(in, nullptr, false);
  if (enclave->ready.is_discarded()) {
    return Error{ErrorCode::kInternal, "enclave ready file unreadable"};
  }
  EML_ASSIGN_OR_RETURN(
      enclave->options,
      SimClientOptions(dir, enclave->ready["sim_root"].get<std::string>(), enclave->ready["pcrs"]));
  EML_ASSIGN_OR_RETURN(enclave->direct,
                       client::ParseEndpoint(enclave->ready["address"].get<std::string>()));
  return enclave;
}

Result<std::unique_ptr<host::Relay>> StartRelay(const client::Endpoint& enclave,
                                                client::Endpoint* via_host) {
  host::RelayOptions relay_options;
  relay_options.enclave = enclave;  // client::Endpoint is a channel::Address
  relay_options.max_connections = 256;
  EML_ASSIGN_OR_RETURN(std::unique_ptr<host::Relay> relay, host::Relay::Start(relay_options));
  via_host->kind = client::Endpoint::Kind::kTcp;
  via_host->tcp = {"127.0.0.1", relay->port()};
  return relay;
}

// RunSessions: n concurrent sessions, each sending `requests` batch-1 requests. `enclave_pid`
// (when > 0) is charged the CPU time it used meanwhile.
Result<Json> RunSessions(const client::Endpoint& endpoint, const client::ClientOptions& options,
                         int n, int requests, pid_t enclave_pid) {
  const std::vector<std::string> texts = {kShortText};
  std::vector<std::unique_ptr<client::Session>> sessions;
  for (int i = 0; i < n; ++i) {
    EML_ASSIGN_OR_RETURN(std::unique_ptr<client::Session> s, client::Connect(endpoint, options));
    EML_ASSIGN_OR_RETURN(client::VerifiedEmbeddings warm, s->Embed(texts));
    sessions.push_back(std::move(s));
  }
  std::mutex mu;
  std::vector<double> ms;
  std::atomic<int> failures{0};
  const double enclave_cpu0 = enclave_pid > 0 ? ProcessCpuMs(enclave_pid) : 0;
  const double self_cpu0 = SelfCpuMs();
  const Clock::time_point start = Clock::now();
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      std::vector<double> mine;
      for (int r = 0; r < requests; ++r) {
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
  const auto count = static_cast<double>(ms.size());
  Json row = Stats(ms);
  row["sessions"] = n;
  row["requests"] = ms.size();
  row["throughput_rps"] = count / elapsed_s;
  row["client_cpu_ms_per_request"] = (SelfCpuMs() - self_cpu0) / count;
  if (enclave_pid > 0) {
    row["enclave_cpu_ms_per_request"] = (ProcessCpuMs(enclave_pid) - enclave_cpu0) / count;
  }
  return row;
}

// ---------------------------------------------------------------------------------------------
// Phase 2: the fake engine and the byte-counting transport.

// FakeEngine: constant-time embedding of the real model's shape (dim 384): [CLS] + one id per
// byte + [SEP], every row the same constant.
class FakeEngine final : public engine::EmbedBackend {
 public:
  static constexpr size_t kDim = 384;
  static constexpr size_t kMaxSeq = 256;

  Status Tokenize(std::string_view text, tokenizer::Encoding* out) const override {
    out->ids.clear();
    out->ids.push_back(101);
    for (char c : text.substr(0, std::min(text.size(), kMaxSeq - 2))) {
      out->ids.push_back(static_cast<unsigned char>(c));
    }
    out->ids.push_back(102);
    out->type_ids.assign(out->ids.size(), 0);
    out->attention_mask.assign(out->ids.size(), 1);
    return OkStatus();
  }
  Result<engine::EmbedResult> EmbedTokenized(
      std::span<const engine::TokenizedText> texts) override {
    engine::EmbedResult out;
    out.dim = kDim;
    out.embeddings.assign(texts.size() * kDim, 0.0625f);
    for (const engine::TokenizedText& t : texts) {
      out.token_counts.push_back(static_cast<uint32_t>(t.ids.size()));
    }
    return out;
  }
  size_t dim() const override { return kDim; }
  size_t max_seq_length() const override { return kMaxSeq; }
};

struct ByteCounters {
  std::atomic<uint64_t> read{0};
  std::atomic<uint64_t> written{0};
};

class CountingStream final : public channel::Stream {
 public:
  CountingStream(std::unique_ptr<channel::Stream> inner, ByteCounters* counters)
      : inner_(std::move(inner)), counters_(counters) {}
  Status ReadExact(std::span<uint8_t> out, int timeout_ms) override {
    EML_RETURN_IF_ERROR(inner_->ReadExact(out, timeout_ms));
    counters_->read += out.size();
    return OkStatus();
  }
  Status WriteAll(std::span<const uint8_t> bytes, int timeout_ms) override {
    EML_RETURN_IF_ERROR(inner_->WriteAll(bytes, timeout_ms));
    counters_->written += bytes.size();
    return OkStatus();
  }
  void Cancel() override { inner_->Cancel(); }

 private:
  std::unique_ptr<channel::Stream> inner_;
  ByteCounters* counters_;
};

class CountingListener final : public channel::Listener {
 public:
  CountingListener(std::unique_ptr<channel::Listener> inner, ByteCounters* counters)
      : inner_(std::move(inner)), counters_(counters) {}
  Result<std::unique_ptr<channel::Stream>> Accept(int timeout_ms) override {
    EML_ASSIGN_OR_RETURN(std::unique_ptr<channel::Stream> stream, inner_->Accept(timeout_ms));
    return std::unique_ptr<channel::Stream>(
        std::make_unique<CountingStream>(std::move(stream), counters_));
  }
  const channel::Address& bound() const override { return inner_->bound(); }

 private:
  std::unique_ptr<channel::Listener> inner_;
  ByteCounters* counters_;
};

// FakeEnclave: the real scheduler, Service and Server over the fake engine, in this process.
struct FakeEnclave {
  std::unique_ptr<enclave::SimEvidenceSource> source;
  FakeEngine engine;
  std::unique_ptr<engine::BatchScheduler> scheduler;
  std::unique_ptr<enclave::Service> service;
  std::unique_ptr<enclave::Server> server;
  ByteCounters counters;
  client::ClientOptions options;
  client::Endpoint endpoint;
  ~FakeEnclave() {
    if (server != nullptr) {
      server->Shutdown();
      server->Join();
    }
  }
};

Result<std::unique_ptr<FakeEnclave>> StartFakeEnclave(const fs::path& dir, bool tcp) {
  fs::create_directories(dir / "state");
  auto fake = std::make_unique<FakeEnclave>();
  fake->source = enclave::testing::NewSimSource(dir / "state");
  EML_ASSIGN_OR_RETURN(fake->scheduler,
                       engine::BatchScheduler::Create(&fake->engine, engine::SchedulerOptions{}));
  enclave::ModelIdentity identity;
  identity.id = "fake-constant-engine";
  identity.version = "1";
  identity.hash = crypto::Sha256(AsBytes(std::string_view("fake-constant-engine")));
  EML_ASSIGN_OR_RETURN(
      fake->service,
      enclave::Service::Create(fake->source.get(), fake->scheduler.get(), std::move(identity)));
  enclave::ServerOptions server_options;
  server_options.max_sessions = 16;
  server_options.log = [](std::string_view) {};
  EML_ASSIGN_OR_RETURN(fake->server, enclave::Server::Create(fake->service.get(), server_options));
  EML_ASSIGN_OR_RETURN(
      const channel::Address address,
      channel::ParseAddress(tcp ? "tcp:127.0.0.1:0" : "unix:" + (dir / "fake.sock").string()));
  EML_ASSIGN_OR_RETURN(std::unique_ptr<channel::Listener> inner, channel::Listen(address));
  fake->endpoint = inner->bound();
  EML_RETURN_IF_ERROR(
      fake->server->Start(std::make_unique<CountingListener>(std::move(inner), &fake->counters)));
  const air::Measurements& m = fake->source->measurements();
  const Json pcrs = {{"0", HexEncode(m.pcr0)}, {"1", HexEncode(m.pcr1)}, {"2", HexEncode(m.pcr2)}};
  EML_ASSIGN_OR_RETURN(
      fake->options,
      SimClientOptions(
          dir, (dir / "state" / attest::sim::kStateSubdir / attest::sim::kRootCertFile).string(),
          pcrs));
  return fake;
}

// RawEcho: one loopback connection whose peer answers every `request_bytes` read with
// `response_bytes`, as a plain Stream (the same socket code the channel uses).
class RawEcho {
 public:
  static Result<std::unique_ptr<RawEcho>> Start(const fs::path& dir, bool tcp, size_t request_bytes,
                                                size_t response_bytes) {
    auto echo = std::unique_ptr<RawEcho>(new RawEcho(request_bytes, response_bytes));
    std::unique_ptr<channel::net::Listener> listener;
    if (tcp) {
      EML_ASSIGN_OR_RETURN(listener, channel::net::ListenTcp({"127.0.0.1", 0}));
    } else {
      EML_ASSIGN_OR_RETURN(listener, channel::net::ListenUnix((dir / "raw.sock").string()));
    }
    const uint16_t port = listener->port();
    echo->server_ = std::thread([e = echo.get(), l = std::move(listener)] {
      Result<std::unique_ptr<channel::Stream>> stream = l->Accept(60'000);
      if (!stream.has_value()) {
        return;
      }
      std::vector<uint8_t> in(e->request_bytes_);
      const std::vector<uint8_t> out(e->response_bytes_, 0x5a);
      while ((*stream)->ReadExact(in, 60'000).has_value() &&
             (*stream)->WriteAll(out, 60'000).has_value()) {
      }
    });
    if (tcp) {
      EML_ASSIGN_OR_RETURN(echo->client_, channel::net::ConnectTcp({"127.0.0.1", port}, 10'000));
    } else {
      EML_ASSIGN_OR_RETURN(echo->client_,
                           channel::net::ConnectUnix((dir / "raw.sock").string(), 10'000));
    }
    return echo;
  }
  ~RawEcho() {
    client_.reset();  // The peer's read fails and its thread ends.
    if (server_.joinable()) {
      server_.join();
    }
  }
  Status RoundTrip() {
    EML_RETURN_IF_ERROR(client_->WriteAll(request_, 60'000));
    return client_->ReadExact(response_, 60'000);
  }

 private:
  RawEcho(size_t request_bytes, size_t response_bytes)
      : request_bytes_(request_bytes),
        response_bytes_(response_bytes),
        request_(request_bytes, 0xa5),
        response_(response_bytes) {}
  size_t request_bytes_;
  size_t response_bytes_;
  std::vector<uint8_t> request_;
  std::vector<uint8_t> response_;
  std::unique_ptr<channel::Stream> client_;
  std::thread server_;
};

constexpr int kBlock = 100;  // Requests per block when two kinds alternate.

// A timed series: latency samples and the CPU time this process spent on them.
struct Series {
  std::vector<double> ms;
  double cpu_ms = 0;
  Json Row() const {
    Json row = Stats(ms);
    row["cpu_us_per_request"] = cpu_ms * 1e3 / static_cast<double>(ms.size());
    return row;
  }
};

template <typename F>
Status TimeBlock(Series* series, int count, F&& one) {
  const double cpu0 = SelfCpuMs();
  for (int i = 0; i < count; ++i) {
    const Clock::time_point start = Clock::now();
    EML_RETURN_IF_ERROR(one());
    series->ms.push_back(MsSince(start));
  }
  series->cpu_ms += SelfCpuMs() - cpu0;
  return OkStatus();
}

Json Difference(const std::string& name, const Series& full, const Series& base) {
  const double p50 = Median(full.ms) - Median(base.ms);
  const double p99 = Percentile(full.ms, 99) - Percentile(base.ms, 99);
  const double cpu = full.cpu_ms * 1e3 / static_cast<double>(full.ms.size()) -
                     base.cpu_ms * 1e3 / static_cast<double>(base.ms.size());
  return {{"case", name},
          {"p50_ms", p50},
          {"p99_ms", p99},
          {"cpu_us_per_request", cpu},
          {"n", std::min(full.ms.size(), base.ms.size())}};
}

// ---------------------------------------------------------------------------------------------

Result<int> Run(const Flags& flags) {
  const fs::path model =
      flags.model_dir.empty() ? model::DefaultModelDirectoryPath() : fs::path(flags.model_dir);
  char tmpl[] = "/tmp/eml-e2e-bench-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) {
    return Error{ErrorCode::kIoError, "mkdtemp"};
  }
  const fs::path dir = tmpl;
  const char* omp_policy = std::getenv("OMP_WAIT_POLICY");
  const Json common = {{"git_commit", GitCommit()},
                       {"cpu", CpuModel()},
                       {"threads", flags.threads},
                       {"timestamp", UtcTimestamp()},
                       {"model", model.filename().string()},
                       {"precision", flags.precision},
                       {"enclave_transport", "unix"},
                       {"bench_omp_wait_policy", omp_policy == nullptr ? "" : omp_policy}};
  std::vector<Json> rows;
  auto add = [&](Json row) {
    row.update(common);
    row["load_avg_1m"] = LoadAverage();
    Json brief = row;
    brief.erase("samples_ms");
    for (const char* key : {"git_commit", "cpu", "timestamp", "model", "precision",
                            "enclave_transport", "bench_omp_wait_policy", "threads"}) {
      brief.erase(key);
    }
    std::cerr << brief.dump() << std::endl;
    rows.push_back(std::move(row));
  };
  const std::vector<std::string> texts = {kShortText};

  // 1. In process, before any enclave runs.
  {
    EML_ASSIGN_OR_RETURN(
        std::unique_ptr<engine::Embedder> embedder,
        engine::Embedder::LoadFromDirectory(
            model, {.precision =
                        engine::ParsePrecision(flags.precision).value_or(engine::Precision::kFp32),
                    .num_threads = flags.threads}));
    Series b1;
    for (int i = 0; i < flags.warmup; ++i) {
      EML_ASSIGN_OR_RETURN(engine::EmbedResult r, embedder->Embed(texts));
    }
    EML_RETURN_IF_ERROR(TimeBlock(&b1, flags.reps, [&]() -> Status {
      EML_ASSIGN_OR_RETURN(engine::EmbedResult r, embedder->Embed(texts));
      return OkStatus();
    }));
    Json row = b1.Row();
    row["case"] = "b1_inprocess";
    add(std::move(row));

    const std::vector<std::string> batch = ShortTexts(32);
    Series b32;
    EML_ASSIGN_OR_RETURN(engine::EmbedResult warm, embedder->Embed(batch));
    EML_RETURN_IF_ERROR(TimeBlock(&b32, std::max(5, flags.reps / 5), [&]() -> Status {
      EML_ASSIGN_OR_RETURN(engine::EmbedResult r, embedder->Embed(batch));
      return OkStatus();
    }));
    row = b32.Row();
    row["case"] = "inprocess_b32";
    row["texts_per_call"] = batch.size();
    row["tokens_per_text_max"] =
        *std::max_element(warm.token_counts.begin(), warm.token_counts.end());
    row["tokens_per_text_min"] =
        *std::min_element(warm.token_counts.begin(), warm.token_counts.end());
    row["texts_per_s_p50"] = static_cast<double>(batch.size()) * 1e3 / Median(b32.ms);
    add(std::move(row));
  }

  // 2. Channel + receipt overhead with the fake engine, over Unix and TCP loopback.
  for (const bool tcp : {false, true}) {
    const std::string transport = tcp ? "tcp" : "unix";
    const fs::path fake_dir = dir / ("fake-" + transport);
    EML_ASSIGN_OR_RETURN(std::unique_ptr<FakeEnclave> fake, StartFakeEnclave(fake_dir, tcp));
    EML_ASSIGN_OR_RETURN(std::unique_ptr<client::Session> session,
                         client::Connect(fake->endpoint, fake->options));
    auto full_request = [&]() -> Status {
      EML_ASSIGN_OR_RETURN(client::VerifiedEmbeddings r, session->Embed(texts));
      return OkStatus();
    };
    for (int i = 0; i < flags.warmup; ++i) {
      EML_RETURN_IF_ERROR(full_request());
    }
    const uint64_t read0 = fake->counters.read.load();
    const uint64_t written0 = fake->counters.written.load();
    EML_RETURN_IF_ERROR(full_request());
    const size_t request_bytes = fake->counters.read.load() - read0;
    const size_t response_bytes = fake->counters.written.load() - written0;
    EML_ASSIGN_OR_RETURN(std::unique_ptr<RawEcho> raw,
                         RawEcho::Start(fake_dir, tcp, request_bytes, response_bytes));
    for (int i = 0; i < flags.warmup; ++i) {
      EML_RETURN_IF_ERROR(raw->RoundTrip());
    }
    Series raw_series;
    Series full_series;
    for (int done = 0; done < flags.overhead_requests; done += kBlock) {
      const int count = std::min(kBlock, flags.overhead_requests - done);
      EML_RETURN_IF_ERROR(TimeBlock(&raw_series, count, [&] { return raw->RoundTrip(); }));
      EML_RETURN_IF_ERROR(TimeBlock(&full_series, count, full_request));
    }
    Json row = raw_series.Row();
    row["case"] = "overhead_raw_" + transport;
    row["request_bytes"] = request_bytes;
    row["response_bytes"] = response_bytes;
    add(std::move(row));
    row = full_series.Row();
    row["case"] = "overhead_full_" + transport;
    row["receipt_verified"] = true;
    add(std::move(row));
    row = Difference("overhead_" + transport, full_series, raw_series);
    row["target_ms"] = 0.05;
    row["met_p50"] = row["p50_ms"].get<double>() <= 0.05;
    add(std::move(row));

    if (!tcp) {
      // The host relay's hop: the same fake-engine request through the relay, minus direct.
      client::Endpoint via_host;
      EML_ASSIGN_OR_RETURN(std::unique_ptr<host::Relay> relay,
                           StartRelay(fake->endpoint, &via_host));
      EML_ASSIGN_OR_RETURN(std::unique_ptr<client::Session> relayed,
                           client::Connect(via_host, fake->options));
      auto relayed_request = [&]() -> Status {
        EML_ASSIGN_OR_RETURN(client::VerifiedEmbeddings r, relayed->Embed(texts));
        return OkStatus();
      };
      for (int i = 0; i < flags.warmup; ++i) {
        EML_RETURN_IF_ERROR(relayed_request());
      }
      Series direct_series;
      Series relay_series;
      for (int done = 0; done < flags.overhead_requests; done += kBlock) {
        const int count = std::min(kBlock, flags.overhead_requests - done);
        EML_RETURN_IF_ERROR(TimeBlock(&direct_series, count, full_request));
        EML_RETURN_IF_ERROR(TimeBlock(&relay_series, count, relayed_request));
      }
      row = relay_series.Row();
      row["case"] = "overhead_full_via_relay";
      add(std::move(row));
      add(Difference("relay_hop", relay_series, direct_series));
      relayed.reset();
      relay->Stop();
    }
    session.reset();
  }

  // 3. OpenMP wait policy A/B (one enclave at a time; the order rotates every round).
  const std::vector<std::pair<std::string, std::string>> policies = {
      {"passive", "OMP_WAIT_POLICY=passive"},
      {"active", "OMP_WAIT_POLICY=active"},
      {"spin300k", "GOMP_SPINCOUNT=300000"}};
  std::map<std::pair<std::string, int>, std::vector<Json>> ab;
  for (int round = 0; round < flags.ab_rounds; ++round) {
    for (size_t k = 0; k < policies.size(); ++k) {
      const auto& [name, env] = policies[(k + static_cast<size_t>(round)) % policies.size()];
      const fs::path enclave_dir = dir / ("ab-" + std::to_string(round) + "-" + name);
      EML_ASSIGN_OR_RETURN(std::unique_ptr<Enclave> enclave,
                           StartEnclave(flags, model, enclave_dir, env));
      client::Endpoint via_host;
      EML_ASSIGN_OR_RETURN(std::unique_ptr<host::Relay> relay,
                           StartRelay(enclave->direct, &via_host));
      for (int n : flags.sessions) {
        EML_ASSIGN_OR_RETURN(Json r, RunSessions(via_host, enclave->options, n,
                                                 flags.ab_requests_per_session, enclave->pid));
        std::cerr << "ab round " << round << " " << name << " sessions " << n << ": "
                  << r["throughput_rps"].get<double>() << " req/s" << std::endl;
        ab[{name, n}].push_back(std::move(r));
      }
      relay->Stop();
      enclave->Stop();
    }
  }
  for (const auto& [key, runs] : ab) {
    std::vector<double> rps;
    std::vector<double> p50;
    std::vector<double> p99;
    std::vector<double> cpu;
    for (const Json& r : runs) {
      rps.push_back(r["throughput_rps"].get<double>());
      p50.push_back(r["p50_ms"].get<double>());
      p99.push_back(r["p99_ms"].get<double>());
      cpu.push_back(r["enclave_cpu_ms_per_request"].get<double>());
    }
    add({{"case", "omp_ab_" + key.first + "_sessions_" + std::to_string(key.second)},
         {"policy", key.first},
         {"sessions", key.second},
         {"rounds", runs.size()},
         {"throughput_rps_median", Median(rps)},
         {"throughput_rps_runs", rps},
         {"p50_ms_median", Median(p50)},
         {"p99_ms_median", Median(p99)},
         {"enclave_cpu_ms_per_request_median", Median(cpu)}});
  }

  // 4. The enclave with its defaults.
  EML_ASSIGN_OR_RETURN(std::unique_ptr<Enclave> enclave,
                       StartEnclave(flags, model, dir / "main", ""));
  client::Endpoint via_host;
  EML_ASSIGN_OR_RETURN(std::unique_ptr<host::Relay> relay, StartRelay(enclave->direct, &via_host));
  {
    std::vector<double> ms;
    for (int i = 0; i < flags.warmup + flags.reps; ++i) {
      const Clock::time_point start = Clock::now();
      EML_ASSIGN_OR_RETURN(std::unique_ptr<client::Session> s,
                           client::Connect(via_host, enclave->options));
      if (i >= flags.warmup) {
        ms.push_back(MsSince(start));
      }
    }
    Json row = Stats(ms);
    row["case"] = "handshake_host";
    add(std::move(row));
  }
  for (const auto& [name, endpoint] :
       {std::pair<std::string, client::Endpoint>{"b1_direct", enclave->direct},
        {"b1_host", via_host}}) {
    EML_ASSIGN_OR_RETURN(std::unique_ptr<client::Session> s,
                         client::Connect(endpoint, enclave->options));
    for (int i = 0; i < flags.warmup; ++i) {
      EML_ASSIGN_OR_RETURN(client::VerifiedEmbeddings r, s->Embed(texts));
    }
    const double enclave_cpu0 = ProcessCpuMs(enclave->pid);
    Series series;
    EML_RETURN_IF_ERROR(TimeBlock(&series, flags.reps, [&]() -> Status {
      EML_ASSIGN_OR_RETURN(client::VerifiedEmbeddings r, s->Embed(texts));
      return OkStatus();
    }));
    Json row = series.Row();
    row["case"] = name;
    row["receipt_verified"] = true;
    row["enclave_cpu_ms_per_request"] =
        (ProcessCpuMs(enclave->pid) - enclave_cpu0) / static_cast<double>(flags.reps);
    add(std::move(row));
  }
  for (int n : flags.sessions) {
    EML_ASSIGN_OR_RETURN(Json row, RunSessions(via_host, enclave->options, n,
                                               flags.requests_per_session, enclave->pid));
    row["case"] = "sessions_" + std::to_string(n);
    add(std::move(row));
  }
  add({{"case", "enclave_rss"}, {"peak_rss_mb", PeakRssMb(enclave->pid)}});
  relay->Stop();
  enclave->Stop();

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
  // The in-process rows run with the enclave's default OpenMP wait policy (passive; see
  // apps/ephemeralml-enclave/main.cc), so both sides compare like for like. libgomp reads the
  // variable when it is loaded, hence the re-exec; a value set by the caller is kept.
  if (std::getenv("OMP_WAIT_POLICY") == nullptr && std::getenv("GOMP_SPINCOUNT") == nullptr &&
      ::setenv("OMP_WAIT_POLICY", "passive", 1) == 0) {
    ::execv("/proc/self/exe", argv);
  }
  std::signal(SIGPIPE, SIG_IGN);
  eml::bench::Flags flags;
  CLI::App app{"EphemeralML end-to-end benchmark (enclave + host + verifying clients)"};
  app.add_option("--enclave", flags.enclave, "ephemeralml-enclave binary")->required();
  app.add_option("--model", flags.model_dir, "Model directory");
  app.add_option("--threads", flags.threads, "Enclave and in-process engine threads (0 = all)");
  app.add_option("--precision", flags.precision,
                 "Engine precision of the enclave and the in-process rows (fp32, bf16, int8)")
      ->check(CLI::IsMember({"fp32", "bf16", "int8"}));
  app.add_option("--reps", flags.reps, "Timed repetitions per latency case");
  app.add_option("--warmup", flags.warmup, "Untimed repetitions first");
  app.add_option("--sessions", flags.sessions, "Concurrent session counts")->delimiter(',');
  app.add_option("--requests-per-session", flags.requests_per_session, "Requests per session");
  app.add_option("--overhead-requests", flags.overhead_requests,
                 "Requests per overhead series (fake engine and raw round trips)");
  app.add_option("--ab-rounds", flags.ab_rounds, "Rounds of the OpenMP wait policy A/B (0: skip)");
  app.add_option("--ab-requests-per-session", flags.ab_requests_per_session,
                 "Requests per session in the A/B");
  app.add_option("--out", flags.out, "JSON output file");
  CLI11_PARSE(app, argc, argv);
  eml::Result<int> r = eml::bench::Run(flags);
  if (!r.has_value()) {
    std::cerr << "e2e_bench: " << eml::ToString(r.error()) << std::endl;
    return 1;
  }
  return 0;
}
