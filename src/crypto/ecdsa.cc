#include "crypto/ecdsa.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include <cstring>
#include <optional>
#include <string>

#include "common/byte_reader.h"
#include "common/byte_writer.h"
#include "common/check.h"
#include "crypto/hash.h"
#include "crypto/internal/openssl_util.h"

namespace eml::crypto {
namespace {

constexpr uint8_t kDerSequenceTag = 0x30;
constexpr uint8_t kDerIntegerTag = 0x02;

const char* GroupName(EcdsaCurve curve) {
  switch (curve) {
    case EcdsaCurve::kP256:
      return "prime256v1";
    case EcdsaCurve::kP384:
      return "secp384r1";
  }
  EML_CHECK(false);
  return nullptr;
}

const EVP_MD* MdFor(EcdsaCurve curve) {
  switch (curve) {
    case EcdsaCurve::kP256:
      return internal::Sha256Md();
    case EcdsaCurve::kP384:
      return internal::Sha384Md();
  }
  EML_CHECK(false);
  return nullptr;
}

// CurveOf identifies an EC key's named curve; false for anything else (explicit parameters,
// other curves, other key types).
bool CurveOf(EVP_PKEY* pkey, EcdsaCurve* out) {
  if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_EC) {
    return false;
  }
  char name[64];
  size_t name_len = 0;
  if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof(name),
                                     &name_len) != 1) {
    internal::ClearOpenSslErrors();
    return false;
  }
  std::string_view group(name, name_len);
  if (group == "prime256v1" || group == "P-256") {
    *out = EcdsaCurve::kP256;
    return true;
  }
  if (group == "secp384r1" || group == "P-384") {
    *out = EcdsaCurve::kP384;
    return true;
  }
  return false;
}

// ReadDerPositiveInteger reads one strict-DER INTEGER that must be non-negative and at most
// `max_size` bytes once its sign octet is dropped; returns the magnitude bytes.
bool ReadDerPositiveInteger(ByteReader* reader, size_t max_size, std::span<const uint8_t>* out) {
  uint8_t tag = 0;
  uint8_t length = 0;
  ByteReader value;
  // Our curves' integers need at most 49 content bytes, so a valid signature only ever uses
  // the short length form; the long form would be non-minimal and is rejected.
  if (!reader->ReadU8(&tag) || tag != kDerIntegerTag || !reader->ReadU8(&length) || length == 0 ||
      length >= 0x80 || !reader->ReadSub(length, &value)) {
    return false;
  }
  uint8_t first = 0;
  if (!value.PeekU8(&first) || (first & 0x80) != 0) {
    return false;  // Negative.
  }
  if (first == 0x00 && value.size() > 1) {
    uint8_t second = 0;
    if (!value.Skip(1) || !value.PeekU8(&second) || (second & 0x80) == 0) {
      return false;  // A leading zero that is not a sign octet is non-minimal.
    }
  }
  if (value.size() > max_size) {
    return false;
  }
  *out = value.remaining();
  return true;
}

// DerToRaw converts a strict DER ECDSA-Sig-Value into r || s, each `field_size` bytes.
bool DerToRaw(std::span<const uint8_t> der, size_t field_size, std::vector<uint8_t>* out) {
  ByteReader reader(der);
  uint8_t tag = 0;
  uint8_t length = 0;
  ByteReader seq;
  std::span<const uint8_t> r;
  std::span<const uint8_t> s;
  if (!reader.ReadU8(&tag) || tag != kDerSequenceTag || !reader.ReadU8(&length) || length >= 0x80 ||
      !reader.ReadSub(length, &seq) || !reader.empty() ||
      !ReadDerPositiveInteger(&seq, field_size, &r) ||
      !ReadDerPositiveInteger(&seq, field_size, &s) || !seq.empty()) {
    return false;
  }
  ByteWriter writer = ByteWriter::Fixed(2 * field_size);
  for (std::span<const uint8_t> v : {r, s}) {
    for (size_t i = v.size(); i < field_size; ++i) {
      writer.PutU8(0);
    }
    writer.PutBytes(v);
  }
  std::optional<std::vector<uint8_t>> bytes = std::move(writer).Finish();
  if (!bytes.has_value()) {
    return false;
  }
  *out = std::move(*bytes);
  return true;
}

