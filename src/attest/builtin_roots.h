#pragma once
// eml::attest built-in trust roots: the default anchors an evidence policy uses for a platform
// whose "roots" list is empty (attest/policy.h). Each is embedded in the binary and checked
// against its SHA-256 fingerprint when parsed, so a corrupted build fails instead of trusting
// something else:
//   aws-nitro  AWS Nitro Enclaves Root-G1 (attest/nitro/aws_root.h)
//   tdx        Intel SGX Root CA (attest/tdx/intel_root.h)
//   sev-snp    AMD ARK-Milan, ARK-Genoa, ARK-Turin (attest/sevsnp/amd_roots.h)
//   gcp-cs     Google Confidential Space Root CA (attest/gcp/cs_root.h)
// "sim" has none: its root is created per state directory and must be named.
// Thread safety: pure function.

#include <string_view>
#include <vector>

#include "common/result.h"
#include "crypto/x509.h"

namespace eml::attest {

// BuiltInRoots returns the platform's embedded roots (kPlatform* names of attest/policy.h).
// Errors: kNotFound (no built-in root: "sim" or an unknown name), kInternal (an embedded
// certificate is corrupt; a build defect).
Result<std::vector<crypto::Certificate>> BuiltInRoots(std::string_view platform);

}  // namespace eml::attest
