#include "channel/vsock/vsock.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <linux/vm_sockets.h>
#include <sys/socket.h>

#include <chrono>

#include "testing/test_util.h"

namespace eml::channel::vsock {
namespace {

using ::eml::testing::HasError;

TEST(VsockTest, ParsesAddresses) {
  Result<VsockAddress> plain = ParseVsockAddress("16:5000");
  ASSERT_TRUE(plain.has_value());
  EXPECT_EQ(plain->cid, 16u);
  EXPECT_EQ(plain->port, 5000u);
  Result<VsockAddress> scheme = ParseVsockAddress("vsock://4294967295:8082");
  ASSERT_TRUE(scheme.has_value());
  EXPECT_EQ(scheme->cid, kVsockCidAny);
  EXPECT_EQ(scheme->port, 8082u);
}

TEST(VsockTest, RejectsBadAddresses) {
  for (const char* bad : {"", "16", "16:", ":5000", "x:1", "16:5000:1", "-1:5", "16:4294967296",
                          "tcp://16:5000", "16: 5000"}) {
    EXPECT_THAT(ParseVsockAddress(bad), HasError(ErrorCode::kChannelBadAddress)) << bad;
  }
}

TEST(VsockTest, SocketOpens) {
  Result<VsockSocket> socket = VsockSocket::Open();
  ASSERT_TRUE(socket.has_value()) << ToString(socket.error());
  EXPECT_GE(socket->fd(), 0);
  int type = 0;
  socklen_t len = sizeof(type);
  ASSERT_EQ(::getsockopt(socket->fd(), SOL_SOCKET, SO_DOMAIN, &type, &len), 0);
  EXPECT_EQ(type, AF_VSOCK);
  VsockSocket moved = std::move(*socket);
  EXPECT_EQ(socket->fd(), -1);
  EXPECT_GE(moved.fd(), 0);
}

TEST(VsockTest, NonBlockingSocketAdoptAndRelease) {
  Result<VsockSocket> socket = VsockSocket::OpenNonBlocking();
  ASSERT_TRUE(socket.has_value()) << ToString(socket.error());
  const int fd = socket->Release();
  EXPECT_EQ(socket->fd(), -1);
  ASSERT_GE(fd, 0);
  VsockSocket adopted = VsockSocket::Adopt(fd);
  EXPECT_EQ(adopted.fd(), fd);
}

// Without a vsock transport to that CID the kernel never answers: the deadline must end the
// connect with a typed error instead of a hang.
TEST(VsockTest, ConnectToAbsentCidFailsWithinDeadline) {
  const auto start = std::chrono::steady_clock::now();
  Result<std::unique_ptr<Stream>> stream = ConnectVsock({.cid = 4'000'000, .port = 5000}, 300);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(stream.has_value());
  EXPECT_TRUE(stream.code() == ErrorCode::kChannelTimeout ||
              stream.code() == ErrorCode::kChannelIoError)
      << ToString(stream.error());
  EXPECT_LT(elapsed, std::chrono::seconds(5));
}

TEST(VsockTest, ListensOnAnyPortAndAcceptTimesOut) {
  Result<std::unique_ptr<VsockListener>> listener =
      ListenVsock({.cid = kVsockCidAny, .port = VMADDR_PORT_ANY});
  ASSERT_TRUE(listener.has_value()) << ToString(listener.error());
  EXPECT_NE((*listener)->port(), VMADDR_PORT_ANY);
  EXPECT_THAT((*listener)->Accept(50), HasError(ErrorCode::kChannelTimeout));
}

TEST(VsockTest, ListenOnTakenPortFails) {
  Result<std::unique_ptr<VsockListener>> first =
      ListenVsock({.cid = kVsockCidAny, .port = VMADDR_PORT_ANY});
  ASSERT_TRUE(first.has_value()) << ToString(first.error());
  EXPECT_THAT(ListenVsock({.cid = kVsockCidAny, .port = (*first)->port()}),
              HasError(ErrorCode::kChannelIoError));
}

}  // namespace
}  // namespace eml::channel::vsock
