#include "attest/nitro/nitro_verifier.h"

#include <gtest/gtest.h>

#include <ctime>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "attest/nitro/aws_root.h"
#include "attest/nitro/document.h"
#include "cbor/decoder.h"
#include "cbor/encoder.h"
#include "common/encoding.h"
#include "testing/test_util.h"

namespace eml::attest::nitro {
namespace {

using ::eml::testing::HasError;
using ::eml::testing::Hex;
using ::eml::testing::IsOk;
using ::eml::testing::ReadFileBytes;
using ::eml::testing::ReadFileText;
using ::eml::testing::ReadJson;
using ::eml::testing::SharedVectorPath;

constexpr const char* kValidDocuments[] = {
    "fortanix-rust-sgx/request_proper.bin", "cape-js/isomorphic-attestation.bin",
    "cape-js/cape-spec-attestationDocument.bin", "cape-js/cape-spec-keyAttestationDocument.bin"};
constexpr const char* kDebugDocuments[] = {"fortanix-rust-sgx/request_proper.bin",
                                           "cape-js/isomorphic-attestation.bin"};
constexpr const char* kProductionDocument = "cape-js/cape-spec-attestationDocument.bin";

std::vector<uint8_t> Document(const std::string& name) {
  return ReadFileBytes(SharedVectorPath("nitro/" + name));
}

const nlohmann::json& Expected(const std::string& name) {
  static const nlohmann::json* json =
      new nlohmann::json(ReadJson(SharedVectorPath("nitro/expected.json")));
  return (*json)["documents"][name];
}

// TimestampS: the document's own time (ms -> s, rounded up so the timestamp is not ahead).
int64_t TimestampS(const std::string& name) {
  return (Expected(name)["timestamp_ms"].get<int64_t>() + 999) / 1000;
}

crypto::Certificate AwsRoot() {
  Result<crypto::Certificate> root = crypto::Certificate::FromDer(
      ReadFileBytes(SharedVectorPath("nitro/aws-nitro-enclaves-root-g1.der")));
  EML_CHECK(root.has_value());
  return *std::move(root);
}

std::unique_ptr<NitroVerifier> MakeVerifier(Policy policy, crypto::Certificate root = AwsRoot()) {
  Result<std::unique_ptr<NitroVerifier>> v = NitroVerifier::New(std::move(root), std::move(policy));
  EML_CHECK(v.has_value());
  return *std::move(v);
}

Policy DebugPolicy() {
  Policy p;
  p.allow_debug = true;
  return p;
}

Verification VerifyAt(const NitroVerifier& v, std::span<const uint8_t> doc, int64_t time) {
  Result<Verification> r = v.Verify(doc, time);
  EML_CHECK(r.has_value());
  return *std::move(r);
}

const StepResult& Step(const VerificationReport& report, const std::string& name) {
  for (const StepResult& step : report.steps) {
    if (step.name == name) {
      return step;
    }
  }
  ADD_FAILURE() << "no step " << name;
  static const StepResult kMissing;
  return kMissing;
}

// Rewrap re-encodes a real document with a modified payload map and/or protected header; the
// original signature is kept (so it no longer verifies).
std::vector<uint8_t> Rewrap(
    const std::vector<uint8_t>& doc,
    const std::function<void(std::vector<std::pair<cbor::Value, cbor::Value>>&)>& edit,
    std::vector<uint8_t> protected_bytes = {0xa1, 0x01, 0x38, 0x22}) {
  Result<cbor::Decoded> outer = cbor::Decode(doc);
  EML_CHECK(outer.has_value());
  const std::vector<cbor::Value>& items = outer->value.array_items();
  Result<cbor::Decoded> payload = cbor::Decode(*items[2].AsBytes());
  EML_CHECK(payload.has_value());
  std::vector<std::pair<cbor::Value, cbor::Value>> entries = payload->value.map_entries();
  edit(entries);
  Result<std::vector<uint8_t>> new_payload = cbor::Encode(cbor::Value::Map(std::move(entries)));
  EML_CHECK(new_payload.has_value());
  Result<std::vector<uint8_t>> out =
      cbor::Encode(cbor::Value::Array({cbor::Value::Bytes(protected_bytes), cbor::Value::Map({}),
                                       cbor::Value::Bytes(*new_payload), items[3]}));
  EML_CHECK(out.has_value());
  return *std::move(out);
}

void SetField(std::vector<std::pair<cbor::Value, cbor::Value>>& entries, const std::string& key,
              cbor::Value value) {
  for (auto& [k, v] : entries) {
    if (k == cbor::Value::Text(key)) {
      v = std::move(value);
      return;
    }
  }
  entries.emplace_back(cbor::Value::Text(key), std::move(value));
}

void EraseField(std::vector<std::pair<cbor::Value, cbor::Value>>& entries, const std::string& key) {
  std::erase_if(entries, [&](const auto& e) { return e.first == cbor::Value::Text(key); });
}

const cbor::Value* FindField(std::vector<std::pair<cbor::Value, cbor::Value>>& entries,
                             const std::string& key) {
  for (auto& [k, v] : entries) {
    if (k == cbor::Value::Text(key)) {
      return &v;
    }
  }
  return nullptr;
}

std::optional<std::vector<uint8_t>> OptionalHex(const nlohmann::json& j) {
  if (j.is_null()) {
    return std::nullopt;
  }
  return Hex(j.get<std::string>());
}

TEST(NitroVerifierTest, RealDocumentsVerifyAtTheirOwnTimestamp) {
  auto verifier = MakeVerifier(DebugPolicy());
  for (const char* name : kValidDocuments) {
    SCOPED_TRACE(name);
    const nlohmann::json& want = Expected(name);
    std::vector<uint8_t> doc = Document(name);
    Verification v = VerifyAt(*verifier, doc, TimestampS(name));
    const VerificationReport& r = v.report;
    EXPECT_TRUE(r.verified) << r.ToJson();
    EXPECT_EQ(r.FirstFailure(), ErrorCode::kOk);
    ASSERT_TRUE(v.evidence.has_value());
    EXPECT_EQ(r.platform, "aws-nitro");
    EXPECT_EQ(r.module_id, want["module_id"].get<std::string>());
    EXPECT_EQ(r.timestamp_ms, want["timestamp_ms"].get<uint64_t>());
    EXPECT_EQ(HexEncode(r.document_sha256), want["sha256"].get<std::string>());
    ASSERT_TRUE(r.measurements.contains(0));
    EXPECT_EQ(HexEncode(r.measurements.at(0)), want["pcr0"].get<std::string>());
    size_t nonzero = 0;
    for (const auto& [index, value] : r.measurements) {
      if (!PcrIsZero(value)) {
        ++nonzero;
        EXPECT_EQ(HexEncode(value), want["pcrs_nonzero"][std::to_string(index)].get<std::string>());
      }
    }
    EXPECT_EQ(nonzero, want["pcrs_nonzero"].size());
    EXPECT_EQ(r.debug, want["debug_mode_enclave(pcr0_all_zero)"].get<bool>());
    EXPECT_EQ(r.public_key, OptionalHex(want["public_key_hex"]));
    EXPECT_EQ(r.user_data, OptionalHex(want["user_data_hex"]));
    EXPECT_EQ(r.nonce, OptionalHex(want["nonce_hex"]));
    for (const StepResult& step : r.steps) {
      EXPECT_NE(step.status, StepStatus::kFailed) << step.name;
      EXPECT_NE(step.status, StepStatus::kNotRun) << step.name;
    }
    // VerifiedEvidence carries the same claims.
    EXPECT_EQ(v.evidence->measurements(), r.measurements);
    EXPECT_EQ(v.evidence->nonce(), r.nonce);
    EXPECT_EQ(v.evidence->document_sha256(), r.document_sha256);
    EXPECT_EQ(v.evidence->platform(), "aws-nitro");
  }
}

TEST(NitroVerifierTest, DebugDocumentsAreReportedAndRejectedInProduction) {
  auto production = MakeVerifier(Policy{});
  for (const char* name : kDebugDocuments) {
    SCOPED_TRACE(name);
    std::vector<uint8_t> doc = Document(name);
    Verification v = VerifyAt(*production, doc, TimestampS(name));
    EXPECT_FALSE(v.report.verified);
    EXPECT_FALSE(v.evidence.has_value());
    EXPECT_TRUE(v.report.debug);
    EXPECT_EQ(v.report.FirstFailure(), ErrorCode::kAttestDebugMode);
    EXPECT_EQ(Step(v.report, "cose_signature").status, StepStatus::kPassed);
    EXPECT_EQ(Step(v.report, "certificate_chain").status, StepStatus::kPassed);
  }
}

TEST(NitroVerifierTest, ProductionDocumentVerifiesWithPcrPinsNonceAndKey) {
  const nlohmann::json& want = Expected(kProductionDocument);
  Policy policy;
  for (const char* index : {"0", "1", "2", "8"}) {
    policy.pcr_pins[static_cast<uint32_t>(std::stoi(index))] =
        Hex(want["pcrs_nonzero"][index].get<std::string>());
  }
  policy.expected_nonce = Hex(want["nonce_hex"].get<std::string>());
  policy.expected_public_key = Hex(want["public_key_hex"].get<std::string>());
  policy.max_age_s = 300;
  auto verifier = MakeVerifier(policy);
  Verification v =
      VerifyAt(*verifier, Document(kProductionDocument), TimestampS(kProductionDocument));
  EXPECT_TRUE(v.report.verified) << v.report.ToJson();
  EXPECT_FALSE(v.report.debug);
  ASSERT_TRUE(v.evidence.has_value());
  EXPECT_FALSE(v.evidence->debug());
  for (const char* step : {"pcr_policy", "nonce", "public_key", "freshness", "debug_mode"}) {
    EXPECT_EQ(Step(v.report, step).status, StepStatus::kPassed) << step;
  }
}

TEST(NitroVerifierTest, TamperedSignatureFailsTheCoseSignature) {
  const std::string name = "fortanix-rust-sgx/tampered_signature.bin";
  auto verifier = MakeVerifier(DebugPolicy());
  Verification v = VerifyAt(*verifier, Document(name), TimestampS(name));
  EXPECT_FALSE(v.report.verified);
  EXPECT_FALSE(v.evidence.has_value());
  EXPECT_EQ(v.report.FirstFailure(), ErrorCode::kCoseSignatureInvalid);
  EXPECT_EQ(Step(v.report, "certificate_chain").status, StepStatus::kPassed);
}

TEST(NitroVerifierTest, TamperedCertificateFailsToParse) {
  const std::string name = "fortanix-rust-sgx/tampered_certificate.bin";
  auto verifier = MakeVerifier(DebugPolicy());
  Verification v = VerifyAt(*verifier, Document(name), TimestampS(name));
  EXPECT_FALSE(v.report.verified);
  EXPECT_EQ(v.report.FirstFailure(), ErrorCode::kAttestBadCertificate);
  EXPECT_EQ(Step(v.report, "cose_signature").status, StepStatus::kNotRun);
}

TEST(NitroVerifierTest, WrongRootIsRejected) {
  Result<crypto::Certificate> intel = crypto::Certificate::FromPem(
      ReadFileText(SharedVectorPath("nitro/fortanix-rust-sgx/unknown_ca.crt")));
  ASSERT_THAT(intel, IsOk());
  auto verifier = MakeVerifier(DebugPolicy(), *intel);
  for (const char* name : kValidDocuments) {
    SCOPED_TRACE(name);
    Verification v = VerifyAt(*verifier, Document(name), TimestampS(name));
    EXPECT_FALSE(v.report.verified);
    EXPECT_EQ(v.report.FirstFailure(), ErrorCode::kAttestRootMismatch);
    EXPECT_EQ(Step(v.report, "certificate_chain").code, ErrorCode::kX509Untrusted);
  }
}

TEST(NitroVerifierTest, TamperedRootFailsToLoadOrDoesNotMatch) {
  Result<crypto::Certificate> tampered = crypto::Certificate::FromPem(
      ReadFileText(SharedVectorPath("nitro/fortanix-rust-sgx/tampered_root_cert.crt")));
  if (!tampered.has_value()) {
    EXPECT_THAT(tampered, HasError(ErrorCode::kX509ParseFailed));
    return;
  }
  EXPECT_NE(tampered->Sha256Fingerprint(), kAwsNitroRootG1Sha256);
  auto verifier = MakeVerifier(DebugPolicy(), *tampered);
  const std::string name = kValidDocuments[0];
  Verification v = VerifyAt(*verifier, Document(name), TimestampS(name));
  EXPECT_FALSE(v.report.verified);
  EXPECT_EQ(v.report.FirstFailure(), ErrorCode::kAttestRootMismatch);
}

TEST(NitroVerifierTest, RealDocumentsFailAtTheCurrentTime) {
  auto verifier = MakeVerifier(DebugPolicy());
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  for (const char* name : kValidDocuments) {
    SCOPED_TRACE(name);
    Verification v = VerifyAt(*verifier, Document(name), now);
    EXPECT_FALSE(v.report.verified);
    EXPECT_EQ(v.report.FirstFailure(), ErrorCode::kX509Expired);
  }
}

TEST(NitroVerifierTest, BeforeTheTimestampIsNotYetValidAndFromTheFuture) {
  const std::string name = kProductionDocument;
  auto verifier = MakeVerifier(Policy{});
  Verification v = VerifyAt(*verifier, Document(name), TimestampS(name) - 3600);
  EXPECT_FALSE(v.report.verified);
  EXPECT_EQ(Step(v.report, "certificate_chain").code, ErrorCode::kX509NotYetValid);
  EXPECT_EQ(Step(v.report, "freshness").code, ErrorCode::kAttestFromFuture);
}

TEST(NitroVerifierTest, StaleDocumentFailsFreshness) {
  const std::string name = kProductionDocument;
  Policy policy;
  policy.max_age_s = 60;
  auto verifier = MakeVerifier(policy);
  Verification v = VerifyAt(*verifier, Document(name), TimestampS(name) + 3600);
  EXPECT_FALSE(v.report.verified);
  EXPECT_EQ(Step(v.report, "certificate_chain").status, StepStatus::kPassed);
  EXPECT_EQ(v.report.FirstFailure(), ErrorCode::kAttestStale);
}

TEST(NitroVerifierTest, PcrPinMismatchAndAbsentPinnedPcrFail) {
  const std::string name = kProductionDocument;
  Policy wrong;
  wrong.pcr_pins[0] = std::vector<uint8_t>(48, 0xAB);
  Verification v = VerifyAt(*MakeVerifier(wrong), Document(name), TimestampS(name));
  EXPECT_FALSE(v.report.verified);
  EXPECT_EQ(v.report.FirstFailure(), ErrorCode::kAttestMeasurementMismatch);

  Policy absent;
  absent.pcr_pins[31] = std::vector<uint8_t>(48, 0);
  v = VerifyAt(*MakeVerifier(absent), Document(name), TimestampS(name));
  EXPECT_EQ(v.report.FirstFailure(), ErrorCode::kAttestMeasurementMismatch);
}

TEST(NitroVerifierTest, NonceMismatchFails) {
  const std::string name = kProductionDocument;
  Policy policy;
  policy.expected_nonce = Hex("47b5fba6979cbf7e567e2620");
  Verification v = VerifyAt(*MakeVerifier(policy), Document(name), TimestampS(name));
  EXPECT_FALSE(v.report.verified);
  EXPECT_EQ(v.report.FirstFailure(), ErrorCode::kAttestNonceMismatch);
}

TEST(NitroVerifierTest, PublicKeyMismatchAndAbsenceFail) {
  Policy policy = DebugPolicy();
  policy.expected_public_key = std::vector<uint8_t>(32, 7);
  auto verifier = MakeVerifier(policy);
  // cape has a different key; request_proper has none.
  for (const char* name : kDebugDocuments) {
    SCOPED_TRACE(name);
    Verification v = VerifyAt(*verifier, Document(name), TimestampS(name));
    EXPECT_FALSE(v.report.verified);
    EXPECT_EQ(v.report.FirstFailure(), ErrorCode::kAttestPublicKeyMismatch);
  }
}

TEST(NitroVerifierTest, TaggedDocumentIsRejected) {
  std::vector<uint8_t> doc = Document(kProductionDocument);
  doc.insert(doc.begin(), 0xd2);  // tag 18
  auto verifier = MakeVerifier(Policy{});
  Verification v = VerifyAt(*verifier, doc, TimestampS(kProductionDocument));
  EXPECT_EQ(v.report.FirstFailure(), ErrorCode::kCoseWrongTag);
  EXPECT_EQ(Step(v.report, "payload_fields").status, StepStatus::kNotRun);
  EXPECT_EQ(Step(v.report, "public_key").status, StepStatus::kNotRun);
}

TEST(NitroVerifierTest, GarbageAndOversizedInputAreRejected) {
  auto verifier = MakeVerifier(Policy{});
  std::vector<uint8_t> garbage = {0x84, 0x40};
  EXPECT_EQ(VerifyAt(*verifier, garbage, 1).report.FirstFailure(), ErrorCode::kCborTruncated);
  std::vector<uint8_t> big(kMaxDocumentBytes + 1, 0);
  EXPECT_EQ(VerifyAt(*verifier, big, 1).report.FirstFailure(), ErrorCode::kAttestMalformed);
  EXPECT_THAT(verifier->Verify(garbage, -1), HasError(ErrorCode::kInvalidArgument));
}

TEST(NitroVerifierTest, WrongAlgorithmIsRejected) {
  std::vector<uint8_t> doc =
      Rewrap(Document(kProductionDocument), [](auto&) {}, {0xa1, 0x01, 0x26});
  Verification v = VerifyAt(*MakeVerifier(Policy{}), doc, TimestampS(kProductionDocument));
  EXPECT_EQ(v.report.FirstFailure(), ErrorCode::kAttestBadAlgorithm);
}

TEST(NitroVerifierTest, RewrappedPayloadOnlyFailsTheSignature) {
  // Re-encoding changes the signed bytes: everything else passes, the signature does not.
  std::vector<uint8_t> doc = Rewrap(Document(kProductionDocument), [](auto&) {});
  Verification v = VerifyAt(*MakeVerifier(Policy{}), doc, TimestampS(kProductionDocument));
  EXPECT_EQ(v.report.FirstFailure(), ErrorCode::kCoseSignatureInvalid);
  EXPECT_EQ(Step(v.report, "payload_fields").status, StepStatus::kPassed);
}

struct FieldCase {
  const char* label;
  std::function<void(std::vector<std::pair<cbor::Value, cbor::Value>>&)> edit;
  ErrorCode code;
};

TEST(NitroVerifierTest, PayloadFieldErrors) {
  auto pcrs_without = [](uint64_t drop) {
    return [drop](std::vector<std::pair<cbor::Value, cbor::Value>>& e) {
      std::vector<std::pair<cbor::Value, cbor::Value>> pcrs = FindField(e, "pcrs")->map_entries();
      std::erase_if(pcrs, [&](const auto& p) { return p.first == cbor::Value::Uint(drop); });
      SetField(e, "pcrs", cbor::Value::Map(std::move(pcrs)));
    };
  };
  auto pcrs_with = [](cbor::Value key, cbor::Value value) {
    return [key, value](std::vector<std::pair<cbor::Value, cbor::Value>>& e) {
      std::vector<std::pair<cbor::Value, cbor::Value>> pcrs = FindField(e, "pcrs")->map_entries();
      std::erase_if(pcrs, [&](const auto& p) { return p.first == key; });
      pcrs.emplace_back(key, value);
      SetField(e, "pcrs", cbor::Value::Map(std::move(pcrs)));
    };
  };
  using Entries = std::vector<std::pair<cbor::Value, cbor::Value>>;
  const std::vector<FieldCase> cases = {
      {"no module_id", [](Entries& e) { EraseField(e, "module_id"); },
       ErrorCode::kAttestMissingField},
      {"no cabundle", [](Entries& e) { EraseField(e, "cabundle"); },
       ErrorCode::kAttestMissingField},
      {"empty module_id", [](Entries& e) { SetField(e, "module_id", cbor::Value::Text("")); },
       ErrorCode::kAttestBadField},
      {"digest SHA256", [](Entries& e) { SetField(e, "digest", cbor::Value::Text("SHA256")); },
       ErrorCode::kAttestUnsupportedDigest},
      {"digest as bytes", [](Entries& e) { SetField(e, "digest", cbor::Value::Bytes(Hex("00"))); },
       ErrorCode::kAttestBadField},
      {"timestamp zero", [](Entries& e) { SetField(e, "timestamp", cbor::Value::Uint(0)); },
       ErrorCode::kAttestBadField},
      {"timestamp text", [](Entries& e) { SetField(e, "timestamp", cbor::Value::Text("1")); },
       ErrorCode::kAttestBadField},
      {"no PCR1", pcrs_without(1), ErrorCode::kAttestMissingField},
      {"PCR of 32 bytes",
       pcrs_with(cbor::Value::Uint(3), cbor::Value::Bytes(std::vector<uint8_t>(32))),
       ErrorCode::kAttestBadField},
      {"PCR index 32",
       pcrs_with(cbor::Value::Uint(32), cbor::Value::Bytes(std::vector<uint8_t>(48))),
       ErrorCode::kAttestBadField},
      {"PCR text index",
       pcrs_with(cbor::Value::Text("0"), cbor::Value::Bytes(std::vector<uint8_t>(48))),
       ErrorCode::kAttestBadField},
      {"certificate text", [](Entries& e) { SetField(e, "certificate", cbor::Value::Text("x")); },
       ErrorCode::kAttestBadField},
      {"cabundle empty", [](Entries& e) { SetField(e, "cabundle", cbor::Value::Array({})); },
       ErrorCode::kAttestBadField},
      {"user_data 1025 bytes",
       [](Entries& e) { SetField(e, "user_data", cbor::Value::Bytes(std::vector<uint8_t>(1025))); },
       ErrorCode::kAttestBadField},
      {"nonce 1025 bytes",
       [](Entries& e) { SetField(e, "nonce", cbor::Value::Bytes(std::vector<uint8_t>(1025))); },
       ErrorCode::kAttestBadField},
      {"public_key 1025 bytes",
       [](Entries& e) {
         SetField(e, "public_key", cbor::Value::Bytes(std::vector<uint8_t>(1025)));
       },
       ErrorCode::kAttestBadField},
      {"nonce as int", [](Entries& e) { SetField(e, "nonce", cbor::Value::Uint(1)); },
       ErrorCode::kAttestBadField},
      {"unknown key", [](Entries& e) { SetField(e, "extra", cbor::Value::Uint(1)); },
       ErrorCode::kAttestBadField},
      {"integer key",
       [](Entries& e) { e.emplace_back(cbor::Value::Uint(1), cbor::Value::Uint(1)); },
       ErrorCode::kAttestMalformed},
  };
  auto verifier = MakeVerifier(Policy{});
  const std::vector<uint8_t> original = Document(kProductionDocument);
  for (const FieldCase& c : cases) {
    SCOPED_TRACE(c.label);
    Verification v = VerifyAt(*verifier, Rewrap(original, c.edit), TimestampS(kProductionDocument));
    EXPECT_EQ(v.report.FirstFailure(), c.code);
    EXPECT_EQ(Step(v.report, "payload_fields").code, c.code);
  }
}

TEST(NitroVerifierTest, NullOptionalFieldsAreAbsent) {
  std::vector<uint8_t> doc = Rewrap(Document(kProductionDocument), [](auto& e) {
    SetField(e, "public_key", cbor::Value::Null());
    SetField(e, "user_data", cbor::Value::Null());
  });
  Verification v = VerifyAt(*MakeVerifier(Policy{}), doc, TimestampS(kProductionDocument));
  EXPECT_EQ(Step(v.report, "payload_fields").status, StepStatus::kPassed);
  EXPECT_FALSE(v.report.public_key.has_value());
  EXPECT_FALSE(v.report.user_data.has_value());
}

TEST(NitroVerifierTest, PayloadNotAMapIsMalformed) {
  EXPECT_THAT(DecodePayload(Hex("80")), HasError(ErrorCode::kAttestMalformed));
}

TEST(NitroVerifierTest, CaAsLeafFailsLeafConstraints) {
  // Put the instance CA (last cabundle entry) in the leaf's place: the chain to it is valid.
  std::vector<uint8_t> doc = Rewrap(Document(kProductionDocument), [](auto& e) {
    cbor::Value ca = FindField(e, "cabundle")->array_items().back();
    std::vector<cbor::Value> bundle = FindField(e, "cabundle")->array_items();
    bundle.pop_back();
    SetField(e, "cabundle", cbor::Value::Array(std::move(bundle)));
    SetField(e, "certificate", std::move(ca));
  });
  Verification v = VerifyAt(*MakeVerifier(Policy{}), doc, TimestampS(kProductionDocument));
  EXPECT_EQ(Step(v.report, "certificate_chain").status, StepStatus::kPassed);
  EXPECT_EQ(v.report.FirstFailure(), ErrorCode::kAttestLeafConstraints);
}

TEST(NitroVerifierTest, BadPoliciesAreRefused) {
  Policy bad_index;
  bad_index.pcr_pins[32] = std::vector<uint8_t>(48);
  EXPECT_THAT(NitroVerifier::New(AwsRoot(), bad_index), HasError(ErrorCode::kAttestBadPolicy));
  Policy bad_size;
  bad_size.pcr_pins[0] = std::vector<uint8_t>(32);
  EXPECT_THAT(NitroVerifier::New(AwsRoot(), bad_size), HasError(ErrorCode::kAttestBadPolicy));
  Policy bad_age;
  bad_age.max_age_s = -1;
  EXPECT_THAT(NitroVerifier::New(AwsRoot(), bad_age), HasError(ErrorCode::kAttestBadPolicy));
  Policy bad_nonce;
  bad_nonce.expected_nonce = std::vector<uint8_t>(1025);
  EXPECT_THAT(NitroVerifier::New(AwsRoot(), bad_nonce), HasError(ErrorCode::kAttestBadPolicy));
}

TEST(NitroVerifierTest, NitroChainNeedsTheKeyIdentifierWaiver) {
  // Nitro instance CAs and leaves have no authority/subject key identifiers: the strict
  // profile rejects them unless allow_missing_key_identifiers is set; nothing else is waived.
  std::vector<uint8_t> doc = Document(kProductionDocument);
  Result<cose::ParsedSign1> envelope = ParseEnvelope(doc);
  ASSERT_THAT(envelope, IsOk());
  Result<Payload> payload = DecodePayload(*envelope->payload());
  ASSERT_THAT(payload, IsOk());
  Result<crypto::Certificate> leaf = crypto::Certificate::FromDer(payload->certificate);
  ASSERT_THAT(leaf, IsOk());
  std::vector<crypto::Certificate> intermediates;
  for (size_t i = 1; i < payload->cabundle.size(); ++i) {
    Result<crypto::Certificate> cert = crypto::Certificate::FromDer(payload->cabundle[i]);
    ASSERT_THAT(cert, IsOk());
    intermediates.push_back(*std::move(cert));
  }
  const crypto::Certificate root = AwsRoot();
  crypto::ChainOptions options;
  options.verification_time_unix = TimestampS(kProductionDocument);
  EXPECT_THAT(crypto::VerifyChain(*leaf, intermediates, std::span(&root, 1), options),
              HasError(ErrorCode::kX509ChainInvalid));
  options.allow_missing_key_identifiers = true;
  Result<crypto::VerifiedChain> chain =
      crypto::VerifyChain(*leaf, intermediates, std::span(&root, 1), options);
  ASSERT_THAT(chain, IsOk());
  EXPECT_EQ(chain->path().size(), 5u);
  // The waiver does not touch validity.
  options.verification_time_unix += 4 * 3600;
  EXPECT_THAT(crypto::VerifyChain(*leaf, intermediates, std::span(&root, 1), options),
              HasError(ErrorCode::kX509Expired));
}

TEST(NitroVerifierTest, EmbeddedAwsRootMatchesTheSharedFile) {
  Result<crypto::Certificate> root = AwsNitroRootG1();
  ASSERT_THAT(root, IsOk());
  std::vector<uint8_t> der =
      ReadFileBytes(SharedVectorPath("nitro/aws-nitro-enclaves-root-g1.der"));
  EXPECT_EQ(std::vector<uint8_t>(root->der().begin(), root->der().end()), der);
  EXPECT_EQ(HexEncode(root->Sha256Fingerprint()),
            ReadJson(SharedVectorPath("nitro/expected.json"))["root_g1_sha256"].get<std::string>());
}

TEST(NitroVerifierTest, ReportRendersAsJson) {
  auto verifier = MakeVerifier(Policy{});
  Verification v =
      VerifyAt(*verifier, Document(kDebugDocuments[0]), TimestampS(kDebugDocuments[0]));
  nlohmann::json j = nlohmann::json::parse(v.report.ToJson());
  EXPECT_EQ(j["platform"], "aws-nitro");
  EXPECT_EQ(j["verified"], false);
  EXPECT_EQ(j["debug"], true);
  EXPECT_EQ(j["first_failure"], "ATTEST_DEBUG_MODE");
  EXPECT_EQ(j["nonce"], "8013cf2d252821a740e526102b9cd3d0");
  EXPECT_TRUE(j["public_key"].is_null());
  EXPECT_EQ(j["steps"].size(), v.report.steps.size());
}

}  // namespace
}  // namespace eml::attest::nitro
