// BrokerServer over real HTTP on loopback (the libcurl client from src/http) with the real
// broker core on a temporary database, and sim evidence for releases.
#include "keys/http/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <array>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "attest/sim/sim_provider.h"
#include "common/encoding.h"
#include "crypto/hash.h"
#include "crypto/hpke.h"
#include "crypto/random.h"
#include "crypto/x25519.h"
#include "http/http_client.h"
#include "keys/http/api.h"
#include "keys/key_broker.h"
#include "testing/test_util.h"

namespace eml::keys::http {
namespace {

namespace fs = std::filesystem;
using ::eml::testing::HasError;
using ::eml::testing::IsOk;
using Json = nlohmann::json;

constexpr char kToken[] = "test-admin-token-0123456789abcdef";

struct Reply {
  int status = 0;
  Json body;
  std::string connection;
};

std::string PemOf(const fs::path& file) { return testing::ReadFileText(file); }

class BrokerServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/eml-keys-http-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    Result<SecretBytes> master = crypto::RandomSecret(32);
    ASSERT_THAT(master, IsOk());
    Result<std::unique_ptr<KeyBroker>> broker =
        KeyBroker::Open((dir_ / "broker.db").string(), std::move(*master), {});
    ASSERT_THAT(broker, IsOk());
    broker_ = std::move(*broker);
    ServerOptions options;
    options.admin_token = SecretBytes::CopyFrom(AsBytes(kToken));
    options.num_threads = 4;
    Result<std::unique_ptr<BrokerServer>> server =
        BrokerServer::Start(*broker_, std::move(options));
    ASSERT_THAT(server, IsOk());
    server_ = std::move(*server);
    base_ = "http://127.0.0.1:" + std::to_string(server_->port());
    Result<attest::sim::SimProvider> sim = attest::sim::SimProvider::Create(
        dir_ / "sim", {AsBytes("enclave"), AsBytes("config"), AsBytes("anchors")}, Now());
    ASSERT_THAT(sim, IsOk());
    sim_.emplace(std::move(*sim));
  }
  void TearDown() override {
    server_.reset();
    broker_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  static int64_t Now() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

  Reply Call(const std::string& method, const std::string& path, const std::string& body = "",
             const char* token = kToken) {
    Result<std::unique_ptr<eml::http::HttpClient>> client = eml::http::HttpClient::Create();
    EXPECT_THAT(client, IsOk());
    eml::http::Request request;
    request.method = method;
    request.url = base_ + path;
    request.body.assign(body.begin(), body.end());
    request.headers.emplace_back("Content-Type", "application/json");
    if (token != nullptr) {
      request.headers.emplace_back("Authorization", std::string("Bearer ") + token);
    }
    Result<eml::http::Response> response = (*client)->Send(request);
    EXPECT_THAT(response, IsOk());
    Reply out;
    if (!response.has_value()) {
      return out;
    }
    out.status = response->status;
    out.body = Json::parse(response->body.begin(), response->body.end(), nullptr, false);
    const std::string* connection = response->Header("connection");
    out.connection = connection == nullptr ? "" : *connection;
    return out;
  }

  // ErrorOf returns the error code in an error reply's body.
  static int ErrorOf(const Reply& reply) {
    if (!reply.body.is_object() || !reply.body.contains("error")) {
      return -1;
    }
    return reply.body["error"]["code"].get<int>();
  }

  std::string SimPolicy() const {
    const Json policy = {
        {"version", 1},
        {"evidence",
         {{"version", 1},
          {"platforms",
           {{"sim", {{"roots", {PemOf(dir_ / "sim" / "attest-sim" / "root.pem")}}}}}}}},
        {"security_modes", {"evaluation"}}};
    return policy.dump();
  }

  void RegisterSimKey(const std::string& model, const std::string& version,
                      const std::vector<uint8_t>& dek) {
    RegisterBody body{model, version, SecretBytes::CopyFrom(dek), SimPolicy()};
    Result<std::string> text = EncodeRegisterBody(body);
    ASSERT_THAT(text, IsOk());
    const Reply r = Call("POST", "/v1/admin/keys", *text);
    ASSERT_EQ(r.status, 201) << r.body.dump();
    EXPECT_EQ(r.body["model_id"], model);
    EXPECT_EQ(r.body["state"], "active");
    EXPECT_FALSE(r.body.contains("data_key"));
  }

  // Release runs challenge + release for `model`/`version` with fresh sim evidence and returns
  // the opened DEK (empty on any failure).
  std::vector<uint8_t> ReleaseAndOpen(const std::string& model, const std::string& version) {
    const Reply challenge = Call("POST", "/v1/challenge", "", nullptr);
    EXPECT_EQ(challenge.status, 200);
    if (challenge.status != 200) {
      return {};
    }
    Result<std::vector<uint8_t>> nonce =
        Base64UrlDecode(challenge.body["nonce"].get<std::string>());
    EXPECT_THAT(nonce, IsOk());
    Result<crypto::X25519PrivateKey> sk = crypto::X25519PrivateKey::Generate();
    EXPECT_THAT(sk, IsOk());
    const std::vector<uint8_t> pk(sk->public_key().bytes().begin(), sk->public_key().bytes().end());
    attest::sim::AttestationRequest request;
    request.public_key = pk;
    request.nonce = *nonce;
    Result<std::vector<uint8_t>> evidence =
        sim_->Attest(request, static_cast<uint64_t>(Now()) * 1000);
    EXPECT_THAT(evidence, IsOk());
    const Reply released = Call(
        "POST", "/v1/release", EncodeReleaseBody({model, version, *evidence, *nonce, pk}), nullptr);
    EXPECT_EQ(released.status, 200) << released.body.dump();
    if (released.status != 200) {
      return {};
    }
    Result<std::vector<uint8_t>> enc = Base64UrlDecode(released.body["enc"].get<std::string>());
    Result<std::vector<uint8_t>> ct =
        Base64UrlDecode(released.body["ciphertext"].get<std::string>());
    Result<std::vector<uint8_t>> digest =
        Base64UrlDecode(released.body["evidence_sha256"].get<std::string>());
    EXPECT_THAT(enc, IsOk());
    EXPECT_THAT(ct, IsOk());
    EXPECT_THAT(digest, IsOk());
    const std::array<uint8_t, 32> expected_digest = crypto::Sha256(*evidence);
    EXPECT_EQ(*digest, std::vector<uint8_t>(expected_digest.begin(), expected_digest.end()));
    std::array<uint8_t, 32> digest_array{};
    std::copy_n(digest->begin(), 32, digest_array.begin());
    Result<crypto::HpkeSuite> suite = crypto::HpkeSuite::Create(0x0020, 0x0001, 0x0003);
    EXPECT_THAT(suite, IsOk());
    Result<std::vector<uint8_t>> dek =
        crypto::HpkeOpen(*suite, *enc, *sk, ReleaseInfo({model, version}, digest_array), {}, *ct);
    EXPECT_THAT(dek, IsOk());
    return dek.has_value() ? *dek : std::vector<uint8_t>();
  }

  fs::path dir_;
  std::unique_ptr<KeyBroker> broker_;
  std::unique_ptr<BrokerServer> server_;
  std::string base_;
  std::optional<attest::sim::SimProvider> sim_;
};

TEST_F(BrokerServerTest, HealthzAnswersOk) {
  const Reply r = Call("GET", "/healthz", "", nullptr);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body["status"], "ok");
}

