#include "http/internal/via_bridge.h"

#include <curl/curl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "http/internal/via_socket.h"
#include "http/testing/loopback_server.h"
#include "testing/test_util.h"

namespace eml::http::internal {
namespace {

using ::eml::testing::IsOk;

// ReadAll reads from a blocking socket until end of stream.
std::string ReadAll(int fd) {
  std::string out;
  char buffer[16384];
  ssize_t n = 0;
  while ((n = ::read(fd, buffer, sizeof(buffer))) > 0) {
    out.append(buffer, static_cast<size_t>(n));
  }
  return out;
}

void WriteAll(int fd, const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    ASSERT_GT(n, 0) << std::strerror(errno);
    done += static_cast<size_t>(n);
  }
}

int ConnectTo(const BridgeAddress& bridge) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  EML_CHECK(fd >= 0);
  EML_CHECK(::connect(fd, reinterpret_cast<const sockaddr*>(&bridge.address), bridge.address_len) ==
            0);
  return fd;
}

// The far end of a bridge: a Unix socket server (standing in for the host's proxy behind VSock,
// which this machine cannot loop back) reached with ConnectVia, as the client does.
class ViaBridgeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("eml_via_bridge_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    const std::string path = (dir_ / "far.sock").string();
    listener_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(listener_, 0);
    sockaddr_un un{};
    un.sun_family = AF_UNIX;
    std::memcpy(un.sun_path, path.data(), path.size());
    ASSERT_EQ(::bind(listener_, reinterpret_cast<const sockaddr*>(&un), sizeof(un)), 0);
    ASSERT_EQ(::listen(listener_, 4), 0);
    Result<ViaTarget> target = ParseVia("unix:" + path);
    ASSERT_THAT(target, IsOk());
    Result<int> connected = ConnectVia(*target, 2000);
    ASSERT_THAT(connected, IsOk());
    connected_ = *connected;
    far_ = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    ASSERT_GE(far_, 0);
  }
  void TearDown() override {
    for (const int fd : {far_, listener_}) {
      if (fd >= 0) {
        ::close(fd);
      }
    }
    std::filesystem::remove_all(dir_);
  }

  std::filesystem::path dir_;
  int listener_ = -1;
  int connected_ = -1;  // handed to StartBridge, which owns it
  int far_ = -1;
};

TEST_F(ViaBridgeTest, RelaysBothWaysAndPassesHalfClosesOn) {
  Result<BridgeAddress> bridge = StartBridge(connected_, 2000);
  ASSERT_THAT(bridge, IsOk());
  EXPECT_EQ(bridge->address.sun_path[0], '\0');  // abstract: no file to clean up or squat
  const int near = ConnectTo(*bridge);
  // More than the relay's buffers in each direction, at once, so both must keep moving.
  std::string up(3 * 1024 * 1024 + 7, '\0');
  std::string down(2 * 1024 * 1024 + 3, '\0');
  for (size_t i = 0; i < up.size(); ++i) {
    up[i] = static_cast<char>(i * 31 + 7);
  }
  for (size_t i = 0; i < down.size(); ++i) {
    down[i] = static_cast<char>(i * 17 + 3);
  }
  std::string far_got;
  std::thread far([&] {
    std::thread reader([&] { far_got = ReadAll(far_); });  // ends at the near side's half-close
    WriteAll(far_, down);
    ::shutdown(far_, SHUT_WR);
    reader.join();
  });
  std::string near_got;
  std::thread reader([&] { near_got = ReadAll(near); });  // ends at the far side's half-close
  WriteAll(near, up);
  ::shutdown(near, SHUT_WR);
  reader.join();
  far.join();
  EXPECT_EQ(near_got.size(), down.size());
  EXPECT_TRUE(near_got == down);
  EXPECT_EQ(far_got.size(), up.size());
  EXPECT_TRUE(far_got == up);
  ::close(near);
}

