// Fuzz target keys_http_body: the key broker's HTTP request-body and query parsers
// (keys/http/api.h) on arbitrary bytes (STYLE F2). Properties: no parser crashes or throws;
// each fails only with kBrokerHttpBadBody; whatever parses re-encodes (Encode*) to text that
// parses to the same fields; a policy that parses is canonical (parsing its own text again
// gives the same text); CheckStrictJsonObject agrees with ParsePolicyBody on the outer object.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "common/check.h"
#include "common/encoding.h"
#include "keys/http/api.h"

namespace {

using eml::ErrorCode;
namespace api = eml::keys::http;

template <typename T>
void CheckFailureCode(const eml::Result<T>& result) {
  if (!result.has_value()) {
    EML_CHECK(result.error().code == ErrorCode::kBrokerHttpBadBody);
  }
}

void CheckRelease(std::span<const uint8_t> input) {
  eml::Result<api::ReleaseBody> body = api::ParseReleaseBody(input);
  CheckFailureCode(body);
  if (!body.has_value()) {
    return;
  }
  eml::Result<api::ReleaseBody> again =
      api::ParseReleaseBody(eml::AsBytes(api::EncodeReleaseBody(*body)));
  EML_CHECK(again.has_value());
  EML_CHECK(again->model_id == body->model_id && again->version == body->version);
  EML_CHECK(again->evidence == body->evidence && again->challenge == body->challenge);
  EML_CHECK(again->recipient_key == body->recipient_key);
}

void CheckRegister(std::span<const uint8_t> input) {
  eml::Result<api::RegisterBody> body = api::ParseRegisterBody(input);
  CheckFailureCode(body);
  if (!body.has_value()) {
    return;
  }
  EML_CHECK(body->data_key.size() == 32);
  eml::Result<std::string> text = api::EncodeRegisterBody(*body);
  EML_CHECK(text.has_value());
  eml::Result<api::RegisterBody> again = api::ParseRegisterBody(eml::AsBytes(*text));
  EML_CHECK(again.has_value());
  EML_CHECK(again->policy_json == body->policy_json);
  EML_CHECK(eml::ConstantTimeEquals(again->data_key.Reveal(eml::InsecureSecretAccess::Get()),
                                    body->data_key.Reveal(eml::InsecureSecretAccess::Get())));
}

void CheckPolicy(std::span<const uint8_t> input) {
  eml::Result<api::PolicyBody> body = api::ParsePolicyBody(input);
  CheckFailureCode(body);
  const eml::Status strict = api::CheckStrictJsonObject(input);
  CheckFailureCode(strict);
  if (!body.has_value()) {
    return;
  }
  EML_CHECK(strict.has_value());
  eml::Result<std::string> text = api::EncodePolicyBody(body->policy_json);
  EML_CHECK(text.has_value());
  eml::Result<api::PolicyBody> again = api::ParsePolicyBody(eml::AsBytes(*text));
  EML_CHECK(again.has_value());
  EML_CHECK(again->policy_json == body->policy_json);
}

void CheckQuery(std::span<const uint8_t> input) {
  const std::string text(input.begin(), input.end());
  eml::Result<api::AuditParams> params = api::ParseAuditQuery(text);
  CheckFailureCode(params);
  if (!params.has_value()) {
    return;
  }
  eml::Result<api::AuditParams> again = api::ParseAuditQuery(api::EncodeAuditQuery(*params));
  EML_CHECK(again.has_value());
  EML_CHECK(again->model_id == params->model_id && again->version == params->version);
  EML_CHECK(again->after_id == params->after_id && again->limit == params->limit);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> input(data, size);
  CheckRelease(input);
  CheckRegister(input);
  CheckPolicy(input);
  CheckFailureCode(api::ParseEmptyBody(input));
  CheckQuery(input);
  return 0;
}
