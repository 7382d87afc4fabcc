#include "keys_command.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "attest/policy.h"
#include "channel/net/net.h"
#include "cli_util.h"
#include "common/encoding.h"
#include "common/result.h"
#include "http/http_client.h"
#include "keys/http/api.h"
#include "keys/http/server.h"
#include "keys/key_broker.h"
#include "keys/master_key.h"

namespace eml::apps {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

constexpr char kTokenEnv[] = "EPHEMERALML_BROKER_TOKEN";
constexpr size_t kMaxBrokerResponseBytes = 8 * 1024 * 1024;
constexpr char kMasterKeyFile[] = "master.key";
constexpr char kTokenFile[] = "admin.token";
constexpr char kDatabaseFile[] = "broker.db";

// ---------------------------------------------------------------------------------------------
// keybroker serve

struct ServeFlags {
  std::string listen;
  std::string data_dir;
  std::string master_key;
  std::string token_file;
  std::string ready_file;
  int threads = 4;
};

std::string FormatListen(const std::string& host, uint16_t port) {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Status EnsureDataDir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return Error{ErrorCode::kIoError, "cannot create " + dir + ": " + std::strerror(errno)};
  }
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Error{ErrorCode::kIoError, dir + " is not a directory"};
  }
  return OkStatus();
}

Result<SecretBytes> ServeMasterKey(const ServeFlags& flags) {
  if (!flags.master_key.empty()) {
    return keys::LoadMasterKey(flags.master_key);
  }
  EML_ASSIGN_OR_RETURN(std::optional<SecretBytes> from_env, keys::LoadMasterKeyFromEnvironment());
  if (from_env.has_value()) {
    return std::move(*from_env);
  }
  const fs::path path = fs::path(flags.data_dir) / kMasterKeyFile;
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    EML_RETURN_IF_ERROR(keys::CreateMasterKeyFile(path));
    std::fprintf(stderr, "ephemeralml keybroker: created master key %s (mode 0600)\n",
                 path.c_str());
  }
  return keys::LoadMasterKey(path);
}

// ServeToken returns the admin token and the file it came from ("" for the environment).
Result<SecretBytes> ServeToken(const ServeFlags& flags, std::string* out_file) {
  if (!flags.token_file.empty()) {
    *out_file = flags.token_file;
    return keys::http::ReadAdminTokenFile(flags.token_file);
  }
  if (const char* env = std::getenv(kTokenEnv); env != nullptr) {
    SecretBytes token = SecretBytes::CopyFrom(AsBytes(env));
    EML_RETURN_IF_ERROR(keys::http::CheckAdminToken(token));
    return token;
  }
  const fs::path path = fs::path(flags.data_dir) / kTokenFile;
  *out_file = path.string();
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    EML_ASSIGN_OR_RETURN(SecretBytes token, keys::http::GenerateAdminToken());
    std::vector<uint8_t> text(token.Reveal(InsecureSecretAccess::Get()).begin(),
                              token.Reveal(InsecureSecretAccess::Get()).end());
    text.push_back('\n');
    const Status written = WriteFileAtomic(path.string(), text, 0600, /*exclusive=*/true);
    OPENSSL_cleanse(text.data(), text.size());
    EML_RETURN_IF_ERROR(written);
    std::fprintf(stderr, "ephemeralml keybroker: created admin token %s (mode 0600)\n",
                 path.c_str());
    return token;
  }
  return keys::http::ReadAdminTokenFile(path.string());
}

