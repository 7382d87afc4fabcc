#pragma once
// Test support for the enclave tests: a sim EvidenceSource in a fresh temporary state
// directory, and checks of sim documents with the real Nitro verifier pinned to that root.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "attest/verifier.h"
#include "common/result.h"
#include "enclave/evidence.h"

namespace eml::enclave::testing {

// MakeTempDir creates a new empty directory under the system temp folder (mode 0700).
std::filesystem::path MakeTempDir();

// NewSimSource creates a sim provider in `state_dir` with fixed measured inputs and wraps it.
std::unique_ptr<SimEvidenceSource> NewSimSource(const std::filesystem::path& state_dir);

// VerifySimDocument verifies `document` with the Nitro verifier pinned to `source`'s sim root,
// expecting `nonce` and `public_key` when given, at the current time.
Result<attest::Verification> VerifySimDocument(
    const SimEvidenceSource& source, std::span<const uint8_t> document,
    std::optional<std::vector<uint8_t>> nonce = std::nullopt,
    std::optional<std::vector<uint8_t>> public_key = std::nullopt);

}  // namespace eml::enclave::testing
