// Direct algorithms: all-to-all (every pair at once) and send/recv (each rank to the next).
#include "sim/collectives/plan_builder.hpp"

namespace foresight::sim {

CollectivePlan direct_plan(const PlanBuilder& b) {
  const auto& req = b.req;
  const int n = b.n;
  TransferSet set;
  bool network = false;
  if (req.op == CollectiveOp::all_to_all) {
    const double chunk = req.bytes / n;
    for (int x : req.ranks)
      for (int y : req.ranks)
        if (x != y) set.add(x, y, chunk);
    network = b.domains > 1;
  } else {  // send_recv as nccl-tests runs it: every rank sends to the next and receives from the previous
    for (int i = 0; i < n; ++i) {
      const int x = req.ranks[static_cast<size_t>(i)], y = req.ranks[static_cast<size_t>((i + 1) % n)];
      set.add(x, y, req.bytes);
      network = network || !b.cluster.same_domain(x, y);
    }
  }
  CollectivePlan plan{b.algorithm, b.protocol, {}};
  plan.phases.push_back(b.finish(set, b.step_latency(network ? 0 : 1, network ? 1 : 0)));
  return plan;
}

}  // namespace foresight::sim
