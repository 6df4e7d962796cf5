#include "sim/collectives/decompose.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>
#include <unordered_map>

#include <fmt/format.h>

#include "sim/core/error.hpp"

namespace foresight::sim {

namespace {

// Communicator members grouped by NVLink domain, each group sorted by GPU index.
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

int protocol_index(Protocol p) { return static_cast<int>(p); }
int latency_row(Algorithm a) { return a == Algorithm::tree ? 1 : a == Algorithm::nvls ? 2 : 0; }

// Sums transfers between the same endpoints, so that the many channels of a ring cost one flow per
// GPU pair rather than one per channel (same bytes on the same links, far fewer flows).
class TransferSet {
 public:
  void add(int src, int dst, double payload) {
    if (src == dst || payload <= 0) return;
    const uint64_t key = (static_cast<uint64_t>(static_cast<uint32_t>(src)) << 32) | static_cast<uint32_t>(dst);
    auto [it, inserted] = index_.try_emplace(key, transfers_.size());
    if (inserted) transfers_.push_back({src, dst, 0, 0});
    transfers_[it->second].payload_bytes += payload;
  }
  std::vector<Transfer> take() { return std::move(transfers_); }

 private:
  std::unordered_map<uint64_t, size_t> index_;
  std::vector<Transfer> transfers_;
};

struct Builder {
  const CollectiveRequest& req;
  const hw::Cluster& cluster;
  const NcclParams& params;
  Algorithm algorithm;
  Protocol protocol;
  std::vector<std::vector<int>> groups = group_by_domain(req.ranks, cluster);
  int n = static_cast<int>(req.ranks.size());
  int domains = static_cast<int>(groups.size());

  double efficiency(int src, int dst) const {
    const int p = protocol_index(protocol);
    const bool nvlink = is_nvswitch(src) || is_nvswitch(dst) || cluster.same_domain(src, dst);
    double eff = nvlink ? params.nvlink_efficiency[p] : params.network_efficiency[p];
    const double medium_bw = nvlink ? cluster.nvlink_bandwidth() : cluster.nic_bandwidth();
    if (protocol == Protocol::ll) eff = std::min(eff, params.ll_max_bandwidth / medium_bw);
    if (algorithm == Algorithm::nvls) eff *= params.nvls_efficiency_for(cluster.gpu().architecture);
    return eff;
  }

  Phase finish(TransferSet& set, double latency, double pipeline_factor = 1.0) const {
    Phase ph;
    ph.transfers = set.take();
    for (auto& t : ph.transfers) t.wire_bytes = t.payload_bytes / efficiency(t.src, t.dst);
    ph.latency_s = latency;
    ph.pipeline_factor = pipeline_factor;
    return ph;
  }

  double step_latency(int intra_steps, int inter_steps) const {
    const int a = latency_row(algorithm), p = protocol_index(protocol);
    // NCCL's network hop latency is taken as a NIC-leaf-NIC path; a longest path through a deeper
    // fabric crosses two more switches per tier above the leaves.
    const double extra_hops = std::max(0, cluster.tiers() - 1) * 2 * cluster.switch_latency();
    return params.base_latency[a][p] + intra_steps * params.nvlink_hop_latency[a][p] +
           inter_steps * (params.network_hop_latency[a][p] + extra_hops);
  }

