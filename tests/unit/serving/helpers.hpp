#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/run/run_scenario.hpp"
#include "sim/scenario/scenario.hpp"

namespace test {

// A one-node H100 scenario serving Llama-3.1-8B (TP1) under `serving_extra` (YAML lines indented
// under `serving:`), with `workload` as its workload mapping.
inline std::string serving_yaml(const std::string& workload, const std::string& serving_extra = "",
                                int replicas = 1) {
  return "name: serving-test\nseed: 7\nfidelity: analytical\ncluster: {system: dgx-h100, nodes: 1}\n"
         "model: llama3.1-8b\nserving:\n  engine: vllm\n  replicas: " +
         std::to_string(replicas) + "\n  parallelism: {tp: 1}\n  slo: {ttft_ms: 500, tpot_ms: 50}\n" + serving_extra +
         "  workload: " + workload + "\n";
}

inline nlohmann::json run_serving_yaml(const std::string& yaml, const std::vector<std::string>& overrides = {},
                                       foresight::sim::RunOptions options = {}) {
  const auto sc = foresight::sim::load_scenario_text(yaml, "serving-test.yaml", overrides);
  return foresight::sim::run_scenario(sc, options).document.at("serving");
}

}  // namespace test
