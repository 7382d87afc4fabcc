#include "model/package.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <system_error>
#include <utility>
#include <vector>

#include "common/encoding.h"
#include "crypto/hash.h"
#include "crypto/random.h"

namespace eml::model {
namespace {

namespace fs = std::filesystem;

constexpr size_t kCopyBlockBytes = size_t{1} << 20;
constexpr size_t kMaxConfigJsonBytes = size_t{1} << 20;

Error IoError(const std::string& what, const fs::path& path) {
  return Error{ErrorCode::kIoError, what + " " + path.string() + ": " + std::strerror(errno)};
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string_view BaseName(std::string_view name) {
  const size_t slash = name.rfind('/');
  return slash == std::string_view::npos ? name : name.substr(slash + 1);
}

// A file descriptor closed on scope exit.
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
  Status Close(const fs::path& path) {
    const int fd = std::exchange(fd_, -1);
    if (::fsync(fd) != 0 || ::close(fd) != 0) {
      return IoError("cannot write", path);
    }
    return OkStatus();
  }

 private:
  int fd_;
};

Result<std::unique_ptr<Fd>> OpenRead(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) {
      return Error{ErrorCode::kNotFound, path.string() + " does not exist"};
    }
    return IoError("cannot open", path);
  }
  return std::make_unique<Fd>(fd);
}

Result<std::unique_ptr<Fd>> CreateWrite(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    return IoError("cannot create", path);
  }
  return std::make_unique<Fd>(fd);
}

// HashingSource: reads from another source, hashing and counting what passes; stops after
// `limit` bytes so a file that grew is never read past the size the caller expects.
class HashingSource final : public crypto::StreamSource {
 public:
  HashingSource(crypto::StreamSource& inner, uint64_t limit, std::function<void(uint64_t)> tick)
      : inner_(inner), limit_(limit), tick_(std::move(tick)) {}
  Result<size_t> Read(std::span<uint8_t> out) override {
    const uint64_t left = limit_ - count_;
    const std::span<uint8_t> want =
        out.first(static_cast<size_t>(std::min<uint64_t>(left, out.size())));
    EML_ASSIGN_OR_RETURN(size_t n, inner_.Read(want));
    hasher_.Update(std::span<const uint8_t>(want).first(n));
    if (extra_ != nullptr) {
      extra_->Update(std::span<const uint8_t>(want).first(n));
    }
    count_ += n;
    if (tick_) {
      tick_(count_);
    }
    return n;
  }
  void AlsoHashInto(crypto::Sha256Hasher* extra) { extra_ = extra; }
  uint64_t count() const { return count_; }
  Sha256Digest Finish() { return hasher_.Finish(); }

 private:
  crypto::StreamSource& inner_;
  uint64_t limit_;
  std::function<void(uint64_t)> tick_;
  crypto::Sha256Hasher hasher_;
  crypto::Sha256Hasher* extra_ = nullptr;
  uint64_t count_ = 0;
};

// HashingSink: hashes and counts, then forwards (or drops, without an inner sink).
class HashingSink final : public crypto::StreamSink {
 public:
  explicit HashingSink(crypto::StreamSink* inner) : inner_(inner) {}
  Status Write(std::span<const uint8_t> bytes) override {
    hasher_.Update(bytes);
    if (extra_ != nullptr) {
      extra_->Update(bytes);
    }
    count_ += bytes.size();
    return inner_ != nullptr ? inner_->Write(bytes) : OkStatus();
  }
  void AlsoHashInto(crypto::Sha256Hasher* extra) { extra_ = extra; }
  uint64_t count() const { return count_; }
  Sha256Digest Finish() { return hasher_.Finish(); }

 private:
  crypto::StreamSink* inner_;
  crypto::Sha256Hasher hasher_;
  crypto::Sha256Hasher* extra_ = nullptr;
  uint64_t count_ = 0;
};

// Copy moves all of `source` to `sink` in 1 MiB blocks.
Status Copy(crypto::StreamSource& source, crypto::StreamSink& sink) {
  std::vector<uint8_t> block(kCopyBlockBytes);
  while (true) {
    EML_ASSIGN_OR_RETURN(size_t n, source.Read(block));
    if (n == 0) {
      return OkStatus();
    }
    EML_RETURN_IF_ERROR(sink.Write(std::span<const uint8_t>(block).first(n)));
  }
}

