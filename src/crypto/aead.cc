#include "crypto/aead.h"

#include <openssl/crypto.h>

#include <algorithm>

#include "common/check.h"
#include "crypto/internal/openssl_util.h"

namespace eml::crypto {
namespace {

// Largest plaintexts the algorithms allow under one key and nonce: GCM counts 32-bit blocks
// starting at 2 (SP 800-38D: 2^39 - 256 bits); ChaCha20 a 32-bit block counter starting at 1
// (RFC 8439 section 2.8: 2^38 - 64 bytes).
constexpr uint64_t kMaxGcmPlaintextBytes = (uint64_t{1} << 36) - 32;
constexpr uint64_t kMaxChaChaPlaintextBytes = (uint64_t{1} << 38) - 64;

// OpenSSL's update functions take int lengths; longer inputs are fed in chunks.
constexpr size_t kMaxChunkBytes = 1u << 30;

const EVP_CIPHER* FetchCipher(const char* name) {
  EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, name, nullptr);
  EML_CHECK(cipher != nullptr);
  return cipher;
}

const EVP_CIPHER* CipherFor(AeadAlgorithm algorithm) {
  switch (algorithm) {
    case AeadAlgorithm::kChaCha20Poly1305: {
      static const EVP_CIPHER* const c = FetchCipher("ChaCha20-Poly1305");
      return c;
    }
    case AeadAlgorithm::kAes128Gcm: {
      static const EVP_CIPHER* const c = FetchCipher("AES-128-GCM");
      return c;
    }
    case AeadAlgorithm::kAes256Gcm: {
      static const EVP_CIPHER* const c = FetchCipher("AES-256-GCM");
      return c;
    }
  }
  EML_CHECK(false);
  return nullptr;
}

uint64_t MaxPlaintextBytes(AeadAlgorithm algorithm) {
  switch (algorithm) {
    case AeadAlgorithm::kChaCha20Poly1305:
      return kMaxChaChaPlaintextBytes;
    case AeadAlgorithm::kAes128Gcm:
    case AeadAlgorithm::kAes256Gcm:
      return kMaxGcmPlaintextBytes;
  }
  EML_CHECK(false);
  return 0;
}

// Feeds `in` through EVP_CipherUpdate in int-sized chunks; `out` null means AAD.
bool UpdateChunked(EVP_CIPHER_CTX* ctx, std::span<const uint8_t> in, uint8_t* out) {
  size_t done = 0;
  while (done < in.size()) {
    size_t n = std::min(kMaxChunkBytes, in.size() - done);
    int out_len = 0;
    if (EVP_CipherUpdate(ctx, out == nullptr ? nullptr : out + done, &out_len, in.data() + done,
                         static_cast<int>(n)) != 1) {
      return false;
    }
    // AEAD stream ciphers and GCM output exactly what they are fed (AAD: nothing is written).
    if (out != nullptr && static_cast<size_t>(out_len) != n) {
      return false;
    }
    done += n;
  }
  return true;
}

}  // namespace

size_t Aead::KeySize(AeadAlgorithm algorithm) {
  switch (algorithm) {
    case AeadAlgorithm::kChaCha20Poly1305:
      return 32;
    case AeadAlgorithm::kAes128Gcm:
      return 16;
    case AeadAlgorithm::kAes256Gcm:
      return 32;
  }
  EML_CHECK(false);
  return 0;
}

Aead::Aead(AeadAlgorithm algorithm, SecretBytes key)
    : algorithm_(algorithm), key_(std::move(key)) {}

Aead::~Aead() = default;

Result<std::unique_ptr<Aead>> Aead::New(AeadAlgorithm algorithm, const SecretBytes& key) {
  if (key.size() != KeySize(algorithm)) {
    return Error{ErrorCode::kCryptoBadKeyLength, "AEAD key has the wrong length"};
  }
  return std::unique_ptr<Aead>(new Aead(algorithm, key.Clone()));
}

Result<std::vector<uint8_t>> Aead::Seal(std::span<const uint8_t> nonce,
                                        std::span<const uint8_t> plaintext,
                                        std::span<const uint8_t> aad) const {
  if (plaintext.size() > MaxPlaintextBytes(algorithm_)) {
    return Error{ErrorCode::kCryptoMessageTooLong, "plaintext too long for the AEAD"};
  }
  std::vector<uint8_t> out(plaintext.size() + kTagSize);
  EML_RETURN_IF_ERROR(SealInto(nonce, plaintext, aad, out));
  return out;
}

Status Aead::SealInto(std::span<const uint8_t> nonce, std::span<const uint8_t> plaintext,
                      std::span<const uint8_t> aad, std::span<uint8_t> out) const {
  auto fail = [&](Error error) -> Status {
    OPENSSL_cleanse(out.data(), out.size());
    return error;
  };
  if (nonce.size() != kNonceSize) {
    return fail(Error{ErrorCode::kCryptoBadNonceLength, "AEAD nonce must be 12 bytes"});
  }
  if (plaintext.size() > MaxPlaintextBytes(algorithm_)) {
    return fail(Error{ErrorCode::kCryptoMessageTooLong, "plaintext too long for the AEAD"});
  }
  if (out.size() != plaintext.size() + kTagSize) {
    return fail(Error{ErrorCode::kInvalidArgument, "SealInto output must be plaintext + 16"});
  }
  internal::EvpCipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  if (ctx == nullptr) {
    return fail(internal::OpenSslError(ErrorCode::kCryptoLibraryFailure, "EVP_CIPHER_CTX_new"));
  }
  // Both ciphers default to a 12-byte IV, so no IV-length parameter is needed.
  std::span<const uint8_t> key = key_.Reveal(InsecureSecretAccess::Get());
  std::span<uint8_t> tag = out.subspan(plaintext.size());
  if (EVP_EncryptInit_ex2(ctx.get(), CipherFor(algorithm_), key.data(), nonce.data(), nullptr) !=
          1 ||
      !UpdateChunked(ctx.get(), aad, nullptr) || !UpdateChunked(ctx.get(), plaintext, out.data())) {
    return fail(internal::OpenSslError(ErrorCode::kCryptoLibraryFailure, "AEAD seal"));
  }
  int final_len = 0;
  if (EVP_EncryptFinal_ex(ctx.get(), out.data() + plaintext.size(), &final_len) != 1 ||
      final_len != 0 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_GET_TAG, static_cast<int>(kTagSize),
                          tag.data()) != 1) {
    return fail(internal::OpenSslError(ErrorCode::kCryptoLibraryFailure, "AEAD seal final"));
  }
  return OkStatus();
}

