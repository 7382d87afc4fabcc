#include "model/safetensors.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <limits>

#include "model/model_directory.h"
#include "model/testing/safetensors_builder.h"
#include "testing/test_util.h"

namespace eml::model {
namespace {

using ::eml::model::testing::F32Bytes;
using ::eml::model::testing::RawSafetensors;
using ::eml::model::testing::RawSafetensorsWithLength;
using ::eml::model::testing::SafetensorsBuilder;
using ::eml::testing::HasError;
using ::eml::testing::IsOk;
using ::testing::ElementsAre;

std::vector<uint8_t> Zeros(size_t n) { return std::vector<uint8_t>(n, 0); }

// A header with one tensor entry `entry` (JSON text) named "t", over `data_size` zero bytes.
std::vector<uint8_t> OneEntry(const std::string& entry, size_t data_size) {
  return RawSafetensors("{\"t\":" + entry + "}", Zeros(data_size));
}

Result<SafetensorsFile> Parse(std::vector<uint8_t> bytes, const SafetensorsLimits& limits = {}) {
  return SafetensorsFile::FromBuffer(std::move(bytes), limits);
}

class TempFile {
 public:
  explicit TempFile(const std::vector<uint8_t>& bytes) {
    path_ = std::filesystem::temp_directory_path() /
            ("eml_model_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++));
    std::ofstream out(path_, std::ios::binary);
    for (const uint8_t b : bytes) {
      out.put(static_cast<char>(b));
    }
  }
  ~TempFile() { std::filesystem::remove(path_); }
  const std::filesystem::path& path() const { return path_; }

 private:
  static inline int counter_ = 0;
  std::filesystem::path path_;
};

TEST(SafetensorsTest, ParsesValidFile) {
  const std::vector<uint8_t> bytes = SafetensorsBuilder()
                                         .AddMetadata("format", "pt")
                                         .AddF32("b", {2}, {1.5f, -2.0f})
                                         .AddF32("a", {1, 3}, {0.0f, 1.0f, 2.0f})
                                         .AddRaw("ids", "I64", {2}, Zeros(16))
                                         .Build();
  Result<SafetensorsFile> file = Parse(bytes);
  ASSERT_THAT(file, IsOk());
  ASSERT_EQ(file->tensors().size(), 3u);
  EXPECT_EQ(file->tensors()[0].name, "a");  // sorted by name
  EXPECT_EQ(file->tensors()[1].name, "b");
  EXPECT_EQ(file->tensors()[2].name, "ids");
  EXPECT_EQ(file->tensors()[2].dtype, DType::kI64);
  EXPECT_EQ(file->data_section_size_bytes(), 8u + 12u + 16u);
  EXPECT_THAT(file->metadata(),
              ElementsAre(std::make_pair(std::string("format"), std::string("pt"))));
  const TensorView* a = file->Find("a");
  ASSERT_NE(a, nullptr);
  EXPECT_THAT(a->shape, ElementsAre(1, 3));
  EXPECT_EQ(a->NumElements(), 3u);
  EXPECT_EQ(a->data.size(), 12u);
  EXPECT_EQ(file->Find("c"), nullptr);
  const std::vector<int64_t> shape = {1, 3};
  Result<std::vector<float>> values = file->ReadAsF32("a", shape);
  ASSERT_THAT(values, IsOk());
  EXPECT_THAT(*values, ElementsAre(0.0f, 1.0f, 2.0f));
  EXPECT_THAT(*file->ReadAsF32("b"), ElementsAre(1.5f, -2.0f));
}

TEST(SafetensorsTest, ViewAsF32ViewsAlignedF32InPlaceAndConvertsTheRest) {
  const std::vector<float> values = {1.5f, -2.0f, 0.25f, 8.0f, -0.0f, 3.0f};
  const std::vector<uint8_t> bytes = SafetensorsBuilder()
                                         .AddF32("w", {2, 3}, values)
                                         .AddRaw("h", "F16", {2}, {0x00, 0x3c, 0x00, 0xc0})
                                         .Build();
  const std::vector<int64_t> shape = {2, 3};
  bool saw_view = false;
  bool saw_copy = false;
  // Shift the whole file by 0..3 bytes in memory: the tensor's address is float-aligned for some
  // shifts (viewed in place) and not for others (converted into the scratch vector).
  for (size_t shift = 0; shift < 4; ++shift) {
    std::vector<uint8_t> storage(bytes.size() + shift);
    std::copy(bytes.begin(), bytes.end(), storage.begin() + static_cast<std::ptrdiff_t>(shift));
    Result<SafetensorsFile> file =
        SafetensorsFile::FromView(std::span<const uint8_t>(storage).subspan(shift));
    ASSERT_THAT(file, IsOk());
    const uint8_t* tensor_bytes = file->Find("w")->data.data();
    std::vector<float> scratch;
    Result<std::span<const float>> view = file->ViewAsF32("w", shape, scratch);
    ASSERT_THAT(view, IsOk());
    EXPECT_THAT(*view, ::testing::ElementsAreArray(values));
    if (reinterpret_cast<uintptr_t>(tensor_bytes) % alignof(float) == 0) {
      saw_view = true;
      EXPECT_EQ(static_cast<const void*>(view->data()), static_cast<const void*>(tensor_bytes));
      EXPECT_TRUE(scratch.empty());
    } else {
      saw_copy = true;
      EXPECT_EQ(view->data(), scratch.data());
    }
    std::vector<float> half_scratch;
    Result<std::span<const float>> halves = file->ViewAsF32("h", {}, half_scratch);
    ASSERT_THAT(halves, IsOk());
    EXPECT_THAT(*halves, ElementsAre(1.0f, -2.0f));
    EXPECT_EQ(halves->data(), half_scratch.data());  // F16 is always converted
    EXPECT_THAT(file->ViewAsF32("absent", {}, scratch), HasError(ErrorCode::kModelTensorNotFound));
    const std::vector<int64_t> wrong = {3, 2};
    EXPECT_THAT(file->ViewAsF32("w", wrong, scratch), HasError(ErrorCode::kModelShapeMismatch));
  }
  EXPECT_TRUE(saw_view);
  EXPECT_TRUE(saw_copy);
}

TEST(SafetensorsTest, ViewsSurviveMove) {
  Result<SafetensorsFile> file = Parse(SafetensorsBuilder().AddF32("x", {1}, {7.0f}).Build());
  ASSERT_THAT(file, IsOk());
  SafetensorsFile moved = std::move(*file);
  SafetensorsFile assigned = std::move(moved);
  EXPECT_EQ(assigned.tensors()[0].name, "x");
  EXPECT_THAT(*assigned.ReadAsF32("x"), ElementsAre(7.0f));
}

TEST(SafetensorsTest, EmptyHeaderAndZeroSizedTensorsAreValid) {
  EXPECT_THAT(Parse(RawSafetensors("{}", {})), IsOk());
  Result<SafetensorsFile> file = Parse(SafetensorsBuilder()
                                           .AddF32("empty", {0, 4}, {})
                                           .AddF32("one", {1}, {3.0f})
                                           .AddF32("empty2", {4, 0}, {})
                                           .Build());
  ASSERT_THAT(file, IsOk());
  EXPECT_TRUE(file->ReadAsF32("empty")->empty());
}

TEST(SafetensorsTest, ConvertsF16Exactly) {
  // 1.0, -2.0, smallest subnormal 2^-24, largest subnormal, 65504, +inf, -0.0, NaN.
  const std::vector<uint16_t> halves = {0x3c00, 0xc000, 0x0001, 0x03ff,
                                        0x7bff, 0x7c00, 0x8000, 0x7e00};
  std::vector<uint8_t> bytes;
  for (const uint16_t h : halves) {
    bytes.push_back(static_cast<uint8_t>(h & 0xff));
    bytes.push_back(static_cast<uint8_t>(h >> 8));
  }
  Result<SafetensorsFile> file = Parse(SafetensorsBuilder().AddRaw("h", "F16", {8}, bytes).Build());
  ASSERT_THAT(file, IsOk());
  Result<std::vector<float>> values = file->ReadAsF32("h");
  ASSERT_THAT(values, IsOk());
  EXPECT_EQ((*values)[0], 1.0f);
  EXPECT_EQ((*values)[1], -2.0f);
  EXPECT_EQ((*values)[2], std::ldexp(1.0f, -24));
  EXPECT_EQ((*values)[3], std::ldexp(1023.0f, -24));
  EXPECT_EQ((*values)[4], 65504.0f);
  EXPECT_EQ((*values)[5], std::numeric_limits<float>::infinity());
  EXPECT_EQ((*values)[6], 0.0f);
  EXPECT_TRUE(std::signbit((*values)[6]));
  EXPECT_TRUE(std::isnan((*values)[7]));
}

TEST(SafetensorsTest, ConvertsBf16Exactly) {
  // 1.0 = 0x3f80, -0.5 = 0xbf00, 3.140625 = 0x4049.
  const std::vector<uint8_t> bytes = {0x80, 0x3f, 0x00, 0xbf, 0x49, 0x40};
  Result<SafetensorsFile> file =
      Parse(SafetensorsBuilder().AddRaw("b", "BF16", {3}, bytes).Build());
  ASSERT_THAT(file, IsOk());
  EXPECT_THAT(*file->ReadAsF32("b"), ElementsAre(1.0f, -0.5f, 3.140625f));
}

// --- Truncation and limits -----------------------------------------------------------------

TEST(SafetensorsTest, EmptyBufferIsTruncated) {
  EXPECT_THAT(Parse({}), HasError(ErrorCode::kModelTruncated));
}

TEST(SafetensorsTest, ShortLengthPrefixIsTruncated) {
  EXPECT_THAT(Parse({2, 0, 0, 0, 0, 0, 0}), HasError(ErrorCode::kModelTruncated));
}

TEST(SafetensorsTest, HeaderPastEndIsTruncated) {
  EXPECT_THAT(Parse(RawSafetensorsWithLength(100, "{}", {})), HasError(ErrorCode::kModelTruncated));
}

TEST(SafetensorsTest, HeaderAboveLimit) {
  EXPECT_THAT(Parse(RawSafetensorsWithLength(uint64_t{1} << 40, "{}", {})),
              HasError(ErrorCode::kModelHeaderTooLarge));
  SafetensorsLimits limits;
  limits.max_header_bytes = 16;
  EXPECT_THAT(Parse(RawSafetensors("{\"__metadata__\":{\"k\":\"v\"}}", {}), limits),
              HasError(ErrorCode::kModelHeaderTooLarge));
}

TEST(SafetensorsTest, TooManyTensors) {
  SafetensorsLimits limits;
  limits.max_tensors = 1;
  EXPECT_THAT(
      Parse(SafetensorsBuilder().AddF32("a", {1}, {1}).AddF32("b", {1}, {2}).Build(), limits),
      HasError(ErrorCode::kModelTooManyTensors));
}

// --- Header structure ----------------------------------------------------------------------

TEST(SafetensorsTest, HeaderNotJson) {
  EXPECT_THAT(Parse(RawSafetensors("{\"t\":", {})), HasError(ErrorCode::kModelBadHeader));
  EXPECT_THAT(Parse(RawSafetensors("", {})), HasError(ErrorCode::kModelBadHeader));
  EXPECT_THAT(Parse(RawSafetensors("{\"\xff\":1}", {})), HasError(ErrorCode::kModelBadHeader));
}

TEST(SafetensorsTest, HeaderNotObject) {
  EXPECT_THAT(Parse(RawSafetensors("[]", {})), HasError(ErrorCode::kModelBadHeader));
  EXPECT_THAT(Parse(RawSafetensors("7", {})), HasError(ErrorCode::kModelBadHeader));
}

TEST(SafetensorsTest, HeaderTooDeep) {
  EXPECT_THAT(Parse(OneEntry(R"({"dtype":"F32","shape":[[1]],"data_offsets":[0,4]})", 4)),
              HasError(ErrorCode::kModelBadHeader));
  EXPECT_THAT(Parse(RawSafetensors(std::string(10000, '[') + std::string(10000, ']'), {})),
              HasError(ErrorCode::kModelBadHeader));
}

TEST(SafetensorsTest, EntryFieldsMissingExtraOrRepeated) {
  EXPECT_THAT(Parse(OneEntry(R"({"dtype":"F32","shape":[1]})", 4)),
              HasError(ErrorCode::kModelBadHeader));
  EXPECT_THAT(Parse(OneEntry(R"({"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1})", 4)),
              HasError(ErrorCode::kModelBadHeader));
  EXPECT_THAT(Parse(OneEntry(R"({"dtype":"F32","shape":[1],"shape":[1],"data_offsets":[0,4]})", 4)),
              HasError(ErrorCode::kModelBadHeader));
  EXPECT_THAT(Parse(OneEntry("[1,2,3]", 4)), HasError(ErrorCode::kModelBadHeader));
  EXPECT_THAT(Parse(OneEntry(R"({"dtype":4,"shape":[1],"data_offsets":[0,4]})", 4)),
              HasError(ErrorCode::kModelBadHeader));
}

TEST(SafetensorsTest, EmptyTensorName) {
  EXPECT_THAT(
      Parse(RawSafetensors(R"({"":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", Zeros(4))),
      HasError(ErrorCode::kModelBadHeader));
}

TEST(SafetensorsTest, MetadataMustBeStringMap) {
  EXPECT_THAT(Parse(RawSafetensors(R"({"__metadata__":[]})", {})),
              HasError(ErrorCode::kModelBadHeader));
  EXPECT_THAT(Parse(RawSafetensors(R"({"__metadata__":{"k":1}})", {})),
              HasError(ErrorCode::kModelBadHeader));
}

TEST(SafetensorsTest, DuplicateTensor) {
  const std::string entry = R"({"dtype":"F32","shape":[1],"data_offsets":[0,4]})";
  EXPECT_THAT(Parse(RawSafetensors("{\"t\":" + entry + ",\"t\":" + entry + "}", Zeros(4))),
              HasError(ErrorCode::kModelDuplicateTensor));
}

TEST(SafetensorsTest, UnknownDtype) {
  EXPECT_THAT(Parse(OneEntry(R"({"dtype":"Q4_0","shape":[1],"data_offsets":[0,4]})", 4)),
              HasError(ErrorCode::kModelUnsupportedDtype));
  EXPECT_THAT(Parse(OneEntry(R"({"dtype":"f32","shape":[1],"data_offsets":[0,4]})", 4)),
              HasError(ErrorCode::kModelUnsupportedDtype));
}

TEST(SafetensorsTest, BadShapes) {
  for (const char* shape : {"[-1]", "[1.5]", "\"1\"", "{}", "[true]", "[9223372036854775808]"}) {
    EXPECT_THAT(
        Parse(OneEntry(
            std::string(R"({"dtype":"F32","shape":)") + shape + R"(,"data_offsets":[0,4]})", 4)),
        HasError(ErrorCode::kModelBadShape))
        << shape;
  }
  SafetensorsLimits limits;
  limits.max_rank = 2;
  EXPECT_THAT(Parse(OneEntry(R"({"dtype":"F32","shape":[1,1,1],"data_offsets":[0,4]})", 4), limits),
              HasError(ErrorCode::kModelBadShape));
}

TEST(SafetensorsTest, ShapeProductOverflows) {
  EXPECT_THAT(
      Parse(OneEntry(R"({"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]})", 4)),
      HasError(ErrorCode::kIntegerOverflow));
  // The element count fits but the byte count does not.
  EXPECT_THAT(Parse(OneEntry(R"({"dtype":"F32","shape":[4611686018427387904],)"
                             R"("data_offsets":[0,4]})",
                             4)),
              HasError(ErrorCode::kIntegerOverflow));
}

TEST(SafetensorsTest, BadOffsets) {
  for (const char* offsets : {"[4,0]", "[0,8]", "[0]", "[0,4,4]", "[-1,3]", "[0,4.0]", "{}",
                              "[0,18446744073709551615]"}) {
    EXPECT_THAT(
        Parse(OneEntry(std::string(R"({"dtype":"F32","shape":[1],"data_offsets":)") + offsets + "}",
                       4)),
        HasError(ErrorCode::kModelBadOffsets))
        << offsets;
  }
}

TEST(SafetensorsTest, SizeMismatch) {
  EXPECT_THAT(Parse(OneEntry(R"({"dtype":"F32","shape":[2],"data_offsets":[0,4]})", 4)),
              HasError(ErrorCode::kModelTensorSizeMismatch));
  EXPECT_THAT(Parse(OneEntry(R"({"dtype":"F16","shape":[1],"data_offsets":[0,4]})", 4)),
              HasError(ErrorCode::kModelTensorSizeMismatch));
}

TEST(SafetensorsTest, OverlappingTensors) {
  EXPECT_THAT(Parse(RawSafetensors(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                   R"("b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                                   Zeros(8))),
              HasError(ErrorCode::kModelOverlappingTensors));
  // Two names for the same bytes are an overlap too.
  EXPECT_THAT(Parse(RawSafetensors(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                                   R"("b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})",
                                   Zeros(4))),
              HasError(ErrorCode::kModelOverlappingTensors));
}

