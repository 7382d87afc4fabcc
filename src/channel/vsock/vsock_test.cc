#include "channel/vsock/vsock.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/socket.h>

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

}  // namespace
}  // namespace eml::channel::vsock
