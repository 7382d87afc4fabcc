#include "keys/http/api.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <charconv>
#include <initializer_list>
#include <limits>
#include <new>
#include <set>
#include <utility>

#include <nlohmann/json.hpp>

#include "common/encoding.h"

namespace eml::keys::http {
namespace {

using Json = nlohmann::json;

Error Bad(std::string detail) { return Error{ErrorCode::kBrokerHttpBadBody, std::move(detail)}; }

// Guard watches the parser's events: it counts nesting and remembers every object's keys.
// A container deeper than kMaxJsonDepth is discarded (so nothing deep is built) and flagged.
class Guard {
 public:
  bool OnEvent(Json::parse_event_t event, const Json& parsed) {
    switch (event) {
      case Json::parse_event_t::object_start:
      case Json::parse_event_t::array_start:
        ++depth_;
        if (event == Json::parse_event_t::object_start) {
          keys_.emplace_back();
        }
        if (depth_ > kMaxJsonDepth) {
          too_deep_ = true;
          return false;
        }
        return true;
      case Json::parse_event_t::object_end:
        if (!keys_.empty()) {
          keys_.pop_back();
        }
        --depth_;
        return true;
      case Json::parse_event_t::array_end:
        --depth_;
        return true;
      case Json::parse_event_t::key:
        if (!keys_.empty() && parsed.is_string() &&
            !keys_.back().insert(parsed.get_ref<const std::string&>()).second) {
          duplicate_ = true;
        }
        return true;
      case Json::parse_event_t::value:
        return true;
    }
    return true;
  }
  bool too_deep() const { return too_deep_; }
  bool duplicate() const { return duplicate_; }

