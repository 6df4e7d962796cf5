#pragma once
// One training iteration, end to end: plan -> task graph -> execution (analytical or a provided
// flow executor) -> time, throughput, breakdown and memory.
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hwmodels/cost_model.hpp"
#include "sim/engine/analytical_executor.hpp"
#include "sim/engine/executor.hpp"
#include "sim/training/memory_model.hpp"
#include "sim/training/training_spec.hpp"

namespace foresight::sim {

struct ClusterInfo {
  int total_gpus = 1;
  int gpus_per_node = 8;
  int nvlink_domain = 8;
  std::string gpu_id;
  // Taken from the catalog entry of gpu_id when left at 0.
  double peak_flops = 0;        // dense FLOP/s in the GEMM dtype, for MFU
  double memory_capacity = 0;   // bytes
};

using GraphRunner = std::function<std::vector<TaskTiming>(const TaskGraph&)>;

struct TimeBreakdown {
  // Seconds on the reported rank's compute stream; they add up to the iteration time.
  double compute = 0, exposed_tp = 0, exposed_cp = 0, exposed_pp = 0, exposed_dp = 0, bubble = 0, optimizer = 0;
  double recompute = 0;   // part of `compute` spent recomputing activations
};

struct TrainingResult {
  double iteration_time_s = 0;
  double tokens_per_s = 0;
  double model_flops = 0;                 // per iteration, model_flops_per_iteration()
  double model_tflops_per_gpu = 0;
  double megatron_eq3_tflops_per_gpu = 0;
  double mfu = 0;
  double peak_flops = 0;
  TimeBreakdown breakdown;
  MemoryBreakdown memory;
  int reported_rank = 0;
  int tasks = 0;
  std::string fidelity;
  std::string cost_model;
  std::vector<std::string> warnings;
  std::vector<std::string> assumptions;
};

nlohmann::json to_json(const TrainingResult& r);

TrainingResult run_training(const TrainingSpec& spec, const ClusterInfo& cluster, const hw::ComputeCostModel& cost,
                            const CollectiveTimer& timer, const GraphRunner* flow_runner, TaskGraph* graph_out,
                            std::vector<TaskTiming>* timings_out);

// Chrome/Perfetto trace events: one process per simulated rank, one thread per stream.
nlohmann::json perfetto_trace(const TaskGraph& graph, const std::vector<TaskTiming>& timings);

// Attributes the reported rank's compute-stream time to compute, optimizer, exposed communication
// by kind, and pipeline bubble (exposed for tests and for the flow executor's results).
TimeBreakdown attribute_time(const TaskGraph& graph, const std::vector<TaskTiming>& timings, int rank);

}  // namespace foresight::sim
