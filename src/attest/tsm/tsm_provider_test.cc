#include "attest/tsm/tsm_provider.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "attest/report_binding.h"
#include "testing/test_util.h"

namespace eml::attest::tsm {
namespace {

namespace fs = std::filesystem;
using ::eml::testing::HasError;
using ::eml::testing::IsOk;
using ::eml::testing::ReadFileBytes;

void WriteText(const fs::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

// FakeKernel plays configfs-tsm in a plain directory: outblob = "QUOTE" || inblob, an
// auxblob for sev_guest, generation bumped on each write. It records what the provider did.
class FakeKernel : public ConfigfsHooks {
 public:
  explicit FakeKernel(std::string provider) : provider_(std::move(provider)) {}

  void OnMkdir(const fs::path& entry) override {
    ++mkdirs;
    WriteText(entry / "inblob", "");
    WriteText(entry / "outblob", "");
    WriteText(entry / "generation", "0\n");
    WriteText(entry / "provider", provider_ + "\n");
    if (provider_ == kProviderSevSnp) {
      WriteText(entry / "auxblob", "");
    }
  }
  void OnWrite(const fs::path& entry, const std::string& attribute) override {
    EXPECT_EQ(attribute, "inblob");
    inblob = ReadFileBytes(entry / "inblob");
    ++generation_;
    WriteText(entry / "generation", std::to_string(generation_) + "\n");
    std::string out = "QUOTE";
    out.append(inblob.begin(), inblob.end());
    WriteText(entry / "outblob", out);
    if (provider_ == kProviderSevSnp) {
      WriteText(entry / "auxblob", "CERTS");
    }
  }
  void OnRead(const fs::path& entry, const std::string& attribute) override {
    if (attribute == "outblob" && concurrent_writer) {
      // Another process writes the same entry between our write and our read.
      ++generation_;
      WriteText(entry / "generation", std::to_string(generation_) + "\n");
    }
  }
  void OnRmdir(const fs::path& entry) override {
    ++rmdirs;
    for (const char* name : {"inblob", "outblob", "generation", "provider", "auxblob"}) {
      fs::remove(entry / name);
    }
  }

  int mkdirs = 0;
  int rmdirs = 0;
  bool concurrent_writer = false;
  std::vector<uint8_t> inblob;

 private:
  std::string provider_;
  uint64_t generation_ = 0;
};

class TsmProviderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("eml_tsm_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  TsmProvider Make(std::shared_ptr<FakeKernel> kernel, std::string expected = "") {
    TsmOptions options;
    options.root = root_;
    options.expected_provider = std::move(expected);
    options.hooks_for_test = std::move(kernel);
    Result<TsmProvider> p = TsmProvider::Create(std::move(options));
    EML_CHECK(p.has_value());
    return *std::move(p);
  }
  bool RootIsEmpty() const { return fs::is_empty(root_); }

  fs::path root_;
  const std::vector<uint8_t> key_ = std::vector<uint8_t>(32, 0x42);
  const std::vector<uint8_t> nonce_ = std::vector<uint8_t>(16, 0x07);
};

TEST_F(TsmProviderTest, TdxReportBindsKeyAndNonce) {
  auto kernel = std::make_shared<FakeKernel>(kProviderTdx);
  TsmProvider p = Make(kernel, kProviderTdx);
  Result<std::vector<uint8_t>> evidence = p.Attest(key_, nonce_);
  ASSERT_THAT(evidence, IsOk());
  const auto digest = BindingDigest(key_, nonce_);
  EXPECT_EQ(kernel->inblob, std::vector<uint8_t>(digest.begin(), digest.end()));
  std::vector<uint8_t> expected = {'Q', 'U', 'O', 'T', 'E'};
  expected.insert(expected.end(), digest.begin(), digest.end());
  EXPECT_EQ(*evidence, expected);
  EXPECT_EQ(kernel->mkdirs, 1);
  EXPECT_EQ(kernel->rmdirs, 1);
  EXPECT_TRUE(RootIsEmpty());
}

TEST_F(TsmProviderTest, SevSnpEvidenceAppendsTheCertificateTable) {
  auto kernel = std::make_shared<FakeKernel>(kProviderSevSnp);
  TsmProvider p = Make(kernel);
  std::array<uint8_t, kInblobBytes> data{};
  data[0] = 9;
  Result<TsmReport> report = p.GetReport(data);
  ASSERT_THAT(report, IsOk());
  EXPECT_EQ(report->provider, kProviderSevSnp);
  EXPECT_EQ(report->generation, 1u);
  EXPECT_EQ(report->auxblob, (std::vector<uint8_t>{'C', 'E', 'R', 'T', 'S'}));
  Result<std::vector<uint8_t>> evidence = p.Attest(key_, nonce_);
  ASSERT_THAT(evidence, IsOk());
  EXPECT_EQ(evidence->size(), 5u + kInblobBytes + 5u);
  EXPECT_TRUE(RootIsEmpty());
}

TEST_F(TsmProviderTest, GenerationChangeIsRefusedAndTheEntryRemoved) {
  auto kernel = std::make_shared<FakeKernel>(kProviderTdx);
  kernel->concurrent_writer = true;
  TsmProvider p = Make(kernel);
  EXPECT_THAT(p.Attest(key_, nonce_), HasError(ErrorCode::kTsmGenerationChanged));
  EXPECT_EQ(kernel->rmdirs, 1);
  EXPECT_TRUE(RootIsEmpty());
}

TEST_F(TsmProviderTest, WrongOrMissingProviderRefused) {
  TsmProvider p = Make(std::make_shared<FakeKernel>(kProviderSevSnp), kProviderTdx);
  EXPECT_THAT(p.Attest(key_, nonce_), HasError(ErrorCode::kTsmBadReport));
  TsmProvider odd = Make(std::make_shared<FakeKernel>("arm_cca_guest"));
  EXPECT_THAT(odd.Attest(key_, nonce_), HasError(ErrorCode::kTsmBadReport));
  EXPECT_TRUE(RootIsEmpty());
}

TEST_F(TsmProviderTest, EmptyOutblobRefused) {
  // The kernel answers with nothing at all.
  class Empty : public FakeKernel {
   public:
    Empty() : FakeKernel(kProviderTdx) {}
    void OnWrite(const fs::path& entry, const std::string& attribute) override {
      FakeKernel::OnWrite(entry, attribute);
      WriteText(entry / "outblob", "");
    }
  };
  TsmProvider p = Make(std::make_shared<Empty>());
  EXPECT_THAT(p.Attest(key_, nonce_), HasError(ErrorCode::kTsmBadReport));
  EXPECT_TRUE(RootIsEmpty());
}

TEST_F(TsmProviderTest, NotAConfigfsTreeIsUnavailable) {
  TsmOptions options;
  options.root = root_ / "absent";
  EXPECT_THAT(TsmProvider::Create(options), HasError(ErrorCode::kTsmUnavailable));
  options.root = root_;
  options.expected_provider = "sgx";
  EXPECT_THAT(TsmProvider::Create(options), HasError(ErrorCode::kInvalidArgument));
  // A tree where nobody creates the attributes (no kernel behind it): writing inblob fails.
  TsmOptions bare;
  bare.root = root_;
  Result<TsmProvider> p = TsmProvider::Create(bare);
  ASSERT_THAT(p, IsOk());
  EXPECT_THAT(p->Attest(key_, nonce_), HasError(ErrorCode::kTsmUnavailable));
  EXPECT_TRUE(RootIsEmpty());
}

}  // namespace
}  // namespace eml::attest::tsm
