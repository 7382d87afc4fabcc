// The runtime end to end (DESIGN.md section 8): a real ephemeralml-enclave process on the real
// model, the host relay (src/host) in front of it, and verifying clients (src/client).
//  (a) handshake + 1,000 requests over 16 concurrent sessions through the host, over a TCP and
//      a Unix-socket enclave transport; every receipt verified by the client; one re-verified
//      offline with `ephemeralml receipt verify`.
//  (b) host blindness: the host's --record files contain none of the request or response
//      plaintext (texts, request records, embedding bytes), no window of model.safetensors and
//      no byte run of the sim root's private key.
//  (c) tampering: a relay that flips one bit ends that session with errors on both sides while
//      other sessions continue; a replayed (older, so reordered) record is refused both ways.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "air/verifier.h"
#include "attest/policy.h"
#include "channel/address.h"
#include "channel/frame.h"
#include "channel/net/net.h"
#include "channel/transport.h"
#include "client/session.h"
#include "common/encoding.h"
#include "crypto/hash.h"
#include "host/relay.h"
#include "model/model_directory.h"
#include "testing/test_util.h"

namespace eml {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr int kReadyTimeoutS = 180;

std::string TempDir(const char* stem) {
  std::string pattern = (fs::temp_directory_path() / (std::string(stem) + "-XXXXXX")).string();
  EML_CHECK(::mkdtemp(pattern.data()) != nullptr);
  return pattern;
}

// An ephemeralml-enclave process, stopped (SIGTERM) when destroyed.
class EnclaveProcess {
 public:
  // Start launches the enclave listening on `listen` ("tcp:127.0.0.1:0" or "unix:PATH") with
  // its state in dir/state, and waits for its ready file.
  static std::unique_ptr<EnclaveProcess> Start(const fs::path& dir, const std::string& listen) {
    auto out = std::unique_ptr<EnclaveProcess>(new EnclaveProcess());
    out->dir_ = dir;
    out->log_ = dir / "enclave.log";
    const fs::path ready = dir / "ready.json";
    std::vector<std::string> args = {EML_ENCLAVE_PATH,
                                     "--listen",
                                     listen,
                                     "--model",
                                     model::DefaultModelDirectoryPath().string(),
                                     "--state-dir",
                                     (dir / "state").string(),
                                     "--ready-file",
                                     ready.string()};
    std::vector<char*> argv;
    for (std::string& a : args) {
      argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    out->pid_ = ::fork();
    if (out->pid_ == 0) {
      if (std::freopen(out->log_.c_str(), "w", stderr) == nullptr) {
        ::_exit(126);
      }
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    for (int i = 0; i < kReadyTimeoutS * 20; ++i) {
      if (fs::exists(ready)) {
        out->ready_ = testing::ReadJson(ready);
        return out;
      }
      int status = 0;
      if (::waitpid(out->pid_, &status, WNOHANG) == out->pid_) {
        out->pid_ = -1;
        ADD_FAILURE() << "enclave exited: " << testing::ReadFileText(out->log_);
        return nullptr;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ADD_FAILURE() << "enclave not ready in time";
    return nullptr;
  }

  ~EnclaveProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
  }

  const nlohmann::json& ready() const { return ready_; }
  std::string log() const { return testing::ReadFileText(log_); }
  // LogEventually waits up to 10 s for `needle` in the log: the enclave writes a session's end
  // after the peer may already have seen the connection close.
  std::string LogEventually(const std::string& needle) const {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    std::string text = log();
    while (text.find(needle) == std::string::npos && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      text = log();
    }
    return text;
  }
  const fs::path& dir() const { return dir_; }

  channel::Address address() const {
    Result<channel::Address> a = channel::ParseAddress(ready_["address"].get<std::string>());
    EML_CHECK(a.has_value());
    return *a;
  }

  // Policy: the sim root and PCR0-2 of this enclave, as `ephemeralml up` writes it.
  std::shared_ptr<const attest::PolicyVerifier> Policy() const {
    const nlohmann::json policy = {{"version", 1},
                                   {"platforms",
                                    {{"sim",
                                      {{"roots", {ready_["sim_root"]}},
                                       {"pcrs",
                                        {{"0", ready_["pcrs"]["0"]},
                                         {"1", ready_["pcrs"]["1"]},
                                         {"2", ready_["pcrs"]["2"]}}}}}}},
                                   {"allow_debug", false},
                                   {"max_evidence_age_s", 600}};
    const fs::path file = dir_ / "policy.json";
    std::ofstream(file) << policy.dump();
    Result<attest::EvidencePolicy> parsed = attest::LoadEvidencePolicyFile(file);
    EML_CHECK(parsed.has_value());
    Result<attest::PolicyVerifier> verifier = attest::PolicyVerifier::Create(*std::move(parsed));
    EML_CHECK(verifier.has_value());
    return std::make_shared<const attest::PolicyVerifier>(*std::move(verifier));
  }

 private:
  EnclaveProcess() = default;
  fs::path dir_;
  fs::path log_;
  pid_t pid_ = -1;
  nlohmann::json ready_;
};

// The suite shares two enclaves (model loading is the slow part): one on TCP, one on a Unix
// socket, each with its own state directory (sim root) and policy.
class RuntimeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = new std::string(TempDir("eml-integration"));
    fs::create_directories(fs::path(*root_) / "tcp");
    fs::create_directories(fs::path(*root_) / "unix");
    tcp_ = EnclaveProcess::Start(fs::path(*root_) / "tcp", "tcp:127.0.0.1:0").release();
    unix_ = EnclaveProcess::Start(fs::path(*root_) / "unix",
                                  "unix:" + (fs::path(*root_) / "unix" / "e.sock").string())
                .release();
  }
  static void TearDownTestSuite() {
    delete tcp_;
    delete unix_;
    std::error_code ignored;
    fs::remove_all(*root_, ignored);
    delete root_;
  }

  void SetUp() override {
    ASSERT_NE(tcp_, nullptr);
    ASSERT_NE(unix_, nullptr);
  }

  static std::unique_ptr<host::Relay> StartRelay(
      const EnclaveProcess& enclave, const fs::path& record_dir = {},
      decltype(host::RelayOptions::tamper_for_test) tamper = nullptr) {
    host::RelayOptions options;
    options.enclave = enclave.address();
    options.record_dir = record_dir;
    options.tamper_for_test = std::move(tamper);
    Result<std::unique_ptr<host::Relay>> relay = host::Relay::Start(std::move(options));
    EML_CHECK(relay.has_value());
    return *std::move(relay);
  }

  static client::ClientOptions Options(const EnclaveProcess& enclave) {
    client::ClientOptions options;
    options.policy = enclave.Policy();
    return options;
  }

  static client::Endpoint RelayEndpoint(const host::Relay& relay) {
    client::Endpoint endpoint;
    endpoint.tcp = {"127.0.0.1", relay.port()};
    return endpoint;
  }

  static std::string* root_;
  static EnclaveProcess* tcp_;
  static EnclaveProcess* unix_;
};

std::string* RuntimeTest::root_ = nullptr;
EnclaveProcess* RuntimeTest::tcp_ = nullptr;
EnclaveProcess* RuntimeTest::unix_ = nullptr;

std::vector<uint8_t> Nonce(size_t session, size_t request) {
  std::vector<uint8_t> out(16);
  for (size_t i = 0; i < out.size(); ++i) {
    out[i] = static_cast<uint8_t>(session * 131 + request * 7 + i);
  }
  return out;
}

std::string Text(size_t session, size_t request) {
  return "integration session " + std::to_string(session) + " request " + std::to_string(request) +
         ": confidential prompt zq" + std::to_string(session * 1000 + request);
}

struct Plaintexts {
  std::mutex mu;
  std::vector<std::string> texts;
  std::vector<std::vector<uint8_t>> requests;    // exact request record plaintexts
  std::vector<std::vector<uint8_t>> results;     // exact result bytes (embeddings inside)
  std::vector<std::vector<uint8_t>> embeddings;  // little-endian f32 bytes
};

// One receipt the client accepted, with everything an offline verifier is told to expect.
struct OfflineCase {
  size_t session = 0;
  std::vector<uint8_t> receipt;
  crypto::Ed25519PublicKey key;
  air::Sha256Digest request_hash{};
  air::Sha256Digest response_hash{};
  air::Sha256Digest attestation_doc_hash{};
  air::Sha256Digest model_hash{};
  std::string model_id;
  std::vector<uint8_t> nonce;
};

// RunSessions: `sessions` concurrent sessions through `endpoint` sending `total` requests in
// all; returns how many were verified. Records what was sent and received in `seen`, and every
// accepted receipt in `receipts`.
size_t RunSessions(const client::Endpoint& endpoint, const client::ClientOptions& options,
                   size_t sessions, size_t total, Plaintexts* seen,
                   std::vector<OfflineCase>* receipts) {
  std::atomic<size_t> verified{0};
  std::mutex receipts_mu;
  std::vector<std::thread> threads;
  for (size_t s = 0; s < sessions; ++s) {
    threads.emplace_back([&, s] {
      Result<std::unique_ptr<client::Session>> session = client::Connect(endpoint, options);
      if (!session.has_value()) {
        ADD_FAILURE() << "session " << s << ": " << ToString(session.error());
        return;
      }
      const size_t mine = total / sessions + (s < total % sessions ? 1 : 0);
      for (size_t r = 0; r < mine; ++r) {
        const std::vector<std::string> texts = {Text(s, r)};
        client::EmbedOptions embed_options;
        embed_options.nonce = Nonce(s, r);
        Result<client::VerifiedEmbeddings> result = (*session)->Embed(texts, embed_options);
        if (!result.has_value()) {
          ADD_FAILURE() << "session " << s << " request " << r << ": " << ToString(result.error());
          return;
        }
        if (result->count() != 1 || result->dim() != 384 || !result->receipt_report().verified ||
            result->embeddings().size() != 384) {
          ADD_FAILURE() << "unexpected result shape or sequence";
          return;
        }
        verified.fetch_add(1);
        if (seen != nullptr) {
          std::vector<uint8_t> floats(result->embeddings().size() * sizeof(float));
          std::memcpy(floats.data(), result->embeddings().data(), floats.size());
          std::lock_guard lock(seen->mu);
          seen->texts.push_back(texts[0]);
          seen->requests.push_back(result->request_bytes());
          seen->results.push_back(result->result_bytes());
          seen->embeddings.push_back(std::move(floats));
        }
        if (receipts != nullptr) {
          const client::AttestedEnclave& enclave = (*session)->enclave();
          OfflineCase c{.session = s,
                        .receipt = result->receipt(),
                        .key = enclave.receipt_key(),
                        .request_hash = crypto::Sha256(result->request_bytes()),
                        .response_hash = crypto::Sha256(result->result_bytes()),
                        .attestation_doc_hash = enclave.document_sha256(),
                        .model_hash = enclave.models().front().model_hash,
                        .model_id = result->model_id(),
                        .nonce = *embed_options.nonce};
          std::lock_guard lock(receipts_mu);
          receipts->push_back(std::move(c));
        }
      }
    });
  }
  for (std::thread& t : threads) {
    t.join();
  }
  return verified.load();
}

bool Contains(const std::vector<uint8_t>& hay, std::span<const uint8_t> needle) {
  return !needle.empty() &&
         std::search(hay.begin(), hay.end(), needle.begin(), needle.end()) != hay.end();
}

std::vector<uint8_t> AllRecorded(const fs::path& dir) {
  std::vector<uint8_t> out;
  for (const fs::directory_entry& e : fs::directory_iterator(dir)) {
    const std::vector<uint8_t> bytes = testing::ReadFileBytes(e.path());
    out.insert(out.end(), bytes.begin(), bytes.end());
  }
  return out;
}

// ExpectOfflineVerify re-verifies every receipt from its raw bytes, away from the session that
// accepted it: all of them with the AIR verifier under a policy naming every expected value (and
// no cti twice in the whole run), and the last receipt of each session also with
// `ephemeralml receipt verify` (one process each; all 1,000 would cost minutes under ASan).
void ExpectOfflineVerify(const std::vector<OfflineCase>& cases, const fs::path& dir) {
  std::set<air::Cti> ctis;
  std::map<size_t, const OfflineCase*> last_of_session;
  for (const OfflineCase& c : cases) {
    air::VerifyPolicy policy;
    policy.expected_request_hash = c.request_hash;
    policy.expected_response_hash = c.response_hash;
    policy.expected_attestation_doc_hash = c.attestation_doc_hash;
    policy.expected_model_hash = c.model_hash;
    policy.expected_model_id = c.model_id;
    policy.expected_nonce = c.nonce;
    policy.require_nonce = true;
    policy.allow_evaluation = true;
    Result<air::VerificationReport> report = air::VerifyReceipt(c.receipt, c.key, policy);
    ASSERT_TRUE(report.has_value() && report->verified());
    EXPECT_TRUE(ctis.insert(report->verified_receipt()->claims().cti).second) << "cti reused";
    last_of_session[c.session] = &c;
  }
  for (const auto& [session, c] : last_of_session) {
    const fs::path receipt = dir / ("receipt-" + std::to_string(session) + ".cbor");
    std::ofstream(receipt, std::ios::binary)
        .write(reinterpret_cast<const char*>(c->receipt.data()),
               static_cast<std::streamsize>(c->receipt.size()));
    const fs::path out = dir / ("verify-" + std::to_string(session) + ".txt");
    const std::string cmd =
        std::string(EML_EPHEMERALML_PATH) + " receipt verify '" + receipt.string() +
        "' --public-key " + HexEncode(c->key.bytes()) +
        " --allow-evaluation --require-nonce --expected-nonce " + HexEncode(c->nonce) +
        " --expected-request-hash " + HexEncode(c->request_hash) + " --expected-response-hash " +
        HexEncode(c->response_hash) + " --expected-attestation-hash " +
        HexEncode(c->attestation_doc_hash) + " --expected-model-hash " + HexEncode(c->model_hash) +
        " --expected-model " + c->model_id + " > '" + out.string() + "' 2>&1";
    const int status = std::system(cmd.c_str());
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << testing::ReadFileText(out);
  }
}

TEST_F(RuntimeTest, ThousandRequestsOverSixteenSessionsThroughTheHostOverTcp) {
  std::unique_ptr<host::Relay> relay = StartRelay(*tcp_);
  std::vector<OfflineCase> receipts;
  EXPECT_EQ(RunSessions(RelayEndpoint(*relay), Options(*tcp_), 16, 1000, nullptr, &receipts),
            1000u);
  ASSERT_EQ(receipts.size(), 1000u);
  ExpectOfflineVerify(receipts, tcp_->dir());
  EXPECT_EQ(relay->Stats().accepted, 16u);
}

TEST_F(RuntimeTest, ThousandRequestsOverSixteenSessionsThroughTheHostOverUnix) {
  std::unique_ptr<host::Relay> relay = StartRelay(*unix_);
  EXPECT_EQ(unix_->address().kind, channel::Address::Kind::kUnix);
  std::vector<OfflineCase> receipts;
  EXPECT_EQ(RunSessions(RelayEndpoint(*relay), Options(*unix_), 16, 1000, nullptr, &receipts),
            1000u);
  ASSERT_EQ(receipts.size(), 1000u);
  ExpectOfflineVerify(receipts, unix_->dir());
}

TEST_F(RuntimeTest, HostRecordHoldsNoPlaintextWeightsOrKeys) {
  const fs::path record = tcp_->dir() / "record";
  std::unique_ptr<host::Relay> relay = StartRelay(*tcp_, record);
  Plaintexts seen;
  ASSERT_EQ(RunSessions(RelayEndpoint(*relay), Options(*tcp_), 4, 40, &seen, nullptr), 40u);
  relay->Stop();  // flushes and closes every record file
  const std::vector<uint8_t> recorded = AllRecorded(record);
  ASSERT_GT(recorded.size(), 40u * 1000u);

  size_t windows = 0;
  for (const std::string& text : seen.texts) {
    EXPECT_FALSE(
        Contains(recorded, std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size())))
        << text;
    ++windows;
  }
  constexpr size_t kWindow = 16;
  for (const auto* group : {&seen.requests, &seen.results, &seen.embeddings}) {
    for (const std::vector<uint8_t>& plain : *group) {
      for (size_t off = 0; off + kWindow <= plain.size(); off += kWindow) {
        ASSERT_FALSE(Contains(recorded, std::span(plain).subspan(off, kWindow)))
            << "plaintext window at " << off;
        ++windows;
      }
    }
  }
  // Weights: 256 windows of 32 bytes spread over model.safetensors' tensor data.
  const std::vector<uint8_t> weights =
      testing::ReadFileBytes(model::DefaultModelDirectoryPath() / "model.safetensors");
  ASSERT_GT(weights.size(), 1u << 20);
  for (size_t i = 0; i < 256; ++i) {
    const size_t off = (1u << 16) + i * ((weights.size() - (1u << 17)) / 256);
    ASSERT_FALSE(Contains(recorded, std::span(weights).subspan(off, 32))) << "weights at " << off;
    ++windows;
  }
  // Keys: the sim root's P-384 private scalar (ECPrivateKey: 02 01 01 04 30 <48 bytes>).
  const std::vector<uint8_t> key_der =
      testing::ReadFileBytes(tcp_->dir() / "state" / "attest-sim" / "root.key");
  const std::vector<uint8_t> marker = {0x02, 0x01, 0x01, 0x04, 0x30};
  const auto at = std::search(key_der.begin(), key_der.end(), marker.begin(), marker.end());
  ASSERT_NE(at, key_der.end());
  const std::span<const uint8_t> scalar(&*(at + 5), 48);
  for (size_t off = 0; off + 8 <= scalar.size(); off += 8) {
    EXPECT_FALSE(Contains(recorded, scalar.subspan(off, 8)));
    ++windows;
  }
  EXPECT_GT(windows, 1000u);
}

// A relay flips one bit in one client's third request record: that session ends with errors on
// both sides (client: the connection closes; enclave: the record fails authentication), while
// three other sessions finish all their requests.
TEST_F(RuntimeTest, BitFlipEndsOnlyThatSession) {
  std::atomic<uint64_t> victim{0};
  std::unique_ptr<host::Relay> relay =
      StartRelay(*tcp_, {}, [&](const host::FramePiece& piece, std::span<uint8_t> bytes) {
        // Frames c2e: 0 Hello, 1 confirmation, 2.. requests. Flip a ciphertext bit of request 3.
        if (piece.connection_id == victim.load() &&
            piece.direction == host::Direction::kClientToEnclave && piece.frame_index == 4 &&
            piece.offset <= 20 && piece.offset + bytes.size() > 20) {
          bytes[20 - piece.offset] ^= 0x10;
        }
      });
  const client::ClientOptions options = Options(*tcp_);
  Result<std::unique_ptr<client::Session>> victim_session =
      client::Connect(RelayEndpoint(*relay), options);
  ASSERT_TRUE(victim_session.has_value());
  victim = 1;  // the relay numbers connections from 1
  const std::vector<std::string> texts = {"tamper target"};
  ASSERT_TRUE((*victim_session)->Embed(texts).has_value());
  ASSERT_TRUE((*victim_session)->Embed(texts).has_value());
  std::thread others([&] {
    EXPECT_EQ(RunSessions(RelayEndpoint(*relay), options, 3, 60, nullptr, nullptr), 60u);
  });
  Result<client::VerifiedEmbeddings> third = (*victim_session)->Embed(texts);
  EXPECT_FALSE(third.has_value());
  EXPECT_THAT((*victim_session)->Embed(texts), testing::HasError(ErrorCode::kClientSessionClosed));
  others.join();
  EXPECT_THAT(tcp_->LogEventually("CHANNEL_RECORD_OPEN_FAILED"),
              HasSubstr("CHANNEL_RECORD_OPEN_FAILED"));
}

// A flipped bit anywhere a frame's integrity is checked (handshake headers and payloads, the
// confirmation, record headers, which the AAD covers) ends that session with an error, and the
// next session through the same relay works. Length fields are left alone: the relay frames by
// its own reading of the header, so a changed length only makes the two ends wait on each other.
TEST_F(RuntimeTest, BitFlipInAnyFrameEndsThatSessionOnly) {
  struct FlipCase {
    const char* what;
    host::Direction direction;
    uint64_t frame_index;
    uint64_t offset;
    uint8_t mask;
    const char* enclave_code;  // logged by the enclave for the victim session; "" = client only
  };
  const FlipCase cases[] = {
      {"client Hello version byte", host::Direction::kClientToEnclave, 0, 2, 0x01,
       "CHANNEL_BAD_VERSION"},
      {"client Hello payload", host::Direction::kClientToEnclave, 0, 40, 0x04, ""},
      {"enclave Hello attestation document", host::Direction::kEnclaveToClient, 0, 300, 0x20, ""},
      {"confirmation payload", host::Direction::kClientToEnclave, 1, 20, 0x80,
       "CHANNEL_CONFIRMATION_MISMATCH"},
      {"request header sequence", host::Direction::kClientToEnclave, 2, 8, 0x02,
       "CHANNEL_RECORD_OPEN_FAILED"},
      {"response header type", host::Direction::kEnclaveToClient, 1, 3, 0x01, ""},
  };
  const client::ClientOptions options = Options(*tcp_);
  const std::vector<std::string> texts = {"flip target"};
  for (const FlipCase& flip : cases) {
    SCOPED_TRACE(flip.what);
    std::unique_ptr<host::Relay> relay =
        StartRelay(*tcp_, {}, [&flip](const host::FramePiece& piece, std::span<uint8_t> bytes) {
          if (piece.connection_id == 1 && piece.direction == flip.direction &&
              piece.frame_index == flip.frame_index && piece.offset <= flip.offset &&
              piece.offset + bytes.size() > flip.offset) {
            bytes[flip.offset - piece.offset] ^= flip.mask;
          }
        });
    // The victim: the handshake or its first request fails, with a typed error.
    Result<std::unique_ptr<client::Session>> victim =
        client::Connect(RelayEndpoint(*relay), options);
    bool failed = !victim.has_value();
    if (!failed) {
      failed = !(*victim)->Embed(texts).has_value();
      EXPECT_THAT((*victim)->Embed(texts), testing::HasError(ErrorCode::kClientSessionClosed));
    }
    EXPECT_TRUE(failed);
    if (flip.enclave_code[0] != '\0') {
      EXPECT_THAT(tcp_->LogEventually(flip.enclave_code), HasSubstr(flip.enclave_code));
    }
    // The next session through the same relay (connection 2) is untouched.
    Result<std::unique_ptr<client::Session>> healthy =
        client::Connect(RelayEndpoint(*relay), options);
    ASSERT_TRUE(healthy.has_value()) << ToString(healthy.error());
    EXPECT_TRUE((*healthy)->Embed(texts).has_value());
  }
}

// A flipped bit in a response fails authentication at the client.
TEST_F(RuntimeTest, BitFlipInAResponseIsRefusedByTheClient) {
  std::unique_ptr<host::Relay> relay =
      StartRelay(*tcp_, {}, [](const host::FramePiece& piece, std::span<uint8_t> bytes) {
        // Frames e2c: 0 Hello, 1.. responses. Flip a ciphertext bit of the second response.
        if (piece.direction == host::Direction::kEnclaveToClient && piece.frame_index == 2 &&
            piece.offset <= 30 && piece.offset + bytes.size() > 30) {
          bytes[30 - piece.offset] ^= 0x01;
        }
      });
  Result<std::unique_ptr<client::Session>> session =
      client::Connect(RelayEndpoint(*relay), Options(*tcp_));
  ASSERT_TRUE(session.has_value());
  const std::vector<std::string> texts = {"flip the response"};
  ASSERT_TRUE((*session)->Embed(texts).has_value());
  EXPECT_THAT((*session)->Embed(texts), testing::HasError(ErrorCode::kChannelRecordOpenFailed));
}

// A man in the middle that replays frames: wraps the client's stream (to the relay).
class ReplayingStream final : public channel::Stream {
 public:
  enum class Mode { kReplayRequest, kReplayResponse };
  ReplayingStream(std::unique_ptr<channel::Stream> inner, Mode mode, int at_data_frame)
      : inner_(std::move(inner)), mode_(mode), at_(at_data_frame) {}

