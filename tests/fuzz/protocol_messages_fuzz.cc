// Fuzz target protocol_messages: every application-message decoder (request, response, embed
// result, evidence result, user_data) on arbitrary bytes (STYLE F2). Properties: no decoder
// crashes; each fails only with protocol codes (1000-1019); whatever decodes re-encodes
// byte-identical (decoding accepts only the deterministic encoding, and every field survives);
// PeekRequestId agrees with DecodeRequest on the id of a request that decodes.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "common/check.h"
#include "protocol/messages.h"

namespace {

bool IsProtocolCode(eml::ErrorCode code) {
  const int value = static_cast<int>(code);
  return value >= 1000 && value < 1020;
}

bool Same(const std::vector<uint8_t>& a, std::span<const uint8_t> b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end());
}

// CheckRoundTrip: a decoded value re-encodes to the input; a failure has a protocol code.
template <typename Decoded, typename Encode>
void CheckRoundTrip(const eml::Result<Decoded>& decoded, Encode encode,
                    std::span<const uint8_t> input) {
  if (!decoded.has_value()) {
    EML_CHECK(IsProtocolCode(decoded.error().code));
    return;
  }
  auto again = encode(*decoded);
  EML_CHECK(again.has_value());
  EML_CHECK(Same(*again, input));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace eml::protocol;  // NOLINT: fuzz driver
  const std::span<const uint8_t> input(data, size);
  // Small bounds so that the fuzzer reaches the limits with short inputs.
  Limits limits;
  limits.max_inputs = 8;
  limits.max_input_bytes = 64;
  limits.max_request_bytes = 4096;
  limits.max_response_bytes = 8192;

  const auto request = DecodeRequest(input, limits);
  CheckRoundTrip(
      request, [&](const Request& r) { return EncodeRequest(r, limits); }, input);
  const auto peeked = PeekRequestId(input, limits);
  if (request.has_value()) {
    EML_CHECK(peeked.has_value() && *peeked == request->id);
  }
  CheckRoundTrip(
      DecodeResponse(input, limits), [&](const Response& r) { return EncodeResponse(r, limits); },
      input);
  CheckRoundTrip(
      DecodeEmbedResult(input, limits),
      [&](const EmbedResult& r) { return EncodeEmbedResult(r, limits); }, input);
  CheckRoundTrip(
      DecodeEvidenceResult(input), [](const EvidenceResult& r) { return EncodeEvidenceResult(r); },
      input);
  CheckRoundTrip(
      DecodeUserData(input), [](const UserData& r) { return EncodeUserData(r); }, input);
  return 0;
}
