#pragma once
#include <string>

#include "hwmodels/topology/cluster.hpp"

namespace test {

inline foresight::hw::ClusterSpec cluster_spec(const std::string& system, int nodes,
                                               foresight::hw::FabricKind kind = foresight::hw::FabricKind::rail_optimized_fat_tree,
                                               double oversubscription = 1.0, uint64_t seed = 1) {
  foresight::hw::ClusterSpec spec;
  spec.system = system;
  spec.nodes = nodes;
  spec.fabric.kind = kind;
  spec.fabric.oversubscription = oversubscription;
  spec.seed = seed;
  return spec;
}

// A cluster of the built-in catalog's hardware.
inline foresight::hw::Cluster make_cluster(const std::string& system, int nodes,
                                           foresight::hw::FabricKind kind = foresight::hw::FabricKind::rail_optimized_fat_tree,
                                           double oversubscription = 1.0, uint64_t seed = 1) {
  auto spec = cluster_spec(system, nodes, kind, oversubscription, seed);
  foresight::hw::resolve_cluster(spec, foresight::hw::Catalog::builtin());
  return foresight::hw::Cluster::build(spec);
}

}  // namespace test
