#include "enclave/boot.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <nlohmann/json.hpp>
#include <utility>

#include "common/encoding.h"
#include "common/error.h"
#include "protocol/messages.h"

namespace eml::enclave {
namespace {

Status WriteAll(int fd, std::string_view contents) {
  size_t written = 0;
  while (written < contents.size()) {
    const ssize_t n = ::write(fd, contents.data() + written, contents.size() - written);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return Error{ErrorCode::kIoError, "write failed"};
    }
    written += static_cast<size_t>(n);
  }
  return OkStatus();
}

}  // namespace

Result<channel::Address> ParseListenAddress(std::string_view text) {
  Result<channel::Address> address = channel::ParseAddress(text);
  if (!address.has_value()) {
    return Error{ErrorCode::kEnclaveBadConfig, "--listen: " + ToString(address.error())};
  }
  return address;
}

std::string MeasuredConfigJson(const MeasuredConfig& config) {
  // nlohmann::json objects keep keys sorted; dump() with no indent is compact.
  nlohmann::json json = {
      {"platform", config.platform},
      {"precision", config.precision},
      {"max_sessions", config.max_sessions},
      {"protocol", protocol::kChannelProtocolVersion},
      {"message_version", protocol::kMessageVersion},
  };
  if (!config.model_id.empty()) {
    json["model_id"] = config.model_id;
    json["model_hash"] = HexEncode(config.model_hash);
    json["model_hash_scheme"] = config.model_hash_scheme;
  }
  if (!config.owner_key.empty()) {
    json["owner_key"] = config.owner_key;
  }
  return json.dump();
}

namespace {
nlohmann::json PcrsJson(const std::map<uint32_t, std::vector<uint8_t>>& pcrs) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [index, value] : pcrs) {
    out[std::to_string(index)] = HexEncode(value);
  }
  return out;
}
}  // namespace

std::string MeasurementsJson(const std::map<uint32_t, std::vector<uint8_t>>& pcrs,
                             const std::string& sim_root) {
  const nlohmann::json json = {{"pcrs", PcrsJson(pcrs)}, {"sim_root", sim_root}};
  return json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::string ReadyFileJson(const ReadyInfo& info) {
  const nlohmann::json pcrs = PcrsJson(info.pcrs);
  nlohmann::json json = {
      {"address", info.address},   {"platform", info.platform},
      {"sim_root", info.sim_root}, {"pcrs", pcrs},
      {"model_id", info.model_id}, {"pid", info.pid},
  };
  if (!info.cold_start_us.empty()) {
    nlohmann::json cold_start = nlohmann::json::object();
    for (const auto& [step, micros] : info.cold_start_us) {
      cold_start[step] = micros;
    }
    json["cold_start_us"] = cold_start;
  }
  return json.dump() + "\n";
}

Status WriteFileAtomically(const std::filesystem::path& path, std::string_view contents) {
  const std::filesystem::path tmp = path.string() + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Error{ErrorCode::kIoError, "cannot create " + tmp.string()};
  }
  Status written = WriteAll(fd, contents);
  if (written.has_value() && ::fsync(fd) != 0) {
    written = Error{ErrorCode::kIoError, "fsync failed"};
  }
  if (::close(fd) != 0 && written.has_value()) {
    written = Error{ErrorCode::kIoError, "close failed"};
  }
  if (written.has_value() && ::rename(tmp.c_str(), path.c_str()) != 0) {
    written = Error{ErrorCode::kIoError, "cannot rename to " + path.string()};
  }
  if (!written.has_value()) {
    ::unlink(tmp.c_str());
  }
  return written;
}

std::string ModelIdFromDirectory(const std::filesystem::path& dir) {
  std::filesystem::path normal = dir.lexically_normal();
  if (normal.filename().empty()) {
    normal = normal.parent_path();
  }
  return normal.filename().string();
}

}  // namespace eml::enclave
