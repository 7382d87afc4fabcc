// End-to-end: `ephemeralml up` on the real model (scripts/fetch-model) runs the whole sim flow
// (key broker, owner key, pack --encrypt-all, publish, measurements, register, host with storage
// and egress proxies, enclave booting through them with its key released by the broker), then
// `embed --connect` gets verified embeddings with the policy `up` wrote. Checks the secrets'
// file modes, the broker's audit log, that the host's recording holds neither the data key, nor
// any 64-byte window of the plaintext weights, nor the input texts, that a second `up` reuses the
// package, that the same flow works over an S3 store (moto), and that an enclave with another
// PCR1 is denied the key (exit 21).
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ephemeralml/testing/cli_runner.h"
#include "http/http_client.h"
#include "keys/kms/testing/moto_kms.h"
#include "model/model_directory.h"
#include "testing/test_util.h"

namespace eml::apps {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using ::testing::HasSubstr;

constexpr size_t kWindow = 64;
const std::vector<std::string> kTexts = {"The quarterly figures stay confidential.",
                                         "Encrypted weights, released keys, verified receipts."};

unsigned Mode(const fs::path& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? (st.st_mode & 0777u) : 0u;
}

// SharesAWindow: whether any kWindow-byte window of `big` occurs in one of `blobs`. Every such
// window contains a whole kBlock-aligned block of `big` (kBlock = kWindow / 2), so `big` is
// indexed by the hashes of its aligned blocks; each block position of each blob is hashed
// (rolling) and looked up, and a confirmed block is extended both ways byte by byte.
bool SharesAWindow(const std::vector<uint8_t>& big,
                   const std::vector<std::vector<uint8_t>>& blobs) {
  constexpr size_t kBlock = kWindow / 2;
  constexpr uint64_t kBase = 1'000'003;
  constexpr uint64_t kFilterBits = uint64_t{1} << 27;
  uint64_t top = 1;  // kBase^(kBlock-1)
  for (size_t i = 1; i < kBlock; ++i) {
    top *= kBase;
  }
  auto hash = [](const uint8_t* p) {
    uint64_t h = 0;
    for (size_t i = 0; i < kBlock; ++i) {
      h = h * kBase + p[i];
    }
    return h;
  };
  std::vector<std::pair<uint64_t, size_t>> index;  // (hash, offset in big)
  std::vector<bool> filter(kFilterBits);
  for (size_t p = 0; p + kBlock <= big.size(); p += kBlock) {
    index.emplace_back(hash(big.data() + p), p);
    filter[index.back().first % kFilterBits] = true;
  }
  std::sort(index.begin(), index.end());
  for (const std::vector<uint8_t>& blob : blobs) {
    if (blob.size() < kWindow) {
      continue;
    }
    uint64_t h = hash(blob.data());
    for (size_t i = 0;; ++i) {
      if (filter[h % kFilterBits]) {
        auto it = std::lower_bound(index.begin(), index.end(), std::make_pair(h, size_t{0}));
        for (; it != index.end() && it->first == h; ++it) {
          const size_t p = it->second;
          if (!std::equal(blob.begin() + static_cast<std::ptrdiff_t>(i),
                          blob.begin() + static_cast<std::ptrdiff_t>(i + kBlock),
                          big.begin() + static_cast<std::ptrdiff_t>(p))) {
            continue;
          }
          size_t left = 0;
          while (left < kBlock && left < i && left < p && blob[i - left - 1] == big[p - left - 1]) {
            ++left;
          }
          size_t right = 0;
          while (right < kBlock && i + kBlock + right < blob.size() &&
                 p + kBlock + right < big.size() &&
                 blob[i + kBlock + right] == big[p + kBlock + right]) {
            ++right;
          }
          if (left + kBlock + right >= kWindow) {
            return true;
          }
        }
      }
      if (i + kBlock >= blob.size()) {
        break;
      }
      h = (h - blob[i] * top) * kBase + blob[i + kBlock];
    }
  }
  return false;
}

// RunToExit runs argv (stdout and stderr into `log`) and returns its exit code (-1: a signal).
int RunToExit(const std::vector<std::string>& argv, const fs::path& log) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(fd, STDOUT_FILENO);
    ::dup2(fd, STDERR_FILENO);
    std::vector<char*> args;
    for (const std::string& a : argv) {
      args.push_back(const_cast<char*>(a.c_str()));  // NOLINT: execv's signature
    }
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  int status = 0;
  if (pid < 0 || ::waitpid(pid, &status, 0) != pid) {
    return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool Contains(const std::vector<std::vector<uint8_t>>& blobs, const std::vector<uint8_t>& needle) {
  return std::any_of(blobs.begin(), blobs.end(), [&needle](const std::vector<uint8_t>& blob) {
    return std::search(blob.begin(), blob.end(), needle.begin(), needle.end()) != blob.end();
  });
}

class UpE2eTest : public CliTest {
 protected:
  UpE2eTest() : CliTest(EML_EPHEMERALML_PATH, "eml-up-e2e") {}
  void SetUp() override {
    CliTest::SetUp();
    home_ = dir_ / "home";
    ::setenv("EPHEMERALML_HOME", home_.c_str(), 1);
  }
  void TearDown() override {
    Run({"down"});  // never leave the stack running, whatever failed
    CliTest::TearDown();
  }
  static bool ModelPresent() {
    return fs::exists(model::DefaultModelDirectoryPath() / "model.safetensors");
  }
  // Up runs `up` on a picked port; extra flags appended.
  RunResult Up(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"up", "--port", "0", "--timeout-s", "900"};
    args.insert(args.end(), extra.begin(), extra.end());
    return Run(args);
  }
  Json Stack() const { return testing::ReadJson(home_ / "run" / "stack.json"); }
  // Embed runs `embed --connect` through the host with the policy `up` wrote.
  Json Embed() {
    std::vector<std::string> args = {
        "embed", "--connect", Stack().at("host").at("address").get<std::string>(), "--nonce"};
    args.insert(args.end(), kTexts.begin(), kTexts.end());
    const RunResult r = Run(args);
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    const Json doc = Json::parse(r.out, nullptr, false);
    EXPECT_FALSE(doc.is_discarded()) << r.out;
    return doc.is_discarded() ? Json::object() : doc;
  }

  fs::path home_;
};

TEST(SharesAWindowTest, FindsAPlantedWindowAndNothingElse) {
  std::vector<uint8_t> big(100'000);
  for (size_t i = 0; i < big.size(); ++i) {
    big[i] = static_cast<uint8_t>((i * 7919u) >> 5);
  }
  std::vector<uint8_t> blob(500, 0xA5);
  EXPECT_FALSE(SharesAWindow(big, {blob}));
  std::copy(big.begin() + 12'345, big.begin() + 12'345 + kWindow, blob.begin() + 100);
  EXPECT_TRUE(SharesAWindow(big, {blob}));
  blob[100 + kWindow - 1] ^= 1;  // 63 matching bytes are not a window
  EXPECT_FALSE(SharesAWindow(big, {blob}));
}

TEST_F(UpE2eTest, FileStoreFlowServesVerifiedEmbeddingsAndTheHostSeesNoSecret) {
  if (!ModelPresent()) {
    GTEST_SKIP() << "model not fetched (scripts/fetch-model)";
  }
  const fs::path record = dir_ / "record";
  const RunResult up = Up({"--record", record.string()});
  ASSERT_EQ(up.exit_code, 0) << up.out << up.err;
  EXPECT_THAT(up.out, HasSubstr("key      registered for"));
  EXPECT_THAT(up.out, HasSubstr("cold start "));
  const Json stack = Stack();

  // Secrets on disk are the owner's only.
  EXPECT_EQ(Mode(home_ / "owner.key"), 0600u);
  EXPECT_EQ(Mode(home_ / "broker" / "master.key"), 0600u);
  EXPECT_EQ(Mode(home_ / "broker" / "admin.token"), 0600u);
  const fs::path package = stack.at("package").get<std::string>();
  const fs::path dek_file = package.string() + ".dek";
  EXPECT_EQ(Mode(dek_file), 0600u);

  // Verified embeddings, equal to the local engine's on the plaintext model.
  const Json remote = Embed();
  ASSERT_TRUE(remote.contains("data")) << remote.dump();
  EXPECT_EQ(remote.at("dim"), 384);
  EXPECT_EQ(remote.at("attestation").at("platform"), "sim");
  EXPECT_EQ(remote.at("receipt").at("report").at("verified"), true);
  std::vector<std::string> local_args = {"embed-local", "--model",
                                         model::DefaultModelDirectoryPath().string()};
  local_args.insert(local_args.end(), kTexts.begin(), kTexts.end());
  const RunResult local_run = Run(local_args);
  ASSERT_EQ(local_run.exit_code, 0) << local_run.err;
  const Json local = Json::parse(local_run.out);
  ASSERT_EQ(remote.at("data").size(), kTexts.size());
  for (size_t t = 0; t < kTexts.size(); ++t) {
    const std::vector<double> got = remote["data"][t].at("embedding").get<std::vector<double>>();
    const std::vector<double> want = local["data"][t].at("embedding").get<std::vector<double>>();
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_NEAR(got[i], want[i], 1e-5) << "text " << t << " dim " << i;
    }
  }

  // The key came from the broker: its audit log holds an allowed release.
  const RunResult audit =
      Run({"keys", "audit", "--broker", stack.at("broker").at("url").get<std::string>(),
           "--token-file", stack.at("broker").at("token_file").get<std::string>()});
  ASSERT_EQ(audit.exit_code, 0) << audit.err;
  EXPECT_THAT(audit.out,
              HasSubstr("release " + stack.at("enclave").at("model_id").get<std::string>() + " " +
                        stack.at("enclave").at("model_version").get<std::string>() + " allowed"));

  const RunResult down = Run({"down"});
  EXPECT_EQ(down.exit_code, 0) << down.err;

  // The host relayed the session and the key release: neither the DEK, nor the plaintext
  // weights, nor the texts.
  std::vector<std::vector<uint8_t>> recorded;
  size_t recorded_bytes = 0;
  for (const fs::directory_entry& e : fs::recursive_directory_iterator(record)) {
    if (e.is_regular_file()) {
      recorded.push_back(testing::ReadFileBytes(e.path()));
      recorded_bytes += recorded.back().size();
    }
  }
  EXPECT_GT(recorded_bytes, 0u);
  EXPECT_FALSE(Contains(recorded, testing::ReadFileBytes(dek_file)));
  for (const std::string& text : kTexts) {
    EXPECT_FALSE(Contains(recorded, std::vector<uint8_t>(text.begin(), text.end()))) << text;
  }
  EXPECT_FALSE(SharesAWindow(
      testing::ReadFileBytes(model::DefaultModelDirectoryPath() / "model.safetensors"), recorded));

  // A second `up` reuses the package and version, and refreshes the key's policy.
  const RunResult again = Up();
  ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_THAT(again.out, HasSubstr("reusing package"));
  EXPECT_THAT(again.out, HasSubstr("key      policy updated"));
  EXPECT_EQ(Stack().at("enclave").at("model_version"), stack.at("enclave").at("model_version"));
  EXPECT_EQ(Embed().at("receipt").at("report").at("verified"), true);
}

TEST_F(UpE2eTest, S3StoreFlowServesVerifiedEmbeddings) {
  if (!ModelPresent()) {
    GTEST_SKIP() << "model not fetched (scripts/fetch-model)";
  }
  // moto's S3 (no request authentication in this mode; the store still signs with SigV4).
  Result<std::unique_ptr<keys::kms::testing::MotoKmsServer>> moto =
      keys::kms::testing::MotoKmsServer::Start();
  ASSERT_TRUE(moto.has_value()) << moto.error().detail;
  Result<std::unique_ptr<http::HttpClient>> client = http::HttpClient::Create();
  ASSERT_TRUE(client.has_value());
  http::Request bucket;
  bucket.method = "PUT";
  bucket.url = (*moto)->endpoint() + "/eml-up";
  Result<http::Response> created = (*client)->Send(bucket);
  ASSERT_TRUE(created.has_value());
  ASSERT_EQ(created->status, 200);
  ::setenv("EPHEMERALML_S3_ENDPOINT", (*moto)->endpoint().c_str(), 1);
  ::setenv("AWS_ACCESS_KEY_ID", "AKIAUPTEST", 1);
  ::setenv("AWS_SECRET_ACCESS_KEY", "up-test-secret", 1);
  ::setenv("AWS_REGION", "us-east-1", 1);

  const RunResult up = Up({"--store", "s3://eml-up/models"});
  ASSERT_EQ(up.exit_code, 0) << up.out << up.err;
  EXPECT_EQ(Stack().at("store"), "s3://eml-up/models");
  const Json remote = Embed();
  EXPECT_EQ(remote.value("dim", 0), 384);
  EXPECT_EQ(remote.at("receipt").at("report").at("verified"), true);
  EXPECT_EQ(Run({"down"}).exit_code, 0);
  for (const char* name :
       {"EPHEMERALML_S3_ENDPOINT", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"}) {
    ::unsetenv(name);
  }
}

TEST_F(UpE2eTest, AnEnclaveWithAnotherPcr1IsDeniedTheKey) {
  if (!ModelPresent()) {
    GTEST_SKIP() << "model not fetched (scripts/fetch-model)";
  }
  const RunResult up = Up();
  ASSERT_EQ(up.exit_code, 0) << up.out << up.err;
  // The same boot `up` made, with another --max-sessions: PCR1 differs from the pinned one.
  std::vector<std::string> argv = Stack().at("enclave").at("argv").get<std::vector<std::string>>();
  auto set = [&argv](const std::string& flag, const std::string& value) {
    auto it = std::find(argv.begin(), argv.end(), flag);
    if (it == argv.end()) {
      argv.insert(argv.end(), {flag, value});
    } else {
      *(it + 1) = value;
    }
  };
  set("--listen", "unix:" + (dir_ / "other.sock").string());
  set("--ready-file", (dir_ / "other.ready.json").string());
  set("--max-sessions", "3");
  const fs::path log = dir_ / "other.log";
  EXPECT_EQ(RunToExit(argv, log), 21) << testing::ReadFileText(log);
  EXPECT_THAT(testing::ReadFileText(log), HasSubstr("boot failed"));
  EXPECT_THAT(testing::ReadFileText(log), HasSubstr("BROKER_MEASUREMENT_MISMATCH"));
  EXPECT_FALSE(fs::exists(dir_ / "other.ready.json"));
}

}  // namespace
}  // namespace eml::apps