// ---- Pack.

struct InputFile {
  std::string name;
  fs::path path;
  uint64_t size = 0;
};

Result<std::vector<InputFile>> ListModelDir(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return Error{ErrorCode::kPackageBadModelDir, dir.string() + " is not a directory"};
  }
  std::vector<InputFile> files;
  fs::recursive_directory_iterator it(dir, fs::directory_options::follow_directory_symlink, ec);
  if (ec) {
    return Error{ErrorCode::kIoError, "cannot list " + dir.string() + ": " + ec.message()};
  }
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) {
      return Error{ErrorCode::kIoError, "cannot list " + dir.string() + ": " + ec.message()};
    }
    const fs::path& path = it->path();
    if (path.filename().string().front() == '.') {
      if (it->is_directory(ec)) {
        it.disable_recursion_pending();
      }
      continue;
    }
    if (it->is_directory(ec)) {
      continue;
    }
    if (!it->is_regular_file(ec)) {
      return Error{ErrorCode::kPackageBadModelDir, path.string() + " is not a regular file"};
    }
    InputFile f;
    // Lexically: fs::relative would resolve a symlinked file (the Hugging Face cache's
    // snapshots/<rev>/config.json -> ../../blobs/<hash>) to its target's path.
    f.name = path.lexically_relative(dir).generic_string();
    f.path = path;
    f.size = it->file_size(ec);
    if (ec) {
      return Error{ErrorCode::kIoError, "cannot stat " + path.string() + ": " + ec.message()};
    }
    files.push_back(std::move(f));
  }
  std::sort(files.begin(), files.end(),
            [](const InputFile& a, const InputFile& b) { return a.name < b.name; });
  return files;
}

std::string PrimaryFormat(const std::vector<InputFile>& files) {
  for (const char* format : {"safetensors", "gguf"}) {
    for (const InputFile& f : files) {
      if (EndsWith(f.name, std::string(".") + format)) {
        return format;
      }
    }
  }
  return "";
}

