#include "sim/run/training_driver.hpp"

#include <fstream>
#include <memory>

#include <fmt/format.h>

#include "hwmodels/calibrated_cost_model.hpp"
#include "hwmodels/profile.hpp"
#include "hwmodels/roofline_cost_model.hpp"
#include "sim/core/error.hpp"
#include "sim/engine/flow_executor.hpp"
#include "sim/training/training_run.hpp"

namespace foresight::sim {

namespace {

std::unique_ptr<hw::ComputeCostModel> make_cost_model(const hw::GpuSpec& gpu, const TrainingSpec& spec,
                                                      const std::string& profile_path) {
  if (profile_path.empty()) return std::make_unique<hw::RooflineCostModel>(gpu);
  const std::string gemm_dtype = spec.precision == "fp8" ? "fp8" : spec.precision;
  return std::make_unique<hw::CalibratedCostModel>(hw::load_profile(profile_path), gpu.peak_flops(gemm_dtype),
                                                   gpu.memory_bandwidth);
}

std::string report_text(const TrainingResult& r, const TrainingSpec& spec) {
  const auto& b = r.breakdown;
  const auto& m = r.memory;
  const double t = r.iteration_time_s;
  auto pct = [t](double x) { return t > 0 ? 100.0 * x / t : 0.0; };
  std::string s = fmt::format(
      "training {} on {} GPUs: TP{} PP{} DP{} CP{} VPP{}, {} schedule, micro-batch {}, {} micro-batches\n",
      spec.model.id.empty() ? "(inline model)" : spec.model.id, spec.par.tp * spec.par.pp * spec.par.dp * spec.par.cp,
      spec.par.tp, spec.par.pp, spec.par.dp, spec.par.cp, spec.par.vpp, spec.schedule, spec.micro_batch,
      spec.microbatches());
  s += fmt::format("  iteration time      {:>10.3f} s\n", t);
  s += fmt::format("  tokens/s            {:>10.0f}\n", r.tokens_per_s);
  s += fmt::format("  model TFLOP/s/GPU   {:>10.1f}   (6N per token + causal attention)\n", r.model_tflops_per_gpu);
  s += fmt::format("  Megatron Eq.3       {:>10.1f}   TFLOP/s/GPU (Narayanan et al. 2021 convention)\n",
                   r.megatron_eq3_tflops_per_gpu);
  s += fmt::format("  MFU                 {:>10.1f} %\n", 100.0 * r.mfu);
  s += "  where the time goes (reported rank's compute stream):\n";
  for (auto [name, v] : {std::pair<const char*, double>{"compute", b.compute}, {"  of which recompute", b.recompute},
                         {"exposed TP comm", b.exposed_tp}, {"exposed CP comm", b.exposed_cp},
                         {"exposed PP comm", b.exposed_pp}, {"exposed DP comm", b.exposed_dp},
                         {"pipeline bubble", b.bubble}, {"optimizer", b.optimizer}})
    s += fmt::format("    {:<20} {:>10.4f} s {:>6.1f} %\n", name, v, pct(v));
  s += fmt::format("  memory per GPU: weights {:.1f} GiB, grads {:.1f} GiB, optimizer {:.1f} GiB, activations {:.1f} GiB, "
                   "buffers {:.1f} GiB; peak {:.1f} of {:.1f} GiB{}\n",
                   m.weights / 1073741824.0, m.grads / 1073741824.0, m.optimizer / 1073741824.0,
                   m.activations / 1073741824.0, m.buffers / 1073741824.0, m.peak / 1073741824.0,
                   m.capacity / 1073741824.0, m.oom ? "  OUT OF MEMORY" : "");
  s += fmt::format("  cost model: {}\n", r.cost_model);
  for (const auto& w : r.warnings) s += "  warning: " + w + "\n";
  return s;
}

}  // namespace

void run_training_scenario(const Scenario& scenario, const hw::Cluster& cluster, CollectiveModel& model,
                           const RunOptions& options, RunOutput& out) {
  const TrainingSpec& spec = *scenario.training;
  ClusterInfo info;
  info.total_gpus = cluster.gpus();
  info.gpus_per_node = cluster.gpus_per_node();
  info.nvlink_domain = cluster.nvlink_domain_size();
  info.gpu_id = cluster.gpu().id;
  const auto cost = make_cost_model(cluster.gpu(), spec, options.profile_path);
  const CollectiveTimer timer = [&model](const CollectiveRequest& r) { return model.estimate(r); };
  const GraphRunner flow = [&model](const TaskGraph& g) { return run_flow(g, model); };
  TaskGraph graph;
  std::vector<TaskTiming> timings;
  const TrainingResult result = run_training(spec, info, *cost, timer, scenario.fidelity == Fidelity::flow ? &flow : nullptr,
                                             &graph, &timings);
  out.document["training"] = to_json(result);
  out.document["provenance"]["compute_model"] = cost->provenance();
  out.report += report_text(result, spec);
  if (!options.trace_path.empty()) {
    std::ofstream trace(options.trace_path);
    if (!trace) throw InputError(SourceLocation{options.trace_path, 0, 0}, "--trace", "cannot write the trace file");
    trace << perfetto_trace(graph, timings).dump() << "\n";
    out.report += fmt::format("  trace: {} ({} tasks)\n", options.trace_path, graph.tasks().size());
  }
}

}  // namespace foresight::sim
