// Fuzz target attest_nsm_response: ParseAttestationResponse and ParseDescribePcrResponse on
// arbitrary bytes (what /dev/nsm could hand back). Properties: neither crashes; each fails only
// with kNsmErrorResponse or kNsmMalformedResponse; a parsed document is non-empty and a parsed
// PCR is 1..64 bytes; at most one of the two parsers accepts any input; an accepted DescribePCR
// response re-encoded in the NSM's own layout parses to the same value.

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "attest/nitro/nsm.h"
#include "common/check.h"

namespace {

bool IsNsmCode(eml::ErrorCode code) {
  return code == eml::ErrorCode::kNsmErrorResponse || code == eml::ErrorCode::kNsmMalformedResponse;
}

// EncodePcrResponse writes {"DescribePCR": {"lock": b, "data": bstr}} as serde_cbor does.
std::vector<uint8_t> EncodePcrResponse(const eml::attest::nitro::PcrDescription& pcr) {
  std::vector<uint8_t> out = {0xa1, 0x6b, 'D', 'e',  's',  'c', 'r', 'i', 'b', 'e',
                              'P',  'C',  'R', 0xa2, 0x64, 'l', 'o', 'c', 'k'};
  out.push_back(pcr.locked ? 0xf5 : 0xf4);
  out.insert(out.end(), {0x64, 'd', 'a', 't', 'a'});
  if (pcr.data.size() < 24) {
    out.push_back(static_cast<uint8_t>(0x40 | pcr.data.size()));
  } else {
    out.push_back(0x58);
    out.push_back(static_cast<uint8_t>(pcr.data.size()));
  }
  out.insert(out.end(), pcr.data.begin(), pcr.data.end());
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace eml::attest::nitro;  // NOLINT: fuzz driver
  const std::span<const uint8_t> input(data, size);
  eml::Result<std::vector<uint8_t>> document = ParseAttestationResponse(input);
  eml::Result<PcrDescription> pcr = ParseDescribePcrResponse(input);
  if (document.has_value()) {
    EML_CHECK(!document->empty());
  } else {
    EML_CHECK(IsNsmCode(document.code()));
  }
  if (pcr.has_value()) {
    EML_CHECK(!pcr->data.empty() && pcr->data.size() <= kMaxPcrBytes);
    EML_CHECK(!document.has_value());
    eml::Result<PcrDescription> again = ParseDescribePcrResponse(EncodePcrResponse(*pcr));
    EML_CHECK(again.has_value() && again->locked == pcr->locked && again->data == pcr->data);
  } else {
    EML_CHECK(IsNsmCode(pcr.code()));
  }
  return 0;
}
