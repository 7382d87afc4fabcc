#include "crypto/ed25519.h"

#include <sodium.h>

#include <algorithm>
#include <mutex>

#include "common/check.h"
#include "crypto/internal/ed25519_small_order.h"
#include "crypto/internal/openssl_util.h"
#include "crypto/random.h"

namespace eml::crypto {
namespace {

using Bytes32 = std::array<uint8_t, 32>;

// p = 2^255 - 19 and the group order L = 2^252 + 27742317777372353535851937790883648493, both
// little-endian as Ed25519 encodes field elements and scalars.
constexpr Bytes32 kFieldPrimeLe = {0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                   0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                   0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f};
constexpr Bytes32 kGroupOrderLe = {0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7,
                                   0xa2, 0xde, 0xf9, 0xde, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                                   0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10};

// LessThanLe compares two little-endian 256-bit numbers (public values: no constant time
// needed). `mask_top_bit` drops bit 255 of `a` (the sign bit of an encoded point).
bool LessThanLe(std::span<const uint8_t> a, const Bytes32& b, bool mask_top_bit) {
  for (size_t i = 32; i-- > 0;) {
    uint8_t ai = a[i];
    if (i == 31 && mask_top_bit) {
      ai = static_cast<uint8_t>(ai & 0x7f);
    }
    if (ai != b[i]) {
      return ai < b[i];
    }
  }
  return false;
}

bool HasCanonicalY(std::span<const uint8_t> encoded) {
  return LessThanLe(encoded, kFieldPrimeLe, /*mask_top_bit=*/true);
}

bool IsSmallOrderEncoding(std::span<const uint8_t> encoded) {
  return std::any_of(
      internal::kEd25519SmallOrderEncodings.begin(), internal::kEd25519SmallOrderEncodings.end(),
      [&](const Bytes32& e) { return std::equal(e.begin(), e.end(), encoded.begin()); });
}

// DecodesToPoint reports whether a canonical-y encoding names a curve point: x^2 =
// (y^2 - 1) / (d*y^2 + 1) must be a square, and x = 0 must come with sign bit 0 (RFC 8032
// section 5.1.3). Public data, so plain BIGNUM arithmetic is fine. OpenSSL would find a bad
// point only inside Verify; checking here lets FromBytes reject it, as dalek does.
Result<bool> DecodesToPoint(std::span<const uint8_t> encoded) {
  internal::BnCtxPtr ctx(BN_CTX_new());
  internal::BignumPtr p(BN_lebin2bn(kFieldPrimeLe.data(), 32, nullptr));
  Bytes32 y_le;
  std::copy(encoded.begin(), encoded.end(), y_le.begin());
  bool sign = (y_le[31] & 0x80) != 0;
  y_le[31] = static_cast<uint8_t>(y_le[31] & 0x7f);
  internal::BignumPtr y(BN_lebin2bn(y_le.data(), 32, nullptr));
  internal::BignumPtr d(BN_new()), t(BN_new()), y2(BN_new()), u(BN_new()), v(BN_new()),
      x2(BN_new()), x(BN_new());
  if (ctx == nullptr || p == nullptr || y == nullptr || d == nullptr || t == nullptr ||
      y2 == nullptr || u == nullptr || v == nullptr || x2 == nullptr || x == nullptr) {
    return internal::OpenSslError(ErrorCode::kCryptoLibraryFailure, "BN allocation");
  }
  // d = -121665 / 121666 mod p.
  bool ok = BN_set_word(t.get(), 121666) == 1 &&
            BN_mod_inverse(d.get(), t.get(), p.get(), ctx.get()) != nullptr &&
            BN_set_word(t.get(), 121665) == 1 &&
            BN_mod_mul(d.get(), d.get(), t.get(), p.get(), ctx.get()) == 1 &&
            BN_mod_sub(d.get(), p.get(), d.get(), p.get(), ctx.get()) == 1 &&
            BN_mod_sqr(y2.get(), y.get(), p.get(), ctx.get()) == 1 &&
            BN_mod_sub(u.get(), y2.get(), BN_value_one(), p.get(), ctx.get()) == 1 &&
            BN_mod_mul(v.get(), d.get(), y2.get(), p.get(), ctx.get()) == 1 &&
            BN_mod_add(v.get(), v.get(), BN_value_one(), p.get(), ctx.get()) == 1 &&
            BN_mod_inverse(v.get(), v.get(), p.get(), ctx.get()) != nullptr &&
            BN_mod_mul(x2.get(), u.get(), v.get(), p.get(), ctx.get()) == 1;
  if (!ok) {
    return internal::OpenSslError(ErrorCode::kCryptoLibraryFailure, "Ed25519 point decode");
  }
  if (BN_is_zero(x2.get())) {
    internal::ClearOpenSslErrors();
    return !sign;
  }
  // BN_mod_sqrt fails (and queues an error) when x2 is not a square.
  bool is_square = BN_mod_sqrt(x.get(), x2.get(), p.get(), ctx.get()) != nullptr;
  internal::ClearOpenSslErrors();
  return is_square;
}

// Key derivation, signing and the verification equation run in libsodium: on our CPUs it signs
// in about 60% and verifies in about 50% of OpenSSL 3.0's time (OpenSSL also sets up a provider
// context per call). The strict checks and error codes stay ours.
void EnsureSodium() {
  static std::once_flag once;
  std::call_once(once, [] { EML_CHECK(sodium_init() >= 0); });
}

}  // namespace

Result<Ed25519PublicKey> Ed25519PublicKey::FromBytes(std::span<const uint8_t> bytes) {
  if (bytes.size() != kEd25519PublicKeySize) {
    return Error{ErrorCode::kCryptoBadKeyLength, "Ed25519 public key must be 32 bytes"};
  }
  if (!HasCanonicalY(bytes)) {
    return Error{ErrorCode::kCryptoNonCanonicalKey, "Ed25519 public key y >= p"};
  }
  if (IsSmallOrderEncoding(bytes)) {
    return Error{ErrorCode::kCryptoSmallOrderKey, "Ed25519 public key of small order"};
  }
  EML_ASSIGN_OR_RETURN(bool on_curve, DecodesToPoint(bytes));
  if (!on_curve) {
    return Error{ErrorCode::kCryptoBadKey, "Ed25519 public key is not a curve point"};
  }
  Bytes32 key;
  std::copy(bytes.begin(), bytes.end(), key.begin());
  return Ed25519PublicKey(key);
}

Status Ed25519PublicKey::Verify(std::span<const uint8_t> message,
                                std::span<const uint8_t> signature) const {
  if (signature.size() != kEd25519SignatureSize) {
    return Error{ErrorCode::kCryptoBadSignatureLength, "Ed25519 signature must be 64 bytes"};
  }
  std::span<const uint8_t> r = signature.first(32);
  std::span<const uint8_t> s = signature.subspan(32);
  // verify_strict rules: S canonical, R canonical and not of small order. (The key's own
  // checks ran in FromBytes.)
  if (!LessThanLe(s, kGroupOrderLe, /*mask_top_bit=*/false)) {
    return Error{ErrorCode::kCryptoNonCanonicalSignature, "Ed25519 S >= L"};
  }
  if (!HasCanonicalY(r)) {
    return Error{ErrorCode::kCryptoNonCanonicalSignature, "Ed25519 R not canonical"};
  }
  if (IsSmallOrderEncoding(r)) {
    return Error{ErrorCode::kCryptoNonCanonicalSignature, "Ed25519 R of small order"};
  }
  EnsureSodium();
  // libsodium repeats the S, R and key checks above (same rules) before the cofactorless
  // equation [S]B == R + [k]A, compared as encodings.
  const int rc = crypto_sign_verify_detached(signature.data(), internal::DataOrEmpty(message),
                                             message.size(), bytes_.data());
  if (rc != 0) {
    return Error{ErrorCode::kCryptoSignatureInvalid, "Ed25519 signature does not verify"};
  }
  return OkStatus();
}

Result<Ed25519PrivateKey> Ed25519PrivateKey::Generate() {
  EML_ASSIGN_OR_RETURN(SecretBytes seed, RandomSecret(kEd25519SeedSize));
  return FromSeed(seed);
}

Result<Ed25519PrivateKey> Ed25519PrivateKey::FromSeed(const SecretBytes& seed) {
  if (seed.size() != kEd25519SeedSize) {
    return Error{ErrorCode::kCryptoBadKeyLength, "Ed25519 seed must be 32 bytes"};
  }
  EnsureSodium();
  SecretBytes secret(crypto_sign_SECRETKEYBYTES);
  Bytes32 pub;
  if (crypto_sign_seed_keypair(pub.data(), secret.MutableReveal(InsecureSecretAccess::Get()).data(),
                               seed.Reveal(InsecureSecretAccess::Get()).data()) != 0) {
    return Error{ErrorCode::kCryptoLibraryFailure, "Ed25519 key derivation"};
  }
  // The public half of a clamped scalar is a multiple of the base point, never of small order,
  // and its encoding is canonical, so it is wrapped without the FromBytes checks.
  return Ed25519PrivateKey(std::move(secret), Ed25519PublicKey(pub));
}

std::array<uint8_t, kEd25519SignatureSize> Ed25519PrivateKey::Sign(
    std::span<const uint8_t> message) const {
  std::array<uint8_t, kEd25519SignatureSize> sig;
  const int rc =
      crypto_sign_detached(sig.data(), nullptr, internal::DataOrEmpty(message), message.size(),
                           secret_.Reveal(InsecureSecretAccess::Get()).data());
  EML_CHECK(rc == 0);
  return sig;
}

}  // namespace eml::crypto
