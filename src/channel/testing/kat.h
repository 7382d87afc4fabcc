#pragma once
// Test-only access to tests/vectors/channel/kat.json (made by generate_kat.py, an independent
// Python implementation of the byte layouts). Header-only; included by channel tests.

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "channel/key_schedule.h"
#include "common/secret_bytes.h"
#include "testing/test_util.h"

namespace eml::channel::testing {

inline const nlohmann::json& Kat() {
  static const nlohmann::json* kat = new nlohmann::json(
      ::eml::testing::ReadJson(::eml::testing::SourcePath("tests/vectors/channel/kat.json")));
  return *kat;
}

inline std::vector<uint8_t> KatBytes(const nlohmann::json& node, const char* field) {
  return ::eml::testing::Hex(node.at(field).get<std::string>());
}

inline std::vector<uint8_t> HandshakeBytes(const char* field) {
  return KatBytes(Kat().at("handshake"), field);
}

inline Bytes32 HandshakeBytes32(const char* field) {
  std::vector<uint8_t> bytes = HandshakeBytes(field);
  Bytes32 out{};
  EXPECT_EQ(bytes.size(), out.size()) << field;
  for (size_t i = 0; i < out.size() && i < bytes.size(); ++i) {
    out[i] = bytes[i];
  }
  return out;
}

inline SecretBytes HandshakeSecret(const char* field) {
  return SecretBytes::CopyFrom(HandshakeBytes(field));
}

inline std::vector<uint8_t> Reveal(const SecretBytes& secret) {
  std::span<const uint8_t> bytes = secret.Reveal(InsecureSecretAccess::Get());
  return {bytes.begin(), bytes.end()};
}

}  // namespace eml::channel::testing