// RawToDer re-encodes r || s as DER through OpenSSL (for EVP_PKEY_verify).
Result<std::vector<uint8_t>> RawToDer(std::span<const uint8_t> r_s) {
  size_t half = r_s.size() / 2;
  std::span<const uint8_t> r_bytes = r_s.first(half);
  std::span<const uint8_t> s_bytes = r_s.subspan(half);
  internal::BignumPtr r(BN_bin2bn(r_bytes.data(), static_cast<int>(half), nullptr));
  internal::BignumPtr s(BN_bin2bn(s_bytes.data(), static_cast<int>(half), nullptr));
  internal::EcdsaSigPtr sig(ECDSA_SIG_new());
  if (r == nullptr || s == nullptr || sig == nullptr ||
      ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) {
    return internal::OpenSslError(ErrorCode::kCryptoLibraryFailure, "ECDSA_SIG");
  }
  r.release();  // Now owned by sig.
  s.release();
  int len = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (len <= 0) {
    return internal::OpenSslError(ErrorCode::kCryptoLibraryFailure, "i2d_ECDSA_SIG");
  }
  std::vector<uint8_t> der(static_cast<size_t>(len));
  unsigned char* p = der.data();
  if (i2d_ECDSA_SIG(sig.get(), &p) != len) {
    return internal::OpenSslError(ErrorCode::kCryptoLibraryFailure, "i2d_ECDSA_SIG");
  }
  return der;
}

// UncompressedPoint returns 0x04 || x || y of an EC key, whatever form it was imported in.
Result<std::vector<uint8_t>> UncompressedPoint(EVP_PKEY* pkey, size_t field_size) {
  BIGNUM* x_raw = nullptr;
  BIGNUM* y_raw = nullptr;
  bool got_x = EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_X, &x_raw) == 1;
  internal::BignumPtr x(x_raw);
  bool got_y = EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &y_raw) == 1;
  internal::BignumPtr y(y_raw);
  std::vector<uint8_t> out(1 + 2 * field_size);
  out[0] = 0x04;
  std::span<uint8_t> out_x = std::span<uint8_t>(out).subspan(1, field_size);
  std::span<uint8_t> out_y = std::span<uint8_t>(out).subspan(1 + field_size);
  int size = static_cast<int>(field_size);
  if (!got_x || !got_y || BN_bn2binpad(x.get(), out_x.data(), size) != size ||
      BN_bn2binpad(y.get(), out_y.data(), size) != size) {
    return internal::OpenSslError(ErrorCode::kCryptoLibraryFailure, "EC public point");
  }
  return out;
}

}  // namespace

size_t EcdsaFieldSize(EcdsaCurve curve) {
  switch (curve) {
    case EcdsaCurve::kP256:
      return 32;
    case EcdsaCurve::kP384:
      return 48;
  }
  EML_CHECK(false);
  return 0;
}

Result<EcdsaPublicKey> EcdsaPublicKey::FromSec1(EcdsaCurve curve, std::span<const uint8_t> point) {
  size_t field = EcdsaFieldSize(curve);
  bool uncompressed = point.size() == 1 + 2 * field && point[0] == 0x04;
  bool compressed = point.size() == 1 + field && (point[0] == 0x02 || point[0] == 0x03);
  if (!uncompressed && !compressed) {
    return Error{ErrorCode::kCryptoBadKey, "not a SEC 1 point of the curve's size"};
  }
  internal::EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  char group[16];
  std::strncpy(group, GroupName(curve), sizeof(group) - 1);
  group[sizeof(group) - 1] = '\0';
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, const_cast<uint8_t*>(point.data()),
                                        point.size()),
      OSSL_PARAM_construct_end(),
  };
  EVP_PKEY* raw = nullptr;
  if (ctx == nullptr || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params) != 1) {
    return internal::OpenSslError(ErrorCode::kCryptoBadKey, "EC point not on the curve");
  }
  internal::PkeyRef pkey(raw);
  // Import decodes the point onto the curve; the public check also rejects infinity.
  internal::EvpPkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
  if (check == nullptr || EVP_PKEY_public_check(check.get()) != 1) {
    return internal::OpenSslError(ErrorCode::kCryptoBadKey, "EC public key check failed");
  }
  return EcdsaPublicKey(curve, std::move(pkey));
}

