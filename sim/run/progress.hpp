#pragma once
// Progress of one long run: workloads report how much of their work is done; the sink (the CLI's
// status line, a Python progress bar) hears about it at most every quarter second of wall time,
// so reporting never costs more than a clock read per call.
#include <chrono>
#include <functional>
#include <string>

namespace foresight::sim {

using ProgressSink = std::function<void(double done, double total, const std::string& what)>;

class ProgressReporter {
 public:
  explicit ProgressReporter(ProgressSink sink, std::string what) : sink_(std::move(sink)), what_(std::move(what)) {}
  bool enabled() const { return static_cast<bool>(sink_); }
  void update(double done, double total) {
    if (!sink_) return;
    total_ = total;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_ < std::chrono::milliseconds(250)) return;
    last_ = now;
    sink_(done, total, what_);
  }
  // The last word: everything done (sinks close their bars on done == total). `total` when no
  // update came (a short run), else the total the updates used.
  void finish(double total) {
    if (sink_) sink_(total_ > 0 ? total_ : total, total_ > 0 ? total_ : total, what_);
  }

 private:
  ProgressSink sink_;
  std::string what_;
  double total_ = 0;
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace foresight::sim
