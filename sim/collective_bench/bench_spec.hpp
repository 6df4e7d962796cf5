#pragma once
// nccl-tests on a simulated cluster, as a scenario asks for it: which collectives, on how many
// ranks, over which sizes, with which algorithm and protocol.
#include <string>
#include <vector>

#include "core/collective_op.hpp"
#include "core/yaml_reader.hpp"
#include "sim/scenario/workload.hpp"

namespace foresight::sim {

struct CollectiveBenchSpec : WorkloadSpec {
  std::vector<CollectiveOp> ops;
  int ranks = 0;
  double min_bytes = 0, max_bytes = 0, factor = 2;
  std::string algorithm = "auto";
  std::string protocol = "auto";
  std::string dtype = "float";          // nccl-tests' -d: only sets the element count column
  std::vector<double> sizes() const;    // min, min*factor, ... <= max
};

// Reads the `workload:` mapping of a collective-bench scenario.
CollectiveBenchSpec parse_collective_bench(const YamlNode& workload, int total_gpus);

}  // namespace foresight::sim
