#pragma once
// The `ephemeralml up` / `ephemeralml down` commands: the local stack on the sim platform.
//
//   up [--model DIR] [--store URL] [--port N] [--record DIR] [--timeout-s N]
//     Runs the whole sim flow, every long-running process in the background in its own session
//     with its log in $EPHEMERALML_HOME/logs/:
//     1. `ephemeralml keybroker serve` on 127.0.0.1 (port picked), data, master key and admin
//        token (0600) in $EPHEMERALML_HOME/broker/ (created on first start);
//     2. the owner signing key $EPHEMERALML_HOME/owner.key (0600, created on first use);
//     3. the model (default model::DefaultModelDirectoryPath(), ONNX exports left out) packed
//        with every file encrypted into $EPHEMERALML_HOME/packages/ID-VERSION (VERSION a UTC
//        timestamp, DEK beside it, 0600) and published to --store (default
//        file://$EPHEMERALML_HOME/store; s3://BUCKET/PREFIX with the AWS_* environment,
//        docs/stores.md). packages/current.json records the package; the next `up` with the same
//        model directory and owner key reuses it (delete packages/ to repack: a new version);
//     4. `ephemeralml-enclave --print-measurements` gives PCR0-2 and the sim root before the
//        enclave runs: they go into $EPHEMERALML_HOME/policy.json (the client's evidence policy)
//        and release-policy.json (the same evidence, security mode evaluation), with which the
//        DEK is registered at the broker (an existing registration gets the new policy);
//     5. `ephemeralml host` on 127.0.0.1:PORT (default kDefaultStackPort; 0 picks one) relaying
//        to $EPHEMERALML_HOME/run/enclave.sock, with a storage proxy over that store and an
//        egress proxy that allows only the broker;
//     6. ephemeralml-enclave booting the package through the storage proxy, its key released
//        by the broker through the egress proxy.
//     Waits for each ready file (--timeout-s for the whole start-up, default 120), writes
//     $EPHEMERALML_HOME/run/stack.json (pids, addresses, logs, the enclave's argv) and prints the
//     cold-start breakdown and how to connect. If any step fails, the processes started are
//     stopped, the run files removed, and the failing log's last lines shown. A stack already
//     running is reported (exit 1) and left alone.
//   down
//     SIGTERM to the host, the enclave and the broker (in that order), SIGKILL after 15 s each,
//     removes the run files. Nothing running is not an error (exit 0).
//
// $EPHEMERALML_HOME defaults to ~/.ephemeralml.

#include <CLI/CLI.hpp>

namespace eml::apps {

inline constexpr int kDefaultStackPort = 9000;

void AddStackCommands(CLI::App& app);

}  // namespace eml::apps
