#include "attest/sim/sim_provider.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <system_error>
#include <utility>

#include "attest/nitro/document.h"
#include "attest/sim/internal/cert_issuer.h"
#include "cbor/encoder.h"
#include "cbor/value.h"
#include "common/encoding.h"
#include "common/secret_bytes.h"
#include "cose/sign1.h"
#include "crypto/hash.h"
#include "crypto/random.h"

namespace eml::attest::sim {
namespace {

constexpr size_t kMaxStateFileBytes = 64 * 1024;

Error StateError(std::string detail) {
  return Error{ErrorCode::kAttestSimState, std::move(detail)};
}

// ReadSmallFile reads a state file of at most kMaxStateFileBytes into `out`.
Status ReadSmallFile(const std::filesystem::path& path, std::span<uint8_t> buffer,
                     size_t& out_size) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return Error{ErrorCode::kIoError, "cannot open " + path.string()};
  }
  out_size = 0;
  while (out_size < buffer.size()) {
    ssize_t n = ::read(fd, buffer.subspan(out_size).data(), buffer.size() - out_size);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      ::close(fd);
      return Error{ErrorCode::kIoError, "cannot read " + path.string()};
    }
    if (n == 0) {
      break;
    }
    out_size += static_cast<size_t>(n);
  }
  ::close(fd);
  if (out_size == buffer.size()) {
    return StateError(path.string() + " is too large");
  }
  return OkStatus();
}

// WriteNewFile creates `path` (failing if it exists) with `mode` and writes `bytes`.
Status WriteNewFile(const std::filesystem::path& path, std::span<const uint8_t> bytes,
                    mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0 && errno == EEXIST) {
    return StateError(path.string() + " was created concurrently; retry");
  }
  if (fd < 0) {
    return Error{ErrorCode::kIoError, "cannot create " + path.string()};
  }
  size_t written = 0;
  while (written < bytes.size()) {
    ssize_t n = ::write(fd, bytes.subspan(written).data(), bytes.size() - written);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      ::close(fd);
      ::unlink(path.c_str());
      return Error{ErrorCode::kIoError, "cannot write " + path.string()};
    }
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    ::unlink(path.c_str());
    return Error{ErrorCode::kIoError, "cannot sync " + path.string()};
  }
  return OkStatus();
}

std::string PemEncode(std::span<const uint8_t> der) {
  std::string b64 = Base64Encode(der);
  std::string pem = "-----BEGIN CERTIFICATE-----\n";
  for (size_t i = 0; i < b64.size(); i += 64) {
    pem += b64.substr(i, 64);
    pem += '\n';
  }
  pem += "-----END CERTIFICATE-----\n";
  return pem;
}

Result<std::vector<uint8_t>> RandomSerial() {
  std::vector<uint8_t> serial(16);
  EML_RETURN_IF_ERROR(crypto::RandomBytes(serial));
  serial[0] = static_cast<uint8_t>((serial[0] & 0x7f) | 0x01);  // positive, 16 bytes
  return serial;
}

struct Root {
  crypto::Certificate cert;
  crypto::EcdsaPrivateKey key;
};

