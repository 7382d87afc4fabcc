// The evidence envelope codec (attest/envelope.h) and the BoundNonce rule
// (attest/report_binding.h). Verification of envelopes by PolicyVerifier is in
// policy_verifier_test.cc.

#include "attest/envelope.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "attest/report_binding.h"
#include "cbor/encoder.h"
#include "cbor/value.h"
#include "crypto/hash.h"
#include "testing/test_util.h"

namespace eml::attest {
namespace {

using ::eml::testing::HasError;
using ::eml::testing::IsOk;

EvidenceEnvelope Sample() {
  EvidenceEnvelope e;
  e.platform = "tdx";
  e.evidence = std::vector<uint8_t>(100, 0x04);
  e.public_key = std::vector<uint8_t>(32, 0x11);
  e.nonce = std::vector<uint8_t>(16, 0x22);
  e.user_data = {0xA1, 0x01, 0x02};
  return e;
}

// RawMap writes a CBOR map head for `entries.size()` entries followed by the entries in the
// given order (no sorting, no duplicate check), to build inputs Encode would never make.
std::vector<uint8_t> RawMap(const std::vector<std::pair<cbor::Value, cbor::Value>>& entries) {
  std::vector<uint8_t> out = {static_cast<uint8_t>(0xA0 + entries.size())};
  for (const auto& [key, value] : entries) {
    for (const cbor::Value* item : {&key, &value}) {
      Result<std::vector<uint8_t>> bytes = cbor::Encode(*item);
      EML_CHECK(bytes.has_value());
      out.insert(out.end(), bytes->begin(), bytes->end());
    }
  }
  return out;
}

std::vector<std::pair<cbor::Value, cbor::Value>> SampleEntries() {
  const EvidenceEnvelope e = Sample();
  return {{cbor::Value::Text("v"), cbor::Value::Uint(1)},
          {cbor::Value::Text("nonce"), cbor::Value::Bytes(e.nonce)},
          {cbor::Value::Text("evidence"), cbor::Value::Bytes(e.evidence)},
          {cbor::Value::Text("platform"), cbor::Value::Text(e.platform)},
          {cbor::Value::Text("user_data"), cbor::Value::Bytes(e.user_data)},
          {cbor::Value::Text("public_key"), cbor::Value::Bytes(e.public_key)}};
}

TEST(EnvelopeTest, RoundTripIsDeterministic) {
  Result<std::vector<uint8_t>> bytes = EncodeEnvelope(Sample());
  ASSERT_THAT(bytes, IsOk());
  EXPECT_TRUE(LooksLikeEnvelope(*bytes));
  // The entries above are in length-first key order: the deterministic encoding.
  EXPECT_EQ(*bytes, RawMap(SampleEntries()));
  Result<EvidenceEnvelope> decoded = DecodeEnvelope(*bytes);
  ASSERT_THAT(decoded, IsOk());
  EXPECT_EQ(decoded->platform, "tdx");
  EXPECT_EQ(decoded->evidence, Sample().evidence);
  EXPECT_EQ(decoded->public_key, Sample().public_key);
  EXPECT_EQ(decoded->nonce, Sample().nonce);
  EXPECT_EQ(decoded->user_data, Sample().user_data);
}

TEST(EnvelopeTest, EmptyOptionalFieldsRoundTrip) {
  for (const char* platform : {"tdx", "sev-snp", "gcp-cs"}) {
    EvidenceEnvelope e;
    e.platform = platform;
    e.evidence = {0x01};
    Result<std::vector<uint8_t>> bytes = EncodeEnvelope(e);
    ASSERT_THAT(bytes, IsOk());
    Result<EvidenceEnvelope> decoded = DecodeEnvelope(*bytes);
    ASSERT_THAT(decoded, IsOk());
    EXPECT_EQ(decoded->platform, platform);
    EXPECT_TRUE(decoded->public_key.empty() && decoded->nonce.empty() &&
                decoded->user_data.empty());
  }
}

TEST(EnvelopeTest, EncodeRefusesWhatDecodeWouldRefuse) {
  EvidenceEnvelope nitro = Sample();
  nitro.platform = "aws-nitro";
  EXPECT_THAT(EncodeEnvelope(nitro), HasError(ErrorCode::kEnvelopeUnknownPlatform));
  EvidenceEnvelope empty = Sample();
  empty.evidence.clear();
  EXPECT_THAT(EncodeEnvelope(empty), HasError(ErrorCode::kEnvelopeMalformed));
  EvidenceEnvelope big = Sample();
  big.evidence.assign(kMaxEnvelopeBytes, 0x04);
  EXPECT_THAT(EncodeEnvelope(big), HasError(ErrorCode::kEnvelopeTooLarge));
}

TEST(EnvelopeTest, DecodeIsStrict) {
  const std::vector<uint8_t> good = RawMap(SampleEntries());
  ASSERT_THAT(DecodeEnvelope(good), IsOk());

  struct Case {
    const char* name;
    std::vector<uint8_t> bytes;
    ErrorCode code;
  };
  std::vector<Case> cases;
  auto with = [](size_t index, cbor::Value value) {
    auto entries = SampleEntries();
    entries[index].second = std::move(value);
    return RawMap(entries);
  };
  cases.push_back({"empty input", {}, ErrorCode::kEnvelopeMalformed});
  cases.push_back({"truncated", std::vector<uint8_t>(good.begin(), good.end() - 1),
                   ErrorCode::kEnvelopeMalformed});
  std::vector<uint8_t> trailing = good;
  trailing.push_back(0x00);
  cases.push_back({"trailing byte", trailing, ErrorCode::kEnvelopeMalformed});
  cases.push_back({"oversize", std::vector<uint8_t>(kMaxEnvelopeBytes + 1, 0xA6),
                   ErrorCode::kEnvelopeTooLarge});
  cases.push_back({"an array", {0x84, 0x01, 0x02, 0x03, 0x04}, ErrorCode::kEnvelopeMalformed});
  cases.push_back(
      {"v is 2", with(0, cbor::Value::Uint(2)), ErrorCode::kEnvelopeUnsupportedVersion});
  cases.push_back({"v is text", with(0, cbor::Value::Text("1")), ErrorCode::kEnvelopeMalformed});
  cases.push_back(
      {"nonce is text", with(1, cbor::Value::Text("n")), ErrorCode::kEnvelopeMalformed});
  cases.push_back({"evidence is empty", with(2, cbor::Value::Bytes(std::vector<uint8_t>{})),
                   ErrorCode::kEnvelopeMalformed});
  cases.push_back({"platform is bytes", with(3, cbor::Value::Bytes(std::vector<uint8_t>{0x74})),
                   ErrorCode::kEnvelopeMalformed});
  cases.push_back({"platform aws-nitro", with(3, cbor::Value::Text("aws-nitro")),
                   ErrorCode::kEnvelopeUnknownPlatform});
  cases.push_back(
      {"platform sim", with(3, cbor::Value::Text("sim")), ErrorCode::kEnvelopeUnknownPlatform});
  cases.push_back(
      {"user_data is null", with(4, cbor::Value::Null()), ErrorCode::kEnvelopeMalformed});
  auto missing = SampleEntries();
  missing.pop_back();
  cases.push_back({"public_key missing", RawMap(missing), ErrorCode::kEnvelopeMalformed});
  auto unknown = SampleEntries();
  unknown.back().first = cbor::Value::Text("publickey");
  cases.push_back({"unknown key", RawMap(unknown), ErrorCode::kEnvelopeMalformed});
  auto integer_key = SampleEntries();
  integer_key.back().first = cbor::Value::Uint(6);
  cases.push_back({"integer key", RawMap(integer_key), ErrorCode::kEnvelopeMalformed});
  auto extra = SampleEntries();
  extra.emplace_back(cbor::Value::Text("x"), cbor::Value::Uint(0));
  cases.push_back({"seventh key", RawMap(extra), ErrorCode::kEnvelopeMalformed});
  auto unsorted = SampleEntries();
  std::swap(unsorted[0], unsorted[1]);
  cases.push_back({"keys out of order", RawMap(unsorted), ErrorCode::kEnvelopeMalformed});
  auto twice = SampleEntries();
  twice[1] = twice[0];
  cases.push_back({"v twice", RawMap(twice), ErrorCode::kEnvelopeMalformed});
  std::vector<uint8_t> tagged = good;
  tagged.insert(tagged.begin(), {0xD8, 0x18});  // tag 24 around the map
  cases.push_back({"tagged", tagged, ErrorCode::kEnvelopeMalformed});
  for (const Case& c : cases) {
    EXPECT_THAT(DecodeEnvelope(c.bytes), HasError(c.code)) << c.name;
  }
}

TEST(EnvelopeTest, BoundNonceAppendsTheUserDataDigestOnlyWhenThereIsUserData) {
  const std::vector<uint8_t> nonce(16, 0x22);
  EXPECT_EQ(BoundNonce(nonce, {}), nonce);
  EXPECT_TRUE(BoundNonce({}, {}).empty());
  const std::vector<uint8_t> user_data = {0x01, 0x02, 0x03};
  std::vector<uint8_t> want = nonce;
  const auto digest = crypto::Sha256(user_data);
  want.insert(want.end(), digest.begin(), digest.end());
  EXPECT_EQ(BoundNonce(nonce, user_data), want);
  // No nonce, some user_data: the digest alone.
  EXPECT_EQ(BoundNonce({}, user_data), std::vector<uint8_t>(digest.begin(), digest.end()));
}

}  // namespace
}  // namespace eml::attest
