#include "hwmodels/topology/cluster.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include "core/error.hpp"

namespace foresight::hw {

namespace {

// splitmix64: a fixed, platform-independent mix so ECMP choices depend only on (seed, src, dst).
uint64_t mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

}  // namespace

Cluster Cluster::build(const ClusterSpec& spec) {
  if (!spec.resolved) throw std::logic_error("Cluster::build needs a spec filled by resolve_cluster");
  Cluster c;
  c.system_ = spec.system_spec;
  c.gpu_ = spec.gpu_spec;
  c.nic_ = spec.nic_spec;
  c.switch_ = spec.switch_spec;
  c.nodes_ = spec.total_nodes();
  c.gpus_per_node_ = c.system_.gpus_per_node;
  c.domain_size_ = std::min(c.system_.nvlink_domain, c.nodes_ * c.gpus_per_node_);
  if (c.domain_size_ < c.gpus_per_node_) c.domain_size_ = c.gpus_per_node_;
  if (c.system_.nvlink_domain > c.gpus_per_node_ && (c.nodes_ * c.gpus_per_node_) % c.domain_size_ != 0)
    throw InputError(fmt::format("cluster.nodes: {} nodes of {} GPUs do not fill whole {}-GPU NVLink domains",
                                 c.nodes_, c.gpus_per_node_, c.system_.nvlink_domain));
  c.kind_ = spec.fabric.kind;
  c.seed_ = spec.seed;
  c.nvlink_bw_ = c.gpu_.nvlink_bandwidth;
  c.nics_per_node_ = c.system_.nics_per_node;

  if (c.nic_) {
    c.nic_bw_ = std::min(c.nic_->bandwidth, c.system_.pcie_bandwidth);
    c.switch_latency_ = c.switch_->latency;
  }
  c.groups_.push_back({0, spec.nodes, c.system_, c.gpu_, c.nvlink_bw_, c.nic_bw_, c.system_.pcie_bandwidth,
                       c.system_.nvme_bandwidth});
  for (const auto& g : spec.extra) {
    const Group& prev = c.groups_.back();
    const double nic = g.nic_spec ? std::min(g.nic_spec->bandwidth, g.system_spec.pcie_bandwidth) : c.nic_bw_;
    c.groups_.push_back({prev.first_node + prev.nodes, g.nodes, g.system_spec, g.gpu_spec, g.gpu_spec.nvlink_bandwidth, nic,
                         g.system_spec.pcie_bandwidth, g.system_spec.nvme_bandwidth});
  }

  const int n = c.gpus();
  const int nics = c.nics_per_node_;
  // Per-GPU NVLink and per-node NIC speeds follow the node's system.
  auto group_of_node = [&c](int node) -> const Group& {
    size_t i = 0;
    while (i + 1 < c.groups_.size() && node >= c.groups_[i + 1].first_node) ++i;
    return c.groups_[i];
  };
  c.base_nvl_up_ = 0;
  c.base_nvl_down_ = n;
  c.base_nic_tx_ = 2 * n;
  c.base_nic_rx_ = c.base_nic_tx_ + c.nodes_ * nics;
  c.base_leaf_up_ = c.base_nic_rx_ + c.nodes_ * nics;
  c.links_.reserve(static_cast<size_t>(c.base_leaf_up_));
  for (int g = 0; g < n; ++g) c.links_.push_back({LinkKind::nvlink_up, group_of_node(g / c.gpus_per_node_).nvlink_bw});
  for (int g = 0; g < n; ++g) c.links_.push_back({LinkKind::nvlink_down, group_of_node(g / c.gpus_per_node_).nvlink_bw});
  if (!c.nic_) {
    c.base_nic_rx_ = c.base_leaf_up_ = c.base_leaf_down_ = c.base_agg_up_ = c.base_agg_down_ = static_cast<int>(c.links_.size());
    c.add_host_links();
    return c;
  }
  for (int i = 0; i < c.nodes_ * nics; ++i) c.links_.push_back({LinkKind::nic_tx, group_of_node(i / nics).nic_bw});
  for (int i = 0; i < c.nodes_ * nics; ++i) c.links_.push_back({LinkKind::nic_rx, group_of_node(i / nics).nic_bw});

  // Leaf ports split down:up by the oversubscription ratio; uplinks are individual links so ECMP can collide.
  const int radix = c.switch_->radix;
  const double o = spec.fabric.oversubscription;
  c.down_ = std::max(1, static_cast<int>(std::floor(radix * o / (1.0 + o))));
  c.up_ = std::max(1, radix - c.down_);
  if (c.kind_ == FabricKind::rail_optimized_fat_tree) {
    c.leaves_per_rail_ = (c.nodes_ + c.down_ - 1) / c.down_;
    c.leaves_ = c.leaves_per_rail_ * nics;
  } else {
    c.leaves_ = (c.nodes_ * nics + c.down_ - 1) / c.down_;
  }
  // Two tiers: every spine has one port per leaf. Three tiers: pods of radix/2 leaves under `up_`
  // aggregation switches, each with radix/2 uplinks to the core.
  const int needed = c.leaves_ <= radix ? 2 : 3;
  c.tiers_ = spec.fabric.tiers == 0 ? needed : spec.fabric.tiers;
  if (c.tiers_ < needed)
    throw InputError(fmt::format("cluster.fabric.tiers: {} leaves of radix-{} switches need 3 tiers", c.leaves_, radix));
  c.pod_leaves_ = c.tiers_ == 3 ? std::max(1, radix / 2) : c.leaves_;
  c.pods_ = (c.leaves_ + c.pod_leaves_ - 1) / c.pod_leaves_;
  c.core_up_ = c.tiers_ == 3 ? std::max(1, radix / 2) : 0;
  if (c.tiers_ == 3 && c.pods_ > radix)
    throw InputError(fmt::format("cluster.nodes: {} pods exceed what radix-{} core switches can join", c.pods_, radix));
  const double port = c.switch_->port_speed;
  c.base_leaf_down_ = c.base_leaf_up_ + c.leaves_ * c.up_;
  for (int i = 0; i < 2 * c.leaves_ * c.up_; ++i)
    c.links_.push_back({i < c.leaves_ * c.up_ ? LinkKind::leaf_up : LinkKind::leaf_down, port});
  c.base_agg_up_ = c.base_leaf_down_ + c.leaves_ * c.up_;
  const int agg_links = c.tiers_ == 3 ? c.pods_ * c.up_ * c.core_up_ : 0;
  c.base_agg_down_ = c.base_agg_up_ + agg_links;
  for (int i = 0; i < 2 * agg_links; ++i) c.links_.push_back({i < agg_links ? LinkKind::agg_up : LinkKind::agg_down, port});
  c.add_host_links();
  return c;
}

// Each GPU's PCIe to host memory, each node's NVMe (read and write): last, so every other link keeps
// its index. A node without an NVMe figure in the catalog gets placeholder links nothing routes over.
void Cluster::add_host_links() {
  const int n = gpus();
  base_pcie_up_ = static_cast<int>(links_.size());
  for (int g = 0; g < n; ++g) links_.push_back({LinkKind::pcie_up, group_at(g).pcie_bw});
  base_pcie_down_ = static_cast<int>(links_.size());
  for (int g = 0; g < n; ++g) links_.push_back({LinkKind::pcie_down, group_at(g).pcie_bw});
  base_nvme_read_ = static_cast<int>(links_.size());
  for (int node = 0; node < nodes_; ++node) {
    const double bw = group_at(node * gpus_per_node_).nvme_bw;
    links_.push_back({LinkKind::nvme_read, bw > 0 ? bw : 1.0});
  }
  base_nvme_write_ = static_cast<int>(links_.size());
  for (int node = 0; node < nodes_; ++node) {
    const double bw = group_at(node * gpus_per_node_).nvme_bw;
    links_.push_back({LinkKind::nvme_write, bw > 0 ? bw : 1.0});
  }
}

const Cluster::Group& Cluster::group_at(int gpu) const {
  const int node = gpu / gpus_per_node_;
  size_t i = 0;
  while (i + 1 < groups_.size() && node >= groups_[i + 1].first_node) ++i;
  return groups_[i];
}

std::pair<int, int> Cluster::gpus_of(const std::string& system_id) const {
  for (const auto& g : groups_)
    if (g.system.id == system_id) return {g.first_node * gpus_per_node_, (g.first_node + g.nodes) * gpus_per_node_};
  return {0, 0};
}

int Cluster::leaf_of(int node, int rail) const {
  if (kind_ == FabricKind::rail_optimized_fat_tree) return rail * leaves_per_rail_ + node / down_;
  return (node * nics_per_node_ + rail) / down_;
}

Route Cluster::route(int src, int dst) const {
  Route r;
  route_into(src, dst, r);
  return r;
}

void Cluster::route_endpoints(int src, int dst, Route& r) const {
  // Host memory and NVMe of a GPU's own node: its PCIe, behind the node's NVMe for the drives.
  if ((is_host(src) && is_nvme(dst)) || (is_nvme(src) && is_host(dst))) {   // between a node's memory and drives
    if (endpoint_node(src) != endpoint_node(dst)) throw std::logic_error("host-NVMe copies stay in one node");
    r.crosses_network = false;
    r.links.assign(1, (is_nvme(dst) ? base_nvme_write_ : base_nvme_read_) + endpoint_node(src));
    return;
  }
  if (is_host(dst) || is_nvme(dst) || is_host(src) || is_nvme(src)) {
    const bool to_host = is_host(dst) || is_nvme(dst);
    const int gpu = to_host ? src : dst, far = to_host ? dst : src;
    if (gpu < 0 || gpu >= gpus() || endpoint_node(far) != node_of(gpu))
      throw std::logic_error("host and NVMe transfers run between a GPU and its own node");
    r.crosses_network = false;
    r.links.clear();
    if (to_host) {
      r.links.push_back(base_pcie_up_ + gpu);
      if (is_nvme(far)) r.links.push_back(base_nvme_write_ + node_of(gpu));
    } else {
      if (is_nvme(far)) r.links.push_back(base_nvme_read_ + node_of(gpu));
      r.links.push_back(base_pcie_down_ + gpu);
    }
    return;
  }
  if (is_nvswitch(dst)) {
    r.links.assign(1, nvlink_up_link(src));
    r.crosses_network = false;
  } else if (is_nvswitch(src)) {
    r.links.assign(1, nvlink_down_link(dst));
    r.crosses_network = false;
  } else {
    route_into(src, dst, r);
  }
}

void Cluster::route_into(int src, int dst, Route& r) const {
  r.links.clear();
  r.crosses_network = false;
  if (src == dst) return;
  if (same_domain(src, dst)) {
    r.links.push_back(base_nvl_up_ + src);
    r.links.push_back(base_nvl_down_ + dst);
    return;
  }
  r.crosses_network = true;
  const int sn = node_of(src), dn = node_of(dst), sr = rail_of(src), dr = rail_of(dst);
  r.links.push_back(base_nic_tx_ + sn * nics_per_node_ + sr);
  const int la = leaf_of(sn, sr), lb = leaf_of(dn, dr);
  if (la != lb) {
    const uint64_t h = mix(seed_ ^ mix((static_cast<uint64_t>(src) << 32) | static_cast<uint64_t>(dst)));
    const int a = static_cast<int>(h % static_cast<uint64_t>(up_));
    r.links.push_back(base_leaf_up_ + la * up_ + a);
    const int pa = la / pod_leaves_, pb = lb / pod_leaves_;
    if (tiers_ == 3 && pa != pb) {
      const int core = static_cast<int>((h >> 32) % static_cast<uint64_t>(core_up_));
      r.links.push_back(base_agg_up_ + (pa * up_ + a) * core_up_ + core);
      r.links.push_back(base_agg_down_ + (pb * up_ + a) * core_up_ + core);
    }
    r.links.push_back(base_leaf_down_ + lb * up_ + a);
  }
  r.links.push_back(base_nic_rx_ + dn * nics_per_node_ + dr);
}

std::string Cluster::link_name(int id) const {
  const Link& l = links_.at(static_cast<size_t>(id));
  switch (l.kind) {
    case LinkKind::nvlink_up: return fmt::format("gpu{}-nvlink-up", id - base_nvl_up_);
    case LinkKind::nvlink_down: return fmt::format("gpu{}-nvlink-down", id - base_nvl_down_);
    case LinkKind::nic_tx: return fmt::format("node{}-nic{}-tx", (id - base_nic_tx_) / nics_per_node_, (id - base_nic_tx_) % nics_per_node_);
    case LinkKind::nic_rx: return fmt::format("node{}-nic{}-rx", (id - base_nic_rx_) / nics_per_node_, (id - base_nic_rx_) % nics_per_node_);
    case LinkKind::leaf_up: return fmt::format("leaf{}-up{}", (id - base_leaf_up_) / up_, (id - base_leaf_up_) % up_);
    case LinkKind::leaf_down: return fmt::format("leaf{}-down{}", (id - base_leaf_down_) / up_, (id - base_leaf_down_) % up_);
    case LinkKind::agg_up: return fmt::format("agg-up{}", id - base_agg_up_);
    case LinkKind::agg_down: return fmt::format("agg-down{}", id - base_agg_down_);
    case LinkKind::pcie_up: return fmt::format("gpu{}-pcie-up", id - base_pcie_up_);
    case LinkKind::pcie_down: return fmt::format("gpu{}-pcie-down", id - base_pcie_down_);
    case LinkKind::nvme_read: return fmt::format("node{}-nvme-read", id - base_nvme_read_);
    case LinkKind::nvme_write: return fmt::format("node{}-nvme-write", id - base_nvme_write_);
  }
  return "link" + std::to_string(id);
}

int Cluster::nodes_per_leaf() const {
  if (!nic_ || leaves_ == 0) return 0;  // one NVLink domain, no scale-out fabric
  const int per = kind_ == FabricKind::rail_optimized_fat_tree ? down_ : std::max(1, down_ / std::max(1, nics_per_node_));
  return std::min(per, nodes_);
}

std::string Cluster::describe() const {
  std::string s = fmt::format("{} x {} ({} GPUs, {}), NVLink domain {} GPUs at {:.0f} GB/s per direction", groups_[0].nodes,
                              system_.id, groups_[0].nodes * gpus_per_node_, gpu_.id, domain_size_, nvlink_bw_ / 1e9);
  for (size_t i = 1; i < groups_.size(); ++i)
    s += fmt::format(" + {} x {} ({} GPUs, {}, NVLink {:.0f} GB/s, NICs {:.0f} GB/s)", groups_[i].nodes, groups_[i].system.id,
                     groups_[i].nodes * gpus_per_node_, groups_[i].gpu.id, groups_[i].nvlink_bw / 1e9, groups_[i].nic_bw / 1e9);
  if (nic_)
    s += fmt::format("; {} x {} per node, {} fat tree, {} tiers, leaf {}:{} ports", nics_per_node_, nic_->id,
                     kind_ == FabricKind::rail_optimized_fat_tree ? "rail-optimized" : "plain", tiers_, down_, up_);
  return s;
}

}  // namespace foresight::hw
