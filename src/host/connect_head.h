#pragma once
// Posture: parses the head of an HTTP/1.1 CONNECT request sent to the host's egress proxy
// (egress_proxy.h) from the enclave side of the host: untrusted. The head is refused above
// max_head_bytes (kDefaultMaxConnectHeadBytes, 8 KiB) before it is looked at; no allocation
// beyond the destination's host name. Fuzz target: host_connect_head. ParseConnectAuthority
// also reads configuration (--egress-allow entries).
//
// No Asio here, so that the Clang fuzz build compiles it.
//
// Thread safety: pure functions.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace eml::host {

inline constexpr size_t kDefaultMaxConnectHeadBytes = 8192;

// A CONNECT destination or an allowlist entry.
struct ConnectTarget {
  std::string host;   // DNS name or IPv4 literal, lower-cased; IPv6 literal without [ ]
  uint16_t port = 0;  // 1..65535
};

// ParseConnectAuthority parses "host:port" or "[v6]:port": host a DNS name (labels of letters,
// digits and '-', 1..63 each, at most 253 in all; IPv4 literals fit this form) or an IPv6
// literal in brackets (no zone); port 1..65535 in decimal without leading zeros.
// Errors: kEgressBadRequest.
Result<ConnectTarget> ParseConnectAuthority(std::string_view text);
// FormatConnectAuthority is the inverse: "host:port", IPv6 hosts in [ ].
std::string FormatConnectAuthority(const ConnectTarget& target);

// ParseConnectHead parses one whole request head, from the request line through the empty line
// that ends it (no byte after it): "CONNECT" SP authority SP ("HTTP/1.1" | "HTTP/1.0") CRLF,
// then header lines "name:value" CRLF (name of token characters; value of visible ASCII, space
// and tab; no folded lines), then CRLF. Header contents are not interpreted.
// Errors: kEgressHeadTooLarge (head.size() > max_head_bytes), kEgressBadRequest.
Result<ConnectTarget> ParseConnectHead(std::string_view head,
                                       size_t max_head_bytes = kDefaultMaxConnectHeadBytes);

}  // namespace eml::host
