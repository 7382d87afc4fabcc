#include "receipt_command.h"

#include <cstdio>
#include <ctime>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "air/claims.h"
#include "air/issuer.h"
#include "air/json.h"
#include "air/verifier.h"
#include "cbor/decoder.h"
#include "cli_util.h"
#include "common/encoding.h"
#include "cose/sign1.h"
#include "crypto/ed25519.h"
#include "crypto/random.h"

namespace eml::apps {
namespace {

using Json = nlohmann::json;

constexpr size_t kMaxJsonFileBytes = size_t{1} << 20;

struct VerifyFlags {
  std::string file;
  std::string public_key_hex;
  std::string public_key_file;
  uint64_t max_age_s = air::kDefaultMaxAgeS;
  std::string expected_model_hash;
  std::string expected_request_hash;
  std::string expected_response_hash;
  std::string expected_attestation_hash;
  std::string expected_model;
  std::string expected_platform = "any";
  std::string expected_nonce;
  bool require_nonce = false;
  bool allow_evaluation = false;
  std::string format = "text";
};

struct IssueFlags {
  std::string signing_key_file;
  std::string claims_json;
  std::string iat;
  std::string cti;
  std::string nonce;
  std::string security_mode;
  std::string out;
};

bool LooksLikeJson(std::span<const uint8_t> bytes) {
  for (uint8_t b : bytes) {
    if (b == ' ' || b == '\n' || b == '\r' || b == '\t') {
      continue;
    }
    return b == '{';
  }
  return false;
}

// LoadReceipt reads FILE as a raw receipt or a JSON vector (its receipt_hex). A raw file is
// read up to kMaxReceiptBytes + 1 bytes: the verifier reports anything larger as SIZE.
Result<std::vector<uint8_t>> LoadReceipt(const std::string& path) {
  EML_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ReadFileLimited(path, kMaxJsonFileBytes));
  if (!LooksLikeJson(bytes)) {
    if (bytes.size() > air::kMaxReceiptBytes + 1) {
      bytes.resize(air::kMaxReceiptBytes + 1);
    }
    return bytes;
  }
  if (bytes.size() > kMaxJsonFileBytes) {
    return Error{ErrorCode::kLimitExceeded, path + " is a JSON file over 1 MiB"};
  }
  const Json j = Json::parse(bytes.begin(), bytes.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object() || !j.contains("receipt_hex") ||
      !j["receipt_hex"].is_string()) {
    return Error{ErrorCode::kBadJson, path + ": expected a JSON object with receipt_hex"};
  }
  Result<std::vector<uint8_t>> receipt = HexDecode(j["receipt_hex"].get<std::string>());
  if (!receipt.has_value()) {
    return Error{receipt.error().code, path + ": receipt_hex: " + receipt.error().detail};
  }
  return receipt;
}

Result<crypto::Ed25519PublicKey> LoadPublicKey(const VerifyFlags& flags) {
  std::vector<uint8_t> bytes;
  if (!flags.public_key_file.empty()) {
    EML_ASSIGN_OR_RETURN(std::vector<uint8_t> contents,
                         ReadFileCapped(flags.public_key_file, 4 * crypto::kEd25519PublicKeySize));
    EML_ASSIGN_OR_RETURN(bytes, DecodeKeyMaterial(contents, crypto::kEd25519PublicKeySize));
  } else if (!flags.public_key_hex.empty()) {
    Result<std::vector<uint8_t>> decoded =
        HexDecodeExact(flags.public_key_hex, crypto::kEd25519PublicKeySize);
    if (!decoded.has_value()) {
      return Error{decoded.error().code, "--public-key: " + decoded.error().detail};
    }
    bytes = *std::move(decoded);
  } else {
    return Error{ErrorCode::kInvalidArgument, "one of --public-key or --public-key-file is needed"};
  }
  Result<crypto::Ed25519PublicKey> key = crypto::Ed25519PublicKey::FromBytes(bytes);
  if (!key.has_value()) {
    return Error{key.error().code, "public key: " + key.error().detail};
  }
  return key;
}

Status SetDigest(const std::string& flag, const std::string& hex,
                 std::optional<air::Sha256Digest>* out) {
  if (hex.empty()) {
    return OkStatus();
  }
  Result<std::vector<uint8_t>> bytes = HexDecodeExact(hex, air::kHashBytes);
  if (!bytes.has_value()) {
    return Error{bytes.error().code, flag + ": " + bytes.error().detail};
  }
  air::Sha256Digest digest{};
  std::copy(bytes->begin(), bytes->end(), digest.begin());
  *out = digest;
  return OkStatus();
}

Result<air::VerifyPolicy> BuildPolicy(const VerifyFlags& flags) {
  air::VerifyPolicy policy;
  policy.max_age_s = flags.max_age_s;
  EML_RETURN_IF_ERROR(
      SetDigest("--expected-model-hash", flags.expected_model_hash, &policy.expected_model_hash));
  EML_RETURN_IF_ERROR(SetDigest("--expected-request-hash", flags.expected_request_hash,
                                &policy.expected_request_hash));
  EML_RETURN_IF_ERROR(SetDigest("--expected-response-hash", flags.expected_response_hash,
                                &policy.expected_response_hash));
  EML_RETURN_IF_ERROR(SetDigest("--expected-attestation-hash", flags.expected_attestation_hash,
                                &policy.expected_attestation_doc_hash));
  if (!flags.expected_model.empty()) {
    policy.expected_model_id = flags.expected_model;
  }
  EML_ASSIGN_OR_RETURN(policy.expected_platform, air::ParsePlatform(flags.expected_platform));
  if (!flags.expected_nonce.empty()) {
    Result<std::vector<uint8_t>> nonce = HexDecode(flags.expected_nonce);
    if (!nonce.has_value()) {
      return Error{nonce.error().code, "--expected-nonce: " + nonce.error().detail};
    }
    policy.expected_nonce = *std::move(nonce);
  }
  policy.require_nonce = flags.require_nonce;
  policy.allow_evaluation = flags.allow_evaluation;
  return policy;
}

void PrintClaimsText(const air::Claims& c, std::ostream& out) {
  const air::Measurements& m = c.enclave_measurements;
  out << "claims:\n"
      << "  iss                   " << c.iss << "\n"
      << "  iat                   " << c.iat << "\n"
      << "  cti                   " << HexEncode(c.cti) << "\n"
      << "  eat_nonce             " << (c.eat_nonce ? HexEncode(*c.eat_nonce) : "-") << "\n"
      << "  model_id              " << c.model_id << "\n"
      << "  model_version         " << c.model_version << "\n"
      << "  model_hash            " << HexEncode(c.model_hash) << "\n"
      << "  model_hash_scheme     " << c.model_hash_scheme.value_or("-") << "\n"
      << "  request_hash          " << HexEncode(c.request_hash) << "\n"
      << "  response_hash         " << HexEncode(c.response_hash) << "\n"
      << "  attestation_doc_hash  " << HexEncode(c.attestation_doc_hash) << "\n"
      << "  measurement_type      " << m.measurement_type << "\n"
      << "  pcr0                  " << HexEncode(m.pcr0) << "\n"
      << "  pcr1                  " << HexEncode(m.pcr1) << "\n"
      << "  pcr2                  " << HexEncode(m.pcr2) << "\n";
  const std::pair<const char*, const std::optional<std::vector<uint8_t>>*> optional[] = {
      {"pcr3", &m.pcr3}, {"pcr4", &m.pcr4}, {"pcr8", &m.pcr8}};
  for (const auto& [name, value] : optional) {
    if (value->has_value()) {
      out << "  " << name << "                  " << HexEncode(**value) << "\n";
    }
  }
  out << "  policy_version        " << c.policy_version << "\n"
      << "  sequence_number       " << c.sequence_number << "\n"
      << "  execution_time_ms     " << c.execution_time_ms << "\n"
      << "  memory_peak_mb        " << c.memory_peak_mb << "\n"
      << "  security_mode         " << c.security_mode << "\n";
}

void PrintReportText(const air::VerificationReport& report, size_t size, std::ostream& out) {
  out << "AIR v1 receipt (" << size
      << " bytes): " << (report.verified() ? "VERIFIED" : "NOT VERIFIED") << "\n";
  char line[160];
  for (const air::CheckResult& r : report.checks()) {
    std::snprintf(line, sizeof(line), "  L%d %-21s %-4s %-29s ", static_cast<int>(r.layer),
                  std::string(air::CheckName(r.check)).c_str(),
                  std::string(air::CheckStatusName(r.status)).c_str(),
                  r.code ? std::string(air::CheckCodeName(*r.code)).c_str() : "-");
    std::string row = std::string(line) + r.detail;
    row.erase(row.find_last_not_of(' ') + 1);
    out << row << "\n";
  }
  if (const air::VerifiedReceipt* verified = report.verified_receipt()) {
    PrintClaimsText(verified->claims(), out);
  }
}

Result<int> RunVerify(const VerifyFlags& flags) {
  if (flags.format != "text" && flags.format != "json") {
    return Error{ErrorCode::kInvalidArgument, "--format must be text or json"};
  }
  EML_ASSIGN_OR_RETURN(crypto::Ed25519PublicKey key, LoadPublicKey(flags));
  EML_ASSIGN_OR_RETURN(air::VerifyPolicy policy, BuildPolicy(flags));
  EML_ASSIGN_OR_RETURN(std::vector<uint8_t> receipt, LoadReceipt(flags.file));
  EML_ASSIGN_OR_RETURN(air::VerificationReport report, air::VerifyReceipt(receipt, key, policy));
  if (flags.format == "json") {
    std::cout << air::ReportToJson(report) << "\n";
  } else {
    PrintReportText(report, receipt.size(), std::cout);
  }
  if (report.verified()) {
    return kExitOk;
  }
  const air::CheckResult first = report.failures().front();
  std::cerr << "ephemeralml: receipt not verified: " << air::CheckName(first.check) << " "
            << air::CheckCodeName(*first.code) << "\n";
  return kExitNotVerified;
}

// ---- inspect: a generic, escaped rendering of whatever decodes (nothing is verified).

std::string EscapeText(std::string_view text) {
  std::string out = "\"";
  for (char ch : text) {
    const auto b = static_cast<unsigned char>(ch);
    if (b < 0x20 || b == 0x7f || ch == '"' || ch == '\\') {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", b);
      out += buf;
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

void Render(const cbor::Value& v, int indent, bool claims_level, std::ostream& out);

void RenderMap(const cbor::Value& v, int indent, bool claims_level, std::ostream& out) {
  out << "{\n";
  for (const auto& [key, value] : v.map_entries()) {
    out << std::string(static_cast<size_t>(indent + 2), ' ');
    std::optional<std::string_view> name;
    if (claims_level && key.is_integer() && key.AsInt64().has_value()) {
      name = air::ClaimName(*key.AsInt64());
    }
    Render(key, indent + 2, false, out);
    if (name) {
      out << " (" << *name << ")";
    }
    out << ": ";
    Render(value, indent + 2, false, out);
    out << "\n";
  }
  out << std::string(static_cast<size_t>(indent), ' ') << "}";
}

void Render(const cbor::Value& v, int indent, bool claims_level, std::ostream& out) {
  switch (v.type()) {
    case cbor::Value::Type::kUnsigned:
      out << *v.AsUint();
      return;
    case cbor::Value::Type::kNegative:
      if (v.negative_arg() == UINT64_MAX) {
        out << "-18446744073709551616";
      } else {
        out << "-" << (v.negative_arg() + 1);
      }
      return;
    case cbor::Value::Type::kBytes:
      out << "h'" << HexEncode(*v.AsBytes()) << "' (" << v.AsBytes()->size() << " bytes)";
      return;
    case cbor::Value::Type::kText:
      out << EscapeText(*v.AsText());
      return;
    case cbor::Value::Type::kArray:
      out << "[";
      for (size_t i = 0; i < v.array_items().size(); ++i) {
        out << (i == 0 ? "" : ", ");
        Render(v.array_items()[i], indent, false, out);
      }
      out << "]";
      return;
    case cbor::Value::Type::kMap:
      RenderMap(v, indent, claims_level, out);
      return;
    case cbor::Value::Type::kTag:
      out << v.tag_number() << "(";
      Render(v.tag_content(), indent, false, out);
      out << ")";
      return;
    case cbor::Value::Type::kBool:
      out << (*v.AsBool() ? "true" : "false");
      return;
    case cbor::Value::Type::kNull:
      out << "null";
      return;
    case cbor::Value::Type::kUndefined:
      out << "undefined";
      return;
    case cbor::Value::Type::kSimple:
      out << "simple(" << static_cast<int>(v.simple_value()) << ")";
      return;
    case cbor::Value::Type::kFloat:
      out << *v.AsFloat();
      return;
  }
}

Result<int> RunInspect(const std::string& path) {
  EML_ASSIGN_OR_RETURN(std::vector<uint8_t> receipt, LoadReceipt(path));
  if (receipt.size() > air::kMaxReceiptBytes) {
    return Error{ErrorCode::kLimitExceeded, path + " is over the 64 KiB receipt limit"};
  }
  cose::ParseOptions options;
  options.allow_detached_payload = true;
  options.limits.max_input_bytes = air::kMaxReceiptBytes;
  options.limits.strict = false;
  Result<cose::ParsedSign1> msg = cose::ParseSign1(receipt, options);
  if (!msg.has_value()) {
    return Error{msg.error().code, "not a COSE_Sign1 message: " + msg.error().detail};
  }
  std::ostringstream out;
  out << "UNVERIFIED: decoded only; the signature and claims were NOT checked "
         "(use `ephemeralml receipt verify`).\n"
      << "envelope: " << receipt.size() << " bytes, " << (msg->tagged() ? "tag 18" : "untagged")
      << ", " << (msg->canonical() ? "deterministic" : "NOT deterministic") << " encoding\n"
      << "protected header: h'" << HexEncode(msg->protected_bytes()) << "' ";
  Render(msg->protected_header(), 0, false, out);
  out << "\nunprotected header: ";
  Render(msg->unprotected_header(), 0, false, out);
  out << "\nsignature: " << msg->signature().size() << " bytes\n";
  if (!msg->payload().has_value()) {
    out << "payload: nil (detached)\n";
  } else {
    cbor::DecodeLimits limits;
    limits.max_input_bytes = air::kMaxReceiptBytes;
    limits.strict = false;
    Result<cbor::Decoded> claims = cbor::Decode(*msg->payload(), limits);
    if (!claims.has_value()) {
      out << "payload: " << msg->payload()->size()
          << " bytes, not CBOR: " << ToString(claims.error()) << "\n";
    } else {
      out << "claims (" << msg->payload()->size() << " bytes, "
          << (claims->canonical ? "deterministic" : "NOT deterministic") << "): ";
      Render(claims->value, 0, true, out);
      out << "\n";
    }
  }
  std::cout << out.str();
  return kExitOk;
}

// ---- issue and keys.

Result<Json> LoadClaimsJson(const std::string& path) {
  EML_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ReadFileCapped(path, kMaxJsonFileBytes));
  Json j = Json::parse(bytes.begin(), bytes.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return Error{ErrorCode::kBadJson, path + " is not a JSON object"};
  }
  // A whole vector file may be given: use its "claims" object.
  if (j.contains("claims") && j["claims"].is_object()) {
    Json claims = j["claims"];
    return claims;
  }
  return j;
}

Result<std::string> RandomCtiHex() {
  std::array<uint8_t, air::kCtiBytes> cti{};
  EML_RETURN_IF_ERROR(crypto::RandomBytes(cti));
  cti[6] = static_cast<uint8_t>((cti[6] & 0x0f) | 0x40);  // UUID version 4
  cti[8] = static_cast<uint8_t>((cti[8] & 0x3f) | 0x80);  // RFC 4122 variant
  return HexEncode(cti);
}

Result<int> RunIssue(const IssueFlags& flags) {
  EML_ASSIGN_OR_RETURN(Json j, LoadClaimsJson(flags.claims_json));
  if (flags.iat == "now" || (flags.iat.empty() && !j.contains("iat"))) {
    j["iat"] = static_cast<uint64_t>(std::time(nullptr));
  } else if (!flags.iat.empty()) {
    uint64_t iat = 0;
    std::istringstream in(flags.iat);
    if (!(in >> iat) || !in.eof()) {
      return Error{ErrorCode::kInvalidArgument, "--iat must be Unix seconds or now"};
    }
    j["iat"] = iat;
  }
  if (flags.cti == "random" || (flags.cti.empty() && !j.contains("cti_hex"))) {
    EML_ASSIGN_OR_RETURN(j["cti_hex"], RandomCtiHex());
  } else if (!flags.cti.empty()) {
    j["cti_hex"] = flags.cti;
  }
  if (!flags.nonce.empty()) {
    j["eat_nonce_hex"] = flags.nonce;
  }
  if (!flags.security_mode.empty()) {
    j["security_mode"] = flags.security_mode;
  }
  EML_ASSIGN_OR_RETURN(air::Claims claims,
                       air::ClaimsFromJson(j.dump(-1, ' ', false, Json::error_handler_t::replace)));
  EML_ASSIGN_OR_RETURN(SecretBytes seed,
                       ReadSecretKeyFile(flags.signing_key_file, crypto::kEd25519SeedSize));
  EML_ASSIGN_OR_RETURN(crypto::Ed25519PrivateKey key, crypto::Ed25519PrivateKey::FromSeed(seed));
  EML_ASSIGN_OR_RETURN(std::vector<uint8_t> receipt, air::IssueReceipt(claims, key));
  EML_RETURN_IF_ERROR(WriteFileAtomic(flags.out, receipt, 0644, /*exclusive=*/false));
  std::cout << "wrote " << receipt.size() << " bytes to " << flags.out << "; public key "
            << HexEncode(key.public_key().bytes()) << "\n";
  return kExitOk;
}

Result<int> RunGenReceiptKey(const std::string& out) {
  EML_ASSIGN_OR_RETURN(SecretBytes seed, crypto::RandomSecret(crypto::kEd25519SeedSize));
  EML_ASSIGN_OR_RETURN(crypto::Ed25519PrivateKey key, crypto::Ed25519PrivateKey::FromSeed(seed));
  EML_RETURN_IF_ERROR(
      WriteFileAtomic(out, seed.Reveal(InsecureSecretAccess::Get()), 0600, /*exclusive=*/true));
  std::cout << HexEncode(key.public_key().bytes()) << "\n";
  return kExitOk;
}

void AddVerify(CLI::App& receipt) {
  auto flags = std::make_shared<VerifyFlags>();
  CLI::App* cmd = receipt.add_subcommand("verify", "Verify an AIR v1 receipt (exit 0 = verified)");
  cmd->add_option("FILE", flags->file, "Receipt: raw CBOR or a JSON vector file")->required();
  CLI::Option* key_hex =
      cmd->add_option("--public-key", flags->public_key_hex, "Ed25519 public key, 64 hex digits");
  CLI::Option* key_file = cmd->add_option("--public-key-file", flags->public_key_file,
                                          "File with the public key (32 raw bytes or hex)");
  key_hex->excludes(key_file);
  key_file->excludes(key_hex);
  cmd->add_option("--max-age", flags->max_age_s,
                  "Maximum receipt age in seconds; 0 disables freshness (default 3600)");
  cmd->add_option("--expected-model-hash", flags->expected_model_hash, "SHA-256, hex");
  cmd->add_option("--expected-request-hash", flags->expected_request_hash, "SHA-256, hex");
  cmd->add_option("--expected-response-hash", flags->expected_response_hash, "SHA-256, hex");
  cmd->add_option("--expected-attestation-hash", flags->expected_attestation_hash,
                  "SHA-256 of the attestation document, hex");
  cmd->add_option("--expected-model", flags->expected_model, "Expected model_id");
  cmd->add_option("--expected-platform", flags->expected_platform,
                  "nitro-pcr, tdx-mrtd-rtmr or any (default)");
  cmd->add_option("--expected-nonce", flags->expected_nonce, "Expected eat_nonce, hex");
  cmd->add_flag("--require-nonce", flags->require_nonce, "Fail when eat_nonce is absent");
  cmd->add_flag("--allow-evaluation", flags->allow_evaluation, "Accept security_mode = evaluation");
  cmd->add_option("--format", flags->format, "text (default) or json");
  cmd->callback([flags] { FinishCommand(RunVerify(*flags)); });
}

void AddIssue(CLI::App& receipt) {
  auto flags = std::make_shared<IssueFlags>();
  CLI::App* cmd = receipt.add_subcommand("issue", "Sign an AIR v1 receipt (tests and demos)");
  cmd->add_option("--signing-key-file", flags->signing_key_file, "32-byte Ed25519 seed, raw or hex")
      ->required();
  cmd->add_option("--claims-json", flags->claims_json,
                  "Claims in the vectors' JSON form (or a vector file)")
      ->required();
  cmd->add_option("--iat", flags->iat, "Unix seconds or 'now' (default: file, else now)");
  cmd->add_option("--cti", flags->cti, "16 bytes hex or 'random' (default: file, else random)");
  cmd->add_option("--nonce", flags->nonce, "eat_nonce, hex (8..64 bytes)");
  cmd->add_option("--security-mode", flags->security_mode, "production or evaluation");
  cmd->add_option("--out", flags->out, "Output file (raw CBOR)")->required();
  cmd->callback([flags] { FinishCommand(RunIssue(*flags)); });
}

}  // namespace

void AddReceiptCommands(CLI::App& app) {
  CLI::App* receipt = GetOrAddSubcommand(app, "receipt", "AIR v1 receipts");
  AddVerify(*receipt);
  auto inspect_file = std::make_shared<std::string>();
  CLI::App* inspect =
      receipt->add_subcommand("inspect", "Print a receipt's decoded claims (no verification)");
  inspect->add_option("FILE", *inspect_file, "Receipt: raw CBOR or a JSON vector file")->required();
  inspect->callback([inspect_file] { FinishCommand(RunInspect(*inspect_file)); });
  AddIssue(*receipt);

  CLI::App* keys = GetOrAddSubcommand(app, "keys", "Key generation");
  auto out = std::make_shared<std::string>();
  CLI::App* gen = keys->add_subcommand(
      "gen-receipt-key", "Write a new Ed25519 receipt signing seed (0600); print the public key");
  gen->add_option("OUT", *out, "Output file (must not exist)")->required();
  gen->callback([out] { FinishCommand(RunGenReceiptKey(*out)); });
}

}  // namespace eml::apps
