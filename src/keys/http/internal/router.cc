#include "keys/http/internal/router.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <initializer_list>
#include <optional>
#include <utility>

#include "common/encoding.h"
#include "crypto/hash.h"
#include "keys/http/api.h"

namespace eml::keys::http::internal {
namespace {

using Json = nlohmann::json;

constexpr size_t kMaxMessageBytes = 300;
constexpr std::string_view kAdminPrefix = "/v1/admin/";
constexpr std::string_view kKeysPrefix = "/v1/admin/keys/";

std::string Dump(const Json& doc) {
  return doc.dump(-1, ' ', false, Json::error_handler_t::replace);
}

Reply JsonReply(int status, const Json& doc) {
  Reply reply;
  reply.status = status;
  reply.body = Dump(doc);
  return reply;
}

// OneLine keeps a detail printable and short for the error body.
std::string OneLine(std::string_view text) {
  std::string out(text.substr(0, kMaxMessageBytes));
  for (char& c : out) {
    if (c == '\n' || c == '\r' || c == '\t') {
      c = ' ';
    }
  }
  return out;
}

Error NotFound() { return Error{ErrorCode::kBrokerHttpNotFound, "no such route"}; }

// ParseStored parses JSON text the broker stored (policies, measurements): trusted, but a
// failure still yields a value instead of an exception.
Json ParseStored(const std::string& text) {
  Json doc = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    return Json(text);
  }
  return doc;
}

Json KeyInfoJson(const KeyInfo& info) {
  return Json{{"model_id", info.ref.model_id},
              {"version", info.ref.version},
              {"key_id", info.key_id},
              {"state", info.state == KeyState::kActive ? "active" : "revoked"},
              {"policy", ParseStored(info.policy_json)},
              {"created_at", info.created_at},
              {"updated_at", info.updated_at}};
}

Json AuditRowJson(const AuditRow& row) {
  Json out = {{"id", row.id},           {"time", row.time},
              {"action", row.action},   {"model_id", row.model_id},
              {"version", row.version}, {"allowed", row.allowed},
              {"code", row.code},       {"reason", row.reason}};
  if (row.code != 0) {
    out["name"] = std::string(ErrorCodeName(static_cast<ErrorCode>(row.code)));
  }
  if (!row.platform.empty()) {
    out["platform"] = row.platform;
  }
  if (!row.measurements_json.empty()) {
    out["measurements"] = ParseStored(row.measurements_json);
  }
  if (!row.evidence_sha256_hex.empty()) {
    out["evidence_sha256"] = row.evidence_sha256_hex;
  }
  return out;
}

bool StartsWith(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

// KeyPath splits "{model}/{version}/{action}" (percent-encoded segments) into its parts.
struct KeyPath {
  KeyRef ref;
  std::string action;
};
Result<KeyPath> ParseKeyPath(std::string_view rest) {
  std::vector<std::string_view> parts;
  while (true) {
    const size_t slash = rest.find('/');
    parts.push_back(rest.substr(0, slash));
    if (slash == std::string_view::npos || parts.size() > 3) {
      break;
    }
    rest = rest.substr(slash + 1);
  }
  if (parts.size() != 3) {
    return NotFound();
  }
  KeyPath out;
  EML_ASSIGN_OR_RETURN(out.ref.model_id, PercentDecode(parts[0]));
  EML_ASSIGN_OR_RETURN(out.ref.version, PercentDecode(parts[1]));
  out.action = std::string(parts[2]);
  return out;
}

Reply InfoReply(const Result<KeyInfo>& info, int status) {
  if (!info.has_value()) {
    return ErrorReply(info.error());
  }
  return JsonReply(status, KeyInfoJson(*info));
}

}  // namespace

int HttpStatusFor(ErrorCode code) {
  // An if-chain, not a switch: the closed enum has hundreds of values and every one not named
  // here is an internal failure from this API's point of view.
  auto in = [code](std::initializer_list<ErrorCode> codes) {
    return std::find(codes.begin(), codes.end(), code) != codes.end();
  };
  if (in({ErrorCode::kBrokerHttpBadBody, ErrorCode::kBrokerBadRequest,
          ErrorCode::kBrokerBadPolicy})) {
    return 400;
  }
  if (code == ErrorCode::kBrokerHttpUnauthorized) {
    return 401;
  }
  if (in({ErrorCode::kBrokerKeyRevoked, ErrorCode::kBrokerUnknownChallenge,
          ErrorCode::kBrokerChallengeExpired, ErrorCode::kBrokerChallengeReplayed,
          ErrorCode::kBrokerEvidenceRejected, ErrorCode::kBrokerPlatformNotAllowed,
          ErrorCode::kBrokerMeasurementMismatch, ErrorCode::kBrokerDebugEvidence,
          ErrorCode::kBrokerStaleEvidence, ErrorCode::kBrokerSecurityModeNotAllowed})) {
    return 403;
  }
  if (in({ErrorCode::kBrokerUnknownKey, ErrorCode::kBrokerHttpNotFound})) {
    return 404;
  }
  if (code == ErrorCode::kBrokerKeyExists) {
    return 409;
  }
  if (code == ErrorCode::kBrokerHttpBodyTooLarge) {
    return 413;
  }
  return 500;
}

Reply ErrorReply(const Error& error) {
  const int status = HttpStatusFor(error.code);
  Reply reply;
  reply.status = status;
  reply.code = error.code;
  Json body;
  if (status == 500) {
    body = {{"error",
             {{"code", static_cast<int>(ErrorCode::kInternal)},
              {"name", std::string(ErrorCodeName(ErrorCode::kInternal))},
              {"message", "internal error"}}}};
  } else {
    body = {{"error",
             {{"code", static_cast<int>(error.code)},
              {"name", std::string(ErrorCodeName(error.code))},
              {"message", OneLine(error.detail)}}}};
  }
  reply.body = Dump(body);
  reply.close = status != 403 && status != 404 && status != 409;
  if (status == 401) {
    reply.headers.emplace_back("WWW-Authenticate", "Bearer");
  }
  return reply;
}

Router::Router(KeyBroker& broker, const SecretBytes& admin_token)
    : broker_(broker),
      token_sha256_(crypto::Sha256(admin_token.Reveal(InsecureSecretAccess::Get()))) {}

bool Router::Authorized(const RequestView& request) const {
  if (!request.has_authorization) {
    return false;
  }
  constexpr std::string_view kScheme = "bearer ";
  std::string_view value = request.authorization;
  if (value.size() <= kScheme.size()) {
    return false;
  }
  for (size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(value[i])) != kScheme[i]) {
      return false;
    }
  }
  value.remove_prefix(kScheme.size());
  // Hashing first makes the comparison's length fixed, so neither the token's bytes nor its
  // length shows in the time taken.
  const std::array<uint8_t, 32> presented = crypto::Sha256(AsBytes(value));
  return ConstantTimeEquals(presented, token_sha256_);
}

