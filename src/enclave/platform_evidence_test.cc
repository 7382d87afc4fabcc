// The hardware evidence sources against stand-ins for their platform interfaces: an NSM
// transport answering with constructed responses around a real Nitro document, a configfs-tsm
// tree whose kernel part builds real TDX quotes and SEV-SNP reports under the test PKIs (so the
// envelopes are checked with the real PolicyVerifier), and a fake launcher token socket.

#include "enclave/platform_evidence.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "attest/envelope.h"
#include "attest/gcp/testing/fake_launcher.h"
#include "attest/policy.h"
#include "attest/report_binding.h"
#include "attest/sevsnp/report.h"
#include "attest/sevsnp/testing/snp_test_pki.h"
#include "attest/tdx/testing/tdx_test_pki.h"
#include "attest/tsm/testing/fake_configfs.h"
#include "cbor/encoder.h"
#include "cbor/value.h"
#include "enclave/service.h"
#include "enclave/testing/sim_fixture.h"
#include "enclave/testing/tdx_fixture.h"
#include "testing/test_util.h"

namespace eml::enclave {
namespace {

namespace fs = std::filesystem;
using ::eml::testing::HasError;
using ::eml::testing::IsOk;
using ::eml::testing::ReadFileBytes;
using ::eml::testing::SharedVectorPath;

const std::vector<uint8_t> kKey(32, 0x42);
const std::vector<uint8_t> kNonce(16, 0x07);
const std::vector<uint8_t> kUserData = {0xA1, 0x61, 0x6D, 0x02};
constexpr int64_t kTdxAt = 1'700'000'000;  // inside the collateral written below

std::vector<uint8_t> Encoded(const cbor::Value& v) {
  Result<std::vector<uint8_t>> bytes = cbor::Encode(v);
  EML_CHECK(bytes.has_value());
  return *std::move(bytes);
}

// FakeNsm answers DescribePCR with `pcr_bytes` bytes of (index + 1) and Attestation with a
// real Nitro document; it records the attestation requests.
class FakeNsm final : public attest::nitro::NsmTransport {
 public:
  explicit FakeNsm(size_t pcr_bytes, std::vector<std::vector<uint8_t>>* requests)
      : pcr_bytes_(pcr_bytes), requests_(requests) {}
  Result<std::vector<uint8_t>> Call(std::span<const uint8_t> request) override {
    for (uint16_t index = 0; index < 16; ++index) {
      const std::vector<uint8_t> describe = attest::nitro::EncodeDescribePcrRequest(index);
      if (std::equal(request.begin(), request.end(), describe.begin(), describe.end())) {
        const auto pcr = cbor::Value::Map(
            {{cbor::Value::Text("lock"), cbor::Value::Bool(true)},
             {cbor::Value::Text("data"), cbor::Value::Bytes(std::vector<uint8_t>(
                                             pcr_bytes_, static_cast<uint8_t>(index + 1)))}});
        return Encoded(cbor::Value::Map({{cbor::Value::Text("DescribePCR"), pcr}}));
      }
    }
    requests_->emplace_back(request.begin(), request.end());
    const auto doc =
        cbor::Value::Map({{cbor::Value::Text("document"), cbor::Value::Bytes(Document())}});
    return Encoded(cbor::Value::Map({{cbor::Value::Text("Attestation"), doc}}));
  }
  static std::vector<uint8_t> Document() {
    return ReadFileBytes(SharedVectorPath("nitro/cape-js/cape-spec-attestationDocument.bin"));
  }

 private:
  size_t pcr_bytes_;
  std::vector<std::vector<uint8_t>>* requests_;
};

TEST(NitroEvidenceSourceTest, MeasuresPcrsAndAttestsThroughTheNsm) {
  std::vector<std::vector<uint8_t>> requests;
  Result<std::unique_ptr<NitroEvidenceSource>> source =
      NitroEvidenceSource::Create(std::make_unique<FakeNsm>(48, &requests), "enclave-1");
  ASSERT_THAT(source, IsOk());
  const air::Measurements& m = (*source)->measurements();
  EXPECT_EQ(m.measurement_type, air::kMeasurementTypeNitro);
  EXPECT_EQ(m.pcr0, std::vector<uint8_t>(48, 1));
  EXPECT_EQ(m.pcr1, std::vector<uint8_t>(48, 2));
  EXPECT_EQ(m.pcr2, std::vector<uint8_t>(48, 3));
  EXPECT_EQ((*source)->platform(), "aws-nitro");
  EXPECT_EQ((*source)->security_mode(), air::kSecurityModeProduction);
  EXPECT_EQ((*source)->issuer(), "enclave-1");

  Result<std::vector<uint8_t>> document = (*source)->Attest(kKey, kNonce, kUserData);
  ASSERT_THAT(document, IsOk());
  EXPECT_EQ(*document, FakeNsm::Document());
  attest::nitro::NsmAttestationRequest want;
  want.user_data = kUserData;
  want.nonce = kNonce;
  want.public_key = kKey;
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0], *attest::nitro::EncodeAttestationRequest(want));
  // Absent fields and an empty user_data are left out of the request.
  ASSERT_THAT((*source)->Attest(std::nullopt, std::nullopt, {}), IsOk());
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1], *attest::nitro::EncodeAttestationRequest({}));
}

