#include "model/stores/http_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "http/testing/loopback_server.h"
#include "model/store.h"
#include "testing/test_util.h"

namespace eml::model::stores {
namespace {

using ::eml::testing::HasError;
using ::eml::testing::IsOk;
using http::testing::CannedReply;
using http::testing::LoopbackServer;
using http::testing::RecordedRequest;
using http::testing::Reply;

std::string Text(const std::vector<uint8_t>& bytes) {
  return std::string(bytes.begin(), bytes.end());
}

// A server that answers every request with `reply`, and a store on it.
class HttpStoreTest : public ::testing::Test {
 protected:
  void Serve(CannedReply reply, const std::string& prefix = "") {
    Result<std::unique_ptr<LoopbackServer>> server =
        LoopbackServer::Start([reply](const RecordedRequest&) { return reply; });
    ASSERT_THAT(server, IsOk());
    server_ = *std::move(server);
    Result<std::unique_ptr<ModelStore>> store = OpenModelStore(server_->Url() + prefix);
    ASSERT_THAT(store, IsOk());
    store_ = *std::move(store);
  }
  RecordedRequest OnlyRequest() const {
    const std::vector<RecordedRequest> requests = server_->Requests();
    EXPECT_EQ(requests.size(), 1u);
    return requests.empty() ? RecordedRequest{} : requests[0];
  }

