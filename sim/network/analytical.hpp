#pragma once
// Contention-aware analytical timing of a phase: every transfer is routed on the real topology and
// the phase lasts as long as its most loaded link needs (bytes on the link / link bandwidth). On a
// contention-free pattern this equals the max-min flow model exactly; with shared links it is the
// makespan max-min sharing reaches when the bottleneck stays busy to the end.
#include "hwmodels/topology/cluster.hpp"
#include "sim/collectives/plan.hpp"

namespace foresight::sim {

class AnalyticalNetwork {
 public:
  explicit AnalyticalNetwork(const hw::Cluster& cluster);
  double phase_time(const Phase& phase);        // bandwidth time x pipeline factor + latency
  double plan_time(const CollectivePlan& plan);
  // Bytes the plan puts on each link it uses, summed over its phases (link index, bytes).
  std::vector<std::pair<int, double>> link_bytes(const CollectivePlan& plan);

 private:
  const hw::Cluster& cluster_;
  std::vector<double> load_;
  std::vector<int> touched_;
  hw::Route scratch_;
};

}  // namespace foresight::sim