Result<Root> CreateRoot(const std::filesystem::path& dir, int64_t now_unix) {
  EML_ASSIGN_OR_RETURN(crypto::EcdsaPrivateKey key,
                       crypto::EcdsaPrivateKey::Generate(crypto::EcdsaCurve::kP384));
  internal::CertRequest request;
  request.common_name = "EphemeralML sim attestation root";
  EML_ASSIGN_OR_RETURN(request.serial, RandomSerial());
  request.not_before_unix = now_unix - kBackdateS;
  request.not_after_unix = now_unix + kRootLifetimeS;
  request.is_ca = true;
  EML_ASSIGN_OR_RETURN(std::vector<uint8_t> der,
                       internal::IssueCertificate(request, key.public_key(), key, {}));
  EML_ASSIGN_OR_RETURN(crypto::Certificate cert, crypto::Certificate::FromDer(der));
  // The certificate goes to a temporary name first, so a reader never sees a key without it.
  const std::filesystem::path tmp = dir / (std::string(kRootCertFile) + ".tmp");
  ::unlink(tmp.c_str());
  std::string pem = PemEncode(der);
  EML_RETURN_IF_ERROR(WriteNewFile(tmp, AsBytes(pem), 0644));
  SecretBytes pkcs8 = key.ToPkcs8Der();
  Status key_written =
      WriteNewFile(dir / kRootKeyFile, pkcs8.Reveal(InsecureSecretAccess::Get()), 0600);
  if (!key_written.has_value()) {
    ::unlink(tmp.c_str());
    return key_written.error();
  }
  if (::rename(tmp.c_str(), (dir / kRootCertFile).c_str()) != 0) {
    return Error{ErrorCode::kIoError, "cannot rename the sim root certificate"};
  }
  return Root{std::move(cert), std::move(key)};
}

Result<Root> LoadRoot(const std::filesystem::path& dir, int64_t now_unix) {
  const std::filesystem::path key_path = dir / kRootKeyFile;
  struct stat st {};
  if (::stat(key_path.c_str(), &st) != 0) {
    return Error{ErrorCode::kIoError, "cannot stat " + key_path.string()};
  }
  if ((st.st_mode & 077) != 0) {
    return StateError(key_path.string() + " is accessible to group or others (want 0600)");
  }
  SecretBytes key_bytes(kMaxStateFileBytes);
  size_t key_size = 0;
  EML_RETURN_IF_ERROR(
      ReadSmallFile(key_path, key_bytes.MutableReveal(InsecureSecretAccess::Get()), key_size));
  Result<crypto::EcdsaPrivateKey> key = crypto::EcdsaPrivateKey::FromPkcs8Der(
      SecretBytes::CopyFrom(key_bytes.Reveal(InsecureSecretAccess::Get()).first(key_size)));
  if (!key.has_value() || key->public_key().curve() != crypto::EcdsaCurve::kP384) {
    return StateError("the sim root key is corrupt or not P-384");
  }
  std::vector<uint8_t> pem(kMaxStateFileBytes);
  size_t pem_size = 0;
  EML_RETURN_IF_ERROR(ReadSmallFile(dir / kRootCertFile, pem, pem_size));
  const std::string pem_text(pem.begin(), pem.begin() + static_cast<std::ptrdiff_t>(pem_size));
  Result<crypto::Certificate> cert = crypto::Certificate::FromPem(pem_text);
  if (!cert.has_value()) {
    return StateError("the sim root certificate is corrupt");
  }
  if (cert->SpkiDer() != key->public_key().SpkiDer()) {
    return StateError("the sim root key does not match its certificate");
  }
  if (now_unix < cert->not_before_unix() || now_unix > cert->not_after_unix()) {
    return StateError("the sim root certificate is not valid now");
  }
  return Root{*std::move(cert), *std::move(key)};
}

Result<Root> LoadOrCreateRoot(const std::filesystem::path& state_dir, int64_t now_unix) {
  const std::filesystem::path dir = state_dir / kStateSubdir;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return Error{ErrorCode::kIoError, "cannot create " + dir.string()};
  }
  std::filesystem::permissions(dir, std::filesystem::perms::owner_all,
                               std::filesystem::perm_options::replace, ec);
  if (ec) {
    return Error{ErrorCode::kIoError, "cannot set permissions on " + dir.string()};
  }
  const bool has_key = std::filesystem::exists(dir / kRootKeyFile, ec);
  const bool has_cert = std::filesystem::exists(dir / kRootCertFile, ec);
  if (!has_key && !has_cert) {
    return CreateRoot(dir, now_unix);
  }
  if (!has_key || !has_cert) {
    return StateError("sim root key or certificate missing in " + dir.string());
  }
  return LoadRoot(dir, now_unix);
}

}  // namespace

