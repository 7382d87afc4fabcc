#include "crypto/stream_aead.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>

#include "common/byte_reader.h"
#include "common/byte_writer.h"
#include "common/encoding.h"
#include "crypto/aead.h"
#include "crypto/hkdf.h"
#include "crypto/hmac.h"
#include "crypto/random.h"

namespace eml::crypto {
namespace {

constexpr std::array<uint8_t, 4> kMagic = {'E', 'M', 'L', 'S'};
constexpr size_t kHeaderMacInputSize = 52;  // header bytes covered by header_tag
constexpr std::string_view kKeyCheckLabel = "EphemeralML STREAM v1 key check";
constexpr std::string_view kKeysInfo = "EphemeralML STREAM v1 keys";
constexpr uint64_t kMaxSegments = uint64_t{1} << 32;

Error Err(ErrorCode code, std::string detail) { return Error{code, std::move(detail)}; }

std::string SegmentName(uint64_t index) { return "segment " + std::to_string(index); }

// ReadFull reads until `out` is full or the source ends; returns the count.
Result<size_t> ReadFull(StreamSource& source, std::span<uint8_t> out) {
  size_t done = 0;
  while (done < out.size()) {
    EML_ASSIGN_OR_RETURN(size_t n, source.Read(out.subspan(done)));
    if (n == 0) {
      break;
    }
    done += n;
  }
  return done;
}

std::array<uint8_t, Aead::kNonceSize> SegmentNonce(
    const std::array<uint8_t, kStreamNoncePrefixSize>& prefix, uint32_t index, bool last) {
  std::array<uint8_t, Aead::kNonceSize> nonce{};
  ByteWriter w = ByteWriter::Fixed(nonce.size());
  w.PutBytes(prefix);
  w.PutU32Be(index);
  w.PutU8(last ? 1 : 0);
  std::optional<std::vector<uint8_t>> bytes = std::move(w).Finish();
  EML_CHECK(bytes.has_value() && bytes->size() == nonce.size());
  std::copy(bytes->begin(), bytes->end(), nonce.begin());
  return nonce;
}

std::array<uint8_t, kStreamKeyCheckSize> KeyCheck(const SecretBytes& key) {
  const std::array<uint8_t, kHmacSha256Size> mac = HmacSha256(key, AsBytes(kKeyCheckLabel));
  std::array<uint8_t, kStreamKeyCheckSize> out{};
  std::copy_n(mac.begin(), out.size(), out.begin());
  return out;
}

// FileKeys: the segment key and header MAC key of one file.
struct FileKeys {
  SecretBytes segment_key;
  SecretBytes header_mac_key;
};

Result<FileKeys> DeriveFileKeys(const SecretBytes& key, const StreamHeader& header) {
  std::array<uint8_t, kStreamFileIdSize + kStreamNoncePrefixSize> salt{};
  std::copy(header.file_id.begin(), header.file_id.end(), salt.begin());
  std::copy(header.nonce_prefix.begin(), header.nonce_prefix.end(),
            salt.begin() + kStreamFileIdSize);
  EML_ASSIGN_OR_RETURN(SecretBytes okm, HkdfSha256(salt, key, AsBytes(kKeysInfo), 64));
  const std::span<const uint8_t> raw = okm.Reveal(InsecureSecretAccess::Get());
  return FileKeys{SecretBytes::CopyFrom(raw.first(32)), SecretBytes::CopyFrom(raw.subspan(32))};
}

std::array<uint8_t, kStreamTagSize> HeaderTag(const SecretBytes& mac_key,
                                              std::span<const uint8_t> header_prefix) {
  const std::array<uint8_t, kHmacSha256Size> mac = HmacSha256(mac_key, header_prefix);
  std::array<uint8_t, kStreamTagSize> out{};
  std::copy_n(mac.begin(), out.size(), out.begin());
  return out;
}

// SerializeHeaderPrefix writes the 52 bytes the header tag covers.
std::vector<uint8_t> SerializeHeaderPrefix(const StreamHeader& h) {
  ByteWriter w = ByteWriter::Fixed(kHeaderMacInputSize);
  w.PutBytes(kMagic);
  w.PutU8(kStreamVersion);
  w.PutU8(kStreamSuiteChaCha20Poly1305);
  w.PutU16Be(0);
  w.PutU32Be(h.segment_size);
  w.PutBytes(h.file_id);
  w.PutBytes(h.nonce_prefix);
  w.PutU8(0);
  w.PutBytes(h.key_check);
  std::optional<std::vector<uint8_t>> out = std::move(w).Finish();
  EML_CHECK(out.has_value() && out->size() == kHeaderMacInputSize);
  return *std::move(out);
}

Status CheckKey(const SecretBytes& key) {
  if (key.size() != kStreamKeySize) {
    return Err(ErrorCode::kCryptoBadKeyLength, "stream key must be 32 bytes");
  }
  return OkStatus();
}

}  // namespace

// Lets the free functions reach StreamSegmentCipher's private constructor.
class StreamSegmentCipherFactory {
 public:
  static std::unique_ptr<StreamSegmentCipher> Make(StreamHeader header,
                                                   std::array<uint8_t, kStreamHeaderSize> bytes,
                                                   std::unique_ptr<Aead> aead) {
    return std::unique_ptr<StreamSegmentCipher>(
        new StreamSegmentCipher(header, bytes, std::move(aead)));
  }
};

Result<StreamHeader> ParseStreamHeader(std::span<const uint8_t> bytes, uint32_t max_segment_size) {
  ByteReader r(bytes);
  ByteReader h;
  if (!r.ReadSub(kStreamHeaderSize, &h)) {
    return Err(ErrorCode::kStreamTruncated, "input shorter than the 68-byte stream header");
  }
  std::array<uint8_t, 4> magic{};
  uint8_t version = 0;
  uint8_t suite = 0;
  uint16_t reserved16 = 0;
  uint8_t reserved8 = 0;
  StreamHeader out;
  // Fixed-size reads on a 68-byte sub-reader cannot fail.
  EML_CHECK(h.CopyBytes(magic) && h.ReadU8(&version) && h.ReadU8(&suite) &&
            h.ReadU16Be(&reserved16) && h.ReadU32Be(&out.segment_size) &&
            h.CopyBytes(out.file_id) && h.CopyBytes(out.nonce_prefix) && h.ReadU8(&reserved8) &&
            h.CopyBytes(out.key_check) && h.CopyBytes(out.header_tag) && h.empty());
  if (magic != kMagic) {
    return Err(ErrorCode::kStreamBadMagic, "not an EML STREAM file (magic)");
  }
  if (version != kStreamVersion || suite != kStreamSuiteChaCha20Poly1305) {
    return Err(ErrorCode::kStreamUnsupportedVersion,
               "stream version " + std::to_string(version) + " suite " + std::to_string(suite));
  }
  if (reserved16 != 0 || reserved8 != 0) {
    return Err(ErrorCode::kStreamBadHeader, "stream header reserved bytes are not zero");
  }
  const uint32_t max_size = std::min(max_segment_size, kAbsoluteMaxSegmentSize);
  if (out.segment_size < kMinSegmentSize || out.segment_size > max_size) {
    return Err(ErrorCode::kStreamBadHeader, "segment size " + std::to_string(out.segment_size) +
                                                " outside [" + std::to_string(kMinSegmentSize) +
                                                ", " + std::to_string(max_size) + "]");
  }
  return out;
}

Result<uint64_t> StreamCiphertextSize(uint64_t plaintext_size, uint32_t segment_size) {
  if (segment_size < kMinSegmentSize || segment_size > kAbsoluteMaxSegmentSize) {
    return Err(ErrorCode::kInvalidArgument, "segment size out of range");
  }
  const uint64_t segments =
      plaintext_size == 0 ? 1
                          : plaintext_size / segment_size + (plaintext_size % segment_size != 0);
  if (segments > kMaxSegments) {
    return Err(ErrorCode::kStreamTooLarge, "more than 2^32 segments");
  }
  // segments * 16 <= 2^36 and plaintext_size < 2^32 * 64 MiB: no overflow.
  return kStreamHeaderSize + plaintext_size + segments * kStreamTagSize;
}

Result<size_t> SpanSource::Read(std::span<uint8_t> out) {
  const size_t n = std::min(out.size(), data_.size());
  ByteReader r(data_);
  EML_CHECK(r.CopyBytes(out.first(n)));
  data_ = r.remaining();
  return n;
}

Status VectorSink::Write(std::span<const uint8_t> bytes) {
  bytes_.insert(bytes_.end(), bytes.begin(), bytes.end());
  return OkStatus();
}

Result<size_t> FdSource::Read(std::span<uint8_t> out) {
  size_t done = 0;
  while (done < out.size()) {
    const std::span<uint8_t> rest = out.subspan(done);
    const ssize_t n = ::read(fd_, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return Err(ErrorCode::kIoError, std::string("read: ") + std::strerror(errno));
    }
    if (n == 0) {
      break;
    }
    done += static_cast<size_t>(n);
  }
  return done;
}

Status FdSink::Write(std::span<const uint8_t> bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const std::span<const uint8_t> rest = bytes.subspan(done);
    const ssize_t n = ::write(fd_, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return Err(ErrorCode::kIoError, std::string("write: ") + std::strerror(errno));
    }
    done += static_cast<size_t>(n);
  }
  return OkStatus();
}

