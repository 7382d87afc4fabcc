#include "attest/sevsnp/evidence.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <utility>
#include <vector>

#include "attest/sevsnp/report.h"
#include "testing/test_util.h"

namespace eml::attest::sevsnp {
namespace {

using ::eml::testing::HasError;
using ::eml::testing::IsOk;

using Entries = std::vector<std::pair<Guid, std::vector<uint8_t>>>;

void PutU32At(std::vector<uint8_t>& bytes, size_t offset, uint32_t value) {
  for (size_t i = 0; i < 4; ++i) {
    bytes[offset + i] = static_cast<uint8_t>(value >> (8 * i));
  }
}

TEST(SnpCertTableTest, RoundTripsKnownAndOtherGuids) {
  Guid other{};
  other.fill(0x42);
  const Entries entries = {
      {kVcekGuid, {1, 2, 3}}, {kAskGuid, {4, 5}}, {kArkGuid, {6}}, {other, {7, 8, 9, 10}}};
  const std::vector<uint8_t> table = SerializeCertTable(entries);
  ASSERT_EQ(table.size(), 5 * kCertTableEntrySize + 10);
  Result<std::vector<CertTableEntry>> parsed = ParseCertTable(table);
  ASSERT_THAT(parsed, IsOk());
  ASSERT_EQ(parsed->size(), 4u);
  EXPECT_EQ((*parsed)[0].kind, CertKind::kVcek);
  EXPECT_EQ((*parsed)[1].kind, CertKind::kAsk);
  EXPECT_EQ((*parsed)[2].kind, CertKind::kArk);
  EXPECT_EQ((*parsed)[3].kind, CertKind::kOther);
  EXPECT_EQ(std::vector<uint8_t>((*parsed)[1].der.begin(), (*parsed)[1].der.end()),
            (std::vector<uint8_t>{4, 5}));
  EXPECT_EQ(CertKindOf(kVlekGuid), CertKind::kVlek);
}

// The kernel hands the table in a zero-padded page: trailing zeros are fine, anything else not.
TEST(SnpCertTableTest, ZeroPaddingOnly) {
  std::vector<uint8_t> table = SerializeCertTable(Entries{{kVcekGuid, {1, 2, 3}}});
  table.resize(4096, 0);
  EXPECT_THAT(ParseCertTable(table), IsOk());
  table.back() = 1;
  EXPECT_THAT(ParseCertTable(table), HasError(ErrorCode::kSnpCertTableMalformed));
}

TEST(SnpCertTableTest, MalformedTables) {
  const std::vector<uint8_t> good =
      SerializeCertTable(Entries{{kVcekGuid, {1, 2, 3}}, {kAskGuid, {4}}});
  ASSERT_THAT(ParseCertTable(good), IsOk());
  // No terminator (cut inside the header).
  EXPECT_THAT(ParseCertTable(std::span<const uint8_t>(good).first(2 * kCertTableEntrySize)),
              HasError(ErrorCode::kSnpCertTableMalformed));
  // Only the terminator.
  EXPECT_THAT(ParseCertTable(std::vector<uint8_t>(kCertTableEntrySize, 0)),
              HasError(ErrorCode::kSnpCertTableMalformed));
  // An entry past the end.
  std::vector<uint8_t> bytes = good;
  PutU32At(bytes, 16 + 4, 4);  // first entry's length 3 -> 4 overlaps the second
  EXPECT_THAT(ParseCertTable(bytes), HasError(ErrorCode::kSnpCertTableMalformed));
  bytes = good;
  PutU32At(bytes, kCertTableEntrySize + 16 + 4, 2);  // second runs past the end
  EXPECT_THAT(ParseCertTable(bytes), HasError(ErrorCode::kSnpCertTableMalformed));
  bytes = good;
  PutU32At(bytes, 16, 0);  // points into the header
  EXPECT_THAT(ParseCertTable(bytes), HasError(ErrorCode::kSnpCertTableMalformed));
  bytes = good;
  PutU32At(bytes, 16 + 4, 0);  // empty entry
  EXPECT_THAT(ParseCertTable(bytes), HasError(ErrorCode::kSnpCertTableMalformed));
  bytes = good;
  PutU32At(bytes, 16, 0xFFFFFFFF);  // offset + length overflow territory
  PutU32At(bytes, 16 + 4, 0xFFFFFFFF);
  EXPECT_THAT(ParseCertTable(bytes), HasError(ErrorCode::kSnpCertTableMalformed));
  // The same GUID twice.
  EXPECT_THAT(ParseCertTable(SerializeCertTable(Entries{{kAskGuid, {1}}, {kAskGuid, {2}}})),
              HasError(ErrorCode::kSnpCertTableMalformed));
  // Too many entries.
  Entries many;
  for (size_t i = 0; i <= kMaxCertTableEntries; ++i) {
    Guid guid{};
    guid[0] = static_cast<uint8_t>(i + 1);
    many.push_back({guid, {1}});
  }
  EXPECT_THAT(ParseCertTable(SerializeCertTable(many)),
              HasError(ErrorCode::kSnpCertTableMalformed));
  // Over the size limit.
  std::vector<uint8_t> huge = good;
  huge.resize(kMaxCertTableBytes + 1, 0);
  EXPECT_THAT(ParseCertTable(huge), HasError(ErrorCode::kSnpCertTableMalformed));
}

TEST(SnpEvidenceTest, SplitsReportAndTable) {
  std::vector<uint8_t> evidence(kReportSize, 0);
  Result<SplitEvidenceResult> bare = SplitEvidence(evidence);
  ASSERT_THAT(bare, IsOk());
  EXPECT_EQ(bare->report.size(), kReportSize);
  EXPECT_TRUE(bare->cert_table.empty());
  evidence.resize(kReportSize + 48, 0);
  Result<SplitEvidenceResult> with_table = SplitEvidence(evidence);
  ASSERT_THAT(with_table, IsOk());
  EXPECT_EQ(with_table->cert_table.size(), 48u);
  EXPECT_THAT(SplitEvidence(std::span<const uint8_t>(evidence).first(kReportSize - 1)),
              HasError(ErrorCode::kSnpReportMalformed));
  evidence.resize(kReportSize + kMaxCertTableBytes + 1, 0);
  EXPECT_THAT(SplitEvidence(evidence), HasError(ErrorCode::kSnpCertTableMalformed));
}

}  // namespace
}  // namespace eml::attest::sevsnp
