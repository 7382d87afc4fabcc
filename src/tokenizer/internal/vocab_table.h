#pragma once
// VocabTable: an immutable open-addressing hash table from token bytes to id, built once when a
// tokenizer loads. Keys live in one arena string; lookups hash the key once (FNV-1a 64) and
// compare at most a few slots. Thread-safe for concurrent Find after Build.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace eml::tokenizer::internal {

class VocabTable {
 public:
  struct Entry {
    std::string_view token;
    int32_t id;
  };

  // Build replaces the table's contents with `entries` (tokens must be distinct). Load factor
  // stays at or below 1/2.
  void Build(const std::vector<Entry>& entries);

  // Find returns the id of `token`, or -1 when absent.
  int32_t Find(std::string_view token) const;

  size_t size() const { return num_entries_; }

 private:
  struct Slot {
    uint64_t hash = 0;
    uint32_t offset = 0;
    uint32_t length = 0;
    int32_t id = -1;  // -1: empty slot
  };

  static uint64_t Hash(std::string_view token);

  std::string arena_;
  std::vector<Slot> slots_;
  size_t mask_ = 0;
  size_t num_entries_ = 0;
};

}  // namespace eml::tokenizer::internal
