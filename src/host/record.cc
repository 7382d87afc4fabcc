#include "host/record.h"

#include <system_error>
#include <utility>

namespace eml::host {

Status PrepareRecordDir(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec || !std::filesystem::is_directory(dir)) {
    return Error{ErrorCode::kHostRecordFailed, "cannot create the --record directory"};
  }
  return OkStatus();
}

Result<RecordFile> RecordFile::Open(const std::filesystem::path& dir, const std::string& name) {
  RecordFile file;
  file.out_.open(dir / name, std::ios::binary | std::ios::trunc);
  if (!file.out_) {
    return Error{ErrorCode::kHostRecordFailed, "cannot create --record file " + name};
  }
  return file;
}

Status RecordFile::Append(std::span<const uint8_t> bytes) {
  if (!out_.is_open()) {
    return OkStatus();
  }
  // std::ofstream writes chars; the bytes are copied as they are.
  out_.write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
  if (!out_) {
    return Error{ErrorCode::kHostRecordFailed, "cannot write a --record file"};
  }
  return OkStatus();
}

void RecordFile::Close() {
  if (out_.is_open()) {
    out_.close();
  }
}

}  // namespace eml::host
