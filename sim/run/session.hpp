#pragma once
// Everything a workload runs on, built once from a resolved scenario: its catalog, the cluster,
// the collective model (tuner and analytical network), the compute cost model (datasheet roofline,
// or a calibrated profile), and engines of the scenario's fidelity.
#include <map>
#include <memory>
#include <optional>

#include <nlohmann/json.hpp>
#include <string>

#include "hwmodels/cost/calibrated_collectives.hpp"
#include "hwmodels/cost/cost_model.hpp"
#include "hwmodels/topology/cluster.hpp"
#include "sim/collectives/collective_model.hpp"
#include "sim/engine/engine.hpp"
#include "sim/run/progress.hpp"
#include "sim/scenario/scenario.hpp"

namespace foresight::sim {

struct RunOptions {
  std::string profile_path;   // calibrated profile; empty = datasheet roofline
  std::string trace_path;     // write a Perfetto/Chrome trace of the simulated timeline
  std::string trace_detail;   // ops (default) | layers | passes (sim/metrics/perfetto_trace.hpp)
  std::string requests_path;  // serving: stream one CSV row per request here
  double max_rate_attainment = 0;  // serving: > 0 searches the highest arrival rate holding this SLO attainment
  ProgressSink progress;      // hears how much of a long run is done (sim/run/progress.hpp)
};

class Session {
 public:
  Session(Scenario scenario, RunOptions options = {});
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  const Scenario& scenario() const { return scenario_; }
  const RunOptions& options() const { return options_; }
  const hw::Catalog& catalog() const { return *scenario_.catalog; }
  const hw::Cluster& cluster() const { return cluster_; }
  // The collective model. For workloads that price kernels, collectives inside one node are timed
  // from the calibration profile's measurements where it has them (CollectiveModel::use_measured).
  CollectiveModel& collectives();
  // The measured collectives the collective model uses (nullptr when none apply).
  const hw::CalibratedCollectives* measured_collectives_in_use() {
    collectives();
    return measured_in_use_ ? measured_.get() : nullptr;
  }

  // The compute cost model: --profile's profile, else the scenario's `calibration:` (by default the
  // shipped profile for the cluster's GPU and the workload's kernel family), else the roofline; the
  // GPU's roofline answers what a profile does not cover. Built on first use.
  const hw::ComputeCostModel& compute();
  // Which calibration answered and why, with the cost model's query counts by source.
  nlohmann::json calibration_json();
  std::string calibration_line();
  // The profile's measured collectives, when a profile was given.
  const hw::CalibratedCollectives* measured_collectives();
  // A fresh engine of the scenario's fidelity (an engine runs once).
  std::unique_ptr<Engine> engine();
  // The hardware context of one system of a mixed cluster (cluster.extra_nodes): this session for
  // its main system, else a session over a cluster of only that system's nodes, built once, whose
  // compute model (its GPU's profile) and collective model price what runs there. Traffic between
  // systems still runs on this session's engine and fabric.
  Session& for_system(const std::string& system);

 private:
  const hw::Profile* profile();

  Scenario scenario_;
  RunOptions options_;
  hw::Cluster cluster_;
  CollectiveModel collectives_;
  void resolve_calibration();
  bool resolved_ = false;
  std::string profile_file_;       // empty: roofline
  std::string calibration_why_;
  std::shared_ptr<const hw::Profile> profile_;
  std::unique_ptr<hw::ComputeCostModel> compute_;
  std::shared_ptr<hw::CalibratedCollectives> measured_;
  bool measured_wired_ = false;
  bool measured_in_use_ = false;
  std::map<std::string, std::unique_ptr<Session>> systems_;
};

}  // namespace foresight::sim
