#include "host/egress_proxy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "channel/net/net.h"
#include "channel/transport.h"
#include "channel/vsock/vsock.h"
#include "http/http_client.h"
#include "http/testing/loopback_server.h"
#include "testing/test_util.h"

namespace eml::host {
namespace {

using channel::Stream;
using channel::net::Listener;
using ::eml::testing::HasError;
using ::eml::testing::IsOk;
using ::testing::StartsWith;

constexpr int kTimeoutMs = 10'000;

std::span<const uint8_t> Bytes(const std::string& text) {
  return std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size());
}

std::string Text(const std::vector<uint8_t>& bytes) {
  return std::string(bytes.begin(), bytes.end());
}

std::string Head(const std::string& authority) {
  return "CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority + "\r\n\r\n";
}

// ReadHead reads one response head (through its empty line) byte by byte.
std::string ReadHead(Stream* stream) {
  std::string head;
  uint8_t byte = 0;
  while (!head.ends_with("\r\n\r\n") && head.size() < 4096) {
    if (!stream->ReadExact(std::span(&byte, 1), kTimeoutMs).has_value()) {
      break;
    }
    head.push_back(static_cast<char>(byte));
  }
  return head;
}

std::string ReadText(Stream* stream, size_t n) {
  std::vector<uint8_t> out(n);
  EXPECT_THAT(stream->ReadExact(out, kTimeoutMs), IsOk());
  return Text(out);
}

// ExpectEof checks that the peer closed: the next read reports the end of the stream.
void ExpectEof(Stream* stream) {
  uint8_t byte = 0;
  EXPECT_THAT(stream->ReadExact(std::span(&byte, 1), kTimeoutMs),
              HasError(ErrorCode::kChannelClosed));
}

class EgressProxyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/eml-egress-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    Result<std::unique_ptr<Listener>> listener = channel::net::ListenTcp({"127.0.0.1", 0});
    ASSERT_TRUE(listener.has_value());
    destination_ = *std::move(listener);
    destination_authority_ = "127.0.0.1:" + std::to_string(destination_->port());
  }
  void TearDown() override {
    proxy_.reset();
    std::filesystem::remove_all(dir_);
  }

  EgressProxyOptions Options(std::vector<std::string> allow) {
    EgressProxyOptions options;
    options.listen.kind = channel::Address::Kind::kTcp;
    options.listen.tcp = {"127.0.0.1", 0};
    options.allow = std::move(allow);
    return options;
  }

  void StartProxy(EgressProxyOptions options) {
    Result<std::unique_ptr<EgressProxy>> proxy = EgressProxy::Start(std::move(options));
    ASSERT_TRUE(proxy.has_value()) << ToString(proxy.error());
    proxy_ = *std::move(proxy);
  }

  std::unique_ptr<Stream> ConnectClient() {
    Result<std::unique_ptr<Stream>> client =
        channel::net::ConnectTcp({"127.0.0.1", proxy_->port()}, kTimeoutMs);
    EXPECT_TRUE(client.has_value());
    return client.has_value() ? *std::move(client) : nullptr;
  }

  // ChallengeRequest is a POST to `server` through the egress proxy named `proxy`.
  static http::Request ChallengeRequest(const http::testing::LoopbackServer& server,
                                        std::string proxy) {
    http::Request request;
    request.method = "POST";
    request.url = server.Url() + "/v1/challenge";
    request.body = {'{', '}'};
    request.proxy = std::move(proxy);
    request.timeout_ms = kTimeoutMs;
    return request;
  }

  // LastReport waits for `count` ended connections and returns the last report.
  EgressReport LastReport(uint64_t count) {
    EXPECT_TRUE(proxy_->WaitForClosed(count, kTimeoutMs));
    const EgressStats stats = proxy_->Stats();
    EXPECT_FALSE(stats.recent.empty());
    return stats.recent.empty() ? EgressReport{} : stats.recent.back();
  }

  std::filesystem::path dir_;
  std::unique_ptr<Listener> destination_;
  std::string destination_authority_;
  std::unique_ptr<EgressProxy> proxy_;
};

