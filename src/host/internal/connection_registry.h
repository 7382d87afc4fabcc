#pragma once
// Internal to eml_host: the connection bookkeeping the relay and the egress proxy share: the live
// connections by id (I/O thread only), and the counters and recent reports that Stats and
// WaitForClosed read from any thread.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <utility>

#include "host/relay.h"

namespace eml::host::internal {

template <typename Connection, typename ReportT>
class ConnectionRegistry {
 public:
  explicit ConnectionRegistry(std::function<void(const ReportT&)> on_close)
      : on_close_(std::move(on_close)) {}

  // I/O thread only.
  uint64_t NextId() { return next_id_++; }
  bool Full(int max_connections) const {
    return connections_.size() >= static_cast<size_t>(max_connections);
  }
  void Add(uint64_t id, const std::shared_ptr<Connection>& connection) {
    connections_[id] = connection;
    std::lock_guard lock(mu_);
    ++stats_.accepted;
    ++stats_.active;
  }
  void Forget(uint64_t id) { connections_.erase(id); }
  // CloseAll calls close(connection) for every live connection (which may Forget it).
  template <typename Fn>
  void CloseAll(Fn&& close) {
    const auto all = connections_;
    for (const auto& [id, weak] : all) {
      if (std::shared_ptr<Connection> connection = weak.lock()) {
        close(*connection);
      }
    }
  }
  // Report counts an ended connection (refused: turned away at accept), keeps its report among
  // the last kMaxRecentReports, wakes WaitForClosed and calls on_close.
  void Report(const ReportT& report, bool refused) {
    {
      std::lock_guard lock(mu_);
      if (refused) {
        ++stats_.refused;
      } else {
        --stats_.active;
        ++stats_.closed;
      }
      recent_.push_back(report);
      if (recent_.size() > kMaxRecentReports) {
        recent_.pop_front();
      }
    }
    cv_.notify_all();
    if (on_close_) {
      on_close_(report);
    }
  }

  // Any thread.
  ConnectionStats<ReportT> Stats() const {
    std::lock_guard lock(mu_);
    ConnectionStats<ReportT> out = stats_;
    out.recent.assign(recent_.begin(), recent_.end());
    return out;
  }
  bool WaitForClosed(uint64_t count, int timeout_ms) const {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                        [&] { return stats_.closed + stats_.refused >= count; });
  }

 private:
  const std::function<void(const ReportT&)> on_close_;
  uint64_t next_id_ = 1;
  std::map<uint64_t, std::weak_ptr<Connection>> connections_;

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  ConnectionStats<ReportT> stats_;  // .recent unused; see recent_
  std::deque<ReportT> recent_;
};

}  // namespace eml::host::internal