Reply Router::Handle(const RequestView& request) const {
  const size_t question = request.target.find('?');
  const std::string_view path = request.target.substr(0, question);
  const std::string_view query =
      question == std::string_view::npos ? std::string_view() : request.target.substr(question + 1);
  const std::string_view method = request.method;

  // Admin routes answer 401 before anything else, so they cannot be probed without the token.
  if (StartsWith(path, kAdminPrefix)) {
    if (!Authorized(request)) {
      return ErrorReply(
          Error{ErrorCode::kBrokerHttpUnauthorized, "missing or wrong admin bearer token"});
    }
    return Admin(method, path, query, request.body);
  }
  if (!query.empty()) {
    if (path == "/healthz" || path == "/v1/challenge" || path == "/v1/release") {
      return ErrorReply(Error{ErrorCode::kBrokerHttpBadBody, "this route takes no query"});
    }
    return ErrorReply(NotFound());
  }
  if (path == "/healthz" && method == "GET") {
    return JsonReply(200, Json{{"status", "ok"}});
  }
  if (path == "/v1/challenge" && method == "POST") {
    Status empty = ParseEmptyBody(request.body);
    if (!empty.has_value()) {
      return ErrorReply(empty.error());
    }
    Result<Challenge> challenge = broker_.NewChallenge();
    if (!challenge.has_value()) {
      return ErrorReply(challenge.error());
    }
    Reply reply;
    reply.status = 200;
    reply.body = EncodeChallengeAnswer(
        ChallengeAnswer{.nonce = {challenge->nonce.begin(), challenge->nonce.end()},
                        .expires_at = challenge->expires_at});
    return reply;
  }
  if (path == "/v1/release" && method == "POST") {
    Result<ReleaseBody> body = ParseReleaseBody(request.body);
    if (!body.has_value()) {
      return ErrorReply(body.error());
    }
    ReleaseRequest release;
    release.ref = KeyRef{std::move(body->model_id), std::move(body->version)};
    release.evidence = std::move(body->evidence);
    release.challenge = std::move(body->challenge);
    release.recipient_key = std::move(body->recipient_key);
    Result<ReleasedKey> key = broker_.Release(release);
    if (!key.has_value()) {
      return ErrorReply(key.error());
    }
    Reply reply;
    reply.status = 200;
    reply.body = EncodeReleaseAnswer(ReleaseAnswer{.key_id = std::move(key->key_id),
                                                   .enc = std::move(key->enc),
                                                   .ciphertext = std::move(key->ciphertext),
                                                   .evidence_sha256 = key->evidence_sha256});
    return reply;
  }
  return ErrorReply(NotFound());
}

