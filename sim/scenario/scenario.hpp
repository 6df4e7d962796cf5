#pragma once
// A scenario file, typed and validated: meta (name, seed, fidelity), the cluster with its hardware
// resolved from the catalog (the built-in one plus any user catalog files), and the workload's spec
// parsed by the workload registered for its kind. Nothing past this point reads YAML.
#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "hwmodels/catalog/catalog.hpp"
#include "hwmodels/topology/cluster.hpp"
#include "sim/scenario/workload.hpp"

namespace foresight::sim {

enum class Fidelity { analytical, flow };
const char* fidelity_name(Fidelity f);

struct Scenario {
  std::string name;
  std::string file;
  uint64_t seed = 1;
  Fidelity fidelity = Fidelity::flow;
  std::shared_ptr<const hw::Catalog> catalog;
  // Which measurements price the kernels: "auto" (the shipped profile for the cluster's GPU and the
  // workload's kernel family), "roofline", a family ("trtllm", "vllm", "sglang"), or a profile file
  // (resolved against the scenario's directory).
  std::string calibration = "auto";
  std::string calibration_where;        // file:line of the key, for messages about it
  hw::ClusterSpec cluster;              // resolved against `catalog`
  std::string workload_kind;
  std::shared_ptr<const WorkloadSpec> workload;
  std::vector<std::string> warnings;
  // Where every key path of the document was given (file:line:col, or "--set key"): errors found
  // late, when the cluster or a collective is built, are located through it (locate_error).
  std::map<std::string, SourceLocation> where;

  template <typename Spec>
  const Spec& workload_as() const {
    const auto* s = dynamic_cast<const Spec*>(workload.get());
    if (!s) throw std::logic_error("scenario workload '" + workload_kind + "' is not the spec type asked for");
    return *s;
  }
};

struct LoadOptions {
  std::vector<std::string> overrides;       // "a.b.c=value", as --set gives them
  std::vector<std::string> catalog_files;   // --catalog FILE, after the scenario's own `catalog:`
};

// An error raised after loading that names a key path but no place ("cluster.nodes: 19 nodes of 4
// GPUs do not fill whole 72-GPU NVLink domains") rebuilt with the place that key was given;
// other errors are returned unchanged.
InputError locate_error(const Scenario& s, const InputError& e);

// Loads and validates; every problem is an InputError naming file:line:column and the key path.
Scenario load_scenario(const std::string& path, const LoadOptions& options = {});
Scenario load_scenario_text(const std::string& text, const std::string& name, const LoadOptions& options = {});
inline Scenario load_scenario(const std::string& path, const std::vector<std::string>& overrides) {
  return load_scenario(path, LoadOptions{overrides, {}});
}
inline Scenario load_scenario_text(const std::string& text, const std::string& name,
                                   const std::vector<std::string>& overrides) {
  return load_scenario_text(text, name, LoadOptions{overrides, {}});
}

// The built-in default scenario (scenarios/nccl-allreduce-dgx-h100.yaml, embedded at build time).
const std::string& default_scenario_text();

}  // namespace foresight::sim
