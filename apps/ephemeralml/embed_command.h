#pragma once
// The `ephemeralml embed-local` command: embeddings computed in this process, without a TEE, for
// debugging and for comparison with other engines.
//
//   embed-local [--model DIR] [--precision fp32|bf16|int8] [--threads N] TEXT...
//       Prints one JSON document on stdout:
//       {"model":"all-MiniLM-L6-v2","precision":"fp32","dim":384,
//        "data":[{"index":0,"tokens":7,"embedding":[...]}, ...]}
//       floats in shortest round-trip form. DIR defaults to model::DefaultModelDirectoryPath()
//       ($EML_MODEL_DIR, else the scripts/fetch-model cache). Exit 0 on success; 2 on usage
//       errors (bad flags, a text that is not UTF-8); 1 when the model cannot be loaded or run.
//       Errors are one line on stderr.
// Posture: reads the operator-named model directory (untrusted files, through the model and
// tokenizer loaders and their limits) and texts from the command line.

#include <CLI/CLI.hpp>

namespace eml::apps {

// AddEmbedCommands registers embed-local on `app`.
void AddEmbedCommands(CLI::App& app);

}  // namespace eml::apps