TEST_F(EgressProxyTest, TunnelsBytesBothWaysAndRecordsThem) {
  EgressProxyOptions options = Options({"other.example:443", destination_authority_});
  options.record_dir = dir_ / "rec";
  StartProxy(std::move(options));
  EXPECT_EQ(proxy_->address(), "127.0.0.1:" + std::to_string(proxy_->port()));

  std::unique_ptr<Stream> client = ConnectClient();
  ASSERT_NE(client, nullptr);
  // Bytes sent right behind the head (before the 200) go into the tunnel too.
  ASSERT_THAT(client->WriteAll(Bytes(Head(destination_authority_) + "early"), kTimeoutMs), IsOk());
  Result<std::unique_ptr<Stream>> upstream = destination_->Accept(kTimeoutMs);
  ASSERT_TRUE(upstream.has_value());
  EXPECT_EQ(ReadHead(client.get()), "HTTP/1.1 200 Connection Established\r\n\r\n");
  EXPECT_EQ(ReadText(upstream->get(), 5), "early");
  ASSERT_THAT(client->WriteAll(Bytes("ping"), kTimeoutMs), IsOk());
  EXPECT_EQ(ReadText(upstream->get(), 4), "ping");
  ASSERT_THAT((*upstream)->WriteAll(Bytes("pong!"), kTimeoutMs), IsOk());
  EXPECT_EQ(ReadText(client.get(), 5), "pong!");

  // The client closes first: the destination sees the end, then closes too.
  client.reset();
  ExpectEof(upstream->get());
  upstream->reset();
  const EgressReport report = LastReport(1);
  EXPECT_EQ(report.close_reason, ErrorCode::kOk);
  EXPECT_EQ(report.status, 200);
  EXPECT_EQ(report.destination, destination_authority_);
  EXPECT_EQ(report.bytes_out, 9u);
  EXPECT_EQ(report.bytes_in, 5u);
  EXPECT_EQ(Text(testing::ReadFileBytes(dir_ / "rec" / "egress-1-out.bin")), "earlyping");
  EXPECT_EQ(Text(testing::ReadFileBytes(dir_ / "rec" / "egress-1-in.bin")), "pong!");
}

TEST_F(EgressProxyTest, PassesHalfClosesOnUntilBothSidesClosed) {
  StartProxy(Options({destination_authority_}));
  std::unique_ptr<Stream> client = ConnectClient();
  ASSERT_NE(client, nullptr);
  ASSERT_THAT(client->WriteAll(Bytes(Head(destination_authority_)), kTimeoutMs), IsOk());
  Result<std::unique_ptr<Stream>> upstream = destination_->Accept(kTimeoutMs);
  ASSERT_TRUE(upstream.has_value());
  EXPECT_THAT(ReadHead(client.get()), StartsWith("HTTP/1.1 200 "));
  // The destination answers and closes: the client gets every byte, then the end.
  ASSERT_THAT((*upstream)->WriteAll(Bytes("reply"), kTimeoutMs), IsOk());
  upstream->reset();
  EXPECT_EQ(ReadText(client.get(), 5), "reply");
  ExpectEof(client.get());
  client.reset();
  const EgressReport report = LastReport(1);
  EXPECT_EQ(report.close_reason, ErrorCode::kOk);
  EXPECT_EQ(report.bytes_in, 5u);
}

