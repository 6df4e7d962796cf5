#include "sim/collective_bench/collective_bench.hpp"

#include <numeric>

#include <fmt/format.h>

#include "core/dtype.hpp"

namespace foresight::sim {

TaskGraph collective_bench_graph(const CollectiveBenchSpec& spec) {
  std::vector<int> ranks(static_cast<size_t>(spec.ranks));
  std::iota(ranks.begin(), ranks.end(), 0);
  TaskGraph graph;
  for (auto op : spec.ops) {
    for (double bytes : spec.sizes()) {
      Task t;
      t.kind = Task::Kind::collective;
      t.name = fmt::format("{} {}", op_name(op), bytes);
      t.category = "collective";
      t.collective = CollectiveRequest{op, bytes, ranks, spec.algorithm, spec.protocol};
      if (!graph.tasks().empty()) t.deps.push_back(static_cast<TaskId>(graph.tasks().size() - 1));
      graph.add(std::move(t));
    }
  }
  return graph;
}

std::vector<BenchRow> run_collective_bench(const CollectiveBenchSpec& spec, CollectiveModel& model, Engine& engine,
                                           std::vector<TaskTiming>* timings_out) {
  const TaskGraph graph = collective_bench_graph(spec);
  std::vector<BenchRow> rows;
  for (const Task& t : graph.tasks()) {
    const auto choice = model.estimate(t.collective);
    rows.push_back(BenchRow{t.collective.op, t.collective.bytes, spec.ranks, choice.algorithm, choice.protocol, 0});
  }
  const auto timings = run_task_graph(graph, engine);
  for (size_t i = 0; i < rows.size(); ++i) rows[i].time_s = engine.duration(static_cast<ActivityId>(i));
  if (timings_out) *timings_out = timings;
  return rows;
}

int apply_calibrated_collectives(const hw::CalibratedCollectives& measured, const CollectiveBenchSpec& spec,
                                 const std::string& system, std::vector<BenchRow>& rows) {
  if (!measured.measured_on(system)) return 0;
  int replaced = 0;
  for (auto& r : rows) {
    const auto t = measured.time(op_name(r.op), r.ranks, r.bytes, spec.algorithm, spec.protocol);
    if (!t) continue;
    r.time_s = t->seconds;
    r.algorithm = "calibrated";
    r.protocol = t->extrapolated ? "extrapolated" : "measured";
    ++replaced;
  }
  return replaced;
}

nlohmann::json bench_rows_json(const std::vector<BenchRow>& rows) {
  auto out = nlohmann::json::array();
  for (const auto& r : rows)
    out.push_back({{"op", op_name(r.op)}, {"bytes", r.bytes}, {"ranks", r.ranks}, {"algorithm", r.algorithm},
                   {"protocol", r.protocol}, {"time_s", r.time_s}, {"algbw_GBps", r.algbw() / 1e9},
                   {"busbw_GBps", r.busbw() / 1e9}});
  return out;
}

std::string format_bench_table(const std::vector<BenchRow>& rows, const std::string& dtype) {
  std::string s;
  const char* last_op = nullptr;
  for (const auto& r : rows) {
    if (last_op != op_name(r.op)) {
      last_op = op_name(r.op);
      s += fmt::format("#\n# {} on {} ranks (simulated)\n#\n", last_op, r.ranks);
      s += fmt::format("# {:>12} {:>12} {:>8} {:>10} {:>8} {:>8} {:>12} {:>8}\n", "size", "count", "type", "time",
                       "algbw", "busbw", "algorithm", "proto");
      s += fmt::format("# {:>12} {:>12} {:>8} {:>10} {:>8} {:>8} {:>12} {:>8}\n", "(B)", "(elements)", "", "(us)",
                       "(GB/s)", "(GB/s)", "", "");
    }
    const auto count = static_cast<long long>(r.bytes / dtype_size(dtype));  // nccl-tests' element count
    s += fmt::format("  {:>12.0f} {:>12} {:>8} {:>10.2f} {:>8.2f} {:>8.2f} {:>12} {:>8}\n", r.bytes, count, dtype,
                     r.time_s * 1e6, r.algbw() / 1e9, r.busbw() / 1e9, r.algorithm, r.protocol);
  }
  return s;
}

}  // namespace foresight::sim
