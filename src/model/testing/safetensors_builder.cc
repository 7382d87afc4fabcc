#include "model/testing/safetensors_builder.h"

#include <bit>
#include <nlohmann/json.hpp>
#include <utility>

#include "common/byte_writer.h"
#include "common/check.h"

namespace eml::model::testing {

SafetensorsBuilder& SafetensorsBuilder::AddF32(std::string name, std::vector<int64_t> shape,
                                               const std::vector<float>& values) {
  return AddRaw(std::move(name), "F32", std::move(shape), F32Bytes(values));
}

SafetensorsBuilder& SafetensorsBuilder::AddRaw(std::string name, std::string dtype,
                                               std::vector<int64_t> shape,
                                               std::vector<uint8_t> bytes) {
  entries_.push_back(Entry{std::move(name), std::move(dtype), std::move(shape), std::move(bytes)});
  return *this;
}

SafetensorsBuilder& SafetensorsBuilder::AddMetadata(std::string key, std::string value) {
  metadata_.emplace_back(std::move(key), std::move(value));
  return *this;
}

std::string SafetensorsBuilder::HeaderJson() const {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata_.empty()) {
    nlohmann::ordered_json metadata = nlohmann::ordered_json::object();
    for (const auto& [key, value] : metadata_) {
      metadata[key] = value;
    }
    header["__metadata__"] = metadata;
  }
  size_t offset = 0;
  for (const Entry& e : entries_) {
    header[e.name] = {{"dtype", e.dtype},
                      {"shape", e.shape},
                      {"data_offsets", {offset, offset + e.bytes.size()}}};
    offset += e.bytes.size();
  }
  return header.dump();
}

std::vector<uint8_t> SafetensorsBuilder::Data() const {
  std::vector<uint8_t> data;
  for (const Entry& e : entries_) {
    data.insert(data.end(), e.bytes.begin(), e.bytes.end());
  }
  return data;
}

std::vector<uint8_t> SafetensorsBuilder::Build() const {
  std::string header = HeaderJson();
  header.append((8 - header.size() % 8) % 8, ' ');
  return RawSafetensors(header, Data());
}

std::vector<uint8_t> RawSafetensors(std::string_view header, const std::vector<uint8_t>& data) {
  return RawSafetensorsWithLength(header.size(), header, data);
}

std::vector<uint8_t> RawSafetensorsWithLength(uint64_t declared_length, std::string_view header,
                                              const std::vector<uint8_t>& data) {
  ByteWriter writer;
  writer.PutU64Le(declared_length);
  for (const char c : header) {
    writer.PutU8(static_cast<uint8_t>(c));
  }
  writer.PutBytes(data);
  std::optional<std::vector<uint8_t>> out = std::move(writer).Finish();
  EML_CHECK(out.has_value());
  return std::move(*out);
}

std::vector<uint8_t> F32Bytes(const std::vector<float>& values) {
  ByteWriter writer;
  for (const float v : values) {
    writer.PutU32Le(std::bit_cast<uint32_t>(v));
  }
  std::optional<std::vector<uint8_t>> out = std::move(writer).Finish();
  EML_CHECK(out.has_value());
  return std::move(*out);
}

}  // namespace eml::model::testing