Result<EcdsaPublicKey> EcdsaPublicKey::FromSpkiDer(std::span<const uint8_t> spki) {
  long len = 0;  // NOLINT(runtime/int): d2i length type.
  if (spki.size() > 4096) {
    return Error{ErrorCode::kCryptoBadKey, "SubjectPublicKeyInfo too large"};
  }
  len = static_cast<long>(spki.size());  // NOLINT(runtime/int)
  const unsigned char* p = spki.data();
  internal::PkeyRef pkey(d2i_PUBKEY(nullptr, &p, len));
  if (!pkey) {
    return internal::OpenSslError(ErrorCode::kCryptoBadKey, "not a DER SubjectPublicKeyInfo");
  }
  if (p != spki.data() + spki.size()) {
    return Error{ErrorCode::kCryptoBadKey, "trailing bytes after SubjectPublicKeyInfo"};
  }
  EcdsaCurve curve;
  if (!CurveOf(pkey.get(), &curve)) {
    return Error{ErrorCode::kCryptoBadKey, "not a P-256 or P-384 key"};
  }
  internal::EvpPkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
  if (check == nullptr || EVP_PKEY_public_check(check.get()) != 1) {
    return internal::OpenSslError(ErrorCode::kCryptoBadKey, "EC public key check failed");
  }
  return EcdsaPublicKey(curve, std::move(pkey));
}

std::vector<uint8_t> EcdsaPublicKey::ToSec1Uncompressed() const {
  Result<std::vector<uint8_t>> point = UncompressedPoint(pkey_.get(), EcdsaFieldSize(curve_));
  EML_CHECK(point.has_value());  // A valid key always has both coordinates.
  return std::move(point).value();
}

std::vector<uint8_t> EcdsaPublicKey::SpkiDer() const {
  int len = i2d_PUBKEY(pkey_.get(), nullptr);
  EML_CHECK(len > 0);
  std::vector<uint8_t> out(static_cast<size_t>(len));
  unsigned char* p = out.data();
  EML_CHECK(i2d_PUBKEY(pkey_.get(), &p) == len);
  return out;
}

Status EcdsaPublicKey::VerifyRaw(std::span<const uint8_t> message,
                                 std::span<const uint8_t> r_s) const {
  switch (curve_) {
    case EcdsaCurve::kP256: {
      auto digest = Sha256(message);
      return VerifyDigestRaw(digest, r_s);
    }
    case EcdsaCurve::kP384: {
      auto digest = Sha384(message);
      return VerifyDigestRaw(digest, r_s);
    }
  }
  EML_CHECK(false);
  return OkStatus();
}

Status EcdsaPublicKey::VerifyDer(std::span<const uint8_t> message,
                                 std::span<const uint8_t> der_signature) const {
  std::vector<uint8_t> raw;
  if (!DerToRaw(der_signature, EcdsaFieldSize(curve_), &raw)) {
    return Error{ErrorCode::kCryptoBadSignatureLength, "not a strict DER ECDSA signature"};
  }
  return VerifyRaw(message, raw);
}

Status EcdsaPublicKey::VerifyDigestRaw(std::span<const uint8_t> digest,
                                       std::span<const uint8_t> r_s) const {
  if (r_s.size() != 2 * EcdsaFieldSize(curve_)) {
    return Error{ErrorCode::kCryptoBadSignatureLength, "raw ECDSA signature has wrong length"};
  }
  EML_ASSIGN_OR_RETURN(std::vector<uint8_t> der, RawToDer(r_s));
  internal::EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey_.get(), nullptr));
  if (ctx == nullptr || EVP_PKEY_verify_init(ctx.get()) != 1) {
    return internal::OpenSslError(ErrorCode::kCryptoLibraryFailure, "ECDSA verify init");
  }
  // OpenSSL rejects r or s outside [1, n-1] and applies the FIPS 186-4 digest truncation.
  int rc = EVP_PKEY_verify(ctx.get(), der.data(), der.size(), internal::DataOrEmpty(digest),
                           digest.size());
  internal::ClearOpenSslErrors();
  if (rc != 1) {
    return Error{ErrorCode::kCryptoSignatureInvalid, "ECDSA signature does not verify"};
  }
  return OkStatus();
}

