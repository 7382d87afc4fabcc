#include "keys/master_key.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <fstream>
#include <string>

#include "common/encoding.h"
#include "keys/testing/broker_fixture.h"
#include "testing/test_util.h"

namespace eml::keys {
namespace {

using ::eml::testing::HasError;
using ::eml::testing::IsOk;

class MasterKeyTest : public testing::BrokerFixture {
 protected:
  std::filesystem::path Write(const std::string& name, const std::string& bytes, mode_t mode) {
    const std::filesystem::path path = dir_ / name;
    std::ofstream(path, std::ios::binary) << bytes;
    EML_CHECK(::chmod(path.c_str(), mode) == 0);
    return path;
  }
  static std::vector<uint8_t> Bytes(const SecretBytes& key) {
    std::span<const uint8_t> b = key.Reveal(InsecureSecretAccess::Get());
    return {b.begin(), b.end()};
  }
};

TEST_F(MasterKeyTest, RawAndHexFilesLoad) {
  const std::string raw(32, '\x5A');
  Result<SecretBytes> a = LoadMasterKey(Write("raw.key", raw, 0600));
  ASSERT_THAT(a, IsOk());
  EXPECT_EQ(Bytes(*a), std::vector<uint8_t>(32, 0x5A));
  const std::string hex = HexEncode(std::vector<uint8_t>(32, 0xA5));
  for (const std::string& text : {hex, hex + "\n"}) {
    Result<SecretBytes> b = LoadMasterKey(Write("hex.key", text, 0400));
    ASSERT_THAT(b, IsOk());
    EXPECT_EQ(Bytes(*b), std::vector<uint8_t>(32, 0xA5));
  }
}

TEST_F(MasterKeyTest, ExposedOrMalformedFilesRefusedWithoutEchoingTheKey) {
  const std::string hex = HexEncode(std::vector<uint8_t>(32, 0xA5));
  Result<SecretBytes> exposed = LoadMasterKey(Write("open.key", hex, 0644));
  ASSERT_THAT(exposed, HasError(ErrorCode::kBrokerBadMasterKey));
  EXPECT_NE(exposed.error().detail.find("chmod 600"), std::string::npos);
  EXPECT_EQ(exposed.error().detail.find(hex), std::string::npos);
  EXPECT_THAT(LoadMasterKey(Write("group.key", hex, 0640)),
              HasError(ErrorCode::kBrokerBadMasterKey));
  EXPECT_THAT(LoadMasterKey(Write("short.key", hex.substr(2), 0600)),
              HasError(ErrorCode::kBrokerBadMasterKey));
  EXPECT_THAT(LoadMasterKey(Write("long.key", hex + "00", 0600)),
              HasError(ErrorCode::kBrokerBadMasterKey));
  std::string bad = hex;
  bad[10] = 'g';
  Result<SecretBytes> not_hex = LoadMasterKey(Write("bad.key", bad, 0600));
  ASSERT_THAT(not_hex, HasError(ErrorCode::kBrokerBadMasterKey));
  EXPECT_EQ(not_hex.error().detail.find(bad), std::string::npos);
  EXPECT_THAT(LoadMasterKey(dir_ / "absent.key"), HasError(ErrorCode::kBrokerBadMasterKey));
  EXPECT_THAT(LoadMasterKey(dir_), HasError(ErrorCode::kBrokerBadMasterKey));
}

TEST_F(MasterKeyTest, EnvironmentKey) {
  ::unsetenv(kMasterKeyEnv);
  Result<std::optional<SecretBytes>> unset = LoadMasterKeyFromEnvironment();
  ASSERT_THAT(unset, IsOk());
  EXPECT_FALSE(unset->has_value());
  const std::string hex = HexEncode(std::vector<uint8_t>(32, 0x3C));
  ::setenv(kMasterKeyEnv, hex.c_str(), 1);
  Result<std::optional<SecretBytes>> set = LoadMasterKeyFromEnvironment();
  ASSERT_THAT(set, IsOk());
  ASSERT_TRUE(set->has_value());
  EXPECT_EQ(Bytes(**set), std::vector<uint8_t>(32, 0x3C));
  ::setenv(kMasterKeyEnv, "abcd", 1);
  EXPECT_THAT(LoadMasterKeyFromEnvironment(), HasError(ErrorCode::kBrokerBadMasterKey));
  ::unsetenv(kMasterKeyEnv);
  EXPECT_THAT(MasterKeyFromHex(hex), IsOk());
}

TEST_F(MasterKeyTest, CreatedFileIsPrivateLoadsAndIsNeverReplaced) {
  const std::filesystem::path path = dir_ / "master.key";
  ASSERT_THAT(CreateMasterKeyFile(path), IsOk());
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_size, 65);
  Result<SecretBytes> first = LoadMasterKey(path);
  ASSERT_THAT(first, IsOk());
  EXPECT_THAT(CreateMasterKeyFile(path), HasError(ErrorCode::kBrokerBadMasterKey));
  Result<SecretBytes> again = LoadMasterKey(path);
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(Bytes(*first), Bytes(*again));
  // Two created keys differ, and no temporary file is left behind.
  ASSERT_THAT(CreateMasterKeyFile(dir_ / "second.key"), IsOk());
  EXPECT_NE(Bytes(*first), Bytes(*LoadMasterKey(dir_ / "second.key")));
  size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
    (void)entry;
    ++files;
  }
  EXPECT_EQ(files, 2u);
}

}  // namespace
}  // namespace eml::keys
