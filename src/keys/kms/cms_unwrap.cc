#include "keys/kms/cms_unwrap.h"

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include <algorithm>
#include <memory>
#include <string>

#include "common/byte_reader.h"

namespace eml::keys::kms {
namespace {

constexpr size_t kAes256KeySize = 32;
constexpr size_t kAesBlockSize = 16;

// DER tags (single byte: universal or context-specific, low tag numbers only).
constexpr uint8_t kTagInteger = 0x02;
constexpr uint8_t kTagOctetString = 0x04;
constexpr uint8_t kTagNull = 0x05;
constexpr uint8_t kTagOid = 0x06;
constexpr uint8_t kTagSequence = 0x30;
constexpr uint8_t kTagSet = 0x31;
constexpr uint8_t kTagContext0Primitive = 0x80;
constexpr uint8_t kTagContext0 = 0xa0;
constexpr uint8_t kTagContext1 = 0xa1;
constexpr uint8_t kTagContext2 = 0xa2;

// Object identifier contents (the bytes after tag and length).
constexpr uint8_t kOidEnvelopedData[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x03};
constexpr uint8_t kOidData[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01};
constexpr uint8_t kOidRsaesOaep[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x07};
constexpr uint8_t kOidMgf1[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x08};
constexpr uint8_t kOidPSpecified[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x09};
constexpr uint8_t kOidSha256[] = {0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01};
constexpr uint8_t kOidAes256Cbc[] = {0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x2a};

struct CmsFree {
  void operator()(CMS_ContentInfo* cms) const { CMS_ContentInfo_free(cms); }
};
struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};

Error Malformed(std::string detail) { return Error{ErrorCode::kCmsMalformed, std::move(detail)}; }
Error BadAlgorithm(std::string detail) {
  return Error{ErrorCode::kCmsBadAlgorithm, std::move(detail)};
}
Error DecryptFailed() { return Error{ErrorCode::kCmsDecryptFailed, "CMS decryption failed"}; }

// ReadTlv reads one DER element whose tag is `tag` and points `contents` at its value. Only the
// definite, minimal length forms up to three length bytes are accepted (the input is bounded
// far below 16 MiB). On failure `in` is unchanged.
[[nodiscard]] bool ReadTlv(ByteReader* in, uint8_t tag, ByteReader* contents) {
  ByteReader r = *in;
  uint8_t got_tag = 0;
  uint8_t first = 0;
  if (!r.ReadU8(&got_tag) || got_tag != tag || !r.ReadU8(&first)) {
    return false;
  }
  size_t length = first;
  if (first >= 0x80) {
    size_t num_bytes = first & 0x7fU;
    if (num_bytes == 0 || num_bytes > 3) {
      return false;
    }
    length = 0;
    for (size_t i = 0; i < num_bytes; ++i) {
      uint8_t b = 0;
      if (!r.ReadU8(&b) || (i == 0 && b == 0)) {
        return false;
      }
      length = (length << 8) | b;
    }
    if (length < 0x80) {
      return false;
    }
  }
  if (!r.ReadSub(length, contents)) {
    return false;
  }
  *in = r;
  return true;
}

bool NextTagIs(const ByteReader& in, uint8_t tag) {
  uint8_t got = 0;
  return in.PeekU8(&got) && got == tag;
}

bool Equals(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  return std::ranges::equal(a, b);
}

// ReadOid reads an OBJECT IDENTIFIER and returns its contents in `out`.
[[nodiscard]] bool ReadOid(ByteReader* in, std::span<const uint8_t>* out) {
  ByteReader oid;
  if (!ReadTlv(in, kTagOid, &oid)) {
    return false;
  }
  *out = oid.remaining();
  return true;
}

// ReadSmallInteger reads a non-negative one-byte INTEGER (CMS version numbers).
[[nodiscard]] bool ReadSmallInteger(ByteReader* in, uint8_t* out) {
  ByteReader value;
  return ReadTlv(in, kTagInteger, &value) && value.size() == 1 && value.ReadU8(out) && *out < 0x80;
}

// CheckSha256AlgorithmId checks AlgorithmIdentifier { sha256, NULL or absent }.
Status CheckSha256AlgorithmId(ByteReader alg, const char* what) {
  std::span<const uint8_t> oid;
  if (!ReadOid(&alg, &oid)) {
    return Malformed(std::string(what) + ": no algorithm OID");
  }
  if (!Equals(oid, kOidSha256)) {
    return BadAlgorithm(std::string(what) + " is not SHA-256");
  }
  ByteReader null_value;
  if (NextTagIs(alg, kTagNull) && (!ReadTlv(&alg, kTagNull, &null_value) || !null_value.empty())) {
    return Malformed(std::string(what) + ": bad NULL parameters");
  }
  if (!alg.empty()) {
    return Malformed(std::string(what) + ": unexpected parameters");
  }
  return OkStatus();
}

// CheckOaepParams checks RSAES-OAEP-params (RFC 8017 appendix A.2.1) for SHA-256, MGF1 with
// SHA-256 and an empty label. The DEFAULT values (SHA-1) are refused, so the hash and mask
// generation fields must be present.
Status CheckOaepParams(ByteReader params) {
  ByteReader hash_field;
  ByteReader hash_alg;
  if (!ReadTlv(&params, kTagContext0, &hash_field)) {
    return BadAlgorithm("OAEP uses the default hash (SHA-1)");
  }
  if (!ReadTlv(&hash_field, kTagSequence, &hash_alg) || !hash_field.empty()) {
    return Malformed("OAEP hash field is not one AlgorithmIdentifier");
  }
  EML_RETURN_IF_ERROR(CheckSha256AlgorithmId(hash_alg, "OAEP hash"));

  ByteReader mgf_field;
  ByteReader mgf_alg;
  if (!ReadTlv(&params, kTagContext1, &mgf_field)) {
    return BadAlgorithm("OAEP uses the default mask generation (MGF1-SHA-1)");
  }
  std::span<const uint8_t> mgf_oid;
  ByteReader mgf_hash;
  if (!ReadTlv(&mgf_field, kTagSequence, &mgf_alg) || !mgf_field.empty() ||
      !ReadOid(&mgf_alg, &mgf_oid)) {
    return Malformed("OAEP mask generation field is malformed");
  }
  if (!Equals(mgf_oid, kOidMgf1)) {
    return BadAlgorithm("OAEP mask generation is not MGF1");
  }
  if (!ReadTlv(&mgf_alg, kTagSequence, &mgf_hash) || !mgf_alg.empty()) {
    return Malformed("MGF1 parameters are not one AlgorithmIdentifier");
  }
  EML_RETURN_IF_ERROR(CheckSha256AlgorithmId(mgf_hash, "MGF1 hash"));

  if (NextTagIs(params, kTagContext2)) {
    // pSourceAlgorithm: only pSpecified with an empty label (the default) is accepted.
    ByteReader source_field;
    ByteReader source_alg;
    std::span<const uint8_t> source_oid;
    ByteReader label;
    if (!ReadTlv(&params, kTagContext2, &source_field) ||
        !ReadTlv(&source_field, kTagSequence, &source_alg) || !source_field.empty() ||
        !ReadOid(&source_alg, &source_oid) || !ReadTlv(&source_alg, kTagOctetString, &label) ||
        !source_alg.empty()) {
      return Malformed("OAEP label source is malformed");
    }
    if (!Equals(source_oid, kOidPSpecified) || !label.empty()) {
      return BadAlgorithm("OAEP label is not empty");
    }
  }
  if (!params.empty()) {
    return Malformed("trailing bytes in OAEP parameters");
  }
  return OkStatus();
}

// ParseKeyTransRecipient reads KeyTransRecipientInfo (RFC 5652 section 6.2.1).
Status ParseKeyTransRecipient(ByteReader ktri, ParsedEnvelopedData* out) {
  uint8_t version = 0;
  if (!ReadSmallInteger(&ktri, &version) || (version != 0 && version != 2)) {
    return Malformed("bad KeyTransRecipientInfo version");
  }
  // The recipient identifier (IssuerAndSerialNumber or [0] SubjectKeyIdentifier) names a
  // certificate; the enclave key has none, so the identifier is skipped, not matched.
  ByteReader rid;
  if (!ReadTlv(&ktri, kTagSequence, &rid) && !ReadTlv(&ktri, kTagContext0Primitive, &rid)) {
    return Malformed("bad recipient identifier");
  }
  ByteReader alg;
  std::span<const uint8_t> alg_oid;
  if (!ReadTlv(&ktri, kTagSequence, &alg) || !ReadOid(&alg, &alg_oid)) {
    return Malformed("bad key encryption algorithm");
  }
  if (!Equals(alg_oid, kOidRsaesOaep)) {
    return BadAlgorithm("key transport is not RSAES-OAEP");
  }
  ByteReader params;
  if (!ReadTlv(&alg, kTagSequence, &params) || !alg.empty()) {
    return BadAlgorithm("RSAES-OAEP parameters are absent (defaults are SHA-1)");
  }
  EML_RETURN_IF_ERROR(CheckOaepParams(params));
  ByteReader encrypted_key;
  if (!ReadTlv(&ktri, kTagOctetString, &encrypted_key) || !ktri.empty()) {
    return Malformed("bad encrypted key");
  }
  out->encrypted_key.assign(encrypted_key.remaining().begin(), encrypted_key.remaining().end());
  return OkStatus();
}

// ParseRecipientInfos reads the SET OF RecipientInfo, which must hold one key transport entry.
Status ParseRecipientInfos(ByteReader set, ParsedEnvelopedData* out) {
  ByteReader ktri;
  if (!ReadTlv(&set, kTagSequence, &ktri)) {
    // Other choices are [1] KeyAgree, [2] KEK, [3] password, [4] other (RFC 5652 6.2).
    return set.empty() ? Malformed("no recipients")
                       : BadAlgorithm("recipient is not key transport");
  }
  if (!set.empty()) {
    return Malformed("more than one recipient");
  }
  return ParseKeyTransRecipient(ktri, out);
}

// ParseEncryptedContentInfo reads EncryptedContentInfo (RFC 5652 section 6.1).
Status ParseEncryptedContentInfo(ByteReader info, ParsedEnvelopedData* out) {
  std::span<const uint8_t> content_type;
  ByteReader alg;
  std::span<const uint8_t> alg_oid;
  if (!ReadOid(&info, &content_type) || !ReadTlv(&info, kTagSequence, &alg) ||
      !ReadOid(&alg, &alg_oid)) {
    return Malformed("bad EncryptedContentInfo");
  }
  if (!Equals(content_type, kOidData)) {
    return Malformed("encrypted content type is not id-data");
  }
  if (!Equals(alg_oid, kOidAes256Cbc)) {
    return BadAlgorithm("content encryption is not AES-256-CBC");
  }
  ByteReader iv;
  if (!ReadTlv(&alg, kTagOctetString, &iv) || !alg.empty() || !iv.CopyBytes(out->iv) ||
      !iv.empty()) {
    return Malformed("AES-CBC IV is not 16 bytes");
  }
  ByteReader content;
  if (!ReadTlv(&info, kTagContext0Primitive, &content) || !info.empty()) {
    return Malformed("encrypted content is absent or malformed");
  }
  out->encrypted_content.assign(content.remaining().begin(), content.remaining().end());
  return OkStatus();
}

// ParseDer walks ContentInfo { id-envelopedData, [0] EnvelopedData } in canonical DER.
Result<ParsedEnvelopedData> ParseDer(std::span<const uint8_t> der) {
  ByteReader in(der);
  ByteReader content_info;
  std::span<const uint8_t> content_type;
  ByteReader explicit_content;
  ByteReader env;
  if (!ReadTlv(&in, kTagSequence, &content_info) || !in.empty() ||
      !ReadOid(&content_info, &content_type)) {
    return Malformed("not a CMS ContentInfo");
  }
  if (!Equals(content_type, kOidEnvelopedData)) {
    return Malformed("CMS content is not EnvelopedData");
  }
  if (!ReadTlv(&content_info, kTagContext0, &explicit_content) || !content_info.empty() ||
      !ReadTlv(&explicit_content, kTagSequence, &env) || !explicit_content.empty()) {
    return Malformed("bad EnvelopedData wrapper");
  }
  uint8_t version = 0;
  if (!ReadSmallInteger(&env, &version) || version > 4) {
    return Malformed("bad EnvelopedData version");
  }
  ByteReader ignored;
  // originatorInfo holds only certificates and CRLs, which play no part in decryption.
  if (NextTagIs(env, kTagContext0) && !ReadTlv(&env, kTagContext0, &ignored)) {
    return Malformed("bad originatorInfo");
  }
  ParsedEnvelopedData out;
  ByteReader recipients;
  ByteReader encrypted_content_info;
  if (!ReadTlv(&env, kTagSet, &recipients)) {
    return Malformed("bad recipientInfos");
  }
  EML_RETURN_IF_ERROR(ParseRecipientInfos(recipients, &out));
  if (!ReadTlv(&env, kTagSequence, &encrypted_content_info)) {
    return Malformed("bad EncryptedContentInfo");
  }
  EML_RETURN_IF_ERROR(ParseEncryptedContentInfo(encrypted_content_info, &out));
  // unprotectedAttrs carry nothing the unwrap needs.
  if (NextTagIs(env, kTagContext1) && !ReadTlv(&env, kTagContext1, &ignored)) {
    return Malformed("bad unprotectedAttrs");
  }
  if (!env.empty()) {
    return Malformed("trailing fields in EnvelopedData");
  }
  return out;
}

// ToDer decodes BER with OpenSSL (indefinite lengths, constructed strings) and re-encodes the
// structure as DER, so that the profile walk above needs to know only one encoding.
Result<std::vector<uint8_t>> ToDer(std::span<const uint8_t> ber) {
  const unsigned char* start = ber.data();
  const unsigned char* cursor = start;
  std::unique_ptr<CMS_ContentInfo, CmsFree> cms(
      d2i_CMS_ContentInfo(nullptr, &cursor, static_cast<long>(ber.size())));
  if (cms == nullptr) {
    ERR_clear_error();
    return Malformed("not BER CMS ContentInfo");
  }
  if (static_cast<size_t>(cursor - start) != ber.size()) {
    return Malformed("trailing bytes after CMS ContentInfo");
  }
  int der_len = i2d_CMS_ContentInfo(cms.get(), nullptr);
  if (der_len <= 0) {
    ERR_clear_error();
    return Malformed("CMS ContentInfo cannot be re-encoded");
  }
  std::vector<uint8_t> der(static_cast<size_t>(der_len));
  unsigned char* write = der.data();
  if (i2d_CMS_ContentInfo(cms.get(), &write) != der_len) {
    ERR_clear_error();
    return Malformed("CMS ContentInfo cannot be re-encoded");
  }
  return der;
}

// DecryptAes256Cbc returns the PKCS#7-unpadded plaintext, or kCmsDecryptFailed.
Result<SecretBytes> DecryptAes256Cbc(const SecretBytes& key, std::span<const uint8_t> iv,
                                     std::span<const uint8_t> ciphertext) {
  if (key.size() != kAes256KeySize || ciphertext.empty() ||
      ciphertext.size() % kAesBlockSize != 0) {
    return DecryptFailed();
  }
  std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree> ctx(EVP_CIPHER_CTX_new());
  if (ctx == nullptr) {
    return Error{ErrorCode::kCryptoLibraryFailure, "EVP_CIPHER_CTX_new failed"};
  }
  SecretBytes buffer(ciphertext.size());
  std::span<uint8_t> out = buffer.MutableReveal(InsecureSecretAccess::Get());
  int update_len = 0;
  int final_len = 0;
  // The size bound (kMaxCmsBytes, checked before parsing) keeps the length within int.
  bool ok = EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_cbc(), nullptr,
                               key.Reveal(InsecureSecretAccess::Get()).data(), iv.data()) == 1 &&
            EVP_DecryptUpdate(ctx.get(), out.data(), &update_len, ciphertext.data(),
                              static_cast<int>(ciphertext.size())) == 1 &&
            update_len >= 0 && static_cast<size_t>(update_len) <= out.size() &&
            EVP_DecryptFinal_ex(ctx.get(), out.subspan(static_cast<size_t>(update_len)).data(),
                                &final_len) == 1;
  if (!ok) {
    ERR_clear_error();
    return DecryptFailed();
  }
  size_t total = static_cast<size_t>(update_len) + static_cast<size_t>(final_len);
  return SecretBytes::CopyFrom(out.first(total));
}

}  // namespace

