// BrokerDataKeySource against the real key broker (SQLite store, policy verifier, HPKE) behind
// its real HTTP server on loopback, with sim evidence. The cached all-MiniLM-L6-v2 model
// (scripts/fetch-model) is packed into a signed, encrypted package that boots with the
// released key. A scripted server in front of the broker tampers with its answers.
#include "enclave/broker_key_source.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "attest/sim/sim_provider.h"
#include "common/encoding.h"
#include "crypto/ed25519.h"
#include "crypto/hash.h"
#include "crypto/random.h"
#include "crypto/x25519.h"
#include "enclave/evidence.h"
#include "enclave/model_boot.h"
#include "host/egress_proxy.h"
#include "http/http_client.h"
#include "http/testing/loopback_server.h"
#include "keys/http/server.h"
#include "keys/key_broker.h"
#include "keys/testing/broker_fixture.h"
#include "model/manifest.h"
#include "model/model_directory.h"
#include "model/package.h"
#include "model/store.h"
#include "testing/test_util.h"

namespace eml::enclave {
namespace {

namespace fs = std::filesystem;
using ::eml::testing::HasError;
using ::eml::testing::IsOk;
using ::testing::HasSubstr;
using Json = nlohmann::json;

constexpr char kModelId[] = "all-MiniLM-L6-v2";
constexpr char kVersion[] = "1";
constexpr char kAdminToken[] = "release-test-admin-token-0123456789";
// Files of the cached model the package holds (the ONNX exports are left out).
constexpr const char* kModelFiles[] = {"config.json", "tokenizer.json", "model.safetensors"};

// The package is packed once for the suite: encrypting the weights takes seconds.
struct Package {
  fs::path dir;
  std::optional<crypto::Ed25519PrivateKey> owner;
  SecretBytes dek;
  air::Sha256Digest model_hash{};
  std::string StoreUrl() const { return "file://" + (dir / "store").string(); }
};
Package* g_package = nullptr;

class BrokerKeySourceTest : public keys::testing::BrokerFixture {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/eml-broker-source-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    g_package = new Package();
    g_package->dir = tmpl;
    const fs::path source = model::DefaultModelDirectoryPath();
    const fs::path plain = g_package->dir / "model";
    for (const char* name : kModelFiles) {
      std::error_code ec;
      fs::create_directories(plain);
      fs::create_hard_link(source / name, plain / name, ec);
      if (ec) {
        fs::copy_file(source / name, plain / name);
      }
    }
    Result<crypto::Ed25519PrivateKey> owner = crypto::Ed25519PrivateKey::Generate();
    ASSERT_THAT(owner, IsOk());
    g_package->owner.emplace(*std::move(owner));
    Result<SecretBytes> dek = crypto::RandomSecret(32);
    ASSERT_THAT(dek, IsOk());
    g_package->dek = *std::move(dek);
    model::PackOptions options;
    options.model_id = kModelId;
    options.version = kVersion;
    Result<model::Manifest> manifest =
        model::PackModel(plain, g_package->dir / "pkg", g_package->dek, *g_package->owner, options);
    ASSERT_THAT(manifest, IsOk());
    g_package->model_hash = manifest->model_hash;
    fs::create_directories(g_package->dir / "store");
    Result<std::unique_ptr<model::ModelStore>> store = model::OpenModelStore(g_package->StoreUrl());
    ASSERT_THAT(store, IsOk());
    ASSERT_THAT((*store)->Publish(g_package->dir / "pkg"), IsOk());
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    fs::remove_all(g_package->dir, ec);
    delete g_package;
    g_package = nullptr;
  }

  void SetUp() override {
    BrokerFixture::SetUp();
    ASSERT_NE(g_package, nullptr);
    OpenOrDie();
    keys::http::ServerOptions options;
    options.admin_token = SecretBytes::CopyFrom(AsBytes(kAdminToken));
    options.num_threads = 2;
    Result<std::unique_ptr<keys::http::BrokerServer>> server =
        keys::http::BrokerServer::Start(*broker_, std::move(options));
    ASSERT_THAT(server, IsOk());
    server_ = *std::move(server);
    evidence_ = NewSource("enclave config");
  }
  void TearDown() override {
    server_.reset();
    BrokerFixture::TearDown();
  }

  std::string BrokerUrl() const { return "http://127.0.0.1:" + std::to_string(server_->port()); }

