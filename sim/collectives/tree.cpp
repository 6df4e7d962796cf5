// NCCL's double binary tree all-reduce.
#include <algorithm>
#include <cmath>

#include "sim/collectives/plan_builder.hpp"

namespace foresight::sim {

// Double binary trees across domains with a chain inside each domain, one tree pair per channel
// so every local position (and its NIC) leads one tree. Reduce and broadcast are pipelined in one
// kernel, so both directions run in one phase; the trees split the data evenly.
CollectivePlan tree_plan(const PlanBuilder& b) {
  const auto& groups = b.groups;
  const int domains = b.domains;
  const int k = static_cast<int>(groups.front().size());
  const int trees = std::max(2, k + (k % 2));
  const double share = b.req.bytes / trees;
  TransferSet set;
  for (int t = 0; t < trees; ++t) {
    const bool mirrored = t % 2 == 1;
    auto leader = [&](const std::vector<int>& m) { return (t / 2 * 2 + (mirrored ? 1 : 0)) % static_cast<int>(m.size()); };
    for (const auto& m : groups) {
      const int size = static_cast<int>(m.size());
      const int l = leader(m);
      for (int j = 1; j < size; ++j) {  // chain l+size-1 -> ... -> l (reduce) and back (broadcast)
        const int a = m[static_cast<size_t>((l + j) % size)], c = m[static_cast<size_t>((l + j - 1) % size)];
        set.add(a, c, share);
        set.add(c, a, share);
      }
    }
    for (int i = 1; i < domains; ++i) {
      const int child = mirrored ? domains - 1 - i : i;
      const int parent = mirrored ? domains - 1 - (i - 1) / 2 : (i - 1) / 2;
      const auto& cm = groups[static_cast<size_t>(child)];
      const auto& pm = groups[static_cast<size_t>(parent)];
      const int a = cm[static_cast<size_t>(leader(cm))], c = pm[static_cast<size_t>(leader(pm))];
      set.add(a, c, share);
      set.add(c, a, share);
    }
  }
  const int ppn = k;
  const int depth = static_cast<int>(std::ceil(std::log2(std::max(2, domains))));
  CollectivePlan plan{b.algorithm, b.protocol, {}};
  plan.phases.push_back(b.finish(set, b.step_latency(2 * (ppn - 1), 2 * depth)));
  return plan;
}

}  // namespace foresight::sim
