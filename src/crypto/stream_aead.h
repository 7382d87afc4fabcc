#pragma once
// Segmented file encryption ("EML STREAM v1"): ChaCha20-Poly1305 in the STREAM construction
// (Hoang, Reyhanitabar, Rogaway, Vizar 2015), so multi-GB model weights encrypt and decrypt with
// one segment of memory and any truncation, extension, reordering, duplication or bit flip is
// found at the segment where it happens. Byte layout and derivations: docs/formats.md,
// "Encrypted files (EML STREAM v1)". In short:
//   header (68 bytes) = "EMLS" | version 1 | suite 1 | 00 00 | segment_size u32 BE |
//                       file_id (16) | nonce_prefix (7) | 00 | key_check (16) | header_tag (16)
//   then segments: ciphertext_i || tag_i, each segment_size plaintext bytes except the last
//   (1..segment_size bytes; 0 only for an empty file, which is one empty final segment).
//   key_check  = HMAC-SHA256(DEK, "EphemeralML STREAM v1 key check")[0..16]
//   K (64)     = HKDF-SHA256(salt = file_id || nonce_prefix, ikm = DEK,
//                            info = "EphemeralML STREAM v1 keys")
//   segment key = K[0..32], header MAC key = K[32..64]
//   header_tag = HMAC-SHA256(header MAC key, header[0..52])[0..16]
//   nonce_i    = nonce_prefix || u32 BE i || (0x01 on the last segment, else 0x00)
//   AAD of every segment = the whole 68-byte header.
//
// Posture: decryption reads untrusted bytes (an encrypted file fetched through an untrusted host
// or store). Limits: the header's segment size must lie in [kMinSegmentSize,
// DecryptOptions::max_segment_size] (default kDefaultMaxSegmentSize), which bounds the one
// segment buffer; at most 2^32 segments. No plaintext of a segment is released before its tag
// has been checked. Fuzz target: none yet (the header parser is fixed-size; the segment walk is
// exercised by the tamper tests in stream_aead_test.cc).
//
// Thread safety: the free functions keep no state; a StreamSegmentCipher is immutable after
// New and may be used from several threads at once.

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "common/result.h"
#include "common/secret_bytes.h"

namespace eml::crypto {

class Aead;

inline constexpr size_t kStreamKeySize = 32;
inline constexpr size_t kStreamHeaderSize = 68;
inline constexpr size_t kStreamFileIdSize = 16;
inline constexpr size_t kStreamNoncePrefixSize = 7;
inline constexpr size_t kStreamKeyCheckSize = 16;
inline constexpr size_t kStreamTagSize = 16;
inline constexpr uint8_t kStreamVersion = 1;
inline constexpr uint8_t kStreamSuiteChaCha20Poly1305 = 1;
inline constexpr uint32_t kMinSegmentSize = 64;
inline constexpr uint32_t kDefaultSegmentSize = uint32_t{1} << 20;      // 1 MiB
inline constexpr uint32_t kDefaultMaxSegmentSize = uint32_t{16} << 20;  // 16 MiB
inline constexpr uint32_t kAbsoluteMaxSegmentSize = uint32_t{64} << 20;
// A segment that fails to open is looked for at the next kReorderSearchWindow positions, to tell
// a reordered segment from a damaged one (only on the failure path).
inline constexpr uint32_t kReorderSearchWindow = 64;

// StreamHeader: the fields of a parsed header. Public values (no secret in it).
struct StreamHeader {
  uint32_t segment_size = 0;
  std::array<uint8_t, kStreamFileIdSize> file_id{};
  std::array<uint8_t, kStreamNoncePrefixSize> nonce_prefix{};
  std::array<uint8_t, kStreamKeyCheckSize> key_check{};
  std::array<uint8_t, kStreamTagSize> header_tag{};
};

// ParseStreamHeader checks the fixed fields of the first kStreamHeaderSize bytes of `bytes`
// (magic, version, suite, reserved bytes, segment size within [kMinSegmentSize,
// max_segment_size]). It does not authenticate anything: that needs the key (StreamSegmentCipher).
// Errors: kStreamTruncated (fewer than 68 bytes), kStreamBadMagic, kStreamUnsupportedVersion
// (version or suite), kStreamBadHeader (reserved bytes not zero, segment size out of range).
Result<StreamHeader> ParseStreamHeader(std::span<const uint8_t> bytes,
                                       uint32_t max_segment_size = kDefaultMaxSegmentSize);

// StreamCiphertextSize returns the encrypted size of `plaintext_size` bytes: 68 + n + 16 * k
// with k = max(1, ceil(n / segment_size)). Errors: kStreamTooLarge (k > 2^32),
// kInvalidArgument (segment size out of range).
Result<uint64_t> StreamCiphertextSize(uint64_t plaintext_size, uint32_t segment_size);

// StreamSource / StreamSink: where the streaming functions read and write. Read fills `out` as
// far as it can and returns how many bytes it wrote; fewer than out.size() means end of input.
class StreamSource {
 public:
  virtual ~StreamSource() = default;
  virtual Result<size_t> Read(std::span<uint8_t> out) = 0;
};
class StreamSink {
 public:
  virtual ~StreamSink() = default;
  virtual Status Write(std::span<const uint8_t> bytes) = 0;
};

// SpanSource reads from memory; VectorSink appends to a vector (tests and small files).
class SpanSource final : public StreamSource {
 public:
  explicit SpanSource(std::span<const uint8_t> data) : data_(data) {}
  Result<size_t> Read(std::span<uint8_t> out) override;