Result<EcdsaPrivateKey> EcdsaPrivateKey::Generate(EcdsaCurve curve) {
  EVP_PKEY* raw = EVP_EC_gen(GroupName(curve));
  if (raw == nullptr) {
    return internal::OpenSslError(ErrorCode::kCryptoLibraryFailure, "EC key generation");
  }
  internal::PkeyRef pkey(raw);
  EML_ASSIGN_OR_RETURN(std::vector<uint8_t> point,
                       UncompressedPoint(pkey.get(), EcdsaFieldSize(curve)));
  EML_ASSIGN_OR_RETURN(EcdsaPublicKey pub, EcdsaPublicKey::FromSec1(curve, point));
  return EcdsaPrivateKey(std::move(pkey), std::move(pub));
}

Result<EcdsaPrivateKey> EcdsaPrivateKey::FromPkcs8Der(const SecretBytes& pkcs8) {
  std::span<const uint8_t> der = pkcs8.Reveal(InsecureSecretAccess::Get());
  if (der.size() > 4096) {
    return Error{ErrorCode::kCryptoBadKey, "PKCS#8 too large for an EC key"};
  }
  const unsigned char* p = der.data();
  internal::Pkcs8Ptr info(
      d2i_PKCS8_PRIV_KEY_INFO(nullptr, &p, static_cast<long>(der.size())));  // NOLINT
  if (info == nullptr || p != der.data() + der.size()) {
    return internal::OpenSslError(ErrorCode::kCryptoBadKey, "not DER PKCS#8");
  }
  internal::PkeyRef pkey(EVP_PKCS82PKEY(info.get()));
  EcdsaCurve curve;
  if (!pkey || !CurveOf(pkey.get(), &curve)) {
    return internal::OpenSslError(ErrorCode::kCryptoBadKey, "not a P-256 or P-384 key");
  }
  internal::EvpPkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
  if (check == nullptr || EVP_PKEY_pairwise_check(check.get()) != 1) {
    return internal::OpenSslError(ErrorCode::kCryptoBadKey, "EC key pair check failed");
  }
  EML_ASSIGN_OR_RETURN(std::vector<uint8_t> point,
                       UncompressedPoint(pkey.get(), EcdsaFieldSize(curve)));
  EML_ASSIGN_OR_RETURN(EcdsaPublicKey pub, EcdsaPublicKey::FromSec1(curve, point));
  return EcdsaPrivateKey(std::move(pkey), std::move(pub));
}

Result<std::vector<uint8_t>> EcdsaPrivateKey::SignRaw(std::span<const uint8_t> message) const {
  EcdsaCurve curve = public_key_.curve();
  internal::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (ctx == nullptr || EVP_DigestSignInit_ex(ctx.get(), nullptr, EVP_MD_get0_name(MdFor(curve)),
                                              nullptr, nullptr, pkey_.get(), nullptr) != 1) {
    return internal::OpenSslError(ErrorCode::kCryptoLibraryFailure, "ECDSA sign init");
  }
  size_t der_len = 0;
  if (EVP_DigestSign(ctx.get(), nullptr, &der_len, nullptr, 0) != 1) {
    return internal::OpenSslError(ErrorCode::kCryptoLibraryFailure, "ECDSA sign size");
  }
  std::vector<uint8_t> der(der_len);
  if (EVP_DigestSign(ctx.get(), der.data(), &der_len, internal::DataOrEmpty(message),
                     message.size()) != 1) {
    return internal::OpenSslError(ErrorCode::kCryptoLibraryFailure, "ECDSA sign");
  }
  der.resize(der_len);
  std::vector<uint8_t> raw;
  // OpenSSL's own output is strict DER, so our parser must accept it.
  EML_CHECK(DerToRaw(der, EcdsaFieldSize(curve), &raw));
  return raw;
}

SecretBytes EcdsaPrivateKey::ToPkcs8Der() const {
  internal::Pkcs8Ptr info(EVP_PKEY2PKCS8(pkey_.get()));
  EML_CHECK(info != nullptr);
  int len = i2d_PKCS8_PRIV_KEY_INFO(info.get(), nullptr);
  EML_CHECK(len > 0);
  SecretBytes out(static_cast<size_t>(len));
  unsigned char* p = out.MutableReveal(InsecureSecretAccess::Get()).data();
  EML_CHECK(i2d_PKCS8_PRIV_KEY_INFO(info.get(), &p) == len);
  return out;
}

}  // namespace eml::crypto
