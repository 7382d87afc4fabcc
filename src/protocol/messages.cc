#include "protocol/messages.h"

#include <algorithm>
#include <bit>
#include <initializer_list>
#include <set>
#include <utility>

#include "cbor/decoder.h"
#include "cbor/encoder.h"
#include "cbor/value.h"
#include "common/byte_reader.h"
#include "common/byte_writer.h"
#include "common/checked_math.h"
#include "common/error.h"

namespace eml::protocol {
namespace {

using cbor::Value;

constexpr std::string_view kOpEmbed = "embed";
constexpr std::string_view kOpEvidence = "evidence";
// Items a message holds besides its one variable-length array: keys, values, the error map.
constexpr size_t kFixedItems = 32;

Error Bad(ErrorCode code, std::string detail) { return Error{code, std::move(detail)}; }

// MapCbor maps a CBOR decoder error to the protocol's codes; the CBOR name stays in the detail.
Error MapCbor(const Error& error, ErrorCode too_many_items_code) {
  const ErrorCode code = error.code;
  if (code == ErrorCode::kCborInputTooLarge) {
    return Bad(ErrorCode::kProtocolMessageTooLarge, ToString(error));
  }
  if (code == ErrorCode::kCborIndefiniteLength || code == ErrorCode::kCborNonShortestForm ||
      code == ErrorCode::kCborUnsortedKeys || code == ErrorCode::kCborNonCanonicalFloat) {
    return Bad(ErrorCode::kProtocolNonCanonical, ToString(error));
  }
  if (code == ErrorCode::kCborTooManyItems) {
    return Bad(too_many_items_code, ToString(error));
  }
  return Bad(ErrorCode::kProtocolBadCbor, ToString(error));
}

// DecodeMessage decodes one deterministic CBOR item of at most max_bytes bytes.
Result<Value> DecodeMessage(std::span<const uint8_t> bytes, size_t max_bytes, size_t max_items,
                            ErrorCode too_many_items_code = ErrorCode::kProtocolBadCbor) {
  if (bytes.size() > max_bytes) {
    return Bad(ErrorCode::kProtocolMessageTooLarge, "message of " + std::to_string(bytes.size()) +
                                                        " bytes, limit " +
                                                        std::to_string(max_bytes));
  }
  cbor::DecodeLimits limits;
  limits.max_input_bytes = max_bytes;
  limits.max_depth = kMaxDepth;
  limits.max_items = max_items;
  limits.max_string_bytes = max_bytes;
  limits.strict = true;
  limits.require_canonical = true;
  Result<cbor::Decoded> decoded = cbor::Decode(bytes, limits);
  if (!decoded.has_value()) {
    return MapCbor(decoded.error(), too_many_items_code);
  }
  // require_canonical makes every accepted input canonical; keep the invariant explicit.
  if (!decoded->canonical) {
    return Bad(ErrorCode::kProtocolNonCanonical, "not the deterministic encoding");
  }
  return std::move(decoded->value);
}

// Fields: a map whose keys are all text and all in an allowed set.
class Fields {
 public:
  static Result<Fields> Of(const Value& map, std::initializer_list<std::string_view> allowed,
                           std::string_view what) {
    if (!map.is_map()) {
      return Bad(ErrorCode::kProtocolBadField, std::string(what) + " is not a map");
    }
    for (const auto& [key, value] : map.map_entries()) {
      if (!key.is_text()) {
        return Bad(ErrorCode::kProtocolBadField, std::string(what) + " has a non-text key");
      }
      const std::string_view name = *key.AsText();
      if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
        return Bad(ErrorCode::kProtocolUnknownKey,
                   std::string(what) + " has unknown key \"" + std::string(name) + "\"");
      }
    }
    return Fields(&map, what);
  }

  const Value* Find(std::string_view key) const { return map_->MapFind(key); }

  Result<const Value*> Require(std::string_view key) const {
    const Value* v = Find(key);
    if (v == nullptr) {
      return Missing(key);
    }
    return v;
  }

