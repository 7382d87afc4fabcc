#include "crypto/hpke.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "common/encoding.h"
#include "common/secret_bytes.h"
#include "crypto/aead.h"
#include "crypto/internal/hpke_internal.h"
#include "crypto/x25519.h"
#include "testing/test_util.h"

namespace eml::crypto {
namespace {

using ::eml::testing::HasError;
using ::eml::testing::Hex;
using ::eml::testing::IsOk;
using ::testing::ElementsAreArray;

constexpr uint16_t kKemX25519 = 0x0020;
constexpr uint16_t kKdfSha256 = 0x0001;
constexpr uint16_t kAeadExportOnly = 0xFFFF;
constexpr uint64_t kMaxSeq = std::numeric_limits<uint64_t>::max();

std::vector<uint8_t> Reveal(const SecretBytes& s) {
  const auto bytes = s.Reveal(InsecureSecretAccess::Get());
  return {bytes.begin(), bytes.end()};
}

SecretBytes SecretHex(const std::string& hex) { return SecretBytes::CopyFrom(Hex(hex)); }

std::vector<uint8_t> Text(std::string_view text) {
  const auto bytes = AsBytes(text);
  return {bytes.begin(), bytes.end()};
}

HpkeSuite Suite(uint16_t aead_id) { return *HpkeSuite::Create(kKemX25519, kKdfSha256, aead_id); }

X25519PrivateKey KeyFromSeed(uint8_t seed) {
  const HpkeSuite suite = Suite(0x0003);
  return *HpkeDeriveKeyPair(suite, SecretBytes::CopyFrom(std::vector<uint8_t>(32, seed)));
}

SecretBytes Psk() { return SecretBytes::CopyFrom(std::vector<uint8_t>(32, 0x5a)); }

// ---------------------------------------------------------------------------------------------
// RFC 9180 test vectors.

// Counts of what the vector driver ran, checked against the numbers computed independently
// from the JSON (see HpkeVectorTest.Rfc9180X25519Sha256).
struct VectorTally {
  int cases_run = 0;
  int auth_cases_skipped = 0;
  int encryptions_checked = 0;
  int exports_checked = 0;
  int export_only_cases = 0;
};

// Fails the test if `object` has a key the driver does not read (STYLE T3).
void ExpectOnlyKnownKeys(const nlohmann::json& object, const std::set<std::string>& known) {
  for (const auto& [key, unused] : object.items()) {
    EXPECT_TRUE(known.contains(key)) << "vector field not read by the driver: " << key;
  }
}

void RunVectorCase(const nlohmann::json& v, VectorTally& tally) {
  const int mode = v.at("mode").get<int>();
  const bool psk_mode = mode == 1;
  std::set<std::string> known = {"mode",          "kem_id",
                                 "kdf_id",        "aead_id",
                                 "info",          "ikmR",
                                 "ikmE",          "skRm",
                                 "skEm",          "pkRm",
                                 "pkEm",          "enc",
                                 "shared_secret", "key_schedule_context",
                                 "secret",        "key",
                                 "base_nonce",    "exporter_secret",
                                 "encryptions",   "exports"};
  if (psk_mode) {
    known.insert({"psk", "psk_id"});
  }
  ExpectOnlyKnownKeys(v, known);

  auto suite_or = HpkeSuite::Create(v.at("kem_id").get<uint16_t>(), v.at("kdf_id").get<uint16_t>(),
                                    v.at("aead_id").get<uint16_t>());
  ASSERT_THAT(suite_or, IsOk());
  const HpkeSuite suite = *suite_or;
  const std::vector<uint8_t> info = Hex(v.at("info"));
  const SecretBytes psk = psk_mode ? SecretHex(v.at("psk")) : SecretBytes();
  const std::vector<uint8_t> psk_id = psk_mode ? Hex(v.at("psk_id")) : std::vector<uint8_t>();

  // DeriveKeyPair for both key pairs.
  const SecretBytes ikm_e = SecretHex(v.at("ikmE"));
  const SecretBytes ikm_r = SecretHex(v.at("ikmR"));
  auto sk_em = internal::HpkeDeriveX25519SecretKey(ikm_e);
  auto sk_rm = internal::HpkeDeriveX25519SecretKey(ikm_r);
  ASSERT_THAT(sk_em, IsOk());
  ASSERT_THAT(sk_rm, IsOk());
  EXPECT_EQ(Reveal(*sk_em), Hex(v.at("skEm")));
  EXPECT_EQ(Reveal(*sk_rm), Hex(v.at("skRm")));
  auto sk_e = HpkeDeriveKeyPair(suite, ikm_e);
  auto sk_r = HpkeDeriveKeyPair(suite, ikm_r);
  ASSERT_THAT(sk_e, IsOk());
  ASSERT_THAT(sk_r, IsOk());
  EXPECT_EQ(Reveal(sk_r->ExportBytesForTest()), Hex(v.at("skRm")));
  EXPECT_THAT(sk_e->public_key().bytes(), ElementsAreArray(Hex(v.at("pkEm"))));
  EXPECT_THAT(sk_r->public_key().bytes(), ElementsAreArray(Hex(v.at("pkRm"))));

  // KEM.
  const std::vector<uint8_t> enc = Hex(v.at("enc"));
  auto encap = internal::HpkeEncap(sk_r->public_key(), *sk_e);
  ASSERT_THAT(encap, IsOk());
  EXPECT_EQ(encap->enc, enc);
  EXPECT_EQ(Reveal(encap->shared_secret), Hex(v.at("shared_secret")));
  auto decap = internal::HpkeDecap(enc, *sk_r);
  ASSERT_THAT(decap, IsOk());
  EXPECT_EQ(Reveal(*decap), Hex(v.at("shared_secret")));

  // Key schedule.
  auto schedule = internal::HpkeKeySchedule(suite, psk_mode ? HpkeMode::kPsk : HpkeMode::kBase,
                                            *decap, info, psk, psk_id);
  ASSERT_THAT(schedule, IsOk());
  EXPECT_EQ(schedule->key_schedule_context, Hex(v.at("key_schedule_context")));
  EXPECT_EQ(Reveal(schedule->secret), Hex(v.at("secret")));
  EXPECT_EQ(Reveal(schedule->key), Hex(v.at("key")));
  EXPECT_EQ(Reveal(schedule->base_nonce), Hex(v.at("base_nonce")));
  EXPECT_EQ(Reveal(schedule->exporter_secret), Hex(v.at("exporter_secret")));

  // Contexts through the public API (deterministic sender).
  auto sender = psk_mode
                    ? HpkeSetupPskSenderForTest(suite, sk_r->public_key(), info, psk, psk_id, *sk_e)
                    : HpkeSetupBaseSenderForTest(suite, sk_r->public_key(), info, *sk_e);
  ASSERT_THAT(sender, IsOk());
  EXPECT_EQ(sender->enc, enc);
  auto recipient = psk_mode ? HpkeSetupPskRecipient(suite, enc, *sk_r, info, psk, psk_id)
                            : HpkeSetupBaseRecipient(suite, enc, *sk_r, info);
  ASSERT_THAT(recipient, IsOk());

  const std::vector<uint8_t> base_nonce = Reveal(schedule->base_nonce);
  uint64_t seq = 0;
  for (const auto& e : v.at("encryptions")) {
    ExpectOnlyKnownKeys(e, {"aad", "ct", "nonce", "pt"});
    // The vectors list every message in sequence order; the nonce is base_nonce XOR seq.
    std::vector<uint8_t> expected_nonce = base_nonce;
    for (size_t i = 0; i < 8; ++i) {
      expected_nonce[expected_nonce.size() - 1 - i] ^= static_cast<uint8_t>(seq >> (8 * i));
    }
    EXPECT_EQ(Hex(e.at("nonce")), expected_nonce) << "seq " << seq;
    const std::vector<uint8_t> pt = Hex(e.at("pt"));
    const std::vector<uint8_t> aad = Hex(e.at("aad"));
    const std::vector<uint8_t> ct = Hex(e.at("ct"));
    auto sealed = sender->context.Seal(pt, aad);
    ASSERT_THAT(sealed, IsOk()) << "seq " << seq;
    EXPECT_EQ(*sealed, ct) << "seq " << seq;
    auto opened = recipient->Open(ct, aad);
    ASSERT_THAT(opened, IsOk()) << "seq " << seq;
    EXPECT_EQ(*opened, pt) << "seq " << seq;
    ++seq;
    ++tally.encryptions_checked;
  }
  EXPECT_EQ(sender->context.sequence_number(), seq);
  EXPECT_EQ(recipient->sequence_number(), seq);

  if (suite.is_export_only()) {
    ++tally.export_only_cases;
    EXPECT_TRUE(v.at("encryptions").empty());
    EXPECT_THAT(sender->context.Seal(Text("x"), {}), HasError(ErrorCode::kHpkeExportOnly));
  }

  for (const auto& x : v.at("exports")) {
    ExpectOnlyKnownKeys(x, {"exporter_context", "L", "exported_value"});
    const std::vector<uint8_t> exporter_context = Hex(x.at("exporter_context"));
    const size_t length = x.at("L").get<size_t>();
    const std::vector<uint8_t> expected = Hex(x.at("exported_value"));
    auto from_sender = sender->context.Export(exporter_context, length);
    auto from_recipient = recipient->Export(exporter_context, length);
    ASSERT_THAT(from_sender, IsOk());
    ASSERT_THAT(from_recipient, IsOk());
    EXPECT_EQ(Reveal(*from_sender), expected);
    EXPECT_EQ(Reveal(*from_recipient), expected);
    ++tally.exports_checked;
  }
  ++tally.cases_run;
}

// Walks the vectors with kem_id 0x20, kdf_id 0x01 in `vectors`; auth modes are counted, not run.
VectorTally RunVectors(const nlohmann::json& vectors, int* x25519_sha256_total) {
  VectorTally tally;
  *x25519_sha256_total = 0;
  for (const auto& v : vectors) {
    if (v.at("kem_id").get<int>() != kKemX25519 || v.at("kdf_id").get<int>() != kKdfSha256) {
      continue;
    }
    ++*x25519_sha256_total;
    const int mode = v.at("mode").get<int>();
    if (mode == 2 || mode == 3) {  // auth, auth_psk: not implemented
      ++tally.auth_cases_skipped;
      continue;
    }
    EXPECT_TRUE(mode == 0 || mode == 1) << "unknown mode " << mode;
    SCOPED_TRACE("mode " + std::to_string(mode) + " aead " +
                 std::to_string(v.at("aead_id").get<int>()));
    RunVectorCase(v, tally);
  }
  return tally;
}

// The expected counts were computed from the full file with Python, independently of this
// driver:
//   vs = [v for v in json.load(gzip.open("test-vectors-rfc9180-5f503c5.json.gz"))
//         if v["kem_id"] == 0x20 and v["kdf_id"] == 1]
//   len(vs) == 16  (of 128 in the file): one per (mode 0..3) x (aead 1, 2, 3, 0xFFFF)
//   modes 0/1: 8 cases; modes 2/3: 8 cases (skipped)
//   sum(len(v["encryptions"]) for modes 0/1) == 6 * 257 == 1542 (export-only cases have none)
//   sum(len(v["exports"]) for modes 0/1) == 8 * 3 == 24
constexpr int kExpectedX25519Sha256Cases = 16;
constexpr int kExpectedCasesRun = 8;
constexpr int kExpectedAuthSkipped = 8;
constexpr int kExpectedEncryptions = 1542;
constexpr int kExpectedExports = 24;
constexpr int kExpectedExportOnlyCases = 2;

TEST(HpkeVectorTest, Rfc9180X25519Sha256) {
  const nlohmann::json full =
      testing::ReadJson(testing::SharedVectorPath("hpke/test-vectors-rfc9180-5f503c5.json.gz"));
  ASSERT_TRUE(full.is_array());
  EXPECT_EQ(full.size(), 128u);  // every suite and mode in the upstream file
  int total = 0;
  const VectorTally tally = RunVectors(full, &total);
  EXPECT_EQ(total, kExpectedX25519Sha256Cases);
  EXPECT_EQ(tally.cases_run, kExpectedCasesRun);
  EXPECT_EQ(tally.auth_cases_skipped, kExpectedAuthSkipped);
  EXPECT_EQ(tally.encryptions_checked, kExpectedEncryptions);
  EXPECT_EQ(tally.exports_checked, kExpectedExports);
  EXPECT_EQ(tally.export_only_cases, kExpectedExportOnlyCases);
}

// Cross-check: the subset file holds exactly the X25519/SHA-256 cases of the full file.
TEST(HpkeVectorTest, SubsetFileMatchesFullFile) {
  const nlohmann::json full =
      testing::ReadJson(testing::SharedVectorPath("hpke/test-vectors-rfc9180-5f503c5.json.gz"));
  const nlohmann::json subset =
      testing::ReadJson(testing::SharedVectorPath("hpke/rfc9180-x25519-sha256-subset.json"));
  ASSERT_TRUE(subset.is_array());
  std::vector<nlohmann::json> from_full;
  for (const auto& v : full) {
    if (v.at("kem_id").get<int>() == kKemX25519 && v.at("kdf_id").get<int>() == kKdfSha256) {
      from_full.push_back(v);
    }
  }
  ASSERT_EQ(subset.size(), from_full.size());
  for (size_t i = 0; i < from_full.size(); ++i) {
    EXPECT_EQ(subset[i], from_full[i]) << "case " << i;
  }
  int total = 0;
  const VectorTally tally = RunVectors(subset, &total);
  EXPECT_EQ(total, kExpectedX25519Sha256Cases);
  EXPECT_EQ(tally.cases_run, kExpectedCasesRun);
  EXPECT_EQ(tally.encryptions_checked, kExpectedEncryptions);
  EXPECT_EQ(tally.exports_checked, kExpectedExports);
}

// ---------------------------------------------------------------------------------------------
// Suites.

TEST(HpkeSuiteTest, AcceptsSupportedSuites) {
  for (uint16_t aead : {uint16_t{1}, uint16_t{2}, uint16_t{3}, kAeadExportOnly}) {
    auto suite = HpkeSuite::Create(kKemX25519, kKdfSha256, aead);
    ASSERT_THAT(suite, IsOk());
    EXPECT_EQ(static_cast<uint16_t>(suite->aead()), aead);
    EXPECT_EQ(suite->is_export_only(), aead == kAeadExportOnly);
  }
  auto typed = HpkeSuite::Create(HpkeKem::kDhkemX25519HkdfSha256, HpkeKdf::kHkdfSha256,
                                 HpkeAead::kChaCha20Poly1305);
  ASSERT_THAT(typed, IsOk());
  EXPECT_EQ(*typed, Suite(3));
}

TEST(HpkeSuiteTest, RejectsUnsupportedIds) {
  // P-256 and X448 KEMs, HKDF-SHA384/512, AEAD 0 and 4: all registered, none supported here.
  EXPECT_THAT(HpkeSuite::Create(0x0010, kKdfSha256, 3), HasError(ErrorCode::kHpkeUnsupportedSuite));
  EXPECT_THAT(HpkeSuite::Create(0x0021, kKdfSha256, 3), HasError(ErrorCode::kHpkeUnsupportedSuite));
  EXPECT_THAT(HpkeSuite::Create(kKemX25519, 0x0002, 3), HasError(ErrorCode::kHpkeUnsupportedSuite));
  EXPECT_THAT(HpkeSuite::Create(kKemX25519, 0x0003, 3), HasError(ErrorCode::kHpkeUnsupportedSuite));
  EXPECT_THAT(HpkeSuite::Create(kKemX25519, kKdfSha256, 0),
              HasError(ErrorCode::kHpkeUnsupportedSuite));
  EXPECT_THAT(HpkeSuite::Create(kKemX25519, kKdfSha256, 4),
              HasError(ErrorCode::kHpkeUnsupportedSuite));
  EXPECT_THAT(HpkeSuite::Create(HpkeKem::kDhkemX25519HkdfSha256, HpkeKdf::kHkdfSha256,
                                static_cast<HpkeAead>(0x1234)),
              HasError(ErrorCode::kHpkeUnsupportedSuite));
}

// ---------------------------------------------------------------------------------------------
// Round trips.

class HpkeAeadTest : public ::testing::TestWithParam<uint16_t> {};

TEST_P(HpkeAeadTest, BaseModeRoundTripManyMessages) {
  const HpkeSuite suite = Suite(GetParam());
  const X25519PrivateKey sk_r = KeyFromSeed(1);
  auto sender = HpkeSetupBaseSender(suite, sk_r.public_key(), Text("info"));
  ASSERT_THAT(sender, IsOk());
  auto recipient = HpkeSetupBaseRecipient(suite, sender->enc, sk_r, Text("info"));
  ASSERT_THAT(recipient, IsOk());
  for (int i = 0; i < 5; ++i) {
    const std::vector<uint8_t> pt = Text("message " + std::to_string(i));
    const std::vector<uint8_t> aad = Text("aad " + std::to_string(i));
    auto ct = sender->context.Seal(pt, aad);
    ASSERT_THAT(ct, IsOk());
    EXPECT_EQ(ct->size(), pt.size() + Aead::kTagSize);
    auto opened = recipient->Open(*ct, aad);
    ASSERT_THAT(opened, IsOk());
    EXPECT_EQ(*opened, pt);
  }
  auto a = sender->context.Export(Text("ctx"), 42);
  auto b = recipient->Export(Text("ctx"), 42);
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  EXPECT_EQ(a->size(), 42u);
  EXPECT_EQ(Reveal(*a), Reveal(*b));
}

TEST_P(HpkeAeadTest, PskModeRoundTrip) {
  const HpkeSuite suite = Suite(GetParam());
  const X25519PrivateKey sk_r = KeyFromSeed(2);
  auto sender = HpkeSetupPskSender(suite, sk_r.public_key(), Text("info"), Psk(), Text("id"));
  ASSERT_THAT(sender, IsOk());
  auto recipient = HpkeSetupPskRecipient(suite, sender->enc, sk_r, Text("info"), Psk(), Text("id"));
  ASSERT_THAT(recipient, IsOk());
  auto ct = sender->context.Seal(Text("secret"), Text("aad"));
  ASSERT_THAT(ct, IsOk());
  auto opened = recipient->Open(*ct, Text("aad"));
  ASSERT_THAT(opened, IsOk());
  EXPECT_EQ(*opened, Text("secret"));
}

TEST_P(HpkeAeadTest, SingleShotRoundTripUsesFreshEphemeralKeys) {
  const HpkeSuite suite = Suite(GetParam());
  const X25519PrivateKey sk_r = KeyFromSeed(3);
  auto one = HpkeSeal(suite, sk_r.public_key(), Text("info"), Text("aad"), Text("hello"));
  auto two = HpkeSeal(suite, sk_r.public_key(), Text("info"), Text("aad"), Text("hello"));
  ASSERT_THAT(one, IsOk());
  ASSERT_THAT(two, IsOk());
  EXPECT_EQ(one->enc.size(), kHpkeX25519EncSize);
  EXPECT_NE(one->enc, two->enc);
  EXPECT_NE(one->ciphertext, two->ciphertext);
  auto opened = HpkeOpen(suite, one->enc, sk_r, Text("info"), Text("aad"), one->ciphertext);
  ASSERT_THAT(opened, IsOk());
  EXPECT_EQ(*opened, Text("hello"));
  auto empty = HpkeSeal(suite, sk_r.public_key(), {}, {}, {});
  ASSERT_THAT(empty, IsOk());
  auto opened_empty = HpkeOpen(suite, empty->enc, sk_r, {}, {}, empty->ciphertext);
  ASSERT_THAT(opened_empty, IsOk());
  EXPECT_TRUE(opened_empty->empty());
}

INSTANTIATE_TEST_SUITE_P(AllAeads, HpkeAeadTest,
                         ::testing::Values(uint16_t{1}, uint16_t{2}, uint16_t{3}));

// ---------------------------------------------------------------------------------------------
// Open failures: kHpkeOpenFailed.

struct SealedMessage {
  std::vector<uint8_t> enc;
  std::vector<uint8_t> ciphertext;
};

SealedMessage SealHello(const HpkeSuite& suite, const X25519PrivateKey& sk_r) {
  auto sealed = HpkeSeal(suite, sk_r.public_key(), Text("info"), Text("aad"), Text("hello"));
  EXPECT_THAT(sealed, IsOk());
  return {sealed->enc, sealed->ciphertext};
}

TEST(HpkeOpenTest, WrongRecipientKeyFails) {
  const HpkeSuite suite = Suite(3);
  const SealedMessage m = SealHello(suite, KeyFromSeed(1));
  EXPECT_THAT(HpkeOpen(suite, m.enc, KeyFromSeed(2), Text("info"), Text("aad"), m.ciphertext),
              HasError(ErrorCode::kHpkeOpenFailed));
}

TEST(HpkeOpenTest, TamperedCiphertextFails) {
  const HpkeSuite suite = Suite(3);
  const X25519PrivateKey sk_r = KeyFromSeed(1);
  const SealedMessage m = SealHello(suite, sk_r);
  // Every byte position: body and tag.
  for (size_t i = 0; i < m.ciphertext.size(); ++i) {
    std::vector<uint8_t> tampered = m.ciphertext;
    tampered[i] ^= 0x01;
    EXPECT_THAT(HpkeOpen(suite, m.enc, sk_r, Text("info"), Text("aad"), tampered),
                HasError(ErrorCode::kHpkeOpenFailed))
        << "byte " << i;
  }
}

TEST(HpkeOpenTest, TruncatedCiphertextFails) {
  const HpkeSuite suite = Suite(1);
  const X25519PrivateKey sk_r = KeyFromSeed(1);
  const SealedMessage m = SealHello(suite, sk_r);
  for (size_t n : {size_t{0}, size_t{15}, m.ciphertext.size() - 1}) {
    const std::vector<uint8_t> cut(m.ciphertext.begin(),
                                   m.ciphertext.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_THAT(HpkeOpen(suite, m.enc, sk_r, Text("info"), Text("aad"), cut),
                HasError(ErrorCode::kHpkeOpenFailed))
        << n << " bytes";
  }
}

TEST(HpkeOpenTest, TamperedAadFails) {
  const HpkeSuite suite = Suite(2);
  const X25519PrivateKey sk_r = KeyFromSeed(1);
  const SealedMessage m = SealHello(suite, sk_r);
  EXPECT_THAT(HpkeOpen(suite, m.enc, sk_r, Text("info"), Text("aae"), m.ciphertext),
              HasError(ErrorCode::kHpkeOpenFailed));
  EXPECT_THAT(HpkeOpen(suite, m.enc, sk_r, Text("info"), {}, m.ciphertext),
              HasError(ErrorCode::kHpkeOpenFailed));
}

TEST(HpkeOpenTest, WrongInfoFails) {
  const HpkeSuite suite = Suite(3);
  const X25519PrivateKey sk_r = KeyFromSeed(1);
  const SealedMessage m = SealHello(suite, sk_r);
  EXPECT_THAT(HpkeOpen(suite, m.enc, sk_r, Text("infO"), Text("aad"), m.ciphertext),
              HasError(ErrorCode::kHpkeOpenFailed));
}

TEST(HpkeOpenTest, TamperedEncFails) {
  const HpkeSuite suite = Suite(3);
  const X25519PrivateKey sk_r = KeyFromSeed(1);
  const SealedMessage m = SealHello(suite, sk_r);
  std::vector<uint8_t> enc = m.enc;
  enc[7] ^= 0x40;  // another valid point: a different shared secret
  EXPECT_THAT(HpkeOpen(suite, enc, sk_r, Text("info"), Text("aad"), m.ciphertext),
              HasError(ErrorCode::kHpkeOpenFailed));
}

TEST(HpkeOpenTest, WrongSuiteFails) {
  const X25519PrivateKey sk_r = KeyFromSeed(1);
  const SealedMessage m = SealHello(Suite(1), sk_r);
  // AES-256-GCM has another key size and the suite id enters the key schedule.
  EXPECT_THAT(HpkeOpen(Suite(2), m.enc, sk_r, Text("info"), Text("aad"), m.ciphertext),
              HasError(ErrorCode::kHpkeOpenFailed));
}

TEST(HpkeOpenTest, FailureLeavesSequenceNumberUnchanged) {
  const HpkeSuite suite = Suite(3);
  const X25519PrivateKey sk_r = KeyFromSeed(1);
  auto sender = HpkeSetupBaseSender(suite, sk_r.public_key(), {});
  ASSERT_THAT(sender, IsOk());
  auto recipient = HpkeSetupBaseRecipient(suite, sender->enc, sk_r, {});
  ASSERT_THAT(recipient, IsOk());
  auto first = sender->context.Seal(Text("first"), {});
  auto second = sender->context.Seal(Text("second"), {});
  ASSERT_THAT(first, IsOk());
  ASSERT_THAT(second, IsOk());
  // Out of order: the second message does not open under seq 0.
  EXPECT_THAT(recipient->Open(*second, {}), HasError(ErrorCode::kHpkeOpenFailed));
  EXPECT_EQ(recipient->sequence_number(), 0u);
  auto opened_first = recipient->Open(*first, {});
  ASSERT_THAT(opened_first, IsOk());
  EXPECT_EQ(*opened_first, Text("first"));
  auto opened_second = recipient->Open(*second, {});
  ASSERT_THAT(opened_second, IsOk());
  EXPECT_EQ(*opened_second, Text("second"));
  // Replaying the first message fails too.
  EXPECT_THAT(recipient->Open(*first, {}), HasError(ErrorCode::kHpkeOpenFailed));
}

// ---------------------------------------------------------------------------------------------
// Encapsulated key: kHpkeBadEncapsulatedKey.

TEST(HpkeEncTest, WrongLengthIsRejected) {
  const HpkeSuite suite = Suite(3);
  const X25519PrivateKey sk_r = KeyFromSeed(1);
  const SealedMessage m = SealHello(suite, sk_r);
  for (size_t n : {size_t{0}, size_t{31}, size_t{33}, size_t{65}}) {
    std::vector<uint8_t> enc = m.enc;
    enc.resize(n, 0x09);
    EXPECT_THAT(HpkeSetupBaseRecipient(suite, enc, sk_r, Text("info")),
                HasError(ErrorCode::kHpkeBadEncapsulatedKey))
        << n << " bytes";
    EXPECT_THAT(HpkeOpen(suite, enc, sk_r, Text("info"), Text("aad"), m.ciphertext),
                HasError(ErrorCode::kHpkeBadEncapsulatedKey))
        << n << " bytes";
  }
}

// The X25519 points of small order (RFC 7748 section 7 / the Curve25519 "twist" list), plus
// non-canonical encodings of 0 and 1 (p and p + 1), and the same with the top bit set. Each gives
// the all-zero DH output, which DHKEM must reject.
const char* const kSmallOrderPoints[] = {
    "0000000000000000000000000000000000000000000000000000000000000000",  // 0
    "0100000000000000000000000000000000000000000000000000000000000000",  // 1
    "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",  // order 8
    "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",  // order 8
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  // p - 1 (order 2)
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  // p = 0
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  // p + 1 = 1
    "0000000000000000000000000000000000000000000000000000000000000080",  // 0, top bit set
    "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b880",  // order 8, top bit
};

TEST(HpkeEncTest, SmallOrderEncIsRejected) {
  const HpkeSuite suite = Suite(3);
  const X25519PrivateKey sk_r = KeyFromSeed(1);
  for (const char* hex : kSmallOrderPoints) {
    const std::vector<uint8_t> enc = Hex(hex);
    EXPECT_THAT(HpkeSetupBaseRecipient(suite, enc, sk_r, Text("info")),
                HasError(ErrorCode::kHpkeBadEncapsulatedKey))
        << hex;
    EXPECT_THAT(HpkeSetupPskRecipient(suite, enc, sk_r, Text("info"), Psk(), Text("id")),
                HasError(ErrorCode::kHpkeBadEncapsulatedKey))
        << hex;
  }
}

TEST(HpkeEncTest, SmallOrderRecipientKeyIsRejectedBySender) {
  const HpkeSuite suite = Suite(3);
  for (const char* hex : kSmallOrderPoints) {
    auto pk_r = X25519PublicKey::FromBytes(Hex(hex));
    ASSERT_THAT(pk_r, IsOk());  // FromBytes checks only the length (x25519.h)
    EXPECT_THAT(HpkeSetupBaseSender(suite, *pk_r, Text("info")),
                HasError(ErrorCode::kCryptoAllZeroSharedSecret))
        << hex;
    EXPECT_THAT(HpkeSeal(suite, *pk_r, Text("info"), {}, Text("x")),
                HasError(ErrorCode::kCryptoAllZeroSharedSecret))
        << hex;
  }
}

// ---------------------------------------------------------------------------------------------
// PSK inputs: kHpkeBadPskInputs.

TEST(HpkePskTest, MissingOrShortPskIsRejected) {
  const HpkeSuite suite = Suite(3);
  const X25519PrivateKey sk_r = KeyFromSeed(1);
  const std::vector<uint8_t> enc(sk_r.public_key().bytes().begin(),
                                 sk_r.public_key().bytes().end());
  const SecretBytes short_psk = SecretBytes::CopyFrom(std::vector<uint8_t>(31, 7));
  EXPECT_THAT(HpkeSetupPskSender(suite, sk_r.public_key(), {}, SecretBytes(), Text("id")),
              HasError(ErrorCode::kHpkeBadPskInputs));
  EXPECT_THAT(HpkeSetupPskSender(suite, sk_r.public_key(), {}, Psk(), {}),
              HasError(ErrorCode::kHpkeBadPskInputs));
  EXPECT_THAT(HpkeSetupPskSender(suite, sk_r.public_key(), {}, short_psk, Text("id")),
              HasError(ErrorCode::kHpkeBadPskInputs));
  EXPECT_THAT(HpkeSetupPskRecipient(suite, enc, sk_r, {}, SecretBytes(), Text("id")),
              HasError(ErrorCode::kHpkeBadPskInputs));
  EXPECT_THAT(HpkeSetupPskRecipient(suite, enc, sk_r, {}, Psk(), {}),
              HasError(ErrorCode::kHpkeBadPskInputs));
  EXPECT_THAT(HpkeSetupPskRecipient(suite, enc, sk_r, {}, short_psk, Text("id")),
              HasError(ErrorCode::kHpkeBadPskInputs));
}

TEST(HpkePskTest, KeyScheduleEnforcesVerifyPskInputs) {
  const HpkeSuite suite = Suite(3);
  const SecretBytes shared_secret = SecretBytes::CopyFrom(std::vector<uint8_t>(32, 1));
  // Base mode with a PSK or a PSK id (RFC 9180 VerifyPSKInputs).
  EXPECT_THAT(internal::HpkeKeySchedule(suite, HpkeMode::kBase, shared_secret, {}, Psk(), {}),
              HasError(ErrorCode::kHpkeBadPskInputs));
  EXPECT_THAT(internal::HpkeKeySchedule(suite, HpkeMode::kBase, shared_secret, {}, SecretBytes(),
                                        Text("id")),
              HasError(ErrorCode::kHpkeBadPskInputs));
  EXPECT_THAT(internal::HpkeKeySchedule(suite, HpkeMode::kPsk, shared_secret, {}, SecretBytes(),
                                        Text("id")),
              HasError(ErrorCode::kHpkeBadPskInputs));
  EXPECT_THAT(internal::HpkeKeySchedule(suite, HpkeMode::kPsk, shared_secret, {}, Psk(), {}),
              HasError(ErrorCode::kHpkeBadPskInputs));
}

TEST(HpkePskTest, MismatchedPskOrIdFailsOpen) {
  const HpkeSuite suite = Suite(3);
  const X25519PrivateKey sk_r = KeyFromSeed(1);
  auto sender = HpkeSetupPskSender(suite, sk_r.public_key(), {}, Psk(), Text("id"));
  ASSERT_THAT(sender, IsOk());
  auto ct = sender->context.Seal(Text("x"), {});
  ASSERT_THAT(ct, IsOk());
  const SecretBytes other_psk = SecretBytes::CopyFrom(std::vector<uint8_t>(32, 0x5b));
  auto wrong_psk = HpkeSetupPskRecipient(suite, sender->enc, sk_r, {}, other_psk, Text("id"));
  ASSERT_THAT(wrong_psk, IsOk());
  EXPECT_THAT(wrong_psk->Open(*ct, {}), HasError(ErrorCode::kHpkeOpenFailed));
  auto wrong_id = HpkeSetupPskRecipient(suite, sender->enc, sk_r, {}, Psk(), Text("iD"));
  ASSERT_THAT(wrong_id, IsOk());
  EXPECT_THAT(wrong_id->Open(*ct, {}), HasError(ErrorCode::kHpkeOpenFailed));
  // A base-mode recipient cannot open a psk-mode message either.
  auto base = HpkeSetupBaseRecipient(suite, sender->enc, sk_r, {});
  ASSERT_THAT(base, IsOk());
  EXPECT_THAT(base->Open(*ct, {}), HasError(ErrorCode::kHpkeOpenFailed));
}

// ---------------------------------------------------------------------------------------------
// Export: kHpkeExportTooLong.

TEST(HpkeExportTest, LengthLimitIs255TimesNh) {
  const HpkeSuite suite = Suite(3);
  const X25519PrivateKey sk_r = KeyFromSeed(1);
  auto sender = HpkeSetupBaseSender(suite, sk_r.public_key(), {});
  ASSERT_THAT(sender, IsOk());
  auto max = sender->context.Export(Text("ctx"), kHpkeMaxExportSize);
  ASSERT_THAT(max, IsOk());
  EXPECT_EQ(max->size(), 8160u);
  auto zero = sender->context.Export(Text("ctx"), 0);
  ASSERT_THAT(zero, IsOk());
  EXPECT_TRUE(zero->empty());
  EXPECT_THAT(sender->context.Export(Text("ctx"), kHpkeMaxExportSize + 1),
              HasError(ErrorCode::kHpkeExportTooLong));
  auto recipient = HpkeSetupBaseRecipient(suite, sender->enc, sk_r, {});
  ASSERT_THAT(recipient, IsOk());
  EXPECT_THAT(recipient->Export({}, 100000), HasError(ErrorCode::kHpkeExportTooLong));
}

TEST(HpkeExportTest, DifferentContextsGiveDifferentSecrets) {
  const HpkeSuite suite = Suite(kAeadExportOnly);
  const X25519PrivateKey sk_r = KeyFromSeed(1);
  auto sender = HpkeSetupBaseSender(suite, sk_r.public_key(), {});
  ASSERT_THAT(sender, IsOk());
  auto a = sender->context.Export(Text("a"), 32);
  auto b = sender->context.Export(Text("b"), 32);
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  EXPECT_NE(Reveal(*a), Reveal(*b));
}

// ---------------------------------------------------------------------------------------------
// Export-only suites: kHpkeExportOnly.

TEST(HpkeExportOnlyTest, SealAndOpenAreRefused) {
  const HpkeSuite suite = Suite(kAeadExportOnly);
  const X25519PrivateKey sk_r = KeyFromSeed(1);
  auto sender = HpkeSetupBaseSender(suite, sk_r.public_key(), Text("info"));
  ASSERT_THAT(sender, IsOk());
  auto recipient = HpkeSetupBaseRecipient(suite, sender->enc, sk_r, Text("info"));
  ASSERT_THAT(recipient, IsOk());
  EXPECT_THAT(sender->context.Seal(Text("x"), {}), HasError(ErrorCode::kHpkeExportOnly));
  EXPECT_THAT(recipient->Open(std::vector<uint8_t>(32, 0), {}),
              HasError(ErrorCode::kHpkeExportOnly));
  EXPECT_EQ(sender->context.sequence_number(), 0u);
  // Export still works and agrees.
  auto a = sender->context.Export(Text("ctx"), 16);
  auto b = recipient->Export(Text("ctx"), 16);
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  EXPECT_EQ(Reveal(*a), Reveal(*b));
}

TEST(HpkeExportOnlyTest, SingleShotIsRefused) {
  const HpkeSuite suite = Suite(kAeadExportOnly);
  const X25519PrivateKey sk_r = KeyFromSeed(1);
  EXPECT_THAT(HpkeSeal(suite, sk_r.public_key(), {}, {}, Text("x")),
              HasError(ErrorCode::kHpkeExportOnly));
  EXPECT_THAT(
      HpkeOpen(suite, std::vector<uint8_t>(32, 9), sk_r, {}, {}, std::vector<uint8_t>(17, 0)),
      HasError(ErrorCode::kHpkeExportOnly));
}

// ---------------------------------------------------------------------------------------------
// Sequence numbers: nonce computation and kHpkeSequenceOverflow.

TEST(HpkeSequenceTest, NonceIsBaseNonceXorSequenceNumber) {
  // Build the context deterministically, then redo the AEAD by hand at a large seq whose bytes
  // are all distinct, so a wrong byte order or a short XOR shows up.
  const HpkeSuite suite = Suite(1);
  const X25519PrivateKey sk_r = KeyFromSeed(1);
  const X25519PrivateKey sk_e = KeyFromSeed(2);
  auto sender = HpkeSetupBaseSenderForTest(suite, sk_r.public_key(), Text("info"), sk_e);
  ASSERT_THAT(sender, IsOk());
  auto encap = internal::HpkeEncap(sk_r.public_key(), sk_e);
  ASSERT_THAT(encap, IsOk());
  auto schedule = internal::HpkeKeySchedule(suite, HpkeMode::kBase, encap->shared_secret,
                                            Text("info"), SecretBytes(), {});
  ASSERT_THAT(schedule, IsOk());
  auto aead = Aead::New(AeadAlgorithm::kAes128Gcm, schedule->key);
  ASSERT_THAT(aead, IsOk());

  constexpr uint64_t kSeq = 0x0102030405060708;
  std::vector<uint8_t> nonce = Reveal(schedule->base_nonce);
  const uint8_t seq_be[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  for (size_t i = 0; i < 8; ++i) {
    nonce[4 + i] ^= seq_be[i];
  }
  auto expected = (*aead)->Seal(nonce, Text("pt"), Text("aad"));
  ASSERT_THAT(expected, IsOk());

  sender->context.SetSequenceNumberForTest(kSeq);
  auto sealed = sender->context.Seal(Text("pt"), Text("aad"));
  ASSERT_THAT(sealed, IsOk());
  EXPECT_EQ(*sealed, *expected);
  EXPECT_EQ(sender->context.sequence_number(), kSeq + 1);

  auto recipient = HpkeSetupBaseRecipient(suite, sender->enc, sk_r, Text("info"));
  ASSERT_THAT(recipient, IsOk());
  recipient->SetSequenceNumberForTest(kSeq);
  auto opened = recipient->Open(*sealed, Text("aad"));
  ASSERT_THAT(opened, IsOk());
  EXPECT_EQ(*opened, Text("pt"));
}

TEST(HpkeSequenceTest, SenderOverflowsAtCounterMaximum) {
  const HpkeSuite suite = Suite(3);
  const X25519PrivateKey sk_r = KeyFromSeed(1);
  auto sender = HpkeSetupBaseSender(suite, sk_r.public_key(), {});
  ASSERT_THAT(sender, IsOk());
  sender->context.SetSequenceNumberForTest(kMaxSeq - 1);
  auto last = sender->context.Seal(Text("last"), {});
  ASSERT_THAT(last, IsOk());  // seq 2^64 - 2 is the last usable one
  EXPECT_EQ(sender->context.sequence_number(), kMaxSeq);
  EXPECT_THAT(sender->context.Seal(Text("one more"), {}),
              HasError(ErrorCode::kHpkeSequenceOverflow));
  EXPECT_THAT(sender->context.Seal(Text("one more"), {}),
              HasError(ErrorCode::kHpkeSequenceOverflow));
  EXPECT_EQ(sender->context.sequence_number(), kMaxSeq);
  // Export does not depend on the sequence number.
  EXPECT_THAT(sender->context.Export({}, 32), IsOk());

  auto recipient = HpkeSetupBaseRecipient(suite, sender->enc, sk_r, {});
  ASSERT_THAT(recipient, IsOk());
  recipient->SetSequenceNumberForTest(kMaxSeq - 1);
  auto opened = recipient->Open(*last, {});
  ASSERT_THAT(opened, IsOk());
  EXPECT_EQ(*opened, Text("last"));
  EXPECT_THAT(recipient->Open(*last, {}), HasError(ErrorCode::kHpkeSequenceOverflow));
}

// ---------------------------------------------------------------------------------------------
// DeriveKeyPair: kHpkeIkmTooShort.

TEST(HpkeDeriveKeyPairTest, IsDeterministicAndRejectsShortIkm) {
  const HpkeSuite suite = Suite(3);
  auto a = HpkeDeriveKeyPair(suite, SecretBytes::CopyFrom(std::vector<uint8_t>(32, 1)));
  auto b = HpkeDeriveKeyPair(suite, SecretBytes::CopyFrom(std::vector<uint8_t>(32, 1)));
  auto c = HpkeDeriveKeyPair(suite, SecretBytes::CopyFrom(std::vector<uint8_t>(64, 1)));
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(a->public_key().bytes(), b->public_key().bytes());
  EXPECT_NE(a->public_key().bytes(), c->public_key().bytes());
  EXPECT_THAT(HpkeDeriveKeyPair(suite, SecretBytes::CopyFrom(std::vector<uint8_t>(31, 1))),
              HasError(ErrorCode::kHpkeIkmTooShort));
  EXPECT_THAT(HpkeDeriveKeyPair(suite, SecretBytes()), HasError(ErrorCode::kHpkeIkmTooShort));
}

// ---------------------------------------------------------------------------------------------
// Contexts are move-only; a moved-from context is a programming error (always-on check).

TEST(HpkeContextDeathTest, MovedFromContextAborts) {
  const HpkeSuite suite = Suite(3);
  const X25519PrivateKey sk_r = KeyFromSeed(1);
  auto sender = HpkeSetupBaseSender(suite, sk_r.public_key(), {});
  ASSERT_THAT(sender, IsOk());
  HpkeSenderContext moved = std::move(sender->context);
  EXPECT_THAT(moved.Seal(Text("x"), {}), IsOk());
  EXPECT_DEATH((void)sender->context.Seal(Text("x"), {}), "core_ != nullptr");
}

}  // namespace
}  // namespace eml::crypto
