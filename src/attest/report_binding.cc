#include "attest/report_binding.h"

#include <limits>

#include "common/byte_writer.h"
#include "common/check.h"
#include "common/encoding.h"
#include "crypto/hash.h"

namespace eml::attest {
namespace {

void PutLengthPrefixed(std::span<const uint8_t> bytes, crypto::Sha512Hasher& hasher) {
  EML_CHECK(bytes.size() <= std::numeric_limits<uint32_t>::max());
  ByteWriter length;
  length.PutU32Be(static_cast<uint32_t>(bytes.size()));
  hasher.Update(length.bytes());
  hasher.Update(bytes);
}

}  // namespace

std::array<uint8_t, kReportDataBytes> BindingDigest(std::span<const uint8_t> public_key,
                                                    std::span<const uint8_t> nonce) {
  crypto::Sha512Hasher hasher;
  hasher.Update(AsBytes(kBindingLabel));
  PutLengthPrefixed(public_key, hasher);
  PutLengthPrefixed(nonce, hasher);
  return hasher.Finish();
}

std::string GcpBindingNonce(std::span<const uint8_t> public_key, std::span<const uint8_t> nonce) {
  const std::array<uint8_t, kReportDataBytes> digest = BindingDigest(public_key, nonce);
  return HexEncode(std::span<const uint8_t>(digest).first(kGcpBindingNonceChars / 2));
}

std::vector<uint8_t> BoundNonce(std::span<const uint8_t> nonce,
                                std::span<const uint8_t> user_data) {
  std::vector<uint8_t> out(nonce.begin(), nonce.end());
  if (!user_data.empty()) {
    const std::array<uint8_t, 32> digest = crypto::Sha256(user_data);
    out.insert(out.end(), digest.begin(), digest.end());
  }
  return out;
}

}  // namespace eml::attest
