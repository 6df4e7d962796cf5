#pragma once
// One run of a job over the horizon: failures interrupt it, it loses the work since its last completed
// checkpoint, is detected, waits for spares if it has none, restarts and reloads; checkpoints stall it
// (sync: the whole write; async: the device-to-host copy, the write then completes in the background);
// a straggler slows every step until it is detected and evicted. Every transition is a timer on the
// engine, so the same event machinery runs training, serving and this.
#include <map>
#include <string>
#include <vector>

#include "sim/goodput/failure_process.hpp"
#include "sim/metrics/trace_stream.hpp"

namespace foresight::sim {

struct JobTimes {
  double checkpoint_write_s = 0;   // whole checkpoint to the tier
  double checkpoint_read_s = 0;
  double checkpoint_stall_s = 0;   // what one checkpoint stops training for (sync: the write)
  double interval_s = 0;           // productive time between checkpoint starts
  int nodes = 0, gpus = 0;
};

struct RunStats {
  double horizon_s = 0;
  double productive_s = 0;         // training time that stays done
  double rework_s = 0;             // training lost to failures (since the last completed checkpoint)
  double detection_s = 0, waiting_s = 0, restart_s = 0, reload_s = 0;
  double checkpoint_stall_s = 0, straggling_s = 0;
  int interruptions = 0, checkpoints = 0, straggler_evictions = 0;
  std::map<std::string, int> by_cause;  // interruptions per cause id ("straggler" for evictions)
  double lost_s() const {
    return rework_s + detection_s + waiting_s + restart_s + reload_s + checkpoint_stall_s + straggling_s;
  }
  double ettr() const { return horizon_s > 0 ? productive_s / horizon_s : 0; }
};

// `trace` (nullable) receives the run's timeline: states as slices, failures as instants.
RunStats simulate_goodput_run(const GoodputSpec& spec, const JobTimes& job, std::vector<FailureProcess::Cause> causes,
                              uint64_t seed, TraceStream* trace = nullptr);

}  // namespace foresight::sim