Result<StreamHeader> StreamEncrypt(const SecretBytes& key, StreamSource& source, StreamSink& sink,
                                   const EncryptOptions& options) {
  EML_RETURN_IF_ERROR(CheckKey(key));
  if (options.segment_size < kMinSegmentSize || options.segment_size > kAbsoluteMaxSegmentSize) {
    return Err(ErrorCode::kInvalidArgument, "segment size out of range");
  }
  StreamHeader header;
  header.segment_size = options.segment_size;
  if (options.file_id.has_value()) {
    header.file_id = *options.file_id;
  } else {
    EML_RETURN_IF_ERROR(RandomBytes(header.file_id));
  }
  if (options.nonce_prefix.has_value()) {
    header.nonce_prefix = *options.nonce_prefix;
  } else {
    EML_RETURN_IF_ERROR(RandomBytes(header.nonce_prefix));
  }
  header.key_check = KeyCheck(key);
  EML_ASSIGN_OR_RETURN(FileKeys keys, DeriveFileKeys(key, header));
  std::vector<uint8_t> header_bytes = SerializeHeaderPrefix(header);
  header.header_tag = HeaderTag(keys.header_mac_key, header_bytes);
  header_bytes.insert(header_bytes.end(), header.header_tag.begin(), header.header_tag.end());
  EML_ASSIGN_OR_RETURN(std::unique_ptr<Aead> aead,
                       Aead::New(AeadAlgorithm::kChaCha20Poly1305, keys.segment_key));
  EML_RETURN_IF_ERROR(sink.Write(header_bytes));

  // One plaintext segment plus one byte of look-ahead tells whether a segment is the last.
  std::vector<uint8_t> plain(size_t{options.segment_size} + 1);
  std::vector<uint8_t> sealed(size_t{options.segment_size} + kStreamTagSize);
  size_t carried = 0;  // 0 or 1 look-ahead byte already at plain[0]
  uint64_t index = 0;
  uint64_t done = 0;
  while (true) {
    EML_ASSIGN_OR_RETURN(size_t n, ReadFull(source, std::span<uint8_t>(plain).subspan(carried)));
    const size_t have = carried + n;
    const bool last = have <= options.segment_size;
    const size_t segment_bytes = last ? have : options.segment_size;
    if (index >= kMaxSegments) {
      return Err(ErrorCode::kStreamTooLarge, "more than 2^32 segments");
    }
    const auto nonce = SegmentNonce(header.nonce_prefix, static_cast<uint32_t>(index), last);
    const std::span<uint8_t> out = std::span<uint8_t>(sealed).first(segment_bytes + kStreamTagSize);
    EML_RETURN_IF_ERROR(aead->SealInto(nonce, std::span<const uint8_t>(plain).first(segment_bytes),
                                       header_bytes, out));
    EML_RETURN_IF_ERROR(sink.Write(out));
    done += segment_bytes;
    if (options.progress) {
      options.progress(done);
    }
    if (last) {
      break;
    }
    plain[0] = plain[options.segment_size];
    carried = 1;
    ++index;
  }
  std::fill(plain.begin(), plain.end(), uint8_t{0});
  return header;
}

