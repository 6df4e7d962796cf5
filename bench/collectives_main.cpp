// Wall time and peak memory of simulating one 1 GiB all-reduce at growing scale, in both
// fidelities. Goals (issue 2, on a 2-core machine): 16,384 GPUs under 5 s in flow, under 0.2 s in
// analytical. Prints a table; asserts nothing (timings are noisy).
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <numeric>

#include <fmt/format.h>

#include "sim/run/collective_bench.hpp"

using namespace foresight;

static double peak_mib(int who) {
  rusage ru{};
  getrusage(who, &ru);
  return ru.ru_maxrss / 1024.0;  // Linux reports KiB
}

int main(int argc, char** argv) {
  std::vector<int> gpu_counts{8, 64, 512, 4096, 16384};
  if (argc > 1) {
    gpu_counts.clear();
    for (int i = 1; i < argc; ++i) gpu_counts.push_back(std::atoi(argv[i]));
  }
  fmt::print("{:>7} {:>11} {:>10} {:>9} {:>12} {:>10} {:>11} {:>12}\n", "GPUs", "fidelity", "wall_s", "build_s",
             "peak_MiB", "algorithm", "sim_time_ms", "busbw_GB/s");
  for (int gpus : gpu_counts) {
    for (auto fidelity : {sim::Fidelity::analytical, sim::Fidelity::flow}) {
      const auto t0 = std::chrono::steady_clock::now();
      hw::ClusterSpec spec;
      spec.system = "dgx-h100";
      spec.nodes = std::max(1, gpus / 8);
      const auto cluster = hw::Cluster::build(spec, hw::Catalog::builtin());
      const double build_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      sim::CollectiveModel model(cluster, sim::NcclParams::defaults());
      sim::CollectiveBenchSpec bench;
      bench.ops = {sim::CollectiveOp::all_reduce};
      bench.ranks = gpus;
      bench.min_bytes = bench.max_bytes = 1073741824.0;
      const auto rows = sim::run_collective_bench(bench, model, fidelity);
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
