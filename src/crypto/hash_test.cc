#include "crypto/hash.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/encoding.h"
#include "testing/test_util.h"

namespace eml::crypto {
namespace {

template <size_t N>
std::string HexOf(const std::array<uint8_t, N>& bytes) {
  return HexEncode(bytes);
}

// FIPS 180-4 example "abc" (NIST CSRC examples).
TEST(Sha2Test, AbcVectors) {
  EXPECT_EQ(HexOf(Sha256(AsBytes("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(HexOf(Sha384(AsBytes("abc"))),
            "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed"
            "8086072ba1e7cc2358baeca134c825a7");
  EXPECT_EQ(HexOf(Sha512(AsBytes("abc"))),
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
            "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
}

TEST(Sha2Test, EmptyInput) {
  EXPECT_EQ(HexOf(Sha256({})), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

// FIPS 180-4 two-block example, fed in uneven pieces through the streaming hasher.
TEST(Sha2Test, StreamingMatchesOneShot) {
  const std::string msg = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  Sha256Hasher h256;
  Sha384Hasher h384;
  for (size_t i = 0; i < msg.size(); i += 7) {
    std::string_view part = std::string_view(msg).substr(i, 7);
    h256.Update(AsBytes(part));
    h384.Update(AsBytes(part));
  }
  EXPECT_EQ(HexOf(h256.Finish()),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(h384.Finish(), Sha384(AsBytes(msg)));
  // Finish resets: the next message starts from scratch.
  h256.Update(AsBytes("abc"));
  EXPECT_EQ(h256.Finish(), Sha256(AsBytes("abc")));
  Sha512Hasher h512;
  h512.Update(AsBytes("ab"));
  h512.Update(AsBytes("c"));
  EXPECT_EQ(h512.Finish(), Sha512(AsBytes("abc")));
}

}  // namespace
}  // namespace eml::crypto