  Result<uint64_t> Uint(std::string_view key) const {
    EML_ASSIGN_OR_RETURN(const Value* v, Require(key));
    return AsUint(*v, key);
  }
  Result<std::span<const uint8_t>> Bytes(std::string_view key) const {
    EML_ASSIGN_OR_RETURN(const Value* v, Require(key));
    return AsBytes(*v, key);
  }
  Result<std::string_view> Text(std::string_view key) const {
    EML_ASSIGN_OR_RETURN(const Value* v, Require(key));
    return AsText(*v, key);
  }

  Result<uint64_t> AsUint(const Value& v, std::string_view key) const {
    if (!v.is_uint()) {
      return Wrong(key, "uint");
    }
    return *v.AsUint();
  }
  Result<std::span<const uint8_t>> AsBytes(const Value& v, std::string_view key) const {
    if (!v.is_bytes()) {
      return Wrong(key, "bstr");
    }
    return *v.AsBytes();
  }
  Result<std::string_view> AsText(const Value& v, std::string_view key) const {
    if (!v.is_text()) {
      return Wrong(key, "tstr");
    }
    return *v.AsText();
  }

  // CheckVersion requires "v" == kMessageVersion.
  Status CheckVersion() const {
    EML_ASSIGN_OR_RETURN(const uint64_t v, Uint("v"));
    if (v != kMessageVersion) {
      return Bad(ErrorCode::kProtocolUnsupportedVersion, "v = " + std::to_string(v));
    }
    return OkStatus();
  }

  Error Missing(std::string_view key) const {
    return Bad(ErrorCode::kProtocolMissingField,
               std::string(what_) + " lacks \"" + std::string(key) + "\"");
  }
  Error Wrong(std::string_view key, std::string_view type) const {
    return Bad(ErrorCode::kProtocolBadField,
               std::string(what_) + " \"" + std::string(key) + "\" is not a " + std::string(type));
  }

 private:
  Fields(const Value* map, std::string_view what) : map_(map), what_(what) {}
  const Value* map_;
  std::string_view what_;
};

Value Key(std::string_view key) { return Value::Text(std::string(key)); }

Result<std::vector<uint8_t>> EncodeBounded(const Value& v, size_t max_bytes) {
  EML_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, cbor::Encode(v));
  if (bytes.size() > max_bytes) {
    return Bad(ErrorCode::kProtocolMessageTooLarge, "message of " + std::to_string(bytes.size()) +
                                                        " bytes, limit " +
                                                        std::to_string(max_bytes));
  }
  return bytes;
}

Status CheckTextBounds(std::string_view text, size_t max_bytes, std::string_view what) {
  if (text.empty() || text.size() > max_bytes) {
    return Bad(ErrorCode::kProtocolBadField,
               std::string(what) + " must be 1.." + std::to_string(max_bytes) + " bytes");
  }
  return OkStatus();
}

Status CheckNonce(std::span<const uint8_t> nonce) {
  if (nonce.size() < kMinNonceBytes || nonce.size() > kMaxNonceBytes) {
    return Bad(ErrorCode::kProtocolBadNonce,
               "nonce of " + std::to_string(nonce.size()) + " bytes, want 1..64");
  }
  return OkStatus();
}

Status CheckInputs(const std::vector<std::string>& inputs, const Limits& limits) {
  if (inputs.empty()) {
    return Bad(ErrorCode::kProtocolNoInputs, "an embed request needs at least one input");
  }
  if (inputs.size() > limits.max_inputs) {
    return Bad(
        ErrorCode::kProtocolTooManyInputs,
        std::to_string(inputs.size()) + " inputs, limit " + std::to_string(limits.max_inputs));
  }
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i].size() > limits.max_input_bytes) {
      return Bad(ErrorCode::kProtocolInputTooLarge,
                 "input " + std::to_string(i) + " has " + std::to_string(inputs[i].size()) +
                     " bytes, limit " + std::to_string(limits.max_input_bytes));
    }
  }
  return OkStatus();
}

