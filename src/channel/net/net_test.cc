#include "channel/net/net.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <future>
#include <string>
#include <thread>

#include "channel/mock_attestation.h"
#include "testing/test_util.h"

namespace eml::channel::net {
namespace {

using ::eml::testing::HasError;
using ::eml::testing::IsOk;

constexpr int kTimeoutMs = 10'000;

TEST(NetTest, ParsesHostPort) {
  Result<HostPort> v4 = ParseHostPort("127.0.0.1:9000");
  ASSERT_TRUE(v4.has_value());
  EXPECT_EQ(v4->host, "127.0.0.1");
  EXPECT_EQ(v4->port, 9000);
  Result<HostPort> v6 = ParseHostPort("[::1]:0");
  ASSERT_TRUE(v6.has_value());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 0);
  EXPECT_TRUE(ParseHostPort("localhost:5").has_value());
}

TEST(NetTest, RejectsBadHostPort) {
  for (const char* bad : {"", "127.0.0.1", ":9000", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:x",
                          "::1:80", "[::1:80", "example.com:80", "1.2.3:4"}) {
    EXPECT_THAT(ParseHostPort(bad), HasError(ErrorCode::kChannelBadAddress)) << bad;
  }
  EXPECT_THAT(ListenUnix(std::string(200, 'a')), HasError(ErrorCode::kChannelBadAddress));
}

// Handshake plus one record each way over a connected pair of streams.
void HandshakeAndExchange(Listener* listener,
                          const std::function<Result<std::unique_ptr<Stream>>()>& connect) {
  MockAttestationProvider provider;
  MockAttestationVerifier verifier;
  auto server = std::async(std::launch::async, [&]() -> Result<std::vector<uint8_t>> {
    EML_ASSIGN_OR_RETURN(std::unique_ptr<Stream> stream, listener->Accept(kTimeoutMs));
    EML_ASSIGN_OR_RETURN(Responder responder, Responder::New(&provider, &verifier));
    EML_ASSIGN_OR_RETURN(Session session, RunResponderHandshake(stream.get(), &responder));
    std::vector<uint8_t> frame;
    std::vector<uint8_t> plaintext;
    EML_RETURN_IF_ERROR(ReadFrame(stream.get(), {}, kTimeoutMs, &frame));
    EML_RETURN_IF_ERROR(session.Open(frame, &plaintext));
    EML_RETURN_IF_ERROR(session.Seal(FrameType::kData, 0, plaintext, &frame));
    EML_RETURN_IF_ERROR(stream->WriteAll(frame, kTimeoutMs));
    return plaintext;
  });
  Result<std::unique_ptr<Stream>> stream = connect();
  ASSERT_TRUE(stream.has_value()) << ToString(stream.error());
  Result<Initiator> initiator = Initiator::New(&provider, &verifier);
  ASSERT_TRUE(initiator.has_value());
  Result<Session> session = RunInitiatorHandshake(stream->get(), &*initiator);
  ASSERT_TRUE(session.has_value()) << ToString(session.error());
  const std::vector<uint8_t> message(100'000, 0x5C);
  std::vector<uint8_t> frame;
  ASSERT_THAT(session->Seal(FrameType::kData, 0, message, &frame), IsOk());
  ASSERT_THAT((*stream)->WriteAll(frame, kTimeoutMs), IsOk());
  ASSERT_THAT(ReadFrame(stream->get(), {}, kTimeoutMs, &frame), IsOk());
  std::vector<uint8_t> echoed;
  ASSERT_TRUE(session->Open(frame, &echoed).has_value());
  EXPECT_EQ(echoed, message);
  Result<std::vector<uint8_t>> seen = server.get();
  ASSERT_TRUE(seen.has_value()) << ToString(seen.error());
  EXPECT_EQ(*seen, message);
}

TEST(NetTest, TcpHandshakeAndRecords) {
  Result<std::unique_ptr<Listener>> listener = ListenTcp({"127.0.0.1", 0});
  ASSERT_TRUE(listener.has_value()) << ToString(listener.error());
  const uint16_t port = (*listener)->port();
  ASSERT_NE(port, 0);
  HandshakeAndExchange(listener->get(), [port] {
    return ConnectTcp({"127.0.0.1", port}, kTimeoutMs);
  });
}

std::string TempSocketPath(const char* name) {
  return (std::filesystem::temp_directory_path() /
          ("eml-channel-" + std::to_string(::getpid()) + "-" + name + ".sock"))
      .string();
}

TEST(NetTest, UnixHandshakeAndRecords) {
  const std::string path = TempSocketPath("hs");
  {
    Result<std::unique_ptr<Listener>> listener = ListenUnix(path);
    ASSERT_TRUE(listener.has_value()) << ToString(listener.error());
    EXPECT_EQ((*listener)->port(), 0);
    HandshakeAndExchange(listener->get(), [&] { return ConnectUnix(path, kTimeoutMs); });
    // The socket file is ours: a second listener on it fails and does not remove it.
    EXPECT_THAT(ListenUnix(path), HasError(ErrorCode::kChannelIoError));
    EXPECT_TRUE(std::filesystem::exists(path));
  }
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(NetTest, ReadTimesOut) {
  Result<std::unique_ptr<Listener>> listener = ListenTcp({"127.0.0.1", 0});
  ASSERT_TRUE(listener.has_value());
  Result<std::unique_ptr<Stream>> client = ConnectTcp({"127.0.0.1", (*listener)->port()}, 1000);
  ASSERT_TRUE(client.has_value());
  Result<std::unique_ptr<Stream>> server = (*listener)->Accept(1000);
  ASSERT_TRUE(server.has_value());
  std::vector<uint8_t> frame;
  EXPECT_THAT(ReadFrame(server->get(), {}, 50, &frame), HasError(ErrorCode::kChannelTimeout));
  // A stream that failed once stays failed.
  EXPECT_THAT((*server)->WriteAll(std::vector<uint8_t>{1}, 1000),
              HasError(ErrorCode::kChannelIoError));
}

TEST(NetTest, AcceptTimesOut) {
  Result<std::unique_ptr<Listener>> listener = ListenTcp({"127.0.0.1", 0});
  ASSERT_TRUE(listener.has_value());
  EXPECT_THAT((*listener)->Accept(20), HasError(ErrorCode::kChannelTimeout));
}

TEST(NetTest, PeerCloseMidFrame) {
  Result<std::unique_ptr<Listener>> listener = ListenTcp({"127.0.0.1", 0});
  ASSERT_TRUE(listener.has_value());
  Result<std::unique_ptr<Stream>> client = ConnectTcp({"127.0.0.1", (*listener)->port()}, 1000);
  ASSERT_TRUE(client.has_value());
  Result<std::unique_ptr<Stream>> server = (*listener)->Accept(1000);
  ASSERT_TRUE(server.has_value());
  // Half a header, then the client goes away.
  ASSERT_THAT((*client)->WriteAll(std::vector<uint8_t>{0xCF, 0x4D, 0x04}, 1000), IsOk());
  client->reset();
  std::vector<uint8_t> frame;
  EXPECT_THAT(ReadFrame(server->get(), {}, kTimeoutMs, &frame),
              HasError(ErrorCode::kChannelClosed));
}

// A connected pair over TCP (unix_path empty) or a Unix socket.
struct Pair {
  std::unique_ptr<Listener> listener;
  std::unique_ptr<Stream> client;
  std::unique_ptr<Stream> server;
};
Pair Connected(const std::string& unix_path) {
  Pair pair;
  Result<std::unique_ptr<Listener>> listener =
      unix_path.empty() ? ListenTcp({"127.0.0.1", 0}) : ListenUnix(unix_path);
  EXPECT_TRUE(listener.has_value());
  if (!listener.has_value()) {
    return pair;
  }
  pair.listener = *std::move(listener);
  Result<std::unique_ptr<Stream>> client =
      unix_path.empty() ? ConnectTcp({"127.0.0.1", pair.listener->port()}, kTimeoutMs)
                        : ConnectUnix(unix_path, kTimeoutMs);
  Result<std::unique_ptr<Stream>> server = pair.listener->Accept(kTimeoutMs);
  EXPECT_TRUE(client.has_value() && server.has_value());
  if (client.has_value() && server.has_value()) {
    pair.client = *std::move(client);
    pair.server = *std::move(server);
  }
  return pair;
}

TEST(NetTest, CancelEndsABlockedReadFromAnotherThread) {
  for (const std::string& unix_path : {std::string(), TempSocketPath("cancel-read")}) {
    Pair pair = Connected(unix_path);
    ASSERT_TRUE(pair.server != nullptr);
    const auto start = std::chrono::steady_clock::now();
    std::thread canceller([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      pair.server->Cancel();
    });
    std::vector<uint8_t> frame;
    // The deadline is a minute: only Cancel can end this read in time.
    EXPECT_THAT(ReadFrame(pair.server.get(), {}, 60'000, &frame),
                HasError(ErrorCode::kChannelCancelled));
    canceller.join();
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
    // Every later call fails the same way, and the peer sees the connection end.
    EXPECT_THAT(pair.server->WriteAll(std::vector<uint8_t>{1}, 1000),
                HasError(ErrorCode::kChannelCancelled));
    pair.server->Cancel();  // idempotent
    std::vector<uint8_t> byte(1);
    EXPECT_THAT(pair.client->ReadExact(byte, kTimeoutMs), HasError(ErrorCode::kChannelClosed));
  }
}

TEST(NetTest, CancelEndsABlockedWrite) {
  Pair pair = Connected("");
  ASSERT_TRUE(pair.server != nullptr);
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    pair.client->Cancel();
  });
  // Far more than the socket buffers hold while the peer reads nothing.
  const std::vector<uint8_t> big(64 << 20, 0x11);
  EXPECT_THAT(pair.client->WriteAll(big, 60'000), HasError(ErrorCode::kChannelCancelled));
  canceller.join();
}

TEST(NetTest, CancelBeforeUseFailsAtOnce) {
  Pair pair = Connected(TempSocketPath("cancel-first"));
  ASSERT_TRUE(pair.client != nullptr);
  pair.client->Cancel();
  std::vector<uint8_t> byte(1);
  EXPECT_THAT(pair.client->ReadExact(byte, 60'000), HasError(ErrorCode::kChannelCancelled));
  EXPECT_THAT(pair.server->ReadExact(byte, kTimeoutMs), HasError(ErrorCode::kChannelClosed));
}

TEST(NetTest, ConnectRefused) {
  uint16_t port = 0;
  {
    Result<std::unique_ptr<Listener>> listener = ListenTcp({"127.0.0.1", 0});
    ASSERT_TRUE(listener.has_value());
    port = (*listener)->port();
  }
  EXPECT_THAT(ConnectTcp({"127.0.0.1", port}, 1000), HasError(ErrorCode::kChannelIoError));
  EXPECT_THAT(ConnectUnix(TempSocketPath("missing"), 1000), HasError(ErrorCode::kChannelIoError));
}

}  // namespace
}  // namespace eml::channel::net
