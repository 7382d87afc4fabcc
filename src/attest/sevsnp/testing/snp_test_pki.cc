#include "attest/sevsnp/testing/snp_test_pki.h"

#include <openssl/asn1.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <array>
#include <ctime>
#include <memory>
#include <mutex>
#include <span>

#include "attest/sevsnp/vcek.h"
#include "common/check.h"

namespace eml::attest::sevsnp::testing {
namespace {

template <typename T, void (*kFree)(T*)>
struct Free {
  void operator()(T* p) const { kFree(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Free<EVP_PKEY, EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Free<X509, X509_free>>;
using NamePtr = std::unique_ptr<X509_NAME, Free<X509_NAME, X509_NAME_free>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, Free<X509_EXTENSION, X509_EXTENSION_free>>;
using ObjPtr = std::unique_ptr<ASN1_OBJECT, Free<ASN1_OBJECT, ASN1_OBJECT_free>>;
using OctetPtr =
    std::unique_ptr<ASN1_OCTET_STRING, Free<ASN1_OCTET_STRING, ASN1_OCTET_STRING_free>>;
using IntPtr = std::unique_ptr<ASN1_INTEGER, Free<ASN1_INTEGER, ASN1_INTEGER_free>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, Free<EVP_MD_CTX, EVP_MD_CTX_free>>;

constexpr int kTestRsaBits = 2048;
constexpr int kMaxSlots = 4;
constexpr int kPssSaltBytes = 48;

// RsaKey returns the process-wide RSA key of `slot` (ARK slots 0..3, ASK slots 4..7).
EVP_PKEY* RsaKey(int slot) {
  static std::array<PkeyPtr, 2 * kMaxSlots> keys;
  static std::mutex mutex;
  EML_CHECK(slot >= 0 && slot < 2 * kMaxSlots);
  std::lock_guard<std::mutex> lock(mutex);
  PkeyPtr& key = keys[static_cast<size_t>(slot)];
  if (key == nullptr) {
    key.reset(EVP_RSA_gen(kTestRsaBits));
    EML_CHECK(key != nullptr);
  }
  return key.get();
}

NamePtr AmdName(const std::string& common_name) {
  NamePtr name(X509_NAME_new());
  EML_CHECK(name != nullptr);
  const std::pair<const char*, const char*> parts[] = {{"OU", "Engineering"},
                                                       {"C", "US"},
                                                       {"L", "Santa Clara"},
                                                       {"ST", "CA"},
                                                       {"O", "Advanced Micro Devices"},
                                                       {"CN", common_name.c_str()}};
  for (const auto& [field, value] : parts) {
    EML_CHECK(X509_NAME_add_entry_by_txt(name.get(), field, MBSTRING_ASC,
                                         reinterpret_cast<const unsigned char*>(value), -1, -1,
                                         0) == 1);
  }
  return name;
}

void AddConfExtension(X509* cert, X509V3_CTX* ctx, int nid, const char* value) {
  ExtPtr ext(X509V3_EXT_conf_nid(nullptr, ctx, nid, value));
  EML_CHECK(ext != nullptr);
  EML_CHECK(X509_add_ext(cert, ext.get(), -1) == 1);
}

void AddRawExtension(X509* cert, const char* oid, const std::vector<uint8_t>& value) {
  ObjPtr obj(OBJ_txt2obj(oid, 1));
  OctetPtr octets(ASN1_OCTET_STRING_new());
  EML_CHECK(obj != nullptr && octets != nullptr);
  EML_CHECK(ASN1_OCTET_STRING_set(octets.get(), value.data(), static_cast<int>(value.size())) == 1);
  ExtPtr ext(X509_EXTENSION_create_by_OBJ(nullptr, obj.get(), 0, octets.get()));
  EML_CHECK(ext != nullptr);
  EML_CHECK(X509_add_ext(cert, ext.get(), -1) == 1);
}

std::vector<uint8_t> DerInteger(uint8_t value) {
  if (value < 0x80) {
    return {0x02, 0x01, value};
  }
  return {0x02, 0x02, 0x00, value};
}

// SignPss signs `cert` with RSASSA-PSS SHA-384, MGF1 SHA-384, salt 48.
void SignPss(X509* cert, EVP_PKEY* issuer_key) {
  MdCtxPtr md(EVP_MD_CTX_new());
  EML_CHECK(md != nullptr);
  EVP_PKEY_CTX* pctx = nullptr;
  EML_CHECK(EVP_DigestSignInit(md.get(), &pctx, EVP_sha384(), nullptr, issuer_key) == 1);
  EML_CHECK(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1);
  EML_CHECK(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, kPssSaltBytes) == 1);
  EML_CHECK(EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha384()) == 1);
  EML_CHECK(X509_sign_ctx(cert, md.get()) > 0);
}

struct CertParams {
  std::string subject_cn;
  const X509* issuer = nullptr;  // nullptr: self-signed
  EVP_PKEY* subject_key = nullptr;
  EVP_PKEY* issuer_key = nullptr;
  int64_t not_before_unix = 0;
  int64_t not_after_unix = 0;
  bool is_ca = false;
  uint64_t serial = 1;
};

X509Ptr NewCert(const CertParams& p) {
  X509Ptr cert(X509_new());
  EML_CHECK(cert != nullptr);
  EML_CHECK(X509_set_version(cert.get(), X509_VERSION_3) == 1);
  IntPtr serial(ASN1_INTEGER_new());
  EML_CHECK(ASN1_INTEGER_set_uint64(serial.get(), p.serial) == 1);
  EML_CHECK(X509_set_serialNumber(cert.get(), serial.get()) == 1);
  NamePtr name = AmdName(p.subject_cn);
  EML_CHECK(X509_set_subject_name(cert.get(), name.get()) == 1);
  EML_CHECK(X509_set_issuer_name(cert.get(), p.issuer != nullptr ? X509_get_subject_name(p.issuer)
                                                                 : name.get()) == 1);
  EML_CHECK(ASN1_TIME_set(X509_getm_notBefore(cert.get()), static_cast<time_t>(p.not_before_unix)));
  EML_CHECK(ASN1_TIME_set(X509_getm_notAfter(cert.get()), static_cast<time_t>(p.not_after_unix)));
  EML_CHECK(X509_set_pubkey(cert.get(), p.subject_key) == 1);
  if (p.is_ca) {
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, p.issuer != nullptr ? const_cast<X509*>(p.issuer) : cert.get(), cert.get(),
                   nullptr, nullptr, 0);
    AddConfExtension(cert.get(), &ctx, NID_basic_constraints,
                     p.issuer != nullptr ? "critical,CA:TRUE,pathlen:0" : "critical,CA:TRUE");
    AddConfExtension(cert.get(), &ctx, NID_key_usage, "critical,keyCertSign,cRLSign");
    AddConfExtension(cert.get(), &ctx, NID_subject_key_identifier, "hash");
    AddConfExtension(cert.get(), &ctx, NID_authority_key_identifier, "keyid:always");
  }
  return cert;
}

crypto::Certificate ToCertificate(X509* cert) {
  const int len = i2d_X509(cert, nullptr);
  EML_CHECK(len > 0);
  std::vector<uint8_t> der(static_cast<size_t>(len));
  unsigned char* out = der.data();
  EML_CHECK(i2d_X509(cert, &out) == len);
  Result<crypto::Certificate> parsed = crypto::Certificate::FromDer(der);
  EML_CHECK(parsed.has_value());
  return std::move(*parsed);
}

PkeyPtr PublicKeyOf(const crypto::EcdsaPrivateKey& key) {
  const std::vector<uint8_t> spki = key.public_key().SpkiDer();
  const unsigned char* p = spki.data();
  PkeyPtr pkey(d2i_PUBKEY(nullptr, &p, static_cast<long>(spki.size())));  // NOLINT
  EML_CHECK(pkey != nullptr);
  return pkey;
}

}  // namespace

TestSnpPki TestSnpPki::Create(const TestPkiSpec& spec) {
  EML_CHECK(spec.ark_key_slot >= 0 && spec.ark_key_slot < kMaxSlots);
  EVP_PKEY* ark_key = RsaKey(spec.ark_key_slot);
  EVP_PKEY* ask_key = RsaKey(kMaxSlots + spec.ark_key_slot);
  X509Ptr ark = NewCert({"ARK-" + spec.product, nullptr, ark_key, ark_key, spec.not_before_unix,
                         spec.not_after_unix, true, 0x10000});
  SignPss(ark.get(), ark_key);
  const std::string ask_cn = (spec.vlek ? "SEV-VLEK-" : "SEV-") + spec.product;
  X509Ptr ask = NewCert({ask_cn, ark.get(), ask_key, ark_key, spec.not_before_unix,
                         spec.not_after_unix, true, 0x10001});
  SignPss(ask.get(), ark_key);

  Result<crypto::EcdsaPrivateKey> key =
      crypto::EcdsaPrivateKey::Generate(crypto::EcdsaCurve::kP384);
  EML_CHECK(key.has_value());
  PkeyPtr public_key = PublicKeyOf(*key);
  X509Ptr leaf = NewCert({spec.vlek ? "SEV-VLEK" : "SEV-VCEK", ask.get(), public_key.get(), ask_key,
                          spec.not_before_unix, spec.vcek_not_after_unix, false, 0});
  AddRawExtension(leaf.get(), "1.3.6.1.4.1.3704.1.1", DerInteger(1));
  std::vector<uint8_t> product_name = {0x16, static_cast<uint8_t>(spec.product_name.size())};
  product_name.insert(product_name.end(), spec.product_name.begin(), spec.product_name.end());
  AddRawExtension(leaf.get(), kOidProductName, product_name);
  if (!spec.omit_bl_spl) {
    AddRawExtension(leaf.get(), kOidBlSpl, DerInteger(spec.tcb.bootloader));
  }
  AddRawExtension(leaf.get(), kOidTeeSpl, DerInteger(spec.tcb.tee));
  AddRawExtension(leaf.get(), kOidSnpSpl, DerInteger(spec.tcb.snp));
  AddRawExtension(leaf.get(), kOidUcodeSpl, DerInteger(spec.tcb.microcode));
  if (spec.tcb_product == Product::kTurin) {
    AddRawExtension(leaf.get(), kOidFmcSpl, DerInteger(spec.tcb.fmc));
  }
  if (!spec.vlek) {
    AddRawExtension(leaf.get(), kOidHwId, spec.hwid);
  }
  SignPss(leaf.get(), ask_key);
  return TestSnpPki(ToCertificate(ark.get()), ToCertificate(ask.get()), ToCertificate(leaf.get()),
                    std::move(*key));
}

std::vector<uint8_t> TestSnpPki::SignReport(AttestationReport report) const {
  report.signature_r = {};
  report.signature_s = {};
  const std::vector<uint8_t> unsigned_bytes = SerializeReport(report);
  Result<std::vector<uint8_t>> r_s =
      key_.SignRaw(std::span<const uint8_t>(unsigned_bytes).first(kSignedSize));
  EML_CHECK(r_s.has_value() && r_s->size() == 96);
  const std::span<const uint8_t> sig(*r_s);
  // Big-endian r || s -> little-endian 72-byte fields.
  for (size_t i = 0; i < 48; ++i) {
    report.signature_r[i] = sig[47 - i];
    report.signature_s[i] = sig[95 - i];
  }
  return SerializeReport(report);
}

AttestationReport BaseReport(const TestPkiSpec& spec) {
  AttestationReport r;
  r.version = 2;
  r.guest_svn = 1;
  r.policy = kPolicySmt | kPolicyReservedOne;
  r.vmpl = 0;
  r.signature_algo = kSignatureAlgoEcdsaP384Sha384;
  const uint64_t tcb = EncodeTcb(spec.tcb, spec.tcb_product);
  r.current_tcb = tcb;
  r.reported_tcb = tcb;
  r.committed_tcb = tcb;
  r.launch_tcb = tcb;
  r.platform_info = 0x1;
  r.signing_key = spec.vlek ? kSigningKeyVlek : kSigningKeyVcek;
  r.report_data.fill(0x5A);
  r.measurement.fill(0xA1);
  r.host_data.fill(0xB2);
  r.report_id.fill(0xC3);
  for (size_t i = 0; i < r.chip_id.size() && i < spec.hwid.size(); ++i) {
    r.chip_id[i] = spec.hwid[i];
  }
  r.current_major = 1;
  r.current_minor = 55;
  r.current_build = 21;
  r.committed_major = 1;
  r.committed_minor = 55;
  r.committed_build = 21;
  return r;
}

}  // namespace eml::attest::sevsnp::testing
