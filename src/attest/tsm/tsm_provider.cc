#include "attest/tsm/tsm_provider.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <charconv>

#include "attest/report_binding.h"

namespace eml::attest::tsm {
namespace {

std::atomic<uint64_t> g_entry_counter{0};

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// ReadAttribute reads the whole attribute, refusing more than max_bytes. nullopt: absent.
Result<std::optional<std::vector<uint8_t>>> ReadAttribute(const std::filesystem::path& path,
                                                          size_t max_bytes) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) {
      return std::optional<std::vector<uint8_t>>();
    }
    return Error{ErrorCode::kIoError, "cannot open " + path.string()};
  }
  std::vector<uint8_t> out;
  std::array<uint8_t, 4096> chunk{};
  while (true) {
    const ssize_t n = ::read(fd.get(), chunk.data(), chunk.size());
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return Error{ErrorCode::kIoError, "cannot read " + path.string()};
    }
    if (n == 0) {
      break;
    }
    const auto got = static_cast<size_t>(n);
    if (out.size() + got > max_bytes) {
      return Error{ErrorCode::kTsmBadReport, path.filename().string() + " is over its limit"};
    }
    out.insert(out.end(), chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(got));
  }
  return std::optional<std::vector<uint8_t>>(std::move(out));
}

Status WriteAttribute(const std::filesystem::path& path, std::span<const uint8_t> bytes) {
  // No O_CREAT: configfs attributes exist once the entry does; a missing one is not configfs-tsm.
  Fd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    return Error{ErrorCode::kTsmUnavailable, "cannot open " + path.string()};
  }
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd.get(), bytes.subspan(done).data(), bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return Error{ErrorCode::kIoError, "cannot write " + path.string()};
    }
    done += static_cast<size_t>(n);
  }
  return {};
}

std::string TrimmedText(const std::vector<uint8_t>& bytes) {
  std::string text(bytes.begin(), bytes.end());
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) {
    text.pop_back();
  }
  return text;
}

Result<uint64_t> ParseGeneration(const std::optional<std::vector<uint8_t>>& bytes) {
  if (!bytes.has_value()) {
    return Error{ErrorCode::kTsmBadReport, "no generation attribute"};
  }
  const std::string text = TrimmedText(*bytes);
  uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    return Error{ErrorCode::kTsmBadReport, "generation is not a decimal counter"};
  }
  return value;
}

}  // namespace

Result<TsmProvider> TsmProvider::Create(TsmOptions options) {
  if (!options.expected_provider.empty() && options.expected_provider != kProviderTdx &&
      options.expected_provider != kProviderSevSnp) {
    return Error{ErrorCode::kInvalidArgument, "unknown configfs-tsm provider"};
  }
  std::error_code ec;
  if (!std::filesystem::is_directory(options.root, ec)) {
    return Error{ErrorCode::kTsmUnavailable,
                 "no configfs-tsm at " + options.root.string() + " (not a TDX / SEV-SNP guest?)"};
  }
  return TsmProvider(std::move(options));
}

Result<TsmReport> TsmProvider::GetReport(std::span<const uint8_t, kInblobBytes> report_data) const {
  const std::filesystem::path entry =
      options_.root /
      ("eml-" + std::to_string(::getpid()) + "-" + std::to_string(g_entry_counter.fetch_add(1)));
  if (::mkdir(entry.c_str(), 0700) != 0) {
    return Error{ErrorCode::kTsmUnavailable, "configfs-tsm refused a new report entry"};
  }
  ConfigfsHooks* hooks = options_.hooks_for_test.get();
  if (hooks != nullptr) {
    hooks->OnMkdir(entry);
  }
  auto read = [&](const char* attribute, size_t max_bytes) {
    if (hooks != nullptr) {
      hooks->OnRead(entry, attribute);
    }
    return ReadAttribute(entry / attribute, max_bytes);
  };
  auto run = [&]() -> Result<TsmReport> {
    EML_RETURN_IF_ERROR(WriteAttribute(entry / "inblob", report_data));
    if (hooks != nullptr) {
      hooks->OnWrite(entry, "inblob");
    }
    TsmReport report;
    EML_ASSIGN_OR_RETURN(auto g0, read("generation", kMaxSmallAttributeBytes));
    EML_ASSIGN_OR_RETURN(report.generation, ParseGeneration(g0));
    EML_ASSIGN_OR_RETURN(auto outblob, read("outblob", kMaxOutblobBytes));
    if (!outblob.has_value() || outblob->empty()) {
      return Error{ErrorCode::kTsmBadReport, "empty outblob"};
    }
    report.outblob = *std::move(outblob);
    EML_ASSIGN_OR_RETURN(auto auxblob, read("auxblob", kMaxAuxblobBytes));
    if (auxblob.has_value()) {
      report.auxblob = *std::move(auxblob);
    }
    EML_ASSIGN_OR_RETURN(auto provider, read("provider", kMaxSmallAttributeBytes));
    if (!provider.has_value()) {
      return Error{ErrorCode::kTsmBadReport, "no provider attribute"};
    }
    report.provider = TrimmedText(*provider);
    if (report.provider != kProviderTdx && report.provider != kProviderSevSnp) {
      return Error{ErrorCode::kTsmBadReport, "unknown provider \"" + report.provider + "\""};
    }
    if (!options_.expected_provider.empty() && report.provider != options_.expected_provider) {
      return Error{ErrorCode::kTsmBadReport, "provider is " + report.provider};
    }
    EML_ASSIGN_OR_RETURN(auto g1, read("generation", kMaxSmallAttributeBytes));
    EML_ASSIGN_OR_RETURN(uint64_t generation_after, ParseGeneration(g1));
    if (generation_after != report.generation) {
      return Error{ErrorCode::kTsmGenerationChanged,
                   "the request changed while it was read; retry"};
    }
    return report;
  };
  Result<TsmReport> report = run();
  if (hooks != nullptr) {
    hooks->OnRmdir(entry);
  }
  // The entry goes whatever happened; a failed rmdir leaves a stale request, not a bad answer.
  (void)::rmdir(entry.c_str());
  return report;
}

Result<std::vector<uint8_t>> TsmProvider::Attest(std::span<const uint8_t> public_key,
                                                 std::span<const uint8_t> nonce) const {
  const std::array<uint8_t, kReportDataBytes> report_data = BindingDigest(public_key, nonce);
  EML_ASSIGN_OR_RETURN(TsmReport report, GetReport(report_data));
  std::vector<uint8_t> evidence = std::move(report.outblob);
  if (report.provider == kProviderSevSnp) {
    evidence.insert(evidence.end(), report.auxblob.begin(), report.auxblob.end());
  }
  return evidence;
}

}  // namespace eml::attest::tsm
