#pragma once
// The `ephemeralml receipt ...` and `ephemeralml keys gen-receipt-key` commands (AIR v1).
//
//   receipt verify FILE (--public-key HEX | --public-key-file F) [policy flags] [--format F]
//       FILE is a raw receipt (CBOR) or a JSON vector file (its receipt_hex is used). Exit 0 when
//       verified, 1 when not, 2 on bad flags or unreadable input. --max-age defaults to 3600 s
//       (air::kDefaultMaxAgeS); 0 disables the freshness check.
//   receipt inspect FILE      decoded envelope and claims, without any verification
//   receipt issue --signing-key-file F --claims-json F [--iat SECS|now] [--cti HEX|random]
//                 [--nonce HEX] [--security-mode M] --out FILE
//   keys gen-receipt-key OUT  a new 32-byte Ed25519 seed (mode 0600); prints the public key
//
// Raw receipt files are read up to 64 KiB + 1 byte (a larger file is reported as SIZE
// RECEIPT_TOO_LARGE without reading the rest); JSON files are refused above 1 MiB.

#include <CLI/CLI.hpp>

namespace eml::apps {

// AddReceiptCommands registers the commands above on `app`. Each command reports through
// FinishCommand (cli_util.h).
void AddReceiptCommands(CLI::App& app);

}  // namespace eml::apps