TEST_F(EgressProxyTest, RefusesDestinationsNotOnTheListWithoutConnecting) {
  StartProxy(Options({"127.0.0.1:1", "localhost:" + std::to_string(destination_->port())}));
  // Same port, other host spelling: not an exact entry.
  const std::vector<std::string> refused = {
      "127.0.0.2:" + std::to_string(destination_->port()),
      "[::1]:" + std::to_string(destination_->port()),
      "127.0.0.1:" + std::to_string(destination_->port()),
  };
  uint64_t count = 0;
  for (const std::string& authority : refused) {
    std::unique_ptr<Stream> client = ConnectClient();
    ASSERT_NE(client, nullptr);
    ASSERT_THAT(client->WriteAll(Bytes(Head(authority)), kTimeoutMs), IsOk());
    EXPECT_THAT(ReadHead(client.get()), StartsWith("HTTP/1.1 403 Forbidden\r\n")) << authority;
    ExpectEof(client.get());
    const EgressReport report = LastReport(++count);
    EXPECT_EQ(report.close_reason, ErrorCode::kEgressNotAllowed);
    EXPECT_EQ(report.status, 403);
    EXPECT_EQ(report.destination, authority);
  }
  // Nothing reached the destination.
  EXPECT_THAT(destination_->Accept(200), HasError(ErrorCode::kChannelTimeout));
}

TEST_F(EgressProxyTest, MatchesHostNamesWithoutRegardToCase) {
  StartProxy(Options({"LocalHost:" + std::to_string(destination_->port())}));
  std::unique_ptr<Stream> client = ConnectClient();
  ASSERT_NE(client, nullptr);
  ASSERT_THAT(client->WriteAll(Bytes(Head("LOCALHOST:" + std::to_string(destination_->port()))),
                               kTimeoutMs),
              IsOk());
  Result<std::unique_ptr<Stream>> upstream = destination_->Accept(kTimeoutMs);
  ASSERT_TRUE(upstream.has_value());
  EXPECT_THAT(ReadHead(client.get()), StartsWith("HTTP/1.1 200 "));
}

TEST_F(EgressProxyTest, EmptyAllowlistRefusesEverything) {
  StartProxy(Options({}));
  std::unique_ptr<Stream> client = ConnectClient();
  ASSERT_NE(client, nullptr);
  ASSERT_THAT(client->WriteAll(Bytes(Head(destination_authority_)), kTimeoutMs), IsOk());
  EXPECT_THAT(ReadHead(client.get()), StartsWith("HTTP/1.1 403 "));
  client.reset();  // the proxy drops what the client sends until it closes
  EXPECT_EQ(LastReport(1).close_reason, ErrorCode::kEgressNotAllowed);
}

TEST_F(EgressProxyTest, AnswersMalformedHeadsWith400) {
  StartProxy(Options({destination_authority_}));
  const std::vector<std::string> heads = {
      "GET http://" + destination_authority_ + "/ HTTP/1.1\r\n\r\n",
      "CONNECT " + destination_authority_ + " HTTP/1.1\r\nbad header\r\n\r\n",
      "CONNECT " + destination_authority_ + "\r\n\r\n",
  };
  uint64_t count = 0;
  for (const std::string& head : heads) {
    std::unique_ptr<Stream> client = ConnectClient();
    ASSERT_NE(client, nullptr);
    ASSERT_THAT(client->WriteAll(Bytes(head), kTimeoutMs), IsOk());
    EXPECT_THAT(ReadHead(client.get()), StartsWith("HTTP/1.1 400 Bad Request\r\n")) << head;
    ExpectEof(client.get());
    const EgressReport report = LastReport(++count);
    EXPECT_EQ(report.close_reason, ErrorCode::kEgressBadRequest);
    EXPECT_EQ(report.status, 400);
  }
  EXPECT_THAT(destination_->Accept(200), HasError(ErrorCode::kChannelTimeout));
}