 private:
  size_t depth_ = 0;
  std::vector<std::set<std::string>> keys_;
  bool too_deep_ = false;
  bool duplicate_ = false;
};

Result<Json> ParseObject(std::span<const uint8_t> text) {
  if (text.size() > kMaxRequestBodyBytes) {
    return Bad("body is larger than " + std::to_string(kMaxRequestBodyBytes) + " bytes");
  }
  Guard guard;
  Json doc;
  try {
    doc = Json::parse(
        text.begin(), text.end(),
        [&guard](int /*depth*/, Json::parse_event_t event, Json& parsed) {
          return guard.OnEvent(event, parsed);
        },
        /*allow_exceptions=*/false);
  } catch (const std::bad_alloc&) {
    return Bad("body too large to parse");
  } catch (const Json::exception&) {
    return Bad("body is not valid JSON");
  }
  if (guard.too_deep()) {
    return Bad("JSON nesting deeper than " + std::to_string(kMaxJsonDepth));
  }
  if (doc.is_discarded()) {
    return Bad("body is not valid JSON");
  }
  if (guard.duplicate()) {
    return Bad("a JSON key appears twice");
  }
  if (!doc.is_object()) {
    return Bad("body must be a JSON object");
  }
  return doc;
}

Status CheckKeys(const Json& object, std::initializer_list<std::string_view> allowed) {
  for (const auto& item : object.items()) {
    if (std::find(allowed.begin(), allowed.end(), item.key()) == allowed.end()) {
      // Key names are echoed only when short and printable (they come from the client).
      const std::string& key = item.key();
      const bool printable = key.size() <= 64 && std::all_of(key.begin(), key.end(), [](char c) {
                               return c >= 0x20 && c < 0x7f;
                             });
      return Bad("unknown field" + (printable ? " \"" + key + "\"" : std::string()));
    }
  }
  for (std::string_view key : allowed) {
    if (!object.contains(key)) {
      return Bad("missing field \"" + std::string(key) + "\"");
    }
  }
  return OkStatus();
}

Result<std::string> GetString(const Json& object, const char* key) {
  const Json& value = object.at(key);
  if (!value.is_string()) {
    return Bad(std::string("field \"") + key + "\" must be a string");
  }
  return value.get<std::string>();
}

Result<std::vector<uint8_t>> GetBase64Url(const Json& object, const char* key) {
  EML_ASSIGN_OR_RETURN(std::string text, GetString(object, key));
  Result<std::vector<uint8_t>> bytes = Base64UrlDecode(text);
  if (!bytes.has_value()) {
    return Bad(std::string("field \"") + key + "\" is not base64url without padding");
  }
  return std::move(*bytes);
}

Result<std::string> GetPolicy(const Json& object) {
  const Json& policy = object.at("policy");
  if (!policy.is_object()) {
    return Bad("field \"policy\" must be a JSON object");
  }
  try {
    return policy.dump();
  } catch (const Json::exception&) {
    return Bad("field \"policy\" cannot be serialised");
  }
}

// Wipe clears a string that held secret text (base64url of a key).
void Wipe(std::string& text) {
  if (!text.empty()) {
    OPENSSL_cleanse(text.data(), text.size());
  }
}

// WipeJsonString wipes a string member of a parsed document in place.
void WipeJsonString(Json& object, const char* key) {
  auto it = object.find(key);
  if (it != object.end() && it->is_string()) {
    Wipe(it->get_ref<std::string&>());
  }
}

bool IsUnreserved(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

// Answers: the request-side helpers above report kBrokerHttpBadBody; on the enclave side the
// same failure is the broker's fault.
Error BadAnswer(std::string detail) {
  return Error{ErrorCode::kReleaseBadAnswer, std::move(detail)};
}
Error AsBadAnswer(const Error& error) { return BadAnswer("broker answer: " + error.detail); }

Result<Json> ParseAnswerObject(std::span<const uint8_t> body) {
  if (body.size() > kMaxAnswerBytes) {
    return BadAnswer("broker answer larger than " + std::to_string(kMaxAnswerBytes) + " bytes");
  }
  Result<Json> doc = ParseObject(body);
  if (!doc.has_value()) {
    return AsBadAnswer(doc.error());
  }
  return doc;
}

// AnswerBytes decodes a base64url field of exactly `size` bytes.
Result<std::vector<uint8_t>> AnswerBytes(const Json& object, const char* key, size_t size) {
  Result<std::vector<uint8_t>> bytes = GetBase64Url(object, key);
  if (!bytes.has_value()) {
    return AsBadAnswer(bytes.error());
  }
  if (bytes->size() != size) {
    return BadAnswer(std::string("broker answer: field \"") + key + "\" must decode to " +
                     std::to_string(size) + " bytes");
  }
  return bytes;
}

// AnswerInteger reads an integer field in [min, max].
Result<int64_t> AnswerInteger(const Json& object, const char* key, int64_t min, int64_t max) {
  const Json& value = object.at(key);
  if (!value.is_number_integer()) {
    return BadAnswer(std::string("broker answer: field \"") + key + "\" must be an integer");
  }
  // Unsigned values above INT64_MAX are stored as unsigned: out of range either way.
  if (value.is_number_unsigned() &&
      value.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return BadAnswer(std::string("broker answer: field \"") + key + "\" out of range");
  }
  const int64_t number = value.get<int64_t>();
  if (number < min || number > max) {
    return BadAnswer(std::string("broker answer: field \"") + key + "\" out of range");
  }
  return number;
}

Result<int64_t> ParseDecimal(std::string_view text, const char* name) {
  int64_t value = 0;
  const char* end = text.data() + text.size();
  if (text.empty() || text.size() > 18 || text.front() == '-' || text.front() == '+') {
    return Bad(std::string("query \"") + name + "\" must be a non-negative integer");
  }
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end) {
    return Bad(std::string("query \"") + name + "\" must be a non-negative integer");
  }
  return value;
}

}  // namespace

Status CheckStrictJsonObject(std::span<const uint8_t> text) {
  EML_ASSIGN_OR_RETURN(Json doc, ParseObject(text));
  (void)doc;
  return OkStatus();
}

Result<ReleaseBody> ParseReleaseBody(std::span<const uint8_t> body) {
  EML_ASSIGN_OR_RETURN(Json doc, ParseObject(body));
  EML_RETURN_IF_ERROR(
      CheckKeys(doc, {"model_id", "version", "evidence", "challenge", "recipient_key"}));
  ReleaseBody out;
  EML_ASSIGN_OR_RETURN(out.model_id, GetString(doc, "model_id"));
  EML_ASSIGN_OR_RETURN(out.version, GetString(doc, "version"));
  EML_ASSIGN_OR_RETURN(out.evidence, GetBase64Url(doc, "evidence"));
  EML_ASSIGN_OR_RETURN(out.challenge, GetBase64Url(doc, "challenge"));
  EML_ASSIGN_OR_RETURN(out.recipient_key, GetBase64Url(doc, "recipient_key"));
  return out;
}

Result<RegisterBody> ParseRegisterBody(std::span<const uint8_t> body) {
  EML_ASSIGN_OR_RETURN(Json doc, ParseObject(body));
  struct WipeOnExit {
    Json& doc;
    ~WipeOnExit() { WipeJsonString(doc, "data_key"); }
  } wipe{doc};
  EML_RETURN_IF_ERROR(CheckKeys(doc, {"model_id", "version", "data_key", "policy"}));
  RegisterBody out;
  EML_ASSIGN_OR_RETURN(out.model_id, GetString(doc, "model_id"));
  EML_ASSIGN_OR_RETURN(out.version, GetString(doc, "version"));
  if (!doc.at("data_key").is_string()) {
    return Bad("field \"data_key\" must be a string");
  }
  Result<std::vector<uint8_t>> key =
      Base64UrlDecode(doc.at("data_key").get_ref<const std::string&>());
  if (!key.has_value()) {
    return Bad("field \"data_key\" is not base64url without padding");
  }
  const bool right_size = key->size() == 32;
  out.data_key = SecretBytes::CopyFrom(*key);
  if (!key->empty()) {
    OPENSSL_cleanse(key->data(), key->size());
  }
  if (!right_size) {
    return Bad("field \"data_key\" must decode to 32 bytes");
  }
  EML_ASSIGN_OR_RETURN(out.policy_json, GetPolicy(doc));
  return out;
}

Result<PolicyBody> ParsePolicyBody(std::span<const uint8_t> body) {
  EML_ASSIGN_OR_RETURN(Json doc, ParseObject(body));
  EML_RETURN_IF_ERROR(CheckKeys(doc, {"policy"}));
  PolicyBody out;
  EML_ASSIGN_OR_RETURN(out.policy_json, GetPolicy(doc));
  return out;
}

Status ParseEmptyBody(std::span<const uint8_t> body) {
  if (body.empty()) {
    return OkStatus();
  }
  EML_ASSIGN_OR_RETURN(Json doc, ParseObject(body));
  if (!doc.empty()) {
    return Bad("this route takes no fields");
  }
  return OkStatus();
}

Result<std::string> PercentDecode(std::string_view text) {
  if (text.size() > 3 * kMaxPathSegmentBytes) {
    return Bad("path segment or query value too long");
  }
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) {
      // Raw control bytes never belong in a URL (RFC 3986); escaped ones (except NUL) do.
      return Bad("control character in path segment or query value");
    }
    if (c != '%') {
      out.push_back(c);
      continue;
    }
    if (i + 2 >= text.size()) {
      return Bad("truncated percent escape");
    }
    const int hi = HexDigitValue(text[i + 1]);
    const int lo = HexDigitValue(text[i + 2]);
    if (hi < 0 || lo < 0) {
      return Bad("bad percent escape");
    }
    const char decoded = static_cast<char>(hi * 16 + lo);
    if (decoded == '\0') {
      return Bad("NUL in percent escape");
    }
    out.push_back(decoded);
    i += 2;
  }
  if (out.size() > kMaxPathSegmentBytes) {
    return Bad("path segment or query value too long");
  }
  return out;
}

