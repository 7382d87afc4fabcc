#pragma once
// eml::model::stores::FileStore: a ModelStore on a local directory (file:// URLs):
// ROOT/<model_id>/<version>/<stored path>. Publish copies into ROOT/<model_id>/.incoming-*
// and renames the finished folder into place, so readers never see a half-published version.
// Posture and thread safety: see model/store.h.

#include <filesystem>
#include <memory>

#include "model/store.h"

namespace eml::model::stores {

class FileStore final : public ModelStore {
 public:
  // Open uses the existing directory `root` (absolute path).
  // Errors: kStoreBadUrl (relative or empty path), kNotFound (not a directory).
  static Result<std::unique_ptr<ModelStore>> Open(const std::filesystem::path& root);

  Status Publish(const std::filesystem::path& package_dir) override;
  Result<uint64_t> Size(std::string_view model_id, std::string_view version,
                        std::string_view name) override;
  Result<std::vector<uint8_t>> Fetch(std::string_view model_id, std::string_view version,
                                     std::string_view name, size_t max_bytes) override;
  Result<std::vector<uint8_t>> ReadRange(std::string_view model_id, std::string_view version,
                                         std::string_view name, uint64_t offset,
                                         size_t length) override;

 private:
  explicit FileStore(std::filesystem::path root) : root_(std::move(root)) {}
  Result<std::filesystem::path> PathOf(std::string_view model_id, std::string_view version,
                                       std::string_view name) const;

  std::filesystem::path root_;
};

}  // namespace eml::model::stores
