#include "sim/collectives/decompose.hpp"

#include "sim/collectives/plan_builder.hpp"

namespace foresight::sim {

std::vector<Algorithm> applicable_algorithms(const CollectiveRequest& req, const hw::Cluster& cluster) {
  const auto groups = group_by_domain(req.ranks, cluster);
  const bool one_domain = groups.size() == 1;
  bool uniform = true;
  for (const auto& g : groups) uniform = uniform && g.size() == groups.front().size();
  switch (req.op) {
    case CollectiveOp::all_reduce: {
      std::vector<Algorithm> a{Algorithm::ring};
      if (!one_domain) a.push_back(Algorithm::tree);
      if (one_domain && cluster.system().nvls && req.ranks.size() > 2) a.push_back(Algorithm::nvls);
      if (!one_domain && uniform && groups.front().size() > 1) a.push_back(Algorithm::hierarchical);
      return a;
    }
    case CollectiveOp::all_gather:
    case CollectiveOp::reduce_scatter:
      if (one_domain && cluster.system().nvls && req.ranks.size() > 2) return {Algorithm::ring, Algorithm::nvls};
      return {Algorithm::ring};
    case CollectiveOp::broadcast:
    case CollectiveOp::reduce: return {Algorithm::ring};
    case CollectiveOp::all_to_all:
      // DeepEP's hierarchical dispatch needs the token fan-out and nodes of equal size.
      if (req.fan_out_nodes > 0 && uniform) return {Algorithm::hierarchical};
      return {Algorithm::direct};
    case CollectiveOp::send_recv: return {Algorithm::direct};
  }
  return {};
}

std::vector<Protocol> applicable_protocols(Algorithm a) {
  if (a == Algorithm::ring || a == Algorithm::tree) return {Protocol::ll, Protocol::ll128, Protocol::simple};
  return {Protocol::simple};
}

CollectivePlan decompose(const CollectiveRequest& req, Algorithm algorithm, Protocol protocol,
                         const hw::Cluster& cluster, const NcclParams& params) {
  const PlanBuilder b(req, cluster, params, algorithm, protocol);
  if (b.n < 2) return CollectivePlan{algorithm, protocol, {}};
  CollectivePlan plan;
  switch (algorithm) {
    case Algorithm::ring: plan = ring_plan(b); break;
    case Algorithm::tree: plan = tree_plan(b); break;
    case Algorithm::nvls: plan = nvls_plan(b); break;
    case Algorithm::hierarchical:
      plan = req.op == CollectiveOp::all_to_all ? expert_all_to_all_plan(b) : hierarchical_plan(b);
      break;
    case Algorithm::direct: plan = direct_plan(b); break;
  }
  if (!plan.phases.empty()) plan.phases.front().latency_s += params.launch_overhead;
  return plan;
}

CollectivePlan decompose_host_copy(int src, int dst, double bytes) {
  CollectivePlan plan{Algorithm::direct, Protocol::simple, {}};
  if (bytes <= 0) return plan;
  Phase ph;
  // Copy engines run near PCIe line rate; no measured efficiency is adopted yet, so none is charged.
  ph.transfers.push_back({src, dst, bytes, bytes});
  plan.phases.push_back(ph);
  return plan;
}

CollectivePlan decompose_transfer(int src, int dst, double bytes, const hw::Cluster& cluster, const NcclParams& params) {
  const CollectiveRequest req{CollectiveOp::send_recv, bytes, {src, dst}};
  const PlanBuilder b(req, cluster, params, Algorithm::direct, Protocol::simple);
  CollectivePlan plan{Algorithm::direct, Protocol::simple, {}};
  if (src == dst || bytes <= 0) return plan;
  TransferSet set;
  set.add(src, dst, bytes);
  const bool network = !cluster.same_domain(src, dst);
  plan.phases.push_back(b.finish(set, b.step_latency(network ? 0 : 1, network ? 1 : 0) + params.launch_overhead));
  return plan;
}

}  // namespace foresight::sim
