#include "crypto/x509.h"

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <memory>
#include <optional>
#include <string>

#include "crypto/hash.h"
#include "crypto/internal/openssl_util.h"

namespace eml::crypto {

namespace internal {

// X509Access is the verifier's (and the parsers') way into the private members.
struct X509Access {
  static X509* Get(const Certificate& cert) { return cert.x509_.get(); }
  static X509_CRL* Get(const Crl& crl) { return crl.crl_.get(); }
  static Certificate MakeCertificate(X509Ref x509, std::vector<uint8_t> der) {
    return Certificate(std::move(x509), std::move(der));
  }
  static Crl MakeCrl(X509CrlRef crl, std::vector<uint8_t> der) {
    return Crl(std::move(crl), std::move(der));
  }
  static VerifiedChain MakeChain(std::vector<Certificate> path) {
    return VerifiedChain(std::move(path));
  }
};

}  // namespace internal

namespace {

using internal::X509Access;

bool IsSpace(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

bool OnlyWhitespace(std::string_view text) {
  for (char c : text) {
    if (!IsSpace(c)) {
      return false;
    }
  }
  return true;
}

Result<std::vector<uint8_t>> EncodeDer(X509* x509) {
  int len = i2d_X509(x509, nullptr);
  if (len <= 0) {
    return internal::OpenSslError(ErrorCode::kX509ParseFailed, "i2d_X509");
  }
  std::vector<uint8_t> der(static_cast<size_t>(len));
  unsigned char* p = der.data();
  if (i2d_X509(x509, &p) != len) {
    return internal::OpenSslError(ErrorCode::kX509ParseFailed, "i2d_X509");
  }
  return der;
}

Result<std::vector<uint8_t>> EncodeCrlDer(X509_CRL* crl) {
  int len = i2d_X509_CRL(crl, nullptr);
  if (len <= 0) {
    return internal::OpenSslError(ErrorCode::kX509ParseFailed, "i2d_X509_CRL");
  }
  std::vector<uint8_t> der(static_cast<size_t>(len));
  unsigned char* p = der.data();
  if (i2d_X509_CRL(crl, &p) != len) {
    return internal::OpenSslError(ErrorCode::kX509ParseFailed, "i2d_X509_CRL");
  }
  return der;
}

// ReadPemCertificates reads consecutive CERTIFICATE blocks from `pem`. At least one is required
// and only whitespace may follow the last.
Result<std::vector<Certificate>> ReadPemCertificates(std::string_view pem, size_t max_count) {
  if (pem.size() > max_count * kMaxCertificateSize * 2) {
    return Error{ErrorCode::kLimitExceeded, "PEM input too large"};
  }
  internal::BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (bio == nullptr) {
    return internal::OpenSslError(ErrorCode::kCryptoLibraryFailure, "BIO_new_mem_buf");
  }
  std::vector<Certificate> certs;
  while (true) {
    internal::ClearOpenSslErrors();
    X509* raw = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
    if (raw == nullptr) {
      unsigned long err = ERR_peek_last_error();  // NOLINT(runtime/int)
      bool no_more = ERR_GET_LIB(err) == ERR_LIB_PEM && ERR_GET_REASON(err) == PEM_R_NO_START_LINE;
      internal::ClearOpenSslErrors();
      if (!no_more) {
        return Error{ErrorCode::kX509ParseFailed, "bad PEM certificate block"};
      }
      break;
    }
    internal::X509Ref x509(raw);
    EML_ASSIGN_OR_RETURN(std::vector<uint8_t> der, EncodeDer(x509.get()));
    if (der.size() > kMaxCertificateSize) {
      return Error{ErrorCode::kLimitExceeded, "certificate too large"};
    }
    if (certs.size() == max_count) {
      return Error{ErrorCode::kLimitExceeded, "too many certificates in PEM"};
    }
    certs.push_back(X509Access::MakeCertificate(std::move(x509), std::move(der)));
  }
  if (certs.empty()) {
    return Error{ErrorCode::kX509ParseFailed, "no PEM certificate found"};
  }
  // PEM_read_bio skips text before a block but stops after the last one: whatever it left in
  // the BIO must be blank. (Text between blocks is tolerated, as PEM allows explanatory text.)
  char* rest = nullptr;
  long rest_len = BIO_get_mem_data(bio.get(), &rest);  // NOLINT(runtime/int)
  if (rest_len > 0 && !OnlyWhitespace(std::string_view(rest, static_cast<size_t>(rest_len)))) {
    return Error{ErrorCode::kX509ParseFailed, "trailing data after PEM certificates"};
  }
  return certs;
}

Result<int64_t> ToUnix(const ASN1_TIME* time) {
  struct tm tm_value = {};
  if (time == nullptr || ASN1_TIME_to_tm(time, &tm_value) != 1) {
    return internal::OpenSslError(ErrorCode::kX509ParseFailed, "bad ASN.1 time");
  }
  return static_cast<int64_t>(timegm(&tm_value));
}

std::string NameToString(const X509_NAME* name) {
  internal::BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) {
    internal::ClearOpenSslErrors();
    return std::string();
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);  // NOLINT(runtime/int)
  return len > 0 ? std::string(data, static_cast<size_t>(len)) : std::string();
}

ErrorCode MapVerifyError(int error) {
  switch (error) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CRL_HAS_EXPIRED:
      return ErrorCode::kX509Expired;
    case X509_V_ERR_CERT_NOT_YET_VALID:
    case X509_V_ERR_CRL_NOT_YET_VALID:
      return ErrorCode::kX509NotYetValid;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_CERT_UNTRUSTED:
    case X509_V_ERR_CERT_REJECTED:
      return ErrorCode::kX509Untrusted;
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
    case X509_V_ERR_CRL_SIGNATURE_FAILURE:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE:
    case X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY:
      return ErrorCode::kX509BadSignature;
    case X509_V_ERR_INVALID_CA:
    case X509_V_ERR_PATH_LENGTH_EXCEEDED:
    case X509_V_ERR_KEYUSAGE_NO_CERTSIGN:
    case X509_V_ERR_KEYUSAGE_NO_CRL_SIGN:
    case X509_V_ERR_INVALID_PURPOSE:
    case X509_V_ERR_PERMITTED_VIOLATION:
    case X509_V_ERR_EXCLUDED_VIOLATION:
    case X509_V_ERR_INVALID_NON_CA:
      return ErrorCode::kX509BadConstraints;
    case X509_V_ERR_CERT_REVOKED:
      return ErrorCode::kX509Revoked;
    default:
      // Everything else (unknown critical extension, missing CRL, malformed fields caught by
      // X509_V_FLAG_X509_STRICT, ...) is reported as one code; the detail names the reason.
      return ErrorCode::kX509ChainInvalid;
  }
}

}  // namespace