TEST_F(ViaBridgeTest, ClosingOneSideClosesTheOther) {
  Result<BridgeAddress> bridge = StartBridge(connected_, 2000);
  ASSERT_THAT(bridge, IsOk());
  const int near = ConnectTo(*bridge);
  WriteAll(near, "GET / HTTP/1.1\r\n\r\n");
  char buffer[64];
  ASSERT_EQ(::read(far_, buffer, 18), 18);
  ::close(far_);  // the host proxy goes away
  far_ = -1;
  EXPECT_EQ(ReadAll(near), "");  // the near side sees end of stream, not a hang
  ::close(near);
}

TEST_F(ViaBridgeTest, NobodyConnectingClosesTheViaSocketAfterTheTimeout) {
  const auto start = std::chrono::steady_clock::now();
  Result<BridgeAddress> bridge = StartBridge(connected_, 200);
  ASSERT_THAT(bridge, IsOk());
  EXPECT_EQ(ReadAll(far_), "");  // the bridge gave up and closed its end
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

TEST_F(ViaBridgeTest, AnotherProcessCannotTakeTheBridge) {
  Result<BridgeAddress> bridge = StartBridge(connected_, 5000);
  ASSERT_THAT(bridge, IsOk());
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // Another process finds the name and connects first: the bridge must drop it unserved.
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0 || ::connect(fd, reinterpret_cast<const sockaddr*>(&bridge->address),
                            bridge->address_len) != 0) {
      ::_exit(2);
    }
    (void)::send(fd, "x", 1, MSG_NOSIGNAL);
    char c = 0;
    // Dropped: end of stream (or a reset, the unread byte discarded), never a relayed reply.
    const ssize_t n = ::read(fd, &c, 1);
    ::_exit(n == 0 || (n < 0 && errno == ECONNRESET) ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  // This process still gets the bridge, and the other process's byte never reached the far end.
  const int near = ConnectTo(*bridge);
  WriteAll(near, "ok");
  ::shutdown(near, SHUT_WR);
  EXPECT_EQ(ReadAll(far_), "ok");
  ::close(near);
}

// The assumption the client's VSock path rests on with libcurl 7.88: libcurl connects a socket
// whose peer address CURLOPT_OPENSOCKETFUNCTION rewrote to the bridge's abstract Unix address,
// and the request and reply cross the bridge intact (here to an HTTP server over TCP).
struct CurlBridge {
  BridgeAddress bridge;
};

curl_socket_t OpenBridgeSocket(void* user, curlsocktype /*purpose*/, curl_sockaddr* address) {
  const BridgeAddress& bridge = static_cast<CurlBridge*>(user)->bridge;
  address->family = AF_UNIX;
  address->protocol = 0;
  address->addrlen = bridge.address_len;
  std::memcpy(reinterpret_cast<char*>(address) + offsetof(curl_sockaddr, addr), &bridge.address,
              bridge.address_len);
  return ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
}

size_t Collect(char* data, size_t size, size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

TEST(ViaBridgeCurlTest, LibcurlReachesAServerThroughTheBridge) {
  Result<std::unique_ptr<testing::LoopbackServer>> server =
      testing::LoopbackServer::Start([](const testing::RecordedRequest& request) {
        return testing::Reply(200, "bridged " + request.target);
      });
  ASSERT_THAT(server, IsOk());
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_port = htons((*server)->port());
  in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<const sockaddr*>(&in), sizeof(in)), 0);
  Result<BridgeAddress> bridge = StartBridge(fd, 5000);
  ASSERT_THAT(bridge, IsOk());
  CurlBridge user{*bridge};
  CURL* curl = curl_easy_init();
  ASSERT_NE(curl, nullptr);
  std::string body;
  curl_easy_setopt(curl, CURLOPT_URL, "http://localhost/v1/store/x");
  curl_easy_setopt(curl, CURLOPT_OPENSOCKETFUNCTION, OpenBridgeSocket);
  curl_easy_setopt(curl, CURLOPT_OPENSOCKETDATA, &user);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 10000L);
  const CURLcode rc = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(curl);
  ASSERT_EQ(rc, CURLE_OK) << curl_easy_strerror(rc);
  EXPECT_EQ(status, 200);
  EXPECT_EQ(body, "bridged /v1/store/x");
  ASSERT_EQ((*server)->Requests().size(), 1u);
  EXPECT_EQ((*server)->Requests()[0].method, "GET");
}

}  // namespace
}  // namespace eml::http::internal
