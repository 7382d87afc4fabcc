#include "attest/tdx/internal/pck_extensions.h"

#include <algorithm>
#include <string>

#include "common/byte_reader.h"

namespace eml::attest::tdx::internal {
namespace {

constexpr uint8_t kTagBoolean = 0x01;
constexpr uint8_t kTagInteger = 0x02;
constexpr uint8_t kTagOctetString = 0x04;
constexpr uint8_t kTagOid = 0x06;
constexpr uint8_t kTagEnumerated = 0x0A;
constexpr uint8_t kTagSequence = 0x30;
constexpr uint8_t kTagExtensions = 0xA3;  // [3] EXPLICIT in TBSCertificate

// 1.2.840.113741.1.13.1 (Intel SGX extensions), DER content octets.
constexpr uint8_t kSgxOid[] = {0x2A, 0x86, 0x48, 0x86, 0xF8, 0x4D, 0x01, 0x0D, 0x01};
constexpr uint8_t kArcTcb = 2;
constexpr uint8_t kArcPceId = 3;
constexpr uint8_t kArcFmspc = 4;
constexpr uint8_t kTcbArcPceSvn = 17;
constexpr uint8_t kTcbArcCpuSvn = 18;

Error Bad(const std::string& what) {
  return Error{ErrorCode::kTdxPckExtensionInvalid, "PCK SGX extension: " + what};
}

// ReadTlv reads one DER element (single-byte tag, definite length up to 4 bytes).
bool ReadTlv(ByteReader& r, uint8_t* tag, ByteReader* content) {
  ByteReader copy = r;
  uint8_t first = 0;
  if (!copy.ReadU8(tag) || (*tag & 0x1F) == 0x1F || !copy.ReadU8(&first)) {
    return false;
  }
  size_t length = first;
  if (first >= 0x80) {
    const uint8_t count = first & 0x7F;
    if (count == 0 || count > 4) {
      return false;
    }
    length = 0;
    for (uint8_t i = 0; i < count; ++i) {
      uint8_t byte = 0;
      if (!copy.ReadU8(&byte)) {
        return false;
      }
      length = (length << 8) | byte;
    }
    if (length < 0x80) {
      return false;  // not minimal
    }
  }
  if (!copy.ReadSub(length, content)) {
    return false;
  }
  r = copy;
  return true;
}

bool ReadExpected(ByteReader& r, uint8_t want_tag, ByteReader* content) {
  uint8_t tag = 0;
  ByteReader copy = r;
  if (!ReadTlv(copy, &tag, content) || tag != want_tag) {
    return false;
  }
  r = copy;
  return true;
}

bool Equal(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

// ArcsAfterSgxOid: when `oid` is kSgxOid followed by arcs (each < 128), returns them.
bool ArcsAfterSgxOid(std::span<const uint8_t> oid, std::span<const uint8_t>* arcs) {
  if (oid.size() <= sizeof(kSgxOid) || !Equal(oid.first(sizeof(kSgxOid)), kSgxOid)) {
    return false;
  }
  *arcs = oid.subspan(sizeof(kSgxOid));
  return std::all_of(arcs->begin(), arcs->end(), [](uint8_t b) { return b < 0x80; });
}

// ReadSmallUnsigned decodes a DER INTEGER/ENUMERATED content as a value <= max_value.
bool ReadSmallUnsigned(ByteReader content, uint32_t max_value, uint32_t* out) {
  std::span<const uint8_t> bytes = content.remaining();
  if (bytes.empty() || bytes.size() > 3 || (bytes[0] & 0x80) != 0) {
    return false;
  }
  uint32_t value = 0;
  for (uint8_t b : bytes) {
    value = (value << 8) | b;
  }
  *out = value;
  return value <= max_value;
}

// FindSgxExtension walks Certificate -> TBSCertificate -> extensions to the SGX extension value.
Result<std::span<const uint8_t>> FindSgxExtension(std::span<const uint8_t> cert_der) {
  ByteReader top(cert_der);
  ByteReader cert;
  ByteReader tbs;
  if (!ReadExpected(top, kTagSequence, &cert) || !ReadExpected(cert, kTagSequence, &tbs)) {
    return Bad("certificate DER");
  }
  ByteReader extensions_wrapper;
  while (!tbs.empty()) {
    uint8_t tag = 0;
    ByteReader element;
    if (!ReadTlv(tbs, &tag, &element)) {
      return Bad("TBSCertificate DER");
    }
    if (tag == kTagExtensions) {
      extensions_wrapper = element;
      break;
    }
  }
  ByteReader extensions;
  if (!ReadExpected(extensions_wrapper, kTagSequence, &extensions)) {
    return Bad("no extensions");
  }
  while (!extensions.empty()) {
    ByteReader extension;
    ByteReader oid;
    ByteReader ignored;
    ByteReader value;
    if (!ReadExpected(extensions, kTagSequence, &extension) ||
        !ReadExpected(extension, kTagOid, &oid)) {
      return Bad("extension DER");
    }
    (void)ReadExpected(extension, kTagBoolean, &ignored);  // critical flag, optional
    if (!ReadExpected(extension, kTagOctetString, &value) || !extension.empty()) {
      return Bad("extension DER");
    }
    if (Equal(oid.remaining(), kSgxOid)) {
      return value.remaining();
    }
  }
  return Bad("the certificate has no SGX extension");
}

Status ReadTcb(ByteReader tcb, PckExtensions* out) {
  uint32_t seen = 0;  // bit k set when TCB arc k was read
  while (!tcb.empty()) {
    ByteReader item;
    ByteReader oid;
    std::span<const uint8_t> arcs;
    if (!ReadExpected(tcb, kTagSequence, &item) || !ReadExpected(item, kTagOid, &oid) ||
        !ArcsAfterSgxOid(oid.remaining(), &arcs) || arcs.size() != 2 || arcs[0] != kArcTcb) {
      return Bad("TCB item");
    }
    const uint8_t arc = arcs[1];
    if (arc < 1 || arc > kTcbArcCpuSvn || (seen & (1u << arc)) != 0) {
      return Bad("TCB item " + std::to_string(arc) + " unknown or repeated");
    }
    seen |= 1u << arc;
    ByteReader value;
    if (arc == kTcbArcCpuSvn) {
      if (!ReadExpected(item, kTagOctetString, &value) || !value.CopyBytes(out->cpu_svn) ||
          !value.empty()) {
        return Bad("CPUSVN");
      }
    } else {
      uint32_t number = 0;
      const uint32_t max = arc == kTcbArcPceSvn ? 0xFFFF : 0xFF;
      if (!ReadExpected(item, kTagInteger, &value) || !ReadSmallUnsigned(value, max, &number)) {
        return Bad("TCB SVN " + std::to_string(arc));
      }
      if (arc == kTcbArcPceSvn) {
        out->pce_svn = static_cast<uint16_t>(number);
      } else {
        out->sgx_tcb_comp_svn[arc - 1u] = static_cast<uint8_t>(number);
      }
    }
    if (!item.empty()) {
      return Bad("TCB item trailing bytes");
    }
  }
  constexpr uint32_t kAllTcbArcs = ((1u << (kTcbArcCpuSvn + 1)) - 1) & ~1u;
  if (seen != kAllTcbArcs) {
    return Bad("TCB items missing");
  }
  return OkStatus();
}

}  // namespace

Result<PckExtensions> ParsePckExtensions(std::span<const uint8_t> cert_der) {
  EML_ASSIGN_OR_RETURN(std::span<const uint8_t> value, FindSgxExtension(cert_der));
  ByteReader outer(value);
  ByteReader items;
  if (!ReadExpected(outer, kTagSequence, &items) || !outer.empty()) {
    return Bad("extension value");
  }
  PckExtensions out;
  bool have_tcb = false;
  bool have_pce_id = false;
  bool have_fmspc = false;
  while (!items.empty()) {
    ByteReader item;
    ByteReader oid;
    std::span<const uint8_t> arcs;
    if (!ReadExpected(items, kTagSequence, &item) || !ReadExpected(item, kTagOid, &oid) ||
        !ArcsAfterSgxOid(oid.remaining(), &arcs) || arcs.size() != 1) {
      return Bad("item");
    }
    ByteReader content;
    if (arcs[0] == kArcTcb) {
      if (have_tcb || !ReadExpected(item, kTagSequence, &content)) {
        return Bad("TCB");
      }
      EML_RETURN_IF_ERROR(ReadTcb(content, &out));
      have_tcb = true;
    } else if (arcs[0] == kArcPceId) {
      if (have_pce_id || !ReadExpected(item, kTagOctetString, &content) ||
          !content.CopyBytes(out.pce_id) || !content.empty()) {
        return Bad("PCE-ID");
      }
      have_pce_id = true;
    } else if (arcs[0] == kArcFmspc) {
      if (have_fmspc || !ReadExpected(item, kTagOctetString, &content) ||
          !content.CopyBytes(out.fmspc) || !content.empty()) {
        return Bad("FMSPC");
      }
      have_fmspc = true;
    } else {
      // PPID (1), SGX type (5), platform instance (6), configuration (7): not used here.
      uint8_t tag = 0;
      if (!ReadTlv(item, &tag, &content) ||
          (tag != kTagOctetString && tag != kTagEnumerated && tag != kTagSequence)) {
        return Bad("item value");
      }
    }
    if (!item.empty()) {
      return Bad("item trailing bytes");
    }
  }
  if (!have_tcb || !have_pce_id || !have_fmspc) {
    return Bad("TCB, PCE-ID or FMSPC missing");
  }
  return out;
}

}  // namespace eml::attest::tdx::internal
