#include "crypto/stream_aead.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "crypto/hash.h"
#include "crypto/random.h"
#include "testing/test_util.h"

namespace eml::crypto {
namespace {

using ::eml::testing::HasError;
using ::eml::testing::Hex;
using ::eml::testing::IsOk;

constexpr uint32_t kSeg = 64;
constexpr size_t kChunk = kSeg + kStreamTagSize;

SecretBytes Key(uint8_t fill) { return SecretBytes::CopyFrom(std::vector<uint8_t>(32, fill)); }

std::vector<uint8_t> Pattern(size_t n) {
  std::vector<uint8_t> out(n);
  for (size_t i = 0; i < n; ++i) {
    out[i] = static_cast<uint8_t>(i * 7 + 3);
  }
  return out;
}

std::vector<uint8_t> Encrypt(const SecretBytes& key, const std::vector<uint8_t>& plain,
                             uint32_t segment_size = kSeg) {
  SpanSource source(plain);
  VectorSink sink;
  EncryptOptions options;
  options.segment_size = segment_size;
  EXPECT_THAT(StreamEncrypt(key, source, sink, options), IsOk());
  return sink.bytes();
}

struct Decrypted {
  Result<uint64_t> result;
  std::vector<uint8_t> plain;
};

Decrypted Decrypt(const SecretBytes& key, std::span<const uint8_t> ct,
                  std::optional<uint64_t> expected = std::nullopt) {
  SpanSource source(ct);
  VectorSink sink;
  DecryptOptions options;
  options.expected_plaintext_size = expected;
  Result<uint64_t> r = StreamDecrypt(key, source, sink, options);
  return {std::move(r), sink.bytes()};
}

// Offset of segment i in the encrypted file.
size_t SegmentOffset(size_t i) { return kStreamHeaderSize + i * kChunk; }

// ---- Known-answer vectors (tests/vectors/stream_aead, independent Python generator).

TEST(StreamAeadTest, KnownAnswerVectors) {
  const nlohmann::json kat =
      ::eml::testing::ReadJson(::eml::testing::SourcePath("tests/vectors/stream_aead/kat.json"));
  size_t run = 0;
  for (const nlohmann::json& c : kat["cases"]) {
    SCOPED_TRACE(c["name"].get<std::string>());
    EXPECT_EQ(c.size(), 7u) << "a case has a field this driver does not read";
    const SecretBytes key = SecretBytes::CopyFrom(Hex(c["key_hex"]));
    const std::vector<uint8_t> plain = Hex(c["plaintext_hex"]);
    const std::vector<uint8_t> expected = Hex(c["ciphertext_hex"]);
    EncryptOptions options;
    options.segment_size = c["segment_size"].get<uint32_t>();
    const std::vector<uint8_t> fid = Hex(c["file_id_hex"]);
    const std::vector<uint8_t> pre = Hex(c["nonce_prefix_hex"]);
    options.file_id.emplace();
    std::copy(fid.begin(), fid.end(), options.file_id->begin());
    options.nonce_prefix.emplace();
    std::copy(pre.begin(), pre.end(), options.nonce_prefix->begin());
    SpanSource source(plain);
    VectorSink sink;
    Result<StreamHeader> header = StreamEncrypt(key, source, sink, options);
    ASSERT_THAT(header, IsOk());
    EXPECT_EQ(sink.bytes(), expected);
    Result<uint64_t> size = StreamCiphertextSize(plain.size(), options.segment_size);
    ASSERT_THAT(size, IsOk());
    EXPECT_EQ(*size, expected.size());

    Decrypted d = Decrypt(key, expected);
    ASSERT_THAT(d.result, IsOk());
    EXPECT_EQ(d.plain, plain);
    Decrypted sized = Decrypt(key, expected, plain.size());
    ASSERT_THAT(sized.result, IsOk());
    EXPECT_EQ(sized.plain, plain);
    std::vector<uint8_t> buffer(plain.size());
    SpanSource again(expected);
    EXPECT_THAT(StreamDecryptToBuffer(key, again, buffer), IsOk());
    EXPECT_EQ(buffer, plain);
    ++run;
  }
  EXPECT_EQ(run, kat["count"].get<size_t>());
  EXPECT_EQ(run, 9u);
}

TEST(StreamAeadTest, RoundTripsManySizes) {
  const SecretBytes key = Key(0x11);
  for (uint32_t seg : {64u, 100u, 1024u}) {
    for (size_t n : {size_t{0}, size_t{1}, size_t{seg - 1}, size_t{seg}, size_t{seg + 1},
                     size_t{3 * seg}, size_t{5 * seg + 7}}) {
      SCOPED_TRACE(std::to_string(seg) + "/" + std::to_string(n));
      const std::vector<uint8_t> plain = Pattern(n);
      const std::vector<uint8_t> ct = Encrypt(key, plain, seg);
      EXPECT_EQ(ct.size(), *StreamCiphertextSize(n, seg));
      Decrypted d = Decrypt(key, ct);
      ASSERT_THAT(d.result, IsOk());
      EXPECT_EQ(*d.result, n);
      EXPECT_EQ(d.plain, plain);
    }
  }
}

TEST(StreamAeadTest, FreshNoncePrefixAndFileIdPerEncryption) {
  const SecretBytes key = Key(0x12);
  const std::vector<uint8_t> plain = Pattern(10);
  EXPECT_NE(Encrypt(key, plain), Encrypt(key, plain));
}

TEST(StreamAeadTest, ProgressReportsEachSegment) {
  const SecretBytes key = Key(0x13);
  const std::vector<uint8_t> plain = Pattern(150);
  std::vector<uint64_t> seen;
  EncryptOptions options;
  options.segment_size = kSeg;
  options.progress = [&](uint64_t done) { seen.push_back(done); };
  SpanSource source(plain);
  VectorSink sink;
  ASSERT_THAT(StreamEncrypt(key, source, sink, options), IsOk());
  EXPECT_EQ(seen, (std::vector<uint64_t>{64, 128, 150}));
}

// ---- Header.

TEST(StreamAeadTest, HeaderTruncated) {
  const std::vector<uint8_t> ct = Encrypt(Key(1), Pattern(10));
  EXPECT_THAT(Decrypt(Key(1), std::span(ct).first(67)).result,
              HasError(ErrorCode::kStreamTruncated));
  EXPECT_THAT(Decrypt(Key(1), {}).result, HasError(ErrorCode::kStreamTruncated));
}

TEST(StreamAeadTest, HeaderBadMagic) {
  std::vector<uint8_t> ct = Encrypt(Key(1), Pattern(10));
  ct[0] ^= 0x01;
  EXPECT_THAT(Decrypt(Key(1), ct).result, HasError(ErrorCode::kStreamBadMagic));
}

TEST(StreamAeadTest, HeaderUnsupportedVersionOrSuite) {
  for (size_t offset : {4u, 5u}) {
    std::vector<uint8_t> ct = Encrypt(Key(1), Pattern(10));
    ct[offset] = 2;
    EXPECT_THAT(Decrypt(Key(1), ct).result, HasError(ErrorCode::kStreamUnsupportedVersion));
  }
}

TEST(StreamAeadTest, HeaderReservedBytesOrSegmentSize) {
  for (size_t offset : {6u, 7u, 35u}) {
    std::vector<uint8_t> ct = Encrypt(Key(1), Pattern(10));
    ct[offset] = 1;
    EXPECT_THAT(Decrypt(Key(1), ct).result, HasError(ErrorCode::kStreamBadHeader));
  }
  std::vector<uint8_t> ct = Encrypt(Key(1), Pattern(10));
  ct[11] = 63;  // segment size 63 < kMinSegmentSize
  EXPECT_THAT(Decrypt(Key(1), ct).result, HasError(ErrorCode::kStreamBadHeader));
  // A 32 MiB segment size is refused under the default 16 MiB limit (bounded memory).
  ct = Encrypt(Key(1), Pattern(10));
  ct[8] = 0x02;
  ct[11] = 0x40;
  EXPECT_THAT(Decrypt(Key(1), ct).result, HasError(ErrorCode::kStreamBadHeader));
}

TEST(StreamAeadTest, WrongKey) {
  const std::vector<uint8_t> ct = Encrypt(Key(1), Pattern(200));
  Decrypted d = Decrypt(Key(2), ct);
  EXPECT_THAT(d.result, HasError(ErrorCode::kStreamWrongKey));
  EXPECT_TRUE(d.plain.empty());
}

TEST(StreamAeadTest, BadKeyLength) {
  const std::vector<uint8_t> plain = Pattern(10);
  SpanSource source(plain);
  VectorSink sink;
  const SecretBytes short_key = SecretBytes::CopyFrom(std::vector<uint8_t>(16, 1));
  EXPECT_THAT(StreamEncrypt(short_key, source, sink), HasError(ErrorCode::kCryptoBadKeyLength));
  EXPECT_THAT(Decrypt(short_key, Encrypt(Key(1), plain)).result,
              HasError(ErrorCode::kCryptoBadKeyLength));
}

// Every byte of the header after the parsed fields (segment size that stays valid, file id,
// nonce prefix, header tag) is authenticated: a flip is HEADER_AUTH_FAILED; a flip in the key
// check value reads as a wrong key.
TEST(StreamAeadTest, HeaderBitFlipsAreCaught) {
  const std::vector<uint8_t> good = Encrypt(Key(1), Pattern(200));
  // Byte 8 would push the segment size past the limit (BAD_HEADER above); 9..11 flip its low
  // bit, keeping it in range.
  for (size_t offset = 9; offset < kStreamHeaderSize; ++offset) {
    if (offset == 35) {
      continue;  // reserved byte: kStreamBadHeader above
    }
    SCOPED_TRACE(offset);
    std::vector<uint8_t> ct = good;
    ct[offset] ^= 0x01;
    const ErrorCode want = (offset >= 36 && offset < 52) ? ErrorCode::kStreamWrongKey
                                                         : ErrorCode::kStreamHeaderAuthFailed;
    Decrypted d = Decrypt(Key(1), ct);
    EXPECT_THAT(d.result, HasError(want));
    EXPECT_TRUE(d.plain.empty());
  }
}

TEST(StreamAeadTest, UnexpectedFileId) {
  const std::vector<uint8_t> ct = Encrypt(Key(1), Pattern(10));
  SpanSource source(ct);
  VectorSink sink;
  DecryptOptions options;
  options.expected_file_id = std::array<uint8_t, kStreamFileIdSize>{};
  EXPECT_THAT(StreamDecrypt(Key(1), source, sink, options),
              HasError(ErrorCode::kStreamHeaderAuthFailed));
}

// ---- Segments: each failure is found at its segment; earlier segments were released intact.

TEST(StreamAeadTest, BitFlipInAnySegment) {
  const std::vector<uint8_t> plain = Pattern(5 * kSeg + 10);
  const std::vector<uint8_t> good = Encrypt(Key(1), plain);
  for (size_t segment = 0; segment < 6; ++segment) {
    for (size_t within : {size_t{0}, size_t{9}, size_t{kSeg + 15}}) {
      const size_t offset = SegmentOffset(segment) + within;
      if (offset >= good.size()) {
        continue;
      }
      SCOPED_TRACE(offset);
      std::vector<uint8_t> ct = good;
      ct[offset] ^= 0x80;
      for (std::optional<uint64_t> expected :
           {std::optional<uint64_t>(), std::optional<uint64_t>(plain.size())}) {
        Decrypted d = Decrypt(Key(1), ct, expected);
        EXPECT_THAT(d.result, HasError(ErrorCode::kStreamSegmentAuthFailed));
        EXPECT_EQ(d.plain.size(), segment * kSeg);
        EXPECT_TRUE(std::equal(d.plain.begin(), d.plain.end(), plain.begin()));
      }
    }
  }
}

TEST(StreamAeadTest, ReorderedSegments) {
  const std::vector<uint8_t> good = Encrypt(Key(1), Pattern(5 * kSeg));
  std::vector<uint8_t> ct = good;
  std::swap_ranges(ct.begin() + static_cast<long>(SegmentOffset(1)),
                   ct.begin() + static_cast<long>(SegmentOffset(2)),
                   ct.begin() + static_cast<long>(SegmentOffset(2)));
  Decrypted d = Decrypt(Key(1), ct);
  EXPECT_THAT(d.result, HasError(ErrorCode::kStreamSegmentReordered));
  EXPECT_EQ(d.plain.size(), kSeg);
  // The final segment moved to the front is found too (its last flag is tried).
  ct = good;
  std::swap_ranges(ct.begin() + static_cast<long>(SegmentOffset(0)),
                   ct.begin() + static_cast<long>(SegmentOffset(1)),
                   ct.begin() + static_cast<long>(SegmentOffset(4)));
  EXPECT_THAT(Decrypt(Key(1), ct, 5 * kSeg).result, HasError(ErrorCode::kStreamSegmentReordered));
}

TEST(StreamAeadTest, DuplicatedSegment) {
  const std::vector<uint8_t> good = Encrypt(Key(1), Pattern(4 * kSeg));
  // Segment 1 copied over segment 2.
  std::vector<uint8_t> ct = good;
  std::copy(good.begin() + static_cast<long>(SegmentOffset(1)),
            good.begin() + static_cast<long>(SegmentOffset(2)),
            ct.begin() + static_cast<long>(SegmentOffset(2)));
  Decrypted d = Decrypt(Key(1), ct);
  EXPECT_THAT(d.result, HasError(ErrorCode::kStreamSegmentDuplicated));
  EXPECT_EQ(d.plain.size(), 2 * kSeg);
  // Segment 0 inserted again after itself.
  ct = good;
  ct.insert(ct.begin() + static_cast<long>(SegmentOffset(1)),
            good.begin() + static_cast<long>(SegmentOffset(0)),
            good.begin() + static_cast<long>(SegmentOffset(1)));
  EXPECT_THAT(Decrypt(Key(1), ct).result, HasError(ErrorCode::kStreamSegmentDuplicated));
}

TEST(StreamAeadTest, TruncatedAtSegmentBoundary) {
  const std::vector<uint8_t> good = Encrypt(Key(1), Pattern(4 * kSeg + 5));
  for (size_t keep : {size_t{1}, size_t{2}, size_t{4}}) {
    SCOPED_TRACE(keep);
    Decrypted d = Decrypt(Key(1), std::span(good).first(SegmentOffset(keep)));
    EXPECT_THAT(d.result, HasError(ErrorCode::kStreamTruncated));
    EXPECT_EQ(d.plain.size(), (keep - 1) * kSeg);
  }
  // Header only: no segment at all.
  EXPECT_THAT(Decrypt(Key(1), std::span(good).first(kStreamHeaderSize)).result,
              HasError(ErrorCode::kStreamTruncated));
}

TEST(StreamAeadTest, TruncatedAnywhereWithKnownSize) {
  const std::vector<uint8_t> plain = Pattern(4 * kSeg + 5);
  const std::vector<uint8_t> good = Encrypt(Key(1), plain);
  for (size_t cut :
       {kStreamHeaderSize + 1, SegmentOffset(1) + 3, SegmentOffset(4) + 20, good.size() - 1}) {
    SCOPED_TRACE(cut);
    EXPECT_THAT(Decrypt(Key(1), std::span(good).first(cut), plain.size()).result,
                HasError(ErrorCode::kStreamTruncated));
  }
  // Without the size, a cut inside a segment is a segment that fails authentication.
  EXPECT_THAT(Decrypt(Key(1), std::span(good).first(SegmentOffset(1) + 30)).result,
              HasError(ErrorCode::kStreamSegmentAuthFailed));
}

TEST(StreamAeadTest, TrailingDataAfterFinalSegment) {
  // A full-size final segment followed by anything.
  const std::vector<uint8_t> full = Encrypt(Key(1), Pattern(3 * kSeg));
  std::vector<uint8_t> ct = full;
  ct.push_back(0);
  EXPECT_THAT(Decrypt(Key(1), ct).result, HasError(ErrorCode::kStreamTrailingData));
  ct = full;
  ct.insert(ct.end(), full.begin() + static_cast<long>(SegmentOffset(0)),
            full.begin() + static_cast<long>(SegmentOffset(1)));
  EXPECT_THAT(Decrypt(Key(1), ct).result, HasError(ErrorCode::kStreamTrailingData));
  // With the plaintext size known, any extension of any file.
  const std::vector<uint8_t> plain = Pattern(3 * kSeg + 9);
  ct = Encrypt(Key(1), plain);
  ct.push_back(0x55);
  EXPECT_THAT(Decrypt(Key(1), ct, plain.size()).result, HasError(ErrorCode::kStreamTrailingData));
  // A manifest size that ends the stream at a segment the file does not mark final.
  EXPECT_THAT(Decrypt(Key(1), Encrypt(Key(1), Pattern(4 * kSeg)), 3 * kSeg).result,
              HasError(ErrorCode::kStreamTrailingData));
}

TEST(StreamAeadTest, TooManySegments) {
  EXPECT_THAT(StreamCiphertextSize((uint64_t{1} << 32) * kSeg + 1, kSeg),
              HasError(ErrorCode::kStreamTooLarge));
  EXPECT_THAT(StreamCiphertextSize((uint64_t{1} << 32) * kSeg, kSeg), IsOk());
  // A manifest-given size that needs more segments than a stream can have.
  const std::vector<uint8_t> ct = Encrypt(Key(1), Pattern(10));
  EXPECT_THAT(Decrypt(Key(1), ct, (uint64_t{1} << 32) * kSeg + 1).result,
              HasError(ErrorCode::kStreamTooLarge));
}

TEST(StreamAeadTest, DecryptToBufferZeroesOnError) {
  const std::vector<uint8_t> plain = Pattern(3 * kSeg);
  std::vector<uint8_t> ct = Encrypt(Key(1), plain);
  ct[SegmentOffset(2) + 1] ^= 1;
  std::vector<uint8_t> out(plain.size(), 0xAA);
  SpanSource source(ct);
  EXPECT_THAT(StreamDecryptToBuffer(Key(1), source, out),
              HasError(ErrorCode::kStreamSegmentAuthFailed));
  EXPECT_EQ(out, std::vector<uint8_t>(plain.size(), 0));
  // A buffer larger than the plaintext: the stream ends before the expected final segment.
  const std::vector<uint8_t> good = Encrypt(Key(1), plain);
  std::vector<uint8_t> large(plain.size() + 1, 0xAA);
  SpanSource again(good);
  EXPECT_THAT(StreamDecryptToBuffer(Key(1), again, large), HasError(ErrorCode::kStreamTruncated));
  EXPECT_EQ(large, std::vector<uint8_t>(large.size(), 0));
}

TEST(StreamAeadTest, SegmentCipherOpensOneSegment) {
  const std::vector<uint8_t> plain = Pattern(3 * kSeg + 5);
  const std::vector<uint8_t> ct = Encrypt(Key(1), plain);
  Result<std::unique_ptr<StreamSegmentCipher>> cipher =
      StreamSegmentCipher::New(Key(1), std::span(ct).first(kStreamHeaderSize));
  ASSERT_THAT(cipher, IsOk());
  EXPECT_EQ((*cipher)->header().segment_size, kSeg);
  std::vector<uint8_t> out(kSeg);
  ASSERT_THAT(
      (*cipher)->OpenSegment(2, false, std::span(ct).subspan(SegmentOffset(2), kChunk), out),
      IsOk());
  EXPECT_TRUE(std::equal(out.begin(), out.end(), plain.begin() + 2 * kSeg));
  std::vector<uint8_t> last(5);
  EXPECT_THAT((*cipher)->OpenSegment(3, true, std::span(ct).subspan(SegmentOffset(3)), last),
              IsOk());
  EXPECT_THAT((*cipher)->OpenSegment(3, false, std::span(ct).subspan(SegmentOffset(3)), last),
              HasError(ErrorCode::kStreamSegmentAuthFailed));
  EXPECT_EQ(last, std::vector<uint8_t>(5, 0));
  EXPECT_THAT((*cipher)->OpenSegment(1, false, std::span(ct).subspan(SegmentOffset(1), 10), out),
              HasError(ErrorCode::kInvalidArgument));
}

// ---- Bounded memory: a few hundred MiB pass through with a flat peak RSS.

uint64_t PeakRssKiB() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) {
      return std::stoull(line.substr(6));
    }
  }
  return 0;
}

