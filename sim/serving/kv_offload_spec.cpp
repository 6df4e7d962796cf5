#include "sim/serving/kv_offload_spec.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "core/units.hpp"
#include "sim/serving/serving_spec.hpp"

namespace foresight::sim {

using units::Dimension;

// `kv_offload`: tiers in the order host, nvme, remote (any of them), each with a capacity per
// replica, and a bandwidth per GPU from the catalog unless given: host DRAM over the GPU's PCIe,
// NVMe at the node's aggregate read bandwidth shared by its GPUs (behind PCIe), a remote pool over
// the GPU's NIC. Capacities may not exceed the replica's share of what the catalog says a node has.
void parse_kv_offload(const YamlNode& o, ServingSpec& s, const hw::ClusterSpec& cluster) {
  o.expect_only({"tiers", "load"});
  if (auto l = o.find("load")) s.kv_offload.async_load = l->as_choice({"blocking", "async"}) == "async";
  if (!s.scheduler.prefix_caching && !(s.disaggregation.enabled() && s.disaggregation.decode->scheduler.prefix_caching))
    o.fail("offloaded KV is kept for prefix reuse: it needs scheduler.prefix_caching: true");
  const YamlNode list = o.at("tiers");
  if (!list.is_sequence() || list.items().empty()) list.fail("expected a list of tiers: [{tier: host, capacity: 256GiB}, ...]");
  const hw::SystemSpec& sys = cluster.system_spec;
  const int gpn = sys.gpus_per_node;
  const int gpr = s.disaggregation.enabled() ? s.disaggregation.decode->gpus_per_replica() : s.gpus_per_replica();
  const std::vector<std::string> order{"host", "nvme", "remote"};
  int last = -1;
  for (const auto& t : list.items()) {
    t.expect_only({"tier", "capacity", "bandwidth"});
    KvTierSpec k;
    k.tier = t.at("tier").as_choice(order);
    const int pos = static_cast<int>(std::find(order.begin(), order.end(), k.tier) - order.begin());
    if (pos <= last) t.at("tier").fail("tiers go host, nvme, remote, each at most once, in that order");
    last = pos;
    k.capacity = t.at("capacity").as_quantity(Dimension::bytes);
    if (!(k.capacity > 0)) t.at("capacity").fail("must be positive");
    const double node = k.tier == "host" ? sys.host_memory : k.tier == "nvme" ? sys.nvme_capacity : 0;
    if (node > 0 && k.capacity > node * gpr / gpn * (1 + 1e-9))
      t.at("capacity").fail(fmt::format("{:.4g} GB per replica exceeds its share of a {} node's {:.4g} GB ({} of {} GPUs: {:.4g} GB)",
                                        k.capacity / 1e9, sys.id, node / 1e9, gpr, gpn, node * gpr / gpn / 1e9));
    if (auto b = t.find("bandwidth")) {
      k.bandwidth = b->as_quantity(Dimension::bandwidth);
      if (!(k.bandwidth > 0)) b->fail("must be positive");
      k.source = "scenario (timed per GPU, not on links)";
    } else if (k.tier == "host") {
      k.bandwidth = sys.pcie_bandwidth;
      k.source = fmt::format("transfers on each GPU's PCIe link ({} catalog)", sys.id);
      k.on_links = true;
    } else if (k.tier == "nvme") {
      if (!(sys.nvme_bandwidth > 0))
        t.fail(fmt::format("the catalog has no NVMe bandwidth for {}: give this tier a bandwidth", sys.id));
      k.bandwidth = sys.nvme_bandwidth;
      k.source = fmt::format("transfers on the node's NVMe link ({} catalog, all drives, shared by its GPUs) and PCIe", sys.id);
      k.on_links = true;
    } else {
      // A pool in the other nodes' memory (Mooncake's store): the traffic runs as transfers on the
      // fabric, to and from the same GPU index of the next node.
      if (!cluster.nic_spec || cluster.total_nodes() < 2)
        t.fail("a remote pool lives in other nodes' memory: this one-node cluster has none; give this tier a bandwidth");
      k.bandwidth = std::min(cluster.nic_spec->bandwidth, sys.pcie_bandwidth);
      k.source = fmt::format("transfers on the fabric ({} NICs)", cluster.nic_spec->id);
      k.on_links = true;
    }
    s.kv_offload.tiers.push_back(k);  // async_load was set above
  }
  // Both pools keep prefixes in their tiers: prefill workers reuse a prompt's cached head, decode
  // workers what the conditional rule prefills locally.
  if (s.disaggregation.enabled()) s.disaggregation.prefill->kv_offload = s.disaggregation.decode->kv_offload = s.kv_offload;
}

}  // namespace foresight::sim
