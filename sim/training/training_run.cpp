#include "sim/training/training_run.hpp"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "hwmodels/catalog.hpp"
#include "sim/training/layer_ops.hpp"
#include "sim/training/model_math.hpp"
#include "sim/training/training_graph.hpp"

namespace foresight::sim {

TimeBreakdown attribute_time(const TaskGraph& graph, const std::vector<TaskTiming>& timings, int rank) {
  const auto& tasks = graph.tasks();
  const size_t n = tasks.size();
  TimeBreakdown b;
  // Stream order is an implicit dependency; the critical-path walk needs it explicitly.
  std::vector<int> stream_prev(n, -1);
  {
    std::map<std::pair<int, int>, int> last;
    for (size_t i = 0; i < n; ++i) {
      auto [it, fresh] = last.try_emplace({tasks[i].rank, tasks[i].stream}, int(i));
      if (!fresh) stream_prev[i] = it->second, it->second = int(i);
    }
  }
  auto blocker_of = [&](int i) {
    int best = stream_prev[i];
    for (TaskId d : tasks[i].deps)
      if (best < 0 || timings[d].end_s > timings[best].end_s) best = d;
    return best;
  };
  auto charge = [&](const Task& t, double seconds) {
    if (t.kind != Task::Kind::collective) b.bubble += seconds;   // waiting for another rank's compute
    else if (t.category == "tp") b.exposed_tp += seconds;
    else if (t.category == "cp") b.exposed_cp += seconds;
    else if (t.category == "pp") b.exposed_pp += seconds;
    else if (t.category == "dp") b.exposed_dp += seconds;
    else b.bubble += seconds;
  };
  // Idle time [from, to] on the reported compute stream is charged along the chain of whatever
  // the next task waited for: each link owns the part of the interval it was running.
  auto attribute_gap = [&](int waiter, double from, double to) {
    int cur = blocker_of(waiter);
    while (to > from && cur >= 0) {
      const double s = std::max(from, timings[cur].start_s);
      if (to > s) charge(tasks[cur], to - s);
      to = std::min(to, s);
      cur = blocker_of(cur);
    }
    if (to > from) b.bubble += to - from;
  };
  double iteration = 0;
  int last_task = -1;
  for (size_t i = 0; i < n; ++i)
    if (timings[i].end_s >= iteration) iteration = timings[i].end_s, last_task = int(i);
  double cursor = 0;
  for (size_t i = 0; i < n; ++i) {
    const Task& t = tasks[i];
    if (t.rank != rank || t.stream != kCompute) continue;
    if (timings[i].start_s > cursor) attribute_gap(int(i), cursor, timings[i].start_s);
    const double dur = timings[i].end_s - timings[i].start_s;
    if (t.category == "optimizer") b.optimizer += dur;
    else b.compute += dur;
    if (t.category == "recompute") b.recompute += dur;
    cursor = std::max(cursor, timings[i].end_s);
  }
  if (iteration > cursor && last_task >= 0) {
    // The iteration ends with another rank's or stream's work: charge the chain ending there.
    const double s = std::max(cursor, timings[last_task].start_s);
    charge(tasks[last_task], iteration - s);
    int cur = last_task;
    double to = s;
    while (to > cursor && (cur = blocker_of(cur)) >= 0) {
      const double st = std::max(cursor, timings[cur].start_s);
      if (to > st) charge(tasks[cur], to - st);
      to = std::min(to, st);
    }
    if (to > cursor) b.bubble += to - cursor;
  }
  return b;
}

TrainingResult run_training(const TrainingSpec& spec, const ClusterInfo& cluster, const hw::ComputeCostModel& cost,
                            const CollectiveTimer& timer, const GraphRunner* flow_runner, TaskGraph* graph_out,
                            std::vector<TaskTiming>* timings_out) {
  TaskGraph graph;
  // Analytical collectives are contention-free, so DP peers need no tasks; the flow engine shares
  // links, so every TP/CP position's DP traffic is injected.
  const TrainingGraphInfo info = build_training_graph(spec, cost, graph, flow_runner != nullptr);
  std::vector<TaskTiming> timings = flow_runner ? (*flow_runner)(graph) : run_analytical(graph, timer);

  TrainingResult r;
  r.fidelity = flow_runner ? "flow" : "analytical";
  r.cost_model = cost.provenance();
  r.tasks = int(graph.tasks().size());
  for (const auto& t : timings) r.iteration_time_s = std::max(r.iteration_time_s, t.end_s);
  r.reported_rank = info.stage_rank[0];
  r.breakdown = attribute_time(graph, timings, r.reported_rank);

  const double gpus = cluster.total_gpus;
  const double tokens = double(spec.global_batch) * spec.sequence_length;
  const hw::GpuSpec* gpu = nullptr;
  if ((cluster.peak_flops <= 0 || cluster.memory_capacity <= 0) && !cluster.gpu_id.empty())
    gpu = &hw::Catalog::builtin().gpu(cluster.gpu_id);
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
    r.warnings.push_back(fmt::format("out of memory: stage {} needs {:.1f} GiB per GPU, capacity {:.1f} GiB",
                                     r.memory.stage, r.memory.peak / 1073741824.0, capacity / 1073741824.0));
  r.assumptions = {
      "one representative rank per pipeline stage; TP/CP/DP peers are identical by symmetry",
      "model FLOPs = 6*N_matmul*tokens + 6*layers*seq*hidden*tokens (causal attention), recomputation excluded",
      "Megatron Eq. 3 TFLOP/s counts full recomputation and non-causal attention, as in Narayanan et al. 2021",
      "pipeline sends carry 1/tp of the boundary activation (scatter/gather or sequence parallelism)",
      "gradients reduced in fp32 for bf16/fp8 (fp16 for fp16); Adam state fp32 (12 B/param), main grads fp32",
      "TP input-gradient collectives overlap the weight-gradient GEMM, as Megatron-LM does",
  };
  if (spec.par.cp > 1)
    r.assumptions.push_back("context parallelism: K/V all-gather overlaps the local causal block");
  if (graph_out) *graph_out = std::move(graph);
  if (timings_out) *timings_out = std::move(timings);
  return r;
}

}  // namespace foresight::sim