Result<std::vector<uint8_t>> Aead::Open(std::span<const uint8_t> nonce,
                                        std::span<const uint8_t> ciphertext_and_tag,
                                        std::span<const uint8_t> aad) const {
  if (ciphertext_and_tag.size() < kTagSize) {
    return Error{ErrorCode::kCryptoCiphertextTooShort, "AEAD ciphertext shorter than its tag"};
  }
  size_t ct_size = ciphertext_and_tag.size() - kTagSize;
  return OpenDetached(nonce, ciphertext_and_tag.first(ct_size), ciphertext_and_tag.subspan(ct_size),
                      aad);
}

Result<std::vector<uint8_t>> Aead::OpenDetached(std::span<const uint8_t> nonce,
                                                std::span<const uint8_t> ciphertext,
                                                std::span<const uint8_t> tag,
                                                std::span<const uint8_t> aad) const {
  if (ciphertext.size() > MaxPlaintextBytes(algorithm_)) {
    return Error{ErrorCode::kCryptoMessageTooLong, "ciphertext too long for the AEAD"};
  }
  std::vector<uint8_t> out(ciphertext.size());
  EML_RETURN_IF_ERROR(OpenDetachedInto(nonce, ciphertext, tag, aad, out));
  return out;
}

Status Aead::OpenInto(std::span<const uint8_t> nonce, std::span<const uint8_t> ciphertext_and_tag,
                      std::span<const uint8_t> aad, std::span<uint8_t> out) const {
  if (ciphertext_and_tag.size() < kTagSize) {
    OPENSSL_cleanse(out.data(), out.size());
    return Error{ErrorCode::kCryptoCiphertextTooShort, "AEAD ciphertext shorter than its tag"};
  }
  size_t ct_size = ciphertext_and_tag.size() - kTagSize;
  return OpenDetachedInto(nonce, ciphertext_and_tag.first(ct_size),
                          ciphertext_and_tag.subspan(ct_size), aad, out);
}

Status Aead::OpenDetachedInto(std::span<const uint8_t> nonce, std::span<const uint8_t> ciphertext,
                              std::span<const uint8_t> tag, std::span<const uint8_t> aad,
                              std::span<uint8_t> out) const {
  // Whatever happens below, a failure leaves `out` zeroed: unauthenticated plaintext written
  // by EVP_DecryptUpdate never survives a failed tag check.
  auto fail = [&](Error error) -> Status {
    OPENSSL_cleanse(out.data(), out.size());
    return error;
  };
  if (nonce.size() != kNonceSize) {
    return fail(Error{ErrorCode::kCryptoBadNonceLength, "AEAD nonce must be 12 bytes"});
  }
  if (tag.size() != kTagSize) {
    return fail(Error{ErrorCode::kCryptoBadTagLength, "AEAD tag must be 16 bytes"});
  }
  if (ciphertext.size() > MaxPlaintextBytes(algorithm_)) {
    return fail(Error{ErrorCode::kCryptoMessageTooLong, "ciphertext too long for the AEAD"});
  }
  if (out.size() != ciphertext.size()) {
    return fail(Error{ErrorCode::kInvalidArgument, "OpenInto output must be ciphertext - 16"});
  }
  internal::EvpCipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  if (ctx == nullptr) {
    return fail(internal::OpenSslError(ErrorCode::kCryptoLibraryFailure, "EVP_CIPHER_CTX_new"));
  }
  std::span<const uint8_t> key = key_.Reveal(InsecureSecretAccess::Get());
  // EVP_CTRL_AEAD_SET_TAG copies the tag; the const_cast is for OpenSSL's void* parameter.
  if (EVP_DecryptInit_ex2(ctx.get(), CipherFor(algorithm_), key.data(), nonce.data(), nullptr) !=
          1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_TAG, static_cast<int>(kTagSize),
                          const_cast<uint8_t*>(tag.data())) != 1 ||
      !UpdateChunked(ctx.get(), aad, nullptr) ||
      !UpdateChunked(ctx.get(), ciphertext, out.data())) {
    return fail(internal::OpenSslError(ErrorCode::kCryptoLibraryFailure, "AEAD open"));
  }
  int final_len = 0;
  uint8_t final_block[16];
  if (EVP_DecryptFinal_ex(ctx.get(), final_block, &final_len) != 1 || final_len != 0) {
    internal::ClearOpenSslErrors();
    return fail(Error{ErrorCode::kCryptoAeadOpenFailed, "AEAD authentication failed"});
  }
  return OkStatus();
}

}  // namespace eml::crypto
