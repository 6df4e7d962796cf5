// Hierarchical all-reduce: reduce-scatter inside each domain, all-reduce across domains between
// equal local positions, all-gather inside each domain.
#include "sim/collectives/plan_builder.hpp"

namespace foresight::sim {

CollectivePlan hierarchical_plan(const PlanBuilder& b) {
  const double S = b.req.bytes;
  const auto& groups = b.groups;
  const int domains = b.domains;
  const int k = static_cast<int>(groups.front().size());
  CollectivePlan plan{b.algorithm, b.protocol, {}};
  auto intra = [&](double per_edge) {
    TransferSet set;
    for (const auto& m : groups)
      for (int j = 0; j < k; ++j) set.add(m[static_cast<size_t>(j)], m[static_cast<size_t>((j + 1) % k)], per_edge);
    return set;
  };
  auto rs = intra(double(k - 1) / k * S);
  plan.phases.push_back(b.finish(rs, b.step_latency(k - 1, 0)));
  TransferSet inter;
  const double shard = S / k;
  for (int j = 0; j < k; ++j)
    for (int d = 0; d < domains; ++d)
      inter.add(groups[static_cast<size_t>(d)][static_cast<size_t>(j)],
                groups[static_cast<size_t>((d + 1) % domains)][static_cast<size_t>(j)],
                2.0 * (domains - 1) / domains * shard);
  plan.phases.push_back(b.finish(inter, b.step_latency(0, 2 * (domains - 1))));
  auto ag = intra(double(k - 1) / k * S);
  plan.phases.push_back(b.finish(ag, b.step_latency(k - 1, 0)));
  return plan;
}

}  // namespace foresight::sim
