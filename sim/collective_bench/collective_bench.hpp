#pragma once
// nccl-tests on a simulated cluster: each op at each size, one after another, on the first `ranks`
// GPUs, timed by whichever engine the session runs (analytical or SimGrid flows).
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hwmodels/cost/calibrated_collectives.hpp"
#include "sim/collective_bench/bench_spec.hpp"
#include "sim/collectives/collective_model.hpp"
#include "sim/engine/engine.hpp"
#include "sim/engine/task_graph.hpp"

namespace foresight::sim {

struct BenchRow {
  CollectiveOp op;
  double bytes = 0;
  int ranks = 0;
  std::string algorithm, protocol;
  double time_s = 0;
  double algbw() const { return time_s > 0 ? bytes / time_s : 0; }
  double busbw() const { return algbw() * busbw_factor(op, ranks); }
};

// The benchmark as a task graph: one collective per (op, size), each after the previous.
TaskGraph collective_bench_graph(const CollectiveBenchSpec& spec);
// Runs it on a fresh `engine`; the tuner's choice of algorithm and protocol labels each row.
std::vector<BenchRow> run_collective_bench(const CollectiveBenchSpec& spec, CollectiveModel& model, Engine& engine,
                                           std::vector<TaskTiming>* timings = nullptr);
// Replaces simulated times by measured collective fits (from foresight-calibrate or
// import-nccl-tests) where they cover the op and rank count on the same system; the row's
// algorithm becomes "calibrated" and its protocol says whether the size was inside the measured
// range. Returns how many rows were replaced.
int apply_calibrated_collectives(const hw::CalibratedCollectives& measured, const CollectiveBenchSpec& spec,
                                 const std::string& system, std::vector<BenchRow>& rows);

nlohmann::json bench_rows_json(const std::vector<BenchRow>& rows);
// The rows as an nccl-tests log. `devices`: one "Rank N ... device" description per rank, as
// nccl-tests lists them under "# Using devices" (parsers count ranks from them).
std::string format_bench_table(const std::vector<BenchRow>& rows, const std::string& dtype,
                               const std::vector<std::string>& devices = {});

}  // namespace foresight::sim