  // NewSource: a sim source whose PCR1 is SHA-384 of `config`, on the fixture's clock.
  std::unique_ptr<SimEvidenceSource> NewSource(const std::string& config) {
    const fs::path state = dir_ / "sim";
    Result<attest::sim::SimProvider> root_only = attest::sim::SimProvider::Create(
        state, {AsBytes("enclave binary"), AsBytes(config), AsBytes("")}, now_.load());
    EML_CHECK(root_only.has_value());
    const std::vector<uint8_t> anchors(root_only->root().der().begin(),
                                       root_only->root().der().end());
    Result<attest::sim::SimProvider> provider = attest::sim::SimProvider::Create(
        state, {AsBytes("enclave binary"), AsBytes(config), anchors}, now_.load());
    EML_CHECK(provider.has_value());
    return std::make_unique<SimEvidenceSource>(
        *std::move(provider), [this] { return static_cast<uint64_t>(now_.load()) * 1000; });
  }

  // Policy pins PCR0..2 to the source's, with PCR1 replaced by `pcr1` when given.
  std::string Policy(std::optional<std::vector<uint8_t>> pcr1 = std::nullopt) const {
    const air::Measurements& m = evidence_->measurements();
    const std::string root = ::eml::testing::ReadFileText(dir_ / "sim" / attest::sim::kStateSubdir /
                                                          attest::sim::kRootCertFile);
    const Json pcrs = {{"0", HexEncode(m.pcr0)},
                       {"1", HexEncode(pcr1.has_value() ? *pcr1 : m.pcr1)},
                       {"2", HexEncode(m.pcr2)}};
    const Json policy = {{"version", 1},
                         {"evidence",
                          {{"version", 1},
                           {"platforms", {{"sim", {{"roots", {root}}, {"pcrs", pcrs}}}}},
                           {"max_evidence_age_s", 600}}},
                         {"security_modes", {"evaluation"}}};
    return policy.dump();
  }

  void Register(const std::string& policy) {
    Result<keys::KeyInfo> info =
        broker_->Register(keys::KeyRef{kModelId, kVersion}, g_package->dek, policy);
    ASSERT_THAT(info, IsOk());
  }

  BrokerClientOptions Options(std::string url) {
    BrokerClientOptions options;
    options.broker_url = std::move(url);
    options.attempts = 3;
    options.backoff = std::chrono::milliseconds(100);
    options.sleep = [this](std::chrono::milliseconds ms) { sleeps_.push_back(ms); };
    return options;
  }

  std::unique_ptr<BrokerDataKeySource> Source(const std::string& url) {
    Result<std::unique_ptr<BrokerDataKeySource>> source =
        BrokerDataKeySource::Create(evidence_.get(), Options(url));
    EML_CHECK(source.has_value());
    return *std::move(source);
  }

  // Manifest: the published package's manifest, verified with the owner key.
  static model::VerifiedManifest Manifest() {
    const fs::path version_dir = g_package->dir / "store" / kModelId / kVersion;
    const std::vector<uint8_t> json = ::eml::testing::ReadFileBytes(version_dir / "manifest.json");
    Result<std::array<uint8_t, crypto::kEd25519SignatureSize>> signature =
        model::ParseSignatureFile(::eml::testing::ReadFileBytes(version_dir / "manifest.sig"));
    EML_CHECK(signature.has_value());
    Result<model::VerifiedManifest> verified =
        model::VerifiedManifest::Verify(json, *signature, g_package->owner->public_key());
    EML_CHECK(verified.has_value());
    return *std::move(verified);
  }

  Result<BootedModel> Boot(DataKeySource& keys) {
    Result<std::unique_ptr<model::ModelStore>> store = OpenBootStore(g_package->StoreUrl());
    EML_CHECK(store.has_value());
    const BootRequest request{.model_id = kModelId,
                              .version = kVersion,
                              .owner_key = g_package->owner->public_key(),
                              .store = **store};
    BootOptions options;
    options.engine.num_threads = 2;
    return BootModel(request, keys, nullptr, options);
  }

  // Tamper starts a scripted server that forwards every request to the broker and lets
  // `mutate` rewrite the broker's answer (path, status, body).
  using Mutation = std::function<void(const std::string& path, int& status, std::string& body)>;
  std::unique_ptr<http::testing::LoopbackServer> Tamper(Mutation mutate) {
    const std::string upstream = BrokerUrl();
    Result<std::unique_ptr<http::testing::LoopbackServer>> server =
        http::testing::LoopbackServer::Start(
            [upstream, mutate](const http::testing::RecordedRequest& request) {
              Result<std::unique_ptr<http::HttpClient>> client = http::HttpClient::Create();
              EML_CHECK(client.has_value());
              http::Request forward;
              forward.method = request.method;
              forward.url = upstream + request.target;
              forward.body = request.body;
              forward.headers.emplace_back("Content-Type", "application/json");
              Result<http::Response> response = (*client)->Send(forward);
              EML_CHECK(response.has_value());
              int status = response->status;
              std::string body(response->body.begin(), response->body.end());
              mutate(request.target, status, body);
              return http::testing::Reply(status, body, {{"Content-Type", "application/json"}});
            });
    EML_CHECK(server.has_value());
    return *std::move(server);
  }

