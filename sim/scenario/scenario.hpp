#pragma once
// A scenario file, typed and validated. Nothing past this point reads YAML.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hwmodels/topology/cluster.hpp"
#include "sim/collectives/collective.hpp"
#include "sim/training/training_spec.hpp"

namespace foresight::sim {

enum class Fidelity { analytical, flow };
const char* fidelity_name(Fidelity f);

struct CollectiveBenchSpec {
  std::vector<CollectiveOp> ops;
  int ranks = 0;
  double min_bytes = 0, max_bytes = 0, factor = 2;
  std::string algorithm = "auto";
  std::string protocol = "auto";
  std::string dtype = "float";          // nccl-tests' -d: only sets the element count column
  std::vector<double> sizes() const;    // min, min*factor, ... <= max
};

struct Scenario {
  std::string name;
  std::string file;
  uint64_t seed = 1;
  Fidelity fidelity = Fidelity::flow;
  hw::ClusterSpec cluster;
  std::string workload_kind;            // collective-bench | training
  CollectiveBenchSpec bench;
  std::optional<TrainingSpec> training;
  std::vector<std::string> warnings;
};

// Loads and validates; every problem is an InputError naming file:line:column and the key path.
Scenario load_scenario(const std::string& path, const std::vector<std::string>& overrides = {},
                       const hw::Catalog& catalog = hw::Catalog::builtin());
Scenario load_scenario_text(const std::string& text, const std::string& name,
                            const std::vector<std::string>& overrides = {},
                            const hw::Catalog& catalog = hw::Catalog::builtin());

// The built-in default scenario (scenarios/nccl-allreduce-dgx-h100.yaml, embedded at build time).
const std::string& default_scenario_text();

}  // namespace foresight::sim
