#include "attest/sevsnp/report.h"

#include <algorithm>

#include "common/byte_reader.h"
#include "common/byte_writer.h"
#include "common/check.h"
#include "common/encoding.h"

namespace eml::attest::sevsnp {
namespace {

constexpr uint32_t kKeyInfoReservedMask = ~uint32_t{0x1F};  // bits 31:5
constexpr size_t kV2ReservedAfterReportedTcb = 24;          // 0x188..0x19F
constexpr size_t kV3CpuidBytes = 3;
constexpr size_t kReservedAfterLaunchTcb = 168;  // 0x1F8..0x29F
constexpr size_t kP384ComponentSize = 48;
constexpr size_t kSignatureReservedSize = 0x200 - 2 * kSignatureComponentSize;  // 368

bool AllZero(std::span<const uint8_t> bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](uint8_t b) { return b == 0; });
}

// Reader wraps ByteReader for a fixed-size input whose length was checked up front, so a short
// read is a bug here, not an input property.
class FixedReader {
 public:
  explicit FixedReader(std::span<const uint8_t> bytes) : reader_(bytes) {}
  uint8_t U8() {
    uint8_t v = 0;
    EML_CHECK(reader_.ReadU8(&v));
    return v;
  }
  uint32_t U32() {
    uint32_t v = 0;
    EML_CHECK(reader_.ReadU32Le(&v));
    return v;
  }
  uint64_t U64() {
    uint64_t v = 0;
    EML_CHECK(reader_.ReadU64Le(&v));
    return v;
  }
  template <size_t N>
  void Copy(std::array<uint8_t, N>& out) {
    EML_CHECK(reader_.CopyBytes(out));
  }
  // Reserved consumes `n` bytes and returns whether they are all zero.
  bool Reserved(size_t n) {
    std::span<const uint8_t> bytes;
    EML_CHECK(reader_.ReadBytes(n, &bytes));
    return AllZero(bytes);
  }
  bool empty() const { return reader_.empty(); }

 private:
  ByteReader reader_;
};

}  // namespace

const char* ProductName(Product product) {
  switch (product) {
    case Product::kMilan:
      return "Milan";
    case Product::kGenoa:
      return "Genoa";
    case Product::kTurin:
      return "Turin";
  }
  return "unknown";
}

TcbVersion DecodeTcb(uint64_t raw, Product product) {
  auto byte = [raw](int index) { return static_cast<uint8_t>((raw >> (8 * index)) & 0xFF); };
  TcbVersion tcb;
  if (product == Product::kTurin) {
    tcb.fmc = byte(0);
    tcb.bootloader = byte(1);
    tcb.tee = byte(2);
    tcb.snp = byte(3);
  } else {
    tcb.bootloader = byte(0);
    tcb.tee = byte(1);
    tcb.snp = byte(6);
  }
  tcb.microcode = byte(7);
  return tcb;
}

uint64_t EncodeTcb(const TcbVersion& tcb, Product product) {
  auto at = [](uint8_t value, int index) { return uint64_t{value} << (8 * index); };
  if (product == Product::kTurin) {
    return at(tcb.fmc, 0) | at(tcb.bootloader, 1) | at(tcb.tee, 2) | at(tcb.snp, 3) |
           at(tcb.microcode, 7);
  }
  return at(tcb.bootloader, 0) | at(tcb.tee, 1) | at(tcb.snp, 6) | at(tcb.microcode, 7);
}

std::string TcbHex(uint64_t raw) {
  std::array<uint8_t, 8> bytes{};
  for (size_t i = 0; i < bytes.size(); ++i) {
    bytes[i] = static_cast<uint8_t>((raw >> (8 * i)) & 0xFF);
  }
  return HexEncode(bytes);
}

