#pragma once
// The `ephemeralml attest ...` commands (attestation evidence; docs/attestation.md).
//
//   attest verify FILE [--root PEM] [--at UNIX_SECONDS|now] [--expect-pcr N=HEX ...]
//                 [--expect-nonce HEX] [--max-age SECS] [--production] [--format text|json]
//       Verifies an AWS Nitro attestation document (raw CBOR, as the NSM returns it). The
//       default root is the embedded AWS Nitro Enclaves Root-G1 (fingerprint-checked); --root
//       pins another one (a PEM or DER file, e.g. the sim root). --at defaults to now; archived
//       documents are checked at their own time with --at. Debug-mode enclaves (PCR0 all zero)
//       are reported, and rejected with --production. Exit 0 when verified, 1 when not, 2 on bad
//       flags or unreadable input.
//
// Document files are read up to nitro::kMaxDocumentBytes + 1 bytes; root files up to 64 KiB.

#include <CLI/CLI.hpp>

namespace eml::apps {

// AddAttestCommands registers the commands above on `app`; each reports through FinishCommand.
void AddAttestCommands(CLI::App& app);

}  // namespace eml::apps
