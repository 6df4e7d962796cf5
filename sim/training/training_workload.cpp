#include "sim/training/training_workload.hpp"

#include <fmt/format.h>

#include "sim/metrics/perfetto_trace.hpp"
#include "sim/run/session.hpp"
#include "sim/training/training_graph.hpp"
#include "sim/training/training_run.hpp"

namespace foresight::sim {

namespace {

struct TrainingOutcome : WorkloadResult {
  TrainingResult result;
  std::string report_text;
  std::string compute_provenance;

  void write(nlohmann::json& doc) const override {
    doc["training"] = to_json(result);
    doc["provenance"]["compute_model"] = compute_provenance;
  }
  std::string report() const override { return report_text; }
};

class TrainingWorkload final : public Workload {
 public:
  std::string kind() const override { return "training"; }
  std::vector<std::string> sections() const override { return {"model", "training"}; }
  std::string primary_section() const override { return "training"; }

  std::shared_ptr<const WorkloadSpec> parse(const ParseContext& ctx) const override {
    if (auto w = ctx.root.find("workload")) w->expect_only({"kind"});
    return std::make_shared<TrainingSpec>(
        parse_training(ctx.root.at("model"), ctx.root.at("training"), ctx.catalog, ctx.total_gpus, ctx.nvlink_domain));
  }

  std::unique_ptr<WorkloadResult> run(Session& session, const WorkloadSpec& base) const override {
    const auto& spec = dynamic_cast<const TrainingSpec&>(base);
    TaskGraph graph;
    std::vector<TaskTiming> timings;
    auto out = std::make_unique<TrainingOutcome>();
    out->result = simulate_iteration(session, spec, &graph, &timings);
    out->compute_provenance = session.compute().provenance();
    out->report_text = report_text(out->result, spec);
    const std::string& trace = session.options().trace_path;
    if (!trace.empty()) {
      const size_t slices = write_perfetto_trace(graph, timings, [](int s) { return std::string(stream_name(s)); },
                                                 trace, parse_trace_detail(session.options().trace_detail));
      out->report_text += fmt::format("  trace: {} ({} slices of {} tasks, detail {})\n", trace, slices, graph.tasks().size(),
                                      session.options().trace_detail.empty() ? "ops" : session.options().trace_detail);
    }
    return out;
  }
};

}  // namespace

std::unique_ptr<Workload> make_training_workload() { return std::make_unique<TrainingWorkload>(); }

TrainingResult simulate_iteration(Session& session, const TrainingSpec& spec, TaskGraph* graph_out,
                                  std::vector<TaskTiming>* timings_out) {
  const hw::Cluster& cluster = session.cluster();
  ClusterInfo info;
  info.total_gpus = cluster.gpus();
  info.gpus_per_node = cluster.gpus_per_node();
  info.nvlink_domain = cluster.nvlink_domain_size();
  info.gpu = &cluster.gpu();
  const hw::ComputeCostModel& cost = session.compute();
  const auto engine = session.engine();
  ProgressReporter progress(session.options().progress, "training tasks");
  if (progress.enabled())
    engine->on_progress([&progress](size_t done, size_t submitted) { progress.update(double(done), double(submitted)); });
  TaskGraph graph;
  std::vector<TaskTiming> timings;
  TrainingResult r = run_training(spec, info, cost, *engine, &graph, &timings);
  progress.finish(double(graph.tasks().size()));
  if (graph_out) *graph_out = std::move(graph);
  if (timings_out) *timings_out = std::move(timings);
  return r;
}

}  // namespace foresight::sim
