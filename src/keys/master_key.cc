#include "keys/master_key.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "common/encoding.h"
#include "crypto/random.h"

namespace eml::keys {
namespace {

Error BadKey(const std::string& detail) { return Error{ErrorCode::kBrokerBadMasterKey, detail}; }

// DecodeHexKey decodes exactly 64 hex digits straight into a SecretBytes (no other copy).
Result<SecretBytes> DecodeHexKey(std::span<const uint8_t> hex, const std::string& what) {
  if (hex.size() != 2 * kMasterKeySize) {
    return BadKey(what + " must be 64 hex digits (32 bytes)");
  }
  SecretBytes key(kMasterKeySize);
  std::span<uint8_t> out = key.MutableReveal(InsecureSecretAccess::Get());
  for (size_t i = 0; i < kMasterKeySize; ++i) {
    const int hi = HexDigitValue(static_cast<char>(hex[2 * i]));
    const int lo = HexDigitValue(static_cast<char>(hex[2 * i + 1]));
    if (hi < 0 || lo < 0) {
      return BadKey(what + " is not hexadecimal");
    }
    out[i] = static_cast<uint8_t>(hi * 16 + lo);
  }
  return key;
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

std::string ModeText(mode_t mode) {
  std::array<char, 8> text{};
  std::snprintf(text.data(), text.size(), "%04o", static_cast<unsigned>(mode & 07777));
  return text.data();
}

}  // namespace

Result<SecretBytes> LoadMasterKey(const std::filesystem::path& path) {
  const std::string name = path.string();
  Fd fd(::open(name.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
  if (fd.get() < 0) {
    if (errno == ENOENT) {
      return BadKey("master key file " + name +
                    " does not exist (create one with `ephemeralml keys init-master-key`)");
    }
    return Error{ErrorCode::kIoError,
                 "cannot open master key file " + name + ": " + std::strerror(errno)};
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    return Error{ErrorCode::kIoError, "cannot stat master key file " + name};
  }
  if (!S_ISREG(st.st_mode)) {
    return BadKey("master key file " + name + " is not a regular file");
  }
  if ((st.st_mode & 077) != 0) {
    return BadKey("master key file " + name + " has mode " + ModeText(st.st_mode) +
                  ", readable or writable by group or others: run `chmod 600 " + name + "`");
  }
  // Read at most one byte more than the longest accepted form, straight into secret memory.
  constexpr size_t kMaxFileBytes = 2 * kMasterKeySize + 1;
  SecretBytes buffer(kMaxFileBytes + 1);
  std::span<uint8_t> raw = buffer.MutableReveal(InsecureSecretAccess::Get());
  size_t size = 0;
  while (size < raw.size()) {
    const ssize_t got = ::read(fd.get(), raw.data() + size, raw.size() - size);
    if (got < 0 && errno == EINTR) {
      continue;
    }
    if (got < 0) {
      return Error{ErrorCode::kIoError, "cannot read master key file " + name};
    }
    if (got == 0) {
      break;
    }
    size += static_cast<size_t>(got);
  }
  std::span<const uint8_t> content = raw.first(size);
  if (size == kMasterKeySize) {
    return SecretBytes::CopyFrom(content);
  }
  if (size == kMaxFileBytes && content.back() == '\n') {
    content = content.first(size - 1);
  }
  if (content.size() != 2 * kMasterKeySize) {
    return BadKey("master key file " + name + " holds " + std::to_string(size) +
                  " bytes: it must hold 32 raw bytes or 64 hex digits");
  }
  return DecodeHexKey(content, "master key file " + name);
}

Result<SecretBytes> MasterKeyFromHex(std::string_view hex) {
  return DecodeHexKey(AsBytes(hex), "the master key");
}

Result<std::optional<SecretBytes>> LoadMasterKeyFromEnvironment() {
  const char* value = std::getenv(kMasterKeyEnv);
  if (value == nullptr) {
    return std::optional<SecretBytes>();
  }
  EML_ASSIGN_OR_RETURN(SecretBytes key,
                       DecodeHexKey(AsBytes(std::string_view(value)), kMasterKeyEnv));
  return std::optional<SecretBytes>(std::move(key));
}

Status CreateMasterKeyFile(const std::filesystem::path& path) {
  const std::string name = path.string();
  std::error_code ec;
  if (std::filesystem::symlink_status(path, ec).type() != std::filesystem::file_type::not_found) {
    return BadKey("master key file " + name + " already exists; refusing to replace it");
  }
  EML_ASSIGN_OR_RETURN(SecretBytes key, crypto::RandomSecret(kMasterKeySize));
  SecretBytes text(2 * kMasterKeySize + 1);
  {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::span<const uint8_t> k = key.Reveal(InsecureSecretAccess::Get());
    std::span<uint8_t> t = text.MutableReveal(InsecureSecretAccess::Get());
    for (size_t i = 0; i < k.size(); ++i) {
      t[2 * i] = static_cast<uint8_t>(kDigits[k[i] >> 4]);
      t[2 * i + 1] = static_cast<uint8_t>(kDigits[k[i] & 0x0F]);
    }
    t.back() = '\n';
  }
  // Write a temporary file beside the target, then link it into place: link() never replaces
  // an existing file, and the target never exists half written.
  const std::string tmp = name + ".tmp." + std::to_string(::getpid());
  ::unlink(tmp.c_str());
  {
    Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (fd.get() < 0) {
      return Error{ErrorCode::kIoError, "cannot create " + tmp + ": " + std::strerror(errno)};
    }
    std::span<const uint8_t> t = text.Reveal(InsecureSecretAccess::Get());
    size_t done = 0;
    while (done < t.size()) {
      const ssize_t wrote = ::write(fd.get(), t.data() + done, t.size() - done);
      if (wrote < 0 && errno == EINTR) {
        continue;
      }
      if (wrote <= 0) {
        ::unlink(tmp.c_str());
        return Error{ErrorCode::kIoError, "cannot write " + tmp};
      }
      done += static_cast<size_t>(wrote);
    }
    if (::fchmod(fd.get(), 0600) != 0 || ::fsync(fd.get()) != 0) {
      ::unlink(tmp.c_str());
      return Error{ErrorCode::kIoError, "cannot sync " + tmp};
    }
  }
  const int linked = ::link(tmp.c_str(), name.c_str());
  const int link_errno = errno;
  ::unlink(tmp.c_str());
  if (linked != 0) {
    if (link_errno == EEXIST) {
      return BadKey("master key file " + name + " already exists; refusing to replace it");
    }
    return Error{ErrorCode::kIoError, "cannot create " + name + ": " + std::strerror(link_errno)};
  }
  const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : ".";
  Fd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir_fd.get() >= 0) {
    (void)::fsync(dir_fd.get());
  }
  return {};
}

}  // namespace eml::keys
