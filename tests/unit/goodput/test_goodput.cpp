// Goodput under failures: closed forms, conservation, determinism, scaling and Young/Daly.
#include <catch2/catch.hpp>

#include <cmath>

#include "core/error.hpp"
#include "sim/goodput/goodput_workload.hpp"
#include "sim/run/run_scenario.hpp"
#include "sim/scenario/scenario.hpp"

using namespace foresight;
using namespace foresight::sim;

namespace {

// A small training job (GPT-3 125M on 2 DGX H100) with `failures` as its failures section body.
std::string scenario(const std::string& failures, int nodes = 2) {
  return "name: goodput-test\nseed: 5\nfidelity: analytical\ncluster: {system: dgx-h100, nodes: " +
         std::to_string(nodes) +
         "}\nmodel: gpt3-125m\ntraining:\n  sequence_length: 2048\n  global_batch: " + std::to_string(16 * nodes) +
         "\n  micro_batch: 1\n  parallelism: {tp: 1, pp: 1, dp: " + std::to_string(8 * nodes) +
         "}\n  recompute: none\nfailures:\n" + failures;
}

nlohmann::json goodput(const std::string& text, std::vector<std::string> set = {}) {
  const Scenario s = load_scenario_text(text, "goodput-test.yaml", set);
  return run_scenario(s, {}).document.at("goodput");
}

// 120 TB on Tectonic's 2 TB/s: a 60 s checkpoint write (and read).
const char* kQuiet = "  horizon: 10h\n  causes: {}\n  checkpoint: {interval: 30min, tier: tectonic, size: 120TB}\n";

}  // namespace

TEST_CASE("without failures ETTR is one less the checkpoint stalls", "[goodput]") {
  const auto g = goodput(scenario(kQuiet));
  CHECK(g["checkpoint"]["stall_s"].get<double>() == Approx(60.0));
  // Stalls end every 1,860 s: 19 in 10 h, then 660 s of training.
  CHECK(g["ettr"]["mean"].get<double>() == Approx((19 * 1800.0 + 660) / 36000).epsilon(1e-12));
  CHECK(g["lost_s"]["checkpoint_stall"]["mean"].get<double>() == Approx(19 * 60.0));
  CHECK(g["interruptions"]["mean"].get<double>() == 0);
}

TEST_CASE("one failure at a known time loses the work since the last checkpoint plus recovery", "[goodput]") {
  const auto g = goodput(scenario("  horizon: 20h\n  causes: {}\n  inject: [3h]\n  detection: 10min\n  restart: 10min\n"
                                  "  spares: {hot: 1}\n  checkpoint: {interval: 30min, tier: tectonic, size: 120TB}\n"));
  // 5 checkpoints done by 9,300 s; the failure at 10,800 s loses 1,500 s of training; back at
  // 10,800 + 600 + 600 + 60 s; then 32 more stalls and 420 s of training before 20 h.
  const auto& lost = g["lost_s"];
  CHECK(lost["rework"]["mean"].get<double>() == Approx(1500));
  CHECK(lost["detection"]["mean"].get<double>() == Approx(600));
  CHECK(lost["restart"]["mean"].get<double>() == Approx(600));
  CHECK(lost["reload"]["mean"].get<double>() == Approx(60));
  CHECK(lost["waiting_for_spares"]["mean"].get<double>() == 0);
  CHECK(lost["checkpoint_stall"]["mean"].get<double>() == Approx(37 * 60.0));
  CHECK(g["ettr"]["mean"].get<double>() == Approx(67020.0 / 72000).epsilon(1e-12));
  // Without a spare the job also waits for the repair.
  const auto w = goodput(scenario("  horizon: 20h\n  causes: {}\n  inject: [3h]\n  repair: 2h\n"
                                  "  checkpoint: {interval: 30min, tier: tectonic, size: 120TB}\n"));
  CHECK(w["lost_s"]["waiting_for_spares"]["mean"].get<double>() == Approx(2 * 3600.0 - 600));
}

TEST_CASE("time is conserved and runs are deterministic for a seed", "[goodput]") {
  const std::string text = scenario("  horizon: 7d\n  runs: 30\n  scale_rates: 200\n"
                                    "  stragglers: {rate: 0.05/d, slowdown: 2, detect: 1h}\n"
                                    "  checkpoint: {interval: 1h, tier: gpfs-nvme, mode: async}\n");
  const auto a = goodput(text), b = goodput(text);
  CHECK(a == b);
  double sum = a["ettr"]["mean"].get<double>() * a["horizon_s"].get<double>();
  for (const auto& [k, v] : a["lost_s"].items()) sum += v["mean"].get<double>();
  CHECK(sum == Approx(a["horizon_s"].get<double>()).epsilon(1e-9));
  CHECK(a["interruptions"]["mean"].get<double>() > 5);
  CHECK(a["interruptions_by_cause"].contains("straggler"));
  const auto c = goodput(text, {"seed=6"});
  CHECK(c["ettr"]["mean"] != a["ettr"]["mean"]);
}

TEST_CASE("job MTBF falls as one over the GPU count for independent failures", "[goodput]") {
  const std::string f = "  horizon: 30d\n  runs: 100\n  causes: {faulty-gpu: {}, gpu-hbm3: {}}\n  scale_rates: 50\n"
                        "  checkpoint: {interval: 1h, tier: tectonic}\n";
  const auto small = goodput(scenario(f, 2)), big = goodput(scenario(f, 16));
  CHECK(small["job_mtbf_h"].get<double>() / big["job_mtbf_h"].get<double>() == Approx(8.0));
  // Simulated: interruptions are Poisson counts, so 100 runs measure the mean to ~1/sqrt(100 n).
  const double ratio = big["interruptions"]["mean"].get<double>() / small["interruptions"]["mean"].get<double>();
  CHECK(ratio == Approx(8.0).epsilon(0.1));
}

TEST_CASE("the simulated optimal checkpoint interval agrees with Young's where its assumptions hold", "[goodput]") {
  // Young assumes exponential failures, a checkpoint cost much below the MTBF and no restart cost:
  // one cause of 0.15 per GPU-day on 16 GPUs (MTBF 10 h), a 60 s checkpoint, instant recovery.
  const auto g = goodput(scenario("  horizon: 30d\n  runs: 200\n  causes: {x: {unit: gpu, rate: 0.15/d, needs_spare: false}}\n"
                                  "  detection: 0s\n  restart: 0s\n"
                                  "  checkpoint: {interval: auto, tier: tectonic, size: 120TB}\n"));
  const auto& ck = g["checkpoint"];
  const double young = ck["young_interval_s"].get<double>();
  CHECK(young == Approx(std::sqrt(2 * 60.0 * 10 * 3600)).epsilon(1e-3));
  CHECK(ck["interval_s"].get<double>() == Approx(young));
  const double best = ck["simulated_optimum"]["interval_s"].get<double>();
  // The ETTR curve is flat near its optimum; the grid steps by sqrt(2): within one step either side.
  CHECK(best >= 0.7 * young * 0.999);
  CHECK(best <= 1.4 * young * 1.001);
  CHECK(daly_interval(60, 36000) == Approx(std::sqrt(2 * 60.0 * 36000) * (1 + std::sqrt(60.0 / 72000) / 3 +
                                                                        60.0 / 72000 / 9) - 60));
  CHECK(daly_interval(100, 40) == 40);  // delta >= 2 M: checkpoint every MTBF
}
