#include "crypto/testing/test_pki.h"

#include <openssl/asn1.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <memory>

#include "common/check.h"
#include "common/encoding.h"
#include "crypto/internal/openssl_util.h"

namespace eml::crypto::testing {
namespace {

using internal::Deleter;
using AsnIntegerPtr = std::unique_ptr<ASN1_INTEGER, Deleter<ASN1_INTEGER, ASN1_INTEGER_free>>;
using AsnObjectPtr = std::unique_ptr<ASN1_OBJECT, Deleter<ASN1_OBJECT, ASN1_OBJECT_free>>;
using AsnOctetPtr =
    std::unique_ptr<ASN1_OCTET_STRING, Deleter<ASN1_OCTET_STRING, ASN1_OCTET_STRING_free>>;
using AsnTimePtr = std::unique_ptr<ASN1_TIME, Deleter<ASN1_TIME, ASN1_TIME_free>>;
using ExtensionPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION, X509_EXTENSION_free>>;
using NamePtr = std::unique_ptr<X509_NAME, Deleter<X509_NAME, X509_NAME_free>>;

internal::X509Ptr ParseDer(const std::vector<uint8_t>& der) {
  const unsigned char* p = der.data();
  internal::X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));  // NOLINT
  EML_CHECK(cert != nullptr);
  return cert;
}

void AddExtension(X509* cert, X509V3_CTX* ctx, int nid, const char* value) {
  ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, ctx, nid, value));
  EML_CHECK(ext != nullptr);
  EML_CHECK(X509_add_ext(cert, ext.get(), -1) == 1);
}

void SetTime(ASN1_TIME* field, int64_t unix_time) {
  EML_CHECK(ASN1_TIME_set(field, static_cast<time_t>(unix_time)) != nullptr);
}

std::vector<uint8_t> ToDer(X509* cert) {
  int len = i2d_X509(cert, nullptr);
  EML_CHECK(len > 0);
  std::vector<uint8_t> der(static_cast<size_t>(len));
  unsigned char* p = der.data();
  EML_CHECK(i2d_X509(cert, &p) == len);
  return der;
}

}  // namespace

TestKey TestKey::GenerateP384() {
  EVP_PKEY* pkey = EVP_EC_gen("secp384r1");
  EML_CHECK(pkey != nullptr);
  return TestKey(internal::PkeyRef(pkey));
}

std::vector<uint8_t> IssueCertificate(const CertSpec& spec, const TestKey& subject_key,
                                      const TestKey& issuer_key,
                                      const std::vector<uint8_t>& issuer_der) {
  internal::X509Ptr cert(X509_new());
  EML_CHECK(cert != nullptr);
  EML_CHECK(X509_set_version(cert.get(), X509_VERSION_3) == 1);
  AsnIntegerPtr serial(ASN1_INTEGER_new());
  EML_CHECK(ASN1_INTEGER_set_uint64(serial.get(), spec.serial) == 1);
  EML_CHECK(X509_set_serialNumber(cert.get(), serial.get()) == 1);
  NamePtr name(X509_NAME_new());
  EML_CHECK(X509_NAME_add_entry_by_txt(name.get(), "O", MBSTRING_ASC,
                                       AsBytes("EphemeralML Test").data(), -1, -1, 0) == 1);
  EML_CHECK(X509_NAME_add_entry_by_txt(name.get(), "CN", MBSTRING_ASC,
                                       AsBytes(spec.common_name).data(), -1, -1, 0) == 1);
  EML_CHECK(X509_set_subject_name(cert.get(), name.get()) == 1);
  internal::X509Ptr issuer_cert;
  if (issuer_der.empty()) {
    EML_CHECK(X509_set_issuer_name(cert.get(), name.get()) == 1);
  } else {
    issuer_cert = ParseDer(issuer_der);
    EML_CHECK(X509_set_issuer_name(cert.get(), X509_get_subject_name(issuer_cert.get())) == 1);
  }
  SetTime(X509_getm_notBefore(cert.get()), spec.not_before_unix);
  SetTime(X509_getm_notAfter(cert.get()), spec.not_after_unix);
  EML_CHECK(X509_set_pubkey(cert.get(), subject_key.get()) == 1);

  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer_cert != nullptr ? issuer_cert.get() : cert.get(), cert.get(), nullptr,
                 nullptr, 0);
  if (spec.is_ca) {
    AddExtension(cert.get(), &ctx, NID_basic_constraints, "critical,CA:TRUE");
    AddExtension(cert.get(), &ctx, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    AddExtension(cert.get(), &ctx, NID_basic_constraints, "critical,CA:FALSE");
    AddExtension(cert.get(), &ctx, NID_key_usage, "critical,digitalSignature");
  }
  AddExtension(cert.get(), &ctx, NID_subject_key_identifier, "hash");
  AddExtension(cert.get(), &ctx, NID_authority_key_identifier, "keyid:always");
  if (spec.unknown_critical_extension) {
    AsnObjectPtr oid(OBJ_txt2obj("1.3.6.1.4.1.55555.1.1", 1));
    AsnOctetPtr value(ASN1_OCTET_STRING_new());
    static const unsigned char kDerNull[] = {0x05, 0x00};
    EML_CHECK(oid != nullptr && value != nullptr);
    EML_CHECK(ASN1_OCTET_STRING_set(value.get(), kDerNull, sizeof(kDerNull)) == 1);
    ExtensionPtr ext(X509_EXTENSION_create_by_OBJ(nullptr, oid.get(), 1, value.get()));
    EML_CHECK(ext != nullptr);
    EML_CHECK(X509_add_ext(cert.get(), ext.get(), -1) == 1);
  }
  EML_CHECK(X509_sign(cert.get(), issuer_key.get(), EVP_sha384()) > 0);
  return ToDer(cert.get());
}

