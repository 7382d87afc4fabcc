#include "model/safetensors.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "common/byte_reader.h"
#include "common/checked_math.h"
#include "model/internal/mapped_file.h"

namespace eml::model {
namespace {

using Json = nlohmann::json;

constexpr std::string_view kMetadataKey = "__metadata__";
// Header nesting: root object (0) -> tensor entry or __metadata__ (1) -> shape/offsets (2).
constexpr int kMaxHeaderDepth = 2;

struct DTypeInfo {
  DType dtype;
  std::string_view name;
  size_t size_bytes;
};

constexpr std::array<DTypeInfo, 15> kDTypes = {{
    {DType::kF32, "F32", 4},
    {DType::kF16, "F16", 2},
    {DType::kBF16, "BF16", 2},
    {DType::kF64, "F64", 8},
    {DType::kF8E4M3, "F8_E4M3", 1},
    {DType::kF8E5M2, "F8_E5M2", 1},
    {DType::kI8, "I8", 1},
    {DType::kI16, "I16", 2},
    {DType::kI32, "I32", 4},
    {DType::kI64, "I64", 8},
    {DType::kU8, "U8", 1},
    {DType::kU16, "U16", 2},
    {DType::kU32, "U32", 4},
    {DType::kU64, "U64", 8},
    {DType::kBool, "BOOL", 1},
}};

const DTypeInfo& Info(DType dtype) {
  for (const DTypeInfo& info : kDTypes) {
    if (info.dtype == dtype) {
      return info;
    }
  }
  EML_CHECK(false);  // kDTypes lists every enumerator.
  return kDTypes[0];
}

std::optional<DType> DTypeFromName(std::string_view name) {
  for (const DTypeInfo& info : kDTypes) {
    if (info.name == name) {
      return info.dtype;
    }
  }
  return std::nullopt;
}

Error HeaderError(ErrorCode code, std::string_view tensor, std::string_view what) {
  return Error{code, "safetensors tensor \"" + std::string(tensor) + "\": " + std::string(what)};
}

// What the JSON parse callback saw that nlohmann does not report itself.
struct HeaderScan {
  bool too_deep = false;
  std::optional<std::string> duplicate_tensor;
  bool duplicate_field = false;
  std::set<std::string> top_keys;
  std::set<std::string> entry_keys;
};

Result<Json> ParseHeaderJson(std::span<const uint8_t> header, HeaderScan* scan) {
  const Json::parser_callback_t callback = [scan](int depth, Json::parse_event_t event,
                                                  Json& parsed) {
    if ((event == Json::parse_event_t::object_start || event == Json::parse_event_t::array_start) &&
        depth > kMaxHeaderDepth) {
      scan->too_deep = true;
      return false;
    }
    if (event == Json::parse_event_t::object_start && depth == 1) {
      scan->entry_keys.clear();
    }
    if (event == Json::parse_event_t::key && parsed.is_string()) {
      const std::string& key = parsed.get_ref<const std::string&>();
      if (depth == 1 && !scan->top_keys.insert(key).second && !scan->duplicate_tensor) {
        scan->duplicate_tensor = key;
      }
      if (depth == 2 && !scan->entry_keys.insert(key).second) {
        scan->duplicate_field = true;
      }
    }
    return true;
  };
  Json header_json = Json::parse(header.begin(), header.end(), callback,
                                 /*allow_exceptions=*/false);
  if (header_json.is_discarded()) {
    return Error{ErrorCode::kModelBadHeader, "safetensors header is not valid JSON"};
  }
  if (scan->too_deep) {
    return Error{ErrorCode::kModelBadHeader, "safetensors header nests too deeply"};
  }
  if (!header_json.is_object()) {
    return Error{ErrorCode::kModelBadHeader, "safetensors header is not a JSON object"};
  }
  if (scan->duplicate_tensor) {
    return HeaderError(ErrorCode::kModelDuplicateTensor, *scan->duplicate_tensor, "appears twice");
  }
  if (scan->duplicate_field) {
    return Error{ErrorCode::kModelBadHeader, "safetensors header repeats a field of a tensor"};
  }
  return header_json;
}

// A tensor as declared in the header, before views are made.
struct Declared {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  size_t begin;
  size_t end;
};

Result<std::vector<int64_t>> ParseShape(const std::string& name, const Json& shape_json,
                                        const SafetensorsLimits& limits, size_t* num_elements) {
  if (!shape_json.is_array()) {
    return HeaderError(ErrorCode::kModelBadShape, name, "shape is not an array");
  }
  if (shape_json.size() > limits.max_rank) {
    return HeaderError(ErrorCode::kModelBadShape, name, "rank above the limit");
  }
  std::vector<int64_t> shape;
  size_t product = 1;
  for (const Json& dim : shape_json) {
    if (!dim.is_number_unsigned() ||
        dim.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return HeaderError(ErrorCode::kModelBadShape, name, "dimension is not a non-negative int");
    }
    const uint64_t value = dim.get<uint64_t>();
    if (!CheckedMul(product, static_cast<size_t>(value), &product)) {
      return HeaderError(ErrorCode::kIntegerOverflow, name, "element count overflows");
    }
    shape.push_back(static_cast<int64_t>(value));
  }
  *num_elements = product;
  return shape;
}

Result<Declared> ParseEntry(const std::string& name, const Json& entry,
                            const SafetensorsLimits& limits, size_t data_size) {
  if (name.empty()) {
    return Error{ErrorCode::kModelBadHeader, "safetensors tensor with an empty name"};
  }
  if (!entry.is_object() || entry.size() != 3 || !entry.contains("dtype") ||
      !entry.contains("shape") || !entry.contains("data_offsets")) {
    return HeaderError(ErrorCode::kModelBadHeader, name,
                       "entry must have exactly dtype, shape, data_offsets");
  }
  const Json& dtype_json = entry["dtype"];
  if (!dtype_json.is_string()) {
    return HeaderError(ErrorCode::kModelBadHeader, name, "dtype is not a string");
  }
  const std::optional<DType> dtype = DTypeFromName(dtype_json.get_ref<const std::string&>());
  if (!dtype) {
    return HeaderError(ErrorCode::kModelUnsupportedDtype, name,
                       "unknown dtype " + dtype_json.get<std::string>());
  }
  size_t num_elements = 0;
  EML_ASSIGN_OR_RETURN(std::vector<int64_t> shape,
                       ParseShape(name, entry["shape"], limits, &num_elements));
  const Json& offsets = entry["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
      !offsets[1].is_number_unsigned()) {
    return HeaderError(ErrorCode::kModelBadOffsets, name,
                       "data_offsets is not [begin, end] of non-negative ints");
  }
  const uint64_t begin = offsets[0].get<uint64_t>();
  const uint64_t end = offsets[1].get<uint64_t>();
  if (begin > end || end > data_size) {
    return HeaderError(ErrorCode::kModelBadOffsets, name,
                       "data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                           "] outside the data section of " + std::to_string(data_size) + " bytes");
  }
  size_t size_bytes = 0;
  if (!CheckedMul(num_elements, Info(*dtype).size_bytes, &size_bytes)) {
    return HeaderError(ErrorCode::kIntegerOverflow, name, "byte size overflows");
  }
  if (end - begin != size_bytes) {
    return HeaderError(ErrorCode::kModelTensorSizeMismatch, name,
                       std::to_string(end - begin) + " bytes for shape " + FormatShape(shape) +
                           " of " + std::string(Info(*dtype).name) + " (needs " +
                           std::to_string(size_bytes) + ")");
  }
  return Declared{name, *dtype, std::move(shape), static_cast<size_t>(begin),
                  static_cast<size_t>(end)};
}

Result<std::vector<std::pair<std::string, std::string>>> ParseMetadata(const Json& metadata) {
  if (!metadata.is_object()) {
    return Error{ErrorCode::kModelBadHeader, "safetensors __metadata__ is not an object"};
  }
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [key, value] : metadata.items()) {
    if (!value.is_string()) {
      return Error{ErrorCode::kModelBadHeader,
                   "safetensors __metadata__ value of \"" + key + "\" is not a string"};
    }
    out.emplace_back(key, value.get<std::string>());
  }
  return out;  // nlohmann objects iterate in key order.
}

// CheckTiling: sorted by offsets, the tensors must cover [0, data_size) exactly.
Status CheckTiling(std::vector<const Declared*> by_offset, size_t data_size) {
  std::sort(by_offset.begin(), by_offset.end(), [](const Declared* a, const Declared* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  size_t covered = 0;
  const Declared* previous = nullptr;
  for (const Declared* t : by_offset) {
    if (t->begin < covered) {
      return HeaderError(ErrorCode::kModelOverlappingTensors, t->name,
                         "overlaps \"" + previous->name + "\"");
    }
    if (t->begin > covered) {
      return HeaderError(ErrorCode::kModelDataHole, t->name,
                         "starts at " + std::to_string(t->begin) + ", leaving unused bytes from " +
                             std::to_string(covered));
    }
    covered = t->end;
    previous = t;
  }
  if (covered != data_size) {
    return Error{ErrorCode::kModelDataHole, "safetensors data section has " +
                                                std::to_string(data_size - covered) +
                                                " bytes after the last tensor"};
  }
  return OkStatus();
}

float HalfToFloat(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h >> 15) << 31;
  const uint32_t exponent = (h >> 10) & 0x1fu;
  const uint32_t mantissa = h & 0x3ffu;
  if (exponent == 0) {
    // Zero or subnormal: mantissa * 2^-24, exact in float.
    const float magnitude = std::ldexp(static_cast<float>(mantissa), -24);
    return sign != 0 ? -magnitude : magnitude;
  }
  if (exponent == 31) {
    return std::bit_cast<float>(sign | 0x7f800000u | (mantissa << 13));
  }
  return std::bit_cast<float>(sign | ((exponent + 112u) << 23) | (mantissa << 13));
}

}  // namespace

struct SafetensorsFile::Impl {
  internal::MappedFile mapping;
  std::vector<uint8_t> buffer;
  size_t data_size = 0;
  std::vector<std::string> names;   // filled before `tensors`, never resized after
  std::vector<TensorView> tensors;  // sorted by name
  std::vector<std::pair<std::string, std::string>> metadata;
};

namespace {

Status ParseInto(std::span<const uint8_t> bytes, const SafetensorsLimits& limits,
                 std::vector<Declared>* declared,
                 std::vector<std::pair<std::string, std::string>>* metadata,
                 std::span<const uint8_t>* data) {
  ByteReader reader(bytes);
  uint64_t header_size = 0;
  if (!reader.ReadU64Le(&header_size)) {
    return Error{ErrorCode::kModelTruncated,
                 "safetensors file of " + std::to_string(bytes.size()) + " bytes has no header"};
  }
  if (header_size > limits.max_header_bytes) {
    return Error{ErrorCode::kModelHeaderTooLarge,
                 "safetensors header of " + std::to_string(header_size) + " bytes is above " +
                     std::to_string(limits.max_header_bytes)};
  }
  std::span<const uint8_t> header;
  if (!reader.ReadBytes(static_cast<size_t>(header_size), &header)) {
    return Error{ErrorCode::kModelTruncated, "safetensors header runs past the end of the file"};
  }
  *data = reader.remaining();
  HeaderScan scan;
  EML_ASSIGN_OR_RETURN(const Json header_json, ParseHeaderJson(header, &scan));
  const size_t num_tensors = header_json.size() - (header_json.contains(kMetadataKey) ? 1 : 0);
  if (num_tensors > limits.max_tensors) {
    return Error{
        ErrorCode::kModelTooManyTensors,
        "safetensors header lists " + std::to_string(num_tensors) + " tensors, above the limit"};
  }
  declared->reserve(num_tensors);
  for (const auto& [key, value] : header_json.items()) {
    if (key == kMetadataKey) {
      EML_ASSIGN_OR_RETURN(*metadata, ParseMetadata(value));
      continue;
    }
    EML_ASSIGN_OR_RETURN(Declared tensor, ParseEntry(key, value, limits, data->size()));
    declared->push_back(std::move(tensor));
  }
  std::vector<const Declared*> by_offset;
  by_offset.reserve(declared->size());
  for (const Declared& t : *declared) {
    by_offset.push_back(&t);
  }
  return CheckTiling(std::move(by_offset), data->size());
}

}  // namespace

Result<SafetensorsFile> SafetensorsFile::Open(const std::filesystem::path& path,
                                              const SafetensorsLimits& limits) {
  auto impl = std::make_unique<Impl>();
  EML_ASSIGN_OR_RETURN(impl->mapping, internal::MappedFile::Open(path));
  const std::span<const uint8_t> bytes = impl->mapping.bytes();
  return Create(std::move(impl), bytes, limits);
}

Result<SafetensorsFile> SafetensorsFile::FromBuffer(std::vector<uint8_t> bytes,
                                                    const SafetensorsLimits& limits) {
  auto impl = std::make_unique<Impl>();
  impl->buffer = std::move(bytes);
  const std::span<const uint8_t> view = impl->buffer;
  return Create(std::move(impl), view, limits);
}

Result<SafetensorsFile> SafetensorsFile::FromView(std::span<const uint8_t> bytes,
                                                  const SafetensorsLimits& limits) {
  return Create(std::make_unique<Impl>(), bytes, limits);
}

Result<SafetensorsFile> SafetensorsFile::Create(std::unique_ptr<Impl> impl,
                                                std::span<const uint8_t> bytes,
                                                const SafetensorsLimits& limits) {
  std::vector<Declared> declared;
  std::span<const uint8_t> data;
  EML_RETURN_IF_ERROR(ParseInto(bytes, limits, &declared, &impl->metadata, &data));
  impl->data_size = data.size();
  impl->names.reserve(declared.size());
  for (const Declared& t : declared) {
    impl->names.push_back(t.name);
  }
  // Views are cut from the validated offsets through ByteReader, never by index arithmetic.
  impl->tensors.reserve(declared.size());
  for (size_t i = 0; i < declared.size(); ++i) {
    ByteReader reader(data);
    std::span<const uint8_t> tensor_bytes;
    EML_CHECK(reader.Skip(declared[i].begin) &&
              reader.ReadBytes(declared[i].end - declared[i].begin, &tensor_bytes));
    impl->tensors.push_back(
        TensorView{impl->names[i], declared[i].dtype, std::move(declared[i].shape), tensor_bytes});
  }
  // nlohmann iterates object keys in sorted order, so `tensors` is already sorted by name.
  return SafetensorsFile(std::move(impl));
}

SafetensorsFile::SafetensorsFile(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SafetensorsFile::SafetensorsFile(SafetensorsFile&&) noexcept = default;
SafetensorsFile& SafetensorsFile::operator=(SafetensorsFile&&) noexcept = default;
SafetensorsFile::~SafetensorsFile() = default;

const SafetensorsFile::Impl& SafetensorsFile::impl() const {
  EML_CHECK(impl_ != nullptr);  // use after move
  return *impl_;
}

const std::vector<TensorView>& SafetensorsFile::tensors() const { return impl().tensors; }

const std::vector<std::pair<std::string, std::string>>& SafetensorsFile::metadata() const {
  return impl().metadata;
}

size_t SafetensorsFile::data_section_size_bytes() const { return impl().data_size; }

const TensorView* SafetensorsFile::Find(std::string_view name) const {
  const std::vector<TensorView>& tensors = impl().tensors;
  const auto it =
      std::lower_bound(tensors.begin(), tensors.end(), name,
                       [](const TensorView& t, std::string_view n) { return t.name < n; });
  if (it == tensors.end() || it->name != name) {
    return nullptr;
  }
  return &*it;
}

namespace {

// FindFloatTensor returns the tensor `name` if it exists, is a float type and (when
// `expected_shape` is non-empty) has that shape.
Result<const TensorView*> FindFloatTensor(const SafetensorsFile& file, std::string_view name,
                                          std::span<const int64_t> expected_shape) {
  const TensorView* tensor = file.Find(name);
  if (tensor == nullptr) {
    return Error{ErrorCode::kModelTensorNotFound, "tensor \"" + std::string(name) + "\" absent"};
  }
  if (!expected_shape.empty() && !std::equal(tensor->shape.begin(), tensor->shape.end(),
                                             expected_shape.begin(), expected_shape.end())) {
    return Error{ErrorCode::kModelShapeMismatch, "tensor \"" + std::string(name) + "\" has shape " +
                                                     FormatShape(tensor->shape) + ", expected " +
                                                     FormatShape(expected_shape)};
  }
  if (!IsFloatDType(tensor->dtype)) {
    return Error{ErrorCode::kModelUnsupportedDtype, "tensor \"" + std::string(name) + "\" is " +
                                                        std::string(DTypeName(tensor->dtype)) +
                                                        ", not a float type"};
  }
  return tensor;
}

}  // namespace

Result<std::span<const float>> SafetensorsFile::ViewAsF32(std::string_view name,
                                                          std::span<const int64_t> expected_shape,
                                                          std::vector<float>& scratch) const {
  EML_ASSIGN_OR_RETURN(const TensorView* tensor, FindFloatTensor(*this, name, expected_shape));
  const bool aligned = reinterpret_cast<uintptr_t>(tensor->data.data()) % alignof(float) == 0;
  if (tensor->dtype == DType::kF32 && std::endian::native == std::endian::little && aligned) {
    // The size was validated against shape and dtype when the file was opened.
    return std::span<const float>(reinterpret_cast<const float*>(tensor->data.data()),
                                  tensor->NumElements());
  }
  EML_ASSIGN_OR_RETURN(scratch, ReadAsF32(name, expected_shape));
  return std::span<const float>(scratch);
}

Result<std::vector<float>> SafetensorsFile::ReadAsF32(
    std::string_view name, std::span<const int64_t> expected_shape) const {
  EML_ASSIGN_OR_RETURN(const TensorView* tensor, FindFloatTensor(*this, name, expected_shape));
  std::vector<float> out(tensor->NumElements());
  // The data size was validated against the shape and dtype when the file was opened.
  EML_CHECK(tensor->data.size() == out.size() * DTypeSizeBytes(tensor->dtype));
  if (tensor->dtype == DType::kF32 && std::endian::native == std::endian::little) {
    // Little-endian F32 is already our layout: one copy instead of a decode per element (the
    // weights are ~23M floats, and this copy is on every cold start's path).
    if (!out.empty()) {
      std::memcpy(out.data(), tensor->data.data(), tensor->data.size());
    }
    return out;
  }
  ByteReader reader(tensor->data);
  for (float& value : out) {
    bool ok = false;
    if (tensor->dtype == DType::kF32) {
      uint32_t bits = 0;
      ok = reader.ReadU32Le(&bits);
      value = std::bit_cast<float>(bits);
    } else {
      uint16_t bits = 0;
      ok = reader.ReadU16Le(&bits);
      value = tensor->dtype == DType::kF16
                  ? HalfToFloat(bits)
                  : std::bit_cast<float>(static_cast<uint32_t>(bits) << 16);
    }
    EML_CHECK(ok);
  }
  EML_CHECK(reader.empty());
  return out;
}

std::string_view DTypeName(DType dtype) { return Info(dtype).name; }

size_t DTypeSizeBytes(DType dtype) { return Info(dtype).size_bytes; }

bool IsFloatDType(DType dtype) {
  return dtype == DType::kF32 || dtype == DType::kF16 || dtype == DType::kBF16;
}

size_t TensorView::NumElements() const {
  size_t product = 1;
  for (const int64_t dim : shape) {
    product *= static_cast<size_t>(dim);
  }
  return product;
}

std::string FormatShape(std::span<const int64_t> shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) {
      out += ", ";
    }
    out += std::to_string(shape[i]);
  }
  return out + "]";
}

}  // namespace eml::model
