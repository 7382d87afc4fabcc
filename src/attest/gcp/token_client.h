#pragma once
// Posture: reads the HTTP response of the Confidential Space launcher's token server (a local
// Unix socket inside the confidential VM, so trusted to be the launcher but still parsed
// strictly): at most kMaxResponseBytes, status line, headers, a Content-Length or chunked body.
// The token itself is verified elsewhere (gcp_verifier.h). No fuzz target yet (deferred).
//
// eml::attest::gcp::TokenClient: the provider side of Google Confidential Space. A workload
// asks the launcher for an attestation token with a custom audience and nonces:
//   POST /v1/token HTTP/1.1 over the Unix socket /run/container_launcher/teeserver.sock
//   {"audience": "<aud>", "token_type": "PKI" | "OIDC", "nonces": ["<nonce>", ...]}
// and receives the token (a compact JWS) as the response body. AttestBinding sends exactly one
// nonce, attest::GcpBindingNonce(public key, nonce) (attest/report_binding.h), which is what
// PolicyVerifier expects to find in the token's eat_nonce.
//
// Thread safety: a TokenClient is immutable; each call opens its own connection.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"

namespace eml::attest::gcp {

inline constexpr char kDefaultLauncherSocket[] = "/run/container_launcher/teeserver.sock";
inline constexpr size_t kMaxResponseBytes = 64 * 1024;
// The launcher's nonce rules: at most 6 nonces of 10..74 bytes each.
inline constexpr size_t kMaxTokenNonces = 6;
inline constexpr size_t kMinTokenNonceBytes = 10;
inline constexpr size_t kMaxTokenNonceBytes = 74;
inline constexpr int kDefaultTokenTimeoutMs = 10'000;

struct TokenRequest {
  std::string audience;             // required, at most 512 bytes
  std::string token_type = "PKI";   // "PKI" or "OIDC"
  std::vector<std::string> nonces;  // 0..kMaxTokenNonces, each 10..74 bytes
};

struct TokenClientOptions {
  std::filesystem::path socket_path = kDefaultLauncherSocket;
  int timeout_ms = kDefaultTokenTimeoutMs;  // per send / receive
};

class TokenClient {
 public:
  explicit TokenClient(TokenClientOptions options = {}) : options_(std::move(options)) {}

  // RequestToken posts `request` and returns the token text. Errors: kInvalidArgument (empty
  // or over-long audience, unknown token_type, nonces breaking the launcher's rules),
  // kTokenSocketUnavailable (cannot connect, send or receive, or timed out),
  // kTokenSocketBadResponse (not HTTP/1.x, a status other than 200, a malformed or oversized
  // response, an empty body or one that is not a compact JWS).
  Result<std::string> RequestToken(const TokenRequest& request) const;

  // AttestBinding requests a token whose single nonce binds `public_key` and `nonce`.
  // Errors: as RequestToken.
  Result<std::string> AttestBinding(const std::string& audience, const std::string& token_type,
                                    std::span<const uint8_t> public_key,
                                    std::span<const uint8_t> nonce) const;

 private:
  TokenClientOptions options_;
};

}  // namespace eml::attest::gcp
