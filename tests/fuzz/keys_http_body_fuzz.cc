// Fuzz target keys_http_body: the key broker's HTTP request-body and query parsers
// (keys/http/api.h) on arbitrary bytes (STYLE F2), and the enclave-side answer parsers.
// Properties: no parser crashes or throws; each request parser fails only with
// kBrokerHttpBadBody and each answer parser only with kReleaseBadAnswer; whatever parses re-encodes
// (Encode*) to text that parses to the same fields; a policy that parses is canonical (parsing its
// own text again gives the same text); CheckStrictJsonObject agrees with ParsePolicyBody on the
// outer object.

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

// The enclave-side answer parsers: failures are kReleaseBadAnswer only; answers re-encode to
// the same fields; an error answer's message is one printable, bounded line.
void CheckAnswers(std::span<const uint8_t> input) {
  eml::Result<api::ChallengeAnswer> challenge = api::ParseChallengeAnswer(input);
  if (!challenge.has_value()) {
    EML_CHECK(challenge.error().code == ErrorCode::kReleaseBadAnswer);
  } else {
    eml::Result<api::ChallengeAnswer> again =
        api::ParseChallengeAnswer(eml::AsBytes(api::EncodeChallengeAnswer(*challenge)));
    EML_CHECK(again.has_value() && again->nonce == challenge->nonce &&
              again->expires_at == challenge->expires_at);
  }
  eml::Result<api::ReleaseAnswer> release = api::ParseReleaseAnswer(input);
  if (!release.has_value()) {
    EML_CHECK(release.error().code == ErrorCode::kReleaseBadAnswer);
  } else {
    EML_CHECK(release->enc.size() == api::kReleaseEncBytes &&
              release->ciphertext.size() == api::kReleaseCiphertextBytes);
    eml::Result<api::ReleaseAnswer> again =
        api::ParseReleaseAnswer(eml::AsBytes(api::EncodeReleaseAnswer(*release)));
    EML_CHECK(again.has_value() && again->key_id == release->key_id && again->enc == release->enc &&
              again->ciphertext == release->ciphertext &&
              again->evidence_sha256 == release->evidence_sha256);
  }
  eml::Result<api::ErrorAnswer> error = api::ParseErrorAnswer(input);
  if (!error.has_value()) {
    EML_CHECK(error.error().code == ErrorCode::kReleaseBadAnswer);
  } else {
    EML_CHECK(error->message.size() <= api::kMaxErrorMessageBytes);
    for (char c : error->message) {
      EML_CHECK(c >= 0x20 && c <= 0x7e);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> input(data, size);
  CheckRelease(input);
  CheckRegister(input);
  CheckPolicy(input);
  CheckFailureCode(api::ParseEmptyBody(input));
  CheckQuery(input);
  CheckAnswers(input);
  return 0;
}
