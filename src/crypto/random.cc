#include "crypto/random.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <algorithm>
#include <climits>

#include "crypto/internal/openssl_util.h"

namespace eml::crypto {

Status RandomBytes(std::span<uint8_t> out) {
  // RAND_bytes takes an int length; larger requests are served in chunks.
  constexpr size_t kMaxChunk = 1u << 30;
  for (size_t done = 0; done < out.size();) {
    std::span<uint8_t> chunk = out.subspan(done, std::min(kMaxChunk, out.size() - done));
    if (RAND_bytes(chunk.data(), static_cast<int>(chunk.size())) != 1) {
      OPENSSL_cleanse(out.data(), out.size());
      return internal::OpenSslError(ErrorCode::kCryptoRandomFailed, "RAND_bytes failed");
    }
    done += chunk.size();
  }
  return OkStatus();
}

Result<SecretBytes> RandomSecret(size_t size_bytes) {
  SecretBytes secret(size_bytes);
  EML_RETURN_IF_ERROR(RandomBytes(secret.MutableReveal(InsecureSecretAccess::Get())));
  return secret;
}

}  // namespace eml::crypto
