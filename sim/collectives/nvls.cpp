// NVLink SHARP (NVLS): reduction and multicast in the NVSwitch.
#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "sim/collectives/plan_builder.hpp"

namespace foresight::sim {

// The switch reduces (multimem.ld_reduce) and multicasts (multimem.st), so each GPU sends and
// receives about S(1 + 1/n) for all-reduce whatever n is.
CollectivePlan nvls_plan(const PlanBuilder& b) {
  const double S = b.req.bytes;
  const int n = b.n;
  double up = 0, down = 0;
  switch (b.req.op) {
    case CollectiveOp::all_reduce: up = down = S * (1.0 + 1.0 / n); break;
    case CollectiveOp::all_gather: up = S / n; down = S * (n - 1.0) / n; break;
    case CollectiveOp::reduce_scatter: up = S * (n - 1.0) / n; down = S / n; break;
    default: throw std::logic_error("nvls does not implement this op");
  }
  TransferSet set;
  const int sw = nvswitch_endpoint(b.cluster.domain_of(b.req.ranks.front()));
  for (int g : b.req.ranks) {
    set.add(g, sw, up);
    set.add(sw, g, down);
  }
  // Each rank owns a 1/n shard, split over the NVLS channels; a channel moves its part in 128 KiB
  // chunks through two stages (reduce, then multicast): with k chunks the pipeline takes (k + 1)
  // chunk times instead of k.
  const double per_channel = S / n / b.params.nvls_channels;
  const double chunks = std::max(1.0, std::ceil(per_channel / b.params.nvls_chunk_bytes));
  CollectivePlan plan{b.algorithm, b.protocol, {}};
  plan.phases.push_back(b.finish(set, b.step_latency(1, 0), (chunks + 1.0) / chunks));
  return plan;
}

}  // namespace foresight::sim
