// Expected request bytes and the constructed responses come from an independent encoder:
// Python cbor2 over dicts in the Rust structs' field order (serde_cbor writes struct fields in
// declaration order and externally tags enum variants), e.g.
//   cbor2.dumps({"DescribePCR": {"index": 31}}).hex()
#include "attest/nitro/nsm.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <deque>
#include <string>
#include <vector>

#include "attest/nitro/nsm_device.h"
#include "common/byte_writer.h"
#include "testing/test_util.h"

namespace eml::attest::nitro {
namespace {

using ::eml::testing::HasError;
using ::eml::testing::Hex;
using ::eml::testing::IsOk;

std::vector<uint8_t> Range(size_t n) {
  std::vector<uint8_t> out(n);
  for (size_t i = 0; i < n; ++i) {
    out[i] = static_cast<uint8_t>(i);
  }
  return out;
}

// A response {"Attestation": {"document": bstr}} around `document` (cbor2's layout).
std::vector<uint8_t> AttestationResponse(std::span<const uint8_t> document) {
  ByteWriter w;
  for (uint8_t b : Hex("a16b4174746573746174696f6ea168646f63756d656e74")) {
    w.PutU8(b);
  }
  w.PutU8(0x59);  // bstr with a u16 length
  w.PutU16Be(static_cast<uint16_t>(document.size()));
  w.PutBytes(document);
  return *std::move(w).Finish();
}

TEST(NsmRequestTest, AttestationRequestBytesAreExact) {
  NsmAttestationRequest request;
  request.user_data = std::vector<uint8_t>{1, 2, 3};
  request.nonce = Range(32);
  Result<std::vector<uint8_t>> bytes = EncodeAttestationRequest(request);
  ASSERT_TRUE(bytes.has_value());
  EXPECT_EQ(*bytes, Hex("a16b4174746573746174696f6ea369757365725f6461746143010203656e6f6e6365582000"
                        "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f6a7075626c"
                        "69635f6b6579f6"));
  Result<std::vector<uint8_t>> empty = EncodeAttestationRequest({});
  ASSERT_TRUE(empty.has_value());
  EXPECT_EQ(*empty, Hex("a16b4174746573746174696f6ea369757365725f64617461f6656e6f6e6365f66a70756"
                        "26c69635f6b6579f6"));
}

TEST(NsmRequestTest, DescribePcrRequestBytesAreExact) {
  EXPECT_EQ(EncodeDescribePcrRequest(0), Hex("a16b4465736372696265504352a165696e64657800"));
  EXPECT_EQ(EncodeDescribePcrRequest(31), Hex("a16b4465736372696265504352a165696e646578181f"));
  EXPECT_EQ(EncodeDescribePcrRequest(300), Hex("a16b4465736372696265504352a165696e64657819012c"));
}

TEST(NsmRequestTest, RefusesOversizedFields) {
  NsmAttestationRequest big_user_data;
  big_user_data.user_data = std::vector<uint8_t>(kNsmMaxUserDataBytes + 1);
  EXPECT_THAT(EncodeAttestationRequest(big_user_data), HasError(ErrorCode::kNsmBadRequest));
  NsmAttestationRequest big_key;
  big_key.public_key = std::vector<uint8_t>(kNsmMaxPublicKeyBytes + 1);
  EXPECT_THAT(EncodeAttestationRequest(big_key), HasError(ErrorCode::kNsmBadRequest));
  // Each field at its bound: 3 KiB and a little, under the 4 KiB request buffer.
  NsmAttestationRequest full;
  full.user_data = std::vector<uint8_t>(kNsmMaxUserDataBytes, 1);
  full.nonce = std::vector<uint8_t>(kNsmMaxNonceBytes, 2);
  full.public_key = std::vector<uint8_t>(kNsmMaxPublicKeyBytes, 3);
  Result<std::vector<uint8_t>> bytes = EncodeAttestationRequest(full);
  ASSERT_TRUE(bytes.has_value());
  EXPECT_LE(bytes->size(), kNsmRequestMaxBytes);
}

TEST(NsmResponseTest, ParsesAttestationAroundARealDocument) {
  const std::vector<uint8_t> document = testing::ReadFileBytes(
      testing::SharedVectorPath("nitro/cape-js/cape-spec-attestationDocument.bin"));
  Result<std::vector<uint8_t>> parsed = ParseAttestationResponse(AttestationResponse(document));
  ASSERT_TRUE(parsed.has_value()) << ToString(parsed.error());
  EXPECT_EQ(*parsed, document);
  EXPECT_EQ(parsed->front(), 0x84);  // the untagged COSE_Sign1 array, as the NSM returns it
  // The small constructed case.
  Result<std::vector<uint8_t>> small =
      ParseAttestationResponse(Hex("a16b4174746573746174696f6ea168646f63756d656e7442d284"));
  ASSERT_TRUE(small.has_value());
  EXPECT_EQ(*small, Hex("d284"));
}

TEST(NsmResponseTest, ParsesDescribePcrInEitherKeyOrder) {
  Result<PcrDescription> locked = ParseDescribePcrResponse(
      Hex("a16b4465736372696265504352a2646c6f636bf564646174615830" + std::string(96, 'a')));
  ASSERT_TRUE(locked.has_value()) << ToString(locked.error());
  EXPECT_TRUE(locked->locked);
  EXPECT_EQ(locked->data, std::vector<uint8_t>(48, 0xaa));
  Result<PcrDescription> open = ParseDescribePcrResponse(
      Hex("a16b4465736372696265504352a264646174615830" + std::string(96, '1') + "646c6f636bf4"));
  ASSERT_TRUE(open.has_value()) << ToString(open.error());
  EXPECT_FALSE(open->locked);
  EXPECT_EQ(open->data, std::vector<uint8_t>(48, 0x11));
}

TEST(NsmResponseTest, ErrorResponsesBecomeTypedErrors) {
  const std::vector<uint8_t> invalid_index = Hex("a1654572726f726c496e76616c6964496e646578");
  EXPECT_THAT(ParseDescribePcrResponse(invalid_index), HasError(ErrorCode::kNsmErrorResponse));
  EXPECT_THAT(ParseAttestationResponse(invalid_index), HasError(ErrorCode::kNsmErrorResponse));
}

TEST(NsmResponseTest, RefusesMalformedResponses) {
  const std::vector<std::string> cases = {
      "",                                                            // nothing
      "a0",                                                          // empty map
      "f6",                                                          // null
      "a16b4465736372696265504352a165696e64657800",                  // a request, not a response
      "a16b4174746573746174696f6ea0",                                // no document
      "a16b4174746573746174696f6ea168646f63756d656e7440",            // empty document
      "a16b4174746573746174696f6ea168646f63756d656e7401",            // document not bytes
      "a16b4174746573746174696f6ea268646f63756d656e7442d284617801",  // an extra key
      "a16b4174746573746174696f6ea168646f63756d656e745f42d284ff",    // indefinite (not strict)
      "a16b4174746573746174696f6ea168646f63756d656e7442d28400",      // trailing byte
      "a1654572726f7201",                                            // Error without a name
      "a1654572726f7263412042",                                      // Error name with a space
  };
  for (const std::string& hex : cases) {
    EXPECT_THAT(ParseAttestationResponse(Hex(hex)), HasError(ErrorCode::kNsmMalformedResponse))
        << hex;
  }
  // DescribePCR: missing lock, lock not a bool, data too long, data empty.
  for (const std::string& hex :
       {std::string("a16b4465736372696265504352a164646174614101"),
        std::string("a16b4465736372696265504352a2646c6f636b0164646174614101"),
        "a16b4465736372696265504352a2646c6f636bf564646174615841" + std::string(130, '0'),
        std::string("a16b4465736372696265504352a2646c6f636bf5646461746140")}) {
    EXPECT_THAT(ParseDescribePcrResponse(Hex(hex)), HasError(ErrorCode::kNsmMalformedResponse))
        << hex;
  }
  EXPECT_THAT(ParseAttestationResponse(std::vector<uint8_t>(kNsmResponseMaxBytes + 1, 0)),
              HasError(ErrorCode::kNsmMalformedResponse));
}

// A transport that checks the request bytes and replays a recorded response.
class ReplayTransport final : public NsmTransport {
 public:
  void Expect(std::vector<uint8_t> request, std::vector<uint8_t> response) {
    exchanges_.push_back({std::move(request), std::move(response)});
  }
  Result<std::vector<uint8_t>> Call(std::span<const uint8_t> request) override {
    if (exchanges_.empty()) {
      return Error{ErrorCode::kNsmDeviceError, "unexpected call"};
    }
    auto [want, response] = std::move(exchanges_.front());
    exchanges_.pop_front();
    EXPECT_EQ(std::vector<uint8_t>(request.begin(), request.end()), want);
    return response;
  }