Result<std::string> ArchitectureFrom(const fs::path& dir) {
  std::ifstream in(dir / "config.json", std::ios::binary);
  if (!in) {
    return Error{ErrorCode::kPackageBadModelDir,
                 "no config.json to take the architecture from (pass --architecture)"};
  }
  std::string text(kMaxConfigJsonBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (text.size() > kMaxConfigJsonBytes || j.is_discarded() || !j.is_object() ||
      !j.contains("model_type") || !j["model_type"].is_string()) {
    return Error{ErrorCode::kPackageBadModelDir,
                 "config.json has no string model_type (pass --architecture)"};
  }
  return j["model_type"].get<std::string>();
}

std::string UtcTimestamp(int64_t unix_s) {
  const auto t = static_cast<std::time_t>(unix_s);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

struct PackState {
  const PackOptions& options;
  uint64_t total_size = 0;
  uint64_t total_before = 0;  // bytes of earlier files
};

Status PackOneFile(const InputFile& in, const fs::path& tmp_dir, const SecretBytes& dek,
                   bool encrypt, PackState& state, crypto::Sha256Hasher* concat,
                   ManifestFile* out) {
  EML_ASSIGN_OR_RETURN(std::unique_ptr<Fd> src, OpenRead(in.path));
  const fs::path target =
      tmp_dir / (encrypt ? out->name + std::string(kEncryptedSuffix) : out->name);
  std::error_code ec;
  fs::create_directories(target.parent_path(), ec);
  if (ec) {
    return Error{ErrorCode::kIoError, "cannot create " + target.parent_path().string()};
  }
  EML_ASSIGN_OR_RETURN(std::unique_ptr<Fd> dst, CreateWrite(target));
  crypto::FdSource fd_source(src->get());
  crypto::FdSink fd_sink(dst->get());
  auto tick = [&](uint64_t done) {
    if (state.options.progress) {
      state.options.progress(
          PackageProgress{in.name, done, in.size, state.total_before + done, state.total_size});
    }
  };
  HashingSource source(fd_source, in.size, tick);
  source.AlsoHashInto(concat);
  HashingSink sink(&fd_sink);
  if (encrypt) {
    crypto::EncryptOptions eo;
    eo.segment_size = state.options.segment_size;
    EML_ASSIGN_OR_RETURN(crypto::StreamHeader header, crypto::StreamEncrypt(dek, source, sink, eo));
    FileEncryption e;
    e.segment_size = header.segment_size;
    e.file_id = header.file_id;
    e.encrypted_size = sink.count();
    e.encrypted_sha256 = sink.Finish();
    out->encryption = e;
  } else {
    EML_RETURN_IF_ERROR(Copy(source, sink));
  }
  EML_RETURN_IF_ERROR(dst->Close(target));
  if (source.count() != in.size) {
    return Error{ErrorCode::kIoError, in.path.string() + " changed size while being packed"};
  }
  out->size = source.count();
  out->sha256 = source.Finish();
  state.total_before += in.size;
  return OkStatus();
}

// PackExtraFiles writes the packer-made files and lists them, keeping the files in name order.
Status PackExtraFiles(const std::vector<PackedExtraFile>& extras, const fs::path& tmp_dir,
                      Manifest* m) {
  for (const PackedExtraFile& extra : extras) {
    Status name_ok = ValidateFileName("extra file", extra.name);
    if (!name_ok.has_value()) {
      return Error{ErrorCode::kPackageBadModelDir, name_ok.error().detail};
    }
    for (const ManifestFile& f : m->files) {
      if (f.name == extra.name || StoredPath(f) == extra.name) {
        return Error{ErrorCode::kPackageBadModelDir,
                     "the model directory already holds " + extra.name};
      }
    }
    const fs::path path = tmp_dir / extra.name;
    std::error_code ec;
    fs::create_directories(path.parent_path(), ec);
    if (ec) {
      return Error{ErrorCode::kIoError, "cannot create " + path.parent_path().string()};
    }
    EML_ASSIGN_OR_RETURN(std::unique_ptr<Fd> fd, CreateWrite(path));
    crypto::FdSink sink(fd->get());
    EML_RETURN_IF_ERROR(sink.Write(extra.bytes));
    EML_RETURN_IF_ERROR(fd->Close(path));
    ManifestFile f;
    f.name = extra.name;
    f.role = extra.role;
    f.size = extra.bytes.size();
    f.sha256 = crypto::Sha256(extra.bytes);
    m->files.push_back(std::move(f));
  }
  std::sort(m->files.begin(), m->files.end(),
            [](const ManifestFile& a, const ManifestFile& b) { return a.name < b.name; });
  return OkStatus();
}

Result<Manifest> PackInto(const fs::path& model_dir, const fs::path& tmp_dir,
                          const SecretBytes& dek, const crypto::Ed25519PrivateKey& signer,
                          const PackOptions& options) {
  if (dek.size() != crypto::kStreamKeySize) {
    return Error{ErrorCode::kCryptoBadKeyLength, "the data key must be 32 bytes"};
  }
  EML_ASSIGN_OR_RETURN(std::vector<InputFile> inputs, ListModelDir(model_dir));
  Manifest m;
  m.model_id = options.model_id;
  m.version = options.version;
  m.format = PrimaryFormat(inputs);
  if (m.format.empty()) {
    return Error{ErrorCode::kPackageBadModelDir,
                 model_dir.string() + " has no .safetensors or .gguf weights"};
  }
  if (options.architecture.empty()) {
    EML_ASSIGN_OR_RETURN(m.architecture, ArchitectureFrom(model_dir));
  } else {
    m.architecture = options.architecture;
  }
  if (options.key_id.empty()) {
    std::array<uint8_t, 16> id{};
    EML_RETURN_IF_ERROR(crypto::RandomBytes(id));
    m.key_id = "dek-" + HexEncode(id);
  } else {
    m.key_id = options.key_id;
  }
  m.created_at = UtcTimestamp(options.created_at_unix.value_or(std::time(nullptr)));
  EML_RETURN_IF_ERROR(ValidateId("model_id", m.model_id));
  EML_RETURN_IF_ERROR(ValidateId("version", m.version));
  // Placeholders so the ids and names are checked before any byte is written.
  m.signer_key_id = SignerKeyId(signer.public_key());
  m.model_hash_scheme = "sha256-concat";
  PackState state{options};
  size_t weights = 0;
  for (const InputFile& in : inputs) {
    state.total_size += in.size;
    ManifestFile f;
    f.name = in.name;
    f.role = FileRoleFor(in.name, m.format);
    weights += f.role == kRoleWeights ? size_t{1} : size_t{0};
    m.files.push_back(std::move(f));
  }
  crypto::Sha256Hasher concat;
  for (size_t i = 0; i < inputs.size(); ++i) {
    ManifestFile& f = m.files[i];
    Status name_ok = ValidateFileName("file", f.name);
    if (!name_ok.has_value()) {
      return Error{ErrorCode::kPackageBadModelDir, name_ok.error().detail};
    }
    const bool encrypt = options.encrypt_all || IsSecretByDefault(f.name, f.role);
    EML_RETURN_IF_ERROR(PackOneFile(inputs[i], tmp_dir, dek, encrypt, state,
                                    f.role == kRoleWeights ? &concat : nullptr, &f));
    if (f.role == kRoleWeights && weights == 1) {
      m.model_hash = f.sha256;
    }
  }
  if (weights == 1) {
    m.model_hash_scheme = "sha256-single";
  } else {
    m.model_hash = concat.Finish();
  }
  EML_RETURN_IF_ERROR(PackExtraFiles(options.extra_files, tmp_dir, &m));
  EML_ASSIGN_OR_RETURN(SignedManifest signed_manifest, SignManifest(m, signer));
  for (const auto& [name, bytes] :
       {std::pair{kManifestFileName, signed_manifest.manifest_json},
        std::pair{kSignatureFileName, SignatureFileBytes(signed_manifest.signature)}}) {
    const fs::path path = tmp_dir / std::string(name);
    EML_ASSIGN_OR_RETURN(std::unique_ptr<Fd> fd, CreateWrite(path));
    crypto::FdSink sink(fd->get());
    EML_RETURN_IF_ERROR(sink.Write(bytes));
    EML_RETURN_IF_ERROR(fd->Close(path));
  }
  m.signer_key_id = SignerKeyId(signer.public_key());
  return m;
}

Result<std::vector<uint8_t>> ReadSmallFile(const fs::path& path, size_t max_bytes) {
  EML_ASSIGN_OR_RETURN(std::unique_ptr<Fd> fd, OpenRead(path));
  std::vector<uint8_t> bytes(max_bytes + 1);
  crypto::FdSource source(fd->get());
  EML_ASSIGN_OR_RETURN(size_t n, source.Read(bytes));
  if (n > max_bytes) {
    return Error{ErrorCode::kManifestTooLarge, path.string() + " is larger than the limit"};
  }
  bytes.resize(n);
  return bytes;
}

// ---- Verify.

Result<uint64_t> FileSize(const fs::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) {
      return Error{ErrorCode::kPackageFileMissing, path.filename().string() + " is missing"};
    }
    return IoError("cannot stat", path);
  }
  if (!S_ISREG(st.st_mode)) {
    return Error{ErrorCode::kPackageFileMissing, path.string() + " is not a regular file"};
  }
  return static_cast<uint64_t>(st.st_size);
}

