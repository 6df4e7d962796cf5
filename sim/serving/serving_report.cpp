#include "sim/serving/serving_report.hpp"

#include <fmt/format.h>

namespace foresight::sim {

std::string serving_report(const nlohmann::json& j, const ServingSpec& spec) {
  auto row = [](const char* name, const nlohmann::json& h) {
    return fmt::format("    {:<5} mean {:>9.2f}  p50 {:>9.2f}  p90 {:>9.2f}  p99 {:>9.2f}  p99.9 {:>9.2f} ms\n", name,
                       h["mean"].get<double>(), h["p50"].get<double>(), h["p90"].get<double>(), h["p99"].get<double>(),
                       h["p999"].get<double>());
  };
  const auto& c = j["config"];
  std::string s;
  if (j.contains("disaggregation")) {
    const auto& d = j["disaggregation"];
    const auto& p = d["prefill"];
    const auto& q = d["decode"];
    const bool mixed = p["system"] != q["system"];
    auto on = [mixed](const nlohmann::json& x) {
      return mixed ? fmt::format(" on {} ({})", x["system"].get<std::string>(), x["gpu"].get<std::string>()) : std::string();
    };
    s = fmt::format("serving {} with {}, disaggregated {}P{}D: prefill {} x TP{} PP{}{}, decode {} x TP{} PP{}{} ({} GPUs), {} precision, "
                    "KV {}, prefill routing {}, decode router {}\n",
                    c["model"].get<std::string>(), c["engine"].get<std::string>(), p["replicas"].get<int>(),
                    q["replicas"].get<int>(), p["replicas"].get<int>(), p["tp"].get<int>(), p["pp"].get<int>(), on(p),
                    q["replicas"].get<int>(), q["tp"].get<int>(), q["pp"].get<int>(), on(q), c["gpus"].get<int>(), spec.precision,
                    spec.kv_dtype, d["prefill_routing"].get<std::string>(), spec.router.policy);
  } else {
    s = fmt::format("serving {} with {}: {} replica(s) x TP{} PP{} ({} GPUs), {} precision, KV {}, router {}\n",
                    c["model"].get<std::string>(), c["engine"].get<std::string>(), spec.replicas, spec.tp, spec.pp,
                    c["gpus"].get<int>(), spec.precision, spec.kv_dtype, spec.router.policy);
  }
  s += fmt::format("  requests {}: {} completed, {} rejected, {} preemptions; {:.2f} s simulated\n", j["requests"].get<int64_t>(),
                   j["completed"].get<int64_t>(), j["rejected"].get<int64_t>(), j["preemptions"].get<int64_t>(),
                   j["duration_s"].get<double>());
  s += "  latency:\n" + row("TTFT", j["ttft_ms"]) + row("TPOT", j["tpot_ms"]) + row("ITL", j["itl_ms"]) +
       row("E2E", j["e2e_ms"]);
  const auto& parts = j["ttft_breakdown_ms"];
  s += fmt::format("  TTFT mean parts: queue {:.2f} ms, prefill {:.2f} ms", parts["queue"]["mean"].get<double>(),
                   parts["prefill"]["mean"].get<double>());
  if (parts.contains("kv_transfer"))
    s += fmt::format(", KV wait {:.2f} ms, KV transfer {:.2f} ms (p99 {:.2f}), first decode step {:.2f} ms",
                     parts["kv_wait"]["mean"].get<double>(), parts["kv_transfer"]["mean"].get<double>(),
                     parts["kv_transfer"]["p99"].get<double>(), parts["first_decode"]["mean"].get<double>());
  s += "\n";
  if (j.contains("disaggregation")) {
    const auto& d = j["disaggregation"];
    const auto& k = d["kv_transfer"];
    s += fmt::format("  KV hand-off ({}{}): {} hand-offs, {:.3f} GB in {} transfers of {} messages; {} prefills remote, {} local\n",
                     k["mode"].get<std::string>(), k["layerwise"].get<bool>() ? ", layer-wise" : "",
                     k["handoffs"].get<int64_t>(), k["bytes"].get<double>() / 1e9, k["transfers"].get<int64_t>(),
                     k["messages"].get<int64_t>(), d["remote_prefills"].get<int64_t>(), d["local_prefills"].get<int64_t>());
  }
  const auto& t = j["throughput"];
  s += fmt::format("  throughput: {:.2f} req/s, {:.0f} input tok/s, {:.0f} output tok/s ({:.1f} output tok/s/GPU)\n",
                   t["requests_per_s"].get<double>(), t["input_tokens_per_s"].get<double>(),
                   t["output_tokens_per_s"].get<double>(), t["output_tokens_per_s_per_gpu"].get<double>());
  if (j.contains("cost")) {
    const auto& k = j["cost"];
    std::string parts;
    for (const auto& [gpu, n] : k["gpus"].items())
      parts += fmt::format("{}{} x {} at ${:.2f}", parts.empty() ? "" : ", ", n.get<int>(), gpu,
                           k["usd_per_gpu_hour"][gpu].get<double>());
    s += fmt::format("  cost: ${:.2f}/h ({}; {})", k["usd_per_hour"].get<double>(), parts, k["source"].get<std::string>());
    if (k.contains("usd_per_million_output_tokens"))
      s += fmt::format(", ${:.3f} per million output tokens", k["usd_per_million_output_tokens"].get<double>());
    if (k.contains("joules_per_output_token_at_tdp"))
      s += fmt::format(", {:.2f} J per output token at TDP ({:.0f} W)", k["joules_per_output_token_at_tdp"].get<double>(),
                       k["power_w_at_tdp"].get<double>());
    s += "\n";
  }
  const auto& g = j["goodput"];
  s += fmt::format("  goodput (TTFT <= {:.0f} ms and TPOT <= {:.0f} ms): {:.2f} req/s, attainment {:.1f} %; p{:g}: TTFT {:.1f} ms, TPOT {:.1f} ms\n",
                   g["ttft_slo_ms"].get<double>(), g["tpot_slo_ms"].get<double>(), g["requests_per_s"].get<double>(),
                   100 * g["attainment"].get<double>(), g["percentile"].get<double>(),
                   g["ttft_at_percentile_ms"].get<double>(), g["tpot_at_percentile_ms"].get<double>());
  const auto& b = j["batch"];
  const auto& kv = j["kv"];
  s += fmt::format("  batch: {:.1f} sequences and {:.0f} tokens per step on average ({} steps); KV: {} blocks of {} tokens "
                   "per replica, {:.1f} % mean / {:.1f} % peak use, prefix hits {:.1f} %\n",
                   b["mean_sequences"].get<double>(), b["mean_tokens"].get<double>(), b["steps"].get<int64_t>(),
                   kv["blocks_per_replica"].get<int64_t>(), kv["block_tokens"].get<int>(),
                   100 * kv["mean_utilization"].get<double>(), 100 * kv["peak_utilization"].get<double>(),
                   100 * kv["prefix_hit_rate"].get<double>());
  if (kv.contains("tiers")) {
    const auto& t = kv["tiers"];
    std::string parts;
    for (const auto& x : t["list"])
      parts += fmt::format("{}{} ({} blocks, {:.0f} GB/s{}): {} stored, {} loaded, {} passed down", parts.empty() ? "" : "; ",
                           x["tier"].get<std::string>(), x["capacity_blocks"].get<int64_t>(),
                           x["bandwidth_Bps"].get<double>() / 1e9, x["on_links"].get<bool>() ? " link" : " per GPU, timed",
                           x["stored_blocks"].get<int64_t>(),
                           x["loaded_blocks"].get<int64_t>(), x["passed_down_blocks"].get<int64_t>());
    s += fmt::format("  KV offload: {}; loads {:.2f} s ({}), stores {:.2f} s, step time added {:.2f} s", parts,
                     t["load_s"].get<double>(), t["load"] == "async" ? "on the copy stream" : "blocking their steps",
                     t["store_s"].get<double>(), t["step_time_added_s"].get<double>());
    if (t["link_bytes"].get<double>() > 0)
      s += fmt::format("; {:.1f} GB as transfers on simulated links", t["link_bytes"].get<double>() / 1e9);
    s += "\n";
  }
  const auto& m = j["memory_per_gpu_bytes"];
  s += fmt::format("  memory per GPU: weights {:.1f} GiB, activations {:.1f} GiB, reserved {:.1f} GiB, KV cache {:.1f} GiB of {:.1f} GiB usable\n",
                   m["weights"].get<double>() / 1073741824.0, m["activations"].get<double>() / 1073741824.0,
                   m["reserved"].get<double>() / 1073741824.0, m["kv_cache"].get<double>() / 1073741824.0,
                   m["usable"].get<double>() / 1073741824.0);
  const auto& st = j["step_time_s"];
  const double tot = st["total"].get<double>();
  auto pct = [tot](double v) { return tot > 0 ? 100 * v / tot : 0.0; };
  s += fmt::format("  step time: GEMM {:.1f} %, attention {:.1f} %, memory ops {:.1f} %, communication {:.1f} %, CPU overhead {:.1f} %\n",
                   pct(st["gemm"].get<double>()), pct(st["attention"].get<double>()), pct(st["memory_ops"].get<double>()),
                   pct(st["communication"].get<double>()), pct(st["cpu_overhead"].get<double>()));
  const auto& main_model = j["provenance"]["compute_model"];
  if (j.contains("disaggregation") && (j["disaggregation"]["prefill"]["compute_model"] != main_model ||
                                       j["disaggregation"]["decode"]["compute_model"] != main_model))
    for (const char* pool : {"prefill", "decode"})
      s += fmt::format("  cost model ({} pool): {}\n", pool, j["disaggregation"][pool]["compute_model"].get<std::string>());
  else
    s += fmt::format("  cost model: {}\n", j["provenance"]["compute_model"].get<std::string>());
  for (const auto& w : j["warnings"]) s += "  warning: " + w.get<std::string>() + "\n";
  if (j.contains("requests_file")) s += "  requests: " + j["requests_file"].get<std::string>() + "\n";
  return s;
}

}  // namespace foresight::sim
