#include "http/http_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "http/internal/via_socket.h"
#include "http/testing/loopback_server.h"
#include "testing/test_util.h"

namespace eml::http {
namespace {

using ::eml::testing::HasError;
using ::eml::testing::IsOk;
using testing::CannedReply;
using testing::LoopbackServer;
using testing::RecordedRequest;
using testing::Reply;

std::unique_ptr<HttpClient> NewClient() {
  auto client = HttpClient::Create();
  EXPECT_THAT(client, IsOk());
  return std::move(client).value();
}

std::unique_ptr<LoopbackServer> StartServer(LoopbackServer::Handler handler) {
  auto server = LoopbackServer::Start(std::move(handler));
  EXPECT_THAT(server, IsOk());
  return std::move(server).value();
}

std::string Text(const std::vector<uint8_t>& bytes) {
  return std::string(bytes.begin(), bytes.end());
}

TEST(HttpClientTest, GetReturnsStatusHeadersAndBody) {
  auto server = StartServer([](const RecordedRequest&) {
    return Reply(201, "hello", {{"X-Thing", "  value  "}, {"ETag", "\"abc\""}});
  });
  auto client = NewClient();
  Request request;
  request.url = server->Url() + "/path?q=1";
  request.headers = {{"X-Custom", "yes"}};
  auto response = client->Send(request);
  ASSERT_THAT(response, IsOk());
  EXPECT_EQ(response->status, 201);
  EXPECT_EQ(Text(response->body), "hello");
  ASSERT_NE(response->Header("x-thing"), nullptr);
  EXPECT_EQ(*response->Header("x-thing"), "value");
  EXPECT_EQ(*response->Header("etag"), "\"abc\"");
  EXPECT_EQ(response->Header("x-missing"), nullptr);

  const auto requests = server->Requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "GET");
  EXPECT_EQ(requests[0].target, "/path?q=1");
  ASSERT_NE(requests[0].Header("x-custom"), nullptr);
  EXPECT_EQ(*requests[0].Header("x-custom"), "yes");
  EXPECT_EQ(requests[0].Header("expect"), nullptr);
}

TEST(HttpClientTest, ErrorStatusesAreResponses) {
  auto server = StartServer([](const RecordedRequest&) { return Reply(503, "slow down"); });
  auto client = NewClient();
  Request request;
  request.url = server->Url() + "/";
  auto response = client->Send(request);
  ASSERT_THAT(response, IsOk());
  EXPECT_EQ(response->status, 503);
}

TEST(HttpClientTest, PutSendsBodyAndPostSendsMethod) {
  auto server = StartServer([](const RecordedRequest&) { return Reply(200, ""); });
  auto client = NewClient();
  Request put;
  put.method = "PUT";
  put.url = server->Url() + "/k";
  put.body = {'a', 'b', 'c'};
  ASSERT_THAT(client->Send(put), IsOk());
  Request post;
  post.method = "POST";
  post.url = server->Url() + "/";
  post.body = {'x'};
  post.headers = {{"Content-Type", "application/x-amz-json-1.1"}};
  ASSERT_THAT(client->Send(post), IsOk());
  Request head;
  head.method = "HEAD";
  head.url = server->Url() + "/h";
  ASSERT_THAT(client->Send(head), IsOk());
  const auto requests = server->Requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].method, "PUT");
  EXPECT_EQ(Text(requests[0].body), "abc");
  EXPECT_EQ(requests[1].method, "POST");
  EXPECT_EQ(Text(requests[1].body), "x");
  EXPECT_EQ(*requests[1].Header("content-type"), "application/x-amz-json-1.1");
  EXPECT_EQ(requests[2].method, "HEAD");
}

TEST(HttpClientTest, HeadAnnouncingALargeBodyIsNotCapped) {
  // A HEAD reply's Content-Length is the size of a body that is never sent.
  auto server = StartServer([](const RecordedRequest&) {
    return CannedReply{
        "HTTP/1.1 200 OK\r\nContent-Length: 1000000000\r\n"
        "Connection: close\r\n\r\n",
        false};
  });
  auto client = NewClient();
  Request head;
  head.method = "HEAD";
  head.url = server->Url() + "/big";
  head.max_response_bytes = 1024;
  auto response = client->Send(head);
  ASSERT_THAT(response, IsOk());
  ASSERT_NE(response->Header("content-length"), nullptr);
  EXPECT_EQ(*response->Header("content-length"), "1000000000");
  EXPECT_TRUE(response->body.empty());
}

