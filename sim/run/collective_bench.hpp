#pragma once
// nccl-tests on a simulated cluster: each op at each size, one after another, on the first `ranks`
// GPUs, timed by the analytical model or by SimGrid flows.
#include <nlohmann/json.hpp>

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
nlohmann::json bench_rows_json(const std::vector<BenchRow>& rows);
std::string format_bench_table(const std::vector<BenchRow>& rows, const std::string& dtype);

}  // namespace foresight::sim