 private:
  std::deque<std::pair<std::vector<uint8_t>, std::vector<uint8_t>>> exchanges_;
};

TEST(NsmClientTest, AttestAndDescribePcrOverAReplayedTransport) {
  ReplayTransport transport;
  NsmClient client(&transport);
  NsmAttestationRequest request;
  request.nonce = Range(32);
  transport.Expect(*EncodeAttestationRequest(request),
                   Hex("a16b4174746573746174696f6ea168646f63756d656e7442d284"));
  Result<std::vector<uint8_t>> document = client.Attest(request);
  ASSERT_TRUE(document.has_value()) << ToString(document.error());
  EXPECT_EQ(*document, Hex("d284"));
  transport.Expect(EncodeDescribePcrRequest(40), Hex("a1654572726f726c496e76616c6964496e646578"));
  EXPECT_THAT(client.DescribePcr(40), HasError(ErrorCode::kNsmErrorResponse));
}

TEST(DevNsmTest, OpenFailsOutsideAnEnclave) {
  EXPECT_THAT(DevNsm::Open("/nonexistent/nsm"), HasError(ErrorCode::kNsmDeviceError));
}

TEST(DevNsmTest, IoctlGetsTheDriverMessageAndResponseLength) {
  EXPECT_EQ(kNsmIoctlRaw, 0xC0200A00ul);
  const std::vector<uint8_t> reply = Hex("a16b4174746573746174696f6ea168646f63756d656e7442d284");
  std::vector<uint8_t> seen_request;
  size_t seen_capacity = 0;
  auto nsm = DevNsm::CreateForTest(-1, [&](int, unsigned long code, NsmIoctlMessage* message) {
    EXPECT_EQ(code, kNsmIoctlRaw);
    const std::span<const uint8_t> in(static_cast<const uint8_t*>(message->request.iov_base),
                                      message->request.iov_len);
    seen_request.assign(in.begin(), in.end());
    seen_capacity = message->response.iov_len;
    const std::span<uint8_t> out(static_cast<uint8_t*>(message->response.iov_base),
                                 message->response.iov_len);
    std::copy(reply.begin(), reply.end(), out.begin());
    message->response.iov_len = reply.size();
    return 0;
  });
  NsmClient client(nsm.get());
  Result<std::vector<uint8_t>> document = client.Attest({});
  ASSERT_TRUE(document.has_value()) << ToString(document.error());
  EXPECT_EQ(*document, Hex("d284"));
  EXPECT_EQ(seen_request, *EncodeAttestationRequest({}));
  EXPECT_EQ(seen_capacity, kNsmResponseMaxBytes);
}

TEST(DevNsmTest, IoctlFailuresAreDeviceErrors) {
  auto failing = DevNsm::CreateForTest(-1, [](int, unsigned long, NsmIoctlMessage*) {
    errno = EMSGSIZE;
    return -1;
  });
  EXPECT_THAT(failing->Call(EncodeDescribePcrRequest(0)), HasError(ErrorCode::kNsmDeviceError));
  auto lying = DevNsm::CreateForTest(-1, [](int, unsigned long, NsmIoctlMessage* message) {
    message->response.iov_len = kNsmResponseMaxBytes + 1;
    return 0;
  });
  EXPECT_THAT(lying->Call(EncodeDescribePcrRequest(0)), HasError(ErrorCode::kNsmDeviceError));
  EXPECT_THAT(lying->Call(std::vector<uint8_t>(kNsmRequestMaxBytes + 1, 0)),
              HasError(ErrorCode::kNsmBadRequest));
}

}  // namespace
}  // namespace eml::attest::nitro