std::string PercentEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : text) {
    if (IsUnreserved(c)) {
      out.push_back(c);
    } else {
      const auto byte = static_cast<unsigned char>(c);
      out.push_back('%');
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 0x0f]);
    }
  }
  return out;
}

Result<AuditParams> ParseAuditQuery(std::string_view query) {
  if (query.size() > kMaxQueryBytes) {
    return Bad("query string too long");
  }
  AuditParams out;
  std::set<std::string_view> seen;
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const size_t eq = pair.find('=');
    if (eq == std::string_view::npos) {
      return Bad("query item without '='");
    }
    const std::string_view key = pair.substr(0, eq);
    EML_ASSIGN_OR_RETURN(std::string value, PercentDecode(pair.substr(eq + 1)));
    if (!seen.insert(key).second) {
      return Bad("query key given twice");
    }
    if (key == "model_id") {
      out.model_id = std::move(value);
    } else if (key == "version") {
      out.version = std::move(value);
    } else if (key == "after") {
      EML_ASSIGN_OR_RETURN(out.after_id, ParseDecimal(value, "after"));
    } else if (key == "limit") {
      EML_ASSIGN_OR_RETURN(const int64_t limit, ParseDecimal(value, "limit"));
      if (limit < 1 || static_cast<uint64_t>(limit) > kMaxAuditLimit) {
        return Bad("query \"limit\" must be 1.." + std::to_string(kMaxAuditLimit));
      }
      out.limit = static_cast<size_t>(limit);
    } else {
      return Bad("unknown query key");
    }
  }
  if (out.model_id.has_value() != out.version.has_value()) {
    return Bad("query needs both model_id and version, or neither");
  }
  return out;
}