Result<int> RunServe(const ServeFlags& flags) {
  EML_ASSIGN_OR_RETURN(channel::net::HostPort listen, channel::net::ParseHostPort(flags.listen));
  EML_RETURN_IF_ERROR(EnsureDataDir(flags.data_dir));
  EML_ASSIGN_OR_RETURN(SecretBytes master_key, ServeMasterKey(flags));
  std::string token_file;
  EML_ASSIGN_OR_RETURN(SecretBytes token, ServeToken(flags, &token_file));
  EML_ASSIGN_OR_RETURN(std::unique_ptr<keys::KeyBroker> broker,
                       keys::KeyBroker::Open((fs::path(flags.data_dir) / kDatabaseFile).string(),
                                             std::move(master_key), keys::KeyBroker::Options{}));

  // Block the stop signals before the server's threads start, so they inherit the mask and
  // only sigwait below takes them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  keys::http::ServerOptions options;
  options.listen_host = listen.host;
  options.listen_port = listen.port;
  options.admin_token = std::move(token);
  options.num_threads = flags.threads;
  options.on_request = [](const keys::http::RequestLogEntry& e) {
    std::fprintf(stderr, "ephemeralml keybroker: %s %s %d%s%s\n", e.method.c_str(), e.path.c_str(),
                 e.status, e.code == ErrorCode::kOk ? "" : " ",
                 e.code == ErrorCode::kOk ? "" : std::string(ErrorCodeName(e.code)).c_str());
  };
  EML_ASSIGN_OR_RETURN(std::unique_ptr<keys::http::BrokerServer> server,
                       keys::http::BrokerServer::Start(*broker, std::move(options)));

  const std::string address = FormatListen(listen.host, server->port());
  Json ready = {{"address", address},
                {"port", server->port()},
                {"url", "http://" + address},
                {"pid", static_cast<int64_t>(::getpid())},
                {"data_dir", flags.data_dir}};
  if (!token_file.empty()) {
    ready["token_file"] = token_file;
  }
  if (!flags.ready_file.empty()) {
    const std::string text = ready.dump() + "\n";
    EML_RETURN_IF_ERROR(WriteFileAtomic(flags.ready_file, AsBytes(text), 0644, false));
  }
  std::fprintf(stderr, "ephemeralml keybroker: serving http://%s (data %s)\n", address.c_str(),
               flags.data_dir.c_str());

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  std::fprintf(stderr, "ephemeralml keybroker: signal %d, stopping\n", signal_number);
  server->Stop();
  return kExitOk;
}

// ---------------------------------------------------------------------------------------------
// keys register / policy / revoke / list / audit

struct AdminFlags {
  std::string broker;
  std::string token_file;
  std::string model;
  std::string version;
  std::string dek_file;
  std::string policy;
  std::string format = "text";
  int64_t after = 0;
  int limit = static_cast<int>(keys::http::kDefaultAuditLimit);
};

Result<SecretBytes> ClientToken(const AdminFlags& flags) {
  if (!flags.token_file.empty()) {
    return keys::http::ReadAdminTokenFile(flags.token_file);
  }
  if (const char* env = std::getenv(kTokenEnv); env != nullptr) {
    SecretBytes token = SecretBytes::CopyFrom(AsBytes(env));
    EML_RETURN_IF_ERROR(keys::http::CheckAdminToken(token));
    return token;
  }
  return Error{ErrorCode::kBrokerHttpBadToken,
               std::string("no admin token: pass --token-file or set ") + kTokenEnv};
}

