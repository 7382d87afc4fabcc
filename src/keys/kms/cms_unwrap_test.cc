// CMS unwrap against EnvelopedData made by the system `openssl cms` command, which plays the
// part of KMS: RSAES-OAEP-SHA-256 key transport to the recipient certificate and AES-256-CBC.
#include "keys/kms/cms_unwrap.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/secret_bytes.h"
#include "crypto/rsa.h"
#include "testing/test_util.h"

namespace eml::keys::kms {
namespace {

using ::eml::testing::HasError;
using ::eml::testing::IsOk;
using ::eml::testing::ReadFileBytes;
namespace fs = std::filesystem;

constexpr char kOaepSha256[] =
    "-keyopt rsa_padding_mode:oaep -keyopt rsa_oaep_md:sha256 -keyopt rsa_mgf1_md:sha256";

// Runs `command` through the shell; fails the test on a non-zero exit.
void RunShell(const std::string& command) {
  int rc = std::system((command + " 2>/dev/null").c_str());
  ASSERT_EQ(rc, 0) << "command failed: " << command;
}

void WriteFile(const fs::path& path, std::span<const uint8_t> bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good());
}

// One RSA recipient made with the openssl command: certificate plus PKCS#8 private key.
struct Recipient {
  fs::path cert;
  fs::path key_der;
};

class CmsUnwrapTest : public ::testing::Test {
 protected:
  // The recipients are made once per suite: RSA key generation is the slow part.
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::temp_directory_path() / ("eml_cms_test_" + std::to_string(::getpid())));
    fs::create_directories(*dir_);
    MakeRecipient("a", 2048, &a_);
    MakeRecipient("b", 2048, &b_);
    MakeRecipient("big", 3072, &big_);
    plaintext_ = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa,
                  0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06,
                  0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10};
    WriteFile(*dir_ / "plain.bin", plaintext_);
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    fs::remove_all(*dir_, ec);
    delete dir_;
    dir_ = nullptr;
  }

  static void MakeRecipient(const std::string& name, int bits, Recipient* out) {
    fs::path key_pem = *dir_ / (name + "_key.pem");
    out->cert = *dir_ / (name + "_cert.pem");
    out->key_der = *dir_ / (name + "_key.p8");
    RunShell("openssl req -x509 -newkey rsa:" + std::to_string(bits) + " -nodes -keyout " +
             key_pem.string() + " -out " + out->cert.string() + " -subj /CN=enclave -days 1");
    RunShell("openssl pkcs8 -topk8 -nocrypt -outform DER -in " + key_pem.string() + " -out " +
             out->key_der.string());
  }

  crypto::RsaPrivateKey LoadKey(const Recipient& r) {
    std::vector<uint8_t> der = ReadFileBytes(r.key_der);
    auto key = crypto::RsaPrivateKey::FromPkcs8Der(SecretBytes::CopyFrom(der));
    EXPECT_THAT(key, IsOk());
    return std::move(key).value();
  }

  // Encrypt runs `openssl cms -encrypt` on plain.bin to `r` with extra options.
  std::vector<uint8_t> Encrypt(const Recipient& r, const std::string& options) {
    fs::path out = *dir_ / "msg.der";
    RunShell("openssl cms -encrypt -binary -in " + (*dir_ / "plain.bin").string() +
             " -outform DER -out " + out.string() + " -recip " + r.cert.string() + " " + options);
    return ReadFileBytes(out);
  }

  static fs::path* dir_;
  static Recipient a_;
  static Recipient b_;
  static Recipient big_;
  static std::vector<uint8_t> plaintext_;
};

fs::path* CmsUnwrapTest::dir_ = nullptr;
Recipient CmsUnwrapTest::a_;
Recipient CmsUnwrapTest::b_;
Recipient CmsUnwrapTest::big_;
std::vector<uint8_t> CmsUnwrapTest::plaintext_;

std::vector<uint8_t> Reveal(const SecretBytes& s) {
  auto view = s.Reveal(InsecureSecretAccess::Get());
  return {view.begin(), view.end()};
}

