#include "attest/sevsnp/evidence.h"

#include <algorithm>
#include <string>
#include <utility>

#include "attest/sevsnp/report.h"
#include "common/byte_reader.h"
#include "common/byte_writer.h"
#include "common/check.h"
#include "common/checked_math.h"

namespace eml::attest::sevsnp {
namespace {

Error TableError(std::string detail) {
  return Error{ErrorCode::kSnpCertTableMalformed, std::move(detail)};
}

bool AllZero(std::span<const uint8_t> bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](uint8_t b) { return b == 0; });
}

struct RawEntry {
  Guid guid{};
  uint32_t offset = 0;
  uint32_t length = 0;
};

// ReadHeader reads entries up to and including the all-zero terminator.
Result<std::vector<RawEntry>> ReadHeader(ByteReader& reader) {
  std::vector<RawEntry> entries;
  while (true) {
    RawEntry entry;
    if (!reader.CopyBytes(entry.guid) || !reader.ReadU32Le(&entry.offset) ||
        !reader.ReadU32Le(&entry.length)) {
      return TableError("table ends before its terminating entry");
    }
    if (AllZero(entry.guid) && entry.offset == 0 && entry.length == 0) {
      return entries;
    }
    if (entries.size() == kMaxCertTableEntries) {
      return TableError("more than kMaxCertTableEntries entries");
    }
    entries.push_back(entry);
  }
}

}  // namespace

CertKind CertKindOf(const Guid& guid) {
  if (guid == kVcekGuid) {
    return CertKind::kVcek;
  }
  if (guid == kVlekGuid) {
    return CertKind::kVlek;
  }
  if (guid == kAskGuid) {
    return CertKind::kAsk;
  }
  if (guid == kArkGuid) {
    return CertKind::kArk;
  }
  return CertKind::kOther;
}

Result<SplitEvidenceResult> SplitEvidence(std::span<const uint8_t> evidence) {
  if (evidence.size() < kReportSize) {
    return Error{ErrorCode::kSnpReportMalformed, "evidence shorter than a report"};
  }
  if (evidence.size() - kReportSize > kMaxCertTableBytes) {
    return TableError("certificate table larger than kMaxCertTableBytes");
  }
  return SplitEvidenceResult{evidence.first(kReportSize), evidence.subspan(kReportSize)};
}

Result<std::vector<CertTableEntry>> ParseCertTable(std::span<const uint8_t> table) {
  if (table.size() > kMaxCertTableBytes) {
    return TableError("certificate table larger than kMaxCertTableBytes");
  }
  ByteReader reader(table);
  EML_ASSIGN_OR_RETURN(std::vector<RawEntry> raw, ReadHeader(reader));
  if (raw.empty()) {
    return TableError("certificate table has no entries");
  }
  const size_t header_end = table.size() - reader.size();
  // Sort by offset to check placement, overlap and the zero gaps in one walk.
  std::vector<RawEntry> by_offset = raw;
  std::sort(by_offset.begin(), by_offset.end(),
            [](const RawEntry& a, const RawEntry& b) { return a.offset < b.offset; });
  size_t cursor = header_end;
  for (const RawEntry& entry : by_offset) {
    size_t end = 0;
    if (entry.length == 0 || entry.offset < cursor ||
        !CheckedAdd(size_t{entry.offset}, size_t{entry.length}, &end) || end > table.size()) {
      return TableError("entry is empty, overlaps, or lies outside the table");
    }
    if (!AllZero(table.subspan(cursor, entry.offset - cursor))) {
      return TableError("non-zero bytes between entries");
    }
    cursor = end;
  }
  if (!AllZero(table.subspan(cursor))) {
    return TableError("non-zero bytes after the last entry");
  }
  std::vector<CertTableEntry> out;
  for (const RawEntry& entry : raw) {
    for (const CertTableEntry& seen : out) {
      if (seen.guid == entry.guid) {
        return TableError("a GUID appears twice");
      }
    }
    out.push_back({entry.guid, CertKindOf(entry.guid), table.subspan(entry.offset, entry.length)});
  }
  return out;
}

std::vector<uint8_t> SerializeCertTable(
    std::span<const std::pair<Guid, std::vector<uint8_t>>> entries) {
  ByteWriter w;
  size_t offset = (entries.size() + 1) * kCertTableEntrySize;
  for (const auto& [guid, der] : entries) {
    w.PutBytes(guid);
    w.PutU32Le(static_cast<uint32_t>(offset));
    w.PutU32Le(static_cast<uint32_t>(der.size()));
    offset += der.size();
  }
  const std::array<uint8_t, kCertTableEntrySize> terminator{};
  w.PutBytes(terminator);
  for (const auto& entry : entries) {
    w.PutBytes(entry.second);
  }
  std::optional<std::vector<uint8_t>> out = std::move(w).Finish();
  EML_CHECK(out.has_value());
  return std::move(*out);
}

}  // namespace eml::attest::sevsnp