// AdminCall sends one admin request. A 2xx answer returns its JSON body. A refusal sets
// *refused and returns an Error with the broker's code (kKeysCliBadResponse when it names none
// that fits) and the detail "NAME (code): message"; transport errors leave *refused false.
Result<Json> AdminCall(const std::string& broker, const SecretBytes& token,
                       const std::string& method, const std::string& path, std::string body,
                       bool* refused) {
  *refused = false;
  EML_ASSIGN_OR_RETURN(std::unique_ptr<http::HttpClient> client, http::HttpClient::Create());
  http::Request request;
  request.method = method;
  std::string base = broker;
  while (!base.empty() && base.back() == '/') {
    base.pop_back();
  }
  request.url = base + path;
  request.max_response_bytes = kMaxBrokerResponseBytes;
  const std::span<const uint8_t> secret = token.Reveal(InsecureSecretAccess::Get());
  request.headers.emplace_back("Authorization",
                               "Bearer " + std::string(secret.begin(), secret.end()));
  request.headers.emplace_back("Content-Type", "application/json");
  request.body.assign(body.begin(), body.end());
  if (!body.empty()) {
    OPENSSL_cleanse(body.data(), body.size());
  }
  Result<http::Response> response = client->Send(request);
  // The request held the token and maybe a data key: wipe both copies.
  OPENSSL_cleanse(request.headers[0].second.data(), request.headers[0].second.size());
  if (!request.body.empty()) {
    OPENSSL_cleanse(request.body.data(), request.body.size());
  }
  if (!response.has_value()) {
    return std::move(response).error();
  }
  const Json doc = Json::parse(response->body.begin(), response->body.end(), nullptr, false);
  if (response->status >= 200 && response->status < 300) {
    if (doc.is_discarded()) {
      return Error{ErrorCode::kKeysCliBadResponse, "the broker's answer is not JSON"};
    }
    return doc;
  }
  const Json* error = doc.is_object() && doc.contains("error") && doc["error"].is_object()
                          ? &doc["error"]
                          : nullptr;
  if (error == nullptr || !error->contains("code") || !(*error)["code"].is_number_integer() ||
      !error->contains("name") || !(*error)["name"].is_string()) {
    return Error{
        ErrorCode::kKeysCliBadResponse,
        "the broker answered HTTP " + std::to_string(response->status) + " without an error body"};
  }
  const std::string message =
      error->contains("message") && (*error)["message"].is_string() ? (*error)["message"] : "";
  const int64_t code = (*error)["code"].get<int64_t>();
  *refused = true;
  return Error{code > 0 && code <= UINT16_MAX ? static_cast<ErrorCode>(code)
                                              : ErrorCode::kKeysCliBadResponse,
               (*error)["name"].get<std::string>() + " (" + std::to_string(code) + "): " + message};
}

// Call sends one admin request with the flags' token. A 2xx answer returns its JSON body; a
// refusal is printed as "refused: NAME (code): message" and returns nullopt (exit 1).
Result<std::optional<Json>> Call(const AdminFlags& flags, const std::string& method,
                                 const std::string& path, std::string body) {
  EML_ASSIGN_OR_RETURN(SecretBytes token, ClientToken(flags));
  bool refused = false;
  Result<Json> answer = AdminCall(flags.broker, token, method, path, std::move(body), &refused);
  if (answer.has_value()) {
    return std::optional<Json>(*std::move(answer));
  }
  if (!refused) {
    return std::move(answer).error();
  }
  std::cerr << "ephemeralml: refused: " << answer.error().detail << "\n";
  return std::optional<Json>();
}

std::string KeyPath(const std::string& model, const std::string& version,
                    const std::string& action) {
  return "/v1/admin/keys/" + keys::http::PercentEncode(model) + "/" +
         keys::http::PercentEncode(version) + "/" + action;
}

// PemArmour wraps DER bytes as one PEM certificate block.
std::string PemArmour(std::span<const uint8_t> der) {
  const std::string b64 = Base64Encode(der);
  std::string out = std::string(attest::kInlinePemPrefix) + "\n";
  for (size_t i = 0; i < b64.size(); i += 64) {
    out += b64.substr(i, 64) + "\n";
  }
  return out + "-----END CERTIFICATE-----\n";
}

// InlineCertificates replaces each file name in evidence.platforms.*.{roots,certificates} by
// the file's PEM text (DER files are armoured).
Status InlineCertificates(Json& policy, const fs::path& base) {
  if (!policy.is_object() || !policy.contains("evidence") || !policy["evidence"].is_object() ||
      !policy["evidence"].contains("platforms") || !policy["evidence"]["platforms"].is_object()) {
    return OkStatus();  // the broker reports what is missing
  }
  for (auto& [platform, settings] : policy["evidence"]["platforms"].items()) {
    if (!settings.is_object()) {
      continue;
    }
    for (const char* list : {"roots", "certificates"}) {
      if (!settings.contains(list) || !settings[list].is_array()) {
        continue;
      }
      for (Json& entry : settings[list]) {
        if (!entry.is_string()) {
          continue;
        }
        const std::string name = entry.get<std::string>();
        if (name.rfind(attest::kInlinePemPrefix, 0) == 0) {
          continue;
        }
        const fs::path file = fs::path(name).is_absolute() ? fs::path(name) : base / name;
        EML_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes,
                             ReadFileCapped(file.string(), attest::kMaxPolicyRootFileBytes));
        const std::string text(bytes.begin(), bytes.end());
        const size_t start = text.find_first_not_of(" \t\r\n");
        if (start != std::string::npos && text.compare(start, std::strlen(attest::kInlinePemPrefix),
                                                       attest::kInlinePemPrefix) == 0) {
          entry = text.substr(start);
        } else {
          entry = PemArmour(bytes);
        }
      }
    }
  }
  return OkStatus();
}