TEST_F(BrokerServerTest, UnknownRoutesAndMethodsAre404) {
  EXPECT_EQ(Call("GET", "/nope", "", nullptr).status, 404);
  const Reply wrong_method = Call("GET", "/v1/challenge", "", nullptr);
  EXPECT_EQ(wrong_method.status, 404);
  EXPECT_EQ(ErrorOf(wrong_method), static_cast<int>(ErrorCode::kBrokerHttpNotFound));
  EXPECT_EQ(wrong_method.body["error"]["name"], "BROKER_HTTP_NOT_FOUND");
  EXPECT_EQ(Call("DELETE", "/v1/admin/keys").status, 404);
  EXPECT_EQ(Call("POST", "/v1/admin/keys/m/1/explode").status, 404);
  EXPECT_EQ(Call("POST", "/v1/admin/keys/m/1/2/revoke").status, 404);
}

TEST_F(BrokerServerTest, AdminRoutesRefuseMissingOrWrongToken) {
  for (const char* path : {"/v1/admin/keys", "/v1/admin/audit", "/v1/admin/unknown"}) {
    const Reply none = Call("GET", path, "", nullptr);
    EXPECT_EQ(none.status, 401) << path;
    EXPECT_EQ(ErrorOf(none), static_cast<int>(ErrorCode::kBrokerHttpUnauthorized));
    EXPECT_EQ(none.connection, "close");
    EXPECT_EQ(Call("GET", path, "", "test-admin-token-0123456789abcdeF").status, 401);
    EXPECT_EQ(Call("GET", path, "", "test-admin-token-0123456789abcde").status, 401);
    EXPECT_EQ(Call("GET", path, "", "").status, 401);
  }
  // Another scheme with the right secret is still refused.
  Result<std::unique_ptr<eml::http::HttpClient>> client = eml::http::HttpClient::Create();
  ASSERT_THAT(client, IsOk());
  eml::http::Request basic;
  basic.url = base_ + "/v1/admin/keys";
  basic.headers.emplace_back("Authorization", std::string("Basic ") + kToken);
  Result<eml::http::Response> r = (*client)->Send(basic);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->status, 401);
  // The right token, any scheme capitalisation, passes.
  basic.headers[0].second = std::string("bearer ") + kToken;
  r = (*client)->Send(basic);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->status, 200);
  // Nothing was registered or logged by the refused calls.
  EXPECT_EQ(Call("GET", "/v1/admin/keys").body["keys"].size(), 0u);
}

