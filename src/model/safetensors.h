#pragma once
// Posture: reads untrusted bytes (a safetensors file from disk, or a buffer the enclave decrypted;
// either may be corrupt or hostile). Limits: SafetensorsLimits (header bytes, tensor count, rank),
// every size computed with checked arithmetic. Fuzz target: tests/fuzz/model_safetensors_fuzz.cc
// (`model_safetensors`).
//
// eml::model::SafetensorsFile: a validated view of a safetensors file
// (https://huggingface.co/docs/safetensors): an 8-byte little-endian header length N, N bytes of
// UTF-8 JSON, then the data section. Everything is validated once, before any tensor is exposed:
//   - N <= limits.max_header_bytes and 8 + N <= file size;
//   - the header is a JSON object at most 3 levels deep; the key "__metadata__" (optional) is an
//     object of string values; every other key is a non-empty tensor name, unique, whose value is
//     exactly {"dtype", "shape", "data_offsets"} (unknown fields are rejected);
//   - dtype is one of the safetensors dtypes in DType (real checkpoints mix in integer tensors,
//     e.g. MiniLM's I64 "embeddings.position_ids"); any other dtype string is unsupported;
//   - shape is an array of at most limits.max_rank non-negative integers;
//   - data_offsets is [begin, end] with begin <= end <= data section size, relative to the data
//     section, and end - begin == product(shape) * dtype size (checked multiplication);
//   - sorted by begin, the tensors tile the data section exactly, as the Hugging Face reader
//     requires: no overlap and no hole between tensors or after the last one (a writer that pads
//     for alignment pads the JSON header, not the data section).
// Tensor bytes are not aligned (N is arbitrary); read them with ReadAsF32 or a ByteReader.
// Open maps the file: it must not be truncated while mapped (model files are installed by rename,
// never rewritten in place), or reads would fault.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/check.h"
#include "common/result.h"

namespace eml::model {

inline constexpr size_t kDefaultMaxHeaderBytes = size_t{100} << 20;  // Hugging Face's own limit.
inline constexpr size_t kDefaultMaxTensors = 65536;
inline constexpr size_t kDefaultMaxRank = 8;

// DType: the element types of safetensors tensors. The engine computes in F32/F16/BF16 (the
// only types ReadAsF32 converts); the others are validated and listed so files that carry them
// (integer buffers such as position_ids, F64 statistics, FP8 weights) still open.
enum class DType {
  kF32,
  kF16,
  kBF16,
  kF64,
  kF8E4M3,
  kF8E5M2,
  kI8,
  kI16,
  kI32,
  kI64,
  kU8,
  kU16,
  kU32,
  kU64,
  kBool,
};

// DTypeName returns the safetensors spelling ("F32", "BF16", "F8_E4M3", "BOOL", ...).
std::string_view DTypeName(DType dtype);
// DTypeSizeBytes returns the size of one element in bytes (1, 2, 4 or 8).
size_t DTypeSizeBytes(DType dtype);
// IsFloatDType returns true for F32, F16, BF16: the types ReadAsF32 accepts.
bool IsFloatDType(DType dtype);

// TensorView: one tensor of a SafetensorsFile. `name` and `data` point into the file object and
// live as long as it does (moving the SafetensorsFile keeps them valid). `data` is little-endian,
// row-major, exactly product(shape) * DTypeSizeBytes(dtype) bytes, with no alignment guarantee.
struct TensorView {
  std::string_view name;
  DType dtype;
  std::vector<int64_t> shape;
  std::span<const uint8_t> data;