Result<std::string> ReadPolicyFile(const std::string& path) {
  EML_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes,
                       ReadFileCapped(path, keys::http::kMaxRequestBodyBytes));
  const Status strict = keys::http::CheckStrictJsonObject(bytes);
  if (!strict.has_value()) {
    return Error{ErrorCode::kInvalidArgument, path + ": " + strict.error().detail};
  }
  Json policy = Json::parse(bytes.begin(), bytes.end(), nullptr, false);
  std::error_code ec;
  const fs::path absolute = fs::absolute(path, ec);
  if (ec) {
    return Error{ErrorCode::kIoError, "cannot resolve " + path + ": " + ec.message()};
  }
  EML_RETURN_IF_ERROR(InlineCertificates(policy, absolute.parent_path()));
  return policy.dump();
}

Status RequireKey(const AdminFlags& flags) {
  if (flags.model.empty() || flags.version.empty()) {
    return Error{ErrorCode::kInvalidArgument, "--model and --version are required"};
  }
  return OkStatus();
}

std::string KeyLine(const Json& key) {
  auto text = [&key](const char* name) {
    return key.contains(name)
               ? (key[name].is_string() ? key[name].get<std::string>() : key[name].dump())
               : std::string("-");
  };
  return text("model_id") + " " + text("version") + " " + text("key_id") + " " + text("state") +
         " created " + text("created_at") + " updated " + text("updated_at");
}

Result<int> RunRegister(const AdminFlags& flags) {
  EML_RETURN_IF_ERROR(RequireKey(flags));
  EML_ASSIGN_OR_RETURN(SecretBytes dek, ReadSecretKeyFile(flags.dek_file, keys::kDataKeySize));
  EML_ASSIGN_OR_RETURN(std::string policy, ReadPolicyFile(flags.policy));
  EML_ASSIGN_OR_RETURN(std::string body, keys::http::EncodeRegisterBody(
                                             {flags.model, flags.version, std::move(dek), policy}));
  EML_ASSIGN_OR_RETURN(std::optional<Json> key, Call(flags, "POST", "/v1/admin/keys", body));
  if (!key.has_value()) {
    return kExitNotVerified;
  }
  std::cout << "registered " << KeyLine(*key) << "\n";
  return kExitOk;
}

Result<int> RunPolicy(const AdminFlags& flags) {
  EML_RETURN_IF_ERROR(RequireKey(flags));
  EML_ASSIGN_OR_RETURN(std::string policy, ReadPolicyFile(flags.policy));
  EML_ASSIGN_OR_RETURN(std::string body, keys::http::EncodePolicyBody(policy));
  EML_ASSIGN_OR_RETURN(std::optional<Json> key,
                       Call(flags, "PUT", KeyPath(flags.model, flags.version, "policy"), body));
  if (!key.has_value()) {
    return kExitNotVerified;
  }
  std::cout << "policy updated " << KeyLine(*key) << "\n";
  return kExitOk;
}

Result<int> RunRevoke(const AdminFlags& flags) {
  EML_RETURN_IF_ERROR(RequireKey(flags));
  EML_ASSIGN_OR_RETURN(std::optional<Json> answer,
                       Call(flags, "POST", KeyPath(flags.model, flags.version, "revoke"), ""));
  if (!answer.has_value()) {
    return kExitNotVerified;
  }
  std::cout << "revoked " << flags.model << " " << flags.version << "\n";
  return kExitOk;
}

Status CheckFormat(const std::string& format) {
  if (format != "text" && format != "json") {
    return Error{ErrorCode::kInvalidArgument, "--format must be text or json"};
  }
  return OkStatus();
}

