#include "attest/tdx/testing/tdx_test_pki.h"

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>

#include "attest/tdx/quote.h"
#include "common/check.h"
#include "common/encoding.h"
#include "common/secret_bytes.h"
#include "crypto/hash.h"

namespace eml::attest::tdx::testing {
namespace {

template <typename T, void (*kFree)(T*)>
struct Free {
  void operator()(T* p) const { kFree(p); }
};
using X509Ptr = std::unique_ptr<X509, Free<X509, X509_free>>;
using CrlPtr = std::unique_ptr<X509_CRL, Free<X509_CRL, X509_CRL_free>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, Free<EVP_PKEY, EVP_PKEY_free>>;
using NamePtr = std::unique_ptr<X509_NAME, Free<X509_NAME, X509_NAME_free>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, Free<X509_EXTENSION, X509_EXTENSION_free>>;
using IntPtr = std::unique_ptr<ASN1_INTEGER, Free<ASN1_INTEGER, ASN1_INTEGER_free>>;
using TimePtr = std::unique_ptr<ASN1_TIME, Free<ASN1_TIME, ASN1_TIME_free>>;
using OidPtr = std::unique_ptr<ASN1_OBJECT, Free<ASN1_OBJECT, ASN1_OBJECT_free>>;
using OctetPtr =
    std::unique_ptr<ASN1_OCTET_STRING, Free<ASN1_OCTET_STRING, ASN1_OCTET_STRING_free>>;

struct Key {
  crypto::EcdsaPrivateKey ecdsa;
  PkeyPtr pkey;
};

Key NewKey() {
  Result<crypto::EcdsaPrivateKey> key =
      crypto::EcdsaPrivateKey::Generate(crypto::EcdsaCurve::kP256);
  EML_CHECK(key.has_value());
  SecretBytes pkcs8 = key->ToPkcs8Der();
  std::span<const uint8_t> der = pkcs8.Reveal(InsecureSecretAccess::Get());
  const unsigned char* p = der.data();
  PkeyPtr pkey(d2i_AutoPrivateKey(nullptr, &p, static_cast<long>(der.size())));
  EML_CHECK(pkey != nullptr);
  return Key{std::move(*key), std::move(pkey)};
}

X509Ptr ParseDer(const std::vector<uint8_t>& der) {
  const unsigned char* p = der.data();
  X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  EML_CHECK(cert != nullptr);
  return cert;
}

void AddExt(X509* cert, X509V3_CTX* ctx, int nid, const char* value) {
  ExtPtr ext(X509V3_EXT_conf_nid(nullptr, ctx, nid, value));
  EML_CHECK(ext != nullptr);
  EML_CHECK(X509_add_ext(cert, ext.get(), -1) == 1);
}

// DER helpers for the SGX extension.
std::vector<uint8_t> Tlv(uint8_t tag, const std::vector<uint8_t>& content) {
  std::vector<uint8_t> out = {tag};
  EML_CHECK(content.size() < 0x10000);
  if (content.size() < 0x80) {
    out.push_back(static_cast<uint8_t>(content.size()));
  } else if (content.size() < 0x100) {
    out.push_back(0x81);
    out.push_back(static_cast<uint8_t>(content.size()));
  } else {
    out.push_back(0x82);
    out.push_back(static_cast<uint8_t>(content.size() >> 8));
    out.push_back(static_cast<uint8_t>(content.size()));
  }
  out.insert(out.end(), content.begin(), content.end());
  return out;
}
std::vector<uint8_t> Cat(std::initializer_list<std::vector<uint8_t>> parts) {
  std::vector<uint8_t> out;
  for (const auto& part : parts) {
    out.insert(out.end(), part.begin(), part.end());
  }
  return out;
}
std::vector<uint8_t> SgxOid(std::initializer_list<uint8_t> arcs) {
  std::vector<uint8_t> oid = {0x2A, 0x86, 0x48, 0x86, 0xF8, 0x4D, 0x01, 0x0D, 0x01};
  oid.insert(oid.end(), arcs.begin(), arcs.end());
  return Tlv(0x06, oid);
}
std::vector<uint8_t> Integer(uint32_t value) {
  std::vector<uint8_t> bytes;
  do {
    bytes.insert(bytes.begin(), static_cast<uint8_t>(value & 0xFF));
    value >>= 8;
  } while (value != 0);
  if ((bytes[0] & 0x80) != 0) {
    bytes.insert(bytes.begin(), 0);
  }
  return Tlv(0x02, bytes);
}

std::vector<uint8_t> SgxExtensionDer(const PckSpec& spec) {
  std::vector<uint8_t> tcb;
  for (uint8_t i = 0; i < 16; ++i) {
    tcb =
        Cat({tcb,
             Tlv(0x30, Cat({SgxOid({2, static_cast<uint8_t>(i + 1)}), Integer(spec.sgx_svn[i])}))});
  }
  tcb = Cat({tcb, Tlv(0x30, Cat({SgxOid({2, 17}), Integer(spec.pce_svn)}))});
  tcb =
      Cat({tcb,
           Tlv(0x30, Cat({SgxOid({2, 18}), Tlv(0x04, std::vector<uint8_t>(spec.sgx_svn.begin(),
                                                                          spec.sgx_svn.end()))}))});
  return Tlv(0x30,
             Cat({Tlv(0x30, Cat({SgxOid({1}), Tlv(0x04, std::vector<uint8_t>(16, 0x11))})),
                  Tlv(0x30, Cat({SgxOid({2}), Tlv(0x30, tcb)})),
                  Tlv(0x30, Cat({SgxOid({3}), Tlv(0x04, std::vector<uint8_t>(spec.pce_id.begin(),
                                                                             spec.pce_id.end()))})),
                  Tlv(0x30, Cat({SgxOid({4}), Tlv(0x04, std::vector<uint8_t>(spec.fmspc.begin(),
                                                                             spec.fmspc.end()))})),
                  Tlv(0x30, Cat({SgxOid({5}), Tlv(0x0A, {0x00})}))}));
}

struct CertParams {
  const char* common_name;
  uint64_t serial;
  int64_t not_before;
  int64_t not_after;
  bool is_ca;
  const PckSpec* sgx = nullptr;
};

std::vector<uint8_t> Issue(const CertParams& params, const Key& subject, const Key& issuer,
                           const std::vector<uint8_t>& issuer_der) {
  X509Ptr cert(X509_new());
  EML_CHECK(X509_set_version(cert.get(), X509_VERSION_3) == 1);
  IntPtr serial(ASN1_INTEGER_new());
  EML_CHECK(ASN1_INTEGER_set_uint64(serial.get(), params.serial) == 1);
  EML_CHECK(X509_set_serialNumber(cert.get(), serial.get()) == 1);
  NamePtr name(X509_NAME_new());
  EML_CHECK(X509_NAME_add_entry_by_txt(name.get(), "CN", MBSTRING_ASC,
                                       AsBytes(params.common_name).data(), -1, -1, 0) == 1);
  EML_CHECK(X509_set_subject_name(cert.get(), name.get()) == 1);
  X509Ptr issuer_cert;
  if (issuer_der.empty()) {
    EML_CHECK(X509_set_issuer_name(cert.get(), name.get()) == 1);
  } else {
    issuer_cert = ParseDer(issuer_der);
    EML_CHECK(X509_set_issuer_name(cert.get(), X509_get_subject_name(issuer_cert.get())) == 1);
  }
  EML_CHECK(ASN1_TIME_set(X509_getm_notBefore(cert.get()), static_cast<time_t>(params.not_before)));
  EML_CHECK(ASN1_TIME_set(X509_getm_notAfter(cert.get()), static_cast<time_t>(params.not_after)));
  EML_CHECK(X509_set_pubkey(cert.get(), subject.pkey.get()) == 1);
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer_cert != nullptr ? issuer_cert.get() : cert.get(), cert.get(), nullptr,
                 nullptr, 0);
  AddExt(cert.get(), &ctx, NID_basic_constraints,
         params.is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
  AddExt(
      cert.get(), &ctx, NID_key_usage,
      params.is_ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature,nonRepudiation");
  AddExt(cert.get(), &ctx, NID_subject_key_identifier, "hash");
  AddExt(cert.get(), &ctx, NID_authority_key_identifier, "keyid:always");
  if (params.sgx != nullptr) {
    std::vector<uint8_t> value = SgxExtensionDer(*params.sgx);
    OidPtr oid(OBJ_txt2obj("1.2.840.113741.1.13.1", 1));
    OctetPtr octets(ASN1_OCTET_STRING_new());
    EML_CHECK(ASN1_OCTET_STRING_set(octets.get(), value.data(), static_cast<int>(value.size())));
    ExtPtr ext(X509_EXTENSION_create_by_OBJ(nullptr, oid.get(), 0, octets.get()));
    EML_CHECK(ext != nullptr && X509_add_ext(cert.get(), ext.get(), -1) == 1);
  }
  EML_CHECK(X509_sign(cert.get(), issuer.pkey.get(), EVP_sha256()) > 0);
  int len = i2d_X509(cert.get(), nullptr);
  std::vector<uint8_t> der(static_cast<size_t>(len));
  unsigned char* p = der.data();
  EML_CHECK(i2d_X509(cert.get(), &p) == len);
  return der;
}

std::vector<uint8_t> MakeCrl(const Key& issuer_key, const std::vector<uint8_t>& issuer_der,
                             int64_t this_update, int64_t next_update,
                             const std::vector<uint64_t>& revoked_serials) {
  X509Ptr issuer = ParseDer(issuer_der);
  CrlPtr crl(X509_CRL_new());
  EML_CHECK(X509_CRL_set_version(crl.get(), X509_CRL_VERSION_2) == 1);
  EML_CHECK(X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(issuer.get())) == 1);
  TimePtr this_time(ASN1_TIME_set(nullptr, static_cast<time_t>(this_update)));
  TimePtr next_time(ASN1_TIME_set(nullptr, static_cast<time_t>(next_update)));
  EML_CHECK(X509_CRL_set1_lastUpdate(crl.get(), this_time.get()) == 1);
  EML_CHECK(X509_CRL_set1_nextUpdate(crl.get(), next_time.get()) == 1);
  for (uint64_t value : revoked_serials) {
    X509_REVOKED* revoked = X509_REVOKED_new();
    IntPtr serial(ASN1_INTEGER_new());
    EML_CHECK(ASN1_INTEGER_set_uint64(serial.get(), value) == 1);
    EML_CHECK(X509_REVOKED_set_serialNumber(revoked, serial.get()) == 1);
    EML_CHECK(X509_REVOKED_set_revocationDate(revoked, this_time.get()) == 1);
    EML_CHECK(X509_CRL_add0_revoked(crl.get(), revoked) == 1);
  }
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer.get(), nullptr, nullptr, crl.get(), 0);
  ExtPtr akid(X509V3_EXT_conf_nid(nullptr, &ctx, NID_authority_key_identifier, "keyid:always"));
  EML_CHECK(akid != nullptr && X509_CRL_add_ext(crl.get(), akid.get(), -1) == 1);
  EML_CHECK(X509_CRL_sort(crl.get()) == 1);
  EML_CHECK(X509_CRL_sign(crl.get(), issuer_key.pkey.get(), EVP_sha256()) > 0);
  int len = i2d_X509_CRL(crl.get(), nullptr);
  std::vector<uint8_t> der(static_cast<size_t>(len));
  unsigned char* p = der.data();
  EML_CHECK(i2d_X509_CRL(crl.get(), &p) == len);
  return der;
}

void PutU16(std::vector<uint8_t>& out, size_t v) {
  out.push_back(static_cast<uint8_t>(v));
  out.push_back(static_cast<uint8_t>(v >> 8));
}
void PutU32(std::vector<uint8_t>& out, size_t v) {
  for (int i = 0; i < 4; ++i) {
    out.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
}
void Put(std::vector<uint8_t>& out, std::span<const uint8_t> bytes) {
  out.insert(out.end(), bytes.begin(), bytes.end());
}

}  // namespace

struct TestPki::Keys {
  Key root;
  Key platform;
  Key leaf;
  Key tcb;
};

TestPki TestPki::Create(const PkiSpec& spec) {
  TestPki pki;
  pki.keys_ = std::make_shared<Keys>(Keys{NewKey(), NewKey(), NewKey(), NewKey()});
  const Keys& k = *pki.keys_;
  pki.root_der_ = Issue({"Test SGX Root CA", 1, spec.not_before_unix, spec.not_after_unix, true},
                        k.root, k.root, {});
  pki.platform_ca_der_ =
      Issue({"Test SGX PCK Platform CA", 2, spec.not_before_unix, spec.not_after_unix, true},
            k.platform, k.root, pki.root_der_);
  pki.leaf_der_ =
      Issue({"Test SGX PCK Certificate", kLeafSerial, spec.not_before_unix,
             spec.leaf_not_after_unix, false, spec.pck.include_sgx_extension ? &spec.pck : nullptr},
            k.leaf, k.platform, pki.platform_ca_der_);
  pki.tcb_signing_der_ =
      Issue({"Test SGX TCB Signing", 3, spec.not_before_unix, spec.not_after_unix, false}, k.tcb,
            k.root, pki.root_der_);
  return pki;
}

std::string TestPki::PckChainPem() const {
  return ToPem(leaf_der_) + ToPem(platform_ca_der_) + ToPem(root_der_);
}

std::string TestPki::SignedResponse(std::string_view key, std::string_view body) const {
  Result<std::vector<uint8_t>> signature = keys_->tcb.ecdsa.SignRaw(AsBytes(body));
  EML_CHECK(signature.has_value());
  return "{\"" + std::string(key) + "\":" + std::string(body) + ",\"signature\":\"" +
         HexEncode(*signature) + "\"}";
}

std::vector<uint8_t> TestPki::PlatformCrl(int64_t this_update, int64_t next_update,
                                          const std::vector<uint64_t>& revoked) const {
  return MakeCrl(keys_->platform, platform_ca_der_, this_update, next_update, revoked);
}

std::vector<uint8_t> TestPki::RootCrl(int64_t this_update, int64_t next_update) const {
  return MakeCrl(keys_->root, root_der_, this_update, next_update, {});
}

std::vector<uint8_t> TestPki::SignWithLeaf(std::span<const uint8_t> message) const {
  Result<std::vector<uint8_t>> signature = keys_->leaf.ecdsa.SignRaw(message);
  EML_CHECK(signature.has_value());
  return *signature;
}

std::vector<uint8_t> TestPki::RebuildQuote(std::span<const uint8_t> quote, std::string_view pem,
                                           std::span<const uint8_t> signed_region) const {
  Result<ParsedQuote> parsed = ParseQuote(quote);
  EML_CHECK(parsed.has_value());
  std::vector<uint8_t> report(parsed->qe_report_bytes.begin(), parsed->qe_report_bytes.end());
  std::vector<uint8_t> signature(parsed->signature.begin(), parsed->signature.end());
  std::vector<uint8_t> attestation_key(parsed->attestation_key.begin(),
                                       parsed->attestation_key.end());
  if (!signed_region.empty()) {
    Result<crypto::EcdsaPrivateKey> key =
        crypto::EcdsaPrivateKey::Generate(crypto::EcdsaCurve::kP256);
    EML_CHECK(key.has_value());
    std::vector<uint8_t> point = key->public_key().ToSec1Uncompressed();
    attestation_key.assign(point.begin() + 1, point.end());
    Result<std::vector<uint8_t>> sig = key->SignRaw(signed_region);
    EML_CHECK(sig.has_value());
    signature = *sig;
    crypto::Sha256Hasher hasher;
    hasher.Update(attestation_key);
    hasher.Update(parsed->qe_auth_data);
    const std::array<uint8_t, 32> digest = hasher.Finish();
    constexpr size_t kQeReportDataOffset = 320;
    std::fill(report.begin() + kQeReportDataOffset, report.end(), 0);
    std::copy(digest.begin(), digest.end(), report.begin() + kQeReportDataOffset);
  }
  std::vector<uint8_t> qe_data;
  Put(qe_data, report);
  Put(qe_data, SignWithLeaf(report));
  PutU16(qe_data, parsed->qe_auth_data.size());
  Put(qe_data, parsed->qe_auth_data);
  PutU16(qe_data, kCertDataTypePckChain);
  PutU32(qe_data, pem.size());
  Put(qe_data, AsBytes(pem));
  std::vector<uint8_t> signature_data;
  Put(signature_data, signature);
  Put(signature_data, attestation_key);
  PutU16(signature_data, kCertDataTypeQeReport);
  PutU32(signature_data, qe_data.size());
  Put(signature_data, qe_data);
  std::vector<uint8_t> out;
  Put(out, signed_region.empty() ? parsed->signed_region : signed_region);
  PutU32(out, signature_data.size());
  Put(out, signature_data);
  return out;
}

std::vector<uint8_t> TestPki::RebuildQuoteWithReportData(std::span<const uint8_t> quote,
                                                         std::span<const uint8_t> report_data,
                                                         bool debug) const {
  // TD report body 1.0 offsets (Intel TDX DCAP quote layout), after the 48-byte header.
  constexpr size_t kTdAttributesOffset = kHeaderBytes + 120;
  constexpr size_t kReportDataOffset = kHeaderBytes + 520;
  Result<ParsedQuote> parsed = ParseQuote(quote);
  EML_CHECK(parsed.has_value() && report_data.size() == 64 &&
            parsed->signed_region.size() == kHeaderBytes + kTdReportBody10Bytes);
  std::vector<uint8_t> region(parsed->signed_region.begin(), parsed->signed_region.end());
  std::copy(report_data.begin(), report_data.end(),
            region.begin() + static_cast<std::ptrdiff_t>(kReportDataOffset));
  if (debug) {
    region[kTdAttributesOffset] |= 0x01;
  }
  return RebuildQuote(quote, PckChainPem(), region);
}

void TestPki::WriteCollateralDirectory(const std::filesystem::path& dir,
                                       std::string_view tcb_info_body,
                                       std::string_view qe_identity_body, int64_t this_update,
                                       int64_t next_update) const {
  std::filesystem::create_directories(dir);
  auto write = [&dir](const char* name, std::span<const uint8_t> bytes) {
    std::ofstream out(dir / name, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    EML_CHECK(out.good());
  };
  write("tcb_info_50806f000000.json", AsBytes(SignedResponse("tcbInfo", tcb_info_body)));
  write("qe_identity.json", AsBytes(SignedResponse("enclaveIdentity", qe_identity_body)));
  const std::string chain = ToPem(tcb_signing_der_) + ToPem(root_der_);
  write("tcb_signing_chain.pem", AsBytes(chain));
  write("pck_platform.crl.der", PlatformCrl(this_update, next_update, {}));
  write("root_ca.crl.der", RootCrl(this_update, next_update));
}

std::string ToPem(std::span<const uint8_t> der) {
  std::string b64 = Base64Encode(der);
  std::string out = "-----BEGIN CERTIFICATE-----\n";
  for (size_t i = 0; i < b64.size(); i += 64) {
    out += b64.substr(i, 64) + "\n";
  }
  return out + "-----END CERTIFICATE-----\n";
}

namespace {

std::string IsoTime(int64_t unix_s) {
  const time_t t = static_cast<time_t>(unix_s);
  std::tm tm{};
  EML_CHECK(gmtime_r(&t, &tm) != nullptr);
  char out[32];
  EML_CHECK(std::strftime(out, sizeof(out), "%Y-%m-%dT%H:%M:%SZ", &tm) > 0);
  return out;
}

nlohmann::json Components(std::vector<int> svns) {
  svns.resize(16, 0);
  nlohmann::json out = nlohmann::json::array();
  for (const int svn : svns) {
    out.push_back({{"svn", svn}});
  }
  return out;
}

}  // namespace

std::string SprSampleTcbInfoBody(int64_t issue_unix, int64_t next_update_unix) {
  const nlohmann::json level = {{"tcb",
                                 {{"sgxtcbcomponents", Components({2, 2})},
                                  {"pcesvn", 11},
                                  {"tdxtcbcomponents", Components({3, 0, 4})}}},
                                {"tcbDate", "2023-08-09T00:00:00Z"},
                                {"tcbStatus", "UpToDate"}};
  const nlohmann::json body = {{"id", "TDX"},
                               {"version", 3},
                               {"issueDate", IsoTime(issue_unix)},
                               {"nextUpdate", IsoTime(next_update_unix)},
                               {"fmspc", "50806f000000"},
                               {"pceId", "0000"},
                               {"tcbType", 0},
                               {"tcbEvaluationDataNumber", 17},
                               {"tdxModule",
                                {{"mrsigner", std::string(96, '0')},
                                 {"attributes", "0000000000000000"},
                                 {"attributesMask", "FFFFFFFFFFFFFFFF"}}},
                               {"tcbLevels", {level}}};
  return body.dump();
}

std::string SprSampleQeIdentityBody(int64_t issue_unix, int64_t next_update_unix) {
  const nlohmann::json body = {
      {"id", "TD_QE"},
      {"version", 2},
      {"issueDate", IsoTime(issue_unix)},
      {"nextUpdate", IsoTime(next_update_unix)},
      {"tcbEvaluationDataNumber", 17},
      {"miscselect", "00000000"},
      {"miscselectMask", "FFFFFFFF"},
      {"attributes", "11000000000000000000000000000000"},
      {"attributesMask", "FBFFFFFFFFFFFFFF0000000000000000"},
      {"mrsigner", "DC9E2A7C6F948F17474E34A7FC43ED030F7C1563F1BABDDF6340C82E0E54A8C5"},
      {"isvprodid", 2},
      {"tcbLevels",
       {{{"tcb", {{"isvsvn", 4}}},
         {"tcbDate", "2023-08-09T00:00:00Z"},
         {"tcbStatus", "UpToDate"}}}}};
  return body.dump();
}

}  // namespace eml::attest::tdx::testing