Result<ChallengeAnswer> ParseChallengeAnswer(std::span<const uint8_t> body) {
  EML_ASSIGN_OR_RETURN(Json doc, ParseAnswerObject(body));
  if (Status keys = CheckKeys(doc, {"nonce", "expires_at"}); !keys.has_value()) {
    return AsBadAnswer(keys.error());
  }
  ChallengeAnswer out;
  EML_ASSIGN_OR_RETURN(out.nonce, AnswerBytes(doc, "nonce", kChallengeNonceBytes));
  EML_ASSIGN_OR_RETURN(out.expires_at,
                       AnswerInteger(doc, "expires_at", 0, std::numeric_limits<int64_t>::max()));
  return out;
}

Result<ReleaseAnswer> ParseReleaseAnswer(std::span<const uint8_t> body) {
  EML_ASSIGN_OR_RETURN(Json doc, ParseAnswerObject(body));
  if (Status keys = CheckKeys(doc, {"key_id", "enc", "ciphertext", "evidence_sha256"});
      !keys.has_value()) {
    return AsBadAnswer(keys.error());
  }
  ReleaseAnswer out;
  Result<std::string> key_id = GetString(doc, "key_id");
  if (!key_id.has_value()) {
    return AsBadAnswer(key_id.error());
  }
  if (key_id->empty() || key_id->size() > kMaxKeyIdBytes ||
      !std::all_of(key_id->begin(), key_id->end(), [](char c) { return c > 0x20 && c < 0x7f; })) {
    return BadAnswer("broker answer: field \"key_id\" must be 1.." +
                     std::to_string(kMaxKeyIdBytes) + " printable characters");
  }
  out.key_id = *std::move(key_id);
  EML_ASSIGN_OR_RETURN(out.enc, AnswerBytes(doc, "enc", kReleaseEncBytes));
  EML_ASSIGN_OR_RETURN(out.ciphertext, AnswerBytes(doc, "ciphertext", kReleaseCiphertextBytes));
  EML_ASSIGN_OR_RETURN(const std::vector<uint8_t> digest,
                       AnswerBytes(doc, "evidence_sha256", out.evidence_sha256.size()));
  std::copy(digest.begin(), digest.end(), out.evidence_sha256.begin());
  return out;
}

