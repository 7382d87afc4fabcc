#include "keys/release_info.h"

#include <optional>
#include <utility>

#include "common/byte_writer.h"
#include "common/check.h"
#include "common/encoding.h"

namespace eml::keys {
namespace {

constexpr char kReleaseInfoLabel[] = "ephemeralml/key-release/v1";

}  // namespace

std::vector<uint8_t> ReleaseInfo(const KeyRef& ref, std::span<const uint8_t, 32> evidence_sha256) {
  // Callers validate lengths (kMaxModelIdBytes, kMaxVersionBytes) long before this.
  EML_CHECK(ref.model_id.size() <= 0xFFFF && ref.version.size() <= 0xFFFF);
  ByteWriter w;
  w.PutBytes(AsBytes(kReleaseInfoLabel));
  w.PutU16Be(static_cast<uint16_t>(ref.model_id.size()));
  w.PutBytes(AsBytes(ref.model_id));
  w.PutU16Be(static_cast<uint16_t>(ref.version.size()));
  w.PutBytes(AsBytes(ref.version));
  w.PutBytes(evidence_sha256);
  std::optional<std::vector<uint8_t>> out = std::move(w).Finish();
  EML_CHECK(out.has_value());
  return *std::move(out);
}

}  // namespace eml::keys