// ListOf returns doc[field] when it is an array. Errors: kKeysCliBadResponse.
Result<Json> ListOf(const Json& doc, const char* field) {
  if (!doc.is_object() || !doc.contains(field) || !doc[field].is_array()) {
    return Error{ErrorCode::kKeysCliBadResponse,
                 std::string("the broker's answer lacks \"") + field + "\""};
  }
  return doc[field];
}

Result<int> RunList(const AdminFlags& flags) {
  EML_RETURN_IF_ERROR(CheckFormat(flags.format));
  EML_ASSIGN_OR_RETURN(std::optional<Json> answer, Call(flags, "GET", "/v1/admin/keys", ""));
  if (!answer.has_value()) {
    return kExitNotVerified;
  }
  EML_ASSIGN_OR_RETURN(Json list, ListOf(*answer, "keys"));
  if (flags.format == "json") {
    std::cout << answer->dump(2) << "\n";
    return kExitOk;
  }
  for (const Json& key : list) {
    std::cout << KeyLine(key) << "\n";
  }
  return kExitOk;
}

std::string AuditLine(const Json& row) {
  auto text = [&row](const char* name) {
    return row.contains(name)
               ? (row[name].is_string() ? row[name].get<std::string>() : row[name].dump())
               : std::string("-");
  };
  const bool allowed = row.contains("allowed") && row["allowed"] == true;
  std::string line = text("id") + " " + text("time") + " " + text("action");
  if (row.contains("model_id") && row["model_id"] != "") {
    line += " " + text("model_id") + " " + text("version");
  }
  line += allowed ? " allowed" : " denied " + text("name");
  if (row.contains("reason") && row["reason"] != "") {
    line += ": " + text("reason");
  }
  return line;
}

Result<int> RunAudit(const AdminFlags& flags) {
  EML_RETURN_IF_ERROR(CheckFormat(flags.format));
  if (flags.model.empty() != flags.version.empty()) {
    return Error{ErrorCode::kInvalidArgument, "--model and --version go together"};
  }
  keys::http::AuditParams params;
  if (!flags.model.empty()) {
    params.model_id = flags.model;
    params.version = flags.version;
  }
  params.after_id = flags.after;
  params.limit = static_cast<size_t>(flags.limit);
  const std::string query = keys::http::EncodeAuditQuery(params);
  EML_ASSIGN_OR_RETURN(
      std::optional<Json> answer,
      Call(flags, "GET", "/v1/admin/audit" + (query.empty() ? "" : "?" + query), ""));
  if (!answer.has_value()) {
    return kExitNotVerified;
  }
  EML_ASSIGN_OR_RETURN(Json rows, ListOf(*answer, "rows"));
  if (flags.format == "json") {
    std::cout << answer->dump(2) << "\n";
    return kExitOk;
  }
  for (const Json& row : rows) {
    std::cout << AuditLine(row) << "\n";
  }
  return kExitOk;
}

void AddServe(CLI::App& app) {
  auto flags = std::make_shared<ServeFlags>();
  CLI::App* group = GetOrAddSubcommand(app, "keybroker", "The key broker service");
  CLI::App* cmd =
      group->add_subcommand("serve", "Serve the key broker HTTP API until SIGTERM / SIGINT");
  cmd->add_option("--listen", flags->listen, "HOST:PORT (port 0 picks one)")->required();
  cmd->add_option("--data", flags->data_dir, "Data folder (created 0700): broker.db, keys")
      ->required();
  cmd->add_option("--master-key", flags->master_key,
                  "Master key file (default: $EPHEMERALML_BROKER_MASTER_KEY or DIR/master.key)");
  cmd->add_option("--admin-token-file", flags->token_file,
                  "Admin token file, 0600 (default: $EPHEMERALML_BROKER_TOKEN or DIR/admin.token)");
  cmd->add_option("--ready-file", flags->ready_file, "Write this JSON file once listening");
  cmd->add_option("--threads", flags->threads, "Server threads")->check(CLI::Range(1, 64));
  cmd->callback([flags] { FinishCommand(RunServe(*flags)); });
}

