#include "cose/sign1.h"

#include <string>
#include <utility>

#include "cbor/encoder.h"

namespace eml::cose {
namespace {

using cbor::Value;

constexpr size_t kSign1ArraySize = 4;
constexpr size_t kEd448SignatureSize = 114;

bool IsValidLabel(const Value& label) { return label.is_integer() || label.is_text(); }

Status CheckLabels(const Value& header, ErrorCode code, const char* which) {
  for (const auto& entry : header.map_entries()) {
    if (!IsValidLabel(entry.first)) {
      return Error{code, std::string(which) + " header label is not an integer or text"};
    }
  }
  return OkStatus();
}

Status CheckNoSharedLabels(const Value& protected_header, const Value& unprotected_header) {
  for (const auto& entry : protected_header.map_entries()) {
    if (unprotected_header.MapFind(entry.first) != nullptr) {
      return Error{ErrorCode::kCoseDuplicateHeaderLabel,
                   "a label is in both the protected and the unprotected header"};
    }
  }
  return OkStatus();
}

std::vector<uint8_t> ToVector(std::span<const uint8_t> bytes) {
  return std::vector<uint8_t>(bytes.begin(), bytes.end());
}

Result<Algorithm> ToAlgorithm(const Value& alg) {
  auto id = alg.AsInt64();
  if (id.has_value()) {
    switch (*id) {
      case static_cast<int64_t>(Algorithm::kEdDSA):
        return Algorithm::kEdDSA;
      case static_cast<int64_t>(Algorithm::kES256):
        return Algorithm::kES256;
      case static_cast<int64_t>(Algorithm::kES384):
        return Algorithm::kES384;
      default:
        break;
    }
  }
  return Error{ErrorCode::kCoseUnsupportedAlgorithm, "COSE alg is not EdDSA, ES256 or ES384"};
}

// Maps a crypto verification failure to the COSE contract: a wrong length stays visible, every
// other failure is "the signature does not verify".
Status MapVerifyError(Status status) {
  if (status.has_value() || status.code() == ErrorCode::kCryptoBadSignatureLength) {
    return status;
  }
  return Error{
      ErrorCode::kCoseSignatureInvalid,
      "COSE_Sign1 signature does not verify (" + std::string(ErrorCodeName(status.code())) + ")"};
}

Status CheckKeyFits(Algorithm alg, const VerificationKey& key) {
  bool fits = false;
  switch (alg) {
    case Algorithm::kEdDSA:
      fits = std::holds_alternative<crypto::Ed25519PublicKey>(key);
      break;
    case Algorithm::kES256:
      fits = std::holds_alternative<crypto::EcdsaPublicKey>(key) &&
             std::get<crypto::EcdsaPublicKey>(key).curve() == crypto::EcdsaCurve::kP256;
      break;
    case Algorithm::kES384:
      fits = std::holds_alternative<crypto::EcdsaPublicKey>(key) &&
             std::get<crypto::EcdsaPublicKey>(key).curve() == crypto::EcdsaCurve::kP384;
      break;
  }
  if (!fits) {
    return Error{ErrorCode::kCoseAlgorithmKeyMismatch, "the key does not fit the COSE alg"};
  }
  return OkStatus();
}

Algorithm AlgorithmForCurve(crypto::EcdsaCurve curve) {
  switch (curve) {
    case crypto::EcdsaCurve::kP256:
      return Algorithm::kES256;
    case crypto::EcdsaCurve::kP384:
      return Algorithm::kES384;
  }
  EML_CHECK(false);
  return Algorithm::kES256;
}

// SignWith encodes the headers, signs the Sig_structure with `sign` and builds the message.
template <typename SignFn>
Result<std::vector<uint8_t>> SignWith(const Sign1Input& in, Algorithm alg, SignFn sign) {
  if (!in.protected_header.is_map() || !in.unprotected_header.is_map()) {
    return Error{ErrorCode::kInvalidArgument, "COSE headers must be maps"};
  }
  const Value alg_value = Value::Int(static_cast<int64_t>(alg));
  std::vector<std::pair<Value, Value>> protected_entries = in.protected_header.map_entries();
  const Value* given_alg = in.protected_header.MapFind(cose::kHeaderAlgorithm);
  if (given_alg == nullptr) {
    protected_entries.emplace_back(Value::Int(kHeaderAlgorithm), alg_value);
  } else if (!(*given_alg == alg_value)) {
    return Error{ErrorCode::kCoseAlgorithmKeyMismatch, "protected alg does not fit the key"};
  }
  const Value protected_header = Value::Map(std::move(protected_entries));
  EML_RETURN_IF_ERROR(CheckNoSharedLabels(protected_header, in.unprotected_header));
  EML_ASSIGN_OR_RETURN(std::vector<uint8_t> protected_bytes, cbor::Encode(protected_header));
  const std::vector<uint8_t> to_be_signed =
      SigStructure(protected_bytes, in.external_aad, in.payload);
  EML_ASSIGN_OR_RETURN(std::vector<uint8_t> signature, sign(to_be_signed));
  Value message = Value::Array({Value::Bytes(std::move(protected_bytes)), in.unprotected_header,
                                Value::Bytes(in.payload), Value::Bytes(std::move(signature))});
  if (in.tagged) {
    message = Value::Tag(kSign1Tag, std::move(message));
  }
  return cbor::Encode(message);
}

}  // namespace

std::optional<std::span<const uint8_t>> ParsedSign1::payload() const {
  if (!payload_.has_value()) {
    return std::nullopt;
  }
  return std::span<const uint8_t>(*payload_);
}

Result<ParsedSign1> ParseSign1(std::span<const uint8_t> bytes, const ParseOptions& options) {
  EML_ASSIGN_OR_RETURN(cbor::Decoded decoded, cbor::Decode(bytes, options.limits));
  ParsedSign1 out;
  const Value* message = &decoded.value;
  if (message->is_tag()) {
    if (message->tag_number() != kSign1Tag) {
      return Error{ErrorCode::kCoseWrongTag, "tag is not COSE_Sign1 (18)"};
    }
    if (options.tag_rule == TagRule::kRequireUntagged) {
      return Error{ErrorCode::kCoseWrongTag, "COSE_Sign1 must be untagged here"};
    }
    out.tagged_ = true;
    message = &message->tag_content();
  } else if (options.tag_rule == TagRule::kRequireTagged) {
    return Error{ErrorCode::kCoseUntagged, "COSE_Sign1 tag 18 is required"};
  }
  if (!message->is_array() || message->array_items().size() != kSign1ArraySize) {
    return Error{ErrorCode::kCoseMalformed, "COSE_Sign1 is not a 4-element array"};
  }
  const std::vector<Value>& parts = message->array_items();
  auto protected_bytes = parts[0].AsBytes();
  if (!protected_bytes.has_value()) {
    return Error{ErrorCode::kCoseMalformed, "COSE_Sign1 protected header is not a bstr"};
  }
  if (!parts[1].is_map()) {
    return Error{ErrorCode::kCoseBadUnprotectedHeader, "unprotected header is not a map"};
  }
  if (!parts[2].is_bytes() && !parts[2].is_null()) {
    return Error{ErrorCode::kCoseMalformed, "COSE_Sign1 payload is not a bstr or nil"};
  }
  auto signature = parts[3].AsBytes();
  if (!signature.has_value()) {
    return Error{ErrorCode::kCoseMalformed, "COSE_Sign1 signature is not a bstr"};
  }
  if (parts[2].is_null() && !options.allow_detached_payload) {
    return Error{ErrorCode::kCoseDetachedPayload, "COSE_Sign1 payload is detached (nil)"};
  }

  bool protected_canonical = true;
  if (protected_bytes->empty()) {
    out.protected_header_ = Value::Map({});
  } else {
    auto header = cbor::Decode(*protected_bytes, options.limits);
    if (!header.has_value()) {
      return Error{ErrorCode::kCoseBadProtectedHeader,
                   "protected header does not decode: " + ToString(header.error())};
    }
    if (!header->value.is_map()) {
      return Error{ErrorCode::kCoseBadProtectedHeader, "protected header is not a map"};
    }
    protected_canonical = header->canonical;
    out.protected_header_ = std::move(header->value);
  }
  EML_RETURN_IF_ERROR(
      CheckLabels(out.protected_header_, ErrorCode::kCoseBadProtectedHeader, "protected"));
  EML_RETURN_IF_ERROR(CheckLabels(parts[1], ErrorCode::kCoseBadUnprotectedHeader, "unprotected"));
  EML_RETURN_IF_ERROR(CheckNoSharedLabels(out.protected_header_, parts[1]));

  if (const Value* alg = out.protected_header_.MapFind(kHeaderAlgorithm); alg != nullptr) {
    auto id = alg->AsInt64();
    if (id.has_value()) {
      out.algorithm_ = *id;
    }
  }
  out.protected_bytes_ = ToVector(*protected_bytes);
  out.unprotected_header_ = parts[1];
  if (parts[2].is_bytes()) {
    out.payload_ = ToVector(*parts[2].AsBytes());
  }
  out.signature_ = ToVector(*signature);
  out.canonical_ = decoded.canonical && protected_canonical;
  return out;
}

Result<std::vector<uint8_t>> SerializeSign1(const ParsedSign1& msg) {
  const std::optional<std::span<const uint8_t>> payload = msg.payload();
  Value message = Value::Array({Value::Bytes(msg.protected_bytes()), msg.unprotected_header(),
                                payload.has_value() ? Value::Bytes(*payload) : Value::Null(),
                                Value::Bytes(msg.signature())});
  if (msg.tagged()) {
    message = Value::Tag(kSign1Tag, std::move(message));
  }
  return cbor::Encode(message);
}

std::vector<uint8_t> SigStructure(std::span<const uint8_t> protected_bytes,
                                  std::span<const uint8_t> external_aad,
                                  std::span<const uint8_t> payload) {
  const Value structure = Value::Array({Value::Text("Signature1"), Value::Bytes(protected_bytes),
                                        Value::Bytes(external_aad), Value::Bytes(payload)});
  auto encoded = cbor::Encode(structure);
  EML_CHECK(encoded.has_value());  // an array without maps cannot fail to encode
  return std::move(*encoded);
}

Status VerifySign1(const ParsedSign1& msg, const VerificationKey& key,
                   const VerifyOptions& options) {
  const Value* alg_value = msg.protected_header().MapFind(kHeaderAlgorithm);
  if (alg_value == nullptr && options.allow_unprotected_algorithm) {
    alg_value = msg.unprotected_header().MapFind(kHeaderAlgorithm);
  }
  if (alg_value == nullptr) {
    return Error{ErrorCode::kCoseMissingAlgorithm, "no alg in the COSE protected header"};
  }
  EML_ASSIGN_OR_RETURN(const Algorithm alg, ToAlgorithm(*alg_value));
  if (alg == Algorithm::kEdDSA && msg.signature().size() == kEd448SignatureSize) {
    return Error{ErrorCode::kCoseUnsupportedAlgorithm, "EdDSA with Ed448 is not supported"};
  }
  EML_RETURN_IF_ERROR(CheckKeyFits(alg, key));

  std::span<const uint8_t> payload;
  if (msg.payload().has_value()) {
    if (options.detached_payload.has_value()) {
      return Error{ErrorCode::kInvalidArgument, "detached payload given for an attached one"};
    }
    payload = *msg.payload();
  } else if (options.detached_payload.has_value()) {
    payload = *options.detached_payload;
  } else {
    return Error{ErrorCode::kCoseMissingPayload, "detached COSE payload was not supplied"};
  }

  // RFC 9052 section 4.4: with no protected header parameters the Sig_structure holds a
  // zero-length bstr, also when the message carried the empty map as h'a0'.
  const std::span<const uint8_t> protected_bytes = msg.protected_header().map_entries().empty()
                                                       ? std::span<const uint8_t>()
                                                       : msg.protected_bytes();
  const std::vector<uint8_t> to_be_signed =
      SigStructure(protected_bytes, options.external_aad, payload);
  if (alg == Algorithm::kEdDSA) {
    return MapVerifyError(
        std::get<crypto::Ed25519PublicKey>(key).Verify(to_be_signed, msg.signature()));
  }
  return MapVerifyError(
      std::get<crypto::EcdsaPublicKey>(key).VerifyRaw(to_be_signed, msg.signature()));
}

Result<std::vector<uint8_t>> SignSign1Ed25519(const Sign1Input& in,
                                              const crypto::Ed25519PrivateKey& key) {
  return SignWith(in, Algorithm::kEdDSA,
                  [&key](std::span<const uint8_t> tbs) -> Result<std::vector<uint8_t>> {
                    const auto signature = key.Sign(tbs);
                    return std::vector<uint8_t>(signature.begin(), signature.end());
                  });
}

Result<std::vector<uint8_t>> SignSign1Ecdsa(const Sign1Input& in,
                                            const crypto::EcdsaPrivateKey& key) {
  return SignWith(in, AlgorithmForCurve(key.public_key().curve()),
                  [&key](std::span<const uint8_t> tbs) { return key.SignRaw(tbs); });
}

}  // namespace eml::cose
