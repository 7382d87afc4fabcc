#include "keys/kms/testing/moto_kms.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <vector>

extern char** environ;

namespace eml::keys::kms::testing {
namespace {

constexpr char kScript[] =
    "import sys\n"
    "try:\n"
    "    from moto.server import ThreadedMotoServer\n"
    "except ImportError as e:\n"
    "    print('NO_MOTO', e, flush=True)\n"
    "    sys.exit(3)\n"
    "import logging\n"
    "logging.getLogger('werkzeug').setLevel(logging.ERROR)\n"
    "s = ThreadedMotoServer(ip_address='127.0.0.1', port=0, verbose=False)\n"
    "s.start()\n"
    "print(s.get_host_and_port()[1], flush=True)\n"
    "sys.stdin.read()\n"
    "s.stop()\n";

std::string Python() {
  if (const char* env = std::getenv("EML_PYTHON"); env != nullptr) {
    return env;
  }
  if (const char* src = std::getenv("EML_SOURCE_DIR"); src != nullptr) {
    const std::filesystem::path venv = std::filesystem::path(src) / ".venv" / "bin" / "python";
    if (std::filesystem::exists(venv)) {
      return venv.string();
    }
  }
  return "python3";
}

}  // namespace

Result<std::unique_ptr<MotoKmsServer>> MotoKmsServer::Start() {
  const std::string python = Python();
  int to_child[2];
  int from_child[2];
  if (::pipe2(to_child, O_CLOEXEC) != 0) {
    return Error{ErrorCode::kIoError, "pipe failed"};
  }
  if (::pipe2(from_child, O_CLOEXEC) != 0) {
    ::close(to_child[0]);
    ::close(to_child[1]);
    return Error{ErrorCode::kIoError, "pipe failed"};
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, to_child[0], 0);
  posix_spawn_file_actions_adddup2(&actions, from_child[1], 1);
  std::vector<std::string> args = {python, "-c", kScript};
  std::vector<char*> argv;
  for (std::string& a : args) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, python.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(to_child[0]);
  ::close(from_child[1]);
  if (rc != 0) {
    ::close(to_child[1]);
    ::close(from_child[0]);
    return Error{ErrorCode::kIoError, "cannot start " + python};
  }
  std::unique_ptr<MotoKmsServer> server(new MotoKmsServer(pid, to_child[1], 0));
  // Blocks until the child prints its port line or exits (EOF).
  std::string line;
  char c = 0;
  while (::read(from_child[0], &c, 1) == 1 && c != '\n') {
    line.push_back(c);
  }
  ::close(from_child[0]);
  server->port_ = std::atoi(line.c_str());
  if (server->port_ <= 0) {
    return Error{ErrorCode::kIoError,
                 "moto server did not start (" + line + ") with " + python +
                     ": install it with `.venv/bin/pip install 'moto[server]'` "
                     "(python/requirements-dev.txt), or set EML_PYTHON"};
  }
  return server;
}

MotoKmsServer::~MotoKmsServer() {
  ::close(stdin_fd_);  // the child's stdin.read() returns and it stops the server
  int status = 0;
  ::waitpid(pid_, &status, 0);
}

}  // namespace eml::keys::kms::testing
