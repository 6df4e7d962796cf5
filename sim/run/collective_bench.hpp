#pragma once
// nccl-tests on a simulated cluster: each op at each size, one after another, on the first `ranks`
// GPUs, timed by the analytical model or by SimGrid flows.
#include <nlohmann/json.hpp>

#include "hwmodels/profile.hpp"
#include "hwmodels/topology/cluster.hpp"
#include "sim/collectives/collective_model.hpp"
#include "sim/scenario/scenario.hpp"

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

std::vector<BenchRow> run_collective_bench(const CollectiveBenchSpec& spec, CollectiveModel& model, Fidelity fidelity);
// Replaces simulated times by a profile's measured collective fits (from foresight-calibrate or
// import-nccl-tests) where the profile covers the op and rank count on the same system; the row's
// algorithm becomes "calibrated" and its protocol says whether the size was inside the measured
// range. Returns how many rows were replaced.
int apply_calibrated_collectives(const hw::Profile& profile, const CollectiveBenchSpec& spec, const std::string& system,
                                 std::vector<BenchRow>& rows);

nlohmann::json bench_rows_json(const std::vector<BenchRow>& rows);
std::string format_bench_table(const std::vector<BenchRow>& rows, const std::string& dtype);

}  // namespace foresight::sim
