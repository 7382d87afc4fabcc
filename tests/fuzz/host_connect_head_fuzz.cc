// Fuzz target: the egress proxy's CONNECT head parser (host/connect_head.h).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "host/connect_head.h"

namespace {

void Require(bool condition) {
  if (!condition) {
    std::abort();
  }
}

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace eml::host;  // NOLINT(google-build-using-namespace)
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  // A head parses to a valid target, or fails with one of the two codes; the limit is checked
  // before anything else.
  const eml::Result<ConnectTarget> head = ParseConnectHead(text);
  if (head.has_value()) {
    Require(text.size() <= kDefaultMaxConnectHeadBytes);
    Require(!head->host.empty() && head->port != 0);
    Require(text.starts_with("CONNECT ") && text.ends_with("\r\n\r\n"));
    // The target re-formats to an authority that parses to itself, and a minimal head made of
    // it parses to the same target.
    const std::string authority = FormatConnectAuthority(*head);
    const eml::Result<ConnectTarget> again = ParseConnectAuthority(authority);
    Require(again.has_value() && again->host == head->host && again->port == head->port);
    const eml::Result<ConnectTarget> minimal =
        ParseConnectHead("CONNECT " + authority + " HTTP/1.1\r\n\r\n");
    Require(minimal.has_value() && minimal->host == head->host && minimal->port == head->port);
  } else {
    Require(head.code() == eml::ErrorCode::kEgressBadRequest ||
            head.code() == eml::ErrorCode::kEgressHeadTooLarge);
    Require((head.code() == eml::ErrorCode::kEgressHeadTooLarge) ==
            (text.size() > kDefaultMaxConnectHeadBytes));
  }

  // An authority that parses formats back to its own text, lower-cased.
  const eml::Result<ConnectTarget> authority = ParseConnectAuthority(text);
  if (authority.has_value()) {
    Require(FormatConnectAuthority(*authority) == Lower(text));
  } else {
    Require(authority.code() == eml::ErrorCode::kEgressBadRequest);
  }
  return 0;
}