MeasuredDigests Measure(const MeasuredInputs& inputs) {
  return MeasuredDigests{.enclave_binary = crypto::Sha384(inputs.enclave_binary),
                         .configuration = crypto::Sha384(inputs.configuration),
                         .trust_anchors = crypto::Sha384(inputs.trust_anchors)};
}

std::map<uint32_t, std::vector<uint8_t>> SimPcrs(const MeasuredDigests& digests) {
  std::map<uint32_t, std::vector<uint8_t>> pcrs;
  for (uint32_t i = 0; i < kNumPcrs; ++i) {
    pcrs[i] = std::vector<uint8_t>(crypto::kSha384Size, 0);
  }
  pcrs[0].assign(digests.enclave_binary.begin(), digests.enclave_binary.end());
  pcrs[1].assign(digests.configuration.begin(), digests.configuration.end());
  pcrs[2].assign(digests.trust_anchors.begin(), digests.trust_anchors.end());
  return pcrs;
}

std::map<uint32_t, std::vector<uint8_t>> SimPcrs(const MeasuredInputs& inputs) {
  return SimPcrs(Measure(inputs));
}

namespace {

struct Leaf {
  crypto::Certificate cert;
  crypto::EcdsaPrivateKey key;
};

// IssueLeaf makes a fresh leaf key and certificate named `module_id` under `root`.
Result<Leaf> IssueLeaf(const Root& root, const std::string& module_id, std::vector<uint8_t> serial,
                       int64_t now_unix) {
  EML_ASSIGN_OR_RETURN(crypto::EcdsaPrivateKey leaf_key,
                       crypto::EcdsaPrivateKey::Generate(crypto::EcdsaCurve::kP384));
  internal::CertRequest request;
  request.serial = std::move(serial);
  request.common_name = module_id;
  request.not_before_unix = now_unix - kBackdateS;
  request.not_after_unix = now_unix + kLeafLifetimeS;
  EML_ASSIGN_OR_RETURN(
      std::vector<uint8_t> leaf_der,
      internal::IssueCertificate(request, leaf_key.public_key(), root.key, root.cert.der()));
  EML_ASSIGN_OR_RETURN(crypto::Certificate leaf, crypto::Certificate::FromDer(leaf_der));
  return Leaf{std::move(leaf), std::move(leaf_key)};
}

}  // namespace

Result<SimProvider> SimProvider::Create(const std::filesystem::path& state_dir,
                                        const MeasuredInputs& inputs, int64_t now_unix) {
  return CreateFromDigests(state_dir, Measure(inputs), now_unix);
}

Result<SimProvider> SimProvider::CreateFromDigests(const std::filesystem::path& state_dir,
                                                   const MeasuredDigests& digests,
                                                   int64_t now_unix) {
  if (now_unix < 0) {
    return Error{ErrorCode::kInvalidArgument, "now_unix is negative"};
  }
  EML_ASSIGN_OR_RETURN(Root root, LoadOrCreateRoot(state_dir, now_unix));
  EML_ASSIGN_OR_RETURN(std::vector<uint8_t> serial, RandomSerial());
  std::string module_id = "sim-" + HexEncode(std::span<const uint8_t>(serial).first(8));
  EML_ASSIGN_OR_RETURN(Leaf leaf, IssueLeaf(root, module_id, std::move(serial), now_unix));
  return SimProvider(state_dir, std::move(root.cert), std::move(leaf.cert), std::move(leaf.key),
                     SimPcrs(digests), std::move(module_id));
}

Result<crypto::Certificate> SimProvider::RootCertificate(const std::filesystem::path& state_dir,
                                                         int64_t now_unix) {
  if (now_unix < 0) {
    return Error{ErrorCode::kInvalidArgument, "now_unix is negative"};
  }
  EML_ASSIGN_OR_RETURN(Root root, LoadOrCreateRoot(state_dir, now_unix));
  return std::move(root.cert);
}