StreamSegmentCipher::StreamSegmentCipher(StreamHeader header,
                                         std::array<uint8_t, kStreamHeaderSize> header_bytes,
                                         std::unique_ptr<Aead> aead)
    : header_(header), header_bytes_(header_bytes), aead_(std::move(aead)) {}

StreamSegmentCipher::~StreamSegmentCipher() = default;

Result<std::unique_ptr<StreamSegmentCipher>> StreamSegmentCipher::New(
    const SecretBytes& key, std::span<const uint8_t> header_bytes, uint32_t max_segment_size) {
  EML_RETURN_IF_ERROR(CheckKey(key));
  EML_ASSIGN_OR_RETURN(StreamHeader header, ParseStreamHeader(header_bytes, max_segment_size));
  if (!ConstantTimeEquals(header.key_check, KeyCheck(key))) {
    return Err(ErrorCode::kStreamWrongKey, "the key does not match the file's key check value");
  }
  EML_ASSIGN_OR_RETURN(FileKeys keys, DeriveFileKeys(key, header));
  const std::array<uint8_t, kStreamTagSize> tag =
      HeaderTag(keys.header_mac_key, header_bytes.first(kHeaderMacInputSize));
  if (!ConstantTimeEquals(tag, header.header_tag)) {
    return Err(ErrorCode::kStreamHeaderAuthFailed, "stream header authentication failed");
  }
  EML_ASSIGN_OR_RETURN(std::unique_ptr<Aead> aead,
                       Aead::New(AeadAlgorithm::kChaCha20Poly1305, keys.segment_key));
  std::array<uint8_t, kStreamHeaderSize> bytes{};
  std::copy_n(header_bytes.begin(), kStreamHeaderSize, bytes.begin());
  return StreamSegmentCipherFactory::Make(header, bytes, std::move(aead));
}

