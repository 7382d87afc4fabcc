#include "host/connect_head.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace eml::host {
namespace {

Result<ConnectTarget> Parse(const std::string& head) { return ParseConnectHead(head); }

ErrorCode CodeOf(const std::string& head) {
  Result<ConnectTarget> target = Parse(head);
  return target.has_value() ? ErrorCode::kOk : target.code();
}

TEST(ConnectHeadTest, ParsesCurlStyleHead) {
  Result<ConnectTarget> target = Parse(
      "CONNECT Broker.Example.com:8443 HTTP/1.1\r\nHost: broker.example.com:8443\r\n"
      "User-Agent: eml\r\nProxy-Connection: Keep-Alive\r\n\r\n");
  ASSERT_TRUE(target.has_value());
  EXPECT_EQ(target->host, "broker.example.com");  // lower-cased
  EXPECT_EQ(target->port, 8443);
  EXPECT_EQ(FormatConnectAuthority(*target), "broker.example.com:8443");
}

TEST(ConnectHeadTest, ParsesMinimalHttp10AndIpLiterals) {
  Result<ConnectTarget> v4 = Parse("CONNECT 127.0.0.1:1 HTTP/1.0\r\n\r\n");
  ASSERT_TRUE(v4.has_value());
  EXPECT_EQ(v4->host, "127.0.0.1");
  EXPECT_EQ(v4->port, 1);
  Result<ConnectTarget> v6 = Parse("CONNECT [::1]:65535 HTTP/1.1\r\nX-Empty:\r\n\r\n");
  ASSERT_TRUE(v6.has_value());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 65535);
  EXPECT_EQ(FormatConnectAuthority(*v6), "[::1]:65535");
}

TEST(ConnectHeadTest, RefusesOtherRequestLines) {
  for (const std::string head : {
           "GET http://a.example:80/ HTTP/1.1\r\n\r\n",  // not CONNECT
           "connect a.example:443 HTTP/1.1\r\n\r\n",     // method is case-sensitive
           "CONNECT  a.example:443 HTTP/1.1\r\n\r\n",    // two spaces
           "CONNECT a.example:443  HTTP/1.1\r\n\r\n",    // two spaces
           "CONNECT a.example:443 HTTP/2\r\n\r\n",       // version
           "CONNECT a.example:443 http/1.1\r\n\r\n",     // version is case-sensitive
           "CONNECT a.example:443\r\n\r\n",              // no version
           "CONNECT a.example:443 HTTP/1.1 x\r\n\r\n",   // trailing field
           "CONNECT a.example:443 HTTP/1.1\n\n",         // bare LF
           "CONNECT a.example:443 HTTP/1.1\r\n",         // no empty line
           "CONNECT a.example:443 HTTP/1.1\r\n\r\nxyz",  // bytes after the head
           "CONNECT a.example:443 HTTP/1.1\r\r\n\r\n",   // stray CR
           "",
       }) {
    EXPECT_EQ(CodeOf(head), ErrorCode::kEgressBadRequest) << head;
  }
}

TEST(ConnectHeadTest, RefusesBadAuthorities) {
  for (const std::string authority : {
           "a.example",           // no port
           "a.example:",          // empty port
           "a.example:0",         // port 0
           "a.example:65536",     // port too large
           "a.example:0443",      // leading zero
           "a.example:+443",      // sign
           "a.example:443:1",     // two colons
           ":443",                // no host
           "a..example:443",      // empty label
           ".a.example:443",      // leading dot
           "a.example.:443",      // trailing dot
           "-a.example:443",      // label starts with '-'
           "a-.example:443",      // label ends with '-'
           "a_b.example:443",     // underscore
           "user@a.example:443",  // userinfo
           "a.example/x:443",     // path
           "::1:443",             // IPv6 without brackets
           "[::1]443",            // no colon after ]
           "[::1:443",            // unbalanced
           "[fe80::1%eth0]:443",  // zone
           "[zz::1]:443",         // not hex
           "[1.2.3.4]:443",       // IPv4 in brackets
       }) {
    EXPECT_EQ(CodeOf("CONNECT " + authority + " HTTP/1.1\r\n\r\n"), ErrorCode::kEgressBadRequest)
        << authority;
    EXPECT_FALSE(ParseConnectAuthority(authority).has_value()) << authority;
  }
  const std::string label63(63, 'a');
  EXPECT_TRUE(ParseConnectAuthority(label63 + ".example:1").has_value());
  EXPECT_FALSE(ParseConnectAuthority(label63 + "a.example:1").has_value());
  std::string long_name;
  while (long_name.size() < 250) {
    long_name += "abcdefghi.";
  }
  long_name += "abcd";  // 254 characters
  EXPECT_FALSE(ParseConnectAuthority(long_name + ":1").has_value());
  long_name.pop_back();
  EXPECT_TRUE(ParseConnectAuthority(long_name + ":1").has_value());
}

TEST(ConnectHeadTest, RefusesMalformedHeaderLines) {
  for (const std::string& line : std::vector<std::string>{
           "NoColon",
           ": empty name",
           "Bad Name: x",
           "Name(x): y",
           " Folded: x",
           "\tFolded: x",
           std::string("Nul: a\0b", 8),
           "Ctl: a\x01",
           "Del: a\x7f",
           "High: \xc3\xa9",
       }) {
    EXPECT_EQ(CodeOf("CONNECT a.example:443 HTTP/1.1\r\nHost: a\r\n" + line + "\r\n\r\n"),
              ErrorCode::kEgressBadRequest)
        << line;
  }
  EXPECT_EQ(CodeOf("CONNECT a.example:443 HTTP/1.1\r\nA:\tb c\t\r\n\r\n"), ErrorCode::kOk);
}

TEST(ConnectHeadTest, EnforcesTheSizeLimitFirst) {
  const std::string prefix = "CONNECT a.example:443 HTTP/1.1\r\nX: ";
  std::string head = prefix + std::string(kDefaultMaxConnectHeadBytes, 'a') + "\r\n\r\n";
  EXPECT_EQ(CodeOf(head), ErrorCode::kEgressHeadTooLarge);
  head = prefix + std::string(kDefaultMaxConnectHeadBytes - prefix.size() - 4, 'a') + "\r\n\r\n";
  ASSERT_EQ(head.size(), kDefaultMaxConnectHeadBytes);
  EXPECT_EQ(CodeOf(head), ErrorCode::kOk);
  Result<ConnectTarget> small = ParseConnectHead(head, 100);
  ASSERT_FALSE(small.has_value());
  EXPECT_EQ(small.code(), ErrorCode::kEgressHeadTooLarge);
}

}  // namespace
}  // namespace eml::host
