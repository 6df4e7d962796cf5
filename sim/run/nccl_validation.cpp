#include "sim/run/nccl_validation.hpp"

#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "sim/core/error.hpp"
#include "sim/run/collective_bench.hpp"

namespace foresight::sim {

std::vector<ValidationPoint> validate_nccl_allreduce_h100(const std::string& csv_path, Fidelity fidelity) {
  std::ifstream in(csv_path);
  if (!in) throw InputError(SourceLocation{csv_path, 0, 0}, "", "cannot open validation file");
  std::vector<ValidationPoint> points;
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty() || line[0] == '#' || line.rfind("bytes", 0) == 0) continue;
    std::stringstream ss(line);
    ValidationPoint p;
    char comma = 0;
    if (!(ss >> p.bytes >> comma >> p.measured_busbw) || comma != ',')
      throw InputError(SourceLocation{csv_path, line_no, 1}, "", "expected 'bytes,busbw_GBps'");
    p.measured_busbw *= 1e9;
    points.push_back(p);
  }
  // The same scenario users run: the built-in default (8x H100, one DGX node, auto algorithm).
  Scenario s = load_scenario_text(default_scenario_text(), "<built-in default scenario>");
  const hw::Cluster cluster = hw::Cluster::build(s.cluster, hw::Catalog::builtin());
  CollectiveModel model(cluster, NcclParams::defaults());
  CollectiveBenchSpec spec = s.bench;
  spec.min_bytes = points.front().bytes;
  spec.max_bytes = points.back().bytes;
  const auto rows = run_collective_bench(spec, model, fidelity);
  for (auto& p : points)
    for (const auto& r : rows)
      if (std::abs(r.bytes - p.bytes) < 0.5) {
        p.predicted_busbw = r.busbw();
        p.algorithm = r.algorithm;
        p.protocol = r.protocol;
      }
  return points;
}

std::string format_validation(const std::vector<ValidationPoint>& points) {
  std::string s = fmt::format("| {:>12} | {:>14} | {:>15} | {:>7} | {:<13} |\n", "bytes", "measured GB/s",
                              "predicted GB/s", "error", "algorithm");
  s += "|-------------:|---------------:|----------------:|--------:|:--------------|\n";
  for (const auto& p : points)
    s += fmt::format("| {:>12.0f} | {:>14.2f} | {:>15.2f} | {:>+6.1f}% | {:<13} |\n", p.bytes, p.measured_busbw / 1e9,
                     p.predicted_busbw / 1e9, 100.0 * p.error(), p.algorithm + "/" + p.protocol);
  return s;
}

}  // namespace foresight::sim
