#include "embed_connect_command.h"

#include <nlohmann/json.hpp>

#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "attest/policy.h"
#include "cli_util.h"
#include "client/session.h"
#include "common/encoding.h"
#include "common/result.h"
#include "crypto/hash.h"
#include "crypto/random.h"

namespace eml::apps {
namespace {

struct EmbedConnectFlags {
  std::string connect;
  std::string policy;
  bool nonce = false;
  std::string receipt_out;
  std::string format = "json";
  std::vector<std::string> texts;
};

std::string OneLine(const Error& error) {
  std::string line = ToString(error);
  for (char& c : line) {
    if (c == '\n' || c == '\r') {
      c = ' ';
    }
  }
  return line;
}

int Fail(const std::string& what, const Error& error, int code) {
  std::cerr << "ephemeralml: embed: " << what << ": " << OneLine(error) << "\n";
  return code;
}

// DefaultPolicyPath: $EPHEMERALML_HOME/policy.json, home default ~/.ephemeralml.
std::filesystem::path DefaultPolicyPath() {
  const char* home = std::getenv("EPHEMERALML_HOME");
  if (home != nullptr && *home != '\0') {
    return std::filesystem::path(home) / "policy.json";
  }
  const char* user_home = std::getenv("HOME");
  return std::filesystem::path(user_home != nullptr ? user_home : ".") / ".ephemeralml" /
         "policy.json";
}

void AppendFloat(std::string* out, float value) {
  char buf[32];
  const std::to_chars_result r = std::to_chars(buf, buf + sizeof(buf), value);
  out->append(buf, r.ptr);
}

std::string HexOf(std::span<const uint8_t> bytes) { return HexEncode(bytes); }

// OfflineVerifyArgv: the `ephemeralml receipt verify` command line that re-checks the receipt
// with everything the session checked that a receipt alone can carry.
std::vector<std::string> OfflineVerifyArgv(const client::Session& session,
                                           const client::VerifiedEmbeddings& result,
                                           const std::string& receipt_file) {
  const air::Claims& claims = *result.receipt_report().claims;
  std::vector<std::string> argv = {"ephemeralml",
                                   "receipt",
                                   "verify",
                                   receipt_file.empty() ? "RECEIPT.cbor" : receipt_file,
                                   "--public-key",
                                   HexOf(session.enclave().receipt_key().bytes()),
                                   "--expected-request-hash",
                                   HexOf(crypto::Sha256(result.request_bytes())),
                                   "--expected-response-hash",
                                   HexOf(crypto::Sha256(result.result_bytes())),
                                   "--expected-model",
                                   claims.model_id,
                                   "--expected-model-hash",
                                   HexOf(claims.model_hash),
                                   "--expected-attestation-hash",
                                   HexOf(session.enclave().document_sha256()),
                                   "--expected-platform",
                                   claims.enclave_measurements.measurement_type,
                                   "--max-age",
                                   "0"};
  if (claims.eat_nonce.has_value()) {
    argv.insert(argv.end(), {"--expected-nonce", HexOf(*claims.eat_nonce), "--require-nonce"});
  }
  if (session.enclave().evaluation()) {
    argv.push_back("--allow-evaluation");
  }
  return argv;
}

std::string RenderJson(const client::Session& session, const client::VerifiedEmbeddings& r,
                       const std::vector<std::string>& offline) {
  std::string out;
  out.reserve(256 + r.embeddings().size() * 14);
  out += "{\"model\":" + nlohmann::json(r.model_id()).dump();
  out += ",\"dim\":" + std::to_string(r.dim()) + ",\"count\":" + std::to_string(r.count());
  out += ",\"data\":[";
  for (size_t i = 0; i < r.count(); ++i) {
    if (i != 0) {
      out += ',';
    }
    out += "{\"index\":" + std::to_string(i) +
           ",\"tokens\":" + std::to_string(r.token_counts()[i]) + ",\"embedding\":[";
    for (size_t c = 0; c < r.dim(); ++c) {
      if (c != 0) {
        out += ',';
      }
      AppendFloat(&out, r.embeddings()[i * r.dim() + c]);
    }
    out += "]}";
  }
  out += "]";
  nlohmann::json attestation = {{"platform", session.enclave().evidence().platform()},
                                {"document_sha256", HexOf(session.enclave().document_sha256())},
                                {"evaluation", session.enclave().evaluation()}};
  out += ",\"attestation\":" + attestation.dump();
  nlohmann::json receipt = {{"sha256", HexOf(crypto::Sha256(r.receipt()))},
                            {"size_bytes", r.receipt().size()},
                            {"sequence_number", r.receipt_report().claims->sequence_number},
                            {"report", nlohmann::json::parse(r.receipt_report().ToJson())}};
  out += ",\"receipt\":" + receipt.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  out += ",\"offline_verify\":" + nlohmann::json(offline).dump() + "}\n";
  return out;
}

std::string RenderText(const client::Session& session, const client::VerifiedEmbeddings& r,
                       const std::vector<std::string>& offline) {
  std::string out;
  out += "attestation: verified (" + session.enclave().evidence().platform() +
         (session.enclave().evaluation() ? ", evaluation only" : "") + ") document sha256 " +
         HexOf(session.enclave().document_sha256()) + "\n";
  out += "model: " + r.model_id() + ", " + std::to_string(r.count()) + " embeddings of dim " +
         std::to_string(r.dim()) + "\n";
  for (size_t i = 0; i < r.count(); ++i) {
    out += "  [" + std::to_string(i) + "] tokens " + std::to_string(r.token_counts()[i]) + ":";
    for (size_t c = 0; c < r.dim() && c < 4; ++c) {
      out += ' ';
      AppendFloat(&out, r.embeddings()[i * r.dim() + c]);
    }
    out += r.dim() > 4 ? " ...\n" : "\n";
  }
  out += "receipt: verified, sequence " +
         std::to_string(r.receipt_report().claims->sequence_number) + ", sha256 " +
         HexOf(crypto::Sha256(r.receipt())) + "\n";
  for (const client::ReceiptCheckResult& c : r.receipt_report().checks) {
    out += "  " + c.name + " " + c.status + "\n";
  }
  out += "verify offline:";
  for (const std::string& a : offline) {
    out += ' ' + a;
  }
  out += '\n';
  return out;
}

int RunEmbedConnect(const EmbedConnectFlags& flags) {
  Result<client::Endpoint> endpoint = client::ParseEndpoint(flags.connect);
  if (!endpoint.has_value()) {
    return Fail("--connect", endpoint.error(), kExitUsage);
  }
  const std::filesystem::path policy_path =
      flags.policy.empty() ? DefaultPolicyPath() : std::filesystem::path(flags.policy);
  std::error_code ec;
  if (!std::filesystem::exists(policy_path, ec)) {
    std::cerr << "ephemeralml: embed: no evidence policy at " << policy_path.string()
              << " (pass --policy FILE, or run `ephemeralml up`, which writes one)\n";
    return kExitUsage;
  }
  Result<attest::EvidencePolicy> policy = attest::LoadEvidencePolicyFile(policy_path);
  if (!policy.has_value()) {
    return Fail("policy " + policy_path.string(), policy.error(), kExitUsage);
  }
  Result<attest::PolicyVerifier> verifier = attest::PolicyVerifier::Create(std::move(*policy));
  if (!verifier.has_value()) {
    return Fail("policy " + policy_path.string(), verifier.error(), kExitUsage);
  }
  client::ClientOptions options;
  options.policy = std::make_shared<const attest::PolicyVerifier>(std::move(*verifier));
  Result<std::unique_ptr<client::Session>> session = client::Connect(*endpoint, options);
  if (!session.has_value()) {
    return Fail("connect " + client::EndpointToString(*endpoint), session.error(),
                kExitNotVerified);
  }
  client::EmbedOptions embed_options;
  if (flags.nonce) {
    std::vector<uint8_t> nonce(32);
    if (Status s = crypto::RandomBytes(nonce); !s.has_value()) {
      return Fail("nonce", s.error(), kExitNotVerified);
    }
    embed_options.nonce = std::move(nonce);
  }
  Result<client::VerifiedEmbeddings> result = (*session)->Embed(flags.texts, embed_options);
  if (!result.has_value()) {
    const bool usage = result.code() == ErrorCode::kProtocolInputTooLarge ||
                       result.code() == ErrorCode::kProtocolTooManyInputs;
    return Fail("request", result.error(), usage ? kExitUsage : kExitNotVerified);
  }
  if (!flags.receipt_out.empty()) {
    Status written = WriteFileAtomic(flags.receipt_out, result->receipt(), 0644, false);
    if (!written.has_value()) {
      return Fail("--receipt-out", written.error(), kExitNotVerified);
    }
  }
  const std::vector<std::string> offline = OfflineVerifyArgv(**session, *result, flags.receipt_out);
  std::cout << (flags.format == "text" ? RenderText(**session, *result, offline)
                                       : RenderJson(**session, *result, offline));
  std::cout.flush();
  if (!std::cout) {
    return Fail("output", Error{ErrorCode::kIoError, "cannot write to stdout"}, kExitNotVerified);
  }
  return kExitOk;
}

}  // namespace

void AddEmbedConnectCommands(CLI::App& app) {
  auto flags = std::make_shared<EmbedConnectFlags>();
  CLI::App* cmd = app.add_subcommand(
      "embed", "Embed texts in a remote enclave; verify its attestation and every receipt");
  cmd->add_option("--connect", flags->connect,
                  "Enclave or host address: HOST:PORT, tcp:HOST:PORT or unix:PATH")
      ->required();
  cmd->add_option("--policy", flags->policy,
                  "Evidence policy file (default $EPHEMERALML_HOME/policy.json)");
  cmd->add_flag("--nonce", flags->nonce, "Send a fresh random 32-byte nonce for the receipt");
  cmd->add_option("--receipt-out", flags->receipt_out, "Write the receipt (CBOR) to this file");
  cmd->add_option("--format", flags->format, "json (default) or text")
      ->check(CLI::IsMember({"json", "text"}));
  cmd->add_option("TEXT", flags->texts, "Texts to embed")->required();
  cmd->callback([flags] {
    const int code = RunEmbedConnect(*flags);
    if (code != kExitOk) {
      throw CLI::RuntimeError(code);
    }
  });
}

}  // namespace eml::apps
