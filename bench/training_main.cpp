// Wall time of simulating one training iteration at scale (analytical fidelity), plus the
// Megatron SC'21 validation table. Usage (from the repository root):
//   bench_training                    the default set below
//   bench_training scenario.yaml ...  analytical runs of the given scenarios
//   bench_training --flow             GPT-3 175B on 1,024 GPUs with the SimGrid flow executor
// With no arguments: Llama-3-405B on 16,384 H100 (TP8 PP16 DP128), GPT-3 175B on 1,024 A100, and
// scenarios/validation/megatron-sc21-*.yaml against tests/data/validation/megatron_sc21_table1.csv.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "sim/run/session.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/training/training_run.hpp"

#ifndef FORESIGHT_VALIDATION_DIR
#define FORESIGHT_VALIDATION_DIR "tests/data/validation"
#endif

using namespace foresight;
using Clock = std::chrono::steady_clock;

namespace {

struct Outcome {
  sim::TrainingResult result;
  double wall_s = 0;
};

// Analytical fidelity unless `flow` is set (the scenario's own fidelity key is ignored so that both
// engines can be timed on the same scenario). Wall time covers loading, building and simulating.
Outcome simulate(const std::string& path, bool flow = false) {
  const auto t0 = Clock::now();
  sim::Scenario sc = sim::load_scenario(path);
  sc.fidelity = flow ? sim::Fidelity::flow : sim::Fidelity::analytical;
  const auto& spec = sc.workload_as<sim::TrainingSpec>();
  sim::Session session(sc);
  const hw::Cluster& cluster = session.cluster();
  sim::ClusterInfo info;
  info.total_gpus = cluster.gpus();
  info.gpus_per_node = cluster.gpus_per_node();
  info.nvlink_domain = cluster.nvlink_domain_size();
  info.gpu = &cluster.gpu();
  auto engine = session.engine();
  Outcome o;
  o.result = sim::run_training(spec, info, session.compute(), *engine);
  o.wall_s = std::chrono::duration<double>(Clock::now() - t0).count();
  return o;
}

void print(const std::string& label, const Outcome& o) {
  const auto& r = o.result;
  const auto& b = r.breakdown;
  std::printf("%-34s wall %7.3f s  tasks %7d  iter %8.3f s  %6.1f TFLOP/s/GPU (Eq.3 %6.1f)  MFU %4.1f %%\n",
              label.c_str(), o.wall_s, r.tasks, r.iteration_time_s, r.model_tflops_per_gpu,
              r.megatron_eq3_tflops_per_gpu, 100 * r.mfu);
  std::printf("    compute %.3f (recompute %.3f)  tp %.3f  cp %.3f  pp %.3f  dp %.3f  bubble %.3f  optimizer %.3f s;"
              "  memory %.1f GiB%s\n",
              b.compute, b.recompute, b.exposed_in(sim::ParallelDim::tp), b.exposed_in(sim::ParallelDim::cp),
              b.exposed_in(sim::ParallelDim::pp), b.exposed_in(sim::ParallelDim::dp), b.bubble, b.optimizer,
              r.memory.peak / 1073741824.0, r.memory.oom ? " (OOM)" : "");
}

void validation_table(const std::string& root) {
  const std::string path = std::string(FORESIGHT_VALIDATION_DIR) + "/megatron_sc21_table1.csv";
  std::ifstream csv(path);
  if (!csv) {
    std::printf("validation CSV not found: %s\n", path.c_str());
    return;
  }
  std::printf("\nMegatron-LM SC'21 Table 1 (A100, Eq. 3 TFLOP/s per GPU)\n");
  std::printf("%-10s %6s %4s %4s %5s %10s %10s %8s\n", "params", "gpus", "tp", "pp", "dp", "published", "predicted",
              "error");
  std::string line;
  while (std::getline(csv, line)) {
    if (line.empty() || line[0] == '#' || line.rfind("params", 0) == 0) continue;  // notes and header
    std::stringstream ss(line);
    std::vector<std::string> f;
    for (std::string x; std::getline(ss, x, ',');) f.push_back(x);
    if (f.size() < 10) continue;
    const Outcome o = simulate(root + "/scenarios/validation/megatron-sc21-" + f[0] + "b.yaml");
    const double pub = std::stod(f[8]);
    const double pred = o.result.megatron_eq3_tflops_per_gpu;
    std::printf("%-10s %6s %4s %4s %5d %10.0f %10.1f %+7.1f %%\n", (f[0] + "B").c_str(), f[6].c_str(), f[4].c_str(),
                f[5].c_str(), std::stoi(f[6]) / (std::stoi(f[4]) * std::stoi(f[5])), pub, pred, 100 * (pred - pub) / pub);
    print("    " + f[0] + "B", o);
  }
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc > 1 && std::string(argv[1]) == "--flow") {
      print("gpt3-175b 1024xA100 (flow)", simulate("scenarios/gpt3-175b-1024-a100.yaml", true));
      return 0;
    }
    if (argc > 1) {
      for (int i = 1; i < argc; ++i) print(argv[i], simulate(argv[i]));
      return 0;
    }
    print("llama3-405b 16384xH100 TP8 PP16 DP128", simulate("scenarios/llama3-405b-16k-h100.yaml"));
    print("gpt3-175b 1024xA100 TP8 PP8 DP16", simulate("scenarios/gpt3-175b-1024-a100.yaml"));
    validation_table(".");
  } catch (const InputError& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
