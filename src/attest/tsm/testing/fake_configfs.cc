#include "attest/tsm/testing/fake_configfs.h"

#include <fstream>

#include "common/check.h"
#include "testing/test_util.h"

namespace eml::attest::tsm::testing {
namespace {

void WriteFile(const std::filesystem::path& path, std::span<const uint8_t> bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  EML_CHECK(out.good());
}

void WriteText(const std::filesystem::path& path, const std::string& text) {
  WriteFile(path,
            std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

}  // namespace

void FakeConfigfs::OnMkdir(const std::filesystem::path& entry) {
  WriteText(entry / "inblob", "");
  WriteText(entry / "outblob", "");
  WriteText(entry / "generation", "0\n");
  WriteText(entry / "provider", provider_ + "\n");
  if (provider_ == kProviderSevSnp) {
    WriteText(entry / "auxblob", "");
  }
}

void FakeConfigfs::OnWrite(const std::filesystem::path& entry, const std::string& attribute) {
  EML_CHECK(attribute == "inblob");
  const std::vector<uint8_t> inblob = eml::testing::ReadFileBytes(entry / "inblob");
  WriteFile(entry / "outblob", make_outblob_(inblob));
  if (provider_ == kProviderSevSnp) {
    WriteFile(entry / "auxblob", auxblob_);
  }
  WriteText(entry / "generation", "1\n");
  std::lock_guard<std::mutex> lock(mutex_);
  ++reports_;
  last_inblob_ = inblob;
}

void FakeConfigfs::OnRmdir(const std::filesystem::path& entry) {
  for (const char* name : {"inblob", "outblob", "generation", "provider", "auxblob"}) {
    std::filesystem::remove(entry / name);
  }
}

int FakeConfigfs::reports() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return reports_;
}

std::vector<uint8_t> FakeConfigfs::last_inblob() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return last_inblob_;
}

}  // namespace eml::attest::tsm::testing
