#include "host/store_proxy.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/encoding.h"
#include "crypto/hash.h"
#include "crypto/stream_aead.h"
#include "enclave/model_boot.h"
#include "engine/testing/tiny_bert.h"
#include "model/package.h"
#include "model/store.h"
#include "model/stores/file_store.h"
#include "testing/test_util.h"

namespace eml::host {
namespace {

namespace fs = std::filesystem;
using ::eml::testing::HasError;
using ::eml::testing::IsOk;
using ::eml::testing::ReadFileBytes;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr uint32_t kSegmentSize = 1024;

void WriteBytes(const fs::path& path, std::span<const uint8_t> bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(std::string(bytes.begin(), bytes.end()).data(),
            static_cast<std::streamsize>(bytes.size()));
}

bool Contains(const std::vector<uint8_t>& haystack, std::span<const uint8_t> needle) {
  return std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end()) !=
         haystack.end();
}

// RawExchange sends `request` as is on a new connection and reads until the proxy closes it.
std::string RawExchange(uint16_t port, const std::string& request) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  EXPECT_GE(fd, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)), 0);
  EXPECT_EQ(::send(fd, request.data(), request.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(request.size()));
  std::string response;
  std::array<char, 4096> buffer{};
  while (true) {
    const ssize_t n = ::recv(fd, buffer.data(), buffer.size(), 0);
    if (n <= 0) {
      break;
    }
    response.append(buffer.data(), static_cast<size_t>(n));
  }
  ::close(fd);
  return response;
}

std::string Get(uint16_t port, const std::string& target, const std::string& extra = "") {
  return RawExchange(
      port, "GET " + target + " HTTP/1.1\r\nHost: h\r\n" + extra + "Connection: close\r\n\r\n");
}

// A tiny random BERT packed (weights encrypted) and published to a file store in a temporary
// directory, served by a StoreProxy; `store_` is a model::HttpStore on the proxy.
class StoreProxyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/eml-store-proxy-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    bert_ = engine::testing::TinyBert::MakeRandom({}, 5);
    weights_ = bert_.Safetensors();
    const fs::path model = dir_ / "model";
    const std::string config = bert_.ConfigJson();
    const std::string tokenizer = engine::testing::TinyTokenizerJson(48);
    WriteBytes(model / "config.json", AsBytes(config));
    WriteBytes(model / "tokenizer.json", AsBytes(tokenizer));
    WriteBytes(model / "model.safetensors", weights_);
    Result<crypto::Ed25519PrivateKey> owner = crypto::Ed25519PrivateKey::Generate();
    ASSERT_THAT(owner, IsOk());
    owner_.emplace(*std::move(owner));
    dek_ = SecretBytes::CopyFrom(std::vector<uint8_t>(32, 0x3a));
    fs::create_directories(dir_ / "store");
    Result<std::unique_ptr<model::ModelStore>> backing =
        model::OpenModelStore("file://" + (dir_ / "store").string());
    ASSERT_THAT(backing, IsOk());
    backing_ = *std::move(backing);
    model::PackOptions pack;
    pack.model_id = "tiny";
    pack.version = "1";
    pack.segment_size = kSegmentSize;
    pack.created_at_unix = 1795000000;
    ASSERT_THAT(model::PackModel(model, dir_ / "pkg", dek_, *owner_, pack), IsOk());
    ASSERT_THAT(backing_->Publish(dir_ / "pkg"), IsOk());
    StartProxy(kDefaultStoreProxyMaxResponseBytes);
  }
  void TearDown() override {
    store_.reset();
    proxy_.reset();
    fs::remove_all(dir_);
  }

  // StartProxy serves the backing store on `listen` (TCP loopback when empty) and opens store_
  // on it: "http://127.0.0.1:PORT" for TCP, the socket address (OpenModelStore) otherwise.
  void StartProxy(size_t max_response_bytes, const std::string& listen = "") {
    store_.reset();
    proxy_.reset();
    StoreProxyOptions options;
    options.max_response_bytes = max_response_bytes;
    options.record_dir = dir_ / "record";
    if (!listen.empty()) {
      Result<channel::Address> address = channel::ParseAddress(listen);
      ASSERT_THAT(address, IsOk());
      options.listen = *std::move(address);
    }
    Result<std::unique_ptr<StoreProxy>> proxy = StoreProxy::Start(*backing_, options);
    ASSERT_THAT(proxy, IsOk());
    proxy_ = *std::move(proxy);
    Result<std::unique_ptr<model::ModelStore>> store = model::OpenModelStore(
        listen.empty() ? "http://127.0.0.1:" + std::to_string(proxy_->port()) : listen);
    ASSERT_THAT(store, IsOk());
    store_ = *std::move(store);
  }

  fs::path Stored(const std::string& name) const { return dir_ / "store" / "tiny" / "1" / name; }
  void MakeWritable(const fs::path& path) {
    fs::permissions(path, fs::perms::owner_write, fs::perm_options::add);
  }
  std::vector<std::string> StoredNames() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::recursive_directory_iterator(dir_ / "store" / "tiny" / "1")) {
      if (entry.is_regular_file()) {
        names.push_back(fs::relative(entry.path(), dir_ / "store" / "tiny" / "1").string());
      }
    }
    return names;
  }

  Result<enclave::BootedModel> Boot(const std::string& version = "1") {
    enclave::StaticDataKeySource keys(dek_.Clone());
    const enclave::BootRequest request{.model_id = "tiny",
                                       .version = version,
                                       .owner_key = owner_->public_key(),
                                       .store = *store_};
    enclave::BootOptions options;
    options.engine.num_threads = 1;
    options.sleep = [](std::chrono::milliseconds) {};
    return enclave::BootModel(request, keys, nullptr, options);
  }

  fs::path dir_;
  engine::testing::TinyBert bert_;
  std::vector<uint8_t> weights_;
  std::optional<crypto::Ed25519PrivateKey> owner_;
  SecretBytes dek_;
  std::unique_ptr<model::ModelStore> backing_;
  std::unique_ptr<StoreProxy> proxy_;
  std::unique_ptr<model::ModelStore> store_;
};