TEST(HttpClientTest, PutStreamsBodyFromFile) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("eml_http_body_" + std::to_string(::getpid()) + ".bin");
  std::string content(300 * 1024, '\0');
  for (size_t i = 0; i < content.size(); ++i) {
    content[i] = static_cast<char>(i * 7 + 3);
  }
  {
    std::ofstream out(path, std::ios::binary);
    out << content;
  }
  auto server = StartServer([](const RecordedRequest&) { return Reply(200, ""); });
  auto client = NewClient();
  Request put;
  put.method = "PUT";
  put.url = server->Url() + "/big";
  put.body_file = path.string();
  ASSERT_THAT(client->Send(put), IsOk());
  std::filesystem::remove(path);
  const auto requests = server->Requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(Text(requests[0].body), content);

  put.body_file = path.string();  // now missing
  EXPECT_THAT(client->Send(put), HasError(ErrorCode::kIoError));
}

TEST(HttpClientTest, BodyOverCapIsRefused) {
  auto server =
      StartServer([](const RecordedRequest&) { return Reply(200, std::string(1000, 'x')); });
  auto client = NewClient();
  Request request;
  request.url = server->Url() + "/";
  request.max_response_bytes = 999;
  EXPECT_THAT(client->Send(request), HasError(ErrorCode::kHttpResponseTooLarge));
  request.max_response_bytes = 1000;
  EXPECT_THAT(client->Send(request), IsOk());
}

TEST(HttpClientTest, ChunkedBodyOverCapIsRefused) {
  // No Content-Length: the cap is enforced as bytes arrive.
  auto server = StartServer([](const RecordedRequest&) {
    std::string raw = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
    for (int i = 0; i < 10; ++i) {
      raw += "64\r\n" + std::string(100, 'y') + "\r\n";
    }
    raw += "0\r\n\r\n";
    return CannedReply{raw, false};
  });
  auto client = NewClient();
  Request request;
  request.url = server->Url() + "/";
  request.max_response_bytes = 950;
  EXPECT_THAT(client->Send(request), HasError(ErrorCode::kHttpResponseTooLarge));
  request.max_response_bytes = 1000;
  auto ok = client->Send(request);
  ASSERT_THAT(ok, IsOk());
  EXPECT_EQ(ok->body.size(), 1000u);
}

TEST(HttpClientTest, HeadersOverCapAreRefused) {
  auto server = StartServer([](const RecordedRequest&) {
    std::vector<std::pair<std::string, std::string>> headers;
    for (int i = 0; i < 100; ++i) {
      headers.emplace_back("X-Filler-" + std::to_string(i), std::string(1000, 'h'));
    }
    return Reply(200, "", headers);
  });
  auto client = NewClient();
  Request request;
  request.url = server->Url() + "/";
  EXPECT_THAT(client->Send(request), HasError(ErrorCode::kHttpResponseTooLarge));
}

TEST(HttpClientTest, SilentServerTimesOut) {
  auto server = StartServer([](const RecordedRequest&) { return CannedReply{"", true}; });
  auto client = NewClient();
  Request request;
  request.url = server->Url() + "/";
  request.timeout_ms = 300;
  EXPECT_THAT(client->Send(request), HasError(ErrorCode::kHttpTimeout));
}

TEST(HttpClientTest, GarbageReplyIsProtocolError) {
  auto server = StartServer([](const RecordedRequest&) {
    return CannedReply{"SSH-2.0-OpenSSH_9.2\r\nthis is not http\r\n\r\n", false};
  });
  auto client = NewClient();
  Request request;
  request.url = server->Url() + "/";
  EXPECT_THAT(client->Send(request), HasError(ErrorCode::kHttpProtocol));
}

TEST(HttpClientTest, RefusedConnectionIsConnectError) {
  // A bound socket that does not listen: connections to its port are refused, and the port
  // stays ours for the test.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  auto client = NewClient();
  Request request;
  request.url = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/";
  EXPECT_THAT(client->Send(request), HasError(ErrorCode::kHttpConnect));
  ::close(fd);
}

