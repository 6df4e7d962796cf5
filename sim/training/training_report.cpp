// The JSON section and the text report of a training run.
#include <fmt/format.h>

#include "sim/training/training_run.hpp"

namespace foresight::sim {

nlohmann::json to_json(const TrainingResult& r) {
  using nlohmann::json;
  const auto& b = r.breakdown;
  const auto& m = r.memory;
  json moe = nullptr;
  if (r.moe.enabled)
    moe = json{{"stage", r.moe.stage},
               {"routed_compute_s", r.moe.routed_compute_s},
               {"balanced_compute_s", r.moe.balanced_compute_s},
               {"imbalance_s", r.moe.imbalance_s},
               {"dropped_fraction", r.moe.dropped_fraction},
               {"mean_dispatch_scale", r.moe.mean_dispatch_scale},
               {"fan_out_nodes", r.moe.fan_out_nodes},
               {"fan_out_ranks_per_node", r.moe.fan_out_ranks_per_node},
               {"routing", r.moe.routing}};
  return json{
      {"fidelity", r.fidelity},
      {"moe", moe},
      {"cost_model", r.cost_model},
      {"iteration_time_s", r.iteration_time_s},
      {"tokens_per_s", r.tokens_per_s},
      {"model_flops_per_iteration", r.model_flops},
      {"model_tflops_per_gpu", r.model_tflops_per_gpu},
      {"model_flops_formula", "6*N_matmul*tokens + 6*layers*seq*hidden*tokens (causal attention, no recompute)"},
      {"megatron_eq3_tflops_per_gpu", r.megatron_eq3_tflops_per_gpu},
      {"mfu", r.mfu},
      {"peak_flops_per_gpu", r.peak_flops},
      {"breakdown_s", to_json(b)},
      {"memory_bytes",
       {{"weights", m.weights},
        {"grads", m.grads},
        {"optimizer", m.optimizer},
        {"activations", m.activations},
        {"buffers", m.buffers},
        {"peak", m.peak},
        {"capacity", m.capacity},
        {"reserved", m.reserved},
        {"oom", m.oom},
        {"stage", m.stage}}},
      {"reported_rank", r.reported_rank},
      {"simulated_tasks", r.tasks},
      {"warnings", r.warnings},
      {"assumptions", r.assumptions},
  };
}

std::string report_text(const TrainingResult& r, const TrainingSpec& spec) {
  const auto& b = r.breakdown;
  const auto& m = r.memory;
  const double t = r.iteration_time_s;
  auto pct = [t](double x) { return t > 0 ? 100.0 * x / t : 0.0; };
  std::string s = fmt::format(
      "training {} on {} GPUs: TP{} PP{} DP{} CP{} VPP{}{}, {} schedule, micro-batch {}, {} micro-batches\n",
      spec.model.id.empty() ? "(inline model)" : spec.model.id, spec.par.gpus(),
      spec.par.tp, spec.par.pp, spec.par.dp, spec.par.cp, spec.par.vpp,
      spec.model.is_moe() ? fmt::format(" EP{}{}", spec.par.ep, spec.par.etp > 1 ? fmt::format(" ETP{}", spec.par.etp) : "")
                          : "",
      spec.schedule, spec.micro_batch,
      spec.microbatches());
  s += fmt::format("  iteration time      {:>10.3f} s\n", t);
  s += fmt::format("  tokens/s            {:>10.0f}\n", r.tokens_per_s);
  s += fmt::format("  model TFLOP/s/GPU   {:>10.1f}   (6N per token + causal attention)\n", r.model_tflops_per_gpu);
  s += fmt::format("  Megatron Eq.3       {:>10.1f}   TFLOP/s/GPU (Narayanan et al. 2021 convention)\n",
                   r.megatron_eq3_tflops_per_gpu);
  s += fmt::format("  MFU                 {:>10.1f} %\n", 100.0 * r.mfu);
  s += "  where the time goes (reported rank's compute stream):\n";
  std::vector<std::pair<std::string, double>> lines{{"compute", b.compute}, {"  of which recompute", b.recompute}};
  for (const auto& info : kParallelDimTable) lines.emplace_back(info.breakdown_label, b.exposed[index(info.dim)]);
  lines.emplace_back("pipeline bubble", b.bubble);
  lines.emplace_back("optimizer", b.optimizer);
  for (const auto& [name, v] : lines) s += fmt::format("    {:<20} {:>10.4f} s {:>6.1f} %\n", name, v, pct(v));
  s += fmt::format("  memory per GPU: weights {:.1f} GiB, grads {:.1f} GiB, optimizer {:.1f} GiB, activations {:.1f} GiB, "
                   "buffers {:.1f} GiB; peak {:.1f} of {:.1f} GiB usable ({:.1f} GiB less {:.1f} GiB reserved){}\n",
                   m.weights / 1073741824.0, m.grads / 1073741824.0, m.optimizer / 1073741824.0,
                   m.activations / 1073741824.0, m.buffers / 1073741824.0, m.peak / 1073741824.0,
                   (m.capacity - m.reserved) / 1073741824.0, m.capacity / 1073741824.0, m.reserved / 1073741824.0,
                   m.oom ? "  OUT OF MEMORY" : "");
  if (r.moe.enabled) {
    const auto& e = r.moe;
    s += fmt::format("  experts (stage {}): routed compute {:.4f} s, {:.4f} s with a balanced router: imbalance costs "
                     "{:.4f} s ({:.1f} %); busiest rank receives {:.3f}x the mean; {:.2f} % of assignments dropped\n",
                     e.stage, e.routed_compute_s, e.balanced_compute_s, e.imbalance_s,
                     e.balanced_compute_s > 0 ? 100.0 * e.imbalance_s / e.balanced_compute_s : 0.0, e.mean_dispatch_scale,
                     100.0 * e.dropped_fraction);
    if (e.fan_out_nodes > 0)
      s += fmt::format("  dispatch fan-out: {:.2f} nodes per token, {:.2f} GPUs per node reached\n", e.fan_out_nodes,
                       e.fan_out_ranks_per_node);
  }
  s += fmt::format("  cost model: {}\n", r.cost_model);
  for (const auto& w : r.warnings) s += "  warning: " + w + "\n";
  return s;
}

}  // namespace foresight::sim