  Status WriteAll(std::span<const uint8_t> bytes, int timeout_ms) override {
    std::vector<uint8_t> frame(bytes.begin(), bytes.end());
    if (frame.size() >= channel::kFrameHeaderSize &&
        frame[3] == static_cast<uint8_t>(channel::FrameType::kData)) {
      ++data_written_;
      if (data_written_ == at_ && mode_ == Mode::kReplayRequest) {
        frame = last_request_;  // the previous request again: an old sequence number
      } else if (data_written_ == at_ && mode_ == Mode::kReplayResponse) {
        inject_ = last_response_;  // the client will read the previous response again
      }
      if (data_written_ != at_) {
        last_request_ = frame;
      }
    }
    return inner_->WriteAll(frame, timeout_ms);
  }

  void Cancel() override { inner_->Cancel(); }

  Status ReadExact(std::span<uint8_t> out, int timeout_ms) override {
    if (!inject_.empty()) {
      if (out.size() > inject_.size()) {
        return Error{ErrorCode::kChannelIoError, "test stream: injected frame too short"};
      }
      std::copy_n(inject_.begin(), out.size(), out.begin());
      inject_.erase(inject_.begin(), inject_.begin() + static_cast<std::ptrdiff_t>(out.size()));
      return OkStatus();
    }
    EML_RETURN_IF_ERROR(inner_->ReadExact(out, timeout_ms));
    reading_.insert(reading_.end(), out.begin(), out.end());
    if (reading_.size() >= channel::kFrameHeaderSize) {
      Result<channel::FrameHeader> header =
          channel::DecodeFrameHeader(std::span(reading_).first(channel::kFrameHeaderSize), {});
      if (header.has_value() &&
          reading_.size() == channel::kFrameHeaderSize + header->payload_len) {
        if (header->type == channel::FrameType::kData) {
          last_response_ = reading_;
        }
        reading_.clear();
      }
    }
    return OkStatus();
  }