Result<Certificate> Certificate::FromDer(std::span<const uint8_t> der) {
  if (der.size() > kMaxCertificateSize) {
    return Error{ErrorCode::kLimitExceeded, "certificate too large"};
  }
  const unsigned char* p = der.data();
  internal::X509Ref x509(d2i_X509(nullptr, &p, static_cast<long>(der.size())));  // NOLINT
  if (!x509) {
    return internal::OpenSslError(ErrorCode::kX509ParseFailed, "not a DER certificate");
  }
  if (p != der.data() + der.size()) {
    return Error{ErrorCode::kX509ParseFailed, "trailing bytes after certificate"};
  }
  return Certificate(std::move(x509), std::vector<uint8_t>(der.begin(), der.end()));
}

Result<Certificate> Certificate::FromPem(std::string_view pem) {
  EML_ASSIGN_OR_RETURN(std::vector<Certificate> certs, ReadPemCertificates(pem, 1));
  return std::move(certs.front());
}

Result<std::vector<Certificate>> Certificate::ParsePemBundle(std::string_view pem) {
  return ReadPemCertificates(pem, kMaxPemBundleCertificates);
}

std::string Certificate::subject() const {
  return NameToString(X509_get_subject_name(x509_.get()));
}
std::string Certificate::issuer() const { return NameToString(X509_get_issuer_name(x509_.get())); }

int64_t Certificate::not_before_unix() const {
  Result<int64_t> t = ToUnix(X509_get0_notBefore(x509_.get()));
  // d2i_X509 has already validated the time fields, so conversion cannot fail.
  EML_CHECK(t.has_value());
  return *t;
}

int64_t Certificate::not_after_unix() const {
  Result<int64_t> t = ToUnix(X509_get0_notAfter(x509_.get()));
  EML_CHECK(t.has_value());
  return *t;
}

bool Certificate::is_ca() const {
  uint32_t flags = X509_get_extension_flags(x509_.get());
  return (flags & EXFLAG_BCONS) != 0 && (flags & EXFLAG_CA) != 0;
}

std::vector<uint8_t> Certificate::SpkiDer() const {
  X509_PUBKEY* pub = X509_get_X509_PUBKEY(x509_.get());
  int len = i2d_X509_PUBKEY(pub, nullptr);
  EML_CHECK(len > 0);
  std::vector<uint8_t> out(static_cast<size_t>(len));
  unsigned char* p = out.data();
  EML_CHECK(i2d_X509_PUBKEY(pub, &p) == len);
  return out;
}

Result<EcdsaPublicKey> Certificate::EcdsaKey() const {
  return EcdsaPublicKey::FromSpkiDer(SpkiDer());
}

std::array<uint8_t, 32> Certificate::Sha256Fingerprint() const { return Sha256(der_); }