Result<ErrorAnswer> ParseErrorAnswer(std::span<const uint8_t> body) {
  EML_ASSIGN_OR_RETURN(Json doc, ParseAnswerObject(body));
  if (Status keys = CheckKeys(doc, {"error"}); !keys.has_value()) {
    return AsBadAnswer(keys.error());
  }
  const Json& error = doc.at("error");
  if (!error.is_object()) {
    return BadAnswer("broker answer: field \"error\" must be an object");
  }
  if (Status keys = CheckKeys(error, {"code", "name", "message"}); !keys.has_value()) {
    return AsBadAnswer(keys.error());
  }
  ErrorAnswer out;
  EML_ASSIGN_OR_RETURN(const int64_t code, AnswerInteger(error, "code", 1, 65535));
  out.code = static_cast<int>(code);
  Result<std::string> name = GetString(error, "name");
  if (!name.has_value()) {
    return AsBadAnswer(name.error());
  }
  if (name->empty() || name->size() > kMaxErrorNameBytes ||
      !std::all_of(name->begin(), name->end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
      })) {
    return BadAnswer("broker answer: field \"name\" must be an error name");
  }
  out.name = *std::move(name);
  Result<std::string> message = GetString(error, "message");
  if (!message.has_value()) {
    return AsBadAnswer(message.error());
  }
  out.message = message->substr(0, kMaxErrorMessageBytes);
  for (char& c : out.message) {
    if (c < 0x20 || c > 0x7e) {
      c = '?';
    }
  }
  return out;
}

std::string EncodeChallengeAnswer(const ChallengeAnswer& answer) {
  const Json doc = {{"nonce", Base64UrlEncode(answer.nonce)}, {"expires_at", answer.expires_at}};
  return doc.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string EncodeReleaseAnswer(const ReleaseAnswer& answer) {
  const Json doc = {{"key_id", answer.key_id},
                    {"enc", Base64UrlEncode(answer.enc)},
                    {"ciphertext", Base64UrlEncode(answer.ciphertext)},
                    {"evidence_sha256", Base64UrlEncode(answer.evidence_sha256)}};
  return doc.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string EncodeReleaseBody(const ReleaseBody& body) {
  const Json doc = {{"model_id", body.model_id},
                    {"version", body.version},
                    {"evidence", Base64UrlEncode(body.evidence)},
                    {"challenge", Base64UrlEncode(body.challenge)},
                    {"recipient_key", Base64UrlEncode(body.recipient_key)}};
  return doc.dump(-1, ' ', false, Json::error_handler_t::replace);
}

Result<std::string> EncodeRegisterBody(const RegisterBody& body) {
  EML_ASSIGN_OR_RETURN(Json policy, ParseObject(AsBytes(body.policy_json)));
  Json doc = {{"model_id", body.model_id},
              {"version", body.version},
              {"data_key", Base64UrlEncode(body.data_key.Reveal(InsecureSecretAccess::Get()))},
              {"policy", std::move(policy)}};
  std::string out = doc.dump(-1, ' ', false, Json::error_handler_t::replace);
  WipeJsonString(doc, "data_key");
  return out;
}

Result<std::string> EncodePolicyBody(std::string_view policy_json) {
  EML_ASSIGN_OR_RETURN(Json policy, ParseObject(AsBytes(policy_json)));
  const Json doc = {{"policy", std::move(policy)}};
  return doc.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string EncodeAuditQuery(const AuditParams& params) {
  std::string out;
  auto add = [&out](std::string_view key, const std::string& value) {
    out += out.empty() ? "" : "&";
    out += key;
    out += '=';
    out += PercentEncode(value);
  };
  if (params.model_id.has_value()) {
    add("model_id", *params.model_id);
  }
  if (params.version.has_value()) {
    add("version", *params.version);
  }
  if (params.after_id != 0) {
    add("after", std::to_string(params.after_id));
  }
  if (params.limit != kDefaultAuditLimit) {
    add("limit", std::to_string(params.limit));
  }
  return out;
}

}  // namespace eml::keys::http