TEST(HttpClientTest, RejectsOtherSchemesAndBadInput) {
  auto client = NewClient();
  Request request;
  for (const char* url : {"file:///etc/passwd", "ftp://127.0.0.1/", "gopher://x/", "127.0.0.1/",
                          "http://a b/", "http://x/\r\nEvil: 1"}) {
    request.url = url;
    EXPECT_THAT(client->Send(request), HasError(ErrorCode::kHttpBadUrl)) << url;
  }
  request.url = "http://127.0.0.1:1/";
  request.headers = {{"X-Bad", "a\r\nInjected: 1"}};
  EXPECT_THAT(client->Send(request), HasError(ErrorCode::kInvalidArgument));
  request.headers.clear();
  request.method = "TRACE";
  EXPECT_THAT(client->Send(request), HasError(ErrorCode::kInvalidArgument));
  request.method = "PUT";
  request.body = {1};
  request.body_file = "/nonexistent";
  EXPECT_THAT(client->Send(request), HasError(ErrorCode::kInvalidArgument));
}

TEST(HttpClientTest, RedirectsAreNotFollowed) {
  auto server = StartServer([](const RecordedRequest& r) {
    if (r.target == "/start") {
      return Reply(302, "", {{"Location", "/elsewhere"}});
    }
    return Reply(200, "followed");
  });
  auto client = NewClient();
  Request request;
  request.url = server->Url() + "/start";
  auto response = client->Send(request);
  ASSERT_THAT(response, IsOk());
  EXPECT_EQ(response->status, 302);
  EXPECT_EQ(server->Requests().size(), 1u);
}

TEST(HttpClientTest, ProxyEnvironmentIsIgnored) {
  // A proxy that would answer differently: the client must go straight to the server.
  auto proxy = StartServer([](const RecordedRequest&) { return Reply(200, "proxy"); });
  auto server = StartServer([](const RecordedRequest&) { return Reply(200, "direct"); });
  ::setenv("http_proxy", proxy->Url().c_str(), 1);
  ::setenv("HTTP_PROXY", proxy->Url().c_str(), 1);
  auto client = NewClient();
  Request request;
  request.url = server->Url() + "/";
  auto response = client->Send(request);
  ::unsetenv("http_proxy");
  ::unsetenv("HTTP_PROXY");
  ASSERT_THAT(response, IsOk());
  EXPECT_EQ(Text(response->body), "direct");
  EXPECT_TRUE(proxy->Requests().empty());
}

TEST(HttpClientTest, ProxyGetsAConnectForTheUrlsHostAndPort) {
  // A proxy that refuses the tunnel: the request fails, and the proxy saw only the CONNECT.
  auto proxy = StartServer([](const RecordedRequest&) { return Reply(403, ""); });
  auto server = StartServer([](const RecordedRequest&) { return Reply(200, "direct"); });
  auto client = NewClient();
  Request request;
  request.url = server->Url() + "/v1/x";  // plain http:// is tunnelled too
  request.proxy = proxy->Url();
  EXPECT_THAT(client->Send(request), HasError(ErrorCode::kHttpConnect));
  const std::vector<RecordedRequest> seen = proxy->Requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "CONNECT");
  EXPECT_EQ(seen[0].target, "127.0.0.1:" + std::to_string(server->port()));
  EXPECT_TRUE(server->Requests().empty());
}

TEST(HttpClientTest, ProxyMustBeHttpHostPort) {
  auto client = NewClient();
  Request request;
  request.url = "http://127.0.0.1:1/";
  for (const std::string proxy :
       {"https://127.0.0.1:3128", "socks5://127.0.0.1:1080", "127.0.0.1:3128", "http://",
        "http://127.0.0.1", "http://127.0.0.1:", "http://127.0.0.1:31x8", "http://h:1/path",
        "http://user@h:1", "http://h :1", "http://h:1\r\n"}) {
    request.proxy = proxy;
    EXPECT_THAT(client->Send(request), HasError(ErrorCode::kHttpBadUrl)) << proxy;
  }
}

TEST(HttpClientTest, ViaMustBeAUnixOrVsockAddress) {
  auto client = NewClient();
  Request request;
  request.url = "http://localhost/";
  const std::vector<std::string> bad = {
      "tcp:127.0.0.1:80", "unix:",           "unix:/" + std::string(120, 'a'),
      "vsock:3",          "vsock:3:0",       "vsock://3:80",
      "vsock:x:1",        "/tmp/plain/path", std::string("unix:/a\0b", 9)};
  for (const std::string& via : bad) {
    request.via = via;
    EXPECT_THAT(client->Send(request), HasError(ErrorCode::kHttpBadUrl)) << via;
    EXPECT_THAT(CheckVia(via), HasError(ErrorCode::kHttpBadUrl)) << via;
  }
  EXPECT_THAT(CheckVia("unix:/run/eml/store.sock"), IsOk());
  EXPECT_THAT(CheckVia("vsock:3:8002"), IsOk());
  EXPECT_THAT(CheckProxy("vsock:3:8003"), IsOk());
  EXPECT_THAT(CheckProxy("http://127.0.0.1:3128"), IsOk());
}