Status StreamSegmentCipher::OpenSegment(uint32_t index, bool last,
                                        std::span<const uint8_t> ciphertext,
                                        std::span<uint8_t> out) const {
  if (ciphertext.size() < kStreamTagSize || out.size() != ciphertext.size() - kStreamTagSize ||
      out.size() > header_.segment_size) {
    std::fill(out.begin(), out.end(), uint8_t{0});
    return Err(ErrorCode::kInvalidArgument, "segment buffer sizes");
  }
  const auto nonce = SegmentNonce(header_.nonce_prefix, index, last);
  if (!aead_->OpenInto(nonce, ciphertext, header_bytes_, out).has_value()) {
    return Err(ErrorCode::kStreamSegmentAuthFailed,
               SegmentName(index) + " fails authentication (damaged or not from this file)");
  }
  return OkStatus();
}

namespace {

// SegmentWalker: the decryption loop shared by StreamDecrypt and StreamDecryptToBuffer. It keeps
// the tags of accepted segments (16 bytes each) to recognize duplicates on the failure path.
class SegmentWalker {
 public:
  SegmentWalker(const StreamSegmentCipher& cipher, const DecryptOptions& options)
      : cipher_(cipher), options_(options), segment_size_(cipher.header().segment_size) {}

  // Run decrypts every segment from `source`. `target(offset, n)` returns the n-byte span the
  // plaintext at `offset` is decrypted into (a scratch buffer or the caller's buffer); `emit`
  // receives it once its tag has checked.
  template <typename Target, typename Emit>
  Result<uint64_t> Run(StreamSource& source, Target target, Emit emit) {
    const size_t full = size_t{segment_size_} + kStreamTagSize;
    std::vector<uint8_t> chunk(full);
    std::optional<uint8_t> lookahead;
    uint64_t total = 0;
    for (uint64_t index = 0;; ++index) {
      if (index >= kMaxSegments) {
        return Err(ErrorCode::kStreamTooLarge, "more than 2^32 segments");
      }
      // How many bytes this segment should have, when the plaintext size is known.
      std::optional<size_t> want;
      bool known_last = false;
      if (options_.expected_plaintext_size.has_value()) {
        const uint64_t left = *options_.expected_plaintext_size - total;
        known_last = left <= segment_size_;
        want = static_cast<size_t>(std::min<uint64_t>(left, segment_size_)) + kStreamTagSize;
      }
      size_t have = 0;
      if (lookahead.has_value()) {
        chunk[0] = *lookahead;
        have = 1;
        lookahead.reset();
      }
      const size_t read_to = want.value_or(full);
      EML_ASSIGN_OR_RETURN(
          size_t n, ReadFull(source, std::span<uint8_t>(chunk).subspan(have, read_to - have)));
      have += n;
      uint8_t next = 0;
      EML_ASSIGN_OR_RETURN(size_t more, ReadFull(source, std::span<uint8_t>(&next, 1)));
      const bool at_end = more == 0;
      if (!at_end) {
        lookahead = next;
      }
      const std::span<const uint8_t> ct = std::span<const uint8_t>(chunk).first(have);
      if (want.has_value() && have < *want) {
        return Err(ErrorCode::kStreamTruncated, "input ends inside " + SegmentName(index));
      }
      if (have < kStreamTagSize) {
        return Err(ErrorCode::kStreamTruncated, "input ends before " + SegmentName(index));
      }
      const std::span<uint8_t> out = target(total, have - kStreamTagSize);
      const auto i32 = static_cast<uint32_t>(index);
      bool last = false;
      if (want.has_value()) {
        last = known_last;
        if (!cipher_.OpenSegment(i32, last, ct, out).has_value()) {
          // The right bytes with the other last flag: the stream ends early or goes on.
          if (cipher_.OpenSegment(i32, !last, ct, out).has_value()) {
            std::fill(out.begin(), out.end(), uint8_t{0});
            return last ? Err(ErrorCode::kStreamTrailingData,
                              SegmentName(index) + " is not the final segment")
                        : Err(ErrorCode::kStreamTruncated,
                              SegmentName(index) + " is final but more data is expected");
          }
          return Diagnose(i32, ct, out);
        }
        if (last && !at_end) {
          return Err(ErrorCode::kStreamTrailingData, "bytes follow the final segment");
        }
      } else if (at_end) {
        last = true;
        if (!cipher_.OpenSegment(i32, true, ct, out).has_value()) {
          if (have == full && cipher_.OpenSegment(i32, false, ct, out).has_value()) {
            return Err(ErrorCode::kStreamTruncated,
                       "input ends after " + SegmentName(index) + ", which is not the final one");
          }
          return Diagnose(i32, ct, out);
        }
      } else {
        // A full chunk with more input after it: normally a middle segment.
        if (!cipher_.OpenSegment(i32, false, ct, out).has_value()) {
          if (cipher_.OpenSegment(i32, true, ct, out).has_value()) {
            return Err(ErrorCode::kStreamTrailingData, "bytes follow the final segment");
          }
          return Diagnose(i32, ct, out);
        }
      }
      EML_RETURN_IF_ERROR(emit(std::span<const uint8_t>(out)));
      RememberTag(ct);
      total += out.size();
      if (options_.progress) {
        options_.progress(total);
      }
      if (last) {
        return total;
      }
    }
  }

