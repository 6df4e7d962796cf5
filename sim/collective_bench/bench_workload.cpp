#include "sim/collective_bench/bench_workload.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/memory_budget.hpp"
#include "core/units.hpp"
#include "sim/collective_bench/collective_bench.hpp"
#include "sim/metrics/perfetto_trace.hpp"
#include "sim/run/session.hpp"

namespace foresight::sim {

namespace {

struct BenchOutcome : WorkloadResult {
  std::vector<BenchRow> rows;
  std::string text;
  std::string profile_note;

  void write(nlohmann::json& doc) const override {
    if (!profile_note.empty()) doc["provenance"]["collective_profile"] = profile_note;
    doc["collectives"] = bench_rows_json(rows);
  }
  std::string report() const override { return text; }
};

// Wall time before it is spent: an all-to-all puts every pair of ranks on the fabric at once, and
// SimGrid's max-min sharing over that many concurrent flows grows far faster than their number
// (one 1 MiB all-to-all on the 2-core build machine: 128 ranks 0.18 s, 256 ranks 12 s, 512 ranks
// 210 s). Past 256 ranks
// flow fidelity is refused with what to change; the analytical model prices 4,096 ranks in seconds.
// Memory likewise: about 100 B per point-to-point transfer of a plan (2,048 ranks, 4.2 M transfers:
// 334 MB peak RSS, i.e. 80 B, rounded up), against the run's budget.
void check_flow_work(const Session& session, const CollectiveBenchSpec& spec) {
  constexpr double kMaxConcurrentFlows = 256.0 * 255.0, kBytesPerTransfer = 100;
  if (std::find(spec.ops.begin(), spec.ops.end(), CollectiveOp::all_to_all) == spec.ops.end()) return;
  const double flows = double(spec.ranks) * (spec.ranks - 1);
  const MemoryBudget budget = memory_budget();
  if (flows * kBytesPerTransfer > budget.bytes)
    throw InputError(fmt::format("workload.ranks: all_to_all over {} ranks plans {:.3g} transfers, about {} (budget {}: "
                                 "{}); use fewer ranks", spec.ranks, flows, units::format_bytes(flows * kBytesPerTransfer),
                                 units::format_bytes(budget.bytes), budget.source));
  if (session.scenario().fidelity != Fidelity::flow) return;
  if (flows > kMaxConcurrentFlows)
    throw InputError(fmt::format(
        "workload.ranks: all_to_all over {} ranks is {:.3g} concurrent flows, beyond what flow fidelity simulates in "
        "reasonable time ({:.0f}, 256 ranks, took 12 s; 512 ranks took 210 s); use fidelity: analytical or at most 256 "
        "ranks", spec.ranks, flows, kMaxConcurrentFlows));
}

class CollectiveBenchWorkload final : public Workload {
 public:
  std::string kind() const override { return "collective-bench"; }
  std::vector<std::string> sections() const override { return {}; }

  std::shared_ptr<const WorkloadSpec> parse(const ParseContext& ctx) const override {
    return std::make_shared<CollectiveBenchSpec>(parse_collective_bench(ctx.root.at("workload"), ctx.total_gpus));
  }

  std::unique_ptr<WorkloadResult> run(Session& session, const WorkloadSpec& base) const override {
    const auto& spec = dynamic_cast<const CollectiveBenchSpec&>(base);
    check_flow_work(session, spec);
    auto out = std::make_unique<BenchOutcome>();
    for (const auto& w : spec.warnings) out->text += "warning: " + w + "\n";
    const auto engine = session.engine();
    std::vector<TaskTiming> timings;
    out->rows = run_collective_bench(spec, session.collectives(), *engine, &timings);
    if (const auto* measured = session.measured_collectives()) {
      const int replaced = apply_calibrated_collectives(*measured, spec, session.cluster().system().id, out->rows);
      out->profile_note = fmt::format("{}: {} of {} rows timed from measured collectives",
                                      session.options().profile_path, replaced, out->rows.size());
    }
    std::vector<std::string> devices;
    const auto& c = session.cluster();
    for (int r = 0; r < spec.ranks; ++r)
      devices.push_back(fmt::format("Rank {:>3} Group  0 Pid {:>6} on {}-node{} device {:>2} [sim] {}", r, r,
                                    c.system().id, c.node_of(r), r % c.gpus_per_node(), c.gpu().name));
    out->text += format_bench_table(out->rows, spec.dtype, devices);
    const std::string& trace = session.options().trace_path;
    if (!trace.empty()) {
      const TaskGraph graph = collective_bench_graph(spec);
      write_perfetto_trace(graph, timings, [](int) { return std::string("collectives"); }, trace);
      out->text += fmt::format("trace: {} ({} collectives)\n", trace, graph.tasks().size());
    }
    return out;
  }
};

}  // namespace

std::unique_ptr<Workload> make_collective_bench_workload() { return std::make_unique<CollectiveBenchWorkload>(); }

}  // namespace foresight::sim
