#include "protocol/messages.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <bit>
#include <string>
#include <utility>
#include <vector>

#include "cbor/encoder.h"
#include "cbor/value.h"
#include "common/encoding.h"
#include "testing/test_util.h"

namespace eml::protocol {
namespace {

using cbor::Value;
using ::eml::testing::HasError;
using ::eml::testing::Hex;
using ::eml::testing::IsOk;

using Entries = std::vector<std::pair<Value, Value>>;

std::vector<uint8_t> EncodeValue(const Value& v) {
  Result<std::vector<uint8_t>> bytes = cbor::Encode(v);
  EXPECT_TRUE(bytes.has_value());
  return bytes.has_value() ? *bytes : std::vector<uint8_t>{};
}

Value T(std::string s) { return Value::Text(std::move(s)); }

// A valid embed request as a CBOR map, for tests that change one entry.
Entries EmbedEntries() {
  return {{T("v"), Value::Uint(1)},
          {T("id"), Value::Uint(7)},
          {T("op"), T("embed")},
          {T("inputs"), Value::Array({T("hello"), T("world")})}};
}

Entries Replace(Entries entries, std::string_view key, Value value) {
  for (auto& [k, v] : entries) {
    if (k == T(std::string(key))) {
      v = std::move(value);
      return entries;
    }
  }
  entries.emplace_back(T(std::string(key)), std::move(value));
  return entries;
}

Entries Remove(Entries entries, std::string_view key) {
  std::erase_if(entries, [&](const auto& e) { return e.first == T(std::string(key)); });
  return entries;
}

TEST(RequestTest, EmbedRoundTrip) {
  Request request;
  request.id = 42;
  request.op = Op::kEmbed;
  request.nonce = std::vector<uint8_t>(32, 0xab);
  request.inputs = {"first text", "", "third \xc3\xa9"};
  request.model = "all-MiniLM-L6-v2";
  Result<std::vector<uint8_t>> bytes = EncodeRequest(request);
  ASSERT_THAT(bytes, IsOk());
  Result<Request> decoded = DecodeRequest(*bytes);
  ASSERT_THAT(decoded, IsOk());
  EXPECT_EQ(*decoded, request);
  Result<std::vector<uint8_t>> again = EncodeRequest(*decoded);
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(*again, *bytes);
}

TEST(RequestTest, EvidenceRoundTripWithAndWithoutNonce) {
  Request request;
  request.id = 1;
  request.op = Op::kEvidence;
  for (const bool with_nonce : {false, true}) {
    if (with_nonce) {
      request.nonce = std::vector<uint8_t>{1, 2, 3, 4, 5, 6, 7, 8};
    }
    Result<std::vector<uint8_t>> bytes = EncodeRequest(request);
    ASSERT_THAT(bytes, IsOk());
    Result<Request> decoded = DecodeRequest(*bytes);
    ASSERT_THAT(decoded, IsOk());
    EXPECT_EQ(*decoded, request);
  }
}

// Known bytes, built by hand from RFC 8949: keys sorted length-first ("v" < "id" < "op" <
// "inputs").
TEST(RequestTest, EncodingIsDeterministicKnownBytes) {
  Request request;
  request.id = 7;
  request.inputs = {"hi"};
  Result<std::vector<uint8_t>> bytes = EncodeRequest(request);
  ASSERT_THAT(bytes, IsOk());
  EXPECT_EQ(HexEncode(*bytes),
            "a4"
            "6176"
            "01"  // "v": 1
            "626964"
            "07"  // "id": 7
            "626f70"
            "65656d626564"  // "op": "embed"
            "66696e70757473"
            "81626869"  // "inputs": ["hi"]
  );
}

TEST(RequestTest, UnknownKeyRejected) {
  EXPECT_THAT(DecodeRequest(EncodeValue(Value::Map(Replace(EmbedEntries(), "extra", T("x"))))),
              HasError(ErrorCode::kProtocolUnknownKey));
}

TEST(RequestTest, InputsOnEvidenceRejected) {
  Entries entries = Replace(EmbedEntries(), "op", T("evidence"));
  EXPECT_THAT(DecodeRequest(EncodeValue(Value::Map(entries))),
              HasError(ErrorCode::kProtocolUnknownKey));
}

TEST(RequestTest, MissingFieldRejected) {
  EXPECT_THAT(DecodeRequest(EncodeValue(Value::Map(Remove(EmbedEntries(), "id")))),
              HasError(ErrorCode::kProtocolMissingField));
  EXPECT_THAT(DecodeRequest(EncodeValue(Value::Map(Remove(EmbedEntries(), "inputs")))),
              HasError(ErrorCode::kProtocolMissingField));
  EXPECT_THAT(DecodeRequest(EncodeValue(Value::Map(Remove(EmbedEntries(), "v")))),
              HasError(ErrorCode::kProtocolMissingField));
}

TEST(RequestTest, WrongTypesRejected) {
  EXPECT_THAT(DecodeRequest(EncodeValue(Value::Map(Replace(EmbedEntries(), "id", T("7"))))),
              HasError(ErrorCode::kProtocolBadField));
  EXPECT_THAT(DecodeRequest(EncodeValue(Value::Map(Replace(EmbedEntries(), "inputs", T("x"))))),
              HasError(ErrorCode::kProtocolBadField));
  EXPECT_THAT(DecodeRequest(EncodeValue(
                  Value::Map(Replace(EmbedEntries(), "inputs", Value::Array({Value::Uint(1)}))))),
              HasError(ErrorCode::kProtocolBadField));
  EXPECT_THAT(DecodeRequest(EncodeValue(Value::Array({}))), HasError(ErrorCode::kProtocolBadField));
  Entries int_key = EmbedEntries();
  int_key.emplace_back(Value::Uint(1), Value::Uint(1));
  EXPECT_THAT(DecodeRequest(EncodeValue(Value::Map(int_key))),
              HasError(ErrorCode::kProtocolBadField));
}

TEST(RequestTest, UnsupportedVersionRejected) {
  EXPECT_THAT(DecodeRequest(EncodeValue(Value::Map(Replace(EmbedEntries(), "v", Value::Uint(2))))),
              HasError(ErrorCode::kProtocolUnsupportedVersion));
}

TEST(RequestTest, UnknownOpRejected) {
  EXPECT_THAT(DecodeRequest(EncodeValue(Value::Map(Replace(EmbedEntries(), "op", T("generate"))))),
              HasError(ErrorCode::kProtocolUnknownOp));
}

TEST(RequestTest, NoInputsRejected) {
  EXPECT_THAT(
      DecodeRequest(EncodeValue(Value::Map(Replace(EmbedEntries(), "inputs", Value::Array({}))))),
      HasError(ErrorCode::kProtocolNoInputs));
  Request request;
  EXPECT_THAT(EncodeRequest(request), HasError(ErrorCode::kProtocolNoInputs));
}

TEST(RequestTest, TooManyInputsRejected) {
  Limits limits;
  limits.max_inputs = 4;
  std::vector<Value> five(5, T("a"));
  const std::vector<uint8_t> bytes =
      EncodeValue(Value::Map(Replace(EmbedEntries(), "inputs", Value::Array(five))));
  EXPECT_THAT(DecodeRequest(bytes, limits), HasError(ErrorCode::kProtocolTooManyInputs));
  // Far past the bound, the CBOR item budget trips first; the code is the same.
  std::vector<Value> many(200, T("a"));
  EXPECT_THAT(
      DecodeRequest(EncodeValue(Value::Map(Replace(EmbedEntries(), "inputs", Value::Array(many)))),
                    limits),
      HasError(ErrorCode::kProtocolTooManyInputs));
  Request request;
  request.inputs = std::vector<std::string>(5, "a");
  EXPECT_THAT(EncodeRequest(request, limits), HasError(ErrorCode::kProtocolTooManyInputs));
  request.inputs = std::vector<std::string>(kDefaultMaxInputs + 1, "a");
  EXPECT_THAT(EncodeRequest(request), HasError(ErrorCode::kProtocolTooManyInputs));
}

TEST(RequestTest, InputTooLargeRejected) {
  const std::string big(kDefaultMaxInputBytes + 1, 'x');
  EXPECT_THAT(DecodeRequest(EncodeValue(
                  Value::Map(Replace(EmbedEntries(), "inputs", Value::Array({T(big)}))))),
              HasError(ErrorCode::kProtocolInputTooLarge));
  Request request;
  request.inputs = {big};
  EXPECT_THAT(EncodeRequest(request), HasError(ErrorCode::kProtocolInputTooLarge));
  request.inputs = {std::string(kDefaultMaxInputBytes, 'x')};
  EXPECT_THAT(EncodeRequest(request), IsOk());
}

TEST(RequestTest, BadNonceRejected) {
  for (const size_t size : {size_t{0}, size_t{65}}) {
    const Value nonce = Value::Bytes(std::vector<uint8_t>(size, 1));
    EXPECT_THAT(DecodeRequest(EncodeValue(Value::Map(Replace(EmbedEntries(), "nonce", nonce)))),
                HasError(ErrorCode::kProtocolBadNonce));
    Request request;
    request.inputs = {"a"};
    request.nonce = std::vector<uint8_t>(size, 1);
    EXPECT_THAT(EncodeRequest(request), HasError(ErrorCode::kProtocolBadNonce));
  }
  EXPECT_THAT(DecodeRequest(EncodeValue(Value::Map(Replace(EmbedEntries(), "nonce", T("n"))))),
              HasError(ErrorCode::kProtocolBadField));
}

TEST(RequestTest, BadModelRejected) {
  EXPECT_THAT(DecodeRequest(EncodeValue(Value::Map(Replace(EmbedEntries(), "model", T(""))))),
              HasError(ErrorCode::kProtocolBadField));
  Request request;
  request.op = Op::kEvidence;
  request.model = "m";
  EXPECT_THAT(EncodeRequest(request), HasError(ErrorCode::kProtocolBadField));
}

TEST(RequestTest, MessageTooLargeRejected) {
  Limits limits;
  limits.max_request_bytes = 16;
  const std::vector<uint8_t> bytes = EncodeValue(Value::Map(EmbedEntries()));
  ASSERT_GT(bytes.size(), 16u);
  EXPECT_THAT(DecodeRequest(bytes, limits), HasError(ErrorCode::kProtocolMessageTooLarge));
  Request request;
  request.inputs = {"hello", "world"};
  EXPECT_THAT(EncodeRequest(request, limits), HasError(ErrorCode::kProtocolMessageTooLarge));
}

TEST(RequestTest, MalformedCborRejected) {
  std::vector<uint8_t> bytes = EncodeValue(Value::Map(EmbedEntries()));
  std::vector<uint8_t> truncated(bytes.begin(), bytes.end() - 1);
  EXPECT_THAT(DecodeRequest(truncated), HasError(ErrorCode::kProtocolBadCbor));
  bytes.push_back(0x00);
  EXPECT_THAT(DecodeRequest(bytes), HasError(ErrorCode::kProtocolBadCbor));
  EXPECT_THAT(DecodeRequest({}), HasError(ErrorCode::kProtocolBadCbor));
  // Duplicate key "v".
  EXPECT_THAT(DecodeRequest(Hex("a2617601617601")), HasError(ErrorCode::kProtocolBadCbor));
}

TEST(RequestTest, NonCanonicalEncodingsRejected) {
  // {"v": 1, "id": 7 as 0x1807 (non-shortest), "op": "embed", "inputs": ["hi"]}
  EXPECT_THAT(DecodeRequest(Hex("a4617601626964180762"
                                "6f7065656d62656466696e70757473"
                                "81626869")),
              HasError(ErrorCode::kProtocolNonCanonical));
  // The same map with "id" before "v" (unsorted keys).
  EXPECT_THAT(DecodeRequest(Hex("a4626964076176016"
                                "26f7065656d62656466696e70757473"
                                "81626869")),
              HasError(ErrorCode::kProtocolNonCanonical));
  // Indefinite-length inputs array.
  EXPECT_THAT(DecodeRequest(Hex("a4617601626964076"
                                "26f7065656d62656466696e70757473"
                                "9f626869ff")),
              HasError(ErrorCode::kProtocolNonCanonical));
  // The canonical form of the same request decodes.
  EXPECT_THAT(DecodeRequest(Hex("a461760162696407626f7065656d62656466696e7075747381626869")),
              IsOk());
}

TEST(RequestTest, PeekRequestId) {
  EXPECT_EQ(PeekRequestId(EncodeValue(Value::Map(Replace(EmbedEntries(), "op", T("x"))))),
            std::optional<uint64_t>(7));
  EXPECT_EQ(PeekRequestId(EncodeValue(Value::Map(Remove(EmbedEntries(), "id")))), std::nullopt);
  EXPECT_EQ(PeekRequestId(Hex("ff")), std::nullopt);
  EXPECT_EQ(PeekRequestId(EncodeValue(Value::Uint(3))), std::nullopt);
}

TEST(ResponseTest, SuccessAndErrorRoundTrip) {
  Response ok;
  ok.id = 9;
  ok.result = {1, 2, 3};
  ok.receipt = {4, 5};
  Response failed;
  failed.id = 10;
  failed.error = ResponseError{1008, "too many inputs"};
  for (const Response& response : {ok, failed}) {
    Result<std::vector<uint8_t>> bytes = EncodeResponse(response);
    ASSERT_THAT(bytes, IsOk());
    Result<Response> decoded = DecodeResponse(*bytes);
    ASSERT_THAT(decoded, IsOk());
    EXPECT_EQ(*decoded, response);
    EXPECT_EQ(decoded->ok(), response.ok());
  }
}

TEST(ResponseTest, ShapeRulesEnforced) {
  const Entries base = {{T("v"), Value::Uint(1)}, {T("id"), Value::Uint(1)}};
  Entries both = base;
  both.emplace_back(T("result"), Value::Bytes(std::vector<uint8_t>{1}));
  both.emplace_back(T("receipt"), Value::Bytes(std::vector<uint8_t>{1}));
  both.emplace_back(T("error"), Value::Map({{T("code"), Value::Uint(1)}, {T("message"), T("")}}));
  EXPECT_THAT(DecodeResponse(EncodeValue(Value::Map(both))),
              HasError(ErrorCode::kProtocolBadField));
  EXPECT_THAT(DecodeResponse(EncodeValue(Value::Map(base))),
              HasError(ErrorCode::kProtocolMissingField));
  Entries no_receipt = base;
  no_receipt.emplace_back(T("result"), Value::Bytes(std::vector<uint8_t>{1}));
  EXPECT_THAT(DecodeResponse(EncodeValue(Value::Map(no_receipt))),
              HasError(ErrorCode::kProtocolMissingField));
  Entries bad_error = base;
  bad_error.emplace_back(T("error"), Value::Map({{T("code"), Value::Uint(1)}, {T("x"), T("")}}));
  EXPECT_THAT(DecodeResponse(EncodeValue(Value::Map(bad_error))),
              HasError(ErrorCode::kProtocolUnknownKey));
  Response mixed;
  mixed.result = {1};
  mixed.error = ResponseError{1, "x"};
  EXPECT_THAT(EncodeResponse(mixed), HasError(ErrorCode::kProtocolBadField));
  Response empty;
  EXPECT_THAT(EncodeResponse(empty), HasError(ErrorCode::kProtocolBadField));
}

TEST(EmbedResultTest, RoundTripAndFloats) {
  const std::vector<float> values = {0.5f, -1.25f, 3.0e-8f, 1.0f, 0.0f, -0.0f};
  EmbedResult result;
  result.model = "all-MiniLM-L6-v2";
  result.dim = 3;
  result.count = 2;
  result.embeddings = EncodeF32Le(values);
  result.token_counts = {4, 9};
  // 0.5f is 0x3f000000: little-endian bytes 00 00 00 3f.
  EXPECT_EQ(HexEncode(std::span<const uint8_t>(result.embeddings).first(4)), "0000003f");
  Result<std::vector<uint8_t>> bytes = EncodeEmbedResult(result);
  ASSERT_THAT(bytes, IsOk());
  Result<EmbedResult> decoded = DecodeEmbedResult(*bytes);
  ASSERT_THAT(decoded, IsOk());
  EXPECT_EQ(*decoded, result);
  Result<std::vector<float>> floats = DecodeF32Le(decoded->embeddings);
  ASSERT_THAT(floats, IsOk());
  ASSERT_EQ(floats->size(), values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    EXPECT_EQ(std::bit_cast<uint32_t>((*floats)[i]), std::bit_cast<uint32_t>(values[i]));
  }
}

TEST(EmbedResultTest, SizeMismatchRejected) {
  EmbedResult result;
  result.model = "m";
  result.dim = 2;
  result.count = 2;
  result.embeddings = std::vector<uint8_t>(12, 0);
  result.token_counts = {1, 1};
  EXPECT_THAT(EncodeEmbedResult(result), HasError(ErrorCode::kProtocolEmbeddingSizeMismatch));
  result.embeddings.resize(16);
  result.token_counts = {1};
  EXPECT_THAT(EncodeEmbedResult(result), HasError(ErrorCode::kProtocolEmbeddingSizeMismatch));
  const Value decoded_map = Value::Map({{T("model"), T("m")},
                                        {T("dim"), Value::Uint(2)},
                                        {T("count"), Value::Uint(2)},
                                        {T("embeddings"), Value::Bytes(std::vector<uint8_t>(15))},
                                        {T("token_counts"), Value::Array({Value::Uint(1)})}});
  EXPECT_THAT(DecodeEmbedResult(EncodeValue(decoded_map)),
              HasError(ErrorCode::kProtocolEmbeddingSizeMismatch));
  EXPECT_THAT(DecodeF32Le(std::vector<uint8_t>(5)),
              HasError(ErrorCode::kProtocolEmbeddingSizeMismatch));
  result.dim = 0;
  EXPECT_THAT(EncodeEmbedResult(result), HasError(ErrorCode::kProtocolBadField));
}

TEST(EvidenceResultTest, RoundTripAndBounds) {
  EvidenceResult result{std::vector<uint8_t>(100, 7)};
  Result<std::vector<uint8_t>> bytes = EncodeEvidenceResult(result);
  ASSERT_THAT(bytes, IsOk());
  Result<EvidenceResult> decoded = DecodeEvidenceResult(*bytes);
  ASSERT_THAT(decoded, IsOk());
  EXPECT_EQ(*decoded, result);
  EXPECT_THAT(EncodeEvidenceResult(EvidenceResult{}), HasError(ErrorCode::kProtocolBadField));
  EXPECT_THAT(DecodeEvidenceResult(EncodeValue(
                  Value::Map({{T("attestation_doc"), Value::Bytes(std::vector<uint8_t>{})}}))),
              HasError(ErrorCode::kProtocolBadField));
}

UserData SampleUserData() {
  UserData user_data;
  user_data.receipt_key.fill(0x11);
  ModelInfo model;
  model.id = "all-MiniLM-L6-v2";
  model.model_hash.fill(0x22);
  model.model_hash_scheme = "sha256-single";
  user_data.models.push_back(model);
  return user_data;
}

TEST(UserDataTest, RoundTrip) {
  const UserData user_data = SampleUserData();
  Result<std::vector<uint8_t>> bytes = EncodeUserData(user_data);
  ASSERT_THAT(bytes, IsOk());
  EXPECT_LE(bytes->size(), kMaxUserDataBytes);
  Result<UserData> decoded = DecodeUserData(*bytes);
  ASSERT_THAT(decoded, IsOk());
  EXPECT_EQ(*decoded, user_data);
}

TEST(UserDataTest, RulesEnforced) {
  UserData user_data = SampleUserData();
  user_data.protocol = 3;
  EXPECT_THAT(EncodeUserData(user_data), HasError(ErrorCode::kProtocolUnsupportedVersion));
  user_data = SampleUserData();
  user_data.models.push_back(user_data.models[0]);
  EXPECT_THAT(EncodeUserData(user_data), HasError(ErrorCode::kProtocolBadField));
  user_data.models.clear();
  EXPECT_THAT(EncodeUserData(user_data), HasError(ErrorCode::kProtocolBadField));

  const Value model = Value::Map({{T("id"), T("m")},
                                  {T("model_hash"), Value::Bytes(std::vector<uint8_t>(32, 1))},
                                  {T("model_hash_scheme"), T("sha256-single")}});
  const Entries base = {{T("v"), Value::Uint(1)},
                        {T("protocol"), Value::Uint(4)},
                        {T("receipt_key"), Value::Bytes(std::vector<uint8_t>(32, 1))},
                        {T("models"), Value::Array({model})}};
  EXPECT_THAT(DecodeUserData(EncodeValue(Value::Map(base))), IsOk());
  EXPECT_THAT(DecodeUserData(EncodeValue(Value::Map(
                  Replace(base, "receipt_key", Value::Bytes(std::vector<uint8_t>(31, 1)))))),
              HasError(ErrorCode::kProtocolBadField));
  EXPECT_THAT(DecodeUserData(EncodeValue(Value::Map(Replace(base, "protocol", Value::Uint(5))))),
              HasError(ErrorCode::kProtocolUnsupportedVersion));
  EXPECT_THAT(DecodeUserData(EncodeValue(Value::Map(Replace(base, "x", Value::Uint(5))))),
              HasError(ErrorCode::kProtocolUnknownKey));
  EXPECT_THAT(DecodeUserData(EncodeValue(Value::Map(Remove(base, "models")))),
              HasError(ErrorCode::kProtocolMissingField));
  EXPECT_THAT(DecodeUserData(std::vector<uint8_t>(kMaxUserDataBytes + 1, 0)),
              HasError(ErrorCode::kProtocolMessageTooLarge));
}

}  // namespace
}  // namespace eml::protocol