TEST_F(StoreProxyTest, HeadGivesEveryStoredSize) {
  const std::vector<std::string> names = StoredNames();
  ASSERT_GE(names.size(), 5u);  // manifest.json, manifest.sig, config, tokenizer, weights.enc
  for (const std::string& name : names) {
    Result<uint64_t> size = store_->Size("tiny", "1", name);
    ASSERT_THAT(size, IsOk()) << name;
    EXPECT_EQ(*size, fs::file_size(Stored(name))) << name;
  }
  const std::string head = RawExchange(
      proxy_->port(), "HEAD /v1/store/tiny/1/manifest.json HTTP/1.1\r\nConnection: close\r\n\r\n");
  EXPECT_THAT(head, StartsWith("HTTP/1.1 200"));
  EXPECT_THAT(
      head, HasSubstr("Content-Length: " + std::to_string(fs::file_size(Stored("manifest.json")))));
  EXPECT_THAT(head, ::testing::EndsWith("\r\n\r\n"));  // no body
}

TEST_F(StoreProxyTest, WholeFilesAndRangesAreByteIdentical) {
  for (const std::string& name : StoredNames()) {
    const std::vector<uint8_t> expected = ReadFileBytes(Stored(name));
    Result<std::vector<uint8_t>> whole = store_->Fetch("tiny", "1", name, expected.size());
    ASSERT_THAT(whole, IsOk()) << name;
    EXPECT_EQ(*whole, expected) << name;
    // Odd-sized ranges that straddle segment boundaries, up to the last byte.
    std::vector<uint8_t> joined;
    for (uint64_t offset = 0; offset < expected.size(); offset += 777) {
      const size_t length = static_cast<size_t>(std::min<uint64_t>(777, expected.size() - offset));
      Result<std::vector<uint8_t>> part = store_->ReadRange("tiny", "1", name, offset, length);
      ASSERT_THAT(part, IsOk()) << name << " at " << offset;
      joined.insert(joined.end(), part->begin(), part->end());
    }
    EXPECT_EQ(joined, expected) << name;
  }
}

