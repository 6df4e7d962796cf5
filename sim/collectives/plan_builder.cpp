#include "sim/collectives/plan_builder.hpp"

#include <algorithm>
#include <map>

namespace foresight::sim {

namespace {

int protocol_index(Protocol p) { return static_cast<int>(p); }
int latency_row(Algorithm a) { return a == Algorithm::tree ? 1 : a == Algorithm::nvls ? 2 : 0; }

}  // namespace

std::vector<std::vector<int>> group_by_domain(const std::vector<int>& ranks, const hw::Cluster& c) {
  std::map<int, std::vector<int>> by_domain;
  for (int g : ranks) by_domain[c.domain_of(g)].push_back(g);
  std::vector<std::vector<int>> groups;
  for (auto& [d, members] : by_domain) {
    std::sort(members.begin(), members.end());
    groups.push_back(std::move(members));
  }
  return groups;
}

void TransferSet::add(int src, int dst, double payload) {
  if (src == dst || payload <= 0) return;
  const uint64_t key = (static_cast<uint64_t>(static_cast<uint32_t>(src)) << 32) | static_cast<uint32_t>(dst);
  auto [it, inserted] = index_.try_emplace(key, transfers_.size());
  if (inserted) transfers_.push_back({src, dst, 0, 0});
  transfers_[it->second].payload_bytes += payload;
}

PlanBuilder::PlanBuilder(const CollectiveRequest& r, const hw::Cluster& c, const NcclParams& p, Algorithm a,
                         Protocol pr)
    : req(r), cluster(c), params(p), algorithm(a), protocol(pr), groups(group_by_domain(r.ranks, c)),
      n(static_cast<int>(r.ranks.size())), domains(static_cast<int>(groups.size())) {}

double PlanBuilder::efficiency(int src, int dst) const {
  const int p = protocol_index(protocol);
  const bool nvlink = is_nvswitch(src) || is_nvswitch(dst) || cluster.same_domain(src, dst);
  double eff = nvlink ? params.nvlink_efficiency[p] : params.network_efficiency[p];
  const double medium_bw = nvlink ? cluster.nvlink_bandwidth() : cluster.nic_bandwidth();
  if (protocol == Protocol::ll) eff = std::min(eff, params.ll_max_bandwidth / medium_bw);
  if (algorithm == Algorithm::nvls) eff *= params.nvls_efficiency_for(cluster.gpu().architecture);
  return eff;
}

Phase PlanBuilder::finish(TransferSet& set, double latency, double pipeline_factor) const {
  Phase ph;
  ph.transfers = set.take();
  for (auto& t : ph.transfers) t.wire_bytes = t.payload_bytes / efficiency(t.src, t.dst);
  ph.latency_s = latency;
  ph.pipeline_factor = pipeline_factor;
  return ph;
}

double PlanBuilder::step_latency(int intra_steps, int inter_steps) const {
  const int a = latency_row(algorithm), p = protocol_index(protocol);
  // NCCL's network hop latency is taken as a NIC-leaf-NIC path; a longest path through a deeper
  // fabric crosses two more switches per tier above the leaves.
  const double extra_hops = std::max(0, cluster.tiers() - 1) * 2 * cluster.switch_latency();
  return params.base_latency[a][p] + intra_steps * params.nvlink_hop_latency[a][p] +
         inter_steps * (params.network_hop_latency[a][p] + extra_hops);
}

double total_payload(const CollectivePlan& plan) {
  double s = 0;
  for (const auto& ph : plan.phases)
    for (const auto& t : ph.transfers) s += t.payload_bytes;
  return s;
}

}  // namespace foresight::sim