// A one-shot HTTP server on a Unix socket: answers each accepted connection with "ok" + its
// ordinal, then closes it.
TEST(HttpClientTest, ViaReachesAServerOnAUnixSocket) {
  char dir[] = "/tmp/eml-http-via-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/server.sock";
  const int listener = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(listener, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  path.copy(address.sun_path, path.size());
  ASSERT_EQ(::bind(listener, reinterpret_cast<const sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(::listen(listener, 4), 0);
  std::thread server([listener] {
    for (int i = 0; i < 2; ++i) {
      const int fd = ::accept(listener, nullptr, nullptr);
      if (fd < 0) {
        return;
      }
      std::string head;
      char c = 0;
      while (head.find("\r\n\r\n") == std::string::npos && ::read(fd, &c, 1) == 1) {
        head.push_back(c);
      }
      const std::string reply =
          "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok" + std::to_string(i);
      EXPECT_EQ(::write(fd, reply.data(), reply.size()), static_cast<ssize_t>(reply.size()));
      ::close(fd);
    }
  });
  auto client = NewClient();
  Request request;
  request.url = "http://localhost/v1/store/m/1/manifest.json";
  request.via = "unix:" + path;
  for (int i = 0; i < 2; ++i) {
    Result<Response> response = client->Send(request);
    EXPECT_THAT(response, IsOk());
    if (response.has_value()) {
      EXPECT_EQ(response->status, 200);
      EXPECT_EQ(Text(response->body), "ok" + std::to_string(i));
    }
  }
  ::shutdown(listener, SHUT_RDWR);  // ends a pending accept (when a request failed)
  server.join();
  ::close(listener);
  std::filesystem::remove_all(dir);
  // Nobody listens there any more.
  EXPECT_THAT(client->Send(request), HasError(ErrorCode::kHttpConnect));
}

// ConnectVia is what connects the socket where libcurl honours CURL_SOCKOPT_ALREADY_CONNECTED
// (not 7.88): checked directly, whichever libcurl this build links.
TEST(ViaSocketTest, ConnectsOrFailsTyped) {
  char dir[] = "/tmp/eml-http-via-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/peer.sock";
  Result<internal::ViaTarget> target = internal::ParseVia("unix:" + path);
  ASSERT_THAT(target, IsOk());
  EXPECT_THAT(internal::ConnectVia(*target, 1000), HasError(ErrorCode::kHttpConnect));
  const int listener = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(listener, 0);
  ASSERT_EQ(
      ::bind(listener, reinterpret_cast<const sockaddr*>(&target->address), target->address_len),
      0);
  ASSERT_EQ(::listen(listener, 1), 0);
  Result<int> fd = internal::ConnectVia(*target, 1000);
  ASSERT_THAT(fd, IsOk());
  EXPECT_EQ(::write(*fd, "x", 1), 1);
  const int accepted = ::accept(listener, nullptr, nullptr);
  ASSERT_GE(accepted, 0);
  char c = 0;
  EXPECT_EQ(::read(accepted, &c, 1), 1);
  EXPECT_EQ(c, 'x');
  ::close(accepted);
  ::close(*fd);
  ::close(listener);
  std::filesystem::remove_all(dir);

  // No VSock peer here: a typed failure within the deadline, never a hang, through the client
  // (whichever way it connects) and through ConnectVia.
  auto client = NewClient();
  Request request;
  request.url = "http://localhost/";
  request.via = "vsock:3:9";
  request.connect_timeout_ms = 1000;
  Result<Response> response = client->Send(request);
  ASSERT_FALSE(response.has_value());
  EXPECT_TRUE(response.error().code == ErrorCode::kHttpConnect ||
              response.error().code == ErrorCode::kHttpTimeout)
      << ToString(response.error());
  Result<internal::ViaTarget> vsock = internal::ParseVia("vsock:3:9");
  ASSERT_THAT(vsock, IsOk());
  Result<int> none = internal::ConnectVia(*vsock, 1000);
  ASSERT_FALSE(none.has_value());
  EXPECT_TRUE(none.error().code == ErrorCode::kHttpConnect ||
              none.error().code == ErrorCode::kHttpTimeout);
}

}  // namespace
}  // namespace eml::http