TEST_F(StoreProxyTest, MissesAre404AndBadRangesAre416) {
  EXPECT_THAT(store_->Size("tiny", "2", "manifest.json"), HasError(ErrorCode::kStoreNotFound));
  EXPECT_THAT(store_->Size("other", "1", "manifest.json"), HasError(ErrorCode::kStoreNotFound));
  EXPECT_THAT(store_->Fetch("tiny", "1", "nope.bin", 100), HasError(ErrorCode::kStoreNotFound));
  const uint64_t size = fs::file_size(Stored("manifest.json"));
  // Starting at the end, and running past it.
  EXPECT_THAT(store_->ReadRange("tiny", "1", "manifest.json", size, 1),
              HasError(ErrorCode::kStoreBadRange));
  EXPECT_THAT(store_->ReadRange("tiny", "1", "manifest.json", size - 2, 3),
              HasError(ErrorCode::kStoreBadRange));
  EXPECT_THAT(store_->Fetch("tiny", "1", "manifest.json", size - 1),
              HasError(ErrorCode::kLimitExceeded));

  const std::string past =
      Get(proxy_->port(), "/v1/store/tiny/1/manifest.json",
          "Range: bytes=" + std::to_string(size) + "-" + std::to_string(size + 10) + "\r\n");
  EXPECT_THAT(past, StartsWith("HTTP/1.1 416"));
  EXPECT_THAT(past, HasSubstr("Content-Range: bytes */" + std::to_string(size)));
  EXPECT_THAT(past, HasSubstr("STORE_BAD_RANGE"));
  const std::string shortened =
      Get(proxy_->port(), "/v1/store/tiny/1/manifest.json",
          "Range: bytes=" + std::to_string(size - 2) + "-" + std::to_string(size + 10) + "\r\n");
  EXPECT_THAT(shortened, StartsWith("HTTP/1.1 206"));
  EXPECT_THAT(shortened, HasSubstr("Content-Range: bytes " + std::to_string(size - 2) + "-" +
                                   std::to_string(size - 1) + "/" + std::to_string(size)));
  const std::string several =
      Get(proxy_->port(), "/v1/store/tiny/1/manifest.json", "Range: bytes=0-1,4-5\r\n");
  EXPECT_THAT(several, StartsWith("HTTP/1.1 416"));
  EXPECT_THAT(several, HasSubstr("STORE_PROXY_RANGE_UNSUPPORTED"));
  const std::string suffix =
      Get(proxy_->port(), "/v1/store/tiny/1/manifest.json", "Range: bytes=-10\r\n");
  EXPECT_THAT(suffix, StartsWith("HTTP/1.1 416"));
  const std::string garbage =
      Get(proxy_->port(), "/v1/store/tiny/1/manifest.json", "Range: pages=1-2\r\n");
  EXPECT_THAT(garbage, StartsWith("HTTP/1.1 400"));
  EXPECT_THAT(garbage, HasSubstr("STORE_PROXY_BAD_RANGE"));
}

TEST_F(StoreProxyTest, TraversalAttemptsAre400) {
  // A file outside the store that a traversal would reach.
  WriteBytes(dir_ / "secret.txt", AsBytes(std::string("outside the store")));
  for (const std::string target : {
           "/v1/store/tiny/1/../../../secret.txt",
           "/v1/store/tiny/../../secret.txt",
           "/v1/store/tiny/1/%2e%2e/%2e%2e/%2e%2e/secret.txt",
           "/v1/store/tiny/1/..%2f..%2f..%2fsecret.txt",
           "/v1/store/tiny%2f1/manifest.json",
           "/v1/store/tiny/1/manifest.json%00",
           "/v1/store/tiny/1//etc/passwd",
           "/v1/store/tiny/1/manifest.json?x=1",
           "/v1/store/tiny/1/",
           "/v1/other",
           "//v1/store/tiny/1/manifest.json",
           "http://h/v1/store/tiny/1/manifest.json",
       }) {
    const std::string response = Get(proxy_->port(), target);
    EXPECT_THAT(response, StartsWith("HTTP/1.1 400")) << target;
    EXPECT_THAT(response, HasSubstr("STORE_PROXY_BAD_PATH")) << target;
    EXPECT_THAT(response, ::testing::Not(HasSubstr("outside the store"))) << target;
  }
  // A raw NUL or space in the target is not HTTP at all.
  constexpr char kNulTarget[] = "GET /v1/store/tiny/1/a\0b HTTP/1.1\r\n\r\n";
  const std::string nul =
      RawExchange(proxy_->port(), std::string(kNulTarget, sizeof(kNulTarget) - 1));
  EXPECT_THAT(nul, StartsWith("HTTP/1.1 400"));
  const std::string head_too_big = Get(proxy_->port(), "/v1/store/tiny/1/manifest.json",
                                       "X: " + std::string(9000, 'a') + "\r\n");
  EXPECT_THAT(head_too_big, StartsWith("HTTP/1.1 400"));
}

