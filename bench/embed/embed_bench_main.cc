// embed_bench: end-to-end latency and throughput of Embedder::Embed (text in, unit vectors out),
// in the manner of llama-bench (STYLE.md P2): untimed warmup, fixed repetitions, p50/p95/p99/
// mean/stddev and the raw samples, deterministic inputs, one JSON row per case carrying the git
// commit, CPU model, threads and a timestamp.
//
// Cases: batch 1 at exactly 8/16/32/128/256 tokens ([CLS] and [SEP] included), batch 8 and 32 of
// mixed short texts (9..31 tokens); each for every thread count and precision asked for. A
// precision this CPU cannot run gives one "skipped" row. Peak RSS is measured per precision in a
// child process (this binary with --rss-probe) that loads the model and embeds batch-32 inputs,
// so that each number belongs to a process serving one precision only. The peak is the child's
// VmHWM (ru_maxrss is reported too; it equals VmHWM because the children run first).
//
//   embed_bench [--model DIR] [--precisions fp32,bf16,int8] [--threads 1,2] [--reps 30]
//               [--warmup 3] [--cases b1_t8,...,b32] [--out FILE] [--json] [--no-rss]
//   embed_bench --print-inputs     the texts of every case, as JSON (for scripts/bench-peers.py)
//   embed_bench --rss-probe P      (internal) the child of the RSS measurement
//
// --out writes a JSON array (one row per line; default bench/results/embed.json); --json prints
// the rows on stdout as JSON lines instead of the table.

#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

#include "common/result.h"
#include "engine/embedder.h"
#include "model/model_directory.h"
#include "tokenizer/wordpiece_tokenizer.h"

extern char** environ;

namespace eml::bench {
namespace {

using Json = nlohmann::json;
using engine::Precision;

struct Case {
  std::string name;
  std::vector<std::string> texts;
  size_t tokens = 0;  // Sum over texts, specials included.
};

// Common English words, each one WordPiece token in the uncased BERT vocabulary; texts are built
// from them and checked against the real tokenizer, so the counts are exact whatever the list.
constexpr std::array<const char*, 48> kWords = {
    "the",    "model",   "runs",  "inside",  "a",     "secure", "enclave", "and",
    "every",  "request", "is",    "signed",  "with",  "its",    "own",     "key",
    "people", "send",    "short", "texts",   "that",  "become", "vectors", "for",
    "search", "over",    "large", "sets",    "of",    "news",   "stories", "about",
    "the",    "world",   "we",    "measure", "how",   "long",   "each",    "call",
    "takes",  "on",      "two",   "cores",   "today", "while",  "others",  "wait"};

// MakeText returns a text of exactly `target` tokens, starting at word `seed` of kWords.
Result<std::string> MakeText(const tokenizer::WordPieceTokenizer& tok, size_t target, size_t seed) {
  std::string text;
  tokenizer::Encoding enc;
  size_t i = seed;
  for (int guard = 0; guard < 4096; ++guard) {
    EML_RETURN_IF_ERROR(tok.EncodeInto(text, &enc));
    if (enc.ids.size() == target) return text;
    const std::string before = text;
    text += (text.empty() ? "" : " ");
    text += kWords[i++ % kWords.size()];
    EML_RETURN_IF_ERROR(tok.EncodeInto(text, &enc));
    if (enc.ids.size() > target) text = before + (before.empty() ? "a" : " a");
  }
  return Error{ErrorCode::kInternal,
               "cannot build a text of " + std::to_string(target) + " tokens"};
}

Result<std::vector<Case>> MakeCases(const std::filesystem::path& model_dir) {
  EML_ASSIGN_OR_RETURN(auto tok, tokenizer::WordPieceTokenizer::FromFile(
                                     model_dir / "tokenizer.json", {.max_length = 256}));
  std::vector<Case> cases;
  for (size_t n : {size_t{8}, size_t{16}, size_t{32}, size_t{128}, size_t{256}}) {
    Case c;
    c.name = "b1_t" + std::to_string(n);
    EML_ASSIGN_OR_RETURN(std::string text, MakeText(tok, n, 0));
    c.texts.push_back(text);
    c.tokens = n;
    cases.push_back(c);
  }
  constexpr std::array<size_t, 8> kMixed = {9, 14, 22, 11, 31, 17, 26, 12};
  for (size_t batch : {size_t{8}, size_t{32}}) {
    Case c;
    c.name = "b" + std::to_string(batch);
    for (size_t i = 0; i < batch; ++i) {
      const size_t n = kMixed[i % kMixed.size()];
      EML_ASSIGN_OR_RETURN(std::string text, MakeText(tok, n, 7 * i + 3));
      c.texts.push_back(text);
      c.tokens += n;
    }
    cases.push_back(c);
  }
  return cases;
}

std::string CpuModel() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line)) {
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
  if (p == nullptr) return "unknown";
  char buf[128] = {};
  const size_t n = std::fread(buf, 1, sizeof(buf) - 1, p);
  ::pclose(p);
  std::string s(buf, n);
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
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

// LoadAverage is the 1-minute load average: on a shared machine, a case measured under load
// shows it in its row.
double LoadAverage() {
  std::ifstream f("/proc/loadavg");
  double load = -1;
  f >> load;
  return load;
}

double PeakRssMb() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux.
}

