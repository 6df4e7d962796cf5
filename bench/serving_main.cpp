// Wall time, simulated events per second and peak memory of large serving runs (issue 8's goal:
// 100,000 requests over 16 replicas of Llama-3.1-70B (TP8) under Poisson load in <= 2 s on a
// 2-core machine). Prints a table; asserts nothing (timings are noisy).
//   bench_serving [REQUESTS]
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
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

std::string scenario(int64_t requests, const std::string& extra) {
  return fmt::format(R"(name: bench-serving
seed: 1
fidelity: analytical
cluster: {{system: dgx-h100, nodes: 16}}
model: llama3.1-70b
serving:
  engine: vllm
  precision: fp8
  kv_dtype: fp8
  replicas: 16
  parallelism: {{tp: 8}}
  router: least_requests
  slo: {{ttft_ms: 500, tpot_ms: 40}}
{}  workload:
    requests: {}
    arrivals: {{kind: poisson, rate: 200/s}}
    input_tokens: {{dist: lognormal, mean: 1024, sigma: 0.6, max: 8192}}
    output_tokens: {{dist: lognormal, mean: 256, sigma: 0.6, max: 2048}}
    shared_prefix: {{fraction: 0.5, tokens: 512, groups: 8}}
)",
                     extra, requests);
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t requests = argc > 1 ? std::atoll(argv[1]) : 100000;
  fmt::print("{:<44} {:>9} {:>8} {:>10} {:>12} {:>9} {:>10} {:>9}\n", "case", "requests", "wall_s", "steps",
             "events/s", "peak_MiB", "sim_s", "req/s");
  const std::vector<std::pair<std::string, std::string>> cases{
      {"16x TP8 70B, vLLM, least_requests", ""},
      {"  + prefix caching, prefix_aware router", "  router: prefix_aware\n  scheduler: {prefix_caching: true}\n"},
      {"  + SGLang scheduling", "  engine: sglang\n"},
  };
  for (const auto& [name, extra] : cases) {
    std::string text = scenario(requests, extra);
    // A later `router:` / `engine:` key overrides the earlier one only through --set, so edit the text.
    if (extra.find("router:") != std::string::npos) text.replace(text.find("  router: least_requests\n"), 25, "");
    if (extra.find("engine:") != std::string::npos) text.replace(text.find("  engine: vllm\n"), 15, "");
    const auto t0 = std::chrono::steady_clock::now();
    const auto sc = sim::load_scenario_text(text, "bench");
    const auto out = sim::run_scenario(sc);
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const auto& s = out.document["serving"];
    const double steps = s["batch"]["steps"].get<double>();
    // Events: one per step and one per arrival (the engine activities of the run).
    const double events = steps + double(s["requests"].get<int64_t>());
    fmt::print("{:<44} {:>9} {:>8.3f} {:>10.0f} {:>12.0f} {:>9.1f} {:>10.1f} {:>9.1f}\n", name, requests, wall, steps,
               events / wall, peak_mib(), s["duration_s"].get<double>(), s["throughput"]["requests_per_s"].get<double>());
    std::fflush(stdout);
  }
  return 0;
}
