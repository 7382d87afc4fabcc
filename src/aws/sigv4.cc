#include "aws/sigv4.h"

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <optional>

#include "common/encoding.h"
#include "crypto/hash.h"
#include "crypto/hmac.h"

namespace eml::aws {
namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";

bool IsTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
    return true;
  }
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

char LowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string Lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), LowerAscii);
  return out;
}

// TrimAll drops leading and trailing spaces and tabs and collapses inner runs into one space,
// as the canonical header form asks.
std::string TrimAll(std::string_view value) {
  std::string out;
  bool pending_space = false;
  for (char c : value) {
    if (c == ' ' || c == '\t') {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) {
      out.push_back(' ');
      pending_space = false;
    }
    out.push_back(c);
  }
  return out;
}

std::string Sha256Hex(std::string_view text) { return HexEncode(crypto::Sha256(AsBytes(text))); }

SecretBytes HmacStep(const SecretBytes& key, std::string_view data) {
  const auto mac = crypto::HmacSha256(key, AsBytes(data));
  return SecretBytes::CopyFrom(mac);
}

std::optional<std::string> GetEnv(const char* name) {
  const char* value = std::getenv(name);  // NOLINT(concurrency-mt-unsafe): read at start-up
  if (value == nullptr || *value == '\0') {
    return std::nullopt;
  }
  return std::string(value);
}

}  // namespace

std::string UriEncode(std::string_view text, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    const bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~';
    if (unreserved || (keep_slash && c == '/')) {
      out.push_back(c);
      continue;
    }
    const auto byte = static_cast<uint8_t>(c);
    out.push_back('%');
    out.push_back(kHex[byte >> 4]);
    out.push_back(kHex[byte & 0x0f]);
  }
  return out;
}

std::string AmzDate(int64_t time_unix) {
  const auto t = static_cast<std::time_t>(time_unix);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  const size_t n = std::strftime(buf, sizeof(buf), "%Y%m%dT%H%M%SZ", &tm);
  return std::string(buf, n);
}

Result<Credentials> CredentialsFromEnvironment() {
  std::optional<std::string> id = GetEnv("AWS_ACCESS_KEY_ID");
  std::optional<std::string> secret = GetEnv("AWS_SECRET_ACCESS_KEY");
  if (!id.has_value() || !secret.has_value()) {
    return Error{ErrorCode::kAwsNoCredentials,
                 "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must both be set"};
  }
  Credentials credentials;
  credentials.access_key_id = std::move(*id);
  credentials.secret_access_key = SecretBytes::CopyFrom(AsBytes(*secret));
  std::fill(secret->begin(), secret->end(), '\0');
  credentials.session_token = GetEnv("AWS_SESSION_TOKEN");
  return credentials;
}

Result<SignedHeaders> Sign(const SignableRequest& request, const SigningScope& scope,
                           const Credentials& credentials) {
  if (request.method.empty() || request.host.empty() || scope.region.empty() ||
      scope.service.empty() || scope.time_unix < 0 || request.payload_sha256_hex.empty()) {
    return Error{ErrorCode::kInvalidArgument,
                 "SigV4 needs a method, host, region, service, payload hash and a time >= 0"};
  }
  const std::string amz_date = AmzDate(scope.time_unix);
  const std::string date = amz_date.substr(0, 8);

  SignedHeaders out;
  out.headers.emplace_back("host", request.host);
  out.headers.emplace_back("x-amz-date", amz_date);
  if (request.add_content_sha256_header) {
    out.headers.emplace_back("x-amz-content-sha256", request.payload_sha256_hex);
  }
  if (credentials.session_token.has_value()) {
    out.headers.emplace_back("x-amz-security-token", *credentials.session_token);
  }
  const size_t num_added = out.headers.size();
  for (const auto& [name, value] : request.headers) {
    if (name.empty() || !std::all_of(name.begin(), name.end(), IsTokenChar)) {
      return Error{ErrorCode::kInvalidArgument, "header name is not an HTTP token"};
    }
    if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
      return Error{ErrorCode::kInvalidArgument, "header value contains CR, LF or NUL"};
    }
    const std::string lower = Lower(name);
    for (size_t i = 0; i < num_added; ++i) {
      if (out.headers[i].first == lower) {
        return Error{ErrorCode::kInvalidArgument, "header " + lower + " is added by Sign"};
      }
    }
    if (lower == "authorization") {
      return Error{ErrorCode::kInvalidArgument, "authorization is added by Sign"};
    }
    out.headers.emplace_back(name, value);
  }

  // Canonical headers: lower-cased names, trimmed values, sorted by name (stable, so repeated
  // names keep their order and join with commas).
  std::vector<std::pair<std::string, std::string>> canonical;
  canonical.reserve(out.headers.size());
  for (const auto& [name, value] : out.headers) {
    canonical.emplace_back(Lower(name), TrimAll(value));
  }
  std::stable_sort(canonical.begin(), canonical.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string canonical_headers;
  std::string signed_headers;
  for (size_t i = 0; i < canonical.size(); ++i) {
    if (i > 0 && canonical[i].first == canonical[i - 1].first) {
      canonical_headers.back() = ',';  // replaces the previous line's '\n'
      canonical_headers += canonical[i].second + "\n";
      continue;
    }
    canonical_headers += canonical[i].first + ":" + canonical[i].second + "\n";
    if (!signed_headers.empty()) {
      signed_headers += ";";
    }
    signed_headers += canonical[i].first;
  }

  // Canonical query: names and values encoded, then sorted (by name, then value).
  std::vector<std::pair<std::string, std::string>> query;
  query.reserve(request.query.size());
  for (const auto& [name, value] : request.query) {
    query.emplace_back(UriEncode(name, false), UriEncode(value, false));
  }
  std::sort(query.begin(), query.end());
  std::string canonical_query;
  for (const auto& [name, value] : query) {
    if (!canonical_query.empty()) {
      canonical_query += "&";
    }
    canonical_query += name + "=" + value;
  }

  out.canonical_request = request.method + "\n" + (request.path.empty() ? "/" : request.path) +
                          "\n" + canonical_query + "\n" + canonical_headers + "\n" +
                          signed_headers + "\n" + request.payload_sha256_hex;
  const std::string credential_scope =
      date + "/" + scope.region + "/" + scope.service + "/aws4_request";
  out.string_to_sign = std::string(kAlgorithm) + "\n" + amz_date + "\n" + credential_scope + "\n" +
                       Sha256Hex(out.canonical_request);

  // Signing key: HMAC chain from "AWS4" + secret over date, region, service, "aws4_request".
  const auto secret = credentials.secret_access_key.Reveal(InsecureSecretAccess::Get());
  SecretBytes key(4 + secret.size());
  {
    auto k = key.MutableReveal(InsecureSecretAccess::Get());
    std::copy_n("AWS4", 4, k.begin());
    std::copy(secret.begin(), secret.end(), k.begin() + 4);
  }
  key = HmacStep(key, date);
  key = HmacStep(key, scope.region);
  key = HmacStep(key, scope.service);
  key = HmacStep(key, "aws4_request");
  const std::string signature = HexEncode(crypto::HmacSha256(key, AsBytes(out.string_to_sign)));

  out.headers.emplace_back(
      "authorization", std::string(kAlgorithm) + " Credential=" + credentials.access_key_id + "/" +
                           credential_scope + ", SignedHeaders=" + signed_headers +
                           ", Signature=" + signature);
  return out;
}

}  // namespace eml::aws
