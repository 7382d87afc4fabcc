#include "model_command.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "cli_util.h"
#include "common/encoding.h"
#include "crypto/ed25519.h"
#include "crypto/random.h"
#include "keys/kms/key_file.h"
#include "keys/kms/kms_client.h"
#include "model/manifest.h"
#include "model/package.h"
#include "model/store.h"

namespace eml::apps {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

struct PackFlags {
  std::string model_dir;
  std::string id;
  std::string version;
  std::string signing_key;
  std::string out;
  bool encrypt_all = false;
  std::string dek_out;
  std::string architecture;
  std::string key_id;
  std::string kms_key;
  uint32_t segment_size = crypto::kDefaultSegmentSize;
};

struct PublishFlags {
  std::string package;
  std::string store;
  std::string signer_pub;
};

struct VerifyFlags {
  std::string package;
  std::string signer_pub;
  std::string dek_file;
};

// ProgressBar draws one line on stderr when it is a terminal, at most once per percent.
class ProgressBar {
 public:
  ProgressBar() : enabled_(::isatty(STDERR_FILENO) == 1) {}
  ~ProgressBar() {
    if (drawn_) {
      std::cerr << "\n";
    }
  }
  model::ProgressFn Callback() {
    if (!enabled_) {
      return nullptr;
    }
    return [this](const model::PackageProgress& p) { Draw(p); };
  }

 private:
  void Draw(const model::PackageProgress& p) {
    const uint64_t total = p.total_size == 0 ? 1 : p.total_size;
    const int percent = static_cast<int>(p.total_done * 100 / total);
    if (percent == last_percent_ && p.file == last_file_) {
      return;
    }
    last_percent_ = percent;
    last_file_ = p.file;
    constexpr int kWidth = 30;
    const int filled = percent * kWidth / 100;
    char line[200];
    std::snprintf(line, sizeof(line), "\r[%s%s] %3d%% %8.1f/%.1f MiB %-40.40s",
                  std::string(static_cast<size_t>(filled), '#').c_str(),
                  std::string(static_cast<size_t>(kWidth - filled), ' ').c_str(), percent,
                  static_cast<double>(p.total_done) / 1048576.0,
                  static_cast<double>(p.total_size) / 1048576.0, p.file.c_str());
    std::cerr << line << std::flush;
    drawn_ = true;
  }