TEST(NitroEvidenceSourceTest, PcrOfTheWrongSizeRefused) {
  std::vector<std::vector<uint8_t>> requests;
  EXPECT_THAT(NitroEvidenceSource::Create(std::make_unique<FakeNsm>(32, &requests), "e"),
              HasError(ErrorCode::kNsmMalformedResponse));
}

attest::PolicyVerifier MakeVerifier(const std::string& json, const fs::path& base) {
  Result<attest::EvidencePolicy> policy = attest::ParseEvidencePolicy(json, base);
  EML_CHECK(policy.has_value());
  Result<attest::PolicyVerifier> v = attest::PolicyVerifier::Create(*std::move(policy));
  EML_CHECK(v.has_value());
  return *std::move(v);
}

TEST(TsmEvidenceSourceTest, TdxEnvelopesVerifyUnderTheTestRoot) {
  const fs::path dir = testing::MakeTempDir();
  testing::FakeTdxMachine machine(dir, 1698796800, 1701388800);
  Result<std::unique_ptr<TsmEvidenceSource>> source =
      TsmEvidenceSource::Create(kPlatformTdx, machine.TsmOptions(), "td-1");
  ASSERT_THAT(source, IsOk());
  EXPECT_EQ(machine.kernel().reports(), 1);  // the measurement quote
  const air::Measurements& m = (*source)->measurements();
  EXPECT_EQ(m.measurement_type, air::kMeasurementTypeTdx);
  EXPECT_EQ(m.pcr0, machine.mrtd());
  EXPECT_EQ(m.pcr1.size(), 48u);
  EXPECT_TRUE(m.pcr3.has_value());
  EXPECT_FALSE(m.pcr4.has_value());
  EXPECT_EQ((*source)->security_mode(), air::kSecurityModeProduction);

  Result<std::vector<uint8_t>> envelope = (*source)->Attest(kKey, kNonce, kUserData);
  ASSERT_THAT(envelope, IsOk());
  const auto digest = attest::BindingDigest(kKey, attest::BoundNonce(kNonce, kUserData));
  EXPECT_EQ(machine.kernel().last_inblob(), std::vector<uint8_t>(digest.begin(), digest.end()));

  const attest::PolicyVerifier verifier = MakeVerifier(machine.PolicyJson(m.pcr0), dir);
  Result<attest::Verification> v = verifier.Verify(*envelope, kTdxAt, {kNonce, kKey});
  ASSERT_THAT(v, IsOk());
  ASSERT_TRUE(v->evidence.has_value()) << v->report.ToJson();
  EXPECT_EQ(v->evidence->platform(), "tdx");
  EXPECT_EQ(v->evidence->user_data(), kUserData);
  EXPECT_EQ(v->evidence->named_measurements().at("rtmr2"), *m.pcr3);

  // Nothing bound: empty key and nonce, still a verifiable envelope.
  Result<std::vector<uint8_t>> open = (*source)->Attest(std::nullopt, std::nullopt, {});
  ASSERT_THAT(open, IsOk());
  Result<attest::EvidenceEnvelope> decoded = attest::DecodeEnvelope(*open);
  ASSERT_THAT(decoded, IsOk());
  EXPECT_TRUE(decoded->public_key.empty() && decoded->nonce.empty());
  Result<attest::Verification> open_v = verifier.Verify(*open, kTdxAt, {});
  ASSERT_THAT(open_v, IsOk());
  EXPECT_TRUE(open_v->report.verified) << open_v->report.ToJson();
}