Status CheckListedFilesOnly(const fs::path& dir, const Manifest& m) {
  std::set<std::string> allowed = {std::string(kManifestFileName), std::string(kSignatureFileName)};
  for (const ManifestFile& f : m.files) {
    allowed.insert(StoredPath(f));
  }
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_directory(ec)) {
      continue;
    }
    const std::string name = it->path().lexically_relative(dir).generic_string();
    if (allowed.count(name) == 0) {
      return Error{ErrorCode::kPackageUnlistedFile, name + " is not listed in the manifest"};
    }
  }
  if (ec) {
    return Error{ErrorCode::kIoError, "cannot list " + dir.string() + ": " + ec.message()};
  }
  return OkStatus();
}

Error Mismatch(ErrorCode code, const std::string& name, const char* what) {
  return Error{code, name + ": " + what + " differs from the manifest"};
}

struct VerifyState {
  const VerifyOptions& options;
  uint64_t total_size = 0;
  uint64_t total_before = 0;
};

Status VerifyOneFile(const fs::path& dir, const ManifestFile& f, VerifyState& state,
                     crypto::Sha256Hasher* concat, bool* decrypted) {
  const fs::path path = dir / StoredPath(f);
  EML_ASSIGN_OR_RETURN(uint64_t on_disk, FileSize(path));
  const bool decrypt = f.encryption.has_value() && state.options.dek != nullptr;
  const uint64_t expected_stored = f.encryption.has_value() ? f.encryption->encrypted_size : f.size;
  auto tick = [&](uint64_t done) {
    if (state.options.progress) {
      state.options.progress(PackageProgress{f.name, done, expected_stored,
                                             state.total_before + done, state.total_size});
    }
  };
  if (!decrypt && on_disk != expected_stored) {
    return Mismatch(ErrorCode::kPackageSizeMismatch, StoredPath(f), "size");
  }
  EML_ASSIGN_OR_RETURN(std::unique_ptr<Fd> fd, OpenRead(path));
  crypto::FdSource fd_source(fd->get());
  // One byte past the expected size is read so an extension is seen (trailing data).
  HashingSource stored(fd_source, expected_stored + 1, tick);
  HashingSink plain(nullptr);
  if (decrypt) {
    crypto::DecryptOptions options;
    options.expected_plaintext_size = f.size;
    options.expected_file_id = f.encryption->file_id;
    options.max_segment_size = crypto::kAbsoluteMaxSegmentSize;
    plain.AlsoHashInto(concat);
    EML_RETURN_IF_ERROR(crypto::StreamDecrypt(*state.options.dek, stored, plain, options));
    *decrypted = true;
  } else {
    if (f.encryption.has_value() || concat == nullptr) {
      concat = nullptr;
    }
    stored.AlsoHashInto(concat);
    EML_RETURN_IF_ERROR(Copy(stored, plain));
  }
  if (stored.count() != expected_stored || on_disk != expected_stored) {
    return Mismatch(ErrorCode::kPackageSizeMismatch, StoredPath(f), "size");
  }
  if (decrypt && (plain.count() != f.size || plain.Finish() != f.sha256)) {
    return Mismatch(ErrorCode::kPackageHashMismatch, f.name, "plaintext SHA-256");
  }
  const Sha256Digest stored_hash = stored.Finish();
  if (stored_hash != (f.encryption.has_value() ? f.encryption->encrypted_sha256 : f.sha256)) {
    return Mismatch(ErrorCode::kPackageHashMismatch, StoredPath(f), "SHA-256");
  }
  state.total_before += expected_stored;
  return OkStatus();
}

}  // namespace