Status ValidateRequest(const Request& request, const Limits& limits) {
  if (request.nonce.has_value()) {
    EML_RETURN_IF_ERROR(CheckNonce(*request.nonce));
  }
  switch (request.op) {
    case Op::kEmbed:
      EML_RETURN_IF_ERROR(CheckInputs(request.inputs, limits));
      if (request.model.has_value()) {
        EML_RETURN_IF_ERROR(CheckTextBounds(*request.model, kMaxModelIdBytes, "model"));
      }
      return OkStatus();
    case Op::kEvidence:
      if (!request.inputs.empty() || request.model.has_value()) {
        return Bad(ErrorCode::kProtocolBadField, "an evidence request takes no inputs or model");
      }
      return OkStatus();
  }
  return Bad(ErrorCode::kProtocolUnknownOp, "unknown op");
}

Status ValidateEmbedResult(const EmbedResult& result, const Limits& limits) {
  EML_RETURN_IF_ERROR(CheckTextBounds(result.model, kMaxModelIdBytes, "model"));
  if (result.dim == 0 || result.dim > kMaxEmbeddingDim) {
    return Bad(ErrorCode::kProtocolBadField, "dim out of range");
  }
  if (result.count == 0 || result.count > limits.max_inputs) {
    return Bad(ErrorCode::kProtocolBadField, "count out of range");
  }
  size_t want_bytes = 0;
  if (!CheckedMul(static_cast<size_t>(result.count), static_cast<size_t>(result.dim) * 4,
                  &want_bytes) ||
      result.embeddings.size() != want_bytes) {
    return Bad(ErrorCode::kProtocolEmbeddingSizeMismatch,
               "embeddings hold " + std::to_string(result.embeddings.size()) + " bytes, want " +
                   std::to_string(want_bytes));
  }
  if (result.token_counts.size() != result.count) {
    return Bad(ErrorCode::kProtocolEmbeddingSizeMismatch, "token_counts length differs from count");
  }
  return OkStatus();
}

Status ValidateResponse(const Response& response, const Limits& limits) {
  if (response.error.has_value()) {
    if (!response.result.empty() || !response.receipt.empty()) {
      return Bad(ErrorCode::kProtocolBadField, "an error response carries no result or receipt");
    }
    if (response.error->message.size() > kMaxErrorMessageBytes) {
      return Bad(ErrorCode::kProtocolBadField, "error message longer than 1 KiB");
    }
    return OkStatus();
  }
  if (response.result.empty() || response.result.size() > limits.max_response_bytes) {
    return Bad(ErrorCode::kProtocolBadField, "result empty or over the limit");
  }
  if (response.receipt.empty() || response.receipt.size() > kMaxReceiptBytes) {
    return Bad(ErrorCode::kProtocolBadField, "receipt empty or over 64 KiB");
  }
  return OkStatus();
}

Status ValidateUserData(const UserData& user_data) {
  if (user_data.protocol != kChannelProtocolVersion) {
    return Bad(ErrorCode::kProtocolUnsupportedVersion,
               "protocol = " + std::to_string(user_data.protocol));
  }
  if (user_data.models.empty() || user_data.models.size() > kMaxUserDataModels) {
    return Bad(ErrorCode::kProtocolBadField, "user_data needs 1..8 models");
  }
  std::set<std::string_view> ids;
  for (const ModelInfo& model : user_data.models) {
    EML_RETURN_IF_ERROR(CheckTextBounds(model.id, kMaxModelIdBytes, "model id"));
    EML_RETURN_IF_ERROR(
        CheckTextBounds(model.model_hash_scheme, kMaxModelHashSchemeBytes, "model_hash_scheme"));
    if (!ids.insert(model.id).second) {
      return Bad(ErrorCode::kProtocolBadField, "model id listed twice");
    }
  }
  return OkStatus();
}