 private:
  void RememberTag(std::span<const uint8_t> ct) {
    std::array<uint8_t, kStreamTagSize> tag{};
    const std::span<const uint8_t> t = ct.last(kStreamTagSize);
    std::copy(t.begin(), t.end(), tag.begin());
    seen_tags_.push_back(tag);
  }

  // Diagnose tells a duplicated or reordered segment from a damaged one (failure path only).
  Error Diagnose(uint32_t index, std::span<const uint8_t> ct, std::span<uint8_t> out) {
    std::array<uint8_t, kStreamTagSize> tag{};
    const std::span<const uint8_t> t = ct.last(kStreamTagSize);
    std::copy(t.begin(), t.end(), tag.begin());
    for (size_t j = 0; j < seen_tags_.size(); ++j) {
      if (seen_tags_[j] == tag) {
        return Err(ErrorCode::kStreamSegmentDuplicated,
                   SegmentName(index) + " repeats " + SegmentName(j));
      }
    }
    const uint64_t end =
        std::min<uint64_t>(uint64_t{index} + 1 + kReorderSearchWindow, kMaxSegments);
    for (uint64_t j = uint64_t{index} + 1; j < end; ++j) {
      for (bool flag : {false, true}) {
        if (cipher_.OpenSegment(static_cast<uint32_t>(j), flag, ct, out).has_value()) {
          std::fill(out.begin(), out.end(), uint8_t{0});
          return Err(ErrorCode::kStreamSegmentReordered,
                     SegmentName(index) + " holds " + SegmentName(j));
        }
      }
    }
    return Err(ErrorCode::kStreamSegmentAuthFailed,
               SegmentName(index) + " fails authentication (damaged or not from this file)");
  }

