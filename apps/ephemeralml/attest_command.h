#pragma once
// The `ephemeralml attest ...` commands (attestation evidence; docs/attestation.md).
//
//   attest verify FILE [--platform auto|nitro|tdx|sev-snp|gcp-cs] [--policy FILE]
//                 [--root PEM] [--collateral DIR] [--jwks FILE] [--audience AUD]
//                 [--at UNIX_SECONDS|now] [--expect-pcr N=HEX ...] [--expect-nonce HEX]
//                 [--expect-public-key HEX] [--max-age SECS] [--production] [--format text|json]
//       Verifies attestation evidence of any supported platform through attest::PolicyVerifier:
//       an AWS Nitro (or sim) document, a TDX quote, an SEV-SNP report (optionally with its
//       certificate table) or a GCP Confidential Space token. --platform auto (the default)
//       detects the format. Without --policy, the flags make a one-platform policy: the root is
//       the platform's built-in one unless --root names another (for a Nitro-format document,
//       a non-AWS root makes the platform "sim"); TDX needs --collateral (Intel PCS responses,
//       attest/tdx/tdx_verifier.h), SEV-SNP takes --collateral as a folder of VCEK/ASK
//       certificates for bare reports, GCP needs --audience and takes --jwks for OIDC tokens.
//       --policy FILE uses an evidence policy file instead (docs/attestation.md); --platform
//       then keeps only that platform. --at defaults to now; archived evidence is checked at
//       its own time. Debug evidence is reported, and rejected with --production (which also
//       limits TDX to TCB status UpToDate). --expect-nonce / --expect-public-key check the
//       binding (attest/report_binding.h). Exit 0 when verified, 1 when not, 2 on bad flags,
//       an invalid policy or unreadable input.
//
// Evidence files are read up to 256 KiB; root and certificate files up to 64 KiB.

#include <CLI/CLI.hpp>

namespace eml::apps {

// AddAttestCommands registers the commands above on `app`; each reports through FinishCommand.
void AddAttestCommands(CLI::App& app);

}  // namespace eml::apps