TEST_F(EgressProxyTest, RefusesAnOversizedHead) {
  EgressProxyOptions options = Options({destination_authority_});
  options.max_head_bytes = 1024;
  StartProxy(std::move(options));
  std::unique_ptr<Stream> client = ConnectClient();
  ASSERT_NE(client, nullptr);
  const std::string head = "CONNECT " + destination_authority_ +
                           " HTTP/1.1\r\nX-Pad: " + std::string(1500, 'a') + "\r\n\r\n";
  ASSERT_THAT(client->WriteAll(Bytes(head), kTimeoutMs), IsOk());
  EXPECT_THAT(ReadHead(client.get()), StartsWith("HTTP/1.1 400 "));
  ExpectEof(client.get());
  const EgressReport report = LastReport(1);
  EXPECT_EQ(report.close_reason, ErrorCode::kEgressHeadTooLarge);
  EXPECT_EQ(report.destination, "");
}

TEST_F(EgressProxyTest, AnswersAnUnreachableDestinationWith502) {
  // A port that was just free: nothing listens there once the listener is gone.
  Result<std::unique_ptr<Listener>> gone = channel::net::ListenTcp({"127.0.0.1", 0});
  ASSERT_TRUE(gone.has_value());
  const std::string authority = "127.0.0.1:" + std::to_string((*gone)->port());
  gone->reset();
  StartProxy(Options({authority}));
  std::unique_ptr<Stream> client = ConnectClient();
  ASSERT_NE(client, nullptr);
  ASSERT_THAT(client->WriteAll(Bytes(Head(authority)), kTimeoutMs), IsOk());
  EXPECT_THAT(ReadHead(client.get()), StartsWith("HTTP/1.1 502 Bad Gateway\r\n"));
  client.reset();
  const EgressReport report = LastReport(1);
  EXPECT_EQ(report.close_reason, ErrorCode::kEgressConnectFailed);
  EXPECT_EQ(report.status, 502);
}

TEST_F(EgressProxyTest, RefusesConnectionsAboveTheLimit) {
  EgressProxyOptions options = Options({destination_authority_});
  options.max_connections = 1;
  StartProxy(std::move(options));
  std::unique_ptr<Stream> first = ConnectClient();  // holds the only slot (head not sent)
  ASSERT_NE(first, nullptr);
  std::unique_ptr<Stream> second = ConnectClient();
  ASSERT_NE(second, nullptr);
  EXPECT_THAT(ReadHead(second.get()), StartsWith("HTTP/1.1 503 "));
  ExpectEof(second.get());
  ASSERT_TRUE(proxy_->WaitForClosed(1, kTimeoutMs));
  const EgressStats stats = proxy_->Stats();
  EXPECT_EQ(stats.refused, 1u);
  EXPECT_EQ(stats.accepted, 1u);
  ASSERT_EQ(stats.recent.size(), 1u);
  EXPECT_EQ(stats.recent[0].close_reason, ErrorCode::kHostTooManyConnections);

  // The first connection still works.
  ASSERT_THAT(first->WriteAll(Bytes(Head(destination_authority_)), kTimeoutMs), IsOk());
  Result<std::unique_ptr<Stream>> upstream = destination_->Accept(kTimeoutMs);
  ASSERT_TRUE(upstream.has_value());
  EXPECT_THAT(ReadHead(first.get()), StartsWith("HTTP/1.1 200 "));
}

TEST_F(EgressProxyTest, ClosesAHeadThatNeverCompletes) {
  EgressProxyOptions options = Options({destination_authority_});
  options.head_timeout_ms = 50;
  StartProxy(std::move(options));
  std::unique_ptr<Stream> client = ConnectClient();
  ASSERT_NE(client, nullptr);
  ASSERT_THAT(client->WriteAll(Bytes("CONNECT 127.0.0.1"), kTimeoutMs), IsOk());
  ExpectEof(client.get());
  EXPECT_EQ(LastReport(1).close_reason, ErrorCode::kHostIdleTimeout);
}