std::string Certificate::SubjectCommonName() const {
  const X509_NAME* name = X509_get_subject_name(x509_.get());
  int index = -1;
  int last = -1;
  while ((index = X509_NAME_get_index_by_NID(name, NID_commonName, index)) >= 0) {
    last = index;
  }
  if (last < 0) {
    return std::string();
  }
  const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, last));
  unsigned char* utf8 = nullptr;
  const int len = ASN1_STRING_to_UTF8(&utf8, data);
  if (len < 0 || utf8 == nullptr) {
    internal::ClearOpenSslErrors();
    return std::string();
  }
  const std::span<const unsigned char> view(utf8, static_cast<size_t>(len));
  std::string out(view.begin(), view.end());
  OPENSSL_free(utf8);
  return out;
}

Result<std::optional<std::vector<uint8_t>>> Certificate::ExtensionValue(
    std::string_view dotted_oid) const {
  // OBJ_txt2obj with no_name = 1 accepts only the numeric form; it needs a NUL-terminated copy.
  const std::string oid_text(dotted_oid);
  internal::ClearOpenSslErrors();
  std::unique_ptr<ASN1_OBJECT, decltype(&ASN1_OBJECT_free)> oid(OBJ_txt2obj(oid_text.c_str(), 1),
                                                                &ASN1_OBJECT_free);
  if (oid == nullptr || oid_text.empty()) {
    internal::ClearOpenSslErrors();
    return Error{ErrorCode::kInvalidArgument, "not a dotted OID"};
  }
  const int index = X509_get_ext_by_OBJ(x509_.get(), oid.get(), -1);
  if (index < 0) {
    return std::optional<std::vector<uint8_t>>();
  }
  if (X509_get_ext_by_OBJ(x509_.get(), oid.get(), index) >= 0) {
    return Error{ErrorCode::kX509ParseFailed, "extension " + oid_text + " appears twice"};
  }
  const ASN1_OCTET_STRING* value = X509_EXTENSION_get_data(X509_get_ext(x509_.get(), index));
  const unsigned char* bytes = ASN1_STRING_get0_data(value);
  const int len = ASN1_STRING_length(value);
  if (len < 0 || (len > 0 && bytes == nullptr)) {
    return Error{ErrorCode::kX509ParseFailed, "unreadable extension value"};
  }
  const std::span<const uint8_t> view(bytes, static_cast<size_t>(len));
  return std::optional<std::vector<uint8_t>>(std::vector<uint8_t>(view.begin(), view.end()));
}

Result<Crl> Crl::FromDer(std::span<const uint8_t> der) {
  if (der.size() > kMaxCrlSize) {
    return Error{ErrorCode::kLimitExceeded, "CRL too large"};
  }
  const unsigned char* p = der.data();
  internal::X509CrlRef crl(d2i_X509_CRL(nullptr, &p, static_cast<long>(der.size())));  // NOLINT
  if (!crl) {
    return internal::OpenSslError(ErrorCode::kX509ParseFailed, "not a DER CRL");
  }
  if (p != der.data() + der.size()) {
    return Error{ErrorCode::kX509ParseFailed, "trailing bytes after CRL"};
  }
  return Crl(std::move(crl), std::vector<uint8_t>(der.begin(), der.end()));
}

Result<Crl> Crl::FromPem(std::string_view pem) {
  if (pem.size() > 2 * kMaxCrlSize) {
    return Error{ErrorCode::kLimitExceeded, "CRL too large"};
  }
  internal::BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (bio == nullptr) {
    return internal::OpenSslError(ErrorCode::kCryptoLibraryFailure, "BIO_new_mem_buf");
  }
  internal::X509CrlRef crl(PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr));
  if (!crl) {
    return internal::OpenSslError(ErrorCode::kX509ParseFailed, "not a PEM CRL");
  }
  char* rest = nullptr;
  long rest_len = BIO_get_mem_data(bio.get(), &rest);  // NOLINT(runtime/int)
  if (rest_len > 0 && !OnlyWhitespace(std::string_view(rest, static_cast<size_t>(rest_len)))) {
    return Error{ErrorCode::kX509ParseFailed, "trailing data after PEM CRL"};
  }
  EML_ASSIGN_OR_RETURN(std::vector<uint8_t> der, EncodeCrlDer(crl.get()));
  if (der.size() > kMaxCrlSize) {
    return Error{ErrorCode::kLimitExceeded, "CRL too large"};
  }
  return Crl(std::move(crl), std::move(der));
}

std::string Crl::issuer() const { return NameToString(X509_CRL_get_issuer(crl_.get())); }

