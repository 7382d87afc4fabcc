// Fuzz target crypto_x509_parse: eml::crypto::Certificate::FromDer and Crl::FromDer on
// arbitrary bytes (STYLE F2). Properties: never crashes; fails only with kX509ParseFailed or
// kLimitExceeded; a parsed certificate keeps exactly the input bytes, its accessors run, and
// it re-parses from its own der() to the same fingerprint; the same input as PEM text is
// handled without crashing.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "common/check.h"
#include "common/error.h"
#include "crypto/x509.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> input(data, size);
  auto cert = eml::crypto::Certificate::FromDer(input);
  if (!cert.has_value()) {
    EML_CHECK(cert.code() == eml::ErrorCode::kX509ParseFailed ||
              cert.code() == eml::ErrorCode::kLimitExceeded);
  } else {
    EML_CHECK(cert->der().size() == size);
    (void)cert->subject();
    (void)cert->issuer();
    (void)cert->is_ca();
    (void)cert->SpkiDer();
    (void)cert->EcdsaKey();
    auto again = eml::crypto::Certificate::FromDer(cert->der());
    EML_CHECK(again.has_value());
    EML_CHECK(again->Sha256Fingerprint() == cert->Sha256Fingerprint());
  }
  auto crl = eml::crypto::Crl::FromDer(input);
  if (!crl.has_value()) {
    EML_CHECK(crl.code() == eml::ErrorCode::kX509ParseFailed ||
              crl.code() == eml::ErrorCode::kLimitExceeded);
  } else {
    EML_CHECK(crl->der().size() == size);
    (void)crl->issuer();
  }
  const std::string text(input.begin(), input.end());
  auto bundle = eml::crypto::Certificate::ParsePemBundle(text);
  if (bundle.has_value()) {
    EML_CHECK(!bundle->empty());
  }
  return 0;
}
