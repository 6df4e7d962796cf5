// Goodput benchmark (issue 12's goals): one 30-day run of a 16,384-GPU job with failures in <= 0.5 s,
// and a 1,000-seed Monte Carlo in <= 30 s, on a 2-core machine. The iteration time is simulated once
// per scenario load; the rest is failure, checkpoint and restart events. Prints times; asserts nothing.
//   bench_goodput (from the repository root)
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "sim/run/run_scenario.hpp"

using namespace foresight;

namespace {

double peak_mib() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1024.0;
}

double timed(const std::vector<std::string>& set, nlohmann::json* out) {
  const auto t0 = std::chrono::steady_clock::now();
  const sim::Scenario s = sim::load_scenario(FORESIGHT_SOURCE_DIR "/scenarios/goodput-llama3-405b-16k.yaml", set);
  *out = sim::run_scenario(s, {}).document.at("goodput");
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main() {
  nlohmann::json g;
  // The training iteration alone: a run with no failure causes and one seed.
  const double base = timed({"failures.horizon=1h", "failures.causes={}", "failures.runs=1"}, &g);
  fmt::print("{:<44} {:>8} {:>10} {:>8} {:>12}\n", "case", "wall_s", "minus_iter", "ETTR", "interrupts");
  fmt::print("{:<44} {:>8.3f} {:>10} {:>8} {:>12}\n", "training iteration only (16,384 H100)", base, "-", "-", "-");
  for (const auto& [name, set] : std::vector<std::pair<std::string, std::vector<std::string>>>{
           {"30 days, 1 run", {"failures.horizon=30d", "failures.runs=1"}},
           {"30 days, 1,000 runs", {"failures.horizon=30d", "failures.runs=1000"}},
           {"300 days, 1 run (memory flat in horizon)", {"failures.horizon=300d", "failures.runs=1"}}}) {
    const double wall = timed(set, &g);
    fmt::print("{:<44} {:>8.3f} {:>10.3f} {:>8.4f} {:>12.1f}\n", name, wall, wall - base, g["ettr"]["mean"].get<double>(),
               g["interruptions"]["mean"].get<double>());
  }
  fmt::print("peak memory {:.0f} MiB\n", peak_mib());
  return 0;
}
