#pragma once
// eml::air::IssueReceipt: signs an AIR v1 receipt (reference/air-v1/claim-mapping.md).
//
// IssueReceipt(claims, key) validates `claims` (ValidateClaims), encodes them as the
// deterministic CBOR claims map, and returns the tagged COSE_Sign1
// 18([h'a2012703183d', {}, payload, Ed25519 signature]). Ed25519 is deterministic, so equal
// claims and key give equal bytes.
// Errors: kAirInvalidClaims (a claim breaks an AIR v1 rule; nothing is signed),
// kAirReceiptTooLarge (the receipt would exceed options.max_receipt_bytes, at most 64 KiB).
// Thread safety: safe to call concurrently (the key is immutable).

#include <cstddef>
#include <cstdint>
#include <vector>

#include "air/claims.h"
#include "common/result.h"
#include "crypto/ed25519.h"

namespace eml::air {

struct IssueOptions {
  // A deployment may cap receipts below the format's 64 KiB (values above it are clamped).
  size_t max_receipt_bytes = kMaxReceiptBytes;
};

Result<std::vector<uint8_t>> IssueReceipt(const Claims& claims,
                                          const crypto::Ed25519PrivateKey& key,
                                          const IssueOptions& options = {});

}  // namespace eml::air