  bool enabled_;
  bool drawn_ = false;
  int last_percent_ = -1;
  std::string last_file_;
};

Result<crypto::Ed25519PublicKey> ParseSignerPub(const std::string& hex) {
  Result<std::vector<uint8_t>> bytes = HexDecodeExact(hex, crypto::kEd25519PublicKeySize);
  if (!bytes.has_value()) {
    return Error{bytes.error().code, "--signer-pub: " + bytes.error().detail};
  }
  Result<crypto::Ed25519PublicKey> key = crypto::Ed25519PublicKey::FromBytes(*bytes);
  if (!key.has_value()) {
    return Error{key.error().code, "--signer-pub: " + key.error().detail};
  }
  return key;
}

// KmsDataKey asks KMS (endpoint and credentials from the environment, see kms_client.h) for a
// fresh AES-256 data key under `arn`; `options` gets the "kms:" key id and kms-key.json.
Result<SecretBytes> KmsDataKey(const std::string& arn, model::PackOptions* options) {
  Status arn_ok = keys::kms::ValidateKeyArn(arn);
  if (!arn_ok.has_value()) {
    return Error{arn_ok.error().code, "--kms-key: " + arn_ok.error().detail};
  }
  EML_ASSIGN_OR_RETURN(keys::kms::KmsClientOptions kms_options,
                       keys::kms::OptionsFromEnvironment(arn));
  EML_ASSIGN_OR_RETURN(std::unique_ptr<keys::kms::KmsClient> client,
                       keys::kms::KmsClient::Create(std::move(kms_options)));
  EML_ASSIGN_OR_RETURN(keys::kms::DataKey key, client->GenerateDataKey(arn));
  EML_ASSIGN_OR_RETURN(std::vector<uint8_t> key_file,
                       keys::kms::SerializeKmsKeyFile({arn, key.ciphertext_blob}));
  options->key_id = keys::kms::KeyIdForArn(arn);
  options->extra_files.push_back(model::PackedExtraFile{std::string(keys::kms::kKmsKeyFileName),
                                                        std::string(model::kRoleKeyWrap),
                                                        std::move(key_file)});
  return std::move(key.plaintext);
}

Result<int> RunPack(const PackFlags& flags) {
  const bool kms = !flags.kms_key.empty();
  if (kms && (!flags.dek_out.empty() || !flags.key_id.empty())) {
    return Error{ErrorCode::kInvalidArgument,
                 "--kms-key cannot be combined with --dek-out or --key-id: KMS wraps the data key "
                 "into the package's kms-key.json and no DEK file is written"};
  }
  EML_ASSIGN_OR_RETURN(SecretBytes seed,
                       ReadSecretKeyFile(flags.signing_key, crypto::kEd25519SeedSize));
  EML_ASSIGN_OR_RETURN(crypto::Ed25519PrivateKey signer, crypto::Ed25519PrivateKey::FromSeed(seed));
  std::string out = flags.out;
  while (out.size() > 1 && out.back() == '/') {
    out.pop_back();
  }
  if (fs::exists(out)) {
    return Error{ErrorCode::kPackageOutputExists, out + " already exists"};
  }
  model::PackOptions options;
  options.model_id = flags.id;
  options.version = flags.version;
  options.architecture = flags.architecture;
  options.key_id = flags.key_id;
  options.encrypt_all = flags.encrypt_all;
  options.segment_size = flags.segment_size;
  const std::string dek_path = kms ? "" : flags.dek_out.empty() ? out + ".dek" : flags.dek_out;
  SecretBytes dek;
  if (kms) {
    // The plaintext key lives only in `dek`, wiped when this function returns.
    EML_ASSIGN_OR_RETURN(dek, KmsDataKey(flags.kms_key, &options));
  } else {
    EML_ASSIGN_OR_RETURN(dek, crypto::RandomSecret(crypto::kStreamKeySize));
    // The DEK is on disk before any ciphertext exists, so a package is never left without its
    // key.
    EML_RETURN_IF_ERROR(WriteFileAtomic(dek_path, dek.Reveal(InsecureSecretAccess::Get()), 0600,
                                        /*exclusive=*/true));
  }
  Result<model::Manifest> m = [&] {
    ProgressBar bar;
    options.progress = bar.Callback();
    return model::PackModel(flags.model_dir, out, dek, signer, options);
  }();
  if (!m.has_value()) {
    if (!kms) {
      std::error_code ec;
      fs::remove(dek_path, ec);
    }
    return std::move(m).error();
  }
  size_t encrypted = 0;
  for (const model::ManifestFile& f : m->files) {
    encrypted += f.encryption.has_value() ? size_t{1} : size_t{0};
  }
  std::cout << "packed " << m->model_id << " " << m->version << ": " << m->files.size()
            << " files, " << encrypted << " encrypted\n"
            << "model_hash " << HexEncode(m->model_hash) << " (" << m->model_hash_scheme << ")\n"
            << "signer " << m->signer_key_id << "\n"
            << "key_id " << m->key_id << "\n"
            << "package " << out << "\n";
  if (kms) {
    std::cout << "kms_key " << flags.kms_key << " (data key wrapped by KMS in "
              << keys::kms::kKmsKeyFileName << "; no DEK file written)\n";
  } else {
    std::cout << "dek " << dek_path << " (mode 0600; keep it secret, never publish it)\n";
  }
  return kExitOk;
}

// IsVerificationFailure: the package was read and the answer is "no" (exit 1), as opposed to
// bad flags or unreadable input (exit 2).
bool IsVerificationFailure(ErrorCode code) {
  const auto v = static_cast<uint16_t>(code);
  return (v >= 180 && v < 200) || (v >= 500 && v < 530) || code == ErrorCode::kCryptoBadKeyLength;
}

Result<int> RunVerify(const VerifyFlags& flags) {
  EML_ASSIGN_OR_RETURN(crypto::Ed25519PublicKey signer, ParseSignerPub(flags.signer_pub));
  std::optional<SecretBytes> dek;
  if (!flags.dek_file.empty()) {
    EML_ASSIGN_OR_RETURN(dek, ReadSecretKeyFile(flags.dek_file, crypto::kStreamKeySize));
  }
  if (!fs::is_directory(flags.package)) {
    return Error{ErrorCode::kNotFound, flags.package + " is not a package directory"};
  }
  model::VerifyOptions options;
  options.dek = dek.has_value() ? &*dek : nullptr;
  Result<model::PackageReport> report = [&] {
    ProgressBar bar;
    options.progress = bar.Callback();
    return model::VerifyPackage(flags.package, signer, options);
  }();
  if (!report.has_value()) {
    if (!IsVerificationFailure(report.code())) {
      return std::move(report).error();
    }
    std::cout << "NOT VERIFIED: " << ToString(report.error()) << "\n";
    std::cerr << "ephemeralml: package not verified: " << ToString(report.error()) << "\n";
    return kExitNotVerified;
  }
  std::cout << "VERIFIED: " << report->files_checked << " files, " << report->files_decrypted
            << " decrypted, " << report->bytes_checked << " plaintext bytes\n";
  if (!dek.has_value()) {
    std::cout << "encrypted files were checked by size and SHA-256 only (no --dek-file)\n";
  }
  return kExitOk;
}

Result<model::Manifest> ReadUnverifiedManifest(const std::string& package) {
  EML_ASSIGN_OR_RETURN(
      std::vector<uint8_t> bytes,
      ReadFileCapped((fs::path(package) / std::string(model::kManifestFileName)).string(),
                     model::kDefaultMaxManifestBytes));
  return model::ParseManifest(bytes);
}

Result<int> RunInspect(const std::string& package, const std::string& format) {
  if (format != "text" && format != "json") {
    return Error{ErrorCode::kInvalidArgument, "--format must be text or json"};
  }
  EML_ASSIGN_OR_RETURN(model::Manifest m, ReadUnverifiedManifest(package));
  if (format == "json") {
    EML_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, model::SerializeManifest(m));
    Json out = {{"verified", false},
                {"manifest", Json::parse(bytes.begin(), bytes.end(), nullptr, false)}};
    if (Result<std::string> arn = keys::kms::KeyArnFromKeyId(m.key_id); arn.has_value()) {
      out["kms_key_arn"] = *arn;
    }
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }
  std::cout << "UNVERIFIED: decoded only; the signature was NOT checked "
               "(use `ephemeralml model verify`).\n"
            << "model_id           " << m.model_id << "\n"
            << "version            " << m.version << "\n"
            << "architecture       " << m.architecture << "\n"
            << "format             " << m.format << "\n"
            << "model_hash         " << HexEncode(m.model_hash) << "\n"
            << "model_hash_scheme  " << m.model_hash_scheme << "\n"
            << "key_id             " << m.key_id << "\n";
  if (Result<std::string> arn = keys::kms::KeyArnFromKeyId(m.key_id); arn.has_value()) {
    std::cout << "kms_key            " << *arn << " (wrapped data key in "
              << keys::kms::kKmsKeyFileName << ")\n";
  }
  std::cout << "created_at         " << m.created_at << "\n"
            << "signer_key_id      " << m.signer_key_id << "\n"
            << "files (" << m.files.size() << "):\n";
  for (const model::ManifestFile& f : m.files) {
    char line[512];
    std::snprintf(
        line, sizeof(line), "  %-10s %12llu  %s  %s%s\n", f.role.c_str(),
        static_cast<unsigned long long>(f.size), HexEncode(f.sha256).c_str(), f.name.c_str(),
        f.encryption.has_value()
            ? ("  [encrypted, " + std::to_string(f.encryption->segment_size) + "-byte segments]")
                  .c_str()
            : "");
    std::cout << line;
  }
  return kExitOk;
}