 private:
  std::unique_ptr<channel::Stream> inner_;
  Mode mode_;
  int at_;
  int data_written_ = 0;
  std::vector<uint8_t> last_request_;
  std::vector<uint8_t> last_response_;
  std::vector<uint8_t> reading_;
  std::vector<uint8_t> inject_;
};

Result<std::unique_ptr<client::Session>> StartReplaying(const host::Relay& relay,
                                                        const client::ClientOptions& options,
                                                        ReplayingStream::Mode mode) {
  EML_ASSIGN_OR_RETURN(std::unique_ptr<channel::Stream> stream,
                       channel::net::ConnectTcp({"127.0.0.1", relay.port()}, 10'000));
  return client::Session::Start(std::make_unique<ReplayingStream>(std::move(stream), mode, 3),
                                options);
}

TEST_F(RuntimeTest, ReplayedRequestIsRefusedByTheEnclave) {
  std::unique_ptr<host::Relay> relay = StartRelay(*tcp_);
  Result<std::unique_ptr<client::Session>> session =
      StartReplaying(*relay, Options(*tcp_), ReplayingStream::Mode::kReplayRequest);
  ASSERT_TRUE(session.has_value()) << ToString(session.error());
  const std::vector<std::string> texts = {"replay me"};
  ASSERT_TRUE((*session)->Embed(texts).has_value());
  ASSERT_TRUE((*session)->Embed(texts).has_value());
  EXPECT_FALSE((*session)->Embed(texts).has_value());  // request 2's record sent again
  EXPECT_THAT(tcp_->LogEventually("CHANNEL_REPLAYED_RECORD"), HasSubstr("CHANNEL_REPLAYED_RECORD"));
}

TEST_F(RuntimeTest, ReplayedResponseIsRefusedByTheClient) {
  std::unique_ptr<host::Relay> relay = StartRelay(*tcp_);
  Result<std::unique_ptr<client::Session>> session =
      StartReplaying(*relay, Options(*tcp_), ReplayingStream::Mode::kReplayResponse);
  ASSERT_TRUE(session.has_value()) << ToString(session.error());
  const std::vector<std::string> texts = {"replay the answer"};
  ASSERT_TRUE((*session)->Embed(texts).has_value());
  ASSERT_TRUE((*session)->Embed(texts).has_value());
  EXPECT_THAT((*session)->Embed(texts), testing::HasError(ErrorCode::kChannelReplayedRecord));
}

}  // namespace
}  // namespace eml