TEST(TsmEvidenceSourceTest, SevSnpEnvelopesVerifyButCannotBackReceipts) {
  const fs::path dir = testing::MakeTempDir();
  fs::create_directories(dir / "tsm");
  const attest::sevsnp::testing::TestPkiSpec spec;
  const attest::sevsnp::testing::TestSnpPki pki = attest::sevsnp::testing::TestSnpPki::Create(spec);
  auto kernel = std::make_shared<attest::tsm::testing::FakeConfigfs>(
      attest::tsm::kProviderSevSnp, [&pki, &spec](std::span<const uint8_t> inblob) {
        attest::sevsnp::AttestationReport report = attest::sevsnp::testing::BaseReport(spec);
        std::copy(inblob.begin(), inblob.end(), report.report_data.begin());
        return pki.SignReport(report);
      });
  attest::tsm::TsmOptions options;
  options.root = dir / "tsm";
  options.hooks_for_test = kernel;
  Result<std::unique_ptr<TsmEvidenceSource>> source =
      TsmEvidenceSource::Create(kPlatformSevSnp, options, "snp-1");
  ASSERT_THAT(source, IsOk());
  EXPECT_EQ(kernel->reports(), 0);
  EXPECT_TRUE((*source)->measurements().measurement_type.empty());

  Result<std::vector<uint8_t>> envelope = (*source)->Attest(kKey, kNonce, kUserData);
  ASSERT_THAT(envelope, IsOk());
  const nlohmann::json policy = {{"version", 1},
                                 {"platforms",
                                  {{"sev-snp",
                                    {{"roots", {attest::tdx::testing::ToPem(pki.ark().der())}},
                                     {"certificates",
                                      {attest::tdx::testing::ToPem(pki.ask().der()),
                                       attest::tdx::testing::ToPem(pki.endorsement().der())}}}}}}};
  Result<attest::Verification> v =
      MakeVerifier(policy.dump(), dir).Verify(*envelope, 1'800'000'000, {kNonce, kKey});
  ASSERT_THAT(v, IsOk());
  EXPECT_TRUE(v->report.verified) << v->report.ToJson();
  EXPECT_EQ(v->report.platform, "sev-snp");

  // AIR v1 cannot name SEV-SNP measurements: a Service on this source is refused up front.
  ModelIdentity model{"m", "1", {}, std::string(kModelHashScheme)};
  model.hash.fill(0x11);
  EXPECT_THAT(Service::Create(source->get(), nullptr, model),
              HasError(ErrorCode::kEnclaveBadConfig));
}

TEST(TsmEvidenceSourceTest, OnlyTdxAndSevSnp) {
  attest::tsm::TsmOptions options;
  options.root = testing::MakeTempDir();
  EXPECT_THAT(TsmEvidenceSource::Create(kPlatformGcpCs, options, "x"),
              HasError(ErrorCode::kInvalidArgument));
}

TEST(GcpEvidenceSourceTest, EnvelopeAroundATokenBindingKeyNonceAndUserData) {
  const fs::path socket = testing::MakeTempDir() / "teeserver.sock";
  const std::string token = "eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJ4In0.c2lnbmF0dXJl";
  Result<std::vector<uint8_t>> envelope = Error{ErrorCode::kInternal, "not run"};
  std::string body;
  {
    attest::gcp::testing::FakeLauncher launcher(
        socket,
        "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(token.size()) + "\r\n\r\n" + token);
    attest::gcp::TokenClientOptions options;
    options.socket_path = socket;
    const GcpEvidenceSource source(options, "https://relying-party.example", "OIDC", "cs-1");
    EXPECT_EQ(source.platform(), "gcp-cs");
    EXPECT_TRUE(source.measurements().measurement_type.empty());
    envelope = source.Attest(kKey, kNonce, kUserData);
    body = launcher.Body();
  }
  ASSERT_THAT(envelope, IsOk());
  const nlohmann::json request = nlohmann::json::parse(body);
  EXPECT_EQ(request["audience"], "https://relying-party.example");
  EXPECT_EQ(request["token_type"], "OIDC");
  EXPECT_EQ(request["nonces"], nlohmann::json::array({attest::GcpBindingNonce(
                                   kKey, attest::BoundNonce(kNonce, kUserData))}));
  Result<attest::EvidenceEnvelope> decoded = attest::DecodeEnvelope(*envelope);
  ASSERT_THAT(decoded, IsOk());
  EXPECT_EQ(decoded->platform, "gcp-cs");
  EXPECT_EQ(std::string(decoded->evidence.begin(), decoded->evidence.end()), token);
  EXPECT_EQ(decoded->public_key, kKey);
  EXPECT_EQ(decoded->nonce, kNonce);
  EXPECT_EQ(decoded->user_data, kUserData);
}

TEST(CreatePlatformEvidenceSourceTest, WiresEachPlatform) {
  const fs::path dir = testing::MakeTempDir();
  PlatformEvidenceOptions options;
  options.platform = "sim";
  EXPECT_THAT(CreatePlatformEvidenceSource(options), HasError(ErrorCode::kInvalidArgument));
  options.platform = "sgx";
  EXPECT_THAT(CreatePlatformEvidenceSource(options), HasError(ErrorCode::kInvalidArgument));
  options.platform = "nitro";
  options.nsm_device_path = (dir / "no-nsm").string();
  EXPECT_THAT(CreatePlatformEvidenceSource(options), HasError(ErrorCode::kNsmDeviceError));
  options.platform = "tdx";
  options.configfs_tsm_root = dir / "no-tsm";
  EXPECT_THAT(CreatePlatformEvidenceSource(options), HasError(ErrorCode::kTsmUnavailable));
  options.platform = "gcp-cs";
  EXPECT_THAT(CreatePlatformEvidenceSource(options), HasError(ErrorCode::kInvalidArgument));
  options.audience = "https://relying-party.example";
  options.token_type = "JWT";
  EXPECT_THAT(CreatePlatformEvidenceSource(options), HasError(ErrorCode::kInvalidArgument));
  options.token_type = "PKI";
  Result<std::unique_ptr<EvidenceSource>> gcp = CreatePlatformEvidenceSource(options);
  ASSERT_THAT(gcp, IsOk());
  EXPECT_EQ((*gcp)->platform(), "gcp-cs");
  EXPECT_EQ((*gcp)->issuer(), "ephemeralml-enclave/gcp-cs");
}

}  // namespace
}  // namespace eml::enclave
