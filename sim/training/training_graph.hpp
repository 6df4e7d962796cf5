#pragma once
// Turns a training plan into a TaskGraph for one iteration: one representative rank per pipeline
// stage (TP/CP/DP peers behave identically by symmetry), compute and communication streams, and the
// dependencies of the pipeline schedule, DP gradient buckets, ZeRO gathers and the optimizer step.
#include <vector>

#include "hwmodels/cost/cost_model.hpp"
#include "sim/engine/task_graph.hpp"
#include "sim/training/pipeline_schedule.hpp"
#include "sim/model/placement.hpp"
#include "sim/moe/routing.hpp"
#include "sim/training/training_spec.hpp"

namespace foresight::sim {

// A rank's streams: compute, then each parallel dimension's communication stream from the table;
// pipeline sends and data parallelism each have a second one.
enum Stream : int {
  kCompute = 0,
  kTpStream = dim_info(ParallelDim::tp).stream,
  kCpStream = dim_info(ParallelDim::cp).stream,
  kPpFwdStream = dim_info(ParallelDim::pp).stream,
  kPpBwdStream = kPpFwdStream + 1,
  kDpGradStream = dim_info(ParallelDim::dp).stream,
  kDpParamStream = kDpGradStream + 1,
};
const char* stream_name(int stream);

struct TrainingGraphInfo {
  std::vector<int> stage_rank;                    // global GPU index of each stage's representative
  std::vector<std::vector<PipeStep>> schedule;    // per stage
  std::vector<double> stage_params;               // parameters held per GPU on each stage (before ZeRO), routed experts excluded
  std::vector<double> stage_expert_params;        // routed-expert parameters per GPU on each stage
  // Mixture-of-experts routing, per stage over the iteration: routed expert compute of the
  // representative (busiest) rank, and what a perfectly balanced router would have cost.
  std::vector<double> stage_routed_s, stage_balanced_s;
  double dropped_fraction = 0;          // assignments dropped at expert capacity
  double mean_dispatch_scale = 0;       // busiest rank's receive volume over the mean
  FanOut fan_out;                       // mean over MoE layers (DeepEP dispatch)
};

// Parameters one GPU of `stage` holds (all its model chunks) outside the routed experts,
// TP-sharded, before ZeRO sharding; and the routed experts' (experts/ep per MoE layer).
double stage_params_per_gpu(const TrainingSpec& spec, int stage);
double stage_expert_params_per_gpu(const TrainingSpec& spec, int stage);

// replicate_dp: also emit the DP collectives of the stage's other TP/CP positions (same
// dependencies, no successors) so a flow-level network sees all concurrent DP traffic.
// nvlink_domain: GPUs per NVLink domain, to place expert-parallel ranks on nodes (0: one domain).
TrainingGraphInfo build_training_graph(const TrainingSpec& spec, const hw::ComputeCostModel& cost, TaskGraph& graph,
                                       bool replicate_dp = false, int nvlink_domain = 0);

}  // namespace foresight::sim
