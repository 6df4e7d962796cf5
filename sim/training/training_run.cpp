#include "sim/training/training_run.hpp"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "sim/model/device_reserve.hpp"
#include "sim/training/layer_ops.hpp"
#include "sim/training/model_math.hpp"
#include "sim/training/training_graph.hpp"

namespace foresight::sim {

TrainingResult run_training(const TrainingSpec& spec, const ClusterInfo& cluster, const hw::ComputeCostModel& cost,
                            Engine& engine, TaskGraph* graph_out, std::vector<TaskTiming>* timings_out) {
  TaskGraph graph;
  // Analytical collectives are contention-free, so DP peers need no tasks; the flow engine shares
  // links, so every TP/CP position's DP traffic is injected.
  const TrainingGraphInfo info = build_training_graph(spec, cost, graph, engine.shares_links(), cluster.nvlink_domain);
  std::vector<TaskTiming> timings = run_task_graph(graph, engine);

  TrainingResult r;
  r.fidelity = engine.fidelity();
  r.cost_model = cost.provenance();
  r.tasks = int(graph.tasks().size());
  for (const auto& t : timings) r.iteration_time_s = std::max(r.iteration_time_s, t.end_s);
  r.reported_rank = info.stage_rank[0];
  r.breakdown = attribute_time(graph, timings, r.reported_rank);

  const double gpus = cluster.total_gpus;
  const double tokens = double(spec.global_batch) * spec.sequence_length;
  const hw::GpuSpec* gpu = cluster.peak_flops <= 0 || cluster.memory_capacity <= 0 ? cluster.gpu : nullptr;
  // fp16 and bf16 share tensor-core rates; a catalog entry may list only one of them.
  const std::string dtype =
      gpu && !gpu->dense_flops.count(gemm_dtype(spec)) && gemm_dtype(spec) == "fp16" ? "bf16" : gemm_dtype(spec);
  r.peak_flops = cluster.peak_flops > 0 ? cluster.peak_flops : (gpu ? gpu->peak_flops(dtype) : 0.0);
  const double capacity = cluster.memory_capacity > 0 ? cluster.memory_capacity : (gpu ? gpu->memory_capacity : 0.0);

  r.tokens_per_s = tokens / r.iteration_time_s;
  r.model_flops = model_flops_per_iteration(spec);
  r.model_tflops_per_gpu = r.model_flops / r.iteration_time_s / gpus / 1e12;
  r.megatron_eq3_tflops_per_gpu = megatron_eq3_flops(spec) / r.iteration_time_s / gpus / 1e12;
  r.mfu = r.peak_flops > 0 ? r.model_flops / (r.iteration_time_s * gpus * r.peak_flops) : 0.0;
  r.memory = estimate_memory(spec, info.schedule, capacity);

  r.warnings = spec.warnings;
  if (r.memory.oom)
    r.warnings.push_back(fmt::format("out of memory: stage {} needs {:.1f} GiB per GPU plus {:.1f} GiB reserved, capacity {:.1f} GiB",
                                     r.memory.stage, r.memory.peak / 1073741824.0, r.memory.reserved / 1073741824.0,
                                     capacity / 1073741824.0));
  r.assumptions = {
      "one representative rank per pipeline stage; TP/CP/DP peers are identical by symmetry",
      "model FLOPs = 6*N_matmul*tokens + 6*layers*seq*hidden*tokens (causal attention), recomputation excluded",
      "Megatron Eq. 3 TFLOP/s counts full recomputation and non-causal attention, as in Narayanan et al. 2021",
      "pipeline sends carry 1/tp of the boundary activation (scatter/gather or sequence parallelism)",
      "main gradients held and reduced in " + spec.grad_dtype() +
          " (training.grad_reduce_dtype); Adam state fp32 (12 B/param)",
      "TP input-gradient collectives overlap the weight-gradient GEMM, as Megatron-LM does",
      kDeviceReserveSource,
  };
  if (spec.par.cp > 1)
    r.assumptions.push_back("context parallelism: K/V all-gather overlaps the local causal block");
  if (spec.model.is_moe()) {
    // The stage whose routed compute loses most to imbalance.
    int worst = 0;
    for (size_t st = 0; st < info.stage_routed_s.size(); ++st)
      if (info.stage_routed_s[st] - info.stage_balanced_s[st] >
          info.stage_routed_s[size_t(worst)] - info.stage_balanced_s[size_t(worst)])
        worst = int(st);
    MoeReport& m = r.moe;
    m.enabled = true;
    m.stage = worst;
    m.routed_compute_s = info.stage_routed_s[size_t(worst)];
    m.balanced_compute_s = info.stage_balanced_s[size_t(worst)];
    // Per-expert GEMM times are not convex in the token count (tile quantization, launch floors), so an
    // uneven split can price a hair below the even one: that is no imbalance cost.
    m.imbalance_s = std::max(0.0, m.routed_compute_s - m.balanced_compute_s);
    m.dropped_fraction = info.dropped_fraction;
    m.mean_dispatch_scale = info.mean_dispatch_scale;
    m.fan_out_nodes = info.fan_out.nodes;
    m.fan_out_ranks_per_node = info.fan_out.ranks_per_node;
    m.routing = spec.routing.describe();
    r.assumptions.push_back(
        "mixture of experts: per-expert token counts drawn per microbatch and layer (training.moe.routing); the "
        "busiest expert-parallel rank sets each MoE layer (grouped GEMMs priced expert by expert) and its receive "
        "volume sets the all-to-alls");
    r.assumptions.push_back(spec.moe_dispatcher == "deepep"
                                ? "expert dispatch as DeepEP's normal kernels: once per remote node over RDMA, forwarded "
                                  "over NVLink; fp8 dispatch under fp8 training"
                                : "expert dispatch as NCCL all-to-all: one copy per (token, expert) pair");
    r.assumptions.push_back("expert weights are not tensor-sharded (expert TP 1); shared experts overlap the dispatch");
  }
  if (graph_out) *graph_out = std::move(graph);
  if (timings_out) *timings_out = std::move(timings);
  return r;
}

}  // namespace foresight::sim
