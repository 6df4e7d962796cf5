#include "hwmodels/topology/cluster.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "sim/core/error.hpp"

namespace foresight::hw {

namespace {

// splitmix64: a fixed, platform-independent mix so ECMP choices depend only on (seed, src, dst).
uint64_t mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

const SwitchSpec* default_switch(const Catalog& catalog, const NicSpec& nic) {
  const SwitchSpec* best = nullptr;
  for (const auto& [id, s] : catalog.switches()) {
    if (s.protocol != nic.protocol || s.port_speed <= 0) continue;
    // Prefer the switch generation whose ports run at the NIC's speed; among those the largest radix.
    const bool exact = std::fabs(s.port_speed - nic.bandwidth) < 1e-6 * nic.bandwidth;
    const bool best_exact = best && std::fabs(best->port_speed - nic.bandwidth) < 1e-6 * nic.bandwidth;
    if (!best || (exact && !best_exact) || (exact == best_exact && s.radix > best->radix)) best = &s;
  }
  return best;
}

}  // namespace

Cluster Cluster::build(const ClusterSpec& spec, const Catalog& catalog) {
  Cluster c;
  c.system_ = &catalog.system(spec.system);
  c.gpu_ = &catalog.gpu(c.system_->gpu);
  c.nodes_ = spec.nodes;
  c.gpus_per_node_ = c.system_->gpus_per_node;
  c.domain_size_ = std::min(c.system_->nvlink_domain, c.nodes_ * c.gpus_per_node_);
  if (c.domain_size_ < c.gpus_per_node_) c.domain_size_ = c.gpus_per_node_;
  if (c.system_->nvlink_domain > c.gpus_per_node_ && (c.nodes_ * c.gpus_per_node_) % c.domain_size_ != 0)
    throw InputError(fmt::format("cluster.nodes: {} nodes of {} GPUs do not fill whole {}-GPU NVLink domains",
                                 c.nodes_, c.gpus_per_node_, c.system_->nvlink_domain));
  c.kind_ = spec.fabric.kind;
  c.seed_ = spec.seed;
  c.nvlink_bw_ = c.gpu_->nvlink_bandwidth;
  c.nics_per_node_ = c.system_->nics_per_node;

  const bool multi_domain = c.gpus() > c.domain_size_;
  if (multi_domain || !spec.fabric.nic.empty()) {
    const std::string nic_id = spec.fabric.nic.empty() ? c.system_->default_nic : spec.fabric.nic;
    c.nic_ = &catalog.nic(nic_id);
    if (std::find(c.system_->supported_nics.begin(), c.system_->supported_nics.end(), nic_id) ==
        c.system_->supported_nics.end())
      throw InputError(fmt::format("cluster.fabric.nic: system {} cannot take NIC '{}' (supported: {})",
                                   c.system_->id, nic_id, fmt::join(c.system_->supported_nics, ", ")));
    c.nic_bw_ = std::min(c.nic_->bandwidth, c.system_->pcie_bandwidth);
    c.switch_ = spec.fabric.switch_id.empty() ? default_switch(catalog, *c.nic_) : &catalog.switch_(spec.fabric.switch_id);
    if (!c.switch_)
      throw InputError(fmt::format("cluster.fabric: no catalog switch speaks {} at the NIC's speed; name one with fabric.switch", c.nic_->protocol));
    if (c.switch_->protocol != c.nic_->protocol)
      throw InputError(fmt::format("cluster.fabric.switch: {} is a {} switch but NIC {} is {}", c.switch_->id,
                                   c.switch_->protocol, c.nic_->id, c.nic_->protocol));
    c.switch_latency_ = c.switch_->latency;
  }

  const int n = c.gpus();
  const int nics = c.nics_per_node_;
  c.base_nvl_up_ = 0;
  c.base_nvl_down_ = n;
  c.base_nic_tx_ = 2 * n;
  c.base_nic_rx_ = c.base_nic_tx_ + c.nodes_ * nics;
  c.base_leaf_up_ = c.base_nic_rx_ + c.nodes_ * nics;
  c.links_.reserve(static_cast<size_t>(c.base_leaf_up_));
  for (int g = 0; g < n; ++g) c.links_.push_back({LinkKind::nvlink_up, c.nvlink_bw_});
  for (int g = 0; g < n; ++g) c.links_.push_back({LinkKind::nvlink_down, c.nvlink_bw_});
  if (!c.nic_) {
    c.base_nic_rx_ = c.base_leaf_up_ = c.base_leaf_down_ = c.base_agg_up_ = c.base_agg_down_ = static_cast<int>(c.links_.size());
    return c;
  }
  for (int i = 0; i < c.nodes_ * nics; ++i) c.links_.push_back({LinkKind::nic_tx, c.nic_bw_});
  for (int i = 0; i < c.nodes_ * nics; ++i) c.links_.push_back({LinkKind::nic_rx, c.nic_bw_});

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
  return c;
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
  }
  return "link" + std::to_string(id);
}

std::string Cluster::describe() const {
  std::string s = fmt::format("{} x {} ({} GPUs, {}), NVLink domain {} GPUs at {:.0f} GB/s per direction", nodes_,
                              system_->id, gpus(), gpu_->id, domain_size_, nvlink_bw_ / 1e9);
  if (nic_)
    s += fmt::format("; {} x {} per node, {} fat tree, {} tiers, leaf {}:{} ports", nics_per_node_, nic_->id,
                     kind_ == FabricKind::rail_optimized_fat_tree ? "rail-optimized" : "plain", tiers_, down_, up_);
  return s;
}

}  // namespace foresight::hw
