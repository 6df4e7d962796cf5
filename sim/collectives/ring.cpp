// Ring algorithms (all-reduce, all-gather, reduce-scatter, and the broadcast/reduce chains), with
// one ring per channel ordered the way NCCL's ring search orders rail-optimized fabrics.
#include <algorithm>
#include <stdexcept>

#include "sim/collectives/plan_builder.hpp"

namespace foresight::sim {

namespace {

// Ring order of channel c: each domain's members rotated to start at position c, every other
// domain reversed, so a channel leaves and enters consecutive domains at the same local position
// (the same rail), as NCCL's ring search arranges on rail-optimized fabrics.
std::vector<int> ring_order(const PlanBuilder& b, int c) {
  std::vector<int> order;
  order.reserve(static_cast<size_t>(b.n));
  for (int d = 0; d < b.domains; ++d) {
    const auto& m = b.groups[static_cast<size_t>(d)];
    const int k = static_cast<int>(m.size());
    std::vector<int> seq(static_cast<size_t>(k));
    for (int j = 0; j < k; ++j) seq[static_cast<size_t>(j)] = m[static_cast<size_t>(((c - j) % k + k) % k)];
    if (d % 2 == 1) std::reverse(seq.begin(), seq.end());
    order.insert(order.end(), seq.begin(), seq.end());
  }
  return order;
}

// One channel per NIC a domain can use, so every rail carries one channel's crossings; never
// more channels than members, since each channel leaves a domain at a different member.
int ring_channels(const PlanBuilder& b) {
  if (b.domains == 1) return 1;  // on one NVSwitch every channel loads the same two links per GPU
  size_t widest = 1;
  for (const auto& g : b.groups) widest = std::max(widest, g.size());
  const int nodes_per_domain = std::max(1, b.cluster.nvlink_domain_size() / b.cluster.gpus_per_node());
  const int nics_per_domain = std::max(1, b.cluster.nics_per_node()) * nodes_per_domain;
  return static_cast<int>(std::min<size_t>(widest, static_cast<size_t>(nics_per_domain)));
}

}  // namespace

CollectivePlan ring_plan(const PlanBuilder& b) {
  const auto& req = b.req;
  const int n = b.n;
  const double S = req.bytes;
  double per_edge = 0;
  int steps = 0;
  bool chain = false;
  switch (req.op) {
    case CollectiveOp::all_reduce: per_edge = 2.0 * (n - 1) / n * S; steps = 2 * (n - 1); break;
    case CollectiveOp::all_gather:
    case CollectiveOp::reduce_scatter: per_edge = double(n - 1) / n * S; steps = n - 1; break;
    case CollectiveOp::broadcast:
    case CollectiveOp::reduce: per_edge = S; steps = n - 1; chain = true; break;
    default: throw std::logic_error("ring does not implement this op");
  }
  const int channels = ring_channels(b);
  TransferSet set;
  const int root = req.ranks.front();
  for (int c = 0; c < channels; ++c) {
    auto order = ring_order(b, c);
    if (chain) std::rotate(order.begin(), std::find(order.begin(), order.end(), root), order.end());
    const int edges = chain ? n - 1 : n;
    for (int i = 0; i < edges; ++i) {
      int from = order[static_cast<size_t>(i)], to = order[static_cast<size_t>((i + 1) % n)];
      if (req.op == CollectiveOp::reduce) std::swap(from, to);  // data flows toward the root
      set.add(from, to, per_edge / channels);
    }
  }
  const int d = b.domains;
  const int inter = d == 1 ? 0 : (req.op == CollectiveOp::all_reduce ? 2 * (d - 1) : d - 1);
  CollectivePlan plan{b.algorithm, b.protocol, {}};
  plan.phases.push_back(b.finish(set, b.step_latency(steps - inter, inter)));
  return plan;
}

}  // namespace foresight::sim
