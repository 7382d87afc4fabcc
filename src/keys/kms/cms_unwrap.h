#pragma once
// Posture: reads untrusted bytes: the CiphertextForRecipient field of a KMS response, which
// the host relays and can alter. Input is capped at CmsLimits::max_input_bytes (default
// kMaxCmsBytes); BER is decoded by OpenSSL's ASN.1 templates, re-encoded as DER and then walked
// field by field through eml::ByteReader against the one profile KMS produces. Fuzz target:
// tests/fuzz/keys_kms_cms_fuzz.cc.
//
// eml::keys::kms CMS unwrap (DESIGN.md section 6.4): KMS answers Decrypt / GenerateDataKey
// with a Recipient by encrypting the plaintext to the RSA public key inside the enclave's
// attestation document, as CMS EnvelopedData (RFC 5652) with one KeyTransRecipientInfo using
// RSAES-OAEP (RFC 8017; SHA-256 label hash, MGF1 with SHA-256, empty label; RFC 4055
// parameters) and AES-256-CBC content encryption (RFC 3565). Nothing else is accepted.
//
// Thread safety: pure functions; the key may be shared between threads.
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "common/result.h"
#include "common/secret_bytes.h"
#include "crypto/rsa.h"

namespace eml::keys::kms {

// KMS plaintexts are at most 4096 bytes; the CMS wrapping and the RSA block add little.
inline constexpr size_t kMaxCmsBytes = 64 * 1024;
inline constexpr size_t kAesCbcIvSize = 16;

struct CmsLimits {
  size_t max_input_bytes = kMaxCmsBytes;
};

// ParsedEnvelopedData: the fields of a well-formed KMS EnvelopedData, not yet decrypted.
struct ParsedEnvelopedData {
  std::vector<uint8_t> encrypted_key;  // RSAES-OAEP ciphertext of the content key
  std::array<uint8_t, kAesCbcIvSize> iv{};
  std::vector<uint8_t> encrypted_content;  // AES-256-CBC, PKCS#7 padded
};

// ParseEnvelopedData decodes `ber` (BER or DER ContentInfo holding EnvelopedData) and checks
// the profile. Errors: kCmsMalformed (over the size limit, not BER, trailing bytes, not
// EnvelopedData, not exactly one recipient, a field of the wrong type or size, detached
// content), kCmsBadAlgorithm (a recipient other than key transport, key transport other than
// RSAES-OAEP with SHA-256 / MGF1-SHA-256 / empty label, content encryption other than
// AES-256-CBC).
Result<ParsedEnvelopedData> ParseEnvelopedData(std::span<const uint8_t> ber,
                                               const CmsLimits& limits = {});

// UnwrapCiphertextForRecipient parses `ber` as above, decrypts the content key with `key`
// and returns the decrypted content (the KMS plaintext). Errors: those of ParseEnvelopedData,
// kCmsWrongRecipient (the encrypted key is not the size of `key`'s modulus), kCmsDecryptFailed
// (OAEP failure, a content key that is not 32 bytes, a content length that is not a positive
// multiple of the block size, or bad CBC padding: one code for all of them, so that the
// caller cannot become a padding oracle). Nothing is returned on failure.
Result<SecretBytes> UnwrapCiphertextForRecipient(std::span<const uint8_t> ber,
                                                 const crypto::RsaPrivateKey& key,
                                                 const CmsLimits& limits = {});

}  // namespace eml::keys::kms
