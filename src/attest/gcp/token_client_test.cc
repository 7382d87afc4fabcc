#include "attest/gcp/token_client.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "attest/gcp/testing/fake_launcher.h"
#include "attest/report_binding.h"
#include "testing/test_util.h"

namespace eml::attest::gcp {
namespace {

namespace fs = std::filesystem;
using ::eml::attest::gcp::testing::FakeLauncher;
using ::eml::testing::HasError;
using ::eml::testing::IsOk;

constexpr char kToken[] = "eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJ4In0.c2lnbmF0dXJl";

class TokenClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("eml_tok_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    socket_ = dir_ / ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove(socket_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  TokenClient Client() const {
    TokenClientOptions options;
    options.socket_path = socket_;
    options.timeout_ms = 5000;
    return TokenClient(options);
  }

  fs::path dir_;
  fs::path socket_;
  const std::vector<uint8_t> key_ = std::vector<uint8_t>(32, 0x42);
  const std::vector<uint8_t> nonce_ = std::vector<uint8_t>(16, 0x07);
};

TEST_F(TokenClientTest, AttestBindingPostsTheBindingNonce) {
  Result<std::string> token = Error{ErrorCode::kInternal, "not run"};
  std::string request, body;
  {
    FakeLauncher server(socket_, std::string("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                                             "Content-Length: ") +
                                     std::to_string(sizeof(kToken) - 1) + "\r\n\r\n" + kToken);
    token = Client().AttestBinding("https://broker.example", "PKI", key_, nonce_);
    request = server.request();
    body = server.Body();
  }
  ASSERT_THAT(token, IsOk());
  EXPECT_EQ(*token, kToken);
  EXPECT_EQ(request.rfind("POST /v1/token HTTP/1.1\r\n", 0), 0u);
  nlohmann::json json = nlohmann::json::parse(body);
  EXPECT_EQ(json["audience"], "https://broker.example");
  EXPECT_EQ(json["token_type"], "PKI");
  ASSERT_EQ(json["nonces"].size(), 1u);
  EXPECT_EQ(json["nonces"][0], GcpBindingNonce(key_, nonce_));
}

TEST_F(TokenClientTest, ChunkedResponseIsReassembled) {
  const std::string token(kToken);
  const std::string first = token.substr(0, 10), second = token.substr(10);
  char first_size[16], second_size[16];
  std::snprintf(first_size, sizeof(first_size), "%zx", first.size());
  std::snprintf(second_size, sizeof(second_size), "%zX", second.size());
  FakeLauncher server(socket_, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
                                   std::string(first_size) + "\r\n" + first + "\r\n" +
                                   std::string(second_size) + ";ext=1\r\n" + second +
                                   "\r\n0\r\n\r\n");
  TokenRequest request;
  request.audience = "aud";
  request.token_type = "OIDC";
  Result<std::string> got = Client().RequestToken(request);
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(*got, kToken);
}

TEST_F(TokenClientTest, ServerErrorIsABadResponse) {
  FakeLauncher server(socket_,
                      "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\noops");
  EXPECT_THAT(Client().AttestBinding("aud", "PKI", key_, nonce_),
              HasError(ErrorCode::kTokenSocketBadResponse));
}

TEST_F(TokenClientTest, MalformedResponsesAreBadResponses) {
  const char* responses[] = {
      "garbage",
      "SMTP 200 OK\r\n\r\nx.y.z",
      "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\na.b.c",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nnot a jws",
  };
  for (const char* response : responses) {
    fs::remove(socket_);
    FakeLauncher server(socket_, response);
    EXPECT_THAT(Client().AttestBinding("aud", "PKI", key_, nonce_),
                HasError(ErrorCode::kTokenSocketBadResponse))
        << response;
  }
}

TEST_F(TokenClientTest, NoLauncherIsUnavailable) {
  EXPECT_THAT(Client().AttestBinding("aud", "PKI", key_, nonce_),
              HasError(ErrorCode::kTokenSocketUnavailable));
}

TEST_F(TokenClientTest, RequestsBreakingTheLauncherRulesAreRefused) {
  TokenRequest no_audience;
  EXPECT_THAT(Client().RequestToken(no_audience), HasError(ErrorCode::kInvalidArgument));
  TokenRequest bad_type;
  bad_type.audience = "a";
  bad_type.token_type = "AWS_PRINCIPALTAGS";
  EXPECT_THAT(Client().RequestToken(bad_type), HasError(ErrorCode::kInvalidArgument));
  TokenRequest short_nonce;
  short_nonce.audience = "a";
  short_nonce.nonces = {"short"};
  EXPECT_THAT(Client().RequestToken(short_nonce), HasError(ErrorCode::kInvalidArgument));
  TokenRequest many;
  many.audience = "a";
  many.nonces = std::vector<std::string>(7, std::string(20, 'n'));
  EXPECT_THAT(Client().RequestToken(many), HasError(ErrorCode::kInvalidArgument));
}

}  // namespace
}  // namespace eml::attest::gcp
