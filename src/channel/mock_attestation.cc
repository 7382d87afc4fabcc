#include "channel/mock_attestation.h"

#include <array>
#include <limits>
#include <utility>

#include "common/byte_reader.h"
#include "common/byte_writer.h"
#include "crypto/hash.h"

namespace eml::channel {
namespace {

constexpr std::array<uint8_t, kMockEnvelopeMagicSize> kMagic = {'M', 'O', 'C', 'K', '_', 'A',
                                                                'T', 'T', '_', 'V', '1', 0};

bool ReadField(ByteReader* reader, std::vector<uint8_t>* out) {
  uint32_t len = 0;
  std::span<const uint8_t> bytes;
  if (!reader->ReadU32Le(&len) || !reader->ReadBytes(len, &bytes)) {
    return false;
  }
  out->assign(bytes.begin(), bytes.end());
  return true;
}

}  // namespace

Result<std::vector<uint8_t>> EncodeMockEnvelope(const MockEnvelope& envelope) {
  ByteWriter writer;
  writer.PutBytes(kMagic);
  for (const std::vector<uint8_t>* field :
       {&envelope.user_data, &envelope.nonce, &envelope.public_key}) {
    if (field->size() > std::numeric_limits<uint32_t>::max()) {
      return Error{ErrorCode::kInvalidArgument, "mock envelope field over 4 GiB"};
    }
    writer.PutU32Le(static_cast<uint32_t>(field->size()));
    writer.PutBytes(*field);
  }
  std::optional<std::vector<uint8_t>> out = std::move(writer).Finish();
  EML_CHECK(out.has_value());
  return std::move(*out);
}

Result<MockEnvelope> ParseMockEnvelope(std::span<const uint8_t> bytes, size_t max_bytes) {
  if (bytes.size() > max_bytes) {
    return Error{ErrorCode::kChannelAttestationTooLarge, "mock envelope over the size limit"};
  }
  ByteReader reader(bytes);
  std::span<const uint8_t> magic;
  if (!reader.ReadBytes(kMockEnvelopeMagicSize, &magic) ||
      !std::equal(magic.begin(), magic.end(), kMagic.begin())) {
    return Error{ErrorCode::kChannelBadMockAttestation, "not a MOCK_ATT_V1 envelope"};
  }
  MockEnvelope envelope;
  if (!ReadField(&reader, &envelope.user_data) || !ReadField(&reader, &envelope.nonce) ||
      !ReadField(&reader, &envelope.public_key)) {
    return Error{ErrorCode::kChannelBadMockAttestation, "mock envelope field truncated"};
  }
  if (!reader.empty()) {
    return Error{ErrorCode::kChannelTrailingBytes, "bytes after the mock envelope"};
  }
  return envelope;
}

Result<std::vector<uint8_t>> MockAttestationProvider::Attest(std::span<const uint8_t> nonce,
                                                             std::span<const uint8_t> public_key) {
  MockEnvelope envelope;
  envelope.nonce.assign(nonce.begin(), nonce.end());
  envelope.public_key.assign(public_key.begin(), public_key.end());
  return EncodeMockEnvelope(envelope);
}

Result<AttestedBinding> MockAttestationVerifier::Verify(std::span<const uint8_t> document) {
  EML_ASSIGN_OR_RETURN(MockEnvelope envelope, ParseMockEnvelope(document));
  AttestedBinding binding;
  binding.public_key = std::move(envelope.public_key);
  binding.nonce = std::move(envelope.nonce);
  binding.document_hash = crypto::Sha256(document);
  return binding;
}

}  // namespace eml::channel