TEST_F(StoreProxyTest, NoWriteMethods) {
  const std::vector<std::string> before = StoredNames();
  const std::vector<uint8_t> manifest = ReadFileBytes(Stored("manifest.json"));
  for (const std::string method : {"PUT", "POST", "DELETE", "PATCH", "OPTIONS"}) {
    const std::string response =
        RawExchange(proxy_->port(), method + " /v1/store/tiny/1/manifest.json HTTP/1.1\r\n" +
                                        "Connection: close\r\n\r\n");
    EXPECT_THAT(response, StartsWith("HTTP/1.1 405")) << method;
    EXPECT_THAT(response, HasSubstr("Allow: GET, HEAD")) << method;
  }
  // With a body the request is refused before anything else.
  const std::string put = RawExchange(
      proxy_->port(),
      "PUT /v1/store/tiny/1/new.bin HTTP/1.1\r\nContent-Length: 5\r\nConnection: close\r\n\r\n"
      "hello");
  EXPECT_THAT(put, StartsWith("HTTP/1.1 400"));
  EXPECT_THAT(model::stores::FileStore::Open(dir_ / "store"), IsOk());
  EXPECT_EQ(StoredNames(), before);
  EXPECT_EQ(ReadFileBytes(Stored("manifest.json")), manifest);
  EXPECT_THAT(store_->Publish(dir_ / "pkg"), HasError(ErrorCode::kStoreReadOnly));
}

TEST_F(StoreProxyTest, RepliesNeverExceedTheCap) {
  StartProxy(4096);
  const uint64_t enc_size = fs::file_size(Stored("model.safetensors.enc"));
  ASSERT_GT(enc_size, 4096u);
  const std::string whole = Get(proxy_->port(), "/v1/store/tiny/1/model.safetensors.enc");
  EXPECT_THAT(whole, StartsWith("HTTP/1.1 413"));
  EXPECT_THAT(whole, HasSubstr("STORE_PROXY_TOO_LARGE"));
  EXPECT_THAT(store_->Fetch("tiny", "1", "model.safetensors.enc", enc_size),
              HasError(ErrorCode::kLimitExceeded));
  EXPECT_THAT(store_->ReadRange("tiny", "1", "model.safetensors.enc", 0, 4097),
              HasError(ErrorCode::kLimitExceeded));
  Result<std::vector<uint8_t>> part =
      store_->ReadRange("tiny", "1", "model.safetensors.enc", 7, 4096);
  ASSERT_THAT(part, IsOk());
  EXPECT_EQ(part->size(), 4096u);
  EXPECT_THAT(store_->Size("tiny", "1", "model.safetensors.enc"), IsOk());
  // A boot reads segment by segment, so it works under a small cap.
  EXPECT_THAT(Boot(), IsOk());
}

