#include "sim/goodput/goodput_workload.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "sim/goodput/goodput_run.hpp"
#include "sim/model/param_counts.hpp"
#include "sim/run/session.hpp"
#include "sim/training/training_run.hpp"
#include "sim/training/training_workload.hpp"

namespace foresight::sim {

double young_interval(double delta, double mtbf) { return std::sqrt(2.0 * delta * mtbf); }

double daly_interval(double delta, double mtbf) {
  if (delta >= 2 * mtbf) return mtbf;
  const double x = delta / (2 * mtbf);
  return std::sqrt(2.0 * delta * mtbf) * (1 + std::sqrt(x) / 3 + x / 9) - delta;
}

namespace {

// Checkpoint state per parameter: BF16 weights (2 B), the FP32 master copy (4 B) and Adam's two
// FP32 moments (8 B), as Megatron-LM's distributed checkpoints hold them.
constexpr double kCheckpointBytesPerParam = 14.0;

struct Summary {
  double mean = 0, p5 = 0, p95 = 0;
};

Summary summarize(std::vector<double> v) {
  Summary s;
  if (v.empty()) return s;
  double sum = 0;
  for (double x : v) sum += x;
  s.mean = sum / double(v.size());
  std::sort(v.begin(), v.end());
  auto q = [&](double p) { return v[static_cast<size_t>(std::floor(p * double(v.size() - 1) + 0.5))]; };
  s.p5 = q(0.05), s.p95 = q(0.95);
  return s;
}

nlohmann::json to_json(const Summary& s) { return {{"mean", s.mean}, {"p5", s.p5}, {"p95", s.p95}}; }

struct GoodputOutcome : WorkloadResult {
  nlohmann::json section;
  std::string text;
  void write(nlohmann::json& doc) const override { doc["goodput"] = section; }
  std::string report() const override { return text; }
};

class GoodputWorkload final : public Workload {
 public:
  std::string kind() const override { return "goodput"; }
  std::vector<std::string> sections() const override { return {"model", "training", "failures"}; }
  std::string primary_section() const override { return "failures"; }

  std::shared_ptr<const WorkloadSpec> parse(const ParseContext& ctx) const override {
    if (auto w = ctx.root.find("workload")) w->expect_only({"kind"});
    return std::make_shared<GoodputSpec>(parse_goodput(ctx.root.at("model"), ctx.root.at("training"),
                                                       ctx.root.at("failures"), ctx.catalog, ctx.total_gpus,
                                                       ctx.nvlink_domain));
  }

