#include "crypto/internal/openssl_util.h"

#include <openssl/err.h>

#include <climits>
#include <string>

#include "common/check.h"

namespace eml::crypto::internal {
namespace {

const EVP_MD* FetchMd(const char* name) {
  EVP_MD* md = EVP_MD_fetch(nullptr, name, nullptr);
  EML_CHECK(md != nullptr);  // The default provider is part of every supported OpenSSL build.
  return md;
}

}  // namespace

const EVP_MD* Sha1Md() {
  static const EVP_MD* const md = FetchMd("SHA1");
  return md;
}
const EVP_MD* Sha256Md() {
  static const EVP_MD* const md = FetchMd("SHA2-256");
  return md;
}
const EVP_MD* Sha384Md() {
  static const EVP_MD* const md = FetchMd("SHA2-384");
  return md;
}
const EVP_MD* Sha512Md() {
  static const EVP_MD* const md = FetchMd("SHA2-512");
  return md;
}

Error OpenSslError(ErrorCode code, std::string_view what) {
  std::string detail(what);
  unsigned long err = ERR_peek_last_error();  // NOLINT(runtime/int): OpenSSL's type.
  if (err != 0) {
    char buf[256];
    ERR_error_string_n(err, buf, sizeof(buf));
    detail += " (";
    detail += buf;
    detail += ")";
  }
  ERR_clear_error();
  return Error{code, std::move(detail)};
}

void ClearOpenSslErrors() { ERR_clear_error(); }

bool IntLength(size_t size, int* out) {
  if (size > static_cast<size_t>(INT_MAX)) {
    return false;
  }
  *out = static_cast<int>(size);
  return true;
}

const unsigned char* DataOrEmpty(std::span<const uint8_t> bytes) {
  static const unsigned char kEmpty[1] = {0};
  return bytes.empty() ? kEmpty : bytes.data();
}

}  // namespace eml::crypto::internal
