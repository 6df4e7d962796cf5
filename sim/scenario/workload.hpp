#pragma once
// A workload kind (collective-bench, training, and soon serving, failures...) is one object that
// parses its part of a scenario into a spec, runs the spec on a Session, and returns a result that
// renders itself as JSON and as a report. The registry maps kinds to workloads; sim/run/workloads.cpp
// holds the one registration line per kind.
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/yaml_reader.hpp"
#include "hwmodels/catalog/catalog.hpp"
#include "hwmodels/topology/cluster.hpp"

namespace foresight::sim {

class Session;

// What a workload parsed: owned by the Scenario, read by the workload's run.
struct WorkloadSpec {
  virtual ~WorkloadSpec() = default;
  // The framework whose kernels `calibration: auto` prices this workload with (profiles are keyed by
  // it: the same GEMM runs at different speeds in different frameworks' kernels); "" = none needed.
  virtual std::string kernel_family() const { return ""; }
  // The resolved plan as plain values (sizes, batch, precision ...): what search results and
  // provenance record about the point that produced them.
  virtual nlohmann::json describe() const { return nlohmann::json::object(); }
  std::vector<std::string> warnings;   // shown in the report and the JSON document
};

struct ParseContext {
  const YamlNode& root;                // the whole scenario document (overrides applied)
  const hw::Catalog& catalog;          // built-in plus the scenario's catalog files
  const hw::ClusterSpec& cluster;      // resolved
  int total_gpus = 0;
  int nvlink_domain = 0;               // GPUs per NVLink domain, capped at the cluster size
};

struct WorkloadResult {
  virtual ~WorkloadResult() = default;
  // Adds this workload's section(s) to the --json document, and provenance lines to
  // document["provenance"].
  virtual void write(nlohmann::json& document) const = 0;
  virtual std::string report() const = 0;
};

class Workload {
 public:
  virtual ~Workload() = default;
  virtual std::string kind() const = 0;
  // The top-level scenario keys this workload reads besides the common ones (name, seed, fidelity,
  // cluster, catalog, workload). A scenario without workload.kind is of the one registered kind
  // whose primary section it has.
  virtual std::vector<std::string> sections() const = 0;
  virtual std::string primary_section() const { return ""; }
  virtual std::shared_ptr<const WorkloadSpec> parse(const ParseContext& ctx) const = 0;
  virtual std::unique_ptr<WorkloadResult> run(Session& session, const WorkloadSpec& spec) const = 0;
};

class WorkloadRegistry {
 public:
  void add(std::unique_ptr<Workload> w);
  const Workload* find(const std::string& kind) const;
  const std::vector<std::unique_ptr<Workload>>& all() const { return workloads_; }
  std::vector<std::string> kinds() const;

  // Every workload Foresight ships (sim/run/workloads.cpp).
  static const WorkloadRegistry& builtin();

 private:
  std::vector<std::unique_ptr<Workload>> workloads_;
};

}  // namespace foresight::sim