TEST_F(BrokerServerTest, RegisterListPolicyRevokeAndAudit) {
  RegisterSimKey("model-a", "1", std::vector<uint8_t>(32, 0x11));
  RegisterBody again{"model-a", "1", SecretBytes::CopyFrom(std::vector<uint8_t>(32, 1)),
                     SimPolicy()};
  const Reply exists = Call("POST", "/v1/admin/keys", *EncodeRegisterBody(again));
  EXPECT_EQ(exists.status, 409);
  EXPECT_EQ(ErrorOf(exists), static_cast<int>(ErrorCode::kBrokerKeyExists));

  const Reply list = Call("GET", "/v1/admin/keys");
  ASSERT_EQ(list.status, 200);
  ASSERT_EQ(list.body["keys"].size(), 1u);
  EXPECT_EQ(list.body["keys"][0]["version"], "1");
  EXPECT_TRUE(list.body["keys"][0]["policy"].is_object());
  EXPECT_EQ(list.body["keys"][0]["key_id"].get<std::string>().substr(0, 3), "kb-");

  const Reply policy =
      Call("PUT", "/v1/admin/keys/model-a/1/policy", *EncodePolicyBody(SimPolicy()));
  EXPECT_EQ(policy.status, 200) << policy.body.dump();
  const Reply bad_policy =
      Call("PUT", "/v1/admin/keys/model-a/1/policy", R"({"policy":{"version":99}})");
  EXPECT_EQ(bad_policy.status, 400);
  EXPECT_EQ(ErrorOf(bad_policy), static_cast<int>(ErrorCode::kBrokerBadPolicy));
  const Reply unknown =
      Call("PUT", "/v1/admin/keys/model-b/1/policy", *EncodePolicyBody(SimPolicy()));
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(ErrorOf(unknown), static_cast<int>(ErrorCode::kBrokerUnknownKey));

  const Reply revoked = Call("POST", "/v1/admin/keys/model-a/1/revoke");
  EXPECT_EQ(revoked.status, 200);
  EXPECT_EQ(revoked.body["state"], "revoked");
  EXPECT_EQ(Call("GET", "/v1/admin/keys").body["keys"][0]["state"], "revoked");

  const Reply audit = Call("GET", "/v1/admin/audit?model_id=model-a&version=1");
  ASSERT_EQ(audit.status, 200);
  std::vector<std::string> actions;
  for (const Json& row : audit.body["rows"]) {
    actions.push_back(row["action"].get<std::string>());
    EXPECT_EQ(row["model_id"], "model-a");
  }
  EXPECT_THAT(actions, ::testing::IsSupersetOf({"register", "policy", "revoke"}));
  const Reply limited = Call("GET", "/v1/admin/audit?limit=1");
  ASSERT_EQ(limited.status, 200);
  EXPECT_EQ(limited.body["rows"].size(), 1u);
  const int64_t first = limited.body["rows"][0]["id"].get<int64_t>();
  const Reply after = Call("GET", "/v1/admin/audit?after=" + std::to_string(first));
  ASSERT_EQ(after.status, 200);
  for (const Json& row : after.body["rows"]) {
    EXPECT_GT(row["id"].get<int64_t>(), first);
  }
  EXPECT_EQ(Call("GET", "/v1/admin/audit?limit=0").status, 400);
  EXPECT_EQ(Call("GET", "/v1/admin/audit?model_id=x").status, 400);
  EXPECT_EQ(Call("GET", "/v1/admin/keys?x=1").status, 400);
}