  // NumElements returns product(shape) (validated not to overflow when the file was opened).
  size_t NumElements() const;
};

struct SafetensorsLimits {
  size_t max_header_bytes = kDefaultMaxHeaderBytes;
  size_t max_tensors = kDefaultMaxTensors;
  size_t max_rank = kDefaultMaxRank;
};

// SafetensorsFile is movable, not copyable; a moved-from object may only be destroyed or assigned.
// Thread safety: all const methods may be called concurrently.
class SafetensorsFile {
 public:
  // Open maps `path` read-only (POSIX mmap, MAP_PRIVATE) and validates it as described above.
  // Errors: kNotFound (no such file), kIoError (a directory or other non-regular file, or open/
  // fstat/mmap failed), kModelTruncated (empty file, shorter than 8 bytes or than the header it
  // declares), and every validation error listed under FromBuffer. The mapping is released when
  // the object is destroyed.
  static Result<SafetensorsFile> Open(const std::filesystem::path& path,
                                      const SafetensorsLimits& limits = {});

  // FromBuffer takes ownership of `bytes` (e.g. a model the enclave decrypted into memory) and
  // validates it. Errors: kModelTruncated, kModelHeaderTooLarge, kModelBadHeader,
  // kModelTooManyTensors, kModelDuplicateTensor, kModelUnsupportedDtype (a dtype string not in
  // DType), kModelBadShape,
  // kModelBadOffsets, kIntegerOverflow (product of the shape overflows size_t),
  // kModelTensorSizeMismatch, kModelOverlappingTensors, kModelDataHole. Details name the tensor.
  static Result<SafetensorsFile> FromBuffer(std::vector<uint8_t> bytes,
                                            const SafetensorsLimits& limits = {});

  // FromView validates `bytes` without copying or owning them (e.g. weights held in locked
  // memory that the caller wipes): the caller keeps `bytes` alive and unchanged for the life of
  // the returned object and of every TensorView taken from it. Errors: as FromBuffer.
  static Result<SafetensorsFile> FromView(std::span<const uint8_t> bytes,
                                          const SafetensorsLimits& limits = {});

  SafetensorsFile(SafetensorsFile&&) noexcept;
  SafetensorsFile& operator=(SafetensorsFile&&) noexcept;
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;
  ~SafetensorsFile();

  // tensors returns every tensor, sorted by name (byte order).
  const std::vector<TensorView>& tensors() const EML_LIFETIME_BOUND;

  // Find returns the tensor called `name`, or nullptr if absent.
  const TensorView* Find(std::string_view name) const EML_LIFETIME_BOUND;

  // metadata returns the "__metadata__" entries as (key, value) pairs sorted by key.
  const std::vector<std::pair<std::string, std::string>>& metadata() const EML_LIFETIME_BOUND;

  // ReadAsF32 returns the tensor `name` converted to float (F32 copied, F16 and BF16 widened
  // exactly; F16 subnormals, infinities and NaNs included). When `expected_shape` is non-empty
  // the tensor's shape must equal it. Errors: kModelTensorNotFound, kModelShapeMismatch (details
  // name the tensor and both shapes), kModelUnsupportedDtype (not F32/F16/BF16).
  Result<std::vector<float>> ReadAsF32(std::string_view name,
                                       std::span<const int64_t> expected_shape = {}) const;

  // ViewAsF32 returns the same values as ReadAsF32 without a copy where the file stores them as
  // little-endian F32 at a float-aligned address: a view of the file's bytes, valid while they
  // live. Otherwise it converts them into `scratch` and returns a view of that. Errors: as
  // ReadAsF32's.
  Result<std::span<const float>> ViewAsF32(std::string_view name,
                                           std::span<const int64_t> expected_shape,
                                           std::vector<float>& scratch) const EML_LIFETIME_BOUND;

  // data_section_size_bytes returns the size of the data section (after the header).
  size_t data_section_size_bytes() const;

 private:
  struct Impl;
  explicit SafetensorsFile(std::unique_ptr<Impl> impl);
  static Result<SafetensorsFile> Create(std::unique_ptr<Impl> impl, std::span<const uint8_t> bytes,
                                        const SafetensorsLimits& limits);
  const Impl& impl() const;

  std::unique_ptr<Impl> impl_;
};

// FormatShape renders a shape as "[a, b, c]" for error details and logs.
std::string FormatShape(std::span<const int64_t> shape);

}  // namespace eml::model
