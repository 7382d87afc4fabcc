#pragma once
// The `ephemeralml host` command: the untrusted host's blind relay (src/host) as a process.
//
//   host --listen HOST:PORT --enclave tcp:HOST:PORT|unix:PATH|vsock:CID:PORT [--record DIR]
//        [--max-connections N] [--idle-timeout-ms N] [--ready-file PATH]
//        [--egress-listen HOST:PORT|unix:PATH [--egress-allow HOST:PORT]...]
//        [--store URL [--store-listen HOST:PORT]]
//        [--boot-config FILE --boot-listen tcp:HOST:PORT|unix:PATH|vsock:CID:PORT]
//
// Listens for clients on HOST:PORT (port 0 picks one), relays each to its own connection to the
// enclave, and runs until SIGTERM or SIGINT (taken with sigwait; no code runs in a handler).
// Once listening it writes --ready-file atomically as JSON {"address": "HOST:PORT",
// "enclave": "...", "pid": N, "record_dir": "..." (when recording)}. One line per ended
// connection goes to stderr (id, close reason code, byte and frame counts; never content).
// With --egress-listen it also runs the egress proxy (host/egress_proxy.h): HTTP CONNECT tunnels
// to the --egress-allow destinations only, with the same connection limit, idle timeout and
// --record directory (files egress-<id>-out.bin / -in.bin); the ready file then also holds
// "egress_address" ("HOST:PORT" or "unix:PATH"), and one line per ended tunnel goes to stderr
// (destination, close reason, status, byte counts).
// With --store it also runs the storage proxy (host/store_proxy.h): the store at URL (file:// or
// s3://, opened with the host's credentials) served read-only over HTTP on --store-listen
// (default 127.0.0.1:0), with the same connection limit and --record directory (files
// store-<id>-req.bin / -resp.bin); the ready file then also holds "store_address" ("HOST:PORT",
// for the enclave's --store http://HOST:PORT).
// With --boot-config it checks FILE with the enclave's parser (enclave/boot_config.h; a bad file
// exits 2 at start) and serves its exact bytes to the enclave's --boot-from on --boot-listen
// (host/boot_config_server.h); the ready file then also holds "boot_address" (the bound address,
// e.g. "tcp:127.0.0.1:PORT").
// Exit codes: 0 after a signal, 2 bad flags or the listener cannot start.

#include <CLI/CLI.hpp>

namespace eml::apps {

void AddHostCommands(CLI::App& app);

}  // namespace eml::apps