  std::unique_ptr<LoopbackServer> server_;
  std::unique_ptr<ModelStore> store_;
};

CannedReply HeadReply(const std::string& length_header) {
  return CannedReply{"HTTP/1.1 200 OK\r\n" + length_header + "Connection: close\r\n\r\n", false};
}

TEST(HttpStoreOpenTest, ChecksTheUrl) {
  EXPECT_THAT(OpenModelStore("http://127.0.0.1:8080"), IsOk());
  EXPECT_THAT(OpenModelStore("http://127.0.0.1:8080/"), IsOk());
  EXPECT_THAT(OpenModelStore("http://localhost:8080/models/v2/"), IsOk());
  EXPECT_THAT(OpenModelStore("http://[::1]:8080"), IsOk());
  for (const std::string url :
       {"http://", "http:///x", "http://h/../x", "http://h/a//b", "http://h/a b", "http://h?x",
        "http://user@h", "http://h/%2e%2e", "http://h:1/./x"}) {
    EXPECT_THAT(OpenModelStore(url), HasError(ErrorCode::kStoreBadUrl)) << url;
  }
  EXPECT_THAT(OpenModelStore("https://h:1"), HasError(ErrorCode::kStoreUnsupportedScheme));
  EXPECT_THAT(HttpStore::Open("https://h:1"), HasError(ErrorCode::kStoreBadUrl));
  HttpStoreOptions no_time;
  no_time.timeout_ms = 0;
  EXPECT_THAT(HttpStore::Open("http://h:1", no_time), HasError(ErrorCode::kInvalidArgument));
}

TEST_F(HttpStoreTest, PublishIsRefused) {
  Serve(Reply(200, ""));
  EXPECT_THAT(store_->Publish("/tmp"), HasError(ErrorCode::kStoreReadOnly));
  EXPECT_TRUE(server_->Requests().empty());
}

TEST_F(HttpStoreTest, BadNamesSendNothing) {
  Serve(Reply(200, ""));
  EXPECT_THAT(store_->Size("m", "1", "../x"), HasError(ErrorCode::kManifestBadFileName));
  EXPECT_THAT(store_->Size("m/x", "1", "a"), HasError(ErrorCode::kManifestBadField));
  EXPECT_THAT(store_->Fetch(".m", "1", "a", 10), HasError(ErrorCode::kManifestBadField));
  EXPECT_TRUE(server_->Requests().empty());
}

TEST_F(HttpStoreTest, SizeIsHeadContentLength) {
  Serve(HeadReply("Content-Length: 1234\r\n"), "/models/");
  Result<uint64_t> size = store_->Size("m", "1", "manifest.json");
  ASSERT_THAT(size, IsOk());
  EXPECT_EQ(*size, 1234u);
  const RecordedRequest request = OnlyRequest();
  EXPECT_EQ(request.method, "HEAD");
  EXPECT_EQ(request.target, "/models/v1/store/m/1/manifest.json");
}

TEST_F(HttpStoreTest, SizeWithoutContentLengthIsBadResponse) {
  Serve(HeadReply("Content-Length: 12x\r\n"));
  EXPECT_THAT(store_->Size("m", "1", "a"), HasError(ErrorCode::kHttpStoreBadResponse));
}

TEST_F(HttpStoreTest, StatusesMapToStoreCodes) {
  Serve(Reply(404, "{}"));
  EXPECT_THAT(store_->Size("m", "1", "a"), HasError(ErrorCode::kStoreNotFound));
  Serve(Reply(416, "{}"));
  EXPECT_THAT(store_->ReadRange("m", "1", "a", 5, 5), HasError(ErrorCode::kStoreBadRange));
  Serve(Reply(413, "{}"));
  EXPECT_THAT(store_->Fetch("m", "1", "a", 100), HasError(ErrorCode::kLimitExceeded));
  // Server-side failures are transport-class, so that the boot retries them.
  Serve(Reply(502, "{}"));
  EXPECT_THAT(store_->Fetch("m", "1", "a", 100), HasError(ErrorCode::kIoError));
  Serve(Reply(405, "{}"));
  EXPECT_THAT(store_->Size("m", "1", "a"), HasError(ErrorCode::kHttpStoreUnexpectedStatus));
}

TEST_F(HttpStoreTest, FetchReturnsTheBodyWithinTheCap) {
  Serve(Reply(200, "0123456789"));
  Result<std::vector<uint8_t>> body = store_->Fetch("m", "1", "manifest.sig", 10);
  ASSERT_THAT(body, IsOk());
  EXPECT_EQ(Text(*body), "0123456789");
  EXPECT_EQ(OnlyRequest().method, "GET");
  EXPECT_EQ(OnlyRequest().Header("range"), nullptr);
  EXPECT_THAT(store_->Fetch("m", "1", "manifest.sig", 9), HasError(ErrorCode::kLimitExceeded));
  Serve(Reply(200, std::string(kHttpStoreErrorAllowance + 10, 'x')));
  EXPECT_THAT(store_->Fetch("m", "1", "a", 16), HasError(ErrorCode::kLimitExceeded));
}

TEST_F(HttpStoreTest, ReadRangeAsksForExactlyTheRange) {
  Serve(Reply(206, "abcde", {{"Content-Range", "bytes 10-14/100"}}));
  Result<std::vector<uint8_t>> bytes = store_->ReadRange("m", "1", "w.enc", 10, 5);
  ASSERT_THAT(bytes, IsOk());
  EXPECT_EQ(Text(*bytes), "abcde");
  const RecordedRequest request = OnlyRequest();
  ASSERT_NE(request.Header("range"), nullptr);
  EXPECT_EQ(*request.Header("range"), "bytes=10-14");
  EXPECT_EQ(request.target, "/v1/store/m/1/w.enc");
}

TEST_F(HttpStoreTest, ReadRangeRefusesAnythingButTheRangeAsked) {
  Serve(Reply(200, "abcde"));
  EXPECT_THAT(store_->ReadRange("m", "1", "a", 10, 5), HasError(ErrorCode::kHttpStoreBadResponse));
  Serve(Reply(206, "abcde"));
  EXPECT_THAT(store_->ReadRange("m", "1", "a", 10, 5), HasError(ErrorCode::kHttpStoreBadResponse));
  Serve(Reply(206, "abcde", {{"Content-Range", "bytes 11-15/100"}}));
  EXPECT_THAT(store_->ReadRange("m", "1", "a", 10, 5), HasError(ErrorCode::kHttpStoreBadResponse));
  Serve(Reply(206, "abcdef", {{"Content-Range", "bytes 10-15/100"}}));
  EXPECT_THAT(store_->ReadRange("m", "1", "a", 10, 5), HasError(ErrorCode::kHttpStoreBadResponse));
  Serve(Reply(206, "abc", {{"Content-Range", "bytes 10-14/100"}}));
  EXPECT_THAT(store_->ReadRange("m", "1", "a", 10, 5), HasError(ErrorCode::kHttpStoreBadResponse));
  Serve(Reply(206, std::string(5 + kHttpStoreErrorAllowance + 1, 'x'),
              {{"Content-Range", "bytes 10-14/100"}}));
  EXPECT_THAT(store_->ReadRange("m", "1", "a", 10, 5), HasError(ErrorCode::kHttpStoreBadResponse));
}

TEST_F(HttpStoreTest, ShortenedRangeIsBadRange) {
  // A file of 12 bytes: the server serves 10-11 of 10-14, as RFC 9110 allows.
  Serve(Reply(206, "ab", {{"Content-Range", "bytes 10-11/12"}}));
  EXPECT_THAT(store_->ReadRange("m", "1", "a", 10, 5), HasError(ErrorCode::kStoreBadRange));
}

TEST_F(HttpStoreTest, EmptyRangeChecksTheSize) {
  Serve(HeadReply("Content-Length: 12\r\n"));
  EXPECT_THAT(store_->ReadRange("m", "1", "a", 12, 0), IsOk());
  EXPECT_THAT(store_->ReadRange("m", "1", "a", 13, 0), HasError(ErrorCode::kStoreBadRange));
}

TEST_F(HttpStoreTest, UnreachableServerIsAConnectError) {
  Serve(Reply(200, ""));
  const std::string url = server_->Url();
  server_.reset();  // nothing listens on the port any more
  Result<std::unique_ptr<ModelStore>> store = OpenModelStore(url);
  ASSERT_THAT(store, IsOk());
  EXPECT_THAT((*store)->Size("m", "1", "a"), HasError(ErrorCode::kHttpConnect));
}

}  // namespace
}  // namespace eml::model::stores
