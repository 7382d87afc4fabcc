#pragma once
// The `ephemeralml model ...` commands (model packages, docs/formats.md) and
// `ephemeralml keys gen-signing-key`.
//
//   model pack HF_DIR --id ID --version V --signing-key KEY --out PKG [--encrypt-all]
//              [--dek-out FILE] [--architecture A] [--key-id K] [--segment-size BYTES]
//              [--kms-key ARN]
//       Packs a Hugging Face model directory into the new directory PKG: weights (and with
//       --encrypt-all every file) encrypted with a fresh 32-byte data key (DEK), a canonical
//       manifest signed with the Ed25519 seed in KEY. The DEK is written first, raw, mode 0600,
//       to FILE (default PKG.dek, beside the package, never inside it); it is removed again if
//       packing fails. With --kms-key (exclusive with --dek-out and --key-id) the DEK comes from
//       AWS KMS GenerateDataKey instead (EPHEMERALML_KMS_ENDPOINT, AWS_* credentials), is never
//       written, and the package holds it wrapped by KMS in kms-key.json (role "key-wrap",
//       key_id "kms:" + ARN; keys/kms/key_file.h). A progress bar is drawn when stderr is a
//       terminal.
//   model verify PKG --signer-pub HEX [--dek-file F]
//       Exit 0 when the signature and every file check out (with F, encrypted files are
//       decrypted and checked too), 1 when the package does not verify (the error code names
//       the first failure, e.g. STREAM_SEGMENT_AUTH_FAILED), 2 on usage or unreadable input.
//   model inspect PKG [--format text|json]   the manifest, decoded only (NOT verified)
//   model publish PKG --store URL [--signer-pub HEX]
//       Verifies the package (signature by the pinned key, else by the manifest's own signer key;
//       every stored file's size and SHA-256), then copies it into a store (file:///dir or
//       s3://bucket/prefix). A package that does not verify is refused, exit 1, nothing uploaded.
//   keys gen-signing-key OUT                a new Ed25519 seed (0600); prints the public key
//
// Posture: reads operator-named directories and key files (untrusted content) through the
// bounded readers of model/package.h and cli_util.h.

#include <CLI/CLI.hpp>

namespace eml::apps {

// AddModelCommands registers the commands above on `app`; each reports through FinishCommand.
void AddModelCommands(CLI::App& app);

}  // namespace eml::apps
