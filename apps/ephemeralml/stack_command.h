#pragma once
// The `ephemeralml up` / `ephemeralml down` commands: the local stack on the sim platform.
//
//   up [--model DIR] [--port N] [--record DIR] [--timeout-s N]
//     Starts ephemeralml-enclave (the binary next to this executable) listening on
//     $EPHEMERALML_HOME/run/enclave.sock, then `ephemeralml host` on 127.0.0.1:PORT (default
//     kDefaultStackPort; 0 picks one) relaying to it, both as background processes in their own
//     sessions with logs in $EPHEMERALML_HOME/logs/. Waits for both ready files (--timeout-s,
//     default 120), then writes $EPHEMERALML_HOME/policy.json (platform "sim": the enclave's sim
//     root and its PCR0-2, allow_debug false, max_evidence_age_s 600) and
//     $EPHEMERALML_HOME/run/stack.json (pids, addresses, logs), and prints how to connect.
//     If either process fails, both are stopped, the run files removed, and the log's last
//     lines shown. A stack already running is reported (exit 1) and left alone.
//   down
//     SIGTERM to the host and the enclave, SIGKILL after 15 s, removes the run files. Nothing
//     running is not an error (exit 0).
//
// $EPHEMERALML_HOME defaults to ~/.ephemeralml. The model directory defaults to
// model::DefaultModelDirectoryPath().

#include <CLI/CLI.hpp>

namespace eml::apps {

inline constexpr int kDefaultStackPort = 9000;

void AddStackCommands(CLI::App& app);

}  // namespace eml::apps