// AllowMissingKeyIdsCallback accepts only a missing authority or subject key identifier and
// leaves every other verdict as OpenSSL gave it.
namespace {
int AllowMissingKeyIdsCallback(int ok, X509_STORE_CTX* ctx) {
  const int error = X509_STORE_CTX_get_error(ctx);
  if (ok == 0 && (error == X509_V_ERR_MISSING_AUTHORITY_KEY_IDENTIFIER ||
                  error == X509_V_ERR_MISSING_SUBJECT_KEY_IDENTIFIER)) {
    X509_STORE_CTX_set_error(ctx, X509_V_OK);
    return 1;
  }
  return ok;
}
}  // namespace

Result<VerifiedChain> VerifyChain(const Certificate& leaf,
                                  std::span<const Certificate> intermediates,
                                  std::span<const Certificate> trusted_roots,
                                  const ChainOptions& options) {
  if (trusted_roots.empty()) {
    return Error{ErrorCode::kX509EmptyChain, "no trusted roots given"};
  }
  // A store with only the pinned roots: no default paths, no system store.
  internal::X509StorePtr store(X509_STORE_new());
  // sk_X509_free is a macro, so it gets a hand-written deleter; it frees only the stack.
  struct StackFree {
    void operator()(STACK_OF(X509) * stack) const { sk_X509_free(stack); }
  };
  using StackPtr = std::unique_ptr<STACK_OF(X509), StackFree>;
  StackPtr untrusted(sk_X509_new_null());
  internal::X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (store == nullptr || untrusted == nullptr || ctx == nullptr) {
    return internal::OpenSslError(ErrorCode::kCryptoLibraryFailure, "X509 store allocation");
  }
  for (const Certificate& root : trusted_roots) {
    if (X509_STORE_add_cert(store.get(), X509Access::Get(root)) != 1) {
      return internal::OpenSslError(ErrorCode::kCryptoLibraryFailure, "X509_STORE_add_cert");
    }
  }
  for (const Crl* crl : options.crls) {
    if (crl == nullptr || X509_STORE_add_crl(store.get(), X509Access::Get(*crl)) != 1) {
      return internal::OpenSslError(ErrorCode::kInvalidArgument, "X509_STORE_add_crl");
    }
  }
  for (const Certificate& cert : intermediates) {
    // The stack does not own its entries; the Certificates outlive this call.
    if (sk_X509_push(untrusted.get(), X509Access::Get(cert)) <= 0) {
      return internal::OpenSslError(ErrorCode::kCryptoLibraryFailure, "sk_X509_push");
    }
  }
  if (X509_STORE_CTX_init(ctx.get(), store.get(), X509Access::Get(leaf), untrusted.get()) != 1) {
    return internal::OpenSslError(ErrorCode::kCryptoLibraryFailure, "X509_STORE_CTX_init");
  }
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  // set_time also sets X509_V_FLAG_USE_CHECK_TIME: the clock is never read.
  X509_VERIFY_PARAM_set_time(param, static_cast<time_t>(options.verification_time_unix));
  unsigned long flags = X509_V_FLAG_X509_STRICT | X509_V_FLAG_USE_CHECK_TIME;  // NOLINT
  if (!options.crls.empty()) {
    flags |= X509_V_FLAG_CRL_CHECK;
    if (options.crl_scope == CrlScope::kWholeChain) {
      flags |= X509_V_FLAG_CRL_CHECK_ALL;
    }
  }
  if (X509_VERIFY_PARAM_set_flags(param, flags) != 1) {
    return internal::OpenSslError(ErrorCode::kCryptoLibraryFailure, "X509_VERIFY_PARAM");
  }
  if (options.allow_missing_key_identifiers) {
    X509_STORE_CTX_set_verify_cb(ctx.get(), AllowMissingKeyIdsCallback);
  }
  int rc = X509_verify_cert(ctx.get());
  if (rc != 1) {
    int error = X509_STORE_CTX_get_error(ctx.get());
    int depth = X509_STORE_CTX_get_error_depth(ctx.get());
    internal::ClearOpenSslErrors();
    std::string detail =
        std::string(X509_verify_cert_error_string(error)) + " at depth " + std::to_string(depth);
    return Error{MapVerifyError(error), std::move(detail)};
  }
  STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(ctx.get());
  std::vector<Certificate> path;
  for (int i = 0; i < sk_X509_num(chain); ++i) {
    X509* cert = sk_X509_value(chain, i);
    if (X509_up_ref(cert) != 1) {
      return internal::OpenSslError(ErrorCode::kCryptoLibraryFailure, "X509_up_ref");
    }
    internal::X509Ref ref(cert);
    EML_ASSIGN_OR_RETURN(std::vector<uint8_t> der, EncodeDer(ref.get()));
    path.push_back(X509Access::MakeCertificate(std::move(ref), std::move(der)));
  }
  if (path.empty()) {
    return Error{ErrorCode::kX509ChainInvalid, "OpenSSL returned an empty chain"};
  }
  return X509Access::MakeChain(std::move(path));
}

}  // namespace eml::crypto
