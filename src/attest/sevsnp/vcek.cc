#include "attest/sevsnp/vcek.h"

#include <span>
#include <string>
#include <utility>

#include "common/byte_reader.h"

namespace eml::attest::sevsnp {
namespace {

constexpr uint8_t kDerInteger = 0x02;
constexpr uint8_t kDerIa5String = 0x16;
constexpr size_t kMaxProductNameBytes = 127;  // short-form length only
constexpr size_t kHwIdBytes = 64;
constexpr size_t kTurinHwIdBytes = 8;

Error BadCert(std::string detail) {
  return Error{ErrorCode::kSnpBadEndorsementCert, std::move(detail)};
}

Result<std::vector<uint8_t>> RequiredExtension(const crypto::Certificate& cert, const char* oid) {
  Result<std::optional<std::vector<uint8_t>>> value = cert.ExtensionValue(oid);
  if (!value.has_value()) {
    return BadCert(std::string("extension ") + oid + ": " + value.error().detail);
  }
  if (!value->has_value()) {
    return BadCert(std::string("extension ") + oid + " is missing");
  }
  return std::move(**value);
}

// ReadTlv reads one short-form DER item with tag `tag` that fills `bytes` exactly.
bool ReadTlv(std::span<const uint8_t> bytes, uint8_t tag, std::span<const uint8_t>* content) {
  ByteReader reader(bytes);
  uint8_t actual_tag = 0;
  uint8_t length = 0;
  return reader.ReadU8(&actual_tag) && actual_tag == tag && reader.ReadU8(&length) &&
         length < 0x80 && reader.ReadBytes(length, content) && reader.empty();
}

// ReadSpl reads a DER INTEGER in 0..255 in its minimal encoding.
Result<uint8_t> ReadSpl(const crypto::Certificate& cert, const char* oid) {
  EML_ASSIGN_OR_RETURN(std::vector<uint8_t> value, RequiredExtension(cert, oid));
  std::span<const uint8_t> content;
  if (!ReadTlv(value, kDerInteger, &content)) {
    return BadCert(std::string("extension ") + oid + " is not a DER INTEGER");
  }
  if (content.size() == 1 && content[0] < 0x80) {
    return content[0];
  }
  if (content.size() == 2 && content[0] == 0 && content[1] >= 0x80) {
    return content[1];
  }
  return BadCert(std::string("extension ") + oid + " is not an SPL in 0..255");
}

Result<std::pair<Product, std::string>> ReadProduct(const crypto::Certificate& cert) {
  EML_ASSIGN_OR_RETURN(std::vector<uint8_t> value, RequiredExtension(cert, kOidProductName));
  std::span<const uint8_t> content;
  if (!ReadTlv(value, kDerIa5String, &content) || content.empty() ||
      content.size() > kMaxProductNameBytes) {
    return BadCert("productName is not a short IA5String");
  }
  std::string name;
  for (uint8_t c : content) {
    if (c < 0x20 || c > 0x7E) {
      return BadCert("productName has a non-printable character");
    }
    name.push_back(static_cast<char>(c));
  }
  const std::string family = name.substr(0, name.find('-'));
  for (Product product : {Product::kMilan, Product::kGenoa, Product::kTurin}) {
    if (family == ProductName(product)) {
      return std::make_pair(product, std::move(name));
    }
  }
  if (family == "Siena") {  // Siena (EPYC 8004) parts are certified under the Genoa ARK / ASK.
    return std::make_pair(Product::kGenoa, std::move(name));
  }
  return BadCert("unknown product " + name);
}

}  // namespace

Result<EndorsementInfo> ReadEndorsementExtensions(const crypto::Certificate& cert) {
  EndorsementInfo info;
  EML_ASSIGN_OR_RETURN(auto product, ReadProduct(cert));
  info.product = product.first;
  info.product_name = std::move(product.second);
  EML_ASSIGN_OR_RETURN(info.tcb.bootloader, ReadSpl(cert, kOidBlSpl));
  EML_ASSIGN_OR_RETURN(info.tcb.tee, ReadSpl(cert, kOidTeeSpl));
  EML_ASSIGN_OR_RETURN(info.tcb.snp, ReadSpl(cert, kOidSnpSpl));
  EML_ASSIGN_OR_RETURN(info.tcb.microcode, ReadSpl(cert, kOidUcodeSpl));
  if (info.product == Product::kTurin) {
    EML_ASSIGN_OR_RETURN(info.tcb.fmc, ReadSpl(cert, kOidFmcSpl));
  }
  Result<std::optional<std::vector<uint8_t>>> hwid = cert.ExtensionValue(kOidHwId);
  if (!hwid.has_value()) {
    return BadCert("hwID: " + hwid.error().detail);
  }
  if (hwid->has_value()) {
    const size_t size = (*hwid)->size();
    if (size != kHwIdBytes && !(info.product == Product::kTurin && size == kTurinHwIdBytes)) {
      return BadCert("hwID has " + std::to_string((*hwid)->size()) + " bytes");
    }
    info.hwid = std::move(**hwid);
  }
  return info;
}

}  // namespace eml::attest::sevsnp