Result<AttestationReport> ParseReport(std::span<const uint8_t> bytes) {
  if (bytes.size() != kReportSize) {
    return Error{ErrorCode::kSnpReportMalformed,
                 "report is " + std::to_string(bytes.size()) + " bytes, not 1184"};
  }
  FixedReader r(bytes);
  AttestationReport out;
  out.version = r.U32();
  if (out.version < kMinReportVersion || out.version > kMaxReportVersion) {
    return Error{ErrorCode::kSnpUnsupportedVersion,
                 "report version " + std::to_string(out.version) + " is not 2 or 3"};
  }
  bool reserved_ok = true;
  out.guest_svn = r.U32();
  out.policy = r.U64();
  r.Copy(out.family_id);
  r.Copy(out.image_id);
  out.vmpl = r.U32();
  out.signature_algo = r.U32();
  out.current_tcb = r.U64();
  out.platform_info = r.U64();
  const uint32_t key_info = r.U32();
  out.author_key_en = (key_info & 0x1) != 0;
  out.mask_chip_key = (key_info & 0x2) != 0;
  out.signing_key = static_cast<uint8_t>((key_info >> 2) & 0x7);
  reserved_ok &= (key_info & kKeyInfoReservedMask) == 0;
  reserved_ok &= r.U32() == 0;  // 0x4C
  r.Copy(out.report_data);
  r.Copy(out.measurement);
  r.Copy(out.host_data);
  r.Copy(out.id_key_digest);
  r.Copy(out.author_key_digest);
  r.Copy(out.report_id);
  r.Copy(out.report_id_ma);
  out.reported_tcb = r.U64();
  if (out.version >= 3) {
    out.cpuid_fam_id = r.U8();
    out.cpuid_mod_id = r.U8();
    out.cpuid_step = r.U8();
    reserved_ok &= r.Reserved(kV2ReservedAfterReportedTcb - kV3CpuidBytes);
  } else {
    reserved_ok &= r.Reserved(kV2ReservedAfterReportedTcb);
  }
  r.Copy(out.chip_id);
  out.committed_tcb = r.U64();
  out.current_build = r.U8();
  out.current_minor = r.U8();
  out.current_major = r.U8();
  reserved_ok &= r.U8() == 0;  // 0x1EB
  out.committed_build = r.U8();
  out.committed_minor = r.U8();
  out.committed_major = r.U8();
  reserved_ok &= r.U8() == 0;  // 0x1EF
  out.launch_tcb = r.U64();
  reserved_ok &= r.Reserved(kReservedAfterLaunchTcb);
  r.Copy(out.signature_r);
  r.Copy(out.signature_s);
  reserved_ok &= r.Reserved(kSignatureReservedSize);
  EML_CHECK(r.empty());
  if (!reserved_ok) {
    return Error{ErrorCode::kSnpReservedNonZero, "a reserved report field is not zero"};
  }
  if ((out.policy & kPolicyReservedOne) == 0 || (out.policy & kPolicyReservedZeroMask) != 0) {
    return Error{ErrorCode::kSnpReservedNonZero, "reserved guest policy bits are wrong"};
  }
  return out;
}

std::vector<uint8_t> SerializeReport(const AttestationReport& report) {
  ByteWriter w = ByteWriter::Fixed(kReportSize);
  const std::array<uint8_t, kSignatureReservedSize> zeros{};  // the largest reserved run
  w.PutU32Le(report.version);
  w.PutU32Le(report.guest_svn);
  w.PutU64Le(report.policy);
  w.PutBytes(report.family_id);
  w.PutBytes(report.image_id);
  w.PutU32Le(report.vmpl);
  w.PutU32Le(report.signature_algo);
  w.PutU64Le(report.current_tcb);
  w.PutU64Le(report.platform_info);
  const uint32_t key_info = (report.author_key_en ? 0x1u : 0u) |
                            (report.mask_chip_key ? 0x2u : 0u) |
                            (static_cast<uint32_t>(report.signing_key & 0x7) << 2);
  w.PutU32Le(key_info);
  w.PutU32Le(0);
  w.PutBytes(report.report_data);
  w.PutBytes(report.measurement);
  w.PutBytes(report.host_data);
  w.PutBytes(report.id_key_digest);
  w.PutBytes(report.author_key_digest);
  w.PutBytes(report.report_id);
  w.PutBytes(report.report_id_ma);
  w.PutU64Le(report.reported_tcb);
  w.PutU8(report.cpuid_fam_id);
  w.PutU8(report.cpuid_mod_id);
  w.PutU8(report.cpuid_step);
  w.PutBytes(std::span<const uint8_t>(zeros).first(kV2ReservedAfterReportedTcb - kV3CpuidBytes));
  w.PutBytes(report.chip_id);
  w.PutU64Le(report.committed_tcb);
  w.PutU8(report.current_build);
  w.PutU8(report.current_minor);
  w.PutU8(report.current_major);
  w.PutU8(0);
  w.PutU8(report.committed_build);
  w.PutU8(report.committed_minor);
  w.PutU8(report.committed_major);
  w.PutU8(0);
  w.PutU64Le(report.launch_tcb);
  w.PutBytes(std::span<const uint8_t>(zeros).first(kReservedAfterLaunchTcb));
  w.PutBytes(report.signature_r);
  w.PutBytes(report.signature_s);
  w.PutBytes(zeros);
  std::optional<std::vector<uint8_t>> out = std::move(w).Finish();
  EML_CHECK(out.has_value() && out->size() == kReportSize);
  return std::move(*out);
}

Result<std::vector<uint8_t>> SignatureP384(const AttestationReport& report) {
  std::vector<uint8_t> out;
  out.reserve(2 * kP384ComponentSize);
  for (const auto* component : {&report.signature_r, &report.signature_s}) {
    const std::span<const uint8_t> le(*component);
    if (!AllZero(le.subspan(kP384ComponentSize))) {
      return Error{ErrorCode::kSnpSignatureInvalid, "signature component exceeds 384 bits"};
    }
    const std::span<const uint8_t> low = le.first(kP384ComponentSize);
    out.insert(out.end(), low.rbegin(), low.rend());
  }
  return out;
}

}  // namespace eml::attest::sevsnp