TEST(SafetensorsTest, HoleBetweenTensors) {
  EXPECT_THAT(Parse(RawSafetensors(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                                   R"("b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
                                   Zeros(12))),
              HasError(ErrorCode::kModelDataHole));
}

TEST(SafetensorsTest, TrailingDataIsAHole) {
  EXPECT_THAT(Parse(OneEntry(R"({"dtype":"F32","shape":[1],"data_offsets":[0,4]})", 5)),
              HasError(ErrorCode::kModelDataHole));
  EXPECT_THAT(Parse(RawSafetensors("{}", Zeros(1))), HasError(ErrorCode::kModelDataHole));
}

// --- ReadAsF32 -----------------------------------------------------------------------------

TEST(SafetensorsTest, ReadAsF32Errors) {
  Result<SafetensorsFile> file = Parse(SafetensorsBuilder()
                                           .AddF32("w", {2, 2}, {1, 2, 3, 4})
                                           .AddRaw("ids", "I64", {1}, Zeros(8))
                                           .Build());
  ASSERT_THAT(file, IsOk());
  EXPECT_THAT(file->ReadAsF32("missing"), HasError(ErrorCode::kModelTensorNotFound));
  const std::vector<int64_t> transposed = {2, 1};
  EXPECT_THAT(file->ReadAsF32("w", transposed), HasError(ErrorCode::kModelShapeMismatch));
  const std::vector<int64_t> longer = {2, 2, 1};
  EXPECT_THAT(file->ReadAsF32("w", longer), HasError(ErrorCode::kModelShapeMismatch));
  EXPECT_THAT(file->ReadAsF32("ids"), HasError(ErrorCode::kModelUnsupportedDtype));
}

