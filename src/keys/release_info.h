#pragma once
// Posture: takes no untrusted input of its own: callers check model id and version lengths
// (kMaxModelIdBytes, kMaxVersionBytes) before building the info.
//
// eml::keys release pieces shared by the key broker and the enclave (DESIGN.md section 6.4):
// the key reference, the sizes both sides agree on and the HPKE info a released data key is
// sealed under. A library of its own so that the enclave, which only opens released keys, does
// not link the broker's SQLite store.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace eml::keys {

inline constexpr size_t kDataKeySize = 32;
inline constexpr size_t kChallengeSize = 32;
inline constexpr size_t kMaxModelIdBytes = 128;
inline constexpr size_t kMaxVersionBytes = 64;

struct KeyRef {
  std::string model_id;
  std::string version;
};

// ReleaseInfo is the HPKE info both sides use: UTF-8 "ephemeralml/key-release/v1" ||
// u16be(len(model_id)) || model_id || u16be(len(version)) || version || evidence_sha256.
std::vector<uint8_t> ReleaseInfo(const KeyRef& ref, std::span<const uint8_t, 32> evidence_sha256);

}  // namespace eml::keys