TEST_F(StoreProxyTest, RecordsWhatItServesAndNoPlaintext) {
  ASSERT_THAT(Boot(), IsOk());
  // Closing the connections closes (and flushes) the record files.
  store_.reset();
  proxy_.reset();
  std::vector<uint8_t> requests;
  std::vector<uint8_t> replies;
  for (const auto& entry : fs::directory_iterator(dir_ / "record")) {
    const std::string file = entry.path().filename().string();
    ASSERT_THAT(file, StartsWith("store-"));
    const std::vector<uint8_t> bytes = ReadFileBytes(entry.path());
    std::vector<uint8_t>& into = file.ends_with("-req.bin") ? requests : replies;
    into.insert(into.end(), bytes.begin(), bytes.end());
  }
  EXPECT_TRUE(Contains(requests, AsBytes(std::string("GET /v1/store/tiny/1/manifest.json"))));
  EXPECT_TRUE(Contains(replies, ReadFileBytes(Stored("manifest.json"))));
  const std::vector<uint8_t> enc = ReadFileBytes(Stored("model.safetensors.enc"));
  EXPECT_TRUE(Contains(replies, std::span(enc).subspan(enc.size() - 64)));
  // The encrypted weights crossed the host; their plaintext did not.
  for (size_t offset = 0; offset + 64 <= weights_.size(); offset += weights_.size() / 8) {
    EXPECT_FALSE(Contains(replies, std::span(weights_).subspan(offset, 64))) << offset;
  }
}

TEST_F(StoreProxyTest, EncryptedBootThroughTheProxy) {
  Result<enclave::BootedModel> booted = Boot();
  ASSERT_THAT(booted, IsOk());
  EXPECT_EQ(booted->model_id, "tiny");
  EXPECT_EQ(booted->files_decrypted, 1u);
  EXPECT_EQ(booted->model_hash, crypto::Sha256(weights_));
  EXPECT_THAT(Boot("2"), HasError(ErrorCode::kBootModelNotFound));
}

TEST_F(StoreProxyTest, EncryptedBootThroughTheProxyOnAUnixSocket) {
  const std::string listen = "unix:" + (dir_ / "store.sock").string();
  StartProxy(kDefaultStoreProxyMaxResponseBytes, listen);
  EXPECT_EQ(channel::FormatAddress(proxy_->address()), listen);
  EXPECT_EQ(proxy_->port(), 0);
  Result<enclave::BootedModel> booted = Boot();
  ASSERT_THAT(booted, IsOk());
  EXPECT_EQ(booted->model_hash, crypto::Sha256(weights_));
  EXPECT_THAT(Boot("2"), HasError(ErrorCode::kBootModelNotFound));
  // Tampering behind the proxy is caught the same way over the socket.
  const fs::path enc = Stored("model.safetensors.enc");
  std::vector<uint8_t> bytes = ReadFileBytes(enc);
  bytes[bytes.size() / 2] ^= 0x01;
  MakeWritable(enc);
  WriteBytes(enc, bytes);
  EXPECT_THAT(Boot(), HasError(ErrorCode::kBootSegmentInvalid));
  // The socket file goes with the proxy; the store then cannot connect.
  proxy_->Stop();
  EXPECT_FALSE(fs::exists(dir_ / "store.sock"));
  const auto start = std::chrono::steady_clock::now();
  EXPECT_THAT(Boot(), HasError(ErrorCode::kBootStoreUnavailable));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
}

TEST(StoreProxyAddressTest, SocketStoreUrls) {
  EXPECT_THAT(model::OpenModelStore("unix:"), HasError(ErrorCode::kStoreBadUrl));
  EXPECT_THAT(model::OpenModelStore("unix:/" + std::string(200, 'a')),
              HasError(ErrorCode::kStoreBadUrl));
  EXPECT_THAT(model::OpenModelStore("vsock:3"), HasError(ErrorCode::kStoreBadUrl));
  EXPECT_THAT(model::OpenModelStore("vsock:3:0"), HasError(ErrorCode::kStoreBadUrl));
  EXPECT_THAT(model::OpenModelStore("vsock://3:9"), HasError(ErrorCode::kStoreBadUrl));
  // A well-formed VSock store opens (no request is sent); with no VSock peer here its first
  // request fails as a connection failure, within the connect timeout, never hanging.
  Result<std::unique_ptr<model::ModelStore>> vsock = model::OpenModelStore("vsock:3:9");
  ASSERT_THAT(vsock, IsOk());
  Result<uint64_t> size = (*vsock)->Size("tiny", "1", "manifest.json");
  ASSERT_FALSE(size.has_value());
  EXPECT_TRUE(size.error().code == ErrorCode::kHttpConnect ||
              size.error().code == ErrorCode::kHttpTimeout)
      << ToString(size.error());
}

