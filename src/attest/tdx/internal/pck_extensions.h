#pragma once
// Posture: ParsePckExtensions reads untrusted bytes (the PCK leaf certificate from a quote's
// certification data; OpenSSL has already parsed it as X.509). It walks the DER through
// ByteReader along the fixed nesting of the profile (no recursion). Fuzz target: attest_tdx_quote
// (via the verifier).
//
// eml::attest::tdx::internal: the Intel SGX PCK certificate extension (OID
// 1.2.840.113741.1.13.1, "Intel SGX PCK Certificate and Certificate Revocation List Profile
// Specification" section 3.5): FMSPC, PCE-ID, the 16 SGX TCB component SVNs, PCESVN and CPUSVN.
// Private to attest/tdx. Thread safety: pure function.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "common/result.h"

namespace eml::attest::tdx::internal {

inline constexpr size_t kFmspcBytes = 6;
inline constexpr size_t kPceIdBytes = 2;
inline constexpr size_t kSgxTcbComponents = 16;

struct PckExtensions {
  std::array<uint8_t, kFmspcBytes> fmspc{};
  std::array<uint8_t, kPceIdBytes> pce_id{};
  std::array<uint8_t, kSgxTcbComponents> sgx_tcb_comp_svn{};
  uint16_t pce_svn = 0;
  std::array<uint8_t, 16> cpu_svn{};
};

// ParsePckExtensions finds the SGX extension in the DER certificate `cert_der` and decodes it.
// Errors: kTdxPckExtensionInvalid (extension absent, a required field absent or repeated, a
// value of the wrong type, size or range, or malformed DER).
Result<PckExtensions> ParsePckExtensions(std::span<const uint8_t> cert_der);

}  // namespace eml::attest::tdx::internal