TEST_F(CmsUnwrapTest, UnwrapsOaepSha256Aes256Cbc) {
  std::vector<uint8_t> der = Encrypt(a_, std::string(kOaepSha256) + " -aes256");
  auto key = LoadKey(a_);
  auto plain = UnwrapCiphertextForRecipient(der, key);
  ASSERT_THAT(plain, IsOk());
  EXPECT_EQ(Reveal(*plain), plaintext_);

  auto parsed = ParseEnvelopedData(der);
  ASSERT_THAT(parsed, IsOk());
  EXPECT_EQ(parsed->encrypted_key.size(), 256u);
  EXPECT_EQ(parsed->encrypted_content.size(), 48u);  // 32 bytes + one block of padding
}

TEST_F(CmsUnwrapTest, UnwrapsIndefiniteLengthBer) {
  // -stream writes BER with indefinite lengths and a chunked content octet string, as KMS does.
  std::vector<uint8_t> ber = Encrypt(a_, std::string(kOaepSha256) + " -aes256 -stream");
  ASSERT_GE(ber.size(), 2u);
  EXPECT_EQ(ber[1], 0x80) << "expected an indefinite-length outer SEQUENCE";
  auto key = LoadKey(a_);
  auto plain = UnwrapCiphertextForRecipient(ber, key);
  ASSERT_THAT(plain, IsOk());
  EXPECT_EQ(Reveal(*plain), plaintext_);
}

TEST_F(CmsUnwrapTest, UnwrapsSubjectKeyIdentifierRecipient) {
  std::vector<uint8_t> der = Encrypt(a_, std::string(kOaepSha256) + " -aes256 -keyid");
  auto key = LoadKey(a_);
  auto plain = UnwrapCiphertextForRecipient(der, key);
  ASSERT_THAT(plain, IsOk());
  EXPECT_EQ(Reveal(*plain), plaintext_);
}

TEST_F(CmsUnwrapTest, WrongKeyOfSameSizeFailsDecrypt) {
  std::vector<uint8_t> der = Encrypt(a_, std::string(kOaepSha256) + " -aes256");
  auto other = LoadKey(b_);
  EXPECT_THAT(UnwrapCiphertextForRecipient(der, other), HasError(ErrorCode::kCmsDecryptFailed));
}

TEST_F(CmsUnwrapTest, KeyOfOtherSizeIsWrongRecipient) {
  std::vector<uint8_t> der = Encrypt(a_, std::string(kOaepSha256) + " -aes256");
  auto other = LoadKey(big_);
  EXPECT_THAT(UnwrapCiphertextForRecipient(der, other), HasError(ErrorCode::kCmsWrongRecipient));
}

TEST_F(CmsUnwrapTest, Pkcs1V15KeyTransportRefused) {
  std::vector<uint8_t> der = Encrypt(a_, "-aes256");
  auto key = LoadKey(a_);
  EXPECT_THAT(UnwrapCiphertextForRecipient(der, key), HasError(ErrorCode::kCmsBadAlgorithm));
}

TEST_F(CmsUnwrapTest, OaepWithSha1Refused) {
  std::vector<uint8_t> der = Encrypt(a_, "-keyopt rsa_padding_mode:oaep -aes256");
  auto key = LoadKey(a_);
  EXPECT_THAT(UnwrapCiphertextForRecipient(der, key), HasError(ErrorCode::kCmsBadAlgorithm));
}

TEST_F(CmsUnwrapTest, OaepWithMgf1Sha1Refused) {
  std::vector<uint8_t> der =
      Encrypt(a_,
              "-keyopt rsa_padding_mode:oaep -keyopt rsa_oaep_md:sha256 -keyopt rsa_mgf1_md:sha1 "
              "-aes256");
  auto key = LoadKey(a_);
  EXPECT_THAT(UnwrapCiphertextForRecipient(der, key), HasError(ErrorCode::kCmsBadAlgorithm));
}

TEST_F(CmsUnwrapTest, OaepWithLabelRefused) {
  std::vector<uint8_t> der =
      Encrypt(a_, std::string(kOaepSha256) + " -keyopt rsa_oaep_label:0102 -aes256");
  auto key = LoadKey(a_);
  EXPECT_THAT(UnwrapCiphertextForRecipient(der, key), HasError(ErrorCode::kCmsBadAlgorithm));
}