Reply Router::Admin(std::string_view method, std::string_view path, std::string_view query,
                    std::span<const uint8_t> body) const {
  if (path == "/v1/admin/audit" && method == "GET") {
    Result<AuditParams> params = ParseAuditQuery(query);
    if (!params.has_value()) {
      return ErrorReply(params.error());
    }
    AuditQuery audit;
    if (params->model_id.has_value()) {
      audit.ref = KeyRef{*params->model_id, *params->version};
    }
    audit.after_id = params->after_id;
    audit.limit = params->limit;
    Result<std::vector<AuditRow>> rows = broker_.Audit(audit);
    if (!rows.has_value()) {
      return ErrorReply(rows.error());
    }
    Json list = Json::array();
    for (const AuditRow& row : *rows) {
      list.push_back(AuditRowJson(row));
    }
    return JsonReply(200, Json{{"rows", std::move(list)}});
  }
  if (!query.empty()) {
    return ErrorReply(Error{ErrorCode::kBrokerHttpBadBody, "this route takes no query"});
  }
  if (path == "/v1/admin/keys" && method == "GET") {
    Result<std::vector<KeyInfo>> keys = broker_.List();
    if (!keys.has_value()) {
      return ErrorReply(keys.error());
    }
    Json list = Json::array();
    for (const KeyInfo& info : *keys) {
      list.push_back(KeyInfoJson(info));
    }
    return JsonReply(200, Json{{"keys", std::move(list)}});
  }
  if (path == "/v1/admin/keys" && method == "POST") {
    Result<RegisterBody> parsed = ParseRegisterBody(body);
    if (!parsed.has_value()) {
      return ErrorReply(parsed.error());
    }
    Result<KeyInfo> info = broker_.Register(KeyRef{parsed->model_id, parsed->version},
                                            parsed->data_key, parsed->policy_json);
    return InfoReply(info, 201);
  }
  if (!StartsWith(path, kKeysPrefix)) {
    return ErrorReply(NotFound());
  }
  Result<KeyPath> key_path = ParseKeyPath(path.substr(kKeysPrefix.size()));
  if (!key_path.has_value()) {
    return ErrorReply(key_path.error());
  }
  if (key_path->action == "policy" && method == "PUT") {
    Result<PolicyBody> parsed = ParsePolicyBody(body);
    if (!parsed.has_value()) {
      return ErrorReply(parsed.error());
    }
    Result<KeyInfo> info = broker_.UpdatePolicy(key_path->ref, parsed->policy_json);
    return InfoReply(info, 200);
  }
  if (key_path->action == "revoke" && method == "POST") {
    Status empty = ParseEmptyBody(body);
    if (!empty.has_value()) {
      return ErrorReply(empty.error());
    }
    Status revoked = broker_.Revoke(key_path->ref);
    if (!revoked.has_value()) {
      return ErrorReply(revoked.error());
    }
    return JsonReply(200, Json{{"model_id", key_path->ref.model_id},
                               {"version", key_path->ref.version},
                               {"state", "revoked"}});
  }
  return ErrorReply(NotFound());
}

}  // namespace eml::keys::http::internal
