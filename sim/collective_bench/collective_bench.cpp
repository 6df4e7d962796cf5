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

// nccl-tests' own layout (out-of-place and in-place columns, redop and root, #wrong, the average
// bus bandwidth footer), so nccl-tests parsers, ours included (calibrate/import/nccl_tests), read
// it. A simulation runs no kernel: in-place equals out-of-place and #wrong is N/A, as nccl-tests
// prints it with validation off. The algorithm and protocol the tuner chose follow as comments.
std::string format_bench_table(const std::vector<BenchRow>& rows, const std::string& dtype,
                               const std::vector<std::string>& devices) {
  std::string s;
  size_t i = 0;
  while (i < rows.size()) {
    const CollectiveOp op = rows[i].op;
    size_t j = i;
    while (j < rows.size() && rows[j].op == op) ++j;
    const bool reduces = op == CollectiveOp::all_reduce || op == CollectiveOp::reduce_scatter || op == CollectiveOp::reduce;
    const bool rooted = op == CollectiveOp::broadcast || op == CollectiveOp::reduce;
    s += fmt::format("# Collective test starting: {}_perf\n# (simulated by Foresight: no kernel ran)\n", op_name(op));
    s += fmt::format("# nThread 1 nGpus {} minBytes {:.0f} maxBytes {:.0f} step: 2(factor) validation: 0 graph: 0\n#\n",
                     rows[i].ranks, rows[i].bytes, rows[j - 1].bytes);
    if (!devices.empty()) {
      s += "# Using devices\n";
      for (int r = 0; r < rows[i].ranks && r < static_cast<int>(devices.size()); ++r) s += "#  " + devices[size_t(r)] + "\n";
      s += "#\n";
    }
    s += fmt::format("#{:>62}{:>35}\n", "out-of-place", "in-place");
    s += fmt::format("# {:>10} {:>12} {:>8} {:>6} {:>6} {:>8} {:>7} {:>7} {:>6} {:>8} {:>7} {:>7} {:>6}\n", "size", "count",
                     "type", "redop", "root", "time", "algbw", "busbw", "#wrong", "time", "algbw", "busbw", "#wrong");
    s += fmt::format("# {:>10} {:>12} {:>8} {:>6} {:>6} {:>8} {:>7} {:>7} {:>6} {:>8} {:>7} {:>7} {:>6}\n", "(B)",
                     "(elements)", "", "", "", "(us)", "(GB/s)", "(GB/s)", "", "(us)", "(GB/s)", "(GB/s)", "");
    double busbw_sum = 0;
    std::string choices;
    for (size_t k = i; k < j; ++k) {
      const BenchRow& r = rows[k];
      const auto count = static_cast<long long>(r.bytes / dtype_size(dtype));  // nccl-tests' element count
      const std::string cols = fmt::format("{:>8.2f} {:>7.2f} {:>7.2f} {:>6}", r.time_s * 1e6, r.algbw() / 1e9,
                                           r.busbw() / 1e9, "N/A");
      s += fmt::format("  {:>10.0f} {:>12} {:>8} {:>6} {:>6} {} {}\n", r.bytes, count, dtype, reduces ? "sum" : "none",
                       rooted ? 0 : -1, cols, cols);
      busbw_sum += r.busbw() / 1e9;
      choices += fmt::format("#   {:>12.0f} B: {} {}\n", r.bytes, r.algorithm, r.protocol);
    }
    s += "# Out of bounds values : 0 OK\n";
    s += fmt::format("# Avg bus bandwidth    : {:.3f}\n#\n", busbw_sum / double(j - i));
    s += "# Algorithm and protocol the tuner chose:\n" + choices + "#\n";
    i = j;
  }
  return s;
}

}  // namespace foresight::sim