  // Ring order of channel c: each domain's members rotated to start at position c, every other
  // domain reversed, so a channel leaves and enters consecutive domains at the same local position
  // (the same rail), as NCCL's ring search arranges on rail-optimized fabrics.
  std::vector<int> ring_order(int c) const {
    std::vector<int> order;
    order.reserve(static_cast<size_t>(n));
    for (int d = 0; d < domains; ++d) {
      const auto& m = groups[static_cast<size_t>(d)];
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
  int ring_channels() const {
    if (domains == 1) return 1;  // on one NVSwitch every channel loads the same two links per GPU
    size_t widest = 1;
    for (const auto& g : groups) widest = std::max(widest, g.size());
    const int nodes_per_domain = std::max(1, cluster.nvlink_domain_size() / cluster.gpus_per_node());
    const int nics_per_domain = std::max(1, cluster.nics_per_node()) * nodes_per_domain;
    return static_cast<int>(std::min<size_t>(widest, static_cast<size_t>(nics_per_domain)));
  }

  CollectivePlan ring() const {
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
    const int channels = ring_channels();
    TransferSet set;
    const int root = req.ranks.front();
    for (int c = 0; c < channels; ++c) {
      auto order = ring_order(c);
      if (chain) std::rotate(order.begin(), std::find(order.begin(), order.end(), root), order.end());
      const int edges = chain ? n - 1 : n;
      for (int i = 0; i < edges; ++i) {
        int a = order[static_cast<size_t>(i)], b = order[static_cast<size_t>((i + 1) % n)];
        if (req.op == CollectiveOp::reduce) std::swap(a, b);  // data flows toward the root
        set.add(a, b, per_edge / channels);
      }
    }
    const int inter = domains == 1 ? 0 : (req.op == CollectiveOp::all_reduce ? 2 * (domains - 1) : domains - 1);
    CollectivePlan plan{algorithm, protocol, {}};
    plan.phases.push_back(finish(set, step_latency(steps - inter, inter)));
    return plan;
  }

  // Double binary trees across domains with a chain inside each domain, one tree pair per channel
  // so every local position (and its NIC) leads one tree. Reduce and broadcast are pipelined in one
  // kernel, so both directions run in one phase; the trees split the data evenly.
  CollectivePlan tree() const {
    const int k = static_cast<int>(groups.front().size());
    const int trees = std::max(2, k + (k % 2));
    const double share = req.bytes / trees;
    TransferSet set;
    for (int t = 0; t < trees; ++t) {
      const bool mirrored = t % 2 == 1;
      auto leader = [&](const std::vector<int>& m) { return (t / 2 * 2 + (mirrored ? 1 : 0)) % static_cast<int>(m.size()); };
      for (const auto& m : groups) {
        const int size = static_cast<int>(m.size());
        const int l = leader(m);
        for (int j = 1; j < size; ++j) {  // chain l+size-1 -> ... -> l (reduce) and back (broadcast)
          const int a = m[static_cast<size_t>((l + j) % size)], b = m[static_cast<size_t>((l + j - 1) % size)];
          set.add(a, b, share);
          set.add(b, a, share);
        }
      }
      for (int i = 1; i < domains; ++i) {
        const int child = mirrored ? domains - 1 - i : i;
        const int parent = mirrored ? domains - 1 - (i - 1) / 2 : (i - 1) / 2;
        const auto& cm = groups[static_cast<size_t>(child)];
        const auto& pm = groups[static_cast<size_t>(parent)];
        const int a = cm[static_cast<size_t>(leader(cm))], b = pm[static_cast<size_t>(leader(pm))];
        set.add(a, b, share);
        set.add(b, a, share);
      }
    }
    const int ppn = k;
    const int depth = static_cast<int>(std::ceil(std::log2(std::max(2, domains))));
    CollectivePlan plan{algorithm, protocol, {}};
    plan.phases.push_back(finish(set, step_latency(2 * (ppn - 1), 2 * depth)));
    return plan;
  }

  // NVLink SHARP: the switch reduces (multimem.ld_reduce) and multicasts (multimem.st), so each GPU
  // sends and receives about S(1 + 1/n) for all-reduce whatever n is.
  CollectivePlan nvls() const {
    const double S = req.bytes;
    double up = 0, down = 0;
    switch (req.op) {
      case CollectiveOp::all_reduce: up = down = S * (1.0 + 1.0 / n); break;
      case CollectiveOp::all_gather: up = S / n; down = S * (n - 1.0) / n; break;
      case CollectiveOp::reduce_scatter: up = S * (n - 1.0) / n; down = S / n; break;
      default: throw std::logic_error("nvls does not implement this op");
    }
    TransferSet set;
    const int sw = nvswitch_endpoint(cluster.domain_of(req.ranks.front()));
    for (int g : req.ranks) {
      set.add(g, sw, up);
      set.add(sw, g, down);
    }
    // Each rank owns a 1/n shard, split over the NVLS channels; a channel moves its part in 128 KiB
    // chunks through two stages (reduce, then multicast): with k chunks the pipeline takes (k + 1)
    // chunk times instead of k.
    const double per_channel = S / n / params.nvls_channels;
    const double chunks = std::max(1.0, std::ceil(per_channel / params.nvls_chunk_bytes));
    CollectivePlan plan{algorithm, protocol, {}};
    plan.phases.push_back(finish(set, step_latency(1, 0), (chunks + 1.0) / chunks));
    return plan;
  }

  // Reduce-scatter inside each domain, all-reduce across domains between equal local positions,
  // all-gather inside each domain.
  CollectivePlan hierarchical() const {
    const double S = req.bytes;
    const int k = static_cast<int>(groups.front().size());
    CollectivePlan plan{algorithm, protocol, {}};
    auto intra = [&](double per_edge) {
      TransferSet set;
      for (const auto& m : groups)
        for (int j = 0; j < k; ++j) set.add(m[static_cast<size_t>(j)], m[static_cast<size_t>((j + 1) % k)], per_edge);
      return set;
    };
    auto rs = intra(double(k - 1) / k * S);
    plan.phases.push_back(finish(rs, step_latency(k - 1, 0)));
    TransferSet inter;
    const double shard = S / k;
    for (int j = 0; j < k; ++j)
      for (int d = 0; d < domains; ++d)
        inter.add(groups[static_cast<size_t>(d)][static_cast<size_t>(j)],
                  groups[static_cast<size_t>((d + 1) % domains)][static_cast<size_t>(j)],
                  2.0 * (domains - 1) / domains * shard);
    plan.phases.push_back(finish(inter, step_latency(0, 2 * (domains - 1))));
    auto ag = intra(double(k - 1) / k * S);
    plan.phases.push_back(finish(ag, step_latency(k - 1, 0)));
    return plan;
  }

  CollectivePlan direct() const {
    TransferSet set;
    bool network = false;
    if (req.op == CollectiveOp::all_to_all) {
      const double chunk = req.bytes / n;
      for (int a : req.ranks)
        for (int b : req.ranks)
          if (a != b) set.add(a, b, chunk);
      network = domains > 1;
    } else {  // send_recv as nccl-tests runs it: every rank sends to the next and receives from the previous
      for (int i = 0; i < n; ++i) {
        const int a = req.ranks[static_cast<size_t>(i)], b = req.ranks[static_cast<size_t>((i + 1) % n)];
        set.add(a, b, req.bytes);
        network = network || !cluster.same_domain(a, b);
      }
    }
    CollectivePlan plan{algorithm, protocol, {}};
    plan.phases.push_back(finish(set, step_latency(network ? 0 : 1, network ? 1 : 0)));
    return plan;
  }
};

}  // namespace

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
  Builder b{req, cluster, params, algorithm, protocol};
  if (b.n < 2) return CollectivePlan{algorithm, protocol, {}};
  CollectivePlan plan;
  switch (algorithm) {
    case Algorithm::ring: plan = b.ring(); break;
    case Algorithm::tree: plan = b.tree(); break;
    case Algorithm::nvls: plan = b.nvls(); break;
    case Algorithm::hierarchical: plan = b.hierarchical(); break;
    case Algorithm::direct: plan = b.direct(); break;
  }
  if (!plan.phases.empty()) plan.phases.front().latency_s += params.launch_overhead;
  return plan;
}

double total_payload(const CollectivePlan& plan) {
  double s = 0;
  for (const auto& ph : plan.phases)
    for (const auto& t : ph.transfers) s += t.payload_bytes;
  return s;
}

}  // namespace foresight::sim
