#include "model/stores/file_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>
#include <vector>

namespace eml::model::stores {
namespace {

namespace fs = std::filesystem;

constexpr size_t kCopyBlockBytes = size_t{1} << 20;
constexpr size_t kMaxSignatureFileBytes = 256;

Error IoError(const std::string& what, const fs::path& path) {
  return Error{ErrorCode::kIoError, what + " " + path.string() + ": " + std::strerror(errno)};
}

// ReadAt reads exactly out.size() bytes at `offset`, or fails.
Status ReadAt(int fd, uint64_t offset, std::span<uint8_t> out, const fs::path& path) {
  size_t done = 0;
  while (done < out.size()) {
    const std::span<uint8_t> rest = out.subspan(done);
    const ssize_t n = ::pread(fd, rest.data(), rest.size(), static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return n == 0 ? Error{ErrorCode::kStoreBadRange, path.string() + " ended early"}
                    : IoError("cannot read", path);
    }
    done += static_cast<size_t>(n);
  }
  return OkStatus();
}

// CopyExact copies `from` to a new file `to`, which must end up `size` bytes long.
Status CopyExact(const fs::path& from, const fs::path& to, uint64_t size) {
  const int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) {
    if (errno == ENOENT) {
      return Error{ErrorCode::kPackageFileMissing, from.string() + " is missing"};
    }
    return IoError("cannot open", from);
  }
  struct stat st {};
  if (::fstat(in, &st) != 0 || !S_ISREG(st.st_mode) || static_cast<uint64_t>(st.st_size) != size) {
    ::close(in);
    return Error{ErrorCode::kPackageSizeMismatch, from.string() + " does not have the listed size"};
  }
  std::error_code ec;
  fs::create_directories(to.parent_path(), ec);
  const int out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (out < 0) {
    ::close(in);
    return IoError("cannot create", to);
  }
  std::vector<uint8_t> block(kCopyBlockBytes);
  uint64_t offset = 0;
  Status status;
  while (status.has_value() && offset < size) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(block.size(), size - offset));
    status = ReadAt(in, offset, std::span<uint8_t>(block).first(n), from);
    size_t written = 0;
    while (status.has_value() && written < n) {
      const std::span<const uint8_t> rest =
          std::span<const uint8_t>(block).subspan(written, n - written);
      const ssize_t w = ::write(out, rest.data(), rest.size());
      if (w < 0 && errno == EINTR) {
        continue;
      }
      if (w <= 0) {
        status = IoError("cannot write", to);
        break;
      }
      written += static_cast<size_t>(w);
    }
    offset += n;
  }
  if (status.has_value() && ::fsync(out) != 0) {
    status = IoError("cannot write", to);
  }
  ::close(in);
  ::close(out);
  return status;
}

}  // namespace

Result<std::unique_ptr<ModelStore>> FileStore::Open(const fs::path& root) {
  if (root.empty() || !root.is_absolute()) {
    return Error{ErrorCode::kStoreBadUrl, "file:// store path must be absolute: file:///dir"};
  }
  std::error_code ec;
  if (!fs::is_directory(root, ec)) {
    return Error{ErrorCode::kNotFound, root.string() + " is not a directory"};
  }
  return std::unique_ptr<ModelStore>(new FileStore(root));
}

Result<fs::path> FileStore::PathOf(std::string_view model_id, std::string_view version,
                                   std::string_view name) const {
  EML_RETURN_IF_ERROR(ValidateId("model_id", std::string(model_id)));
  EML_RETURN_IF_ERROR(ValidateId("version", std::string(version)));
  const std::string n(name);
  if (n != kManifestFileName && n != kSignatureFileName) {
    EML_RETURN_IF_ERROR(ValidateFileName("name", n));
  }
  return root_ / std::string(model_id) / std::string(version) / n;
}

