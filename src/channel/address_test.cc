#include "channel/address.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "common/error.h"
#include "testing/test_util.h"

namespace eml::channel {
namespace {

using ::eml::testing::HasError;
using ::eml::testing::IsOk;

TEST(AddressTest, ParsesEveryFormAndFormatsItBack) {
  for (const char* text :
       {"tcp:127.0.0.1:8443", "tcp:[::1]:1", "tcp:localhost:0", "unix:/tmp/eml.sock",
        "unix:relative/path", "vsock:3:5000", "vsock:4294967295:4294967295"}) {
    Result<Address> address = ParseAddress(text);
    ASSERT_TRUE(address.has_value()) << text << ": " << ToString(address.error());
    EXPECT_EQ(FormatAddress(*address), text);
  }
  Result<Address> vsock = ParseAddress("vsock:16:7000");
  ASSERT_TRUE(vsock.has_value());
  EXPECT_EQ(vsock->kind, Address::Kind::kVsock);
  EXPECT_EQ(vsock->vsock.cid, 16u);
  EXPECT_EQ(vsock->vsock.port, 7000u);
  Result<Address> v6 = ParseAddress("tcp:[::1]:99");
  ASSERT_TRUE(v6.has_value());
  EXPECT_EQ(v6->kind, Address::Kind::kTcp);
  EXPECT_EQ(v6->tcp.host, "::1");
  EXPECT_EQ(v6->tcp.port, 99);
}

TEST(AddressTest, RejectsMalformedAddresses) {
  const std::string long_path = "unix:" + std::string(kMaxUnixPathBytes + 1, 'a');
  for (const std::string& text :
       {std::string(""), std::string("127.0.0.1:80"), std::string("tcp:"),
        std::string("tcp:example.com:80"), std::string("tcp:127.0.0.1:65536"),
        std::string("tcp:127.0.0.1"), std::string("unix:"), long_path, std::string("unix:a\0b", 8),
        std::string("vsock:"), std::string("vsock:3"), std::string("vsock:vsock://3:5"),
        std::string("vsock:-1:5"), std::string("vsock:3:4294967296"),
        std::string("http://127.0.0.1:80")}) {
    EXPECT_THAT(ParseAddress(text), HasError(ErrorCode::kChannelBadAddress)) << text;
  }
}

TEST(AddressTest, ConnectRefusesPortZero) {
  Result<Address> tcp = ParseAddress("tcp:127.0.0.1:0");
  ASSERT_TRUE(tcp.has_value());
  EXPECT_THAT(Connect(*tcp, 1000), HasError(ErrorCode::kChannelBadAddress));
  Result<Address> vsock = ParseAddress("vsock:3:0");
  ASSERT_TRUE(vsock.has_value());
  EXPECT_THAT(Connect(*vsock, 1000), HasError(ErrorCode::kChannelBadAddress));
}

// Round trip of a few bytes through Listen / bound / Connect.
void ExpectEcho(const Address& listen_at) {
  Result<std::unique_ptr<Listener>> listener = Listen(listen_at);
  ASSERT_TRUE(listener.has_value()) << ToString(listener.error());
  const Address bound = (*listener)->bound();
  std::thread server([&] {
    Result<std::unique_ptr<Stream>> accepted = (*listener)->Accept(10'000);
    ASSERT_TRUE(accepted.has_value()) << ToString(accepted.error());
    std::array<uint8_t, 4> got{};
    ASSERT_THAT((*accepted)->ReadExact(got, 10'000), IsOk());
    for (uint8_t& byte : got) {
      byte = static_cast<uint8_t>(byte + 1);
    }
    ASSERT_THAT((*accepted)->WriteAll(got, 10'000), IsOk());
  });
  Result<std::unique_ptr<Stream>> client = Connect(bound, 10'000);
  ASSERT_TRUE(client.has_value()) << ToString(client.error());
  const std::array<uint8_t, 4> sent = {1, 2, 3, 4};
  ASSERT_THAT((*client)->WriteAll(sent, 10'000), IsOk());
  std::array<uint8_t, 4> echoed{};
  ASSERT_THAT((*client)->ReadExact(echoed, 10'000), IsOk());
  EXPECT_EQ(echoed, (std::array<uint8_t, 4>{2, 3, 4, 5}));
  server.join();
}

TEST(AddressTest, TcpListenerReportsThePickedPort) {
  Result<Address> address = ParseAddress("tcp:127.0.0.1:0");
  ASSERT_TRUE(address.has_value());
  Result<std::unique_ptr<Listener>> listener = Listen(*address);
  ASSERT_TRUE(listener.has_value()) << ToString(listener.error());
  EXPECT_NE((*listener)->bound().tcp.port, 0);
  EXPECT_EQ(FormatAddress((*listener)->bound()),
            "tcp:127.0.0.1:" + std::to_string((*listener)->bound().tcp.port));
  listener->reset();
  ExpectEcho(*address);
}

TEST(AddressTest, UnixListenerRoundTripAndCleanup) {
  const std::filesystem::path path = std::filesystem::temp_directory_path() /
                                     ("eml-address-" + std::to_string(::getpid()) + ".sock");
  std::filesystem::remove(path);
  Result<Address> address = ParseAddress("unix:" + path.string());
  ASSERT_TRUE(address.has_value());
  ExpectEcho(*address);
  EXPECT_FALSE(std::filesystem::exists(path));
}

// No loopback VSock transport here: listening may work (the kernel has AF_VSOCK) or fail with a
// typed I/O error, but never silently. When it works, the picked port is reported.
TEST(AddressTest, VsockListenerOpensOrFailsTyped) {
  Result<Address> address = ParseAddress("vsock:4294967295:0");
  ASSERT_TRUE(address.has_value());
  Result<std::unique_ptr<Listener>> listener = Listen(*address);
  if (!listener.has_value()) {
    EXPECT_EQ(listener.error().code, ErrorCode::kChannelIoError) << ToString(listener.error());
    return;
  }
  EXPECT_EQ((*listener)->bound().kind, Address::Kind::kVsock);
  EXPECT_NE((*listener)->bound().vsock.port, 0u);
  EXPECT_NE((*listener)->bound().vsock.port, 0xFFFFFFFFu);
  EXPECT_THAT((*listener)->Accept(10), HasError(ErrorCode::kChannelTimeout));
}

}  // namespace
}  // namespace eml::channel
