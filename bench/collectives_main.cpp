// Wall time and peak memory of simulating one 1 GiB all-reduce at growing scale, in both
// fidelities. Goals (issues 2 and 7, on a 2-core machine): 16,384 GPUs under 0.2 s in analytical
// and under 5 s in flow for every algorithm `auto` may choose. Prints a table; asserts nothing
// (timings are noisy).
//   bench_collectives [--algorithm auto|ring|tree] [--fidelity both|analytical|flow] [GPUS ...]
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "sim/collective_bench/collective_bench.hpp"
#include "sim/run/session.hpp"

using namespace foresight;

static double peak_mib(int who) {
  rusage ru{};
  getrusage(who, &ru);
  return ru.ru_maxrss / 1024.0;  // Linux reports KiB
}

int main(int argc, char** argv) {
  std::vector<int> gpu_counts;
  std::string algorithm = "auto", fidelities = "both";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--algorithm" && i + 1 < argc) algorithm = argv[++i];
    else if (a == "--fidelity" && i + 1 < argc) fidelities = argv[++i];
    else gpu_counts.push_back(std::atoi(argv[i]));
  }
  if (gpu_counts.empty()) gpu_counts = {8, 64, 512, 4096, 16384};
  std::vector<sim::Fidelity> modes;
  if (fidelities != "flow") modes.push_back(sim::Fidelity::analytical);
  if (fidelities != "analytical") modes.push_back(sim::Fidelity::flow);
  fmt::print("{:>7} {:>11} {:>10} {:>9} {:>12} {:>10} {:>11} {:>12}\n", "GPUs", "fidelity", "wall_s", "build_s",
             "peak_MiB", "algorithm", "sim_time_ms", "busbw_GB/s");
  for (int gpus : gpu_counts) {
    for (auto fidelity : modes) {
      const auto t0 = std::chrono::steady_clock::now();
      sim::Scenario sc = sim::load_scenario_text(
          sim::default_scenario_text(), "bench",
          {fmt::format("cluster.nodes={}", std::max(1, gpus / 8)), fmt::format("workload.ranks={}", gpus),
           "workload.ops=[all_reduce]", "workload.sizes.min=1GiB", "workload.sizes.max=1GiB",
           "workload.algorithm=" + algorithm, fmt::format("fidelity={}", sim::fidelity_name(fidelity))});
      sim::Session session(sc);
      const double build_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      auto engine = session.engine();
      const auto rows =
          sim::run_collective_bench(sc.workload_as<sim::CollectiveBenchSpec>(), session.collectives(), *engine);
      const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      // The flow run happens in a forked child; its peak shows under RUSAGE_CHILDREN.
      const double peak = fidelity == sim::Fidelity::flow ? peak_mib(RUSAGE_CHILDREN) : peak_mib(RUSAGE_SELF);
      fmt::print("{:>7} {:>11} {:>10.3f} {:>9.3f} {:>12.1f} {:>10} {:>11.3f} {:>12.1f}\n", gpus,
                 sim::fidelity_name(fidelity), wall, build_s, peak, rows[0].algorithm, rows[0].time_s * 1e3,
                 rows[0].busbw() / 1e9);
      std::fflush(stdout);
    }
  }
  return 0;
}