TEST_F(EgressProxyTest, ListensOnAUnixSocket) {
  const std::string path = (dir_ / "egress.sock").string();
  EgressProxyOptions options = Options({destination_authority_});
  options.listen.kind = channel::Address::Kind::kUnix;
  options.listen.unix_path = path;
  StartProxy(std::move(options));
  EXPECT_EQ(proxy_->address(), "unix:" + path);
  Result<std::unique_ptr<Stream>> client = channel::net::ConnectUnix(path, kTimeoutMs);
  ASSERT_TRUE(client.has_value());
  ASSERT_THAT((*client)->WriteAll(Bytes(Head(destination_authority_)), kTimeoutMs), IsOk());
  Result<std::unique_ptr<Stream>> upstream = destination_->Accept(kTimeoutMs);
  ASSERT_TRUE(upstream.has_value());
  EXPECT_THAT(ReadHead(client->get()), StartsWith("HTTP/1.1 200 "));
  client->reset();
  proxy_->Stop();
  EXPECT_FALSE(std::filesystem::exists(path));  // removed on Stop
}

TEST_F(EgressProxyTest, StartRefusesBadOptions) {
  EXPECT_THAT(EgressProxy::Start(Options({"no-port"})), HasError(ErrorCode::kEgressBadAllowEntry));
  EXPECT_THAT(EgressProxy::Start(Options({"*.example:443"})),
              HasError(ErrorCode::kEgressBadAllowEntry));
  EgressProxyOptions zero = Options({});
  zero.max_connections = 0;
  EXPECT_THAT(EgressProxy::Start(std::move(zero)), HasError(ErrorCode::kInvalidArgument));
  EgressProxyOptions existing = Options({});
  existing.listen.kind = channel::Address::Kind::kUnix;
  existing.listen.unix_path = dir_.string();  // a path that exists
  EXPECT_THAT(EgressProxy::Start(std::move(existing)), HasError(ErrorCode::kChannelBadAddress));
}

// No loopback VSock here: the listener opens (the kernel picks the port), or, on a kernel
// without AF_VSOCK, Start fails with a typed error.
TEST_F(EgressProxyTest, ListensOnVsockOrFailsTyped) {
  EgressProxyOptions options = Options({});
  options.listen.kind = channel::Address::Kind::kVsock;
  options.listen.vsock = {channel::vsock::kVsockCidAny, 0};
  Result<std::unique_ptr<EgressProxy>> proxy = EgressProxy::Start(std::move(options));
  if (!proxy.has_value()) {
    EXPECT_EQ(proxy.error().code, ErrorCode::kChannelIoError);
    return;
  }
  EXPECT_EQ((*proxy)->port(), 0);
  Result<channel::Address> bound = channel::ParseAddress((*proxy)->address());
  ASSERT_THAT(bound, IsOk());
  EXPECT_EQ(bound->kind, channel::Address::Kind::kVsock);
  EXPECT_NE(bound->vsock.port, 0u);
  EXPECT_NE(bound->vsock.port, 0xFFFFFFFFu);  // VMADDR_PORT_ANY resolved to the real port
}

TEST(ProxyListenTest, ParsesHostPortAndChannelAddresses) {
  Result<channel::Address> tcp = ParseProxyListen("127.0.0.1:0");
  ASSERT_TRUE(tcp.has_value());
  EXPECT_EQ(tcp->kind, channel::Address::Kind::kTcp);
  EXPECT_EQ(tcp->tcp.host, "127.0.0.1");
  EXPECT_EQ(tcp->tcp.port, 0);
  Result<channel::Address> prefixed = ParseProxyListen("tcp:[::1]:8080");
  ASSERT_TRUE(prefixed.has_value());
  EXPECT_EQ(prefixed->tcp.host, "::1");
  EXPECT_EQ(prefixed->tcp.port, 8080);
  Result<channel::Address> unix_socket = ParseProxyListen("unix:/run/egress.sock");
  ASSERT_TRUE(unix_socket.has_value());
  EXPECT_EQ(unix_socket->kind, channel::Address::Kind::kUnix);
  EXPECT_EQ(unix_socket->unix_path, "/run/egress.sock");
  Result<channel::Address> vsock = ParseProxyListen("vsock:3:9");
  ASSERT_TRUE(vsock.has_value());
  EXPECT_EQ(vsock->kind, channel::Address::Kind::kVsock);
  EXPECT_EQ(vsock->vsock.cid, 3u);
  EXPECT_EQ(vsock->vsock.port, 9u);
  for (const std::string bad : {"", "nowhere", "example.com:3128", "vsock:3", "unix:"}) {
    EXPECT_THAT(ParseProxyListen(bad), HasError(ErrorCode::kChannelBadAddress)) << bad;
  }
}

