#pragma once
// One training iteration, end to end: plan -> task graph -> execution on an engine (analytical or
// flow) -> time, throughput, breakdown and memory.
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hwmodels/catalog/catalog.hpp"
#include "hwmodels/cost/cost_model.hpp"
#include "sim/engine/engine.hpp"
#include "sim/engine/task_graph.hpp"
#include "sim/metrics/time_breakdown.hpp"
#include "sim/training/memory_model.hpp"
#include "sim/training/training_spec.hpp"

namespace foresight::sim {

struct ClusterInfo {
  int total_gpus = 1;
  int gpus_per_node = 8;
  int nvlink_domain = 8;
  const hw::GpuSpec* gpu = nullptr;  // the cluster's GPU (resolved from the scenario's catalog)
  // Taken from `gpu` when left at 0.
  double peak_flops = 0;        // dense FLOP/s in the GEMM dtype, for MFU
  double memory_capacity = 0;   // bytes
};

// What routing cost: on the stage where imbalance costs most, its representative (busiest-rank)
// routed expert compute over the iteration against a perfectly balanced router's.
struct MoeReport {
  bool enabled = false;
  int stage = 0;
  double routed_compute_s = 0, balanced_compute_s = 0, imbalance_s = 0;
  double dropped_fraction = 0, mean_dispatch_scale = 0;
  double fan_out_nodes = 0, fan_out_ranks_per_node = 0;
  nlohmann::json routing;
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
  MoeReport moe;
  int reported_rank = 0;
  int tasks = 0;
  std::string fidelity;
  std::string cost_model;
  std::vector<std::string> warnings;
  std::vector<std::string> assumptions;
};

nlohmann::json to_json(const TrainingResult& r);
std::string report_text(const TrainingResult& r, const TrainingSpec& spec);

// Builds the iteration's task graph and runs it on a fresh `engine`. A flow engine (which shares
// links) also gets every TP/CP position's DP traffic.
TrainingResult run_training(const TrainingSpec& spec, const ClusterInfo& cluster, const hw::ComputeCostModel& cost,
                            Engine& engine, TaskGraph* graph_out = nullptr, std::vector<TaskTiming>* timings_out = nullptr);

}  // namespace foresight::sim