std::string FileRoleFor(std::string_view name, std::string_view format) {
  const std::string_view base = BaseName(name);
  if (EndsWith(base, std::string(".") + std::string(format))) {
    return std::string(kRoleWeights);
  }
  for (std::string_view t : {"tokenizer.json", "tokenizer_config.json", "vocab.txt", "vocab.json",
                             "merges.txt", "special_tokens_map.json", "added_tokens.json",
                             "tokenizer.model", "spiece.model", "sentencepiece.bpe.model"}) {
    if (base == t) {
      return std::string(kRoleTokenizer);
    }
  }
  if (EndsWith(base, ".json")) {
    return std::string(kRoleConfig);
  }
  return std::string(kRoleOther);
}

bool IsSecretByDefault(std::string_view name, std::string_view role) {
  if (role == kRoleWeights) {
    return true;
  }
  for (std::string_view ext : {".safetensors", ".gguf", ".onnx", ".bin", ".pt", ".pth", ".ckpt",
                               ".h5", ".msgpack", ".ot", ".tflite", ".mlmodel", ".npz"}) {
    if (EndsWith(name, ext)) {
      return true;
    }
  }
  return false;
}

Result<Manifest> PackModel(const fs::path& model_dir, const fs::path& out_dir,
                           const SecretBytes& dek, const crypto::Ed25519PrivateKey& signer,
                           const PackOptions& options) {
  std::error_code ec;
  if (fs::exists(out_dir, ec)) {
    return Error{ErrorCode::kPackageOutputExists, out_dir.string() + " already exists"};
  }
  const fs::path tmp = out_dir.string() + ".tmp-" + std::to_string(::getpid());
  fs::remove_all(tmp, ec);
  if (!fs::create_directories(tmp, ec)) {
    return Error{ErrorCode::kIoError, "cannot create " + tmp.string() + ": " + ec.message()};
  }
  Result<Manifest> m = PackInto(model_dir, tmp, dek, signer, options);
  if (m.has_value() && ::rename(tmp.c_str(), out_dir.c_str()) != 0) {
    m = IoError("cannot rename to", out_dir);
  }
  if (!m.has_value()) {
    fs::remove_all(tmp, ec);
  }
  return m;
}

