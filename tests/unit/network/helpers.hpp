#pragma once
#include <numeric>
#include <vector>

#include "hwmodels/topology/cluster.hpp"
#include "sim/collectives/collective_model.hpp"
#include "sim/engine/flow_executor.hpp"

namespace test {

inline foresight::hw::Cluster make_cluster(const std::string& system, int nodes,
                                           foresight::hw::FabricKind kind = foresight::hw::FabricKind::rail_optimized_fat_tree,
                                           double oversubscription = 1.0, uint64_t seed = 1) {
  foresight::hw::ClusterSpec spec;
  spec.system = system;
  spec.nodes = nodes;
  spec.fabric.kind = kind;
  spec.fabric.oversubscription = oversubscription;
  spec.seed = seed;
  return foresight::hw::Cluster::build(spec, foresight::hw::Catalog::builtin());
}

inline std::vector<int> first_ranks(int n) {
  std::vector<int> r(static_cast<size_t>(n));
  std::iota(r.begin(), r.end(), 0);
  return r;
}

// Time of one collective in the flow model (SimGrid), in its own task graph.
inline double flow_time(foresight::sim::CollectiveModel& model, const foresight::sim::CollectiveRequest& req) {
  foresight::sim::TaskGraph g;
  foresight::sim::Task t;
  t.kind = foresight::sim::Task::Kind::collective;
  t.collective = req;
  g.add(t);
  const auto timing = foresight::sim::run_flow(g, model);
  return timing[0].end_s - timing[0].start_s;
}

}  // namespace test
