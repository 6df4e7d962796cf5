#pragma once
// Wires a training scenario to the planner: cost model (profile or roofline), collective timing on
// the cluster, executor per fidelity, trace output.
#include "hwmodels/topology/cluster.hpp"
#include "sim/collectives/collective_model.hpp"
#include "sim/run/run_scenario.hpp"

namespace foresight::sim {

void run_training_scenario(const Scenario& scenario, const hw::Cluster& cluster, CollectiveModel& model,
                           const RunOptions& options, RunOutput& out);

}  // namespace foresight::sim