// --- Open (mmap) ---------------------------------------------------------------------------

TEST(SafetensorsOpenTest, MatchesFromBuffer) {
  const std::vector<uint8_t> bytes =
      SafetensorsBuilder().AddF32("a", {2}, {1, 2}).AddF32("b", {1}, {3}).Build();
  TempFile tmp(bytes);
  Result<SafetensorsFile> mapped = SafetensorsFile::Open(tmp.path());
  ASSERT_THAT(mapped, IsOk());
  EXPECT_THAT(*mapped->ReadAsF32("a"), ElementsAre(1.0f, 2.0f));
  EXPECT_THAT(*mapped->ReadAsF32("b"), ElementsAre(3.0f));
}

TEST(SafetensorsOpenTest, MissingFile) {
  EXPECT_THAT(SafetensorsFile::Open("/nonexistent/eml/model.safetensors"),
              HasError(ErrorCode::kNotFound));
}

TEST(SafetensorsOpenTest, DirectoryIsNotAFile) {
  EXPECT_THAT(SafetensorsFile::Open(std::filesystem::temp_directory_path()),
              HasError(ErrorCode::kIoError));
}

TEST(SafetensorsOpenTest, EmptyAndShortFiles) {
  TempFile empty({});
  EXPECT_THAT(SafetensorsFile::Open(empty.path()), HasError(ErrorCode::kModelTruncated));
  TempFile short_file({1, 2, 3});
  EXPECT_THAT(SafetensorsFile::Open(short_file.path()), HasError(ErrorCode::kModelTruncated));
  TempFile cut(RawSafetensorsWithLength(64, "{}", {}));
  EXPECT_THAT(SafetensorsFile::Open(cut.path()), HasError(ErrorCode::kModelTruncated));
}