TEST_F(BrokerServerTest, ReleaseSealsTheKeyToTheAttestedRecipient) {
  const std::vector<uint8_t> dek(32, 0x5a);
  RegisterSimKey("model-a", "1", dek);
  EXPECT_EQ(ReleaseAndOpen("model-a", "1"), dek);
  // The release is audited with the platform.
  const Reply audit = Call("GET", "/v1/admin/audit?model_id=model-a&version=1");
  bool found = false;
  for (const Json& row : audit.body["rows"]) {
    if (row["action"] == "release" && row["allowed"] == true) {
      found = true;
    }
  }
  EXPECT_TRUE(found) << audit.body.dump();
}

TEST_F(BrokerServerTest, ReleaseDenialsAre403WithTheirCodes) {
  RegisterSimKey("model-a", "1", std::vector<uint8_t>(32, 3));
  const Reply challenge = Call("POST", "/v1/challenge", "{}", nullptr);
  ASSERT_EQ(challenge.status, 200);
  EXPECT_GT(challenge.body["expires_at"].get<int64_t>(), 0);
  const std::vector<uint8_t> nonce = *Base64UrlDecode(challenge.body["nonce"].get<std::string>());
  const std::vector<uint8_t> pk(32, 9);

  // Garbage evidence: the challenge is consumed, the evidence rejected.
  const Reply garbage = Call("POST", "/v1/release",
                             EncodeReleaseBody({"model-a", "1", {1, 2, 3}, nonce, pk}), nullptr);
  EXPECT_EQ(garbage.status, 403) << garbage.body.dump();
  EXPECT_EQ(ErrorOf(garbage), static_cast<int>(ErrorCode::kBrokerEvidenceRejected));
  EXPECT_EQ(garbage.connection, "");  // a denial keeps the connection usable
  // The same challenge again.
  const Reply replay = Call("POST", "/v1/release",
                            EncodeReleaseBody({"model-a", "1", {1, 2, 3}, nonce, pk}), nullptr);
  EXPECT_EQ(replay.status, 403);
  EXPECT_EQ(ErrorOf(replay), static_cast<int>(ErrorCode::kBrokerChallengeReplayed));
  // A challenge never issued.
  const Reply unknown_challenge =
      Call("POST", "/v1/release",
           EncodeReleaseBody({"model-a", "1", {1}, std::vector<uint8_t>(32, 1), pk}), nullptr);
  EXPECT_EQ(unknown_challenge.status, 403);
  EXPECT_EQ(ErrorOf(unknown_challenge), static_cast<int>(ErrorCode::kBrokerUnknownChallenge));
  EXPECT_EQ(unknown_challenge.body["error"]["name"], "BROKER_UNKNOWN_CHALLENGE");
  // Malformed body: 400 and the connection closes.
  const Reply malformed = Call("POST", "/v1/release", R"({"model_id":"model-a"})", nullptr);
  EXPECT_EQ(malformed.status, 400);
  EXPECT_EQ(ErrorOf(malformed), static_cast<int>(ErrorCode::kBrokerHttpBadBody));
  EXPECT_EQ(malformed.connection, "close");
  EXPECT_EQ(Call("POST", "/v1/release", "not json", nullptr).status, 400);
  EXPECT_EQ(Call("POST", "/v1/challenge", R"({"x":1})", nullptr).status, 400);
  // Revoked key.
  ASSERT_EQ(Call("POST", "/v1/admin/keys/model-a/1/revoke").status, 200);
  const Reply fresh = Call("POST", "/v1/challenge", "", nullptr);
  const Reply revoked =
      Call("POST", "/v1/release",
           EncodeReleaseBody(
               {"model-a", "1", {1}, *Base64UrlDecode(fresh.body["nonce"].get<std::string>()), pk}),
           nullptr);
  EXPECT_EQ(revoked.status, 403);
  EXPECT_EQ(ErrorOf(revoked), static_cast<int>(ErrorCode::kBrokerKeyRevoked));
}

