#pragma once
// Test-only: a moto server (python/requirements-dev.txt, ThreadedMotoServer on 127.0.0.1 and an
// ephemeral port) in a child Python process, for tests that talk to a real KMS-compatible
// service. The child prints its port and serves until its stdin closes. The interpreter is
// $EML_PYTHON, else $EML_SOURCE_DIR/.venv/bin/python when it exists, else python3.

#include <sys/types.h>

#include <memory>
#include <string>

#include "common/result.h"

namespace eml::keys::kms::testing {

class MotoKmsServer {
 public:
  // Start spawns the server and waits for its port line. Errors: kIoError (the interpreter
  // cannot start, or moto is not installed: the detail says how to install it).
  static Result<std::unique_ptr<MotoKmsServer>> Start();
  // The destructor closes the child's stdin and waits for it to exit.
  ~MotoKmsServer();
  MotoKmsServer(const MotoKmsServer&) = delete;
  MotoKmsServer& operator=(const MotoKmsServer&) = delete;

  // endpoint: "http://127.0.0.1:PORT" (KmsClientOptions::endpoint, EPHEMERALML_KMS_ENDPOINT).
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  MotoKmsServer(pid_t pid, int stdin_fd, int port) : pid_(pid), stdin_fd_(stdin_fd), port_(port) {}

  pid_t pid_;
  int stdin_fd_;
  int port_;
};

}  // namespace eml::keys::kms::testing