template <size_t N>
Result<std::array<uint8_t, N>> FixedBytes(std::span<const uint8_t> bytes, std::string_view what) {
  std::array<uint8_t, N> out{};
  ByteReader reader(bytes);
  std::span<const uint8_t> view;
  if (!reader.ReadBytes(N, &view) || !reader.empty()) {
    return Bad(ErrorCode::kProtocolBadField,
               std::string(what) + " must be " + std::to_string(N) + " bytes");
  }
  std::copy(view.begin(), view.end(), out.begin());
  return out;
}

std::vector<uint8_t> ToVector(std::span<const uint8_t> bytes) {
  return std::vector<uint8_t>(bytes.begin(), bytes.end());
}

}  // namespace

std::string_view OpName(Op op) {
  switch (op) {
    case Op::kEmbed:
      return kOpEmbed;
    case Op::kEvidence:
      return kOpEvidence;
  }
  return "unknown";
}

Result<std::vector<uint8_t>> EncodeRequest(const Request& request, const Limits& limits) {
  EML_RETURN_IF_ERROR(ValidateRequest(request, limits));
  std::vector<std::pair<Value, Value>> entries;
  entries.emplace_back(Key("v"), Value::Uint(kMessageVersion));
  entries.emplace_back(Key("id"), Value::Uint(request.id));
  entries.emplace_back(Key("op"), Value::Text(std::string(OpName(request.op))));
  if (request.nonce.has_value()) {
    entries.emplace_back(Key("nonce"), Value::Bytes(*request.nonce));
  }
  if (request.op == Op::kEmbed) {
    std::vector<Value> inputs;
    inputs.reserve(request.inputs.size());
    for (const std::string& input : request.inputs) {
      inputs.push_back(Value::Text(input));
    }
    entries.emplace_back(Key("inputs"), Value::Array(std::move(inputs)));
    if (request.model.has_value()) {
      entries.emplace_back(Key("model"), Value::Text(*request.model));
    }
  }
  return EncodeBounded(Value::Map(std::move(entries)), limits.max_request_bytes);
}

Result<Request> DecodeRequest(std::span<const uint8_t> bytes, const Limits& limits) {
  EML_ASSIGN_OR_RETURN(
      Value v, DecodeMessage(bytes, limits.max_request_bytes, limits.max_inputs + kFixedItems,
                             ErrorCode::kProtocolTooManyInputs));
  EML_ASSIGN_OR_RETURN(Fields fields,
                       Fields::Of(v, {"v", "id", "op", "nonce", "inputs", "model"}, "request"));
  EML_RETURN_IF_ERROR(fields.CheckVersion());
  Request request;
  EML_ASSIGN_OR_RETURN(request.id, fields.Uint("id"));
  EML_ASSIGN_OR_RETURN(const std::string_view op, fields.Text("op"));
  if (op == kOpEmbed) {
    request.op = Op::kEmbed;
  } else if (op == kOpEvidence) {
    request.op = Op::kEvidence;
  } else {
    return Bad(ErrorCode::kProtocolUnknownOp, "unknown op");
  }
  if (const Value* nonce = fields.Find("nonce"); nonce != nullptr) {
    EML_ASSIGN_OR_RETURN(const std::span<const uint8_t> nonce_bytes,
                         fields.AsBytes(*nonce, "nonce"));
    EML_RETURN_IF_ERROR(CheckNonce(nonce_bytes));
    request.nonce = ToVector(nonce_bytes);
  }
  if (request.op == Op::kEvidence) {
    if (fields.Find("inputs") != nullptr || fields.Find("model") != nullptr) {
      return Bad(ErrorCode::kProtocolUnknownKey, "an evidence request takes no inputs or model");
    }
    return request;
  }
  EML_ASSIGN_OR_RETURN(const Value* inputs, fields.Require("inputs"));
  if (!inputs->is_array()) {
    return fields.Wrong("inputs", "array");
  }
  const std::vector<Value>& items = inputs->array_items();
  if (items.empty()) {
    return Bad(ErrorCode::kProtocolNoInputs, "an embed request needs at least one input");
  }
  if (items.size() > limits.max_inputs) {
    return Bad(ErrorCode::kProtocolTooManyInputs, std::to_string(items.size()) + " inputs");
  }
  request.inputs.reserve(items.size());
  for (const Value& item : items) {
    EML_ASSIGN_OR_RETURN(const std::string_view text, fields.AsText(item, "inputs"));
    request.inputs.emplace_back(text);
  }
  if (const Value* model = fields.Find("model"); model != nullptr) {
    EML_ASSIGN_OR_RETURN(const std::string_view model_id, fields.AsText(*model, "model"));
    request.model = std::string(model_id);
  }
  EML_RETURN_IF_ERROR(ValidateRequest(request, limits));
  return request;
}