CLI::App* AddAdmin(CLI::App& keys, const std::string& name, const std::string& description,
                   const std::shared_ptr<AdminFlags>& flags) {
  CLI::App* cmd = keys.add_subcommand(name, description);
  cmd->add_option("--broker", flags->broker, "Broker URL, e.g. http://127.0.0.1:8443")->required();
  cmd->add_option("--token-file", flags->token_file,
                  "Admin token file, 0600 (default: $EPHEMERALML_BROKER_TOKEN)");
  return cmd;
}

}  // namespace

Result<std::string> RegisterOrUpdateKey(const BrokerKeyRegistration& reg, SecretBytes dek) {
  EML_ASSIGN_OR_RETURN(SecretBytes token, keys::http::ReadAdminTokenFile(reg.token_file));
  EML_ASSIGN_OR_RETURN(std::string policy, ReadPolicyFile(reg.policy_file));
  EML_ASSIGN_OR_RETURN(std::string body, keys::http::EncodeRegisterBody(
                                             {reg.model_id, reg.version, std::move(dek), policy}));
  bool refused = false;
  Result<Json> registered =
      AdminCall(reg.broker_url, token, "POST", "/v1/admin/keys", std::move(body), &refused);
  if (registered.has_value()) {
    return std::string("registered");
  }
  if (registered.code() != ErrorCode::kBrokerKeyExists) {
    return std::move(registered).error();
  }
  EML_ASSIGN_OR_RETURN(std::string policy_body, keys::http::EncodePolicyBody(policy));
  EML_RETURN_IF_ERROR(AdminCall(reg.broker_url, token, "PUT",
                                KeyPath(reg.model_id, reg.version, "policy"),
                                std::move(policy_body), &refused));
  return std::string("policy updated");
}

void AddKeysCommands(CLI::App& app) {
  AddServe(app);
  CLI::App* keys = GetOrAddSubcommand(app, "keys", "Key generation and key broker admin");

  auto reg = std::make_shared<AdminFlags>();
  CLI::App* cmd = AddAdmin(*keys, "register", "Register a model's data key with a policy", reg);
  cmd->add_option("--model", reg->model, "Model id")->required();
  cmd->add_option("--version", reg->version, "Model version")->required();
  cmd->add_option("--dek-file", reg->dek_file, "Data key file (model pack's PKG.dek)")->required();
  cmd->add_option("--policy", reg->policy, "Release policy JSON file")->required();
  cmd->callback([reg] { FinishCommand(RunRegister(*reg)); });

  auto pol = std::make_shared<AdminFlags>();
  cmd = AddAdmin(*keys, "policy", "Replace a key's release policy", pol);
  cmd->add_option("--model", pol->model, "Model id")->required();
  cmd->add_option("--version", pol->version, "Model version")->required();
  cmd->add_option("--policy", pol->policy, "Release policy JSON file")->required();
  cmd->callback([pol] { FinishCommand(RunPolicy(*pol)); });

  auto rev = std::make_shared<AdminFlags>();
  cmd = AddAdmin(*keys, "revoke", "Revoke a key (never released again)", rev);
  cmd->add_option("--model", rev->model, "Model id")->required();
  cmd->add_option("--version", rev->version, "Model version")->required();
  cmd->callback([rev] { FinishCommand(RunRevoke(*rev)); });

  auto list = std::make_shared<AdminFlags>();
  cmd = AddAdmin(*keys, "list", "List registered keys (never key bytes)", list);
  cmd->add_option("--format", list->format, "text (default) or json");
  cmd->callback([list] { FinishCommand(RunList(*list)); });

  auto audit = std::make_shared<AdminFlags>();
  cmd = AddAdmin(*keys, "audit", "Print the broker's audit log", audit);
  cmd->add_option("--model", audit->model, "Only this model id (with --version)");
  cmd->add_option("--version", audit->version, "Only this version (with --model)");
  cmd->add_option("--after", audit->after, "Rows after this id")->check(CLI::NonNegativeNumber);
  cmd->add_option("--limit", audit->limit, "At most this many rows")
      ->check(CLI::Range(1, static_cast<int>(keys::http::kMaxAuditLimit)));
  cmd->add_option("--format", audit->format, "text (default) or json");
  cmd->callback([audit] { FinishCommand(RunAudit(*audit)); });
}

}  // namespace eml::apps