// PublishSigner returns the pinned --signer-pub key, else the manifest's own signer key.
Result<crypto::Ed25519PublicKey> PublishSigner(const std::string& signer_pub,
                                               const model::Manifest& m) {
  if (!signer_pub.empty()) {
    return ParseSignerPub(signer_pub);
  }
  // ValidateManifest guarantees "ed25519:" and 64 hex digits.
  EML_ASSIGN_OR_RETURN(
      std::vector<uint8_t> bytes,
      HexDecodeExact(std::string_view(m.signer_key_id).substr(model::kSignerKeyIdPrefix.size()),
                     crypto::kEd25519PublicKeySize));
  return crypto::Ed25519PublicKey::FromBytes(bytes);
}

Result<int> RunPublish(const PublishFlags& flags) {
  EML_ASSIGN_OR_RETURN(std::unique_ptr<model::ModelStore> store,
                       model::OpenModelStore(flags.store));
  EML_ASSIGN_OR_RETURN(model::Manifest m, ReadUnverifiedManifest(flags.package));
  EML_ASSIGN_OR_RETURN(crypto::Ed25519PublicKey signer, PublishSigner(flags.signer_pub, m));
  // A tampered package is refused before anything reaches the store: the signature and every
  // stored file's size and SHA-256 (ciphertext for encrypted files) must check out.
  Result<model::PackageReport> report = [&] {
    ProgressBar bar;
    model::VerifyOptions options;
    options.progress = bar.Callback();
    return model::VerifyPackage(flags.package, signer, options);
  }();
  if (!report.has_value()) {
    if (!IsVerificationFailure(report.code())) {
      return std::move(report).error();
    }
    std::cerr << "ephemeralml: refusing to publish " << flags.package
              << ", it does not verify: " << ToString(report.error()) << "\n";
    return kExitNotVerified;
  }
  EML_RETURN_IF_ERROR(store->Publish(flags.package));
  std::cout << "published " << m.model_id << " " << m.version << " to " << flags.store << " ("
            << report->files_checked << " files verified, signer " << m.signer_key_id
            << (flags.signer_pub.empty() ? ", not pinned: pass --signer-pub to pin it" : ", pinned")
            << ")\n";
  return kExitOk;
}