  const StreamSegmentCipher& cipher_;
  const DecryptOptions& options_;
  uint32_t segment_size_;
  std::vector<std::array<uint8_t, kStreamTagSize>> seen_tags_;
};

Result<std::unique_ptr<StreamSegmentCipher>> OpenHeader(const SecretBytes& key,
                                                        StreamSource& source,
                                                        const DecryptOptions& options) {
  EML_RETURN_IF_ERROR(CheckKey(key));
  std::array<uint8_t, kStreamHeaderSize> header{};
  EML_ASSIGN_OR_RETURN(size_t n, ReadFull(source, header));
  EML_ASSIGN_OR_RETURN(std::unique_ptr<StreamSegmentCipher> cipher,
                       StreamSegmentCipher::New(key, std::span<const uint8_t>(header).first(n),
                                                options.max_segment_size));
  if (options.expected_file_id.has_value() &&
      *options.expected_file_id != cipher->header().file_id) {
    return Err(ErrorCode::kStreamHeaderAuthFailed, "the file id is not the expected one");
  }
  if (options.expected_plaintext_size.has_value()) {
    EML_RETURN_IF_ERROR(
        StreamCiphertextSize(*options.expected_plaintext_size, cipher->header().segment_size));
  }
  return cipher;
}

}  // namespace

Result<uint64_t> StreamDecrypt(const SecretBytes& key, StreamSource& source, StreamSink& sink,
                               const DecryptOptions& options) {
  EML_ASSIGN_OR_RETURN(std::unique_ptr<StreamSegmentCipher> cipher,
                       OpenHeader(key, source, options));
  SegmentWalker walker(*cipher, options);
  std::vector<uint8_t> plain(cipher->header().segment_size);
  Result<uint64_t> total = walker.Run(
      source, [&](uint64_t, size_t n) { return std::span<uint8_t>(plain).first(n); },
      [&](std::span<const uint8_t> segment) { return sink.Write(segment); });
  std::fill(plain.begin(), plain.end(), uint8_t{0});
  return total;
}

Status StreamDecryptToBuffer(const SecretBytes& key, StreamSource& source, std::span<uint8_t> out,
                             const DecryptOptions& options) {
  DecryptOptions opts = options;
  opts.expected_plaintext_size = out.size();
  Result<uint64_t> total = [&]() -> Result<uint64_t> {
    EML_ASSIGN_OR_RETURN(std::unique_ptr<StreamSegmentCipher> cipher,
                         OpenHeader(key, source, opts));
    SegmentWalker walker(*cipher, opts);
    // With the plaintext size fixed, offset + n never passes out.size().
    return walker.Run(
        source,
        [&](uint64_t offset, size_t n) { return out.subspan(static_cast<size_t>(offset), n); },
        [](std::span<const uint8_t>) { return OkStatus(); });
  }();
  if (!total.has_value()) {
    std::fill(out.begin(), out.end(), uint8_t{0});
    return std::move(total).error();
  }
  return OkStatus();
}

}  // namespace eml::crypto
