#pragma once
// The `ephemeralml host` command: the untrusted host's blind relay (src/host) as a process.
//
//   host --listen HOST:PORT --enclave tcp:HOST:PORT|unix:PATH|vsock:CID:PORT [--record DIR]
//        [--max-connections N] [--idle-timeout-ms N] [--ready-file PATH]
//
// Listens for clients on HOST:PORT (port 0 picks one), relays each to its own connection to the
// enclave, and runs until SIGTERM or SIGINT (taken with sigwait; no code runs in a handler).
// Once listening it writes --ready-file atomically as JSON {"address": "HOST:PORT",
// "enclave": "...", "pid": N, "record_dir": "..." (when recording)}. One line per ended
// connection goes to stderr (id, close reason code, byte and frame counts; never content).
// Exit codes: 0 after a signal, 2 bad flags or the listener cannot start.

#include <CLI/CLI.hpp>

namespace eml::apps {

void AddHostCommands(CLI::App& app);

}  // namespace eml::apps
