#include "sim/collective_bench/nccl_validation.hpp"

#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "core/error.hpp"
#include "sim/collective_bench/collective_bench.hpp"
#include "sim/run/session.hpp"

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
  s.fidelity = fidelity;
  CollectiveBenchSpec spec = s.workload_as<CollectiveBenchSpec>();
  spec.min_bytes = points.front().bytes;
  spec.max_bytes = points.back().bytes;
  Session session(s);
  const auto engine = session.engine();
  const auto rows = run_collective_bench(spec, session.collectives(), *engine);
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
