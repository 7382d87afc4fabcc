#include "cli_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>

#include <openssl/crypto.h>

#include "common/encoding.h"

namespace eml::apps {
namespace {

Error IoError(const std::string& what, const std::string& path) {
  return Error{ErrorCode::kIoError, what + " " + path + ": " + std::strerror(errno)};
}

// One line: newlines in a detail would break "one-line error" for scripts.
std::string OneLine(std::string text) {
  for (char& c : text) {
    if (c == '\n' || c == '\r') {
      c = ' ';
    }
  }
  return text;
}

}  // namespace

void FinishCommand(const Result<int>& result) {
  if (!result.has_value()) {
    std::cerr << "ephemeralml: " << OneLine(ToString(result.error())) << "\n";
    throw CLI::RuntimeError(kExitUsage);
  }
  if (*result != kExitOk) {
    throw CLI::RuntimeError(*result);
  }
}

CLI::App* GetOrAddSubcommand(CLI::App& parent, const std::string& name,
                             const std::string& description) {
  for (CLI::App* sub : parent.get_subcommands([](CLI::App*) { return true; })) {
    if (sub->get_name() == name) {
      return sub;
    }
  }
  CLI::App* sub = parent.add_subcommand(name, description);
  sub->require_subcommand(1);
  return sub;
}

Result<std::vector<uint8_t>> ReadFileLimited(const std::string& path, size_t max_bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return IoError("cannot open", path);
  }
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    ::close(fd);
    return Error{ErrorCode::kIoError, "cannot read " + path + ": is a directory"};
  }
  std::vector<uint8_t> out(max_bytes + 1);
  size_t used = 0;
  while (used < out.size()) {
    const std::span<uint8_t> rest = std::span<uint8_t>(out).subspan(used);
    const ssize_t n = ::read(fd, rest.data(), rest.size());
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      Error error = IoError("cannot read", path);
      ::close(fd);
      return error;
    }
    if (n == 0) {
      break;
    }
    used += static_cast<size_t>(n);
  }
  ::close(fd);
  out.resize(used);
  return out;
}

Result<std::vector<uint8_t>> ReadFileCapped(const std::string& path, size_t max_bytes) {
  EML_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ReadFileLimited(path, max_bytes));
  if (bytes.size() > max_bytes) {
    return Error{ErrorCode::kLimitExceeded,
                 path + " is larger than " + std::to_string(max_bytes) + " bytes"};
  }
  return bytes;
}

Result<std::vector<uint8_t>> DecodeKeyMaterial(std::span<const uint8_t> contents, size_t size) {
  if (contents.size() == size) {
    return std::vector<uint8_t>(contents.begin(), contents.end());
  }
  std::string owned(contents.begin(), contents.end());  // wiped below: may be a secret
  std::string_view text(owned);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())) != 0) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())) != 0) {
    text.remove_suffix(1);
  }
  Result<std::vector<uint8_t>> out =
      text.size() == 2 * size ? HexDecodeExact(text, size)
                              : Result<std::vector<uint8_t>>(
                                    Error{ErrorCode::kInvalidArgument,
                                          "key must be " + std::to_string(size) + " raw bytes or " +
                                              std::to_string(2 * size) + " hex characters"});
  OPENSSL_cleanse(owned.data(), owned.size());
  return out;
}

Result<SecretBytes> ReadSecretKeyFile(const std::string& path, size_t size) {
  // A hex key with a newline is 2 * size + 1 bytes; allow some whitespace around it.
  Result<std::vector<uint8_t>> contents = ReadFileCapped(path, 4 * size);
  if (!contents.has_value()) {
    return std::move(contents).error();
  }
  Result<std::vector<uint8_t>> key = DecodeKeyMaterial(*contents, size);
  SecretBytes secret;
  if (key.has_value()) {
    secret = SecretBytes::CopyFrom(*key);
    OPENSSL_cleanse(key->data(), key->size());
  }
  OPENSSL_cleanse(contents->data(), contents->size());
  if (!key.has_value()) {
    return Error{key.error().code, "signing key file " + path + ": " + key.error().detail};
  }
  return secret;
}

Status WriteFileAtomic(const std::string& path, std::span<const uint8_t> bytes, unsigned mode,
                       bool exclusive) {
  if (exclusive && std::filesystem::exists(path)) {
    return Error{ErrorCode::kInvalidArgument, path + " already exists"};
  }
  const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  const int fd =
      ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, static_cast<mode_t>(mode));
  if (fd < 0) {
    return IoError("cannot create", tmp);
  }
  size_t done = 0;
  while (done < bytes.size()) {
    const std::span<const uint8_t> rest = bytes.subspan(done);
    const ssize_t n = ::write(fd, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      Error error = IoError("cannot write", tmp);
      ::close(fd);
      ::unlink(tmp.c_str());
      return error;
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    Error error = IoError("cannot write", tmp);
    ::unlink(tmp.c_str());
    return error;
  }
  if (exclusive ? ::link(tmp.c_str(), path.c_str()) != 0
                : ::rename(tmp.c_str(), path.c_str()) != 0) {
    Error error = IoError("cannot create", path);
    ::unlink(tmp.c_str());
    return error;
  }
  if (exclusive) {
    ::unlink(tmp.c_str());
  }
  return OkStatus();
}

}  // namespace eml::apps
