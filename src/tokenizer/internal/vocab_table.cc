#include "tokenizer/internal/vocab_table.h"

#include <bit>

#include "common/check.h"

namespace eml::tokenizer::internal {

uint64_t VocabTable::Hash(std::string_view token) {
  uint64_t hash = 0xcbf29ce484222325ull;
  for (char c : token) {
    hash ^= static_cast<uint8_t>(c);
    hash *= 0x100000001b3ull;
  }
  // FNV's low bits mix poorly for short keys; fold the high half in before masking.
  return hash ^ (hash >> 29);
}

void VocabTable::Build(const std::vector<Entry>& entries) {
  size_t capacity = std::bit_ceil(entries.size() * 2 + 2);
  slots_.assign(capacity, Slot{});
  mask_ = capacity - 1;
  num_entries_ = entries.size();
  arena_.clear();
  size_t arena_bytes = 0;
  for (const Entry& e : entries) {
    arena_bytes += e.token.size();
  }
  EML_CHECK(arena_bytes <= UINT32_MAX);
  arena_.reserve(arena_bytes);
  for (const Entry& e : entries) {
    uint64_t hash = Hash(e.token);
    size_t index = static_cast<size_t>(hash) & mask_;
    while (slots_[index].id >= 0) {
      index = (index + 1) & mask_;
    }
    slots_[index] = Slot{hash, static_cast<uint32_t>(arena_.size()),
                         static_cast<uint32_t>(e.token.size()), e.id};
    arena_.append(e.token);
  }
}

int32_t VocabTable::Find(std::string_view token) const {
  if (slots_.empty()) {
    return -1;
  }
  uint64_t hash = Hash(token);
  size_t index = static_cast<size_t>(hash) & mask_;
  std::string_view arena(arena_);
  while (true) {
    const Slot& slot = slots_[index];
    if (slot.id < 0) {
      return -1;
    }
    if (slot.hash == hash && arena.substr(slot.offset, slot.length) == token) {
      return slot.id;
    }
    index = (index + 1) & mask_;
  }
}

}  // namespace eml::tokenizer::internal
