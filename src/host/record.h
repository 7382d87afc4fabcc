#pragma once
// eml::host::RecordFile: one file of the host's --record output. The relay, the store proxy and
// the egress proxy write every byte that crosses the host into RECORD_DIR, one file per
// connection and direction, so that the blindness test can search all of it. Each component
// names its files with its own prefix (relay: conn-<id>-c2e.bin / conn-<id>-e2c.bin; store
// proxy: store-<id>-req.bin / store-<id>-resp.bin; egress proxy: egress-<id>-out.bin /
// egress-<id>-in.bin).
//
// Posture: writes bytes as given; reads nothing.
//
// Thread safety: a RecordFile is used by one thread at a time.

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>

#include "common/result.h"

namespace eml::host {

// PrepareRecordDir creates `dir` (and its parents) if needed. Errors: kHostRecordFailed.
Status PrepareRecordDir(const std::filesystem::path& dir);

class RecordFile {
 public:
  RecordFile() = default;  // closed: Append is a no-op
  // Open creates (or truncates) dir/name. Errors: kHostRecordFailed.
  static Result<RecordFile> Open(const std::filesystem::path& dir, const std::string& name);

  bool is_open() const { return out_.is_open(); }
  // Append writes `bytes` at the end (nothing when closed). Errors: kHostRecordFailed.
  Status Append(std::span<const uint8_t> bytes);
  // Close flushes and closes the file; idempotent.
  void Close();

 private:
  std::ofstream out_;
};

}  // namespace eml::host
