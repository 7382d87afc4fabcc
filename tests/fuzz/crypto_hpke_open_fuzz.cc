// Fuzz target crypto_hpke_open: the HPKE recipient (eml::crypto::HpkeOpen) on peer bytes.
// Input: byte 0 picks the AEAD (ChaCha20-Poly1305, AES-128-GCM, AES-256-GCM) and a bit
// position; the rest is enc (its first 32 bytes) || ciphertext. The recipient key for each AEAD
// is DeriveKeyPair(ikmR) of the RFC 9180 base-mode vector for that AEAD, with the vectors' info
// and the aad of their first message, so the seeds (made by make_hpke_seeds.py from the vectors)
// open successfully.
// Properties: HpkeOpen never crashes and fails only with kHpkeBadEncapsulatedKey or
// kHpkeOpenFailed; the rest of the input, sealed as a plaintext by a deterministic sender,
// opens to itself; with any one bit of that ciphertext flipped it fails with kHpkeOpenFailed.

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "common/check.h"
#include "common/encoding.h"
#include "common/secret_bytes.h"
#include "crypto/hpke.h"
#include "crypto/x25519.h"

namespace {

using eml::ErrorCode;
using eml::SecretBytes;
using eml::crypto::HpkeSuite;
using eml::crypto::X25519PrivateKey;

struct Recipient {
  HpkeSuite suite;
  X25519PrivateKey sk_r;
};

Recipient MakeRecipient(uint16_t aead_id, std::string_view ikm_r_hex) {
  auto suite = HpkeSuite::Create(0x0020, 0x0001, aead_id);
  EML_CHECK(suite.has_value());
  auto ikm = eml::HexDecode(ikm_r_hex);
  EML_CHECK(ikm.has_value());
  auto sk_r = eml::crypto::HpkeDeriveKeyPair(*suite, SecretBytes::CopyFrom(*ikm));
  EML_CHECK(sk_r.has_value());
  return Recipient{*suite, std::move(*sk_r)};
}

const std::array<Recipient, 3>& Recipients() {
  // ikmR of the RFC 9180 mode-0 vectors for AEAD 0x0003, 0x0001, 0x0002.
  static const std::array<Recipient, 3> recipients = {
      MakeRecipient(0x0003, "1ac01f181fdf9f352797655161c58b75c656a6cc2716dcb66372da835542e1df"),
      MakeRecipient(0x0001, "6db9df30aa07dd42ee5e8181afdb977e538f5e1fec8a06223f33f7013e525037"),
      MakeRecipient(0x0002, "dac33b0e9db1b59dbbea58d59a14e7b5896e9bdf98fad6891e99d1686492b9ee"),
  };
  return recipients;
}

const X25519PrivateKey& EphemeralKey() {
  static const X25519PrivateKey sk_e = [] {
    auto suite = HpkeSuite::Create(0x0020, 0x0001, 0x0003);
    EML_CHECK(suite.has_value());
    auto key = eml::crypto::HpkeDeriveKeyPair(
        *suite, SecretBytes::CopyFrom(std::vector<uint8_t>(32, 0xe7)));
    EML_CHECK(key.has_value());
    return std::move(*key);
  }();
  return sk_e;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) {
    return 0;
  }
  const std::span<const uint8_t> input(data, size);
  const uint8_t selector = input[0];
  const std::span<const uint8_t> rest = input.subspan(1);
  const Recipient& recipient = Recipients()[selector % 3];
  const std::string_view info_text = "Ode on a Grecian Urn";
  const std::string_view aad_text = "Count-0";
  const std::span<const uint8_t> info = eml::AsBytes(info_text);
  const std::span<const uint8_t> aad = eml::AsBytes(aad_text);

  // 1. Peer bytes as enc || ciphertext.
  const size_t enc_size = rest.size() < 32 ? rest.size() : 32;
  auto opened = eml::crypto::HpkeOpen(recipient.suite, rest.first(enc_size), recipient.sk_r, info,
                                      aad, rest.subspan(enc_size));
  if (!opened.has_value()) {
    EML_CHECK(opened.code() == ErrorCode::kHpkeBadEncapsulatedKey ||
              opened.code() == ErrorCode::kHpkeOpenFailed);
  }

  // 2. Peer bytes as a plaintext: round trip, then a one-bit change must be caught.
  auto sender = eml::crypto::HpkeSetupBaseSenderForTest(
      recipient.suite, recipient.sk_r.public_key(), info, EphemeralKey());
  EML_CHECK(sender.has_value());
  auto sealed = sender->context.Seal(rest, aad);
  EML_CHECK(sealed.has_value());
  auto back =
      eml::crypto::HpkeOpen(recipient.suite, sender->enc, recipient.sk_r, info, aad, *sealed);
  EML_CHECK(back.has_value());
  EML_CHECK(back->size() == rest.size() && std::equal(back->begin(), back->end(), rest.begin()));
  std::vector<uint8_t> tampered = *sealed;
  const size_t bit = (static_cast<size_t>(selector) * 7 + rest.size()) % (tampered.size() * 8);
  tampered[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
  auto forged =
      eml::crypto::HpkeOpen(recipient.suite, sender->enc, recipient.sk_r, info, aad, tampered);
  EML_CHECK(forged.code() == ErrorCode::kHpkeOpenFailed);
  return 0;
}