Result<VerifiedManifest> LoadVerifiedManifest(const fs::path& package_dir,
                                              const crypto::Ed25519PublicKey& signer) {
  EML_ASSIGN_OR_RETURN(
      std::vector<uint8_t> json,
      ReadSmallFile(package_dir / std::string(kManifestFileName), kDefaultMaxManifestBytes));
  EML_ASSIGN_OR_RETURN(std::vector<uint8_t> sig_text,
                       ReadSmallFile(package_dir / std::string(kSignatureFileName), 256));
  EML_ASSIGN_OR_RETURN(auto signature, ParseSignatureFile(sig_text));
  return VerifiedManifest::Verify(json, signature, signer);
}

Result<PackageReport> VerifyPackage(const fs::path& package_dir,
                                    const crypto::Ed25519PublicKey& signer,
                                    const VerifyOptions& options) {
  EML_ASSIGN_OR_RETURN(VerifiedManifest verified, LoadVerifiedManifest(package_dir, signer));
  const Manifest& m = verified.manifest();
  EML_RETURN_IF_ERROR(CheckListedFilesOnly(package_dir, m));
  VerifyState state{options};
  for (const ManifestFile& f : m.files) {
    state.total_size += f.encryption.has_value() ? f.encryption->encrypted_size : f.size;
  }
  PackageReport report;
  crypto::Sha256Hasher concat;
  bool concat_complete = true;
  for (const ManifestFile& f : m.files) {
    bool decrypted = false;
    const bool weights = f.role == kRoleWeights;
    EML_RETURN_IF_ERROR(
        VerifyOneFile(package_dir, f, state, weights ? &concat : nullptr, &decrypted));
    if (weights && f.encryption.has_value() && !decrypted) {
      concat_complete = false;
    }
    ++report.files_checked;
    report.files_decrypted += decrypted ? 1 : 0;
    report.bytes_checked += f.size;
  }
  if (m.model_hash_scheme == "sha256-concat" && concat_complete &&
      concat.Finish() != m.model_hash) {
    return Error{ErrorCode::kPackageHashMismatch, "model_hash differs from the weights files"};
  }
  return report;
}

Result<SecretBytes> ReadPackageFile(const fs::path& package_dir, const VerifiedManifest& manifest,
                                    std::string_view name, const SecretBytes* dek) {
  const ManifestFile* f = manifest.Find(name);
  if (f == nullptr) {
    return Error{ErrorCode::kNotFound, std::string(name) + " is not in the manifest"};
  }
  if (f->encryption.has_value() && dek == nullptr) {
    return Error{ErrorCode::kInvalidArgument, std::string(name) + " is encrypted: a DEK is needed"};
  }
  const fs::path path = package_dir / StoredPath(*f);
  EML_ASSIGN_OR_RETURN(uint64_t on_disk, FileSize(path));
  EML_ASSIGN_OR_RETURN(std::unique_ptr<Fd> fd, OpenRead(path));
  crypto::FdSource source(fd->get());
  SecretBytes out(static_cast<size_t>(f->size));
  const std::span<uint8_t> buffer = out.MutableReveal(InsecureSecretAccess::Get());
  if (f->encryption.has_value()) {
    crypto::DecryptOptions options;
    options.expected_file_id = f->encryption->file_id;
    options.max_segment_size = crypto::kAbsoluteMaxSegmentSize;
    EML_RETURN_IF_ERROR(crypto::StreamDecryptToBuffer(*dek, source, buffer, options));
  } else {
    if (on_disk != f->size) {
      return Mismatch(ErrorCode::kPackageSizeMismatch, f->name, "size");
    }
    EML_ASSIGN_OR_RETURN(size_t n, source.Read(buffer));
    if (n != f->size) {
      return Mismatch(ErrorCode::kPackageSizeMismatch, f->name, "size");
    }
  }
  if (crypto::Sha256(buffer) != f->sha256) {
    return Mismatch(ErrorCode::kPackageHashMismatch, f->name, "SHA-256");
  }
  return out;
}

}  // namespace eml::model