Result<int> RunGenSigningKey(const std::string& out) {
  EML_ASSIGN_OR_RETURN(SecretBytes seed, crypto::RandomSecret(crypto::kEd25519SeedSize));
  EML_ASSIGN_OR_RETURN(crypto::Ed25519PrivateKey key, crypto::Ed25519PrivateKey::FromSeed(seed));
  EML_RETURN_IF_ERROR(
      WriteFileAtomic(out, seed.Reveal(InsecureSecretAccess::Get()), 0600, /*exclusive=*/true));
  std::cout << HexEncode(key.public_key().bytes()) << "\n";
  return kExitOk;
}

void AddPack(CLI::App& model) {
  auto flags = std::make_shared<PackFlags>();
  CLI::App* cmd = model.add_subcommand("pack", "Encrypt and sign a Hugging Face model directory");
  cmd->add_option("HF_DIR", flags->model_dir, "Model directory")->required();
  cmd->add_option("--id", flags->id, "Model id ([A-Za-z0-9._-])")->required();
  cmd->add_option("--version", flags->version, "Model version ([A-Za-z0-9._-])")->required();
  cmd->add_option("--signing-key", flags->signing_key, "Ed25519 seed file (keys gen-signing-key)")
      ->required();
  cmd->add_option("--out", flags->out, "Package directory to create")->required();
  cmd->add_flag("--encrypt-all", flags->encrypt_all, "Encrypt every file, not only weights");
  cmd->add_option("--dek-out", flags->dek_out, "Where to write the data key (default PKG.dek)");
  cmd->add_option("--architecture", flags->architecture,
                  "Architecture (default: config.json model_type)");
  cmd->add_option("--key-id", flags->key_id, "Data key id (default: dek-<random>)");
  cmd->add_option("--kms-key", flags->kms_key,
                  "AWS KMS key ARN: the data key comes from KMS GenerateDataKey and is stored "
                  "wrapped in the package (kms-key.json); excludes --dek-out and --key-id");
  cmd->add_option("--segment-size", flags->segment_size, "Encryption segment size in bytes")
      ->check(CLI::Range(crypto::kMinSegmentSize, crypto::kDefaultMaxSegmentSize));
  cmd->callback([flags] { FinishCommand(RunPack(*flags)); });
}

void AddVerify(CLI::App& model) {
  auto flags = std::make_shared<VerifyFlags>();
  CLI::App* cmd = model.add_subcommand("verify", "Verify a package (exit 0 = verified)");
  cmd->add_option("PKG", flags->package, "Package directory")->required();
  cmd->add_option("--signer-pub", flags->signer_pub, "Signer's Ed25519 public key, 64 hex digits")
      ->required();
  cmd->add_option("--dek-file", flags->dek_file, "Data key file: also decrypt and check");
  cmd->callback([flags] { FinishCommand(RunVerify(*flags)); });
}

}  // namespace

void AddModelCommands(CLI::App& app) {
  CLI::App* model = GetOrAddSubcommand(app, "model", "Model packages: pack, verify, publish");
  AddPack(*model);
  AddVerify(*model);

  auto inspect_pkg = std::make_shared<std::string>();
  auto inspect_format = std::make_shared<std::string>("text");
  CLI::App* inspect =
      model->add_subcommand("inspect", "Print a package's manifest (no verification)");
  inspect->add_option("PKG", *inspect_pkg, "Package directory")->required();
  inspect->add_option("--format", *inspect_format, "text (default) or json");
  inspect->callback(
      [inspect_pkg, inspect_format] { FinishCommand(RunInspect(*inspect_pkg, *inspect_format)); });

  auto publish = std::make_shared<PublishFlags>();
  CLI::App* publish_cmd =
      model->add_subcommand("publish", "Verify a package, then copy it into a model store");
  publish_cmd->add_option("PKG", publish->package, "Package directory")->required();
  publish_cmd
      ->add_option("--store", publish->store,
                   "Store URL: file:///dir or s3://bucket/prefix (docs/stores.md)")
      ->required();
  publish_cmd->add_option("--signer-pub", publish->signer_pub,
                          "Pin the signer's Ed25519 public key (64 hex digits); default: the "
                          "manifest's own signer key");
  publish_cmd->callback([publish] { FinishCommand(RunPublish(*publish)); });

  CLI::App* keys = GetOrAddSubcommand(app, "keys", "Key generation");
  auto out = std::make_shared<std::string>();
  CLI::App* gen = keys->add_subcommand(
      "gen-signing-key", "Write a new Ed25519 model signing seed (0600); print the public key");
  gen->add_option("OUT", *out, "Output file (must not exist)")->required();
  gen->callback([out] { FinishCommand(RunGenSigningKey(*out)); });
}

}  // namespace eml::apps
