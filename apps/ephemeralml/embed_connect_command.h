#pragma once
// The `ephemeralml embed --connect` command: embeddings from a remote enclave, every step
// verified (client/session.h).
//
//   embed --connect HOST:PORT|tcp:HOST:PORT|unix:PATH [--policy FILE] [--nonce]
//         [--receipt-out FILE] [--format json|text] TEXT...
//
//   The enclave's attestation must pass the evidence policy FILE (default
//   $EPHEMERALML_HOME/policy.json, home default ~/.ephemeralml; `ephemeralml up` writes it)
//   before any text is sent; its receipt must pass every client check before anything is
//   printed. --nonce sends a fresh random 32-byte nonce that the receipt must echo.
//   --receipt-out writes the receipt's CBOR bytes (mode 0644) for offline re-verification; the
//   output names the exact `ephemeralml receipt verify` command line that re-checks it (attested
//   receipt key, request / response / model / attestation hashes, nonce).
//
//   Output (json, the default): {"model","dim","count","data":[{"index","tokens","embedding"}],
//   "attestation":{"platform","document_sha256","evaluation"},"receipt":{"sha256","size_bytes",
//   "sequence_number","report":{...}},"offline_verify":[argv...]}. text: one summary block.
//   Exit 0 only when everything verified; 1 when the connection, attestation, a receipt or the
//   result failed; 2 on usage errors (bad flags, missing or malformed policy file, a text that
//   is not UTF-8). Errors are one line on stderr.
// Posture: reads the operator-named policy file (attest::LoadEvidencePolicyFile limits) and
// untrusted bytes from the network (client/session.h posture).

#include <CLI/CLI.hpp>

namespace eml::apps {

// AddEmbedConnectCommands registers `embed` on `app`.
void AddEmbedConnectCommands(CLI::App& app);

}  // namespace eml::apps
