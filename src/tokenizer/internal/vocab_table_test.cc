#include "tokenizer/internal/vocab_table.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace eml::tokenizer::internal {
namespace {

TEST(VocabTableTest, FindsEveryKeyAndRejectsOthers) {
  std::vector<std::string> keys;
  for (int i = 0; i < 5000; ++i) {
    keys.push_back("tok" + std::to_string(i));
  }
  std::vector<VocabTable::Entry> entries;
  for (size_t i = 0; i < keys.size(); ++i) {
    entries.push_back({keys[i], static_cast<int32_t>(i)});
  }
  VocabTable table;
  table.Build(entries);
  EXPECT_EQ(table.size(), keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    EXPECT_EQ(table.Find(keys[i]), static_cast<int32_t>(i));
  }
  EXPECT_EQ(table.Find("tok"), -1);
  EXPECT_EQ(table.Find("tok5000"), -1);
  EXPECT_EQ(table.Find(""), -1);
  EXPECT_EQ(table.Find(std::string("tok1\0", 5)), -1);
}

TEST(VocabTableTest, EmptyTableFindsNothing) {
  VocabTable table;
  EXPECT_EQ(table.Find("a"), -1);
  table.Build({});
  EXPECT_EQ(table.Find("a"), -1);
}

}  // namespace
}  // namespace eml::tokenizer::internal
