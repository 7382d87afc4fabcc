#include "attest/builtin_roots.h"

#include <string>
#include <utility>

#include "attest/gcp/cs_root.h"
#include "attest/nitro/aws_root.h"
#include "attest/policy.h"
#include "attest/sevsnp/amd_roots.h"
#include "attest/tdx/intel_root.h"

namespace eml::attest {
namespace {

Result<std::vector<crypto::Certificate>> One(Result<crypto::Certificate> root) {
  if (!root.has_value()) {
    return root.error();
  }
  std::vector<crypto::Certificate> roots;
  roots.push_back(*std::move(root));
  return roots;
}

}  // namespace

Result<std::vector<crypto::Certificate>> BuiltInRoots(std::string_view platform) {
  // Each platform folder embeds its own anchor and checks its fingerprint; this is the table.
  if (platform == kPlatformAwsNitro) {
    return One(nitro::AwsNitroRootG1());
  }
  if (platform == kPlatformTdx) {
    return One(tdx::IntelSgxRootCa());
  }
  if (platform == kPlatformSevSnp) {
    return sevsnp::BuiltInArks();
  }
  if (platform == kPlatformGcpCs) {
    return One(gcp::ConfidentialSpaceRoot());
  }
  return Error{ErrorCode::kNotFound, "no built-in root for platform " + std::string(platform)};
}

}  // namespace eml::attest