TEST_F(EgressProxyTest, HttpClientTunnelsThroughTheProxy) {
  Result<std::unique_ptr<http::testing::LoopbackServer>> server =
      http::testing::LoopbackServer::Start(
          [](const http::testing::RecordedRequest&) { return http::testing::Reply(200, "hello"); });
  ASSERT_TRUE(server.has_value());
  StartProxy(Options({"127.0.0.1:" + std::to_string((*server)->port())}));
  Result<std::unique_ptr<http::HttpClient>> client = http::HttpClient::Create();
  ASSERT_TRUE(client.has_value());

  http::Request request = ChallengeRequest(**server, "http://" + proxy_->address());
  Result<http::Response> response = (*client)->Send(request);
  ASSERT_TRUE(response.has_value()) << ToString(response.error());
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(Text(response->body), "hello");
  const std::vector<http::testing::RecordedRequest> seen = (*server)->Requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "POST");
  EXPECT_EQ(seen[0].target, "/v1/challenge");
  const EgressReport report = LastReport(1);
  EXPECT_EQ(report.status, 200);
  EXPECT_EQ(report.destination, "127.0.0.1:" + std::to_string((*server)->port()));

  // A destination off the list: the proxy's 403 fails the request, nothing reaches it.
  request.url = "http://" + destination_authority_ + "/v1/challenge";
  EXPECT_THAT((*client)->Send(request), HasError(ErrorCode::kHttpConnect));
  EXPECT_EQ(LastReport(2).close_reason, ErrorCode::kEgressNotAllowed);
}

TEST_F(EgressProxyTest, HttpClientTunnelsThroughTheProxyOnAUnixSocket) {
  Result<std::unique_ptr<http::testing::LoopbackServer>> server =
      http::testing::LoopbackServer::Start(
          [](const http::testing::RecordedRequest&) { return http::testing::Reply(200, "hello"); });
  ASSERT_TRUE(server.has_value());
  const std::string path = (dir_ / "egress.sock").string();
  EgressProxyOptions options = Options({"127.0.0.1:" + std::to_string((*server)->port())});
  options.listen.kind = channel::Address::Kind::kUnix;
  options.listen.unix_path = path;
  StartProxy(std::move(options));
  Result<std::unique_ptr<http::HttpClient>> client = http::HttpClient::Create();
  ASSERT_TRUE(client.has_value());

  http::Request request = ChallengeRequest(**server, proxy_->address());  // "unix:PATH"
  for (int i = 0; i < 2; ++i) {
    Result<http::Response> response = (*client)->Send(request);
    ASSERT_TRUE(response.has_value()) << ToString(response.error());
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(Text(response->body), "hello");
  }
  EXPECT_EQ((*server)->Requests().size(), 2u);
  EXPECT_GE(proxy_->Stats().accepted, 1u);

  // Not on the list: refused by the proxy behind the socket.
  request.url = "http://" + destination_authority_ + "/v1/challenge";
  EXPECT_THAT((*client)->Send(request), HasError(ErrorCode::kHttpConnect));
  // Nobody listening at the socket path.
  proxy_->Stop();
  EXPECT_THAT((*client)->Send(request), HasError(ErrorCode::kHttpConnect));
  // A socket proxy and a via at once.
  request.via = "unix:" + path;
  EXPECT_THAT((*client)->Send(request), HasError(ErrorCode::kHttpBadUrl));
}

}  // namespace
}  // namespace eml::host
