#include "attest/tdx/quote.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/encoding.h"
#include "testing/test_util.h"

namespace eml::attest::tdx {
namespace {

using ::eml::testing::HasError;
using ::eml::testing::ReadFileBytes;
using ::eml::testing::ReadJson;
using ::eml::testing::SharedVectorPath;

constexpr char kSpr[] = "go-tdx-guest/tdx_prod_quote_SPR_E4.dat";
constexpr char kCcel[] = "go-tdx-guest/ccel-cos-113-tdx-quote.dat";
constexpr char kV5[] = "go-tdx-guest/quote_v5_sample.dat";
// Offsets in a v4 quote: header 48 + body 584 = 632, then sig_len (4), signature (64),
// attestation key (64), certification data type (2) and size (4).
constexpr size_t kV4SigLenOffset = 632;
constexpr size_t kV4CertTypeOffset = kV4SigLenOffset + 4 + 128;
constexpr size_t kV4QeReportOffset = kV4CertTypeOffset + 6;
constexpr size_t kV4NestedTypeOffset = kV4QeReportOffset + 384 + 64 + 2 + 32;

std::vector<uint8_t> Quote(const std::string& name) {
  return ReadFileBytes(SharedVectorPath("tdx/" + name));
}

std::string H(std::span<const uint8_t> bytes) { return HexEncode(bytes); }

void PutU32(std::vector<uint8_t>& b, size_t offset, uint32_t v) {
  for (size_t i = 0; i < 4; ++i) {
    b[offset + i] = static_cast<uint8_t>(v >> (8 * i));
  }
}

// Every decoded field of the three real quotes equals expected.json.
TEST(TdxQuoteTest, RealQuotesDecodeAsExpected) {
  const nlohmann::json expected = ReadJson(SharedVectorPath("tdx/expected.json"))["quotes"];
  int cases = 0;
  for (const char* name : {kSpr, kCcel, kV5}) {
    SCOPED_TRACE(name);
    const nlohmann::json& want = expected[name];
    const std::vector<uint8_t> bytes = Quote(name);
    ASSERT_EQ(bytes.size(), want["size"].get<size_t>());
    Result<ParsedQuote> q = ParseQuote(bytes);
    ASSERT_TRUE(q.has_value()) << ToString(q.error());
    EXPECT_EQ(q->header.version, want["version"].get<int>());
    EXPECT_EQ(q->header.attestation_key_type, want["att_key_type"].get<int>());
    EXPECT_EQ(q->header.tee_type, kTeeTypeTdx);
    EXPECT_EQ(q->trailing_bytes, want["trailing_bytes_after_signature_data"].get<size_t>());
    EXPECT_EQ(H(q->body.tee_tcb_svn), want["tee_tcb_svn"]);
    EXPECT_EQ(H(q->body.mrseam), want["mrseam"]);
    EXPECT_EQ(H(q->body.td_attributes), want["td_attributes"]);
    EXPECT_EQ(H(q->body.xfam), want["xfam"]);
    EXPECT_EQ(H(q->body.mrtd), want["mrtd"]);
    for (size_t i = 0; i < 4; ++i) {
      EXPECT_EQ(H(q->body.rtmr[i]), want["rtmr" + std::to_string(i)]);
    }
    EXPECT_EQ(H(q->body.report_data), want["report_data"]);
    EXPECT_FALSE(IsDebugTd(q->body));
    EXPECT_EQ(q->qe_auth_data.size(), 32u);
    EXPECT_EQ(q->qe_report_bytes.size(), kSgxReportBytes);
    if (q->header.version == kQuoteVersion5) {
      EXPECT_EQ(q->body.body_type, want["v5_body_type"].get<int>());
      EXPECT_EQ(q->signed_region.size(), kHeaderBytes + 6 + want["v5_body_size"].get<size_t>());
      EXPECT_EQ(q->body.mrservicetd.size(), kMeasurementBytes);
      EXPECT_EQ(q->body.tee_tcb_svn2.size(), kTeeTcbSvnBytes);
    } else {
      EXPECT_EQ(q->signed_region.size(), kHeaderBytes + kTdReportBody10Bytes);
      EXPECT_TRUE(q->body.mrservicetd.empty());
    }
    ++cases;
  }
  EXPECT_EQ(cases, static_cast<int>(expected.size()));
}

TEST(TdxQuoteTest, CcelQuoteParsesByItsLengthsNotTheFileSize) {
  const std::vector<uint8_t> bytes = Quote(kCcel);
  Result<ParsedQuote> q = ParseQuote(bytes);
  ASSERT_TRUE(q.has_value());
  EXPECT_EQ(q->trailing_bytes, 3065u);
  EXPECT_EQ(q->body.report_data.size(), 64u);
  EXPECT_EQ(std::vector<uint8_t>(q->body.report_data.begin(), q->body.report_data.end()),
            ReadFileBytes(SharedVectorPath("tdx/go-tdx-guest/ccel-nonce.dat")));
}

TEST(TdxQuoteTest, EveryTruncationFails) {
  const std::vector<uint8_t> bytes = Quote(kSpr);
  const size_t end = bytes.size() - 39;  // the signature data ends here
  for (size_t len = 0; len < end; len += (len < 800 ? 1 : 97)) {
    Result<ParsedQuote> q = ParseQuote(std::span(bytes).first(len));
    ASSERT_FALSE(q.has_value()) << len;
    EXPECT_THAT(q, HasError(ErrorCode::kTdxQuoteMalformed)) << len;
  }
  EXPECT_TRUE(ParseQuote(std::span(bytes).first(end)).has_value());
}

TEST(TdxQuoteTest, SignatureDataLengthLongerThanTheQuoteFails) {
  std::vector<uint8_t> bytes = Quote(kSpr);
  PutU32(bytes, kV4SigLenOffset, 4299 + 40);
  EXPECT_THAT(ParseQuote(bytes), HasError(ErrorCode::kTdxQuoteMalformed));
}

TEST(TdxQuoteTest, BytesLeftInsideTheSignatureDataFail) {
  std::vector<uint8_t> bytes = Quote(kSpr);
  PutU32(bytes, kV4SigLenOffset, 4299 + 1);  // swallows one of the trailing bytes
  EXPECT_THAT(ParseQuote(bytes), HasError(ErrorCode::kTdxQuoteMalformed));
}

TEST(TdxQuoteTest, UnsupportedVersionFails) {
  std::vector<uint8_t> bytes = Quote(kSpr);
  bytes[0] = 3;
  EXPECT_THAT(ParseQuote(bytes), HasError(ErrorCode::kTdxUnsupportedQuote));
}

TEST(TdxQuoteTest, SgxTeeTypeFails) {
  std::vector<uint8_t> bytes = Quote(kSpr);
  bytes[4] = 0x00;  // TEE type 0 = SGX
  EXPECT_THAT(ParseQuote(bytes), HasError(ErrorCode::kTdxUnsupportedQuote));
}

TEST(TdxQuoteTest, OtherAttestationKeyTypeFails) {
  std::vector<uint8_t> bytes = Quote(kSpr);
  bytes[2] = 3;  // ECDSA-P384
  EXPECT_THAT(ParseQuote(bytes), HasError(ErrorCode::kTdxUnsupportedQuote));
}

TEST(TdxQuoteTest, V5UnknownBodyTypeOrWrongSizeFails) {
  std::vector<uint8_t> bytes = Quote(kV5);
  bytes[48] = 4;
  EXPECT_THAT(ParseQuote(bytes), HasError(ErrorCode::kTdxUnsupportedQuote));
  bytes = Quote(kV5);
  bytes[48] = 2;  // TDX 1.0 type with a 648-byte size
  EXPECT_THAT(ParseQuote(bytes), HasError(ErrorCode::kTdxUnsupportedQuote));
}

TEST(TdxQuoteTest, BadCertificationDataTypeFails) {
  std::vector<uint8_t> bytes = Quote(kSpr);
  bytes[kV4CertTypeOffset] = 5;  // a bare PCK chain instead of QE report certification data
  EXPECT_THAT(ParseQuote(bytes), HasError(ErrorCode::kTdxBadCertificationData));
}

TEST(TdxQuoteTest, BadNestedCertificationDataTypeFails) {
  std::vector<uint8_t> bytes = Quote(kSpr);
  bytes[kV4NestedTypeOffset] = 3;
  EXPECT_THAT(ParseQuote(bytes), HasError(ErrorCode::kTdxBadCertificationData));
}

TEST(TdxQuoteTest, LimitsApply) {
  const std::vector<uint8_t> bytes = Quote(kSpr);
  QuoteLimits limits;
  limits.max_quote_bytes = bytes.size() - 1;
  EXPECT_THAT(ParseQuote(bytes, limits), HasError(ErrorCode::kLimitExceeded));
  limits = QuoteLimits{};
  limits.max_pck_chain_bytes = 1000;
  EXPECT_THAT(ParseQuote(bytes, limits), HasError(ErrorCode::kLimitExceeded));
  limits = QuoteLimits{};
  limits.max_qe_auth_data_bytes = 16;
  EXPECT_THAT(ParseQuote(bytes, limits), HasError(ErrorCode::kLimitExceeded));
  limits = QuoteLimits{};
  limits.max_signature_data_bytes = 4000;
  EXPECT_THAT(ParseQuote(bytes, limits), HasError(ErrorCode::kLimitExceeded));
}

TEST(TdxQuoteTest, DebugBitIsTdAttributesBitZero) {
  std::vector<uint8_t> bytes = Quote(kSpr);
  bytes[kHeaderBytes + 16 + 48 + 48 + 8] |= 0x01;  // td_attributes[0]
  Result<ParsedQuote> q = ParseQuote(bytes);
  ASSERT_TRUE(q.has_value());
  EXPECT_TRUE(IsDebugTd(q->body));
}

}  // namespace
}  // namespace eml::attest::tdx