std::optional<uint64_t> PeekRequestId(std::span<const uint8_t> bytes, const Limits& limits) {
  cbor::DecodeLimits cbor_limits;
  cbor_limits.max_input_bytes = limits.max_request_bytes;
  cbor_limits.max_depth = kMaxDepth;
  cbor_limits.max_items = limits.max_inputs + kFixedItems;
  cbor_limits.max_string_bytes = limits.max_request_bytes;
  Result<cbor::Decoded> decoded = cbor::Decode(bytes, cbor_limits);
  if (!decoded.has_value() || !decoded->value.is_map()) {
    return std::nullopt;
  }
  const Value* id = decoded->value.MapFind("id");
  if (id == nullptr || !id->is_uint()) {
    return std::nullopt;
  }
  return *id->AsUint();
}

Result<std::vector<uint8_t>> EncodeResponse(const Response& response, const Limits& limits) {
  EML_RETURN_IF_ERROR(ValidateResponse(response, limits));
  std::vector<std::pair<Value, Value>> entries;
  entries.emplace_back(Key("v"), Value::Uint(kMessageVersion));
  entries.emplace_back(Key("id"), Value::Uint(response.id));
  if (response.error.has_value()) {
    std::vector<std::pair<Value, Value>> error;
    error.emplace_back(Key("code"), Value::Uint(response.error->code));
    error.emplace_back(Key("message"), Value::Text(response.error->message));
    entries.emplace_back(Key("error"), Value::Map(std::move(error)));
  } else {
    entries.emplace_back(Key("result"), Value::Bytes(response.result));
    entries.emplace_back(Key("receipt"), Value::Bytes(response.receipt));
  }
  return EncodeBounded(Value::Map(std::move(entries)), limits.max_response_bytes);
}

Result<Response> DecodeResponse(std::span<const uint8_t> bytes, const Limits& limits) {
  EML_ASSIGN_OR_RETURN(Value v, DecodeMessage(bytes, limits.max_response_bytes, kFixedItems));
  EML_ASSIGN_OR_RETURN(Fields fields,
                       Fields::Of(v, {"v", "id", "result", "receipt", "error"}, "response"));
  EML_RETURN_IF_ERROR(fields.CheckVersion());
  Response response;
  EML_ASSIGN_OR_RETURN(response.id, fields.Uint("id"));
  const Value* error = fields.Find("error");
  const bool has_success = fields.Find("result") != nullptr || fields.Find("receipt") != nullptr;
  if (error != nullptr && has_success) {
    return Bad(ErrorCode::kProtocolBadField, "response has both an error and a result");
  }
  if (error != nullptr) {
    EML_ASSIGN_OR_RETURN(Fields error_fields, Fields::Of(*error, {"code", "message"}, "error"));
    ResponseError out;
    EML_ASSIGN_OR_RETURN(out.code, error_fields.Uint("code"));
    EML_ASSIGN_OR_RETURN(const std::string_view message, error_fields.Text("message"));
    out.message = std::string(message);
    response.error = std::move(out);
  } else {
    if (fields.Find("result") == nullptr) {
      return fields.Missing("result");
    }
    EML_ASSIGN_OR_RETURN(const std::span<const uint8_t> result, fields.Bytes("result"));
    EML_ASSIGN_OR_RETURN(const std::span<const uint8_t> receipt, fields.Bytes("receipt"));
    response.result = ToVector(result);
    response.receipt = ToVector(receipt);
  }
  EML_RETURN_IF_ERROR(ValidateResponse(response, limits));
  return response;
}