Result<ParsedEnvelopedData> ParseEnvelopedData(std::span<const uint8_t> ber,
                                               const CmsLimits& limits) {
  if (ber.empty() || ber.size() > limits.max_input_bytes || ber.size() > kMaxCmsBytes) {
    return Malformed("CMS input is empty or over the size limit");
  }
  EML_ASSIGN_OR_RETURN(std::vector<uint8_t> der, ToDer(ber));
  return ParseDer(der);
}

Result<SecretBytes> UnwrapCiphertextForRecipient(std::span<const uint8_t> ber,
                                                 const crypto::RsaPrivateKey& key,
                                                 const CmsLimits& limits) {
  EML_ASSIGN_OR_RETURN(ParsedEnvelopedData parsed, ParseEnvelopedData(ber, limits));
  EML_ASSIGN_OR_RETURN(crypto::RsaPublicKey public_key,
                       crypto::RsaPublicKey::FromSpkiDer(key.PublicKeySpkiDer()));
  size_t modulus_bytes = static_cast<size_t>(public_key.modulus_bits() + 7) / 8;
  if (parsed.encrypted_key.size() != modulus_bytes) {
    return Error{ErrorCode::kCmsWrongRecipient,
                 "encrypted key size does not match the recipient key"};
  }
  Result<SecretBytes> content_key =
      key.DecryptOaepSha256(parsed.encrypted_key, crypto::OaepMgf1Hash::kSha256);
  if (!content_key.has_value()) {
    return DecryptFailed();
  }
  return DecryptAes256Cbc(*content_key, parsed.iv, parsed.encrypted_content);
}

}  // namespace eml::keys::kms