// ResetPeakRss: writing 5 to clear_refs resets VmHWM to the current RSS (Linux >= 4.0).
bool ResetPeakRss() {
  std::ofstream clear("/proc/self/clear_refs");
  clear << "5";
  clear.flush();
  return clear.good();
}

class HashingSink final : public StreamSink {
 public:
  Status Write(std::span<const uint8_t> bytes) override {
    hasher_.Update(bytes);
    size_ += bytes.size();
    return OkStatus();
  }
  Sha256Hasher hasher_;
  uint64_t size_ = 0;
};

// Encrypts a 256 MiB sparse file into a pipe while another thread decrypts from the pipe (no
// disk traffic for the ciphertext): the peak RSS of the process must grow by a few MiB only.
TEST(StreamAeadTest, LargeSparseFileKeepsPeakRssFlat) {
  constexpr uint64_t kSize = uint64_t{256} << 20;
  const std::string plain_path =
      (std::filesystem::temp_directory_path() / ("eml-stream-sparse-" + std::to_string(::getpid())))
          .string();
  {
    const int fd = ::open(plain_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::ftruncate(fd, static_cast<off_t>(kSize)), 0);
    ::close(fd);
  }
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  const SecretBytes key = Key(7);
  Sha256Hasher zeros;  // digest of the all-zero plaintext, computed before the measurement
  {
    const std::vector<uint8_t> block(1 << 20, 0);
    for (uint64_t i = 0; i < kSize / block.size(); ++i) {
      zeros.Update(block);
    }
  }
  const std::array<uint8_t, kSha256Size> expected_digest = zeros.Finish();
  ASSERT_TRUE(ResetPeakRss()) << "cannot reset VmHWM";
  const uint64_t before_kib = PeakRssKiB();

  Status encrypted;
  std::thread writer([&] {
    const int in = ::open(plain_path.c_str(), O_RDONLY);
    FdSource source(in);
    FdSink sink(pipe_fds[1]);
    encrypted = StreamEncrypt(key, source, sink).has_value()
                    ? OkStatus()
                    : Status(Error{ErrorCode::kInternal, "encrypt failed"});
    ::close(in);
    ::close(pipe_fds[1]);
  });
  FdSource source(pipe_fds[0]);
  HashingSink sink;
  DecryptOptions options;
  options.expected_plaintext_size = kSize;
  Result<uint64_t> n = StreamDecrypt(key, source, sink, options);
  writer.join();
  ::close(pipe_fds[0]);
  const uint64_t growth_kib = PeakRssKiB() - before_kib;
  std::remove(plain_path.c_str());

  EXPECT_THAT(encrypted, IsOk());
  ASSERT_THAT(n, IsOk());
  EXPECT_EQ(sink.size_, kSize);
  EXPECT_EQ(sink.hasher_.Finish(), expected_digest);
  // One plaintext and one ciphertext segment each way (1 MiB each) plus thread stacks.
  EXPECT_LT(growth_kib, 24u * 1024) << "peak RSS grew by " << growth_kib << " KiB";
  RecordProperty("peak_rss_growth_kib", std::to_string(growth_kib));
  std::cout << "peak RSS growth: " << growth_kib << " KiB for " << (kSize >> 20) << " MiB\n";
}

}  // namespace
}  // namespace eml::crypto
