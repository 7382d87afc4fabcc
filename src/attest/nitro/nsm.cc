#include "attest/nitro/nsm.h"

#include <string>
#include <string_view>
#include <utility>

#include "cbor/decoder.h"
#include "cbor/value.h"
#include "common/byte_writer.h"

namespace eml::attest::nitro {
namespace {

constexpr uint8_t kMajorUnsigned = 0;
constexpr uint8_t kMajorBytes = 2;
constexpr uint8_t kMajorText = 3;
constexpr uint8_t kMajorMap = 5;
constexpr uint8_t kNull = 0xf6;

// PutHead writes a CBOR head in its shortest form (RFC 8949 section 3).
void PutHead(ByteWriter* out, uint8_t major, uint64_t arg) {
  const auto initial = static_cast<uint8_t>(major << 5);
  if (arg < 24) {
    out->PutU8(static_cast<uint8_t>(initial | arg));
  } else if (arg <= 0xff) {
    out->PutU8(initial | 24);
    out->PutU8(static_cast<uint8_t>(arg));
  } else if (arg <= 0xffff) {
    out->PutU8(initial | 25);
    out->PutU16Be(static_cast<uint16_t>(arg));
  } else if (arg <= 0xffffffff) {
    out->PutU8(initial | 26);
    out->PutU32Be(static_cast<uint32_t>(arg));
  } else {
    out->PutU8(initial | 27);
    out->PutU64Be(arg);
  }
}

void PutText(ByteWriter* out, std::string_view text) {
  PutHead(out, kMajorText, text.size());
  for (char c : text) {
    out->PutU8(static_cast<uint8_t>(c));
  }
}

void PutOptionalBytes(ByteWriter* out, const std::optional<std::vector<uint8_t>>& bytes) {
  if (!bytes.has_value()) {
    out->PutU8(kNull);
    return;
  }
  PutHead(out, kMajorBytes, bytes->size());
  out->PutBytes(*bytes);
}

Error Malformed(std::string detail) {
  return Error{ErrorCode::kNsmMalformedResponse, std::move(detail)};
}

// DecodeVariant decodes `response` as {"<variant>": body} and returns body. An Error response
// becomes kNsmErrorResponse with the NSM's error name (a short ASCII identifier) in detail.
Result<cbor::Value> DecodeVariant(std::span<const uint8_t> response, std::string_view variant) {
  if (response.size() > kNsmResponseMaxBytes) {
    return Malformed("response over the driver's buffer size");
  }
  cbor::DecodeLimits limits;
  limits.max_input_bytes = kNsmResponseMaxBytes;
  limits.max_string_bytes = kNsmResponseMaxBytes;
  limits.max_depth = 4;
  limits.max_items = 64;
  Result<cbor::Decoded> decoded = cbor::Decode(response, limits);
  if (!decoded.has_value()) {
    return Malformed("response is not strict CBOR: " + ToString(decoded.error()));
  }
  cbor::Value& top = decoded->value;
  if (!top.is_map() || top.map_entries().size() != 1 || !top.map_entries()[0].first.is_text()) {
    return Malformed("response is not a one-entry map with a text key");
  }
  const std::string_view name = *top.map_entries()[0].first.AsText();
  const cbor::Value& body = top.map_entries()[0].second;
  if (name == "Error") {
    Result<std::string_view> code = body.AsText();
    if (!code.has_value() || code->empty() || code->size() > 32) {
      return Malformed("Error response without an error name");
    }
    for (char c : *code) {
      const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
      if (!ok) {
        return Malformed("Error response with a malformed error name");
      }
    }
    return Error{ErrorCode::kNsmErrorResponse, "NSM error " + std::string(*code)};
  }
  if (name != variant) {
    return Malformed("response variant " + std::string(name.substr(0, 32)) + ", want " +
                     std::string(variant));
  }
  if (!body.is_map()) {
    return Malformed("response body is not a map");
  }
  return body;
}

// Field returns the one entry of `body` named `key`; kNsmMalformedResponse when absent.
Result<const cbor::Value*> Field(const cbor::Value& body, std::string_view key) {
  const cbor::Value* value = body.MapFind(key);
  if (value == nullptr) {
    return Malformed("response lacks \"" + std::string(key) + "\"");
  }
  return value;
}

// CheckKeys refuses any key of `body` outside `allowed` (the Rust structs are closed).
Status CheckKeys(const cbor::Value& body, std::initializer_list<std::string_view> allowed) {
  for (const auto& [key, value] : body.map_entries()) {
    Result<std::string_view> text = key.AsText();
    bool known = false;
    if (text.has_value()) {
      for (std::string_view name : allowed) {
        known = known || *text == name;
      }
    }
    if (!known) {
      return Malformed("response has an unknown key");
    }
  }
  return OkStatus();
}

}  // namespace

Result<std::vector<uint8_t>> EncodeAttestationRequest(const NsmAttestationRequest& request) {
  if ((request.user_data && request.user_data->size() > kNsmMaxUserDataBytes) ||
      (request.nonce && request.nonce->size() > kNsmMaxNonceBytes) ||
      (request.public_key && request.public_key->size() > kNsmMaxPublicKeyBytes)) {
    return Error{ErrorCode::kNsmBadRequest, "attestation request field over its bound"};
  }
  ByteWriter out = ByteWriter::Fixed(kNsmRequestMaxBytes);
  PutHead(&out, kMajorMap, 1);
  PutText(&out, "Attestation");
  PutHead(&out, kMajorMap, 3);
  PutText(&out, "user_data");
  PutOptionalBytes(&out, request.user_data);
  PutText(&out, "nonce");
  PutOptionalBytes(&out, request.nonce);
  PutText(&out, "public_key");
  PutOptionalBytes(&out, request.public_key);
  std::optional<std::vector<uint8_t>> bytes = std::move(out).Finish();
  if (!bytes.has_value()) {
    return Error{ErrorCode::kNsmBadRequest, "attestation request over the driver's buffer"};
  }
  return *std::move(bytes);
}

std::vector<uint8_t> EncodeDescribePcrRequest(uint16_t index) {
  ByteWriter out;
  PutHead(&out, kMajorMap, 1);
  PutText(&out, "DescribePCR");
  PutHead(&out, kMajorMap, 1);
  PutText(&out, "index");
  PutHead(&out, kMajorUnsigned, index);
  std::optional<std::vector<uint8_t>> bytes = std::move(out).Finish();
  EML_CHECK(bytes.has_value());  // growable writer, a few bytes
  return *std::move(bytes);
}

Result<std::vector<uint8_t>> ParseAttestationResponse(std::span<const uint8_t> response) {
  EML_ASSIGN_OR_RETURN(cbor::Value body, DecodeVariant(response, "Attestation"));
  EML_RETURN_IF_ERROR(CheckKeys(body, {"document"}));
  EML_ASSIGN_OR_RETURN(const cbor::Value* document, Field(body, "document"));
  Result<std::span<const uint8_t>> bytes = document->AsBytes();
  if (!bytes.has_value() || bytes->empty()) {
    return Malformed("document is not a non-empty byte string");
  }
  return std::vector<uint8_t>(bytes->begin(), bytes->end());
}

Result<PcrDescription> ParseDescribePcrResponse(std::span<const uint8_t> response) {
  EML_ASSIGN_OR_RETURN(cbor::Value body, DecodeVariant(response, "DescribePCR"));
  EML_RETURN_IF_ERROR(CheckKeys(body, {"lock", "data"}));
  EML_ASSIGN_OR_RETURN(const cbor::Value* lock, Field(body, "lock"));
  EML_ASSIGN_OR_RETURN(const cbor::Value* data, Field(body, "data"));
  Result<bool> locked = lock->AsBool();
  Result<std::span<const uint8_t>> bytes = data->AsBytes();
  if (!locked.has_value() || !bytes.has_value()) {
    return Malformed("lock is not a bool or data is not a byte string");
  }
  if (bytes->empty() || bytes->size() > kMaxPcrBytes) {
    return Malformed("PCR data empty or longer than a SHA-512 digest");
  }
  return PcrDescription{*locked, std::vector<uint8_t>(bytes->begin(), bytes->end())};
}

Result<std::vector<uint8_t>> NsmClient::Attest(const NsmAttestationRequest& request) {
  EML_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, EncodeAttestationRequest(request));
  EML_ASSIGN_OR_RETURN(std::vector<uint8_t> response, transport_->Call(bytes));
  return ParseAttestationResponse(response);
}

Result<PcrDescription> NsmClient::DescribePcr(uint16_t index) {
  EML_ASSIGN_OR_RETURN(std::vector<uint8_t> response,
                       transport_->Call(EncodeDescribePcrRequest(index)));
  return ParseDescribePcrResponse(response);
}

}  // namespace eml::attest::nitro