TEST_F(BrokerServerTest, ReleaseOfAnUnknownKeyIs404) {
  const Reply fresh = Call("POST", "/v1/challenge", "", nullptr);
  const Reply r = Call("POST", "/v1/release",
                       EncodeReleaseBody({"nobody",
                                          "1",
                                          {1},
                                          *Base64UrlDecode(fresh.body["nonce"].get<std::string>()),
                                          std::vector<uint8_t>(32, 9)}),
                       nullptr);
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(ErrorOf(r), static_cast<int>(ErrorCode::kBrokerUnknownKey));
}

TEST_F(BrokerServerTest, BodyOverTheLimitIs413) {
  const std::string big = "{\"x\":\"" + std::string(kMaxRequestBodyBytes + 10, 'a') + "\"}";
  const Reply r = Call("POST", "/v1/release", big, nullptr);
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(ErrorOf(r), static_cast<int>(ErrorCode::kBrokerHttpBodyTooLarge));
  EXPECT_EQ(r.connection, "close");
  // The server still serves.
  EXPECT_EQ(Call("GET", "/healthz", "", nullptr).status, 200);
}

TEST_F(BrokerServerTest, MalformedHttpIs400) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(server_->port());
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)), 0);
  const std::string garbage = "THIS IS NOT HTTP\r\n\r\n";
  ASSERT_EQ(::send(fd, garbage.data(), garbage.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(garbage.size()));
  // The server answers, half-closes and drains: read until its end of stream.
  std::string response;
  std::array<char, 1024> buffer{};
  while (true) {
    const ssize_t n = ::recv(fd, buffer.data(), buffer.size(), 0);
    if (n <= 0) {
      break;
    }
    response.append(buffer.data(), static_cast<size_t>(n));
  }
  ::close(fd);
  EXPECT_THAT(response, ::testing::StartsWith("HTTP/1.1 400"));
  EXPECT_THAT(response, ::testing::HasSubstr("BROKER_HTTP_BAD_BODY"));
  EXPECT_THAT(response, ::testing::HasSubstr("Connection: close"));
}