std::vector<uint8_t> IssueCrl(const TestKey& issuer_key, const std::vector<uint8_t>& issuer_der,
                              int64_t this_update_unix, int64_t next_update_unix,
                              const std::vector<uint64_t>& revoked_serials) {
  internal::X509Ptr issuer = ParseDer(issuer_der);
  internal::X509CrlPtr crl(X509_CRL_new());
  EML_CHECK(crl != nullptr);
  EML_CHECK(X509_CRL_set_version(crl.get(), X509_CRL_VERSION_2) == 1);
  EML_CHECK(X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(issuer.get())) == 1);
  AsnTimePtr this_update(ASN1_TIME_set(nullptr, static_cast<time_t>(this_update_unix)));
  AsnTimePtr next_update(ASN1_TIME_set(nullptr, static_cast<time_t>(next_update_unix)));
  EML_CHECK(X509_CRL_set1_lastUpdate(crl.get(), this_update.get()) == 1);
  EML_CHECK(X509_CRL_set1_nextUpdate(crl.get(), next_update.get()) == 1);
  for (uint64_t serial_value : revoked_serials) {
    X509_REVOKED* revoked = X509_REVOKED_new();
    AsnIntegerPtr serial(ASN1_INTEGER_new());
    EML_CHECK(revoked != nullptr && serial != nullptr);
    EML_CHECK(ASN1_INTEGER_set_uint64(serial.get(), serial_value) == 1);
    EML_CHECK(X509_REVOKED_set_serialNumber(revoked, serial.get()) == 1);
    EML_CHECK(X509_REVOKED_set_revocationDate(revoked, this_update.get()) == 1);
    EML_CHECK(X509_CRL_add0_revoked(crl.get(), revoked) == 1);  // Takes ownership.
  }
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer.get(), nullptr, nullptr, crl.get(), 0);
  ExtensionPtr akid(
      X509V3_EXT_conf_nid(nullptr, &ctx, NID_authority_key_identifier, "keyid:always"));
  EML_CHECK(akid != nullptr && X509_CRL_add_ext(crl.get(), akid.get(), -1) == 1);
  AsnIntegerPtr number(ASN1_INTEGER_new());
  EML_CHECK(number != nullptr && ASN1_INTEGER_set_uint64(number.get(), 1) == 1);
  EML_CHECK(X509_CRL_add1_ext_i2d(crl.get(), NID_crl_number, number.get(), 0, 0) == 1);
  EML_CHECK(X509_CRL_sort(crl.get()) == 1);
  EML_CHECK(X509_CRL_sign(crl.get(), issuer_key.get(), EVP_sha384()) > 0);
  int len = i2d_X509_CRL(crl.get(), nullptr);
  EML_CHECK(len > 0);
  std::vector<uint8_t> der(static_cast<size_t>(len));
  unsigned char* p = der.data();
  EML_CHECK(i2d_X509_CRL(crl.get(), &p) == len);
  return der;
}

std::vector<uint8_t> GenerateRsaPkcs8ForTest(int bits) {
  EVP_PKEY* raw = EVP_RSA_gen(static_cast<unsigned int>(bits));
  EML_CHECK(raw != nullptr);
  internal::EvpPkeyPtr pkey(raw);
  internal::Pkcs8Ptr info(EVP_PKEY2PKCS8(pkey.get()));
  EML_CHECK(info != nullptr);
  int len = i2d_PKCS8_PRIV_KEY_INFO(info.get(), nullptr);
  EML_CHECK(len > 0);
  std::vector<uint8_t> der(static_cast<size_t>(len));
  unsigned char* p = der.data();
  EML_CHECK(i2d_PKCS8_PRIV_KEY_INFO(info.get(), &p) == len);
  return der;
}

}  // namespace eml::crypto::testing
