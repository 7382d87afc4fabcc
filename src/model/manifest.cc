#include "model/manifest.h"

#include <algorithm>
#include <set>
#include <utility>

#include "common/encoding.h"
#include "crypto/stream_aead.h"
#include "model/internal/canonical_json.h"

namespace eml::model {
namespace {

using internal::JsonMember;
using internal::JsonValue;

constexpr std::string_view kSchemeSingle = "sha256-single";
constexpr std::string_view kSchemeConcat = "sha256-concat";
constexpr size_t kMaxIdBytes = 128;
constexpr size_t kMaxLabelBytes = 64;
constexpr size_t kMaxKeyIdBytes = 256;
constexpr size_t kMaxNameBytes = 1024;
constexpr size_t kMaxComponentBytes = 255;

Error BadField(const std::string& field, const std::string& why) {
  return Error{ErrorCode::kManifestBadField, field + ": " + why};
}

bool IsIdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

// An id (model_id, version, architecture, format): [A-Za-z0-9._-], not starting with '.', so it
// is safe as one path component of a store.
Status CheckId(const std::string& field, const std::string& value, size_t max_bytes) {
  if (value.empty() || value.size() > max_bytes || value.front() == '.' ||
      !std::all_of(value.begin(), value.end(), IsIdChar)) {
    return BadField(field, "must be 1.." + std::to_string(max_bytes) +
                               " characters of [A-Za-z0-9._-], not starting with '.'");
  }
  return OkStatus();
}

Status CheckFileName(const std::string& field, const std::string& name) {
  if (name.empty() || name.size() > kMaxNameBytes) {
    return Error{ErrorCode::kManifestBadFileName, field + ": empty or too long"};
  }
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find('/', start);
    if (end == std::string::npos) {
      end = name.size();
    }
    const std::string part = name.substr(start, end - start);
    if (part.empty() || part == "." || part == ".." || part.size() > kMaxComponentBytes ||
        !std::all_of(part.begin(), part.end(), IsIdChar)) {
      return Error{ErrorCode::kManifestBadFileName,
                   field + ": \"" + name +
                       "\" must be a relative path of [A-Za-z0-9._-] components, no '.' or '..'"};
    }
    start = end + 1;
  }
  if (name == kManifestFileName || name == kSignatureFileName) {
    return Error{ErrorCode::kManifestBadFileName, field + ": reserved name " + name};
  }
  return OkStatus();
}

bool IsDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

int Number(std::string_view s) {
  int v = 0;
  for (char c : s) {
    v = v * 10 + (c - '0');
  }
  return v;
}

Status CheckCreatedAt(const std::string& value) {
  const std::string_view s = value;
  const bool shape = s.size() == 20 && s[4] == '-' && s[7] == '-' && s[10] == 'T' && s[13] == ':' &&
                     s[16] == ':' && s[19] == 'Z' && IsDigits(s.substr(0, 4)) &&
                     IsDigits(s.substr(5, 2)) && IsDigits(s.substr(8, 2)) &&
                     IsDigits(s.substr(11, 2)) && IsDigits(s.substr(14, 2)) &&
                     IsDigits(s.substr(17, 2));
  if (!shape || Number(s.substr(5, 2)) < 1 || Number(s.substr(5, 2)) > 12 ||
      Number(s.substr(8, 2)) < 1 || Number(s.substr(8, 2)) > 31 || Number(s.substr(11, 2)) > 23 ||
      Number(s.substr(14, 2)) > 59 || Number(s.substr(17, 2)) > 60) {
    return BadField("created_at", "must be RFC 3339 UTC, YYYY-MM-DDTHH:MM:SSZ");
  }
  return OkStatus();
}

bool IsLowerHex(std::string_view s, size_t digits) {
  return s.size() == digits && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

Status CheckEncryption(const std::string& field, const ManifestFile& file) {
  const FileEncryption& e = *file.encryption;
  if (e.scheme != kEncryptionSchemeStreamV1) {
    return Error{ErrorCode::kManifestUnsupportedScheme,
                 field + ".scheme: \"" + e.scheme + "\" (supported: eml-stream-v1)"};
  }
  if (e.segment_size < crypto::kMinSegmentSize ||
      e.segment_size > crypto::kAbsoluteMaxSegmentSize) {
    return Error{ErrorCode::kManifestBadSize, field + ".segment_size out of range"};
  }
  Result<uint64_t> expected = crypto::StreamCiphertextSize(file.size, e.segment_size);
  if (!expected.has_value() || *expected != e.encrypted_size) {
    return Error{ErrorCode::kManifestBadSize,
                 field + ".encrypted_size does not match size and segment_size"};
  }
  return OkStatus();
}

Status CheckFiles(const Manifest& m, const ManifestLimits& limits) {
  if (m.files.empty()) {
    return BadField("files", "must list at least one file");
  }
  if (m.files.size() > limits.max_files) {
    return Error{ErrorCode::kManifestTooLarge, "files: more than the limit"};
  }
  std::set<std::string> stored;
  for (size_t i = 0; i < m.files.size(); ++i) {
    const ManifestFile& f = m.files[i];
    const std::string field = "files[" + std::to_string(i) + "]";
    EML_RETURN_IF_ERROR(CheckFileName(field + ".name", f.name));
    if (i > 0 && !(m.files[i - 1].name < f.name)) {
      return Error{ErrorCode::kManifestDuplicateFile,
                   field + ".name: \"" + f.name + "\" repeats or is out of name order"};
    }
    if (f.role != kRoleWeights && f.role != kRoleConfig && f.role != kRoleTokenizer &&
        f.role != kRoleOther && f.role != kRoleKeyWrap) {
      return BadField(field + ".role", "must be weights, config, tokenizer, other or key-wrap");
    }
    if (f.size > internal::kMaxJsonInteger) {
      return Error{ErrorCode::kManifestBadSize, field + ".size above 2^53 - 1"};
    }
    if (f.encryption.has_value()) {
      // A wrapped key is what opens the encrypted files: under the same key it would be useless.
      if (f.role == kRoleKeyWrap) {
        return BadField(field + ".encryption", "a key-wrap file is stored unencrypted");
      }
      EML_RETURN_IF_ERROR(CheckEncryption(field + ".encryption", f));
    }
    stored.insert(f.name);
  }
  // An encrypted file's "<name>.enc" must not be another entry's name.
  for (const ManifestFile& f : m.files) {
    if (f.encryption.has_value() && stored.count(StoredPath(f)) != 0) {
      return Error{ErrorCode::kManifestDuplicateFile, StoredPath(f) + " is listed twice"};
    }
  }
  return OkStatus();
}

Status CheckModelHash(const Manifest& m) {
  std::vector<const ManifestFile*> weights;
  for (const ManifestFile& f : m.files) {
    if (f.role == kRoleWeights) {
      weights.push_back(&f);
    }
  }
  if (m.model_hash_scheme == kSchemeSingle) {
    if (weights.size() != 1) {
      return BadField("model_hash_scheme", "sha256-single needs exactly one weights file");
    }
    if (weights[0]->sha256 != m.model_hash) {
      return Error{ErrorCode::kManifestBadHash,
                   "model_hash differs from the sha256 of " + weights[0]->name};
    }
    return OkStatus();
  }
  if (m.model_hash_scheme == kSchemeConcat) {
    if (weights.size() < 2) {
      return BadField("model_hash_scheme", "sha256-concat needs two or more weights files");
    }
    return OkStatus();
  }
  return Error{ErrorCode::kManifestUnsupportedScheme,
               "model_hash_scheme: \"" + m.model_hash_scheme + "\""};
}

// ---- JSON reading with field names in every error.

class ObjectReader {
 public:
  ObjectReader(const JsonValue& object, std::string path)
      : object_(object), path_(std::move(path)) {}

  Result<const JsonValue*> Get(std::string_view key, JsonValue::Kind kind, const char* type) {
    const JsonValue* v = Find(key);
    if (v == nullptr) {
      return Error{ErrorCode::kManifestMissingField, Name(key) + " is missing"};
    }
    if (v->kind != kind) {
      return BadField(Name(key), std::string("must be ") + type);
    }
    return v;
  }
  const JsonValue* Find(std::string_view key) {
    for (const auto& [k, v] : object_.members) {
      if (k == key) {
        used_.insert(std::string(key));
        return &v;
      }
    }
    return nullptr;
  }
  Result<std::string> String(std::string_view key) {
    EML_ASSIGN_OR_RETURN(const JsonValue* v, Get(key, JsonValue::Kind::kString, "a string"));
    return v->string;
  }
  Result<uint64_t> Integer(std::string_view key) {
    EML_ASSIGN_OR_RETURN(const JsonValue* v, Get(key, JsonValue::Kind::kInteger, "an integer"));
    return v->integer;
  }
  Result<Sha256Digest> Digest(std::string_view key) {
    EML_ASSIGN_OR_RETURN(std::string hex, String(key));
    if (!IsLowerHex(hex, 64)) {
      return Error{ErrorCode::kManifestBadHash, Name(key) + " must be 64 lowercase hex digits"};
    }
    Sha256Digest out{};
    const std::vector<uint8_t> bytes = *HexDecode(hex);
    std::copy(bytes.begin(), bytes.end(), out.begin());
    return out;
  }
  Status Finish() const {
    for (const auto& [k, v] : object_.members) {
      if (used_.count(k) == 0) {
        return Error{ErrorCode::kManifestUnknownField, Name(k) + " is not a manifest field"};
      }
    }
    return OkStatus();
  }
  std::string Name(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  }

 private:
  const JsonValue& object_;
  std::string path_;
  std::set<std::string> used_;
};

Result<FileEncryption> ReadEncryption(const JsonValue& v, const std::string& path) {
  ObjectReader r(v, path);
  FileEncryption e;
  EML_ASSIGN_OR_RETURN(e.scheme, r.String("scheme"));
  if (e.scheme != kEncryptionSchemeStreamV1) {
    return Error{ErrorCode::kManifestUnsupportedScheme,
                 path + ".scheme: \"" + e.scheme + "\" (supported: eml-stream-v1)"};
  }
  EML_ASSIGN_OR_RETURN(uint64_t segment_size, r.Integer("segment_size"));
  if (segment_size < crypto::kMinSegmentSize || segment_size > crypto::kAbsoluteMaxSegmentSize) {
    return Error{ErrorCode::kManifestBadSize, path + ".segment_size out of range"};
  }
  e.segment_size = static_cast<uint32_t>(segment_size);
  EML_ASSIGN_OR_RETURN(std::string file_id, r.String("file_id"));
  if (!IsLowerHex(file_id, 32)) {
    return BadField(path + ".file_id", "must be 32 lowercase hex digits");
  }
  const std::vector<uint8_t> id = *HexDecode(file_id);
  std::copy(id.begin(), id.end(), e.file_id.begin());
  EML_ASSIGN_OR_RETURN(e.encrypted_size, r.Integer("encrypted_size"));
  EML_ASSIGN_OR_RETURN(e.encrypted_sha256, r.Digest("encrypted_sha256"));
  EML_RETURN_IF_ERROR(r.Finish());
  return e;
}

Result<ManifestFile> ReadFile(const JsonValue& v, const std::string& path) {
  if (v.kind != JsonValue::Kind::kObject) {
    return BadField(path, "must be an object");
  }
  ObjectReader r(v, path);
  ManifestFile f;
  EML_ASSIGN_OR_RETURN(f.name, r.String("name"));
  EML_ASSIGN_OR_RETURN(f.role, r.String("role"));
  EML_ASSIGN_OR_RETURN(f.size, r.Integer("size"));
  EML_ASSIGN_OR_RETURN(f.sha256, r.Digest("sha256"));
  const JsonValue* enc = r.Find("encryption");
  if (enc == nullptr) {
    return Error{ErrorCode::kManifestMissingField, path + ".encryption is missing"};
  }
  if (enc->kind == JsonValue::Kind::kObject) {
    EML_ASSIGN_OR_RETURN(f.encryption, ReadEncryption(*enc, path + ".encryption"));
  } else if (enc->kind != JsonValue::Kind::kNull) {
    return BadField(path + ".encryption", "must be an object or null");
  }
  EML_RETURN_IF_ERROR(r.Finish());
  return f;
}

JsonValue Str(std::string s) {
  JsonValue v;
  v.kind = JsonValue::Kind::kString;
  v.string = std::move(s);
  return v;
}
JsonValue Int(uint64_t i) {
  JsonValue v;
  v.kind = JsonValue::Kind::kInteger;
  v.integer = i;
  return v;
}
JsonValue Obj(std::vector<JsonMember> members) {
  std::sort(members.begin(), members.end(),
            [](const auto& a, const auto& b) { return a.key < b.key; });
  JsonValue v;
  v.kind = JsonValue::Kind::kObject;
  v.members = std::move(members);
  return v;
}

JsonValue FileToJson(const ManifestFile& f) {
  JsonValue enc;  // null
  if (f.encryption.has_value()) {
    const FileEncryption& e = *f.encryption;
    enc = Obj({{"scheme", Str(e.scheme)},
               {"segment_size", Int(e.segment_size)},
               {"file_id", Str(HexEncode(e.file_id))},
               {"encrypted_size", Int(e.encrypted_size)},
               {"encrypted_sha256", Str(HexEncode(e.encrypted_sha256))}});
  }
  return Obj({{"name", Str(f.name)},
              {"role", Str(f.role)},
              {"size", Int(f.size)},
              {"sha256", Str(HexEncode(f.sha256))},
              {"encryption", std::move(enc)}});
}

}  // namespace

Status ValidateId(const std::string& field, const std::string& value) {
  return CheckId(field, value, kMaxIdBytes);
}

Status ValidateFileName(const std::string& field, const std::string& name) {
  return CheckFileName(field, name);
}

std::string StoredPath(const ManifestFile& file) {
  return file.encryption.has_value() ? file.name + std::string(kEncryptedSuffix) : file.name;
}

std::string SignerKeyId(const crypto::Ed25519PublicKey& key) {
  return std::string(kSignerKeyIdPrefix) + HexEncode(key.bytes());
}

Status ValidateManifest(const Manifest& m, const ManifestLimits& limits) {
  if (m.schema_version != kManifestSchemaVersion) {
    return Error{ErrorCode::kManifestUnsupportedVersion,
                 "schema_version " + std::to_string(m.schema_version) + " (supported: 1)"};
  }
  EML_RETURN_IF_ERROR(CheckId("model_id", m.model_id, kMaxIdBytes));
  EML_RETURN_IF_ERROR(CheckId("version", m.version, kMaxIdBytes));
  EML_RETURN_IF_ERROR(CheckId("architecture", m.architecture, kMaxLabelBytes));
  EML_RETURN_IF_ERROR(CheckId("format", m.format, kMaxLabelBytes));
  if (m.key_id.empty() || m.key_id.size() > kMaxKeyIdBytes ||
      !std::all_of(m.key_id.begin(), m.key_id.end(), [](char c) { return c > 0x20 && c < 0x7f; })) {
    return BadField("key_id", "must be 1..256 printable ASCII characters without spaces");
  }
  EML_RETURN_IF_ERROR(CheckCreatedAt(m.created_at));
  if (m.signer_key_id.rfind(kSignerKeyIdPrefix, 0) != 0 ||
      !IsLowerHex(std::string_view(m.signer_key_id).substr(kSignerKeyIdPrefix.size()), 64)) {
    return BadField("signer_key_id", "must be \"ed25519:\" and 64 lowercase hex digits");
  }
  EML_RETURN_IF_ERROR(CheckFiles(m, limits));
  return CheckModelHash(m);
}

Result<Manifest> ParseManifest(std::span<const uint8_t> bytes, const ManifestLimits& limits) {
  internal::CanonicalJsonLimits json_limits;
  json_limits.max_bytes = limits.max_bytes;
  EML_ASSIGN_OR_RETURN(JsonValue root, internal::ParseCanonicalJson(bytes, json_limits));
  ObjectReader r(root, "");
  Manifest m;
  // schema_version first: a later schema may change every other field.
  EML_ASSIGN_OR_RETURN(m.schema_version, r.Integer("schema_version"));
  if (m.schema_version != kManifestSchemaVersion) {
    return Error{ErrorCode::kManifestUnsupportedVersion,
                 "schema_version " + std::to_string(m.schema_version) + " (supported: 1)"};
  }
  EML_ASSIGN_OR_RETURN(m.model_id, r.String("model_id"));
  EML_ASSIGN_OR_RETURN(m.version, r.String("version"));
  EML_ASSIGN_OR_RETURN(m.architecture, r.String("architecture"));
  EML_ASSIGN_OR_RETURN(m.format, r.String("format"));
  EML_ASSIGN_OR_RETURN(const JsonValue* files, r.Get("files", JsonValue::Kind::kArray, "an array"));
  if (files->items.size() > limits.max_files) {
    return Error{ErrorCode::kManifestTooLarge, "files: more than the limit"};
  }
  for (size_t i = 0; i < files->items.size(); ++i) {
    EML_ASSIGN_OR_RETURN(ManifestFile f,
                         ReadFile(files->items[i], "files[" + std::to_string(i) + "]"));
    m.files.push_back(std::move(f));
  }
  EML_ASSIGN_OR_RETURN(m.model_hash, r.Digest("model_hash"));
  EML_ASSIGN_OR_RETURN(m.model_hash_scheme, r.String("model_hash_scheme"));
  EML_ASSIGN_OR_RETURN(m.key_id, r.String("key_id"));
  EML_ASSIGN_OR_RETURN(m.created_at, r.String("created_at"));
  EML_ASSIGN_OR_RETURN(m.signer_key_id, r.String("signer_key_id"));
  EML_RETURN_IF_ERROR(r.Finish());
  EML_RETURN_IF_ERROR(ValidateManifest(m, limits));
  return m;
}

Result<std::vector<uint8_t>> SerializeManifest(const Manifest& m) {
  EML_RETURN_IF_ERROR(ValidateManifest(m));
  JsonValue files;
  files.kind = JsonValue::Kind::kArray;
  for (const ManifestFile& f : m.files) {
    files.items.push_back(FileToJson(f));
  }
  const JsonValue root = Obj({{"schema_version", Int(m.schema_version)},
                              {"model_id", Str(m.model_id)},
                              {"version", Str(m.version)},
                              {"architecture", Str(m.architecture)},
                              {"format", Str(m.format)},
                              {"files", std::move(files)},
                              {"model_hash", Str(HexEncode(m.model_hash))},
                              {"model_hash_scheme", Str(m.model_hash_scheme)},
                              {"key_id", Str(m.key_id)},
                              {"created_at", Str(m.created_at)},
                              {"signer_key_id", Str(m.signer_key_id)}});
  std::string text;
  internal::WriteCanonicalJson(root, &text);
  return std::vector<uint8_t>(text.begin(), text.end());
}

Result<SignedManifest> SignManifest(Manifest manifest, const crypto::Ed25519PrivateKey& key) {
  manifest.signer_key_id = SignerKeyId(key.public_key());
  SignedManifest out;
  EML_ASSIGN_OR_RETURN(out.manifest_json, SerializeManifest(manifest));
  out.signature = key.Sign(out.manifest_json);
  return out;
}

std::vector<uint8_t> SignatureFileBytes(std::span<const uint8_t> signature) {
  std::string text = HexEncode(signature) + "\n";
  return std::vector<uint8_t>(text.begin(), text.end());
}

Result<std::array<uint8_t, crypto::kEd25519SignatureSize>> ParseSignatureFile(
    std::span<const uint8_t> bytes) {
  const std::string owned(bytes.begin(), bytes.end());
  std::string_view text(owned);
  if (!text.empty() && text.back() == '\n') {
    text.remove_suffix(1);
  }
  if (!IsLowerHex(text, 2 * crypto::kEd25519SignatureSize)) {
    return Error{ErrorCode::kManifestMalformedSignature,
                 "manifest.sig must be 128 lowercase hex digits and an optional newline"};
  }
  std::array<uint8_t, crypto::kEd25519SignatureSize> out{};
  const std::vector<uint8_t> raw = *HexDecode(text);
  std::copy(raw.begin(), raw.end(), out.begin());
  return out;
}

Result<VerifiedManifest> VerifiedManifest::Verify(std::span<const uint8_t> manifest_json,
                                                  std::span<const uint8_t> signature,
                                                  const crypto::Ed25519PublicKey& signer,
                                                  const ManifestLimits& limits) {
  if (manifest_json.size() > limits.max_bytes) {
    return Error{ErrorCode::kManifestTooLarge, "manifest larger than the limit"};
  }
  Status sig = signer.Verify(manifest_json, signature);
  if (!sig.has_value()) {
    return Error{ErrorCode::kManifestSignatureInvalid,
                 "manifest signature does not verify with " + SignerKeyId(signer) + " (" +
                     std::string(ErrorCodeName(sig.code())) + ")"};
  }
  EML_ASSIGN_OR_RETURN(Manifest m, ParseManifest(manifest_json, limits));
  if (m.signer_key_id != SignerKeyId(signer)) {
    return Error{ErrorCode::kManifestSignerMismatch,
                 "signer_key_id " + m.signer_key_id + " is not the verifying key"};
  }
  return VerifiedManifest(std::move(m),
                          std::vector<uint8_t>(manifest_json.begin(), manifest_json.end()));
}

const ManifestFile* VerifiedManifest::Find(std::string_view name) const {
  for (const ManifestFile& f : manifest_.files) {
    if (f.name == name) {
      return &f;
    }
  }
  return nullptr;
}

}  // namespace eml::model