TEST_F(CmsUnwrapTest, Aes128ContentRefused) {
  std::vector<uint8_t> der = Encrypt(a_, std::string(kOaepSha256) + " -aes128");
  auto key = LoadKey(a_);
  EXPECT_THAT(UnwrapCiphertextForRecipient(der, key), HasError(ErrorCode::kCmsBadAlgorithm));
}

TEST_F(CmsUnwrapTest, TruncatedInputIsMalformed) {
  std::vector<uint8_t> der = Encrypt(a_, std::string(kOaepSha256) + " -aes256");
  auto key = LoadKey(a_);
  for (size_t keep : {size_t{0}, size_t{1}, size_t{10}, der.size() / 2, der.size() - 1}) {
    std::vector<uint8_t> cut(der.begin(), der.begin() + static_cast<std::ptrdiff_t>(keep));
    EXPECT_THAT(UnwrapCiphertextForRecipient(cut, key), HasError(ErrorCode::kCmsMalformed))
        << "kept " << keep;
  }
}

TEST_F(CmsUnwrapTest, TrailingBytesAreMalformed) {
  std::vector<uint8_t> der = Encrypt(a_, std::string(kOaepSha256) + " -aes256");
  der.push_back(0x00);
  auto key = LoadKey(a_);
  EXPECT_THAT(UnwrapCiphertextForRecipient(der, key), HasError(ErrorCode::kCmsMalformed));
}

TEST_F(CmsUnwrapTest, OversizedInputIsMalformed) {
  std::vector<uint8_t> der = Encrypt(a_, std::string(kOaepSha256) + " -aes256");
  auto key = LoadKey(a_);
  CmsLimits small;
  small.max_input_bytes = der.size() - 1;
  EXPECT_THAT(UnwrapCiphertextForRecipient(der, key, small), HasError(ErrorCode::kCmsMalformed));
  std::vector<uint8_t> huge(kMaxCmsBytes + 1, 0x30);
  EXPECT_THAT(ParseEnvelopedData(huge), HasError(ErrorCode::kCmsMalformed));
}

TEST_F(CmsUnwrapTest, FlippedPaddingByteFailsDecrypt) {
  std::vector<uint8_t> der = Encrypt(a_, std::string(kOaepSha256) + " -aes256");
  // The DER ends with the 48-byte encrypted content; its last block is all padding (0x10 x 16).
  // Flipping the low bit of the previous block's last byte turns the final pad byte into 0x11,
  // which CBC unpadding must reject.
  der[der.size() - 17] ^= 0x01;
  auto key = LoadKey(a_);
  EXPECT_THAT(UnwrapCiphertextForRecipient(der, key), HasError(ErrorCode::kCmsDecryptFailed));
}

TEST_F(CmsUnwrapTest, FlippedEncryptedKeyFailsDecrypt) {
  std::vector<uint8_t> der = Encrypt(a_, std::string(kOaepSha256) + " -aes256");
  auto parsed = ParseEnvelopedData(der);
  ASSERT_THAT(parsed, IsOk());
  // Locate the encrypted key inside the DER and flip one bit in its middle.
  auto it = std::search(der.begin(), der.end(), parsed->encrypted_key.begin(),
                        parsed->encrypted_key.end());
  ASSERT_NE(it, der.end());
  *(it + 128) ^= 0x20;
  auto key = LoadKey(a_);
  EXPECT_THAT(UnwrapCiphertextForRecipient(der, key), HasError(ErrorCode::kCmsDecryptFailed));
}

TEST_F(CmsUnwrapTest, OtherContentTypeIsMalformed) {
  // A signed-data message (id-signedData) is CMS but not EnvelopedData.
  RunShell("openssl cms -sign -binary -in " + (*dir_ / "plain.bin").string() + " -signer " +
           a_.cert.string() + " -inkey " + (*dir_ / "a_key.pem").string() + " -outform DER -out " +
           (*dir_ / "signed.der").string());
  std::vector<uint8_t> der = ReadFileBytes(*dir_ / "signed.der");
  EXPECT_THAT(ParseEnvelopedData(der), HasError(ErrorCode::kCmsMalformed));
}

}  // namespace
}  // namespace eml::keys::kms
