#pragma once
// Posture: ParseTcbInfoResponse / ParseQeIdentityResponse read untrusted text (Intel PCS
// responses from a collateral directory); at most kMaxCollateralJsonBytes, parsed by
// nlohmann-json (exceptions caught), every field type- and size-checked. Fuzz target: none yet
// (collateral is operator-supplied; the quote path is fuzzed by attest_tdx_quote).
//
// eml::attest::tdx::internal: Intel PCS TDX tcbInfo (v3) and QE identity (v2) responses, the
// byte range of their signed JSON value, and Intel's TCB level matching. Private to attest/tdx.
// Thread safety: pure functions and plain values.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "attest/tdx/internal/pck_extensions.h"
#include "attest/tdx/quote.h"
#include "attest/tdx/tdx_verifier.h"
#include "common/result.h"

namespace eml::attest::tdx::internal {

inline constexpr size_t kMaxCollateralJsonBytes = 1024 * 1024;
inline constexpr size_t kMaxTcbLevels = 256;

// SignedJson: `body` is the exact text of the signed value (what the signature covers).
struct SignedJson {
  std::string body;
  std::vector<uint8_t> signature;  // raw r||s, 64 bytes
};

// FindSignedValue splits `{"<value_key>": {...}, "signature": "<hex>"}` into the exact bytes of
// the value and the decoded signature. Errors: kTdxCollateralMalformed.
Result<SignedJson> FindSignedValue(std::string_view response, std::string_view value_key);

// ParseIsoTime parses "YYYY-MM-DDTHH:MM:SSZ" (UTC) to unix seconds. Errors:
// kTdxCollateralMalformed.
Result<int64_t> ParseIsoTime(std::string_view text);

// ParseTcbStatus maps Intel's status strings. Errors: kTdxCollateralMalformed.
Result<TcbStatus> ParseTcbStatus(std::string_view text);

struct TcbLevel {
  std::array<uint8_t, kSgxTcbComponents> sgx_svn{};
  uint16_t pce_svn = 0;
  std::array<uint8_t, kTeeTcbSvnBytes> tdx_svn{};
  TcbStatus status = TcbStatus::kNotSupported;
  std::string tcb_date;
  std::vector<std::string> advisory_ids;
};

// An isvsvn-keyed level (QE identity and TDX module identities).
struct IsvLevel {
  uint16_t isv_svn = 0;
  TcbStatus status = TcbStatus::kNotSupported;
  std::string tcb_date;
};

struct TdxModuleIdentity {
  std::string id;                        // "TDX_01", ...
  std::vector<uint8_t> mrsigner;         // 48
  std::vector<uint8_t> attributes;       // 8
  std::vector<uint8_t> attributes_mask;  // 8
  std::vector<IsvLevel> levels;          // empty for the top-level tdxModule
};

struct TcbInfo {
  SignedJson signed_json;
  int64_t issue_date_unix = 0;
  int64_t next_update_unix = 0;
  std::array<uint8_t, kFmspcBytes> fmspc{};
  std::array<uint8_t, kPceIdBytes> pce_id{};
  uint32_t tcb_evaluation_data_number = 0;
  TdxModuleIdentity tdx_module;
  std::vector<TdxModuleIdentity> tdx_module_identities;
  std::vector<TcbLevel> levels;
};

struct QeIdentity {
  SignedJson signed_json;
  int64_t issue_date_unix = 0;
  int64_t next_update_unix = 0;
  uint32_t tcb_evaluation_data_number = 0;
  uint32_t miscselect = 0;
  uint32_t miscselect_mask = 0;
  std::array<uint8_t, 16> attributes{};
  std::array<uint8_t, 16> attributes_mask{};
  std::array<uint8_t, 32> mrsigner{};
  uint16_t isv_prod_id = 0;
  std::vector<IsvLevel> levels;
};

// ParseTcbInfoResponse: a TDX tcbInfo response (id "TDX", version 3). Errors:
// kTdxCollateralMalformed, kLimitExceeded.
Result<TcbInfo> ParseTcbInfoResponse(std::string_view response);
// ParseQeIdentityResponse: a QE identity response (id "TD_QE", version 2). Errors: as above.
Result<QeIdentity> ParseQeIdentityResponse(std::string_view response);

// ParsedCollateral: what TdxVerifier::New parsed from its Collateral (signatures unchecked).
struct ParsedCollateral {
  std::vector<TcbInfo> tcb_infos;
  QeIdentity qe_identity;
};

// The outcome of TCB level matching.
struct TcbMatch {
  TcbStatus platform_status = TcbStatus::kNotSupported;  // from tcbLevels
  std::optional<TcbStatus> module_status;                // from tdxModuleIdentities, when consulted
  const TcbLevel* level = nullptr;  // the matching level, if any (points into TcbInfo)
};

// MatchTcbLevel runs Intel's TDX TCB level matching (PCK SVNs, PCESVN, TEE_TCB_SVN, TDX module
// identity). Errors: kTdxModuleMismatch (MRSIGNERSEAM / SEAM attributes differ from the
// tdxModule or module identity, or TEE_TCB_SVN[1] names a module the tcbInfo lacks).
Result<TcbMatch> MatchTcbLevel(const TcbInfo& info, const PckExtensions& pck,
                               std::span<const uint8_t> tee_tcb_svn,
                               std::span<const uint8_t> mrsignerseam,
                               std::span<const uint8_t> seam_attributes);

// MatchIsvLevel: the first level (sorted by isvsvn descending) with isvsvn <= `isv_svn`, or
// kNotSupported.
TcbStatus MatchIsvLevel(const std::vector<IsvLevel>& levels, uint16_t isv_svn);

// MergeStatus combines the platform status with the QE (or module) status as Intel's QVL does:
// QE Revoked -> Revoked; QE OutOfDate turns UpToDate/SWHardeningNeeded into OutOfDate and the
// configuration-needed statuses into OutOfDateConfigurationNeeded; QE NotSupported ->
// NotSupported.
TcbStatus MergeStatus(TcbStatus platform, TcbStatus other);

}  // namespace eml::attest::tdx::internal