TEST_F(StoreProxyTest, TamperedFileBehindTheProxyFailsTheBoot) {
  const fs::path enc = Stored("model.safetensors.enc");
  MakeWritable(enc);
  std::vector<uint8_t> bytes = ReadFileBytes(enc);
  bytes[crypto::kStreamHeaderSize + (kSegmentSize + crypto::kStreamTagSize) + 3] ^= 0x40;
  WriteBytes(enc, bytes);
  EXPECT_THAT(Boot(), HasError(ErrorCode::kBootSegmentInvalid));
}

TEST_F(StoreProxyTest, TruncatedFileBehindTheProxyFailsTheBoot) {
  const fs::path enc = Stored("model.safetensors.enc");
  MakeWritable(enc);
  fs::resize_file(enc, fs::file_size(enc) - 100);
  EXPECT_THAT(Boot(), HasError(ErrorCode::kBootSegmentInvalid));
}

TEST_F(StoreProxyTest, StoppedProxyIsStoreUnavailable) {
  ASSERT_THAT(Boot(), IsOk());  // leaves the store a kept-alive connection to the proxy
  proxy_->Stop();
  const auto start = std::chrono::steady_clock::now();
  EXPECT_THAT(Boot(), HasError(ErrorCode::kBootStoreUnavailable));
  // Stop closed that connection too: the boot fails at once instead of waiting out the store's
  // request timeout (two minutes) on a socket nobody serves.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
}

TEST(StoreProxyStartTest, RefusesBadOptions) {
  char tmpl[] = "/tmp/eml-store-proxy-start-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  Result<std::unique_ptr<model::ModelStore>> store = model::stores::FileStore::Open(tmpl);
  ASSERT_THAT(store, IsOk());
  StoreProxyOptions options;
  options.listen.tcp.host = "not-an-ip";
  EXPECT_THAT(StoreProxy::Start(**store, options), HasError(ErrorCode::kStoreProxyListenFailed));
  options.listen.tcp.host = "127.0.0.1";
  options.max_response_bytes = 0;
  EXPECT_THAT(StoreProxy::Start(**store, options), HasError(ErrorCode::kInvalidArgument));
  options.max_response_bytes = kDefaultStoreProxyMaxResponseBytes;
  Result<std::unique_ptr<StoreProxy>> first = StoreProxy::Start(**store, options);
  ASSERT_THAT(first, IsOk());
  options.listen.tcp.port = (*first)->port();
  EXPECT_THAT(StoreProxy::Start(**store, options), HasError(ErrorCode::kStoreProxyListenFailed));
  // An existing path is never taken over as a Unix socket.
  options.listen.kind = channel::Address::Kind::kUnix;
  options.listen.unix_path = tmpl;
  EXPECT_THAT(StoreProxy::Start(**store, options), HasError(ErrorCode::kStoreProxyListenFailed));

  // No loopback VSock here: the proxy listens on VSock (the kernel picks the port), or, on a
  // kernel without AF_VSOCK, Start fails with a typed error.
  Result<channel::Address> any = channel::ParseAddress("vsock:4294967295:0");
  ASSERT_THAT(any, IsOk());
  options.listen = *any;
  {
    Result<std::unique_ptr<StoreProxy>> proxy = StoreProxy::Start(**store, options);
    if (proxy.has_value()) {
      EXPECT_EQ((*proxy)->address().kind, channel::Address::Kind::kVsock);
      EXPECT_NE((*proxy)->address().vsock.port, 0u);
      EXPECT_EQ((*proxy)->port(), 0);
    } else {
      EXPECT_EQ(proxy.error().code, ErrorCode::kStoreProxyListenFailed);
    }
  }
  fs::remove_all(tmpl);
}

}  // namespace
}  // namespace eml::host