// StatusMb reads a "Vm...:  N kB" line of /proc/self/status, in MB.
double StatusMb(const std::string& key) {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind(key, 0) == 0) return std::stod(line.substr(key.size())) / 1024.0;
  }
  return -1;
}
double CurrentRssMb() { return StatusMb("VmRSS:"); }
// PeakRssOfThisImageMb is VmHWM: the high-water mark of this process image. Unlike ru_maxrss,
// which Linux carries across execve from the parent's memory, it starts afresh at exec.
double PeakRssOfThisImageMb() { return StatusMb("VmHWM:"); }

// Quantile over sorted samples, linear interpolation between closest ranks.
double Quantile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  const double pos = q * static_cast<double>(sorted.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - static_cast<double>(lo));
}

Result<Precision> PrecisionFlag(const std::string& s) {
  if (std::optional<Precision> precision = engine::ParsePrecision(s)) {
    return *precision;
  }
  return Error{ErrorCode::kInvalidArgument, "unknown precision " + s};
}

struct Flags {
  std::string model_dir;
  std::vector<std::string> precisions = {"fp32", "bf16", "int8"};
  std::vector<int> threads = {1, 2};
  std::vector<std::string> cases;
  int reps = 30;
  int warmup = 3;
  std::string out;
  bool json = false;
  bool no_rss = false;
  bool print_inputs = false;
  std::string rss_probe;
};

// RssProbe (child process): load one precision, embed the batch-32 case `iterations` times on 2
// threads, print one JSON line.
int RssProbe(const Flags& flags, const std::filesystem::path& dir) {
  const double before_mb = CurrentRssMb();
  auto precision = PrecisionFlag(flags.rss_probe);
  if (!precision.has_value()) return 2;
  auto cases = MakeCases(dir);
  if (!cases.has_value()) return 1;
  const Case& load = cases->back();  // b32
  auto embedder =
      engine::Embedder::LoadFromDirectory(dir, {.precision = *precision, .num_threads = 2});
  Json row = {{"precision", flags.rss_probe}, {"rss_start_mb", before_mb}};
  if (!embedder.has_value()) {
    row["skipped"] = ToString(embedder.error());
    std::cout << row.dump() << "\n";
    return 0;
  }
  row["rss_after_load_mb"] = CurrentRssMb();
  for (int i = 0; i < 20; ++i) {
    auto r = (*embedder)->Embed(load.texts);
    if (!r.has_value()) {
      std::cerr << "embed_bench: " << ToString(r.error()) << "\n";
      return 1;
    }
  }
  row["rss_end_mb"] = CurrentRssMb();
  row["peak_rss_mb"] = PeakRssOfThisImageMb();
  row["ru_maxrss_mb"] = PeakRssMb();
  row["load"] = "20 x Embed(b32: 32 texts, " + std::to_string(load.tokens) + " tokens), 2 threads";
  std::cout << row.dump() << "\n";
  return 0;
}

// SpawnRssProbe runs this binary with --rss-probe and returns its JSON line.
Result<Json> SpawnRssProbe(const std::string& precision, const std::string& model_dir) {
  const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) return Error{ErrorCode::kIoError, "pipe"};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 1);
  posix_spawn_file_actions_addclose(&actions, pipe_fds[0]);
  std::vector<std::string> args = {self, "--rss-probe", precision, "--model", model_dir};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, self.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipe_fds[1]);
  if (rc != 0) {
    ::close(pipe_fds[0]);
    return Error{ErrorCode::kIoError, "posix_spawn failed"};
  }
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(pipe_fds[0], buf, sizeof(buf));
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(pipe_fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return Error{ErrorCode::kInternal, "rss probe for " + precision + " failed"};
  }
  try {
    return Json::parse(out);
  } catch (const Json::exception&) {
    return Error{ErrorCode::kInternal, "rss probe printed no JSON"};
  }
}