  std::unique_ptr<WorkloadResult> run(Session& session, const WorkloadSpec& base) const override {
    GoodputSpec spec = dynamic_cast<const GoodputSpec&>(base);
    const hw::Cluster& cluster = session.cluster();
    const TrainingResult iter = simulate_iteration(session, spec.training);
    const double tokens_per_iter = double(spec.training.global_batch) * double(spec.training.sequence_length);

    // What the job is made of: the units each cause strikes.
    std::vector<FailureProcess::Cause> causes;
    for (const auto& c : spec.causes) {
      FailureProcess::Cause x;
      x.spec = c;
      if (c.unit == "gpu") x.units = cluster.gpus();
      else if (c.unit == "host") x.units = cluster.nodes();
      else if (c.unit == "nic") x.units = cluster.nodes() * std::max(1, cluster.nics_per_node());
      else x.units = cluster.leaf_switches();
      // A leaf switch takes down one port of every node hanging off it: each needs replacing.
      x.nodes_per_failure = c.unit == "switch" ? std::max(1, cluster.nodes_per_leaf()) : 1;
      causes.push_back(x);
    }
    double job_rate = 0;
    for (const auto& c : causes) job_rate += c.spec.rate * c.units;
    const double mtbf = job_rate > 0 ? 1.0 / job_rate : INFINITY;

    // Checkpoints.
    const double bytes = spec.checkpoint_bytes > 0 ? spec.checkpoint_bytes
                                                   : count_params(spec.training.model).total * kCheckpointBytesPerParam;
    const double scale = spec.tier_per_node ? cluster.nodes() : 1.0;
    JobTimes job;
    job.gpus = cluster.gpus(), job.nodes = cluster.nodes();
    job.checkpoint_write_s = bytes / (spec.tier_write_Bps * scale);
    job.checkpoint_read_s = bytes / (spec.tier_read_Bps * scale);
    // Async: training stops only while each GPU copies its shard to host memory over PCIe.
    const double d2h = cluster.system().pcie_bandwidth;
    job.checkpoint_stall_s = spec.async_checkpoint ? bytes / cluster.gpus() / d2h : job.checkpoint_write_s;
    const double young = young_interval(job.checkpoint_stall_s, mtbf), daly = daly_interval(job.checkpoint_stall_s, mtbf);
    job.interval_s = spec.checkpoint_auto ? std::min(young, spec.horizon_s) : spec.checkpoint_interval_s;

    const uint64_t seed0 = session.scenario().seed * 1000003ULL;
    auto monte_carlo = [&](const JobTimes& j, int runs, TraceStream* trace) {
      std::vector<RunStats> out;
      out.reserve(static_cast<size_t>(runs));
      for (int r = 0; r < runs; ++r)
        out.push_back(simulate_goodput_run(spec, j, causes, seed0 + uint64_t(r), r == 0 ? trace : nullptr));
      return out;
    };
    std::unique_ptr<TraceStream> trace;
    if (!session.options().trace_path.empty()) trace = std::make_unique<TraceStream>(session.options().trace_path);
    auto stats = monte_carlo(job, spec.runs, trace.get());
    // Diurnal swing: a sinusoid between full and (1 - A) throughput averages 1 - A/2 over a day.
    std::vector<double> diurnal_lost;
    for (auto& s : stats) {
      const double lost_to_swing = s.productive_s * spec.diurnal_swing / 2;
      s.productive_s -= lost_to_swing;
      diurnal_lost.push_back(lost_to_swing);
    }
    if (trace) trace->close();

    // The simulated optimum interval: mean ETTR over the same seeds (common random numbers) on a
    // geometric grid around Young's interval.
    nlohmann::json optimum = nullptr;
    if (spec.checkpoint_auto && std::isfinite(mtbf)) {
      const int runs = std::max(spec.runs, 20);
      double best_ettr = -1, best = young;
      nlohmann::json grid = nlohmann::json::array();
      for (double f : {0.25, 0.35, 0.5, 0.7, 1.0, 1.4, 2.0, 2.8, 4.0}) {
        JobTimes j = job;
        j.interval_s = std::min(young * f, spec.horizon_s);
        double sum = 0;
        for (const auto& s : monte_carlo(j, runs, nullptr)) sum += s.ettr();
        const double ettr = sum / runs;
        grid.push_back({{"interval_s", j.interval_s}, {"ettr", ettr}});
        if (ettr > best_ettr) best_ettr = ettr, best = j.interval_s;
      }
      optimum = {{"interval_s", best}, {"ettr", best_ettr}, {"runs", runs}, {"grid", grid}};
    }

    std::vector<double> ettr, interruptions, tokens;
    std::map<std::string, std::vector<double>> lost, by_cause;
    for (const auto& s : stats) {
      ettr.push_back(s.ettr());
      interruptions.push_back(s.interruptions);
      tokens.push_back(s.productive_s / iter.iteration_time_s * tokens_per_iter);
      lost["rework"].push_back(s.rework_s), lost["detection"].push_back(s.detection_s);
      lost["waiting_for_spares"].push_back(s.waiting_s), lost["restart"].push_back(s.restart_s);
      lost["reload"].push_back(s.reload_s), lost["checkpoint_stall"].push_back(s.checkpoint_stall_s);
      lost["straggling"].push_back(s.straggling_s);
    }
    if (spec.diurnal_swing > 0) lost["diurnal"] = diurnal_lost;
    for (const auto& c : causes) by_cause[c.spec.id];
    by_cause["straggler"];
    for (const auto& s : stats)
      for (auto& [id, v] : by_cause) {
        auto it = s.by_cause.find(id);
        v.push_back(it == s.by_cause.end() ? 0.0 : double(it->second));
      }
    auto out = std::make_unique<GoodputOutcome>();
    nlohmann::json& j = out->section;
    const Summary e = summarize(ettr), n = summarize(interruptions), tk = summarize(tokens);
    j["horizon_s"] = spec.horizon_s;
    j["runs"] = spec.runs;
    j["iteration_time_s"] = iter.iteration_time_s;
    j["tokens_per_iteration"] = tokens_per_iter;
    j["ettr"] = to_json(e);
    j["interruptions"] = to_json(n);
    j["delivered_tokens"] = to_json(tk);
    j["delivered_model_flops"] = tk.mean / tokens_per_iter * iter.model_flops;
    // No failure cause: no MTBF and no optimal interval (JSON null, not infinity).
    auto finite = [](double x) { return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(nullptr); };
    j["job_mtbf_h"] = finite(mtbf / 3600);
    j["job_mttf_simulated_h"] = n.mean > 0 ? nlohmann::json(spec.horizon_s / n.mean / 3600) : nlohmann::json(nullptr);
    for (const auto& [k, v] : lost) j["lost_s"][k] = to_json(summarize(v));
    for (const auto& [k, v] : by_cause) {
      const Summary s = summarize(v);
      if (s.mean > 0) j["interruptions_by_cause"][k] = s.mean;
    }
    j["checkpoint"] = {{"bytes", bytes}, {"tier", spec.tier}, {"mode", spec.async_checkpoint ? "async" : "sync"},
                       {"write_s", job.checkpoint_write_s}, {"read_s", job.checkpoint_read_s},
                       {"stall_s", job.checkpoint_stall_s}, {"interval_s", job.interval_s},
                       {"young_interval_s", finite(young)}, {"daly_interval_s", finite(daly)},
                       {"simulated_optimum", optimum}};
    j["causes"] = nlohmann::json::array();
    for (const auto& c : causes)
      j["causes"].push_back({{"id", c.spec.id}, {"unit", c.spec.unit}, {"units", c.units},
                             {"rate_per_unit_per_day", c.spec.rate * 86400}, {"source", c.spec.source}});
    j["assumptions"] = {
        "every failure of a component the job uses interrupts the whole (synchronous) job",
        fmt::format("checkpoint = {} B per parameter (BF16 weights, FP32 master, Adam moments) unless given",
                    kCheckpointBytesPerParam),
        "async checkpoints stall for the per-GPU device-to-host copy over PCIe; the write then runs in the background",
        "a straggler is evicted (restart from the last checkpoint) once detected"};
    if (iter.memory.oom) j["warnings"].push_back("the training plan does not fit in memory (see the training model)");

    std::string& t = out->text;
    t += fmt::format("goodput of {} on {} GPUs over {:.1f} days, {} run(s)\n", spec.training.model.id, cluster.gpus(),
                     spec.horizon_s / 86400, spec.runs);
    t += fmt::format("  iteration {:.3f} s; job MTBF {:.2f} h from {} causes\n", iter.iteration_time_s, mtbf / 3600,
                     causes.size());
    t += fmt::format("  ETTR        {:.3f}  (5-95 %: {:.3f} - {:.3f})\n", e.mean, e.p5, e.p95);
    t += fmt::format("  interruptions {:.1f}  (5-95 %: {:.0f} - {:.0f})\n", n.mean, n.p5, n.p95);
    t += fmt::format("  delivered   {:.4g} tokens, {:.4g} model FLOPs\n", tk.mean, j["delivered_model_flops"].get<double>());
    t += "  time lost (mean hours):";
    for (const auto& [k, v] : lost) t += fmt::format(" {} {:.2f},", k, summarize(v).mean / 3600);
    t.back() = '\n';
    t += "  interruptions by cause (mean):";
    std::vector<std::pair<double, std::string>> order;
    for (const auto& [k, v] : by_cause) order.push_back({summarize(v).mean, k});
    std::sort(order.rbegin(), order.rend());
    for (const auto& [m, k] : order)
      if (m > 0) t += fmt::format(" {} {:.1f},", k, m);
    t.back() = '\n';
    t += fmt::format("  checkpoint {:.3g} GB to {} ({}): write {:.1f} s, read {:.1f} s, stall {:.2f} s, every {:.1f} min "
                     "(Young {:.1f} min, Daly {:.1f} min)\n",
                     bytes / 1e9, spec.tier, spec.async_checkpoint ? "async" : "sync", job.checkpoint_write_s,
                     job.checkpoint_read_s, job.checkpoint_stall_s, job.interval_s / 60, young / 60, daly / 60);
    if (!optimum.is_null())
      t += fmt::format("  simulated optimum interval {:.1f} min (ETTR {:.4f} over {} seeds)\n",
                       optimum["interval_s"].get<double>() / 60, optimum["ettr"].get<double>(),
                       optimum["runs"].get<int>());
    if (trace) t += fmt::format("  trace: {} (first run's timeline)\n", session.options().trace_path);
    return out;
  }
};

}  // namespace

std::unique_ptr<Workload> make_goodput_workload() { return std::make_unique<GoodputWorkload>(); }

}  // namespace foresight::sim