Result<std::vector<uint8_t>> EncodeEmbedResult(const EmbedResult& result, const Limits& limits) {
  EML_RETURN_IF_ERROR(ValidateEmbedResult(result, limits));
  std::vector<Value> counts;
  counts.reserve(result.token_counts.size());
  for (const uint64_t count : result.token_counts) {
    counts.push_back(Value::Uint(count));
  }
  std::vector<std::pair<Value, Value>> entries;
  entries.emplace_back(Key("model"), Value::Text(result.model));
  entries.emplace_back(Key("dim"), Value::Uint(result.dim));
  entries.emplace_back(Key("count"), Value::Uint(result.count));
  entries.emplace_back(Key("embeddings"), Value::Bytes(result.embeddings));
  entries.emplace_back(Key("token_counts"), Value::Array(std::move(counts)));
  return EncodeBounded(Value::Map(std::move(entries)), limits.max_response_bytes);
}

Result<EmbedResult> DecodeEmbedResult(std::span<const uint8_t> bytes, const Limits& limits) {
  EML_ASSIGN_OR_RETURN(
      Value v, DecodeMessage(bytes, limits.max_response_bytes, limits.max_inputs + kFixedItems));
  EML_ASSIGN_OR_RETURN(
      Fields fields,
      Fields::Of(v, {"model", "dim", "count", "embeddings", "token_counts"}, "embed result"));
  EmbedResult result;
  EML_ASSIGN_OR_RETURN(const std::string_view model, fields.Text("model"));
  result.model = std::string(model);
  EML_ASSIGN_OR_RETURN(result.dim, fields.Uint("dim"));
  EML_ASSIGN_OR_RETURN(result.count, fields.Uint("count"));
  EML_ASSIGN_OR_RETURN(const std::span<const uint8_t> embeddings, fields.Bytes("embeddings"));
  result.embeddings = ToVector(embeddings);
  EML_ASSIGN_OR_RETURN(const Value* counts, fields.Require("token_counts"));
  if (!counts->is_array()) {
    return fields.Wrong("token_counts", "array");
  }
  result.token_counts.reserve(counts->array_items().size());
  for (const Value& item : counts->array_items()) {
    EML_ASSIGN_OR_RETURN(const uint64_t count, fields.AsUint(item, "token_counts"));
    result.token_counts.push_back(count);
  }
  EML_RETURN_IF_ERROR(ValidateEmbedResult(result, limits));
  return result;
}

std::vector<uint8_t> EncodeF32Le(std::span<const float> values) {
  ByteWriter writer;
  for (const float value : values) {
    writer.PutU32Le(std::bit_cast<uint32_t>(value));
  }
  // A growable writer fails only on allocation failure, which throws before it gets here.
  return *std::move(writer).Finish();
}

Result<std::vector<float>> DecodeF32Le(std::span<const uint8_t> bytes) {
  if (bytes.size() % 4 != 0) {
    return Bad(ErrorCode::kProtocolEmbeddingSizeMismatch, "length is not a multiple of 4");
  }
  std::vector<float> out;
  out.reserve(bytes.size() / 4);
  ByteReader reader(bytes);
  uint32_t bits = 0;
  while (reader.ReadU32Le(&bits)) {
    out.push_back(std::bit_cast<float>(bits));
  }
  return out;
}

Result<std::vector<uint8_t>> EncodeEvidenceResult(const EvidenceResult& result) {
  if (result.attestation_doc.empty() || result.attestation_doc.size() > kMaxAttestationDocBytes) {
    return Bad(ErrorCode::kProtocolBadField, "attestation_doc empty or over 64 KiB");
  }
  std::vector<std::pair<Value, Value>> entries;
  entries.emplace_back(Key("attestation_doc"), Value::Bytes(result.attestation_doc));
  return EncodeBounded(Value::Map(std::move(entries)), kMaxAttestationDocBytes + kFixedItems);
}

