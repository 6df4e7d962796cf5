#pragma once
// What every algorithm's decomposition shares: the communicator grouped by NVLink domain, protocol
// efficiency per medium, NCCL's step latencies, and a transfer set that merges edges between the
// same endpoints. Each algorithm (ring.cpp, tree.cpp, ...) turns a PlanBuilder into a plan.
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "sim/collectives/collective.hpp"
#include "sim/collectives/plan.hpp"

namespace foresight::sim {

// Communicator members grouped by NVLink domain, each group sorted by GPU index.
std::vector<std::vector<int>> group_by_domain(const std::vector<int>& ranks, const hw::Cluster& cluster);

// Sums transfers between the same endpoints, so that the many channels of a ring cost one flow per
// GPU pair rather than one per channel (same bytes on the same links, far fewer flows).
class TransferSet {
 public:
  void add(int src, int dst, double payload);
  std::vector<Transfer> take() { return std::move(transfers_); }

 private:
  std::unordered_map<uint64_t, size_t> index_;
  std::vector<Transfer> transfers_;
};

struct PlanBuilder {
  PlanBuilder(const CollectiveRequest& req, const hw::Cluster& cluster, const NcclParams& params, Algorithm algorithm,
              Protocol protocol);

  const CollectiveRequest& req;
  const hw::Cluster& cluster;
  const NcclParams& params;
  Algorithm algorithm;
  Protocol protocol;
  std::vector<std::vector<int>> groups;  // by NVLink domain
  int n = 0;                             // ranks
  int domains = 0;

  // Fraction of a link's bandwidth this protocol delivers as payload between two endpoints.
  double efficiency(int src, int dst) const;
  // Closes a phase: wire bytes from each transfer's efficiency, plus the phase's latency.
  Phase finish(TransferSet& set, double latency, double pipeline_factor = 1.0) const;
  // NCCL tuner latency of a phase with this many NVLink and network steps.
  double step_latency(int intra_steps, int inter_steps) const;
};

// One function per algorithm (ring.cpp, tree.cpp, nvls.cpp, hierarchical.cpp, direct.cpp).
CollectivePlan ring_plan(const PlanBuilder& b);
CollectivePlan tree_plan(const PlanBuilder& b);
CollectivePlan nvls_plan(const PlanBuilder& b);
CollectivePlan hierarchical_plan(const PlanBuilder& b);
CollectivePlan direct_plan(const PlanBuilder& b);
CollectivePlan expert_all_to_all_plan(const PlanBuilder& b);  // expert_all_to_all.cpp

}  // namespace foresight::sim