 private:
  std::span<const uint8_t> data_;
};
class VectorSink final : public StreamSink {
 public:
  Status Write(std::span<const uint8_t> bytes) override;
  std::vector<uint8_t>& bytes() { return bytes_; }

 private:
  std::vector<uint8_t> bytes_;
};

// FdSource / FdSink read and write an open file descriptor (not owned), retrying short reads
// and writes and EINTR. Errors: kIoError.
class FdSource final : public StreamSource {
 public:
  explicit FdSource(int fd) : fd_(fd) {}
  Result<size_t> Read(std::span<uint8_t> out) override;

 private:
  int fd_;
};
class FdSink final : public StreamSink {
 public:
  explicit FdSink(int fd) : fd_(fd) {}
  Status Write(std::span<const uint8_t> bytes) override;

 private:
  int fd_;
};

struct EncryptOptions {
  uint32_t segment_size = kDefaultSegmentSize;
  // The 16-byte file id written into the header (the manifest records it); random when unset.
  std::optional<std::array<uint8_t, kStreamFileIdSize>> file_id;
  // The 7-byte nonce prefix; random when unset. Tests set it for known-answer vectors only:
  // never reuse a (key, nonce_prefix) pair.
  std::optional<std::array<uint8_t, kStreamNoncePrefixSize>> nonce_prefix;
  // Called after each segment with the plaintext bytes done so far (progress bars).
  std::function<void(uint64_t)> progress;
};

struct DecryptOptions {
  uint32_t max_segment_size = kDefaultMaxSegmentSize;
  // The plaintext size the caller expects (e.g. from a signed manifest). When set, segment
  // boundaries are known in advance, so a file cut anywhere reads as kStreamTruncated and bytes
  // after the final segment as kStreamTrailingData. When unset, the end of the input decides
  // (see StreamDecrypt).
  std::optional<uint64_t> expected_plaintext_size;
  // When set, the header must carry this file id (else kStreamHeaderAuthFailed: the file is not
  // the one the manifest names).
  std::optional<std::array<uint8_t, kStreamFileIdSize>> expected_file_id;
  std::function<void(uint64_t)> progress;
};

// StreamEncrypt reads all of `source` and writes header and segments to `sink`, holding one
// plaintext and one ciphertext segment in memory. Returns the header written.
// Errors: kCryptoBadKeyLength (key not 32 bytes), kInvalidArgument (segment size out of
// [kMinSegmentSize, kAbsoluteMaxSegmentSize]), kStreamTooLarge (more than 2^32 segments),
// kCryptoRandomFailed, and the source's and sink's errors. On error the sink holds a prefix of
// the output: callers writing files write to a temporary name and rename on success.
Result<StreamHeader> StreamEncrypt(const SecretBytes& key, StreamSource& source, StreamSink& sink,
                                   const EncryptOptions& options = {});

// StreamDecrypt reads an encrypted stream from `source` and writes the plaintext of each segment
// to `sink` once its tag has checked. Returns the plaintext size.
// Errors, each found at the first place it applies (details name the segment index):
//   kStreamTruncated / kStreamBadMagic / kStreamUnsupportedVersion / kStreamBadHeader (header);
//   kStreamWrongKey: the key's check value differs from the header's (wrong DEK; also what a
//     change to the key_check field itself reads as);
//   kStreamHeaderAuthFailed: the key is right but the header was changed (or its file id is not
//     options.expected_file_id);
//   kStreamSegmentAuthFailed: segment i fails authentication (bit flip, foreign bytes);
//   kStreamSegmentDuplicated: segment i is a byte-identical copy of an earlier segment;
//   kStreamSegmentReordered: segment i is the segment for a later position (within
//     kReorderSearchWindow);
//   kStreamTruncated: the input ends before the final segment (at a segment boundary, or anywhere
//     when expected_plaintext_size is set);
//   kStreamTrailingData: bytes follow the final segment (without expected_plaintext_size, found
//     when the extension starts after a full-size final segment or its own final segment is
//     short; other extensions read as kStreamSegmentAuthFailed at the old final segment);
//   kStreamTooLarge; kCryptoBadKeyLength; the source's and sink's errors.
// On error the sink holds only authenticated plaintext of the segments before the failing one:
// callers that must not keep partial output discard it (StreamDecryptToBuffer zeroes `out`).
Result<uint64_t> StreamDecrypt(const SecretBytes& key, StreamSource& source, StreamSink& sink,
                               const DecryptOptions& options = {});

// StreamDecryptToBuffer is the enclave form: it decrypts segment by segment straight into `out`,
// whose size is the expected plaintext size (set from out.size(), overriding
// options.expected_plaintext_size), holding one ciphertext segment in memory. On any error `out`
// is zeroed. Errors: as StreamDecrypt.
Status StreamDecryptToBuffer(const SecretBytes& key, StreamSource& source, std::span<uint8_t> out,
                             const DecryptOptions& options = {});

// StreamSegmentCipher opens single segments given a header, for ranged reads (e.g. a store that
// serves byte ranges): segment i starts at 68 + i * (segment_size + 16).
class StreamSegmentCipher {
 public:
  // New authenticates `header_bytes` (the first 68 bytes of the file) with `key`.
  // Errors: as ParseStreamHeader, kCryptoBadKeyLength, kStreamWrongKey, kStreamHeaderAuthFailed.
  static Result<std::unique_ptr<StreamSegmentCipher>> New(
      const SecretBytes& key, std::span<const uint8_t> header_bytes,
      uint32_t max_segment_size = kDefaultMaxSegmentSize);
  ~StreamSegmentCipher();
  StreamSegmentCipher(const StreamSegmentCipher&) = delete;
  StreamSegmentCipher& operator=(const StreamSegmentCipher&) = delete;

  const StreamHeader& header() const { return header_; }

  // OpenSegment checks and decrypts segment `index` (`last` = it is the final one) into `out`,
  // which must be ciphertext.size() - 16 bytes (at most segment_size).
  // Errors: kInvalidArgument (sizes), kStreamSegmentAuthFailed. `out` is zeroed on error.
  Status OpenSegment(uint32_t index, bool last, std::span<const uint8_t> ciphertext,
                     std::span<uint8_t> out) const;

 private:
  StreamSegmentCipher(StreamHeader header, std::array<uint8_t, kStreamHeaderSize> header_bytes,
                      std::unique_ptr<Aead> aead);
  friend class StreamSegmentCipherFactory;

  StreamHeader header_;
  std::array<uint8_t, kStreamHeaderSize> header_bytes_;
  std::unique_ptr<Aead> aead_;
};

}  // namespace eml::crypto
