#include "attest/tdx/quote.h"

#include <string>

#include "common/byte_reader.h"

namespace eml::attest::tdx {
namespace {

constexpr size_t kQeVendorIdBytes = 16;
constexpr size_t kHeaderUserDataBytes = 20;
constexpr size_t kHeaderReservedBytes = 4;
constexpr size_t kSeamAttributesBytes = 8;
constexpr size_t kTdAttributesBytes = 8;
constexpr size_t kXfamBytes = 8;
constexpr size_t kCpuSvnBytes = 16;
constexpr size_t kSgxAttributesBytes = 16;
constexpr size_t kSgxHashBytes = 32;
constexpr size_t kSgxReserved1Bytes = 28;
constexpr size_t kSgxReserved2Bytes = 32;
constexpr size_t kSgxReserved3Bytes = 96;
constexpr size_t kSgxReserved4Bytes = 60;

Error Truncated(const char* what) {
  return Error{ErrorCode::kTdxQuoteMalformed, std::string("quote truncated in ") + what};
}

Status ReadHeader(ByteReader& r, QuoteHeader* out) {
  if (!r.ReadU16Le(&out->version) || !r.ReadU16Le(&out->attestation_key_type) ||
      !r.ReadU32Le(&out->tee_type) || !r.Skip(kHeaderReservedBytes) ||
      !r.ReadBytes(kQeVendorIdBytes, &out->qe_vendor_id) ||
      !r.ReadBytes(kHeaderUserDataBytes, &out->user_data)) {
    return Truncated("header");
  }
  if (out->version != kQuoteVersion4 && out->version != kQuoteVersion5) {
    return Error{ErrorCode::kTdxUnsupportedQuote,
                 "quote version " + std::to_string(out->version) + " (want 4 or 5)"};
  }
  if (out->attestation_key_type != kAttestationKeyTypeEcdsaP256) {
    return Error{ErrorCode::kTdxUnsupportedQuote, "attestation key type is not ECDSA-P256"};
  }
  if (out->tee_type != kTeeTypeTdx) {
    return Error{ErrorCode::kTdxUnsupportedQuote, "TEE type is not TDX (0x81)"};
  }
  return OkStatus();
}

// ReadBody reads a TD report body of `body_type` from a reader holding exactly that body.
Status ReadBody(ByteReader& r, uint16_t body_type, TdReportBody* out) {
  out->body_type = body_type;
  bool ok = r.ReadBytes(kTeeTcbSvnBytes, &out->tee_tcb_svn) &&
            r.ReadBytes(kMeasurementBytes, &out->mrseam) &&
            r.ReadBytes(kMeasurementBytes, &out->mrsignerseam) &&
            r.ReadBytes(kSeamAttributesBytes, &out->seam_attributes) &&
            r.ReadBytes(kTdAttributesBytes, &out->td_attributes) &&
            r.ReadBytes(kXfamBytes, &out->xfam) && r.ReadBytes(kMeasurementBytes, &out->mrtd) &&
            r.ReadBytes(kMeasurementBytes, &out->mrconfigid) &&
            r.ReadBytes(kMeasurementBytes, &out->mrowner) &&
            r.ReadBytes(kMeasurementBytes, &out->mrownerconfig);
  for (std::span<const uint8_t>& rtmr : out->rtmr) {
    ok = ok && r.ReadBytes(kMeasurementBytes, &rtmr);
  }
  ok = ok && r.ReadBytes(kReportDataBytes, &out->report_data);
  if (body_type == kBodyTypeTdx15) {
    ok = ok && r.ReadBytes(kTeeTcbSvnBytes, &out->tee_tcb_svn2) &&
         r.ReadBytes(kMeasurementBytes, &out->mrservicetd);
  }
  if (!ok) {
    return Truncated("TD report body");
  }
  return OkStatus();
}

Status ReadQeReport(ByteReader& r, QeReport* out) {
  bool ok = r.ReadBytes(kCpuSvnBytes, &out->cpu_svn) && r.ReadU32Le(&out->miscselect) &&
            r.Skip(kSgxReserved1Bytes) && r.ReadBytes(kSgxAttributesBytes, &out->attributes) &&
            r.ReadBytes(kSgxHashBytes, &out->mrenclave) && r.Skip(kSgxReserved2Bytes) &&
            r.ReadBytes(kSgxHashBytes, &out->mrsigner) && r.Skip(kSgxReserved3Bytes) &&
            r.ReadU16Le(&out->isv_prod_id) && r.ReadU16Le(&out->isv_svn) &&
            r.Skip(kSgxReserved4Bytes) && r.ReadBytes(kReportDataBytes, &out->report_data);
  if (!ok || !r.empty()) {
    return Truncated("QE report");  // unreachable for a 384-byte child; kept as a check
  }
  return OkStatus();
}

// ReadCertData reads "u16 type | u32 size | data" and returns the data as a child reader.
Status ReadCertData(ByteReader& r, uint16_t want_type, const char* what, ByteReader* out) {
  uint16_t type = 0;
  uint32_t size = 0;
  if (!r.ReadU16Le(&type) || !r.ReadU32Le(&size)) {
    return Error{ErrorCode::kTdxBadCertificationData, std::string(what) + " header missing"};
  }
  if (type != want_type) {
    return Error{ErrorCode::kTdxBadCertificationData, std::string(what) + " type " +
                                                          std::to_string(type) + " (want " +
                                                          std::to_string(want_type) + ")"};
  }
  if (size == 0) {
    return Error{ErrorCode::kTdxBadCertificationData, std::string(what) + " is empty"};
  }
  if (!r.ReadSub(size, out)) {
    return Truncated(what);
  }
  return OkStatus();
}

Status ReadQeCertData(ByteReader& r, const QuoteLimits& limits, ParsedQuote* out) {
  if (!r.ReadBytes(kSgxReportBytes, &out->qe_report_bytes)) {
    return Truncated("QE report");
  }
  ByteReader report(out->qe_report_bytes);
  EML_RETURN_IF_ERROR(ReadQeReport(report, &out->qe_report));
  uint16_t auth_size = 0;
  if (!r.ReadBytes(kEcdsaP256SignatureBytes, &out->qe_report_signature) ||
      !r.ReadU16Le(&auth_size)) {
    return Truncated("QE report signature");
  }
  if (auth_size > limits.max_qe_auth_data_bytes) {
    return Error{ErrorCode::kLimitExceeded, "QE auth data over the limit"};
  }
  if (!r.ReadBytes(auth_size, &out->qe_auth_data)) {
    return Truncated("QE auth data");
  }
  ByteReader chain;
  EML_RETURN_IF_ERROR(ReadCertData(r, kCertDataTypePckChain, "PCK certification data", &chain));
  if (chain.size() > limits.max_pck_chain_bytes) {
    return Error{ErrorCode::kLimitExceeded, "PCK chain over the limit"};
  }
  out->pck_chain_pem = chain.remaining();
  if (!r.empty()) {
    return Error{ErrorCode::kTdxQuoteMalformed, "bytes after the PCK certification data"};
  }
  return OkStatus();
}

Status ReadSignatureData(ByteReader& r, const QuoteLimits& limits, ParsedQuote* out) {
  if (!r.ReadBytes(kEcdsaP256SignatureBytes, &out->signature) ||
      !r.ReadBytes(kEcdsaP256RawKeyBytes, &out->attestation_key)) {
    return Truncated("signature data");
  }
  ByteReader qe_cert_data;
  EML_RETURN_IF_ERROR(ReadCertData(r, kCertDataTypeQeReport, "certification data", &qe_cert_data));
  EML_RETURN_IF_ERROR(ReadQeCertData(qe_cert_data, limits, out));
  if (!r.empty()) {
    return Error{ErrorCode::kTdxQuoteMalformed, "bytes after the certification data"};
  }
  return OkStatus();
}

}  // namespace

Result<ParsedQuote> ParseQuote(std::span<const uint8_t> quote, const QuoteLimits& limits) {
  if (quote.size() > limits.max_quote_bytes) {
    return Error{ErrorCode::kLimitExceeded, "quote over the size limit"};
  }
  ParsedQuote out;
  ByteReader r(quote);
  ByteReader signed_reader(quote);  // re-reads the signed prefix once its length is known
  size_t signed_size = kHeaderBytes;
  EML_RETURN_IF_ERROR(ReadHeader(r, &out.header));
  uint16_t body_type = kBodyTypeTdx10;
  size_t body_size = kTdReportBody10Bytes;
  if (out.header.version == kQuoteVersion5) {
    uint32_t size = 0;
    if (!r.ReadU16Le(&body_type) || !r.ReadU32Le(&size)) {
      return Truncated("body descriptor");
    }
    if (body_type == kBodyTypeTdx10) {
      body_size = kTdReportBody10Bytes;
    } else if (body_type == kBodyTypeTdx15) {
      body_size = kTdReportBody15Bytes;
    } else {
      return Error{ErrorCode::kTdxUnsupportedQuote,
                   "v5 body type " + std::to_string(body_type) + " (want 2 or 3)"};
    }
    if (size != body_size) {
      return Error{ErrorCode::kTdxUnsupportedQuote, "v5 body size does not match its type"};
    }
    signed_size += sizeof(body_type) + sizeof(size);
  }
  signed_size += body_size;
  ByteReader body;
  if (!r.ReadSub(body_size, &body)) {
    return Truncated("TD report body");
  }
  EML_RETURN_IF_ERROR(ReadBody(body, body_type, &out.body));
  EML_CHECK(signed_reader.ReadBytes(signed_size, &out.signed_region));  // already read above
  uint32_t signature_data_size = 0;
  if (!r.ReadU32Le(&signature_data_size)) {
    return Truncated("signature data length");
  }
  if (signature_data_size > limits.max_signature_data_bytes) {
    return Error{ErrorCode::kLimitExceeded, "signature data over the limit"};
  }
  ByteReader signature_data;
  if (!r.ReadSub(signature_data_size, &signature_data)) {
    return Truncated("signature data");
  }
  EML_RETURN_IF_ERROR(ReadSignatureData(signature_data, limits, &out));
  out.trailing_bytes = r.size();
  return out;
}

bool IsDebugTd(const TdReportBody& body) {
  return !body.td_attributes.empty() && (body.td_attributes[0] & 0x01) != 0;
}

}  // namespace eml::attest::tdx
