#include "embed_command.h"

#include <nlohmann/json.hpp>

#include <charconv>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "cli_util.h"
#include "common/result.h"
#include "engine/embedder.h"
#include "model/model_directory.h"

namespace eml::apps {
namespace {

inline constexpr int kExitFailure = 1;

struct EmbedFlags {
  std::string model_dir;
  std::string precision = "fp32";
  int threads = 0;
  std::vector<std::string> texts;
};

void AppendFloat(std::string* out, float value) {
  char buf[32];
  const std::to_chars_result r = std::to_chars(buf, buf + sizeof(buf), value);
  out->append(buf, r.ptr);
}

// ModelName is the directory's last component ("all-MiniLM-L6-v2" for the default cache).
std::string ModelName(const std::filesystem::path& dir) {
  std::filesystem::path p = dir.lexically_normal();
  if (!p.has_filename()) p = p.parent_path();
  return p.filename().string();
}

// RunEmbedLocal returns the exit code; errors are printed here as one line.
int RunEmbedLocal(const EmbedFlags& flags) {
  const std::filesystem::path dir = flags.model_dir.empty()
                                        ? model::DefaultModelDirectoryPath()
                                        : std::filesystem::path(flags.model_dir);
  const auto fail = [](const Error& error, int code) {
    std::string line = ToString(error);
    for (char& c : line) {
      if (c == '\n' || c == '\r') c = ' ';
    }
    std::cerr << "ephemeralml: embed-local: " << line << "\n";
    return code;
  };
  // The flag's parser admits only the three names.
  const engine::Precision precision =
      engine::ParsePrecision(flags.precision).value_or(engine::Precision::kFp32);
  Result<std::unique_ptr<engine::Embedder>> embedder = engine::Embedder::LoadFromDirectory(
      dir, {.precision = precision, .num_threads = flags.threads});
  if (!embedder.has_value()) {
    Error e = embedder.error();
    if (e.code != ErrorCode::kEngineUnsupportedPrecision) {
      e.detail += " (model directory " + dir.string() + "; scripts/fetch-model installs it)";
    }
    return fail(e, kExitFailure);
  }
  Result<engine::EmbedResult> result = (*embedder)->Embed(flags.texts);
  if (!result.has_value()) {
    const bool bad_input = result.code() == ErrorCode::kTokenizerInvalidUtf8 ||
                           result.code() == ErrorCode::kEngineTooManyTexts;
    return fail(result.error(), bad_input ? kExitUsage : kExitFailure);
  }
  const engine::EmbedResult& r = *result;
  std::string out;
  out.reserve(64 + r.embeddings.size() * 14);
  out += "{\"model\":";
  out += nlohmann::json(ModelName(dir)).dump();
  out += ",\"precision\":\"";
  out += engine::PrecisionName(precision);
  out += "\",\"dim\":" + std::to_string(r.dim) + ",\"data\":[";
  for (size_t i = 0; i < r.token_counts.size(); ++i) {
    if (i != 0) out += ',';
    out += "{\"index\":" + std::to_string(i) + ",\"tokens\":" + std::to_string(r.token_counts[i]) +
           ",\"embedding\":[";
    for (size_t c = 0; c < r.dim; ++c) {
      if (c != 0) out += ',';
      AppendFloat(&out, r.embeddings[i * r.dim + c]);
    }
    out += "]}";
  }
  out += "]}\n";
  std::cout << out;
  std::cout.flush();
  if (!std::cout) {
    return fail(Error{ErrorCode::kIoError, "cannot write to stdout"}, kExitFailure);
  }
  return kExitOk;
}

}  // namespace

void AddEmbedCommands(CLI::App& app) {
  auto flags = std::make_shared<EmbedFlags>();
  CLI::App* cmd = app.add_subcommand(
      "embed-local", "Embed texts in this process (no TEE) and print the vectors as JSON");
  cmd->add_option("--model", flags->model_dir,
                  "Model directory (default: $EML_MODEL_DIR, else the scripts/fetch-model cache)");
  cmd->add_option("--precision", flags->precision, "fp32 (default), bf16 or int8")
      ->check(CLI::IsMember({"fp32", "bf16", "int8"}));
  cmd->add_option("--threads", flags->threads, "Threads (default 0: all cores)")
      ->check(CLI::Range(0, 1024));
  cmd->add_option("TEXT", flags->texts, "Texts to embed")->required();
  cmd->callback([flags] {
    const int code = RunEmbedLocal(*flags);
    if (code != kExitOk) throw CLI::RuntimeError(code);
  });
}

}  // namespace eml::apps
