// Mixture-of-experts benchmarks (issue: MoE and expert parallelism). Prints, asserts nothing:
//  1. DeepSeek-V3 pre-training step on 2,048 H800 (scenarios/deepseek-v3-2048-h800.yaml) in
//     analytical fidelity: wall time (goal <= 2 s on a 2-core machine) and the predicted step
//     against the 19.9 s the technical report's 180K GPU hours per trillion tokens imply.
//  2. One EP-256 dispatch + combine (32 HGX H800 nodes, DeepSeek-V3 token size and fan-out) in
//     flow fidelity: wall time (goal <= 10 s) and the simulated times of both fidelities.
//   bench_moe [--skip-flow]
#include <chrono>
#include <cstdio>
#include <string>

#include <fmt/format.h>

#include "core/error.hpp"
#include "sim/engine/task_graph.hpp"
#include "sim/moe/routing.hpp"
#include "sim/run/session.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/training/training_run.hpp"
#include "sim/training/training_workload.hpp"

using namespace foresight;
using Clock = std::chrono::steady_clock;

namespace {

double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

void deepseek_step() {
  const auto t0 = Clock::now();
  sim::Scenario sc = sim::load_scenario("scenarios/deepseek-v3-2048-h800.yaml");
  const auto& spec = sc.workload_as<sim::TrainingSpec>();
  sim::Session session(sc);
  const sim::TrainingResult r = sim::simulate_iteration(session, spec);
  const double wall = since(t0);
  // DeepSeek-V3 report sec. 1: 180K H800 GPU hours per trillion tokens on its 2,048 GPUs.
  const double tokens = double(spec.global_batch) * spec.sequence_length;
  const double reported = 180e3 * 3600.0 / 2048.0 * tokens / 1e12;
  fmt::print("DeepSeek-V3 step, 2048 x H800 PP16 EP64 DP128 {} (analytical): wall {:.3f} s (goal <= 2 s), {} tasks\n",
             spec.schedule, wall, r.tasks);
  fmt::print("  predicted step {:.2f} s vs {:.2f} s from the report's GPU hours: {:+.1f} %\n", r.iteration_time_s,
             reported, 100.0 * (r.iteration_time_s - reported) / reported);
  fmt::print("  exposed EP {:.2f} s, bubble {:.2f} s, imbalance {:.3f} s (stage {}), fan-out {:.2f} nodes x {:.2f} GPUs\n",
             r.breakdown.exposed_in(sim::ParallelDim::ep), r.breakdown.bubble, r.moe.imbalance_s, r.moe.stage,
             r.moe.fan_out_nodes, r.moe.fan_out_ranks_per_node);
}

void ep256_dispatch() {
  for (const char* fidelity : {"analytical", "flow"}) {
    const auto t0 = Clock::now();
    sim::Scenario sc = sim::load_scenario_text(
        sim::default_scenario_text(), "bench",
        {"cluster.system=hgx-h800", "cluster.nodes=32", "workload.ranks=256", "workload.ops=[all_reduce]",
         "workload.sizes.min=1KiB", "workload.sizes.max=1KiB", fmt::format("fidelity={}", fidelity)});
    sim::Session session(sc);
    // DeepSeek-V3: 4096 tokens per rank, hidden 7168, fp8 dispatch (1 B + 4 B per 128 values),
    // bf16 combine; 256 experts on 256 ranks with group-limited routing (8 groups, top 4).
    hw::MoeSpec moe;
    moe.experts = 256, moe.top_k = 8, moe.expert_groups = 8, moe.top_groups = 4;
    std::vector<int> node_of(256);
    for (int r = 0; r < 256; ++r) node_of[size_t(r)] = r / 8;
    const sim::FanOut f = sim::expected_fan_out(std::vector<double>(256, 1.0 / 256), moe, node_of, 1);
    sim::TaskGraph g;
    std::vector<int> ranks(256);
    for (int r = 0; r < 256; ++r) ranks[size_t(r)] = r;
    for (double token_bytes : {7168.0 * (1 + 4.0 / 128), 7168.0 * 2}) {
      sim::Task t;
      t.kind = sim::Task::Kind::collective;
      t.name = token_bytes < 10000 ? "dispatch" : "combine";
      t.collective = sim::CollectiveRequest{CollectiveOp::all_to_all, 4096 * token_bytes, ranks, "hierarchical", "auto",
                                            f.nodes, f.ranks_per_node};
      if (!g.tasks().empty()) t.deps.push_back(0);
      g.add(t);
    }
    auto engine = session.engine();
    const auto timings = sim::run_task_graph(g, *engine);
    fmt::print("EP-256 dispatch + combine ({}): wall {:.3f} s{}; simulated {:.3f} ms + {:.3f} ms (fan-out {:.2f} nodes x "
               "{:.2f} GPUs)\n",
               fidelity, since(t0), std::string(fidelity) == "flow" ? " (goal <= 10 s)" : "",
               1e3 * (timings[0].end_s - timings[0].start_s), 1e3 * (timings[1].end_s - timings[1].start_s), f.nodes,
               f.ranks_per_node);
  }
}

}  // namespace

int main(int argc, char** argv) {
  try {
    deepseek_step();
    if (!(argc > 1 && std::string(argv[1]) == "--skip-flow")) ep256_dispatch();
  } catch (const InputError& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