TEST_F(BrokerServerTest, ConcurrentReleasesAllSucceed) {
  const std::vector<uint8_t> dek(32, 0x77);
  RegisterSimKey("model-a", "1", dek);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 5;
  std::vector<std::thread> threads;
  std::vector<int> ok(kThreads, 0);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([this, t, &ok, &dek] {
      for (int i = 0; i < kPerThread; ++i) {
        if (ReleaseAndOpen("model-a", "1") == dek) {
          ++ok[static_cast<size_t>(t)];
        }
      }
    });
  }
  for (std::thread& thread : threads) {
    thread.join();
  }
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(ok[static_cast<size_t>(t)], kPerThread);
  }
  const Reply audit = Call("GET", "/v1/admin/audit?model_id=model-a&version=1&limit=1000");
  int releases = 0;
  for (const Json& row : audit.body["rows"]) {
    releases += row["action"] == "release" && row["allowed"] == true ? 1 : 0;
  }
  EXPECT_EQ(releases, kThreads * kPerThread);
}

TEST_F(BrokerServerTest, StopIsIdempotent) {
  server_->Stop();
  server_->Stop();
  Result<std::unique_ptr<eml::http::HttpClient>> client = eml::http::HttpClient::Create();
  ASSERT_THAT(client, IsOk());
  eml::http::Request request;
  request.url = base_ + "/healthz";
  request.timeout_ms = 2000;
  EXPECT_FALSE((*client)->Send(request).has_value());
}

TEST(AdminTokenTest, FileMustBe0600AndWellFormed) {
  char tmpl[] = "/tmp/eml-keys-token-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const fs::path dir = tmpl;
  const fs::path file = dir / "token";
  std::ofstream(file) << kToken << "\n";
  ::chmod(file.c_str(), 0644);
  EXPECT_THAT(ReadAdminTokenFile(file.string()), HasError(ErrorCode::kBrokerHttpBadToken));
  ::chmod(file.c_str(), 0600);
  Result<SecretBytes> token = ReadAdminTokenFile(file.string());
  ASSERT_THAT(token, IsOk());
  EXPECT_EQ(token->size(), sizeof(kToken) - 1);
  std::ofstream(file, std::ios::trunc) << "short\n";
  EXPECT_THAT(ReadAdminTokenFile(file.string()), HasError(ErrorCode::kBrokerHttpBadToken));
  std::ofstream(file, std::ios::trunc) << "has a space in the token value\n";
  EXPECT_THAT(ReadAdminTokenFile(file.string()), HasError(ErrorCode::kBrokerHttpBadToken));
  EXPECT_THAT(ReadAdminTokenFile((dir / "absent").string()), HasError(ErrorCode::kIoError));
  Result<SecretBytes> generated = GenerateAdminToken();
  ASSERT_THAT(generated, IsOk());
  EXPECT_THAT(CheckAdminToken(*generated), IsOk());
  std::error_code ec;
  fs::remove_all(dir, ec);
}

TEST(BrokerServerStartTest, RefusesBadOptions) {
  char tmpl[] = "/tmp/eml-keys-http-start-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const fs::path dir = tmpl;
  Result<std::unique_ptr<KeyBroker>> broker =
      KeyBroker::Open((dir / "broker.db").string(), *crypto::RandomSecret(32), {});
  ASSERT_THAT(broker, IsOk());
  ServerOptions no_token;
  EXPECT_THAT(BrokerServer::Start(**broker, std::move(no_token)),
              HasError(ErrorCode::kBrokerHttpBadToken));
  ServerOptions bad_host;
  bad_host.admin_token = SecretBytes::CopyFrom(AsBytes(kToken));
  bad_host.listen_host = "not-an-ip";
  EXPECT_THAT(BrokerServer::Start(**broker, std::move(bad_host)),
              HasError(ErrorCode::kBrokerHttpListenFailed));
  std::error_code ec;
  fs::remove_all(dir, ec);
}

}  // namespace
}  // namespace eml::keys::http
