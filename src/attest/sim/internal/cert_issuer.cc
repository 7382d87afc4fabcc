#include "attest/sim/internal/cert_issuer.h"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <memory>
#include <string_view>

#include "common/encoding.h"
#include "common/secret_bytes.h"

namespace eml::attest::sim::internal {
namespace {

template <typename T, void (*kFree)(T*)>
struct Free {
  void operator()(T* p) const { kFree(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Free<EVP_PKEY, EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Free<X509, X509_free>>;
using BignumPtr = std::unique_ptr<BIGNUM, Free<BIGNUM, BN_free>>;
using NamePtr = std::unique_ptr<X509_NAME, Free<X509_NAME, X509_NAME_free>>;
using ExtensionPtr = std::unique_ptr<X509_EXTENSION, Free<X509_EXTENSION, X509_EXTENSION_free>>;

Error LibraryFailure(const char* what) {
  ERR_clear_error();
  return Error{ErrorCode::kCryptoLibraryFailure, std::string("certificate issuance: ") + what};
}

Result<PkeyPtr> PublicPkey(const crypto::EcdsaPublicKey& key) {
  std::vector<uint8_t> spki = key.SpkiDer();
  const unsigned char* p = spki.data();
  PkeyPtr pkey(d2i_PUBKEY(nullptr, &p, static_cast<long>(spki.size())));  // NOLINT(runtime/int)
  if (pkey == nullptr) {
    return LibraryFailure("d2i_PUBKEY");
  }
  return pkey;
}

Result<PkeyPtr> PrivatePkey(const crypto::EcdsaPrivateKey& key) {
  SecretBytes pkcs8 = key.ToPkcs8Der();
  std::span<const uint8_t> bytes = pkcs8.Reveal(InsecureSecretAccess::Get());
  const unsigned char* p = bytes.data();
  PkeyPtr pkey(d2i_AutoPrivateKey(nullptr, &p, static_cast<long>(bytes.size())));  // NOLINT
  if (pkey == nullptr) {
    return LibraryFailure("d2i_AutoPrivateKey");
  }
  return pkey;
}

Status AddExtension(X509* cert, X509V3_CTX* ctx, int nid, const char* value) {
  ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, ctx, nid, value));
  if (ext == nullptr || X509_add_ext(cert, ext.get(), -1) != 1) {
    return LibraryFailure("X509_add_ext");
  }
  return OkStatus();
}

Status SetNames(X509* cert, const CertRequest& request, X509* issuer) {
  NamePtr name(X509_NAME_new());
  constexpr std::string_view kOrganization = "EphemeralML";
  if (name == nullptr ||
      X509_NAME_add_entry_by_txt(name.get(), "O", MBSTRING_ASC, AsBytes(kOrganization).data(),
                                 static_cast<int>(kOrganization.size()), -1, 0) != 1 ||
      X509_NAME_add_entry_by_txt(name.get(), "CN", MBSTRING_UTF8,
                                 AsBytes(request.common_name).data(),
                                 static_cast<int>(request.common_name.size()), -1, 0) != 1 ||
      X509_set_subject_name(cert, name.get()) != 1) {
    return LibraryFailure("subject name");
  }
  X509_NAME* issuer_name = issuer != nullptr ? X509_get_subject_name(issuer) : name.get();
  if (X509_set_issuer_name(cert, issuer_name) != 1) {
    return LibraryFailure("issuer name");
  }
  return OkStatus();
}

Status SetSerialAndValidity(X509* cert, const CertRequest& request) {
  if (request.serial.empty() || request.serial.size() > 20) {
    return Error{ErrorCode::kInvalidArgument, "serial must be 1..20 bytes"};
  }
  std::vector<uint8_t> serial = request.serial;
  serial[0] &= 0x7f;  // positive
  BignumPtr bn(BN_bin2bn(serial.data(), static_cast<int>(serial.size()), nullptr));
  if (bn == nullptr || BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert)) == nullptr) {
    return LibraryFailure("serial");
  }
  if (ASN1_TIME_set(X509_getm_notBefore(cert), static_cast<time_t>(request.not_before_unix)) ==
          nullptr ||
      ASN1_TIME_set(X509_getm_notAfter(cert), static_cast<time_t>(request.not_after_unix)) ==
          nullptr) {
    return LibraryFailure("validity");
  }
  return OkStatus();
}

}  // namespace

Result<std::vector<uint8_t>> IssueCertificate(const CertRequest& request,
                                              const crypto::EcdsaPublicKey& subject,
                                              const crypto::EcdsaPrivateKey& issuer_key,
                                              std::span<const uint8_t> issuer_der) {
  X509Ptr issuer;
  if (!issuer_der.empty()) {
    const unsigned char* p = issuer_der.data();
    issuer.reset(d2i_X509(nullptr, &p, static_cast<long>(issuer_der.size())));  // NOLINT
    if (issuer == nullptr) {
      ERR_clear_error();
      return Error{ErrorCode::kInvalidArgument, "issuer certificate does not parse"};
    }
  }
  EML_ASSIGN_OR_RETURN(PkeyPtr subject_pkey, PublicPkey(subject));
  EML_ASSIGN_OR_RETURN(PkeyPtr issuer_pkey, PrivatePkey(issuer_key));
  X509Ptr cert(X509_new());
  if (cert == nullptr || X509_set_version(cert.get(), X509_VERSION_3) != 1) {
    return LibraryFailure("X509_new");
  }
  EML_RETURN_IF_ERROR(SetSerialAndValidity(cert.get(), request));
  EML_RETURN_IF_ERROR(SetNames(cert.get(), request, issuer.get()));
  if (X509_set_pubkey(cert.get(), subject_pkey.get()) != 1) {
    return LibraryFailure("X509_set_pubkey");
  }
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer != nullptr ? issuer.get() : cert.get(), cert.get(), nullptr, nullptr,
                 0);
  if (request.is_ca) {
    EML_RETURN_IF_ERROR(
        AddExtension(cert.get(), &ctx, NID_basic_constraints, "critical,CA:TRUE,pathlen:0"));
    EML_RETURN_IF_ERROR(
        AddExtension(cert.get(), &ctx, NID_key_usage, "critical,keyCertSign,cRLSign"));
  } else {
    EML_RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_basic_constraints, "critical,CA:FALSE"));
    EML_RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_key_usage, "critical,digitalSignature"));
  }
  EML_RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_subject_key_identifier, "hash"));
  EML_RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_authority_key_identifier, "keyid:always"));
  if (X509_sign(cert.get(), issuer_pkey.get(), EVP_sha384()) <= 0) {
    return LibraryFailure("X509_sign");
  }
  int len = i2d_X509(cert.get(), nullptr);
  if (len <= 0) {
    return LibraryFailure("i2d_X509");
  }
  std::vector<uint8_t> der(static_cast<size_t>(len));
  unsigned char* out = der.data();
  if (i2d_X509(cert.get(), &out) != len) {
    return LibraryFailure("i2d_X509");
  }
  return der;
}

}  // namespace eml::attest::sim::internal
