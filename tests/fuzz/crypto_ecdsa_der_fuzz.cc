// Fuzz target crypto_ecdsa_der: EcdsaPublicKey::VerifyDer (our strict DER signature parser)
// and VerifyRaw on arbitrary bytes with a fixed P-256 key (STYLE F2). Properties: never
// crashes; fails only with kCryptoBadSignatureLength or kCryptoSignatureInvalid; whatever
// verifies as DER (the seed is the RFC 6979 A.2.5 "sample" signature) stops verifying with a
// trailing byte appended or its SEQUENCE length in BER long form, and its r || s form, rebuilt
// from the DER integers, verifies through VerifyRaw.

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "common/check.h"
#include "common/encoding.h"
#include "crypto/ecdsa.h"

namespace {

const eml::crypto::EcdsaPublicKey& Key() {
  // RFC 6979 appendix A.2.5 P-256 public key.
  static const eml::crypto::EcdsaPublicKey key = [] {
    auto point = eml::HexDecode(
        "0460fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb67903fe1008b8bc99a41ae9e9"
        "5628bc64f2f1b20c2d7e9f5177a3c294d4462299");
    EML_CHECK(point.has_value());
    auto k = eml::crypto::EcdsaPublicKey::FromSec1(eml::crypto::EcdsaCurve::kP256, *point);
    EML_CHECK(k.has_value());
    return std::move(k).value();
  }();
  return key;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> input(data, size);
  const std::array<uint8_t, 6> message = {'s', 'a', 'm', 'p', 'l', 'e'};
  auto der_status = Key().VerifyDer(message, input);
  if (der_status.has_value()) {
    std::vector<uint8_t> trailing(input.begin(), input.end());
    trailing.push_back(0);
    EML_CHECK(Key().VerifyDer(message, trailing).code() ==
              eml::ErrorCode::kCryptoBadSignatureLength);
    // A verifying DER signature is 30 len 02 rlen r 02 slen s with short-form lengths.
    std::vector<uint8_t> long_form = {0x30, 0x81};
    long_form.insert(long_form.end(), input.begin() + 1, input.end());
    EML_CHECK(Key().VerifyDer(message, long_form).code() ==
              eml::ErrorCode::kCryptoBadSignatureLength);
    const size_t r_len = input[3];
    std::span<const uint8_t> r = input.subspan(4, r_len);
    std::span<const uint8_t> s = input.subspan(4 + r_len + 2);
    std::vector<uint8_t> raw(64, 0);
    std::copy(r.end() - static_cast<long>(std::min<size_t>(r.size(), 32)), r.end(),
              raw.begin() + static_cast<long>(32 - std::min<size_t>(r.size(), 32)));
    std::copy(s.end() - static_cast<long>(std::min<size_t>(s.size(), 32)), s.end(),
              raw.begin() + static_cast<long>(64 - std::min<size_t>(s.size(), 32)));
    EML_CHECK(Key().VerifyRaw(message, raw).has_value());
  } else {
    EML_CHECK(der_status.code() == eml::ErrorCode::kCryptoBadSignatureLength ||
              der_status.code() == eml::ErrorCode::kCryptoSignatureInvalid);
  }
  auto raw_status = Key().VerifyRaw(message, input);
  if (!raw_status.has_value()) {
    EML_CHECK(raw_status.code() == eml::ErrorCode::kCryptoBadSignatureLength ||
              raw_status.code() == eml::ErrorCode::kCryptoSignatureInvalid);
  }
  return 0;
}