int Main(int argc, char** argv) {
  Flags flags;
  CLI::App app{"End-to-end embedding benchmark (llama-bench style)", "embed_bench"};
  app.add_option("--model", flags.model_dir, "Model directory (default: fetch-model cache)");
  app.add_option("--precisions", flags.precisions, "Comma-separated: fp32,bf16,int8")
      ->delimiter(',');
  app.add_option("--threads", flags.threads, "Comma-separated thread counts")->delimiter(',');
  app.add_option("--cases", flags.cases, "Comma-separated case names (default: all)")
      ->delimiter(',');
  app.add_option("--reps", flags.reps, "Timed repetitions per case")->check(CLI::Range(1, 100000));
  app.add_option("--warmup", flags.warmup, "Untimed calls per case")->check(CLI::Range(0, 1000));
  app.add_option("--out", flags.out, "JSON output (default bench/results/embed.json)");
  app.add_flag("--json", flags.json, "Print rows as JSON lines on stdout");
  app.add_flag("--no-rss", flags.no_rss, "Skip the per-precision peak RSS child processes");
  app.add_flag("--print-inputs", flags.print_inputs, "Print every case's texts as JSON");
  app.add_option("--rss-probe", flags.rss_probe, "(internal) RSS child for one precision");
  CLI11_PARSE(app, argc, argv);

  const std::filesystem::path dir = flags.model_dir.empty()
                                        ? model::DefaultModelDirectoryPath()
                                        : std::filesystem::path(flags.model_dir);
  if (!std::filesystem::exists(dir / "model.safetensors")) {
    std::cerr << "embed_bench: no model in " << dir << " (run scripts/fetch-model)\n";
    return 1;
  }
  if (!flags.rss_probe.empty()) return RssProbe(flags, dir);

  auto cases = MakeCases(dir);
  if (!cases.has_value()) {
    std::cerr << "embed_bench: " << ToString(cases.error()) << "\n";
    return 1;
  }
  if (!flags.cases.empty()) {
    std::erase_if(*cases, [&](const Case& c) {
      return std::find(flags.cases.begin(), flags.cases.end(), c.name) == flags.cases.end();
    });
  }
  if (flags.print_inputs) {
    Json doc = Json::array();
    for (const Case& c : *cases) {
      doc.push_back({{"case", c.name}, {"texts", c.texts}, {"tokens", c.tokens}});
    }
    std::cout << doc.dump() << "\n";
    return 0;
  }

  const std::string commit = GitCommit();
  const std::string cpu = CpuModel();
  const std::string stamp = UtcTimestamp();
  const Json common = {{"bench", "embed"},
                       {"engine", "ephemeralml"},
                       {"git_commit", commit},
                       {"cpu_model", cpu},
                       {"nproc", ::sysconf(_SC_NPROCESSORS_ONLN)},
                       {"timestamp", stamp},
                       {"reps", flags.reps},
                       {"warmup", flags.warmup}};
  std::vector<Json> rows;
  const auto emit = [&](const Json& row) {
    rows.push_back(row);
    if (flags.json) {
      std::cout << row.dump() << "\n" << std::flush;
      return;
    }
    if (row.contains("skipped")) {
      std::printf("%-8s %-5s %-4s skipped: %s\n", row.value("case", "*").c_str(),
                  row["precision"].get<std::string>().c_str(),
                  row.contains("threads") ? std::to_string(row["threads"].get<int>()).c_str() : "*",
                  row["skipped"].get<std::string>().c_str());
    } else if (row.contains("peak_rss_mb")) {
      std::printf("rss      %-5s peak %.1f MB (after load %.1f MB)\n",
                  row["precision"].get<std::string>().c_str(), row["peak_rss_mb"].get<double>(),
                  row["rss_after_load_mb"].get<double>());
    } else {
      std::printf(
          "%-8s %-5s t=%d  p50 %9.3f ms  p95 %9.3f  p99 %9.3f  mean %9.3f  sd %7.3f  "
          "%9.1f texts/s %10.0f tok/s\n",
          row["case"].get<std::string>().c_str(), row["precision"].get<std::string>().c_str(),
          row["threads"].get<int>(), row["p50_ms"].get<double>(), row["p95_ms"].get<double>(),
          row["p99_ms"].get<double>(), row["mean_ms"].get<double>(), row["stddev_ms"].get<double>(),
          row["texts_per_s"].get<double>(), row["tokens_per_s"].get<double>());
    }
    std::fflush(stdout);
  };

  if (!flags.json) {
    std::printf("embed_bench: %s, %s, commit %s, %d reps (+%d warmup)\n", dir.string().c_str(),
                cpu.c_str(), commit.c_str(), flags.reps, flags.warmup);
  }
  // RSS children first, while this process is still small: Linux carries ru_maxrss across
  // execve, so a child spawned later would report at least this process's peak.
  if (!flags.no_rss) {
    for (const std::string& pname : flags.precisions) {
      auto probe = SpawnRssProbe(pname, dir.string());
      if (!probe.has_value()) {
        std::cerr << "embed_bench: " << ToString(probe.error()) << "\n";
        return 1;
      }
      Json row = common;
      row["case"] = "rss_b32";
      row.update(*probe);
      emit(row);
    }
  }

  for (const std::string& pname : flags.precisions) {
    auto precision = PrecisionFlag(pname);
    if (!precision.has_value()) {
      std::cerr << "embed_bench: " << ToString(precision.error()) << "\n";
      return 2;
    }
    for (int threads : flags.threads) {
      auto embedder = engine::Embedder::LoadFromDirectory(
          dir, {.precision = *precision, .num_threads = threads});
      if (!embedder.has_value()) {
        Json row = common;
        row["precision"] = pname;
        row["threads"] = threads;
        row["skipped"] = ToString(embedder.error());
        emit(row);
        break;  // Same answer for every thread count.
      }
      for (const Case& c : *cases) {
        for (int i = 0; i < flags.warmup; ++i) {
          if (auto r = (*embedder)->Embed(c.texts); !r.has_value()) {
            std::cerr << "embed_bench: " << ToString(r.error()) << "\n";
            return 1;
          }
        }
        std::vector<double> samples;
        samples.reserve(static_cast<size_t>(flags.reps));
        for (int i = 0; i < flags.reps; ++i) {
          const auto start = std::chrono::steady_clock::now();
          auto r = (*embedder)->Embed(c.texts);
          const auto end = std::chrono::steady_clock::now();
          if (!r.has_value()) {
            std::cerr << "embed_bench: " << ToString(r.error()) << "\n";
            return 1;
          }
          samples.push_back(std::chrono::duration<double, std::milli>(end - start).count());
        }
        std::vector<double> sorted = samples;
        std::sort(sorted.begin(), sorted.end());
        const double n = static_cast<double>(samples.size());
        const double mean = std::accumulate(samples.begin(), samples.end(), 0.0) / n;
        double var = 0;
        for (double s : samples) var += (s - mean) * (s - mean);
        const double stddev = samples.size() > 1 ? std::sqrt(var / (n - 1)) : 0.0;
        const double p50 = Quantile(sorted, 0.5);
        Json row = common;
        row["case"] = c.name;
        row["batch"] = c.texts.size();
        row["tokens"] = c.tokens;
        row["precision"] = pname;
        row["threads"] = threads;
        row["kernel_isa"] = std::string((*embedder)->kernel_isa());
        row["matmul_impl"] = (*embedder)->matmul_impl();
        row["p50_ms"] = p50;
        row["p95_ms"] = Quantile(sorted, 0.95);
        row["p99_ms"] = Quantile(sorted, 0.99);
        row["mean_ms"] = mean;
        row["stddev_ms"] = stddev;
        row["min_ms"] = sorted.front();
        row["max_ms"] = sorted.back();
        row["texts_per_s"] = static_cast<double>(c.texts.size()) * 1000.0 / p50;
        row["tokens_per_s"] = static_cast<double>(c.tokens) * 1000.0 / p50;
        row["loadavg"] = LoadAverage();
        row["samples_ms"] = samples;
        emit(row);
      }
    }
  }
  if (!flags.json || !flags.out.empty()) {
    const std::filesystem::path out =
        flags.out.empty() ? std::filesystem::path(EML_SOURCE_DIR) / "bench/results/embed.json"
                          : std::filesystem::path(flags.out);
    std::filesystem::create_directories(out.parent_path());
    std::ofstream f(out);
    f << "[\n";
    for (size_t i = 0; i < rows.size(); ++i)
      f << rows[i].dump() << (i + 1 < rows.size() ? ",\n" : "\n");
    f << "]\n";
    if (!f) {
      std::cerr << "embed_bench: cannot write " << out << "\n";
      return 1;
    }
    if (!flags.json) std::printf("embed_bench: %zu rows in %s\n", rows.size(), out.c_str());
  }
  return 0;
}

}  // namespace
}  // namespace eml::bench

int main(int argc, char** argv) { return eml::bench::Main(argc, argv); }