Result<SimProvider> SimProvider::Renewed(int64_t now_unix) const {
  if (now_unix < 0) {
    return Error{ErrorCode::kInvalidArgument, "now_unix is negative"};
  }
  // Load only: a root created now would not be the one verifiers pinned (nor PCR2's input).
  const std::filesystem::path dir = state_dir_ / kStateSubdir;
  std::error_code ec;
  if (!std::filesystem::exists(dir / kRootKeyFile, ec) ||
      !std::filesystem::exists(dir / kRootCertFile, ec)) {
    return StateError("the sim root in " + dir.string() + " is gone; restart with a new root");
  }
  EML_ASSIGN_OR_RETURN(Root root, LoadRoot(dir, now_unix));
  if (!std::ranges::equal(root.cert.der(), root_.der())) {
    return StateError("the sim root in " + state_dir_.string() + " changed since start");
  }
  EML_ASSIGN_OR_RETURN(std::vector<uint8_t> serial, RandomSerial());
  EML_ASSIGN_OR_RETURN(Leaf leaf, IssueLeaf(root, module_id_, std::move(serial), now_unix));
  return SimProvider(state_dir_, std::move(root.cert), std::move(leaf.cert), std::move(leaf.key),
                     pcrs_, module_id_);
}

Result<std::vector<uint8_t>> SimProvider::Attest(const AttestationRequest& request,
                                                 uint64_t timestamp_ms) const {
  const uint64_t ts = timestamp_ms / 1000;
  if (timestamp_ms == 0 || timestamp_ms > nitro::kMaxTimestampMs ||
      static_cast<int64_t>(ts) < leaf_.not_before_unix() ||
      static_cast<int64_t>(ts) >= leaf_.not_after_unix()) {
    return Error{ErrorCode::kInvalidArgument, "timestamp outside the sim leaf's validity"};
  }
  auto optional_bytes = [](const std::optional<std::vector<uint8_t>>& v, size_t max,
                           bool& too_long) {
    if (!v.has_value()) {
      return cbor::Value::Null();
    }
    too_long |= v->size() > max;
    return cbor::Value::Bytes(*v);
  };
  bool too_long = false;
  cbor::Value public_key = optional_bytes(request.public_key, nitro::kMaxPublicKeyBytes, too_long);
  cbor::Value user_data = optional_bytes(request.user_data, nitro::kMaxUserDataBytes, too_long);
  cbor::Value nonce = optional_bytes(request.nonce, nitro::kMaxNonceBytes, too_long);
  if (too_long) {
    return Error{ErrorCode::kInvalidArgument, "a bound field is over its limit"};
  }
  std::vector<std::pair<cbor::Value, cbor::Value>> pcr_entries;
  for (const auto& [index, value] : pcrs_) {
    pcr_entries.emplace_back(cbor::Value::Uint(index), cbor::Value::Bytes(value));
  }
  cbor::Value payload = cbor::Value::Map({
      {cbor::Value::Text("module_id"), cbor::Value::Text(module_id_)},
      {cbor::Value::Text("digest"), cbor::Value::Text("SHA384")},
      {cbor::Value::Text("timestamp"), cbor::Value::Uint(timestamp_ms)},
      {cbor::Value::Text("pcrs"), cbor::Value::Map(std::move(pcr_entries))},
      {cbor::Value::Text("certificate"), cbor::Value::Bytes(leaf_.der())},
      {cbor::Value::Text("cabundle"), cbor::Value::Array({cbor::Value::Bytes(root_.der())})},
      {cbor::Value::Text("public_key"), std::move(public_key)},
      {cbor::Value::Text("user_data"), std::move(user_data)},
      {cbor::Value::Text("nonce"), std::move(nonce)},
  });
  cose::Sign1Input input;
  input.protected_header =
      cbor::Value::Map({{cbor::Value::Int(cose::kHeaderAlgorithm),
                         cbor::Value::Int(static_cast<int64_t>(cose::Algorithm::kES384))}});
  EML_ASSIGN_OR_RETURN(input.payload, cbor::Encode(payload));
  input.tagged = false;
  return cose::SignSign1Ecdsa(input, leaf_key_);
}

}  // namespace eml::attest::sim
