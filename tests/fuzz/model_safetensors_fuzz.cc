// Fuzz target `model_safetensors`: SafetensorsFile::FromBuffer on arbitrary bytes.
// Properties: never crashes; fails only with safetensors codes (450-460) or kIntegerOverflow;
// a parsed file's tensors are sorted, unique, findable, sized product(shape) * dtype size and
// tile the data section; float tensors convert to NumElements floats; re-serializing the parsed
// tensors and metadata (SafetensorsBuilder, tensors in offset order) parses to the same content;
// ResolveBertWeightNames on a tiny config never crashes.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <vector>

#include "model/bert.h"
#include "model/safetensors.h"
#include "model/testing/safetensors_builder.h"

namespace {

using eml::ErrorCode;
using eml::model::SafetensorsFile;
using eml::model::TensorView;

void Require(bool condition) {
  if (!condition) {
    std::abort();
  }
}

bool IsExpectedError(ErrorCode code) {
  const auto value = static_cast<uint16_t>(code);
  return (value >= 450 && value <= 460) || code == ErrorCode::kIntegerOverflow;
}

void CheckParsed(const SafetensorsFile& file) {
  const std::vector<TensorView>& tensors = file.tensors();
  size_t total_bytes = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const TensorView& t = tensors[i];
    Require(i == 0 || tensors[i - 1].name < t.name);
    Require(file.Find(t.name) == &t);
    Require(t.data.size() == t.NumElements() * eml::model::DTypeSizeBytes(t.dtype));
    total_bytes += t.data.size();
    if (eml::model::IsFloatDType(t.dtype)) {
      eml::Result<std::vector<float>> values = file.ReadAsF32(t.name, t.shape);
      Require(values.has_value() && values->size() == t.NumElements());
    }
  }
  Require(total_bytes == file.data_section_size_bytes());
}

void CheckRoundTrip(const SafetensorsFile& file) {
  std::vector<const TensorView*> by_offset;
  for (const TensorView& t : file.tensors()) {
    by_offset.push_back(&t);
  }
  // Data spans all point into one buffer, so their addresses order them by offset.
  std::sort(by_offset.begin(), by_offset.end(), [](const TensorView* a, const TensorView* b) {
    return std::less<const uint8_t*>()(a->data.data(), b->data.data());
  });
  eml::model::testing::SafetensorsBuilder builder;
  for (const auto& [key, value] : file.metadata()) {
    builder.AddMetadata(key, value);
  }
  for (const TensorView* t : by_offset) {
    builder.AddRaw(std::string(t->name), std::string(eml::model::DTypeName(t->dtype)), t->shape,
                   std::vector<uint8_t>(t->data.begin(), t->data.end()));
  }
  eml::Result<SafetensorsFile> again = SafetensorsFile::FromBuffer(builder.Build());
  Require(again.has_value());
  Require(again->metadata() == file.metadata());
  Require(again->tensors().size() == file.tensors().size());
  for (size_t i = 0; i < file.tensors().size(); ++i) {
    const TensorView& a = file.tensors()[i];
    const TensorView& b = again->tensors()[i];
    Require(a.name == b.name && a.dtype == b.dtype && a.shape == b.shape);
    Require(std::equal(a.data.begin(), a.data.end(), b.data.begin(), b.data.end()));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> input(data, size);
  eml::Result<SafetensorsFile> file =
      SafetensorsFile::FromBuffer(std::vector<uint8_t>(input.begin(), input.end()));
  if (!file.has_value()) {
    Require(IsExpectedError(file.error().code));
    return 0;
  }
  CheckParsed(*file);
  CheckRoundTrip(*file);
  eml::model::BertConfig config;
  config.hidden_size = 4;
  config.num_layers = 1;
  config.num_heads = 2;
  config.intermediate_size = 8;
  config.max_position_embeddings = 6;
  config.vocab_size = 10;
  config.type_vocab_size = 2;
  config.layer_norm_eps = 1e-12f;
  config.hidden_act = "gelu";
  (void)eml::model::ResolveBertWeightNames(*file, config);
  return 0;
}
