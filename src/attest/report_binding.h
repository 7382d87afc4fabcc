#pragma once
// eml::attest report binding: the ONE rule by which a TEE provider binds a session or release
// public key and a verifier's nonce into evidence whose only free field is a fixed-size blob
// (TDX REPORTDATA and SEV-SNP REPORT_DATA, 64 bytes each; the Confidential Space token's
// eat_nonce). Providers (attest/tsm/, attest/gcp/token_client.h) and the PolicyVerifier
// (attest/policy.h) both call these functions, so the two sides cannot drift.
//
//   BindingDigest(pk, nonce) = SHA-512( "EphemeralML evidence binding v1"
//                                       || u32be(len(pk)) || pk || u32be(len(nonce)) || nonce )
//   TDX / SEV-SNP report data  = BindingDigest (all 64 bytes)
//   Confidential Space nonce   = lowercase hex of BindingDigest[0..32) (64 characters, inside
//                                the launcher's 10..74-byte nonce limit)
//
// An absent key or nonce is encoded as length 0: a verifier must know exactly what the
// provider bound (the key it will encrypt to, the nonce it sent). The length prefixes make the
// encoding injective; the label keeps the digest from colliding with any other use of SHA-512.
// Nitro documents need no digest: they carry public_key and nonce as separate fields.
//
// user_data (the evidence envelope, attest/envelope.h): an enclave that attests user_data as
// well folds its digest into the nonce before the rule above, with the same label and digest:
//   BoundNonce(nonce, user_data) = nonce                         if user_data is empty
//                                = nonce || SHA-256(user_data)   otherwise
//   report data / eat_nonce      = BindingDigest / GcpBindingNonce(pk, BoundNonce(...))
// The envelope carries nonce and user_data separately, so the verifier recomputes BoundNonce
// from them; a verifier that expects no user_data (the key broker's release) sees plain nonces.
//
// Thread safety: pure functions.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace eml::attest {

inline constexpr char kBindingLabel[] = "EphemeralML evidence binding v1";
inline constexpr size_t kReportDataBytes = 64;
inline constexpr size_t kGcpBindingNonceChars = 64;

// BindingDigest returns the digest above. Inputs longer than 2^32-1 bytes are a caller bug
// (EML_CHECK); keys and nonces are at most a few KiB.
std::array<uint8_t, kReportDataBytes> BindingDigest(std::span<const uint8_t> public_key,
                                                    std::span<const uint8_t> nonce);

// GcpBindingNonce returns the Confidential Space eat_nonce string for the same inputs.
std::string GcpBindingNonce(std::span<const uint8_t> public_key, std::span<const uint8_t> nonce);

// BoundNonce returns `nonce`, followed by SHA-256(user_data) when user_data is not empty.
std::vector<uint8_t> BoundNonce(std::span<const uint8_t> nonce, std::span<const uint8_t> user_data);

}  // namespace eml::attest
