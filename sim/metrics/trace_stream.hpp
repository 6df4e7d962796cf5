#pragma once
// A Perfetto/Chrome trace written as events happen, so a long run's trace never sits in memory.
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

namespace foresight::sim {

class TraceStream {
 public:
  TraceStream() = default;
  // Opens `path` for writing; an unwritable path is an InputError naming it.
  explicit TraceStream(const std::string& path);
  TraceStream(const TraceStream&) = delete;
  TraceStream& operator=(const TraceStream&) = delete;
  ~TraceStream();

  bool enabled() const { return out_.is_open(); }
  void event(const nlohmann::json& e);
  // Names a track: process `pid` (and thread `tid` when >= 0).
  void name(int pid, int tid, const std::string& label);
  // Writes the closing brackets; a failed write is an InputError.
  void close();
  int64_t events() const { return events_; }

 private:
  std::ofstream out_;
  std::string path_;
  int64_t events_ = 0;
};

}  // namespace foresight::sim