TEST(SafetensorsOpenTest, ValidationErrorsFromFile) {
  TempFile hole(RawSafetensors("{}", Zeros(3)));
  EXPECT_THAT(SafetensorsFile::Open(hole.path()), HasError(ErrorCode::kModelDataHole));
}

// --- The real all-MiniLM-L6-v2 file ------------------------------------------------------------

std::filesystem::path MiniLmWeights() {
  const std::filesystem::path path = DefaultModelDirectoryPath() / "model.safetensors";
  if (!std::filesystem::exists(path)) {
    ADD_FAILURE() << path << " is missing: run scripts/fetch-model (or set EML_MODEL_DIR)";
  }
  return path;
}

TEST(SafetensorsMiniLmTest, OpenAndFromBufferAgree) {
  const std::filesystem::path path = MiniLmWeights();
  Result<SafetensorsFile> mapped = SafetensorsFile::Open(path);
  ASSERT_THAT(mapped, IsOk());
  Result<SafetensorsFile> buffered = SafetensorsFile::FromBuffer(eml::testing::ReadFileBytes(path));
  ASSERT_THAT(buffered, IsOk());
  ASSERT_EQ(mapped->tensors().size(), buffered->tensors().size());
  EXPECT_EQ(mapped->tensors().size(), 104u);  // 5 embedding + 6 * 16 layer + 2 pooler + ids
  EXPECT_EQ(mapped->metadata(), buffered->metadata());
  for (size_t i = 0; i < mapped->tensors().size(); ++i) {
    const TensorView& a = mapped->tensors()[i];
    const TensorView& b = buffered->tensors()[i];
    EXPECT_EQ(a.name, b.name);
    EXPECT_EQ(a.dtype, b.dtype);
    EXPECT_EQ(a.shape, b.shape);
    ASSERT_EQ(a.data.size(), b.data.size()) << a.name;
    EXPECT_TRUE(std::equal(a.data.begin(), a.data.end(), b.data.begin())) << a.name;
  }
  const TensorView* ids = mapped->Find("embeddings.position_ids");
  ASSERT_NE(ids, nullptr);
  EXPECT_EQ(ids->dtype, DType::kI64);
  const std::vector<int64_t> word_shape = {30522, 384};
  Result<std::vector<float>> word =
      mapped->ReadAsF32("embeddings.word_embeddings.weight", word_shape);
  ASSERT_THAT(word, IsOk());
  EXPECT_EQ(word->size(), size_t{30522} * 384);
}

}  // namespace
}  // namespace eml::model
