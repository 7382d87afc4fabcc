#include "host/relay.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "channel/frame.h"
#include "channel/net/net.h"
#include "channel/transport.h"
#include "testing/test_util.h"

namespace eml::host {
namespace {

using channel::FrameType;
using channel::Stream;
using channel::net::Listener;
using ::eml::testing::HasError;
using ::eml::testing::IsOk;

constexpr int kTimeoutMs = 5'000;

// Deterministic frame bytes: a header and a payload of `size` bytes derived from `seed`.
std::vector<uint8_t> MakeFrame(FrameType type, uint32_t sequence, size_t size, uint8_t seed) {
  std::vector<uint8_t> payload(size);
  for (size_t i = 0; i < size; ++i) {
    payload[i] = static_cast<uint8_t>(seed + i * 31 + (i >> 8));
  }
  Result<std::vector<uint8_t>> frame =
      channel::EncodeFrame(type, channel::kFlagEncrypted, sequence, payload, {});
  EML_CHECK(frame.has_value());
  return *std::move(frame);
}

std::vector<uint8_t> RawHeader(uint16_t magic, uint8_t version, uint8_t type, uint32_t len) {
  return {static_cast<uint8_t>(magic >> 8),
          static_cast<uint8_t>(magic),
          version,
          type,
          0,
          0,
          0,
          0,
          0,
          static_cast<uint8_t>(len >> 24),
          static_cast<uint8_t>(len >> 16),
          static_cast<uint8_t>(len >> 8),
          static_cast<uint8_t>(len)};
}

channel::Address TcpAddress(uint16_t port) {
  channel::Address out;
  out.kind = channel::Address::Kind::kTcp;
  out.tcp = {"127.0.0.1", port};
  return out;
}

std::vector<uint8_t> ReadAll(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A fresh temporary directory, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "eml-relay-XXXXXX").string();
    EML_CHECK(::mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Fixture: a fake enclave (a channel::net listener) and a relay in front of it.
class RelayTest : public ::testing::Test {
 protected:
  void StartTcp(RelayOptions options = {}) {
    Result<std::unique_ptr<Listener>> listener = channel::net::ListenTcp({"127.0.0.1", 0});
    ASSERT_TRUE(listener.has_value()) << ToString(listener.error());
    upstream_ = std::move(*listener);
    options.enclave = TcpAddress(upstream_->port());
    StartRelay(std::move(options));
  }

  void StartUnix(RelayOptions options = {}) {
    const std::string path = (temp_.path() / "enclave.sock").string();
    Result<std::unique_ptr<Listener>> listener = channel::net::ListenUnix(path);
    ASSERT_TRUE(listener.has_value()) << ToString(listener.error());
    upstream_ = std::move(*listener);
    options.enclave.kind = channel::Address::Kind::kUnix;
    options.enclave.unix_path = path;
    StartRelay(std::move(options));
  }

  void StartRelay(RelayOptions options) {
    Result<std::unique_ptr<Relay>> relay = Relay::Start(std::move(options));
    ASSERT_TRUE(relay.has_value()) << ToString(relay.error());
    relay_ = std::move(*relay);
  }

  // Connect opens a client connection through the relay and accepts its upstream side.
  void Connect(std::unique_ptr<Stream>* client, std::unique_ptr<Stream>* enclave) {
    Result<std::unique_ptr<Stream>> c =
        channel::net::ConnectTcp({"127.0.0.1", relay_->port()}, kTimeoutMs);
    ASSERT_TRUE(c.has_value()) << ToString(c.error());
    Result<std::unique_ptr<Stream>> e = upstream_->Accept(kTimeoutMs);
    ASSERT_TRUE(e.has_value()) << ToString(e.error());
    *client = std::move(*c);
    *enclave = std::move(*e);
  }

  // LastReport waits for `count` ended connections and returns the newest report.
  ConnectionReport WaitReport(uint64_t count) {
    EXPECT_TRUE(relay_->WaitForClosed(count, kTimeoutMs));
    RelayStats stats = relay_->Stats();
    EML_CHECK(!stats.recent.empty());
    return stats.recent.back();
  }

  // ExpectClosed: the stream's next read ends (the relay closed the connection).
  static void ExpectClosed(Stream* stream) {
    std::array<uint8_t, 1> byte{};
    Status read = stream->ReadExact(byte, kTimeoutMs);
    EXPECT_FALSE(read.has_value());
    EXPECT_TRUE(read.code() == ErrorCode::kChannelClosed ||
                read.code() == ErrorCode::kChannelIoError)
        << ToString(read.error());
  }

  // ExpectClosedAfterPartial: `n` bytes arrive, then the stream ends.
  static void ExpectClosedAfterPartial(Stream* stream, size_t n) {
    std::vector<uint8_t> partial(n);
    EXPECT_THAT(stream->ReadExact(partial, kTimeoutMs), IsOk());
    ExpectClosed(stream);
  }

  static void SendAndExpect(Stream* from, Stream* to, const std::vector<uint8_t>& frame) {
    ASSERT_THAT(from->WriteAll(frame, kTimeoutMs), IsOk());
    std::vector<uint8_t> got;
    ASSERT_THAT(channel::ReadFrame(to, {}, kTimeoutMs, &got), IsOk());
    EXPECT_EQ(got, frame);
  }

  TempDir temp_;
  std::unique_ptr<Listener> upstream_;
  std::unique_ptr<Relay> relay_;
};

TEST(RelayStartTest, RejectsBadLimitsAndUnwritableRecordDir) {
  RelayOptions zero_connections;
  zero_connections.enclave = TcpAddress(1);
  zero_connections.max_connections = 0;
  EXPECT_THAT(Relay::Start(zero_connections), HasError(ErrorCode::kInvalidArgument));

  TempDir temp;
  const std::filesystem::path file = temp.path() / "a-file";
  std::ofstream(file) << "x";
  RelayOptions bad_record;
  bad_record.enclave = zero_connections.enclave;
  bad_record.record_dir = file / "records";
  EXPECT_THAT(Relay::Start(bad_record), HasError(ErrorCode::kHostRecordFailed));

  RelayOptions bad_listen;
  bad_listen.enclave = zero_connections.enclave;
  bad_listen.listen_host = "example.com";
  EXPECT_THAT(Relay::Start(bad_listen), HasError(ErrorCode::kChannelBadAddress));

  // channel::ParseAddress takes port 0 (a listener's "pick one"); as a destination it is refused.
  RelayOptions port_zero;
  port_zero.enclave = TcpAddress(0);
  EXPECT_THAT(Relay::Start(port_zero), HasError(ErrorCode::kChannelBadAddress));
  port_zero.enclave.kind = channel::Address::Kind::kVsock;
  port_zero.enclave.vsock = {16, 0};
  EXPECT_THAT(Relay::Start(port_zero), HasError(ErrorCode::kChannelBadAddress));
}

TEST_F(RelayTest, CarriesFramesByteExactBothWaysOverTcp) {
  RelayOptions options;
  options.buffer_bytes = 4096;  // payloads larger than this travel in several chunks
  StartTcp(options);
  std::unique_ptr<Stream> client, enclave;
  Connect(&client, &enclave);
  const std::vector<size_t> sizes = {0, 1, 13, 4095, 4096, 4097, 100'000, 1 << 20};
  uint32_t seq = 0;
  uint64_t bytes = 0;
  for (size_t size : sizes) {
    const std::vector<uint8_t> up = MakeFrame(FrameType::kData, seq, size, 1);
    const std::vector<uint8_t> down = MakeFrame(FrameType::kTensor, seq, size, 2);
    SendAndExpect(client.get(), enclave.get(), up);
    SendAndExpect(enclave.get(), client.get(), down);
    bytes += up.size();
    ++seq;
  }
  client.reset();
  ExpectClosed(enclave.get());
  const ConnectionReport report = WaitReport(1);
  EXPECT_EQ(report.close_reason, ErrorCode::kOk);
  EXPECT_EQ(report.frames_c2e, sizes.size());
  EXPECT_EQ(report.frames_e2c, sizes.size());
  EXPECT_EQ(report.bytes_c2e, bytes);
  EXPECT_EQ(report.bytes_e2c, bytes);
}

TEST_F(RelayTest, CarriesFramesOverUnixSocketsAndRecordsExactlyTheRelayedBytes) {
  RelayOptions options;
  options.record_dir = temp_.path() / "record";
  options.buffer_bytes = 1000;
  StartUnix(options);
  std::unique_ptr<Stream> client, enclave;
  Connect(&client, &enclave);
  std::vector<uint8_t> c2e, e2c;
  for (uint32_t i = 0; i < 6; ++i) {
    const std::vector<uint8_t> up = MakeFrame(FrameType::kData, i, 700 * i, 3);
    const std::vector<uint8_t> down = MakeFrame(FrameType::kData, i, 900 * i + 5, 4);
    SendAndExpect(client.get(), enclave.get(), up);
    SendAndExpect(enclave.get(), client.get(), down);
    c2e.insert(c2e.end(), up.begin(), up.end());
    e2c.insert(e2c.end(), down.begin(), down.end());
  }
  enclave.reset();
  ExpectClosed(client.get());
  const ConnectionReport report = WaitReport(1);
  EXPECT_EQ(report.close_reason, ErrorCode::kOk);
  EXPECT_EQ(report.reason_direction, Direction::kEnclaveToClient);
  const std::string stem = "conn-" + std::to_string(report.id);
  EXPECT_EQ(ReadAll(options.record_dir / (stem + "-c2e.bin")), c2e);
  EXPECT_EQ(ReadAll(options.record_dir / (stem + "-e2c.bin")), e2c);
}

TEST_F(RelayTest, ClosesBothSidesWhenTheClientCloses) {
  StartTcp();
  std::unique_ptr<Stream> client, enclave;
  Connect(&client, &enclave);
  SendAndExpect(client.get(), enclave.get(), MakeFrame(FrameType::kHello, 0, 10, 5));
  client.reset();
  ExpectClosed(enclave.get());
  EXPECT_EQ(WaitReport(1).reason_direction, Direction::kClientToEnclave);
  EXPECT_EQ(relay_->Stats().active, 0u);
}

TEST_F(RelayTest, ClosesBothSidesWhenTheEnclaveCloses) {
  StartTcp();
  std::unique_ptr<Stream> client, enclave;
  Connect(&client, &enclave);
  enclave.reset();
  ExpectClosed(client.get());
  const ConnectionReport report = WaitReport(1);
  EXPECT_EQ(report.close_reason, ErrorCode::kOk);
  EXPECT_EQ(report.reason_direction, Direction::kEnclaveToClient);
}

TEST_F(RelayTest, PeerClosingInsideAFrameIsReported) {
  StartTcp();
  std::unique_ptr<Stream> client, enclave;
  Connect(&client, &enclave);
  std::vector<uint8_t> frame = MakeFrame(FrameType::kData, 0, 100, 6);
  frame.resize(50);  // header and part of the payload, then the client goes away
  ASSERT_THAT(client->WriteAll(frame, kTimeoutMs), IsOk());
  client.reset();
  EXPECT_EQ(WaitReport(1).close_reason, ErrorCode::kChannelClosed);
  ExpectClosedAfterPartial(enclave.get(), 50);
}

TEST_F(RelayTest, RefusesAPayloadAboveTheLimitBeforeForwardingIt) {
  RelayOptions options;
  options.max_payload_bytes = 1024;
  StartTcp(options);
  std::unique_ptr<Stream> client, enclave;
  Connect(&client, &enclave);
  SendAndExpect(client.get(), enclave.get(), MakeFrame(FrameType::kData, 0, 1024, 7));
  ASSERT_THAT(client->WriteAll(RawHeader(0xCF4D, 4, 0x02, 1025), kTimeoutMs), IsOk());
  ExpectClosed(enclave.get());  // not one byte of the bad header went through
  ExpectClosed(client.get());
  EXPECT_EQ(WaitReport(1).close_reason, ErrorCode::kChannelPayloadTooLarge);
}

TEST_F(RelayTest, DefaultLimitIsThe32MiBFramePayload) {
  StartTcp();
  std::unique_ptr<Stream> client, enclave;
  Connect(&client, &enclave);
  ASSERT_THAT(enclave->WriteAll(RawHeader(0xCF4D, 4, 0x02, channel::kDefaultMaxPayloadBytes + 1),
                                kTimeoutMs),
              IsOk());
  ExpectClosed(client.get());
  const ConnectionReport report = WaitReport(1);
  EXPECT_EQ(report.close_reason, ErrorCode::kChannelPayloadTooLarge);
  EXPECT_EQ(report.reason_direction, Direction::kEnclaveToClient);
}

TEST_F(RelayTest, HelloFramesAreHeldToTheHandshakeLimit) {
  StartTcp();
  std::unique_ptr<Stream> client, enclave;
  Connect(&client, &enclave);
  ASSERT_THAT(client->WriteAll(RawHeader(0xCF4D, 4, 0x01, (64u << 10) + 1024 + 1), kTimeoutMs),
              IsOk());
  ExpectClosed(enclave.get());
  EXPECT_EQ(WaitReport(1).close_reason, ErrorCode::kChannelPayloadTooLarge);
}

TEST_F(RelayTest, RejectsBadHeaders) {
  StartTcp();
  const std::vector<std::pair<std::vector<uint8_t>, ErrorCode>> cases = {
      {RawHeader(0xCF4E, 4, 0x02, 0), ErrorCode::kChannelBadMagic},
      {RawHeader(0xCF4D, 2, 0x02, 0), ErrorCode::kChannelBadVersion},
      {RawHeader(0xCF4D, 4, 0x07, 0), ErrorCode::kChannelUnknownFrameType},
  };
  uint64_t ended = 0;
  for (const auto& [header, code] : cases) {
    std::unique_ptr<Stream> client, enclave;
    Connect(&client, &enclave);
    ASSERT_THAT(client->WriteAll(header, kTimeoutMs), IsOk());
    ExpectClosed(enclave.get());
    EXPECT_EQ(WaitReport(++ended).close_reason, code);
  }
}

TEST_F(RelayTest, IdleConnectionsAreClosed) {
  RelayOptions options;
  options.idle_timeout_ms = 100;
  StartTcp(options);
  std::unique_ptr<Stream> client, enclave;
  Connect(&client, &enclave);
  SendAndExpect(client.get(), enclave.get(), MakeFrame(FrameType::kData, 0, 3, 8));
  ExpectClosed(client.get());
  ExpectClosed(enclave.get());
  EXPECT_EQ(WaitReport(1).close_reason, ErrorCode::kHostIdleTimeout);
}

TEST_F(RelayTest, AFrameThatStallsIsClosedEvenWhenBytesTrickle) {
  RelayOptions options;
  options.frame_timeout_ms = 300;
  options.idle_timeout_ms = 60'000;
  StartTcp(options);
  std::unique_ptr<Stream> client, enclave;
  Connect(&client, &enclave);
  const std::vector<uint8_t> frame = MakeFrame(FrameType::kData, 0, 1000, 9);
  ASSERT_THAT(client->WriteAll(std::span(frame).first(20), kTimeoutMs), IsOk());
  // A byte every 50 ms keeps the connection from being idle, never completes the frame.
  for (size_t i = 20; i < 40; ++i) {
    if (!client->WriteAll(std::span(frame).subspan(i, 1), kTimeoutMs).has_value()) {
      break;
    }
    if (relay_->WaitForClosed(1, 50)) {
      break;
    }
  }
  EXPECT_EQ(WaitReport(1).close_reason, ErrorCode::kHostIdleTimeout);
}

TEST_F(RelayTest, RefusesConnectionsAboveTheMaximum) {
  RelayOptions options;
  options.max_connections = 1;
  StartTcp(options);
  std::unique_ptr<Stream> client, enclave;
  Connect(&client, &enclave);
  Result<std::unique_ptr<Stream>> second =
      channel::net::ConnectTcp({"127.0.0.1", relay_->port()}, kTimeoutMs);
  ASSERT_TRUE(second.has_value());
  ExpectClosed(second->get());
  EXPECT_EQ(WaitReport(1).close_reason, ErrorCode::kHostTooManyConnections);
  // The first connection is untouched.
  SendAndExpect(client.get(), enclave.get(), MakeFrame(FrameType::kData, 0, 64, 10));
  EXPECT_EQ(relay_->Stats().refused, 1u);
  EXPECT_EQ(relay_->Stats().active, 1u);
}

TEST_F(RelayTest, UnreachableEnclaveClosesTheClient) {
  // Bind a port, then free it, so nothing listens there.
  uint16_t dead_port = 0;
  {
    Result<std::unique_ptr<Listener>> l = channel::net::ListenTcp({"127.0.0.1", 0});
    ASSERT_TRUE(l.has_value());
    dead_port = (*l)->port();
  }
  RelayOptions options;
  options.enclave = TcpAddress(dead_port);
  StartRelay(options);
  Result<std::unique_ptr<Stream>> client =
      channel::net::ConnectTcp({"127.0.0.1", relay_->port()}, kTimeoutMs);
  ASSERT_TRUE(client.has_value());
  ExpectClosed(client->get());
  EXPECT_EQ(WaitReport(1).close_reason, ErrorCode::kHostUpstreamUnavailable);
}

TEST_F(RelayTest, TamperHookChangesForwardedBytesForTests) {
  RelayOptions options;
  options.tamper_for_test = [](const FramePiece& piece, std::span<uint8_t> bytes) {
    if (piece.direction == Direction::kClientToEnclave && piece.frame_index == 1 &&
        piece.offset <= 20 && piece.offset + bytes.size() > 20) {
      bytes[20 - piece.offset] ^= 0x01;
    }
  };
  StartTcp(options);
  std::unique_ptr<Stream> client, enclave;
  Connect(&client, &enclave);
  const std::vector<uint8_t> first = MakeFrame(FrameType::kData, 0, 40, 11);
  SendAndExpect(client.get(), enclave.get(), first);
  std::vector<uint8_t> second = MakeFrame(FrameType::kData, 1, 40, 12);
  ASSERT_THAT(client->WriteAll(second, kTimeoutMs), IsOk());
  std::vector<uint8_t> got;
  ASSERT_THAT(channel::ReadFrame(enclave.get(), {}, kTimeoutMs, &got), IsOk());
  second[20] ^= 0x01;
  EXPECT_EQ(got, second);
}

TEST_F(RelayTest, SixteenConcurrentConnectionsStaySeparate) {
  StartTcp();
  constexpr size_t kConnections = 16;
  std::vector<std::unique_ptr<Stream>> clients(kConnections), enclaves(kConnections);
  for (size_t i = 0; i < kConnections; ++i) {
    Connect(&clients[i], &enclaves[i]);
  }
  std::atomic<size_t> ok{0};
  std::vector<std::thread> threads;
  for (size_t i = 0; i < kConnections; ++i) {
    threads.emplace_back([&, i] {
      for (uint32_t seq = 0; seq < 20; ++seq) {
        const auto seed = static_cast<uint8_t>(i * 7 + seq);
        const std::vector<uint8_t> up = MakeFrame(FrameType::kData, seq, 3000 + seq, seed);
        std::vector<uint8_t> got;
        if (!clients[i]->WriteAll(up, kTimeoutMs).has_value() ||
            !channel::ReadFrame(enclaves[i].get(), {}, kTimeoutMs, &got).has_value() || got != up ||
            !enclaves[i]->WriteAll(got, kTimeoutMs).has_value() ||
            !channel::ReadFrame(clients[i].get(), {}, kTimeoutMs, &got).has_value() || got != up) {
          return;
        }
      }
      ok.fetch_add(1);
    });
  }
  for (std::thread& t : threads) {
    t.join();
  }
  EXPECT_EQ(ok.load(), kConnections);
  EXPECT_EQ(relay_->Stats().active, kConnections);
  relay_->Stop();
  for (auto& client : clients) {
    ExpectClosed(client.get());
  }
}

}  // namespace
}  // namespace eml::host
