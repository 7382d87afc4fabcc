#pragma once
// The key broker commands (docs/keybroker.md, "CLI"):
//
//   keybroker serve --listen HOST:PORT --data DIR [--master-key FILE] [--admin-token-file FILE]
//                   [--ready-file PATH] [--threads N]
//     Creates DIR (0700) on first start, with DIR/master.key and DIR/admin.token (0600) unless a
//     master key (--master-key, or EPHEMERALML_BROKER_MASTER_KEY) or a token (--admin-token-file,
//     or EPHEMERALML_BROKER_TOKEN) is given; opens DIR/broker.db and serves the HTTP API until
//     SIGTERM or SIGINT (taken with sigwait). Once listening it writes --ready-file atomically as
//     JSON {"address": "HOST:PORT", "port": N, "url": "http://HOST:PORT", "pid": N,
//     "data_dir": DIR, "token_file": PATH (when the token is a file)}. One line per request goes
//     to stderr (method, path, status, error name; never bodies or the token).
//
//   keys register --broker URL --model ID --version V --dek-file F --policy FILE [--token-file F]
//   keys policy   --broker URL --model ID --version V --policy FILE [--token-file F]
//   keys revoke   --broker URL --model ID --version V [--token-file F]
//   keys list     --broker URL [--format text|json] [--token-file F]
//   keys audit    --broker URL [--model ID --version V] [--after N] [--limit N]
//                 [--format text|json] [--token-file F]
//     Admin calls. The token comes from --token-file (mode 0600) or EPHEMERALML_BROKER_TOKEN.
//     The DEK file is what `model pack` writes (32 raw bytes; 64 hex digits also accepted). In a
//     policy file, "roots" and "certificates" entries that are file names are read (relative to
//     the policy file's folder) and sent inline as PEM text, since the broker stores policies as
//     text.
//
// Exit codes: 0 done, 1 the broker refused (prints "refused: NAME (code): message"), 2 usage,
// unreadable input, or the broker could not be reached.
//
// Posture: reads operator files (bounded: policy at most keys::http::kMaxRequestBodyBytes, each
// inlined certificate at most attest::kMaxPolicyRootFileBytes) and the broker's responses
// (at most kMaxBrokerResponseBytes, parsed with exceptions off).

#include <CLI/CLI.hpp>

#include <string>

#include "common/result.h"
#include "common/secret_bytes.h"

namespace eml::apps {

void AddKeysCommands(CLI::App& app);

// What `ephemeralml up` registers with its broker, in process (the requests of `keys register`
// and `keys policy`).
struct BrokerKeyRegistration {
  std::string broker_url;  // http://HOST:PORT
  std::string token_file;  // the admin token (mode 0600)
  std::string model_id;
  std::string version;
  std::string policy_file;  // release policy; certificate file names are inlined as PEM
};

// RegisterOrUpdateKey registers `dek` for the model version with the release policy; when the
// broker already holds a key for that version (BROKER_KEY_EXISTS) it replaces only that key's
// policy (the stored DEK stays). Returns "registered" or "policy updated". Errors: a refusal
// with the broker's code ("NAME (code): message"), transport and file errors.
Result<std::string> RegisterOrUpdateKey(const BrokerKeyRegistration& reg, SecretBytes dek);

}  // namespace eml::apps