Result<EvidenceResult> DecodeEvidenceResult(std::span<const uint8_t> bytes) {
  EML_ASSIGN_OR_RETURN(Value v,
                       DecodeMessage(bytes, kMaxAttestationDocBytes + kFixedItems, kFixedItems));
  EML_ASSIGN_OR_RETURN(Fields fields, Fields::Of(v, {"attestation_doc"}, "evidence result"));
  EML_ASSIGN_OR_RETURN(const std::span<const uint8_t> doc, fields.Bytes("attestation_doc"));
  if (doc.empty() || doc.size() > kMaxAttestationDocBytes) {
    return Bad(ErrorCode::kProtocolBadField, "attestation_doc empty or over 64 KiB");
  }
  return EvidenceResult{ToVector(doc)};
}

Result<std::vector<uint8_t>> EncodeUserData(const UserData& user_data) {
  EML_RETURN_IF_ERROR(ValidateUserData(user_data));
  std::vector<Value> models;
  for (const ModelInfo& model : user_data.models) {
    std::vector<std::pair<Value, Value>> entry;
    entry.emplace_back(Key("id"), Value::Text(model.id));
    entry.emplace_back(Key("model_hash"), Value::Bytes(model.model_hash));
    entry.emplace_back(Key("model_hash_scheme"), Value::Text(model.model_hash_scheme));
    models.push_back(Value::Map(std::move(entry)));
  }
  std::vector<std::pair<Value, Value>> entries;
  entries.emplace_back(Key("v"), Value::Uint(kMessageVersion));
  entries.emplace_back(Key("protocol"), Value::Uint(user_data.protocol));
  entries.emplace_back(Key("receipt_key"), Value::Bytes(user_data.receipt_key));
  entries.emplace_back(Key("models"), Value::Array(std::move(models)));
  return EncodeBounded(Value::Map(std::move(entries)), kMaxUserDataBytes);
}

Result<UserData> DecodeUserData(std::span<const uint8_t> bytes) {
  EML_ASSIGN_OR_RETURN(Value v, DecodeMessage(bytes, kMaxUserDataBytes, kMaxUserDataBytes));
  EML_ASSIGN_OR_RETURN(Fields fields,
                       Fields::Of(v, {"v", "protocol", "receipt_key", "models"}, "user_data"));
  EML_RETURN_IF_ERROR(fields.CheckVersion());
  UserData user_data;
  EML_ASSIGN_OR_RETURN(user_data.protocol, fields.Uint("protocol"));
  EML_ASSIGN_OR_RETURN(const std::span<const uint8_t> key, fields.Bytes("receipt_key"));
  EML_ASSIGN_OR_RETURN(user_data.receipt_key, FixedBytes<kReceiptKeyBytes>(key, "receipt_key"));
  EML_ASSIGN_OR_RETURN(const Value* models, fields.Require("models"));
  if (!models->is_array()) {
    return fields.Wrong("models", "array");
  }
  for (const Value& item : models->array_items()) {
    EML_ASSIGN_OR_RETURN(Fields model_fields,
                         Fields::Of(item, {"id", "model_hash", "model_hash_scheme"}, "model"));
    ModelInfo model;
    EML_ASSIGN_OR_RETURN(const std::string_view id, model_fields.Text("id"));
    model.id = std::string(id);
    EML_ASSIGN_OR_RETURN(const std::span<const uint8_t> hash, model_fields.Bytes("model_hash"));
    EML_ASSIGN_OR_RETURN(model.model_hash, FixedBytes<kHashBytes>(hash, "model_hash"));
    EML_ASSIGN_OR_RETURN(const std::string_view scheme, model_fields.Text("model_hash_scheme"));
    model.model_hash_scheme = std::string(scheme);
    user_data.models.push_back(std::move(model));
  }
  EML_RETURN_IF_ERROR(ValidateUserData(user_data));
  return user_data;
}

}  // namespace eml::protocol
