// Mixture-of-experts dispatch as DeepEP's normal kernels run it (github.com/deepseek-ai/DeepEP,
// "normal kernels ... asymmetric-domain bandwidth forwarding"): a token travels over RDMA once per
// distinct remote node its experts sit on, to the GPU with the same local index there, which
// forwards it over NVLink to each distinct GPU of that node that needs it; tokens for the sender's
// own node go over NVLink directly. The two hops are pipelined in chunks, so they form one phase
// (the busier medium sets its time). Combine is the same traffic reversed (partial sums are reduced
// on the forwarding GPU before crossing the network), hence the same time.
#include "sim/collectives/plan_builder.hpp"

namespace foresight::sim {

CollectivePlan expert_all_to_all_plan(const PlanBuilder& b) {
  const double S = b.req.bytes;   // one rank's tokens x token size
  const auto& groups = b.groups;
  const int nodes = b.domains;
  const int g = static_cast<int>(groups.front().size());
  const double p_node = b.req.fan_out_nodes / nodes;             // a token reaches a given node
  const double p_rank = b.req.fan_out_ranks_per_node / g;        // and, there, a given rank
  TransferSet set;
  for (int a = 0; a < nodes; ++a)
    for (int i = 0; i < g; ++i) {
      const int x = groups[size_t(a)][size_t(i)];
      for (int j = 0; j < g; ++j)   // own node, NVLink
        if (j != i) set.add(x, groups[size_t(a)][size_t(j)], S * p_node * p_rank);
      for (int c = 0; c < nodes; ++c) {
        if (c == a) continue;
        const int relay = groups[size_t(c)][size_t(i)];
        set.add(x, relay, S * p_node);   // RDMA, once per node
        for (int j = 0; j < g; ++j)      // forwarded over NVLink inside node c
          if (j != i) set.add(relay, groups[size_t(c)][size_t(j)], S * p_node * p_rank);
      }
    }
  CollectivePlan plan{b.algorithm, b.protocol, {}};
  plan.phases.push_back(b.finish(set, b.step_latency(1, nodes > 1 ? 1 : 0)));
  return plan;
}

}  // namespace foresight::sim
