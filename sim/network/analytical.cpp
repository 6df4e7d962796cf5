#include "sim/network/analytical.hpp"

#include <algorithm>

namespace foresight::sim {

AnalyticalNetwork::AnalyticalNetwork(const hw::Cluster& cluster)
    : cluster_(cluster), load_(cluster.links().size(), 0.0) {}

double AnalyticalNetwork::phase_time(const Phase& phase) {
  for (const auto& t : phase.transfers) {
    cluster_.route_endpoints(t.src, t.dst, scratch_);
    for (int l : scratch_.links) {
      if (load_[static_cast<size_t>(l)] == 0.0) touched_.push_back(l);
      load_[static_cast<size_t>(l)] += t.wire_bytes;
    }
  }
  double worst = 0;
  const auto& links = cluster_.links();
  for (int l : touched_) {
    worst = std::max(worst, load_[static_cast<size_t>(l)] / links[static_cast<size_t>(l)].bandwidth);
    load_[static_cast<size_t>(l)] = 0.0;
  }
  touched_.clear();
  return worst * phase.pipeline_factor + phase.latency_s;
}

std::vector<std::pair<int, double>> AnalyticalNetwork::link_bytes(const CollectivePlan& plan) {
  for (const auto& ph : plan.phases)
    for (const auto& t : ph.transfers) {
      cluster_.route_endpoints(t.src, t.dst, scratch_);
      for (int l : scratch_.links) {
        if (load_[static_cast<size_t>(l)] == 0.0) touched_.push_back(l);
        load_[static_cast<size_t>(l)] += t.wire_bytes;
      }
    }
  std::vector<std::pair<int, double>> out;
  out.reserve(touched_.size());
  for (int l : touched_) {
    if (load_[static_cast<size_t>(l)] > 0) out.emplace_back(l, load_[static_cast<size_t>(l)]);
    load_[static_cast<size_t>(l)] = 0.0;
  }
  touched_.clear();
  std::sort(out.begin(), out.end());
  return out;
}

double AnalyticalNetwork::plan_time(const CollectivePlan& plan) {
  double t = 0;
  for (const auto& ph : plan.phases) t += phase_time(ph);
  return t;
}

}  // namespace foresight::sim
