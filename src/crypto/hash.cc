#include "crypto/hash.h"

#include "common/check.h"
#include "crypto/internal/openssl_util.h"

namespace eml::crypto {
namespace {

template <size_t kDigestSize>
const EVP_MD* MdFor() {
  if constexpr (kDigestSize == kSha256Size) {
    return internal::Sha256Md();
  } else if constexpr (kDigestSize == kSha384Size) {
    return internal::Sha384Md();
  } else {
    static_assert(kDigestSize == kSha512Size);
    return internal::Sha512Md();
  }
}

template <size_t kDigestSize>
std::array<uint8_t, kDigestSize> OneShot(std::span<const uint8_t> data) {
  std::array<uint8_t, kDigestSize> out;
  unsigned int out_len = 0;
  // EVP_Digest takes a size_t length, so any span fits. It fails only on allocation failure.
  EML_CHECK(EVP_Digest(internal::DataOrEmpty(data), data.size(), out.data(), &out_len,
                       MdFor<kDigestSize>(), nullptr) == 1);
  EML_CHECK(out_len == kDigestSize);
  return out;
}

}  // namespace

std::array<uint8_t, kSha256Size> Sha256(std::span<const uint8_t> data) {
  return OneShot<kSha256Size>(data);
}
std::array<uint8_t, kSha384Size> Sha384(std::span<const uint8_t> data) {
  return OneShot<kSha384Size>(data);
}
std::array<uint8_t, kSha512Size> Sha512(std::span<const uint8_t> data) {
  return OneShot<kSha512Size>(data);
}

namespace internal {

struct HashState {
  EvpMdCtxPtr ctx;
};

void HashStateDeleter::operator()(HashState* state) const { delete state; }

}  // namespace internal

template <size_t kDigestSize>
Sha2Hasher<kDigestSize>::Sha2Hasher() : state_(new internal::HashState) {
  state_->ctx.reset(EVP_MD_CTX_new());
  EML_CHECK(state_->ctx != nullptr);
  EML_CHECK(EVP_DigestInit_ex2(state_->ctx.get(), MdFor<kDigestSize>(), nullptr) == 1);
}

template <size_t kDigestSize>
void Sha2Hasher<kDigestSize>::Update(std::span<const uint8_t> data) {
  EML_CHECK(state_ != nullptr);  // Use after move is a programming error.
  if (data.empty()) {
    return;
  }
  EML_CHECK(EVP_DigestUpdate(state_->ctx.get(), data.data(), data.size()) == 1);
}

template <size_t kDigestSize>
std::array<uint8_t, kDigestSize> Sha2Hasher<kDigestSize>::Finish() {
  EML_CHECK(state_ != nullptr);
  std::array<uint8_t, kDigestSize> out;
  unsigned int out_len = 0;
  EML_CHECK(EVP_DigestFinal_ex(state_->ctx.get(), out.data(), &out_len) == 1);
  EML_CHECK(out_len == kDigestSize);
  EML_CHECK(EVP_DigestInit_ex2(state_->ctx.get(), MdFor<kDigestSize>(), nullptr) == 1);
  return out;
}

template class Sha2Hasher<kSha256Size>;
template class Sha2Hasher<kSha384Size>;
template class Sha2Hasher<kSha512Size>;

}  // namespace eml::crypto
