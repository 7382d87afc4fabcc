// Fuzz target channel_hello: the handshake message parsers (initiator hello, responder hello,
// confirmation) and the mock attestation envelope on arbitrary bytes (STYLE F2). Properties:
// no parser crashes; each fails only with channel codes; whatever parses re-encodes
// byte-identical; a responder fed the input as an initiator Hello frame never crashes and fails
// only with channel or crypto codes.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "channel/frame.h"
#include "channel/handshake.h"
#include "channel/handshake_messages.h"
#include "channel/mock_attestation.h"
#include "common/check.h"

namespace {

bool IsChannelOrCryptoCode(eml::ErrorCode code) {
  const int value = static_cast<int>(code);
  return (value >= 650 && value < 700) || code == eml::ErrorCode::kCryptoAllZeroSharedSecret;
}

bool Same(const std::vector<uint8_t>& a, std::span<const uint8_t> b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace eml::channel;  // NOLINT: fuzz driver
  const std::span<const uint8_t> input(data, size);
  const HandshakeLimits limits;

  for (HelloKind kind : {HelloKind::kInitiator, HelloKind::kResponder}) {
    auto hello = ParseHello(kind, input, limits);
    if (hello.has_value()) {
      auto again = EncodeHello(kind, *hello, limits);
      EML_CHECK(again.has_value() && Same(*again, input));
    } else {
      EML_CHECK(IsChannelOrCryptoCode(hello.error().code));
    }
  }

  auto confirmation = ParseConfirmation(input);
  if (confirmation.has_value()) {
    EML_CHECK(Same(EncodeConfirmation(*confirmation), input));
  } else {
    EML_CHECK(IsChannelOrCryptoCode(confirmation.error().code));
  }

  auto envelope = ParseMockEnvelope(input);
  if (envelope.has_value()) {
    auto again = EncodeMockEnvelope(*envelope);
    EML_CHECK(again.has_value() && Same(*again, input));
  } else {
    EML_CHECK(IsChannelOrCryptoCode(envelope.error().code));
  }

  // The whole responder path, deterministic key and nonce.
  auto key = eml::crypto::X25519PrivateKey::FromBytes(
      eml::SecretBytes::CopyFrom(std::vector<uint8_t>(32, 0x11)));
  EML_CHECK(key.has_value());
  MockAttestationProvider provider;
  MockAttestationVerifier verifier;
  Responder responder = Responder::Create(std::move(*key), Bytes32{}, &provider, &verifier);
  auto frame = EncodeFrame(FrameType::kHello, 0, 0, input, {});
  EML_CHECK(frame.has_value());
  auto reply = responder.HandleInitiatorHello(*frame);
  if (!reply.has_value()) {
    EML_CHECK(IsChannelOrCryptoCode(reply.error().code));
  }
  return 0;
}
