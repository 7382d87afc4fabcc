#pragma once
// eml::attest::sim: the `sim` attestation provider (DESIGN.md section 5.1). It produces
// attestation documents in EXACTLY the AWS Nitro format (untagged COSE_Sign1, ES384; see
// attest/nitro/document.h), signed by a short-lived leaf under a P-384 root CA that it creates on
// first use in a state directory. attest::nitro::NitroVerifier verifies them when given the sim
// root, so the whole Nitro verification path runs without Nitro hardware.
//
// What a sim document proves: only that the holder of the sim root key (anyone with access to
// the state directory) produced it. It is NOT hardware evidence. Verifiers must accept the sim
// root only under a policy that names sim explicitly.
//
// State directory layout (the caller resolves it: `$EPHEMERALML_HOME`, default ~/.ephemeralml;
// the library never reads the environment):
//   <state_dir>/attest-sim/root.key   PKCS#8 DER of the root key, mode 0600 (checked on load)
//   <state_dir>/attest-sim/root.pem   the root certificate (PEM), what a verifier pins
// The folder is created with mode 0700.
//
// PCRs: 0..15, 48 bytes each. PCR0 = SHA-384(enclave binary bytes), PCR1 = SHA-384(effective
// configuration bytes), PCR2 = SHA-384(trust anchor bytes), all others zero. The caller gives
// the bytes. PCR0 is never all zero, so a sim document is never reported as debug.
//
// Thread safety: a SimProvider is immutable after Create; Attest may run concurrently. Two
// processes creating the root at the same instant: one wins (O_EXCL), the other fails with
// kAttestSimState and succeeds on retry.

#include <array>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"
#include "crypto/ecdsa.h"
#include "crypto/hash.h"
#include "crypto/x509.h"

namespace eml::attest::sim {

inline constexpr char kStateSubdir[] = "attest-sim";
inline constexpr char kRootKeyFile[] = "root.key";
inline constexpr char kRootCertFile[] = "root.pem";
inline constexpr int64_t kRootLifetimeS = int64_t{20} * 365 * 24 * 3600;
inline constexpr int64_t kLeafLifetimeS = 3 * 3600;  // as Nitro leaves
inline constexpr int64_t kBackdateS = 60;            // tolerate small clock differences
inline constexpr uint32_t kNumPcrs = 16;

// The bytes measured into PCR0..2; views must live for the Create call only.
struct MeasuredInputs {
  std::span<const uint8_t> enclave_binary;
  std::span<const uint8_t> configuration;
  std::span<const uint8_t> trust_anchors;
};

// The SHA-384 digests of MeasuredInputs: what PCR0..2 hold. A caller measuring a large binary
// hashes it once, streaming, instead of holding all of its bytes.
struct MeasuredDigests {
  std::array<uint8_t, crypto::kSha384Size> enclave_binary{};
  std::array<uint8_t, crypto::kSha384Size> configuration{};
  std::array<uint8_t, crypto::kSha384Size> trust_anchors{};
};

// Measure returns the digests of `inputs`.
MeasuredDigests Measure(const MeasuredInputs& inputs);

// SimPcrs returns PCR0..15 for `inputs` / `digests` (see above).
std::map<uint32_t, std::vector<uint8_t>> SimPcrs(const MeasuredInputs& inputs);
std::map<uint32_t, std::vector<uint8_t>> SimPcrs(const MeasuredDigests& digests);

// Caller-chosen data bound into one document. Limits are the Nitro verifier's
// (nitro::kMaxPublicKeyBytes, kMaxUserDataBytes, kMaxNonceBytes).
struct AttestationRequest {
  std::optional<std::vector<uint8_t>> public_key;
  std::optional<std::vector<uint8_t>> user_data;
  std::optional<std::vector<uint8_t>> nonce;
};

class SimProvider {
 public:
  // Create loads the root from `state_dir` (creating it, and the folder, on first use), issues
  // a fresh leaf valid from now_unix - kBackdateS to now_unix + kLeafLifetimeS, and fixes the
  // PCRs from `inputs`.
  // Errors: kAttestSimState (the key file is group/other accessible, a file is missing or
  //   corrupt, the key does not match the certificate, the root is not valid at now_unix),
  //   kIoError (files cannot be read, written or created), kInvalidArgument (now_unix < 0),
  //   crypto errors (key generation, signing).
  static Result<SimProvider> Create(const std::filesystem::path& state_dir,
                                    const MeasuredInputs& inputs, int64_t now_unix);
  // As Create, with the PCR digests already computed.
  static Result<SimProvider> CreateFromDigests(const std::filesystem::path& state_dir,
                                               const MeasuredDigests& digests, int64_t now_unix);

  // RootCertificate returns the root certificate in `state_dir`, creating the root on first use
  // exactly as Create does: what a caller measures into PCR2 before it creates the provider.
  // Errors: as Create's, less the leaf's.
  static Result<crypto::Certificate> RootCertificate(const std::filesystem::path& state_dir,
                                                     int64_t now_unix);

  // Renewed returns a provider with a fresh leaf valid from now_unix (same root, PCRs and
  // module id), reading the root key again from the state directory: a provider never keeps
  // the root key, so a long-running enclave renews before its leaf expires (as Nitro's does).
  // Errors: kAttestSimState (the root is missing, corrupt, not valid at now_unix, or no longer
  //   the one this provider started with), kIoError, kInvalidArgument (now_unix < 0), crypto
  //   errors.
  Result<SimProvider> Renewed(int64_t now_unix) const;

  SimProvider(SimProvider&&) noexcept = default;
  SimProvider& operator=(SimProvider&&) noexcept = default;

  // Attest returns an encoded document with timestamp `timestamp_ms` binding `request`.
  // Errors: kInvalidArgument (a field over its limit, or timestamp_ms outside the leaf's
  //   validity), crypto errors from signing.
  Result<std::vector<uint8_t>> Attest(const AttestationRequest& request,
                                      uint64_t timestamp_ms) const;

  const crypto::Certificate& root() const EML_LIFETIME_BOUND { return root_; }
  const crypto::Certificate& leaf() const EML_LIFETIME_BOUND { return leaf_; }
  const std::map<uint32_t, std::vector<uint8_t>>& pcrs() const EML_LIFETIME_BOUND { return pcrs_; }
  const std::string& module_id() const EML_LIFETIME_BOUND { return module_id_; }

 private:
  SimProvider(std::filesystem::path state_dir, crypto::Certificate root, crypto::Certificate leaf,
              crypto::EcdsaPrivateKey leaf_key, std::map<uint32_t, std::vector<uint8_t>> pcrs,
              std::string module_id)
      : state_dir_(std::move(state_dir)),
        root_(std::move(root)),
        leaf_(std::move(leaf)),
        leaf_key_(std::move(leaf_key)),
        pcrs_(std::move(pcrs)),
        module_id_(std::move(module_id)) {}

  std::filesystem::path state_dir_;
  crypto::Certificate root_;
  crypto::Certificate leaf_;
  crypto::EcdsaPrivateKey leaf_key_;
  std::map<uint32_t, std::vector<uint8_t>> pcrs_;
  std::string module_id_;
};

}  // namespace eml::attest::sim
