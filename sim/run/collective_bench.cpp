#include "sim/run/collective_bench.hpp"

#include <numeric>

#include <fmt/format.h>

#include "sim/engine/flow_executor.hpp"

namespace foresight::sim {

namespace {

int dtype_size(const std::string& dtype) {
  if (dtype == "double") return 8;
  if (dtype == "half" || dtype == "bfloat16") return 2;
  if (dtype == "int8") return 1;
  return 4;
}

}  // namespace

std::vector<BenchRow> run_collective_bench(const CollectiveBenchSpec& spec, CollectiveModel& model, Fidelity fidelity) {
  std::vector<int> ranks(static_cast<size_t>(spec.ranks));
  std::iota(ranks.begin(), ranks.end(), 0);
  std::vector<BenchRow> rows;
  TaskGraph graph;
  for (auto op : spec.ops) {
    for (double bytes : spec.sizes()) {
      CollectiveRequest req{op, bytes, ranks, spec.algorithm, spec.protocol};
      const auto est = model.estimate(req);
      rows.push_back(BenchRow{op, bytes, spec.ranks, est.algorithm, est.protocol, est.time_s});
      Task t;
      t.kind = Task::Kind::collective;
      t.name = fmt::format("{} {}", op_name(op), bytes);
      t.category = "collective";
      t.collective = req;
      if (!graph.tasks().empty()) t.deps.push_back(static_cast<TaskId>(graph.tasks().size() - 1));
      graph.add(std::move(t));
    }
  }
  if (fidelity == Fidelity::flow) {
    const auto timings = run_flow(graph, model);
    for (size_t i = 0; i < rows.size(); ++i) rows[i].time_s = timings[i].end_s - timings[i].start_s;
  }
  return rows;
}

int apply_calibrated_collectives(const hw::Profile& profile, const CollectiveBenchSpec& spec, const std::string& system,
                                 std::vector<BenchRow>& rows) {
  const auto& prov = profile.provenance;
  if (prov.contains("system") && prov["system"].is_string() && prov["system"].get<std::string>() != system) return 0;
  int replaced = 0;
  for (auto& r : rows) {
    const auto* fit = profile.find_collective(op_name(r.op), r.ranks, spec.algorithm, spec.protocol);
    if (!fit) continue;
    bool extrapolated = false;
    r.time_s = hw::collective_seconds(*fit, r.bytes, &extrapolated);
    r.algorithm = "calibrated";
    r.protocol = extrapolated ? "extrapolated" : "measured";
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
    const auto count = static_cast<long long>(r.bytes / dtype_size(dtype));
    s += fmt::format("  {:>12.0f} {:>12} {:>8} {:>10.2f} {:>8.2f} {:>8.2f} {:>12} {:>8}\n", r.bytes, count, dtype,
                     r.time_s * 1e6, r.algbw() / 1e9, r.busbw() / 1e9, r.algorithm, r.protocol);
  }
  return s;
}

}  // namespace foresight::sim