Status FileStore::Publish(const fs::path& package_dir) {
  const fs::path manifest_path = package_dir / std::string(kManifestFileName);
  std::error_code size_ec;
  const uint64_t manifest_size = fs::file_size(manifest_path, size_ec);
  if (size_ec) {
    return Error{ErrorCode::kPackageFileMissing, manifest_path.string() + " is missing"};
  }
  if (manifest_size > kDefaultMaxManifestBytes) {
    return Error{ErrorCode::kManifestTooLarge, manifest_path.string() + " is too large"};
  }
  std::vector<uint8_t> json(static_cast<size_t>(manifest_size));
  {
    const int fd = ::open(manifest_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      return IoError("cannot open", manifest_path);
    }
    Status read = ReadAt(fd, 0, json, manifest_path);
    ::close(fd);
    EML_RETURN_IF_ERROR(read);
  }
  EML_ASSIGN_OR_RETURN(Manifest m, ParseManifest(json));
  const fs::path model_dir = root_ / m.model_id;
  const fs::path final_dir = model_dir / m.version;
  std::error_code ec;
  if (fs::exists(final_dir, ec)) {
    return Error{ErrorCode::kStoreVersionExists,
                 m.model_id + " " + m.version + " is already published (versions are immutable)"};
  }
  const fs::path incoming =
      model_dir / (".incoming-" + m.version + "-" + std::to_string(::getpid()));
  fs::remove_all(incoming, ec);
  fs::create_directories(incoming, ec);
  if (ec) {
    return Error{ErrorCode::kIoError, "cannot create " + incoming.string() + ": " + ec.message()};
  }
  Status status =
      CopyExact(manifest_path, incoming / std::string(kManifestFileName), manifest_size);
  if (status.has_value()) {
    const fs::path sig = package_dir / std::string(kSignatureFileName);
    const uint64_t sig_size = fs::file_size(sig, ec);
    status = ec || sig_size > kMaxSignatureFileBytes
                 ? Status(Error{ErrorCode::kPackageFileMissing, sig.string() + " is missing"})
                 : CopyExact(sig, incoming / std::string(kSignatureFileName), sig_size);
  }
  for (const ManifestFile& f : m.files) {
    if (!status.has_value()) {
      break;
    }
    const uint64_t size = f.encryption.has_value() ? f.encryption->encrypted_size : f.size;
    status = CopyExact(package_dir / StoredPath(f), incoming / StoredPath(f), size);
  }
  // rename() of a directory fails if the target exists and is not empty: a concurrent publish of
  // the same version loses cleanly.
  if (status.has_value() && ::rename(incoming.c_str(), final_dir.c_str()) != 0) {
    status = errno == ENOTEMPTY || errno == EEXIST
                 ? Status(Error{ErrorCode::kStoreVersionExists, final_dir.string() + " exists"})
                 : Status(IoError("cannot rename to", final_dir));
  }
  if (!status.has_value()) {
    fs::remove_all(incoming, ec);
  }
  return status;
}

Result<uint64_t> FileStore::Size(std::string_view model_id, std::string_view version,
                                 std::string_view name) {
  EML_ASSIGN_OR_RETURN(fs::path path, PathOf(model_id, version, name));
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return Error{ErrorCode::kStoreNotFound, std::string(model_id) + "/" + std::string(version) +
                                                "/" + std::string(name) + " is not in the store"};
  }
  return static_cast<uint64_t>(st.st_size);
}

Result<std::vector<uint8_t>> FileStore::Fetch(std::string_view model_id, std::string_view version,
                                              std::string_view name, size_t max_bytes) {
  EML_ASSIGN_OR_RETURN(uint64_t size, Size(model_id, version, name));
  if (size > max_bytes) {
    return Error{ErrorCode::kLimitExceeded, std::string(name) + " is larger than the cap"};
  }
  return ReadRange(model_id, version, name, 0, static_cast<size_t>(size));
}

Result<std::vector<uint8_t>> FileStore::ReadRange(std::string_view model_id,
                                                  std::string_view version, std::string_view name,
                                                  uint64_t offset, size_t length) {
  EML_ASSIGN_OR_RETURN(uint64_t size, Size(model_id, version, name));
  if (offset > size || length > size - offset) {
    return Error{ErrorCode::kStoreBadRange, "range outside " + std::string(name)};
  }
  EML_ASSIGN_OR_RETURN(fs::path path, PathOf(model_id, version, name));
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return IoError("cannot open", path);
  }
  std::vector<uint8_t> out(length);
  Status read = ReadAt(fd, offset, out, path);
  ::close(fd);
  EML_RETURN_IF_ERROR(read);
  return out;
}

}  // namespace eml::model::stores