  // MutateRelease applies `edit` to the JSON of a successful release answer.
  static Mutation MutateRelease(std::function<void(Json&)> edit) {
    return [edit](const std::string& path, int& status, std::string& body) {
      if (path != "/v1/release" || status != 200) {
        return;
      }
      Json doc = Json::parse(body);
      edit(doc);
      body = doc.dump();
    };
  }

  keys::AuditRow LastRelease() const {
    std::vector<keys::AuditRow> rows = AllAudit(keys::KeyRef{kModelId, kVersion});
    EML_CHECK(!rows.empty());
    return rows.back();
  }

  std::unique_ptr<keys::http::BrokerServer> server_;
  std::unique_ptr<SimEvidenceSource> evidence_;
  std::vector<std::chrono::milliseconds> sleeps_;
};

TEST_F(BrokerKeySourceTest, ReleasedKeyBootsThePackage) {
  Register(Policy());
  std::unique_ptr<BrokerDataKeySource> source = Source(BrokerUrl());
  Result<BootedModel> booted = Boot(*source);
  ASSERT_THAT(booted, IsOk());
  EXPECT_EQ(booted->model_hash, g_package->model_hash);
  EXPECT_EQ(booted->files_decrypted, 1u);
  Result<engine::EmbedResult> embedded =
      booted->embedder->Embed(std::vector<std::string>{"released by attestation"});
  ASSERT_THAT(embedded, IsOk());
  EXPECT_EQ(embedded->dim, 384u);
  const keys::AuditRow row = LastRelease();
  EXPECT_EQ(row.action, "release");
  EXPECT_TRUE(row.allowed);
  EXPECT_EQ(row.platform, "sim");
  EXPECT_TRUE(sleeps_.empty());
}

TEST_F(BrokerKeySourceTest, DataKeyEqualsTheRegisteredKey) {
  Register(Policy());
  Result<SecretBytes> key = Source(BrokerUrl())->DataKey(Manifest());
  ASSERT_THAT(key, IsOk());
  EXPECT_TRUE(ConstantTimeEquals(key->Reveal(InsecureSecretAccess::Get()),
                                 g_package->dek.Reveal(InsecureSecretAccess::Get())));
}

// The enclave's way out on Nitro: the host's egress proxy on a socket (here a Unix socket; VSock
// takes the same path), named by --egress-proxy unix:PATH.
TEST_F(BrokerKeySourceTest, KeyIsReleasedThroughTheEgressProxyOnAUnixSocket) {
  Register(Policy());
  char dir[] = "/tmp/eml-egress-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  host::EgressProxyOptions egress;
  egress.listen.kind = channel::Address::Kind::kUnix;
  egress.listen.unix_path = std::string(dir) + "/egress.sock";
  egress.allow = {"127.0.0.1:" + std::to_string(server_->port())};
  Result<std::unique_ptr<host::EgressProxy>> proxy = host::EgressProxy::Start(egress);
  ASSERT_THAT(proxy, IsOk());
  BrokerClientOptions options = Options(BrokerUrl());
  options.proxy = (*proxy)->address();
  Result<std::unique_ptr<BrokerDataKeySource>> source =
      BrokerDataKeySource::Create(evidence_.get(), options);
  ASSERT_THAT(source, IsOk());
  Result<SecretBytes> key = (*source)->DataKey(Manifest());
  ASSERT_THAT(key, IsOk());
  EXPECT_TRUE(ConstantTimeEquals(key->Reveal(InsecureSecretAccess::Get()),
                                 g_package->dek.Reveal(InsecureSecretAccess::Get())));
  EXPECT_TRUE(LastRelease().allowed);
  EXPECT_GE((*proxy)->Stats().accepted, 1u);  // the challenge and the release went through it
  (*proxy)->Stop();
  fs::remove_all(dir);
}

TEST_F(BrokerKeySourceTest, AnotherPcr1IsDeniedWithTheBrokersCode) {
  const auto other_pcr1 = crypto::Sha384(AsBytes("another enclave configuration"));
  Register(Policy(std::vector<uint8_t>(other_pcr1.begin(), other_pcr1.end())));
  std::unique_ptr<BrokerDataKeySource> source = Source(BrokerUrl());
  Result<SecretBytes> key = source->DataKey(Manifest());
  ASSERT_THAT(key, HasError(ErrorCode::kBootKeyDenied));
  EXPECT_THAT(key.error().detail, HasSubstr("BROKER_MEASUREMENT_MISMATCH"));
  EXPECT_EQ(LastRelease().code, static_cast<int>(ErrorCode::kBrokerMeasurementMismatch));
  EXPECT_TRUE(sleeps_.empty());  // a denial is final
  // BootModel passes the denial through (exit code 21).
  EXPECT_THAT(Boot(*source), HasError(ErrorCode::kBootKeyDenied));
  EXPECT_EQ(BootExitCode(ErrorCode::kBootKeyDenied), 21);
}

TEST_F(BrokerKeySourceTest, EnclaveWithAnotherConfigurationIsDenied) {
  Register(Policy());
  const std::unique_ptr<SimEvidenceSource> other = NewSource("another enclave configuration");
  Result<std::unique_ptr<BrokerDataKeySource>> source =
      BrokerDataKeySource::Create(other.get(), Options(BrokerUrl()));
  ASSERT_THAT(source, IsOk());
  EXPECT_THAT((*source)->DataKey(Manifest()), HasError(ErrorCode::kBootKeyDenied));
  EXPECT_EQ(LastRelease().code, static_cast<int>(ErrorCode::kBrokerMeasurementMismatch));
}

TEST_F(BrokerKeySourceTest, RevokedKeyIsDenied) {
  Register(Policy());
  ASSERT_THAT(broker_->Revoke(keys::KeyRef{kModelId, kVersion}), IsOk());
  Result<SecretBytes> key = Source(BrokerUrl())->DataKey(Manifest());
  ASSERT_THAT(key, HasError(ErrorCode::kBootKeyDenied));
  EXPECT_THAT(key.error().detail, HasSubstr("BROKER_KEY_REVOKED"));
  EXPECT_TRUE(sleeps_.empty());
}

TEST_F(BrokerKeySourceTest, UnregisteredKeyIsARejectedRequestNotADenial) {
  std::unique_ptr<BrokerDataKeySource> source = Source(BrokerUrl());
  Result<SecretBytes> key = source->DataKey(Manifest());
  ASSERT_THAT(key, HasError(ErrorCode::kBootKeyBadRequest));  // HTTP 404
  EXPECT_THAT(key.error().detail, HasSubstr("BROKER_UNKNOWN_KEY"));
  EXPECT_THAT(key.error().detail, HasSubstr("HTTP 404"));
  EXPECT_TRUE(sleeps_.empty());  // final, like a denial
  // BootModel passes it through with its own exit code.
  EXPECT_THAT(Boot(*source), HasError(ErrorCode::kBootKeyBadRequest));
  EXPECT_EQ(BootExitCode(ErrorCode::kBootKeyBadRequest), 23);
}

TEST_F(BrokerKeySourceTest, ClosedPortIsUnavailableAfterEveryAttempt) {
  // A port that was just free: bind, read it back, close.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  ::close(fd);
  const std::string url = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  std::unique_ptr<BrokerDataKeySource> source = Source(url);
  EXPECT_THAT(source->DataKey(Manifest()), HasError(ErrorCode::kBootBrokerUnavailable));
  EXPECT_THAT(sleeps_, ::testing::ElementsAre(std::chrono::milliseconds(100),
                                              std::chrono::milliseconds(200)));
  EXPECT_EQ(BootExitCode(ErrorCode::kBootBrokerUnavailable), 22);
  // Through BootModel too.
  sleeps_.clear();
  EXPECT_THAT(Boot(*source), HasError(ErrorCode::kBootBrokerUnavailable));
}

TEST_F(BrokerKeySourceTest, ServerErrorIsRetriedFromAFreshChallenge) {
  Register(Policy());
  int failures_left = 1;
  auto tamper = Tamper([&failures_left](const std::string& path, int& status, std::string& body) {
    if (path == "/v1/release" && failures_left > 0) {
      --failures_left;
      status = 503;
      body = "{}";
    }
  });
  Result<SecretBytes> key = Source(tamper->Url())->DataKey(Manifest());
  ASSERT_THAT(key, IsOk());
  EXPECT_EQ(sleeps_.size(), 1u);
  // Two challenges were asked for: the retry does not reuse the consumed one.
  size_t challenges = 0;
  for (const auto& request : tamper->Requests()) {
    if (request.target == "/v1/challenge") {
      ++challenges;
    }
  }
  EXPECT_EQ(challenges, 2u);
}

TEST_F(BrokerKeySourceTest, GarbageAnswerIsBadAnswer) {
  Register(Policy());
  auto tamper = Tamper([](const std::string& path, int&, std::string& body) {
    if (path == "/v1/release") {
      body = "<html>hello</html>";
    }
  });
  EXPECT_THAT(Source(tamper->Url())->DataKey(Manifest()), HasError(ErrorCode::kReleaseBadAnswer));
  EXPECT_TRUE(sleeps_.empty());
}

TEST_F(BrokerKeySourceTest, GarbageChallengeIsBadAnswer) {
  auto tamper = Tamper([](const std::string& path, int&, std::string& body) {
    if (path == "/v1/challenge") {
      body = R"({"nonce":"AAAA","expires_at":1})";
    }
  });
  EXPECT_THAT(Source(tamper->Url())->DataKey(Manifest()), HasError(ErrorCode::kReleaseBadAnswer));
}

TEST_F(BrokerKeySourceTest, ShortCiphertextIsBadAnswer) {
  Register(Policy());
  auto tamper = Tamper(MutateRelease([](Json& doc) {
    std::vector<uint8_t> ciphertext = *Base64UrlDecode(doc["ciphertext"].get<std::string>());
    ciphertext.pop_back();
    doc["ciphertext"] = Base64UrlEncode(ciphertext);
  }));
  EXPECT_THAT(Source(tamper->Url())->DataKey(Manifest()), HasError(ErrorCode::kReleaseBadAnswer));
}

TEST_F(BrokerKeySourceTest, EncForAnotherKeyDoesNotOpen) {
  Register(Policy());
  Result<crypto::X25519PrivateKey> other = crypto::X25519PrivateKey::Generate();
  ASSERT_THAT(other, IsOk());
  const std::string other_enc = Base64UrlEncode(other->public_key().bytes());
  auto tamper = Tamper(MutateRelease([other_enc](Json& doc) { doc["enc"] = other_enc; }));
  EXPECT_THAT(Source(tamper->Url())->DataKey(Manifest()), HasError(ErrorCode::kReleaseOpenFailed));
}

TEST_F(BrokerKeySourceTest, AnswerForOtherEvidenceIsRefused) {
  Register(Policy());
  auto tamper = Tamper(MutateRelease([](Json& doc) {
    doc["evidence_sha256"] = Base64UrlEncode(crypto::Sha256(AsBytes("other evidence")));
  }));
  EXPECT_THAT(Source(tamper->Url())->DataKey(Manifest()),
              HasError(ErrorCode::kReleaseEvidenceMismatch));
}

TEST_F(BrokerKeySourceTest, NonJsonRefusalIsUnexpectedStatus) {
  auto tamper = Tamper([](const std::string&, int& status, std::string& body) {
    status = 404;
    body = "not found";
  });
  EXPECT_THAT(Source(tamper->Url())->DataKey(Manifest()),
              HasError(ErrorCode::kReleaseUnexpectedStatus));
}

TEST_F(BrokerKeySourceTest, CreateChecksTheOptions) {
  EXPECT_THAT(BrokerDataKeySource::Create(evidence_.get(), Options("ftp://x")),
              HasError(ErrorCode::kEnclaveBadConfig));
  BrokerClientOptions zero = Options(BrokerUrl());
  zero.attempts = 0;
  EXPECT_THAT(BrokerDataKeySource::Create(evidence_.get(), zero),
              HasError(ErrorCode::kEnclaveBadConfig));
  BrokerClientOptions proxy = Options(BrokerUrl());
  proxy.proxy = "socks5://127.0.0.1:1";
  EXPECT_THAT(BrokerDataKeySource::Create(evidence_.get(), proxy),
              HasError(ErrorCode::kEnclaveBadConfig));
  proxy.proxy = "unix:";
  EXPECT_THAT(BrokerDataKeySource::Create(evidence_.get(), proxy),
              HasError(ErrorCode::kEnclaveBadConfig));
  proxy.proxy = "vsock:3:3128";
  EXPECT_THAT(BrokerDataKeySource::Create(evidence_.get(), proxy), IsOk());
}

}  // namespace
}  // namespace eml::enclave
