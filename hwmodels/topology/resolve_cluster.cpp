// Resolving a cluster's catalog ids to hardware, once, with errors that name the scenario key.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "core/error.hpp"
#include "hwmodels/topology/cluster.hpp"

namespace foresight::hw {

namespace {

// Prefer the switch generation whose ports run at the NIC's speed; among those the largest radix.
const SwitchSpec* default_switch(const Catalog& catalog, const NicSpec& nic) {
  const SwitchSpec* best = nullptr;
  for (const auto& [id, s] : catalog.switches()) {
    if (s.protocol != nic.protocol || s.port_speed <= 0) continue;
    const bool exact = std::fabs(s.port_speed - nic.bandwidth) < 1e-6 * nic.bandwidth;
    const bool best_exact = best && std::fabs(best->port_speed - nic.bandwidth) < 1e-6 * nic.bandwidth;
    if (!best || (exact && !best_exact) || (exact == best_exact && s.radix > best->radix)) best = &s;
  }
  return best;
}

template <typename Map>
std::string ids_of(const Map& m) {
  std::vector<std::string> ids;
  for (const auto& [id, v] : m) ids.push_back(id);
  return fmt::format("{}", fmt::join(ids, ", "));
}

// Other systems' nodes on the main fabric: one group per system, shaped like the main nodes (so
// routes and rails stay per-node arithmetic), NVLink inside a node, NICs the fabric speaks.
template <typename Fail>
void resolve_extra_nodes(ClusterSpec& spec, const Catalog& catalog, const Fail& fail) {
  const SystemSpec& main = spec.system_spec;
  std::vector<std::string> seen{spec.system};
  for (size_t i = 0; i < spec.extra.size(); ++i) {
    NodeGroup& g = spec.extra[i];
    const std::string key = fmt::format("cluster.extra_nodes.{}", i);
    const auto sys = catalog.systems().find(g.system);
    if (sys == catalog.systems().end())
      fail(key + ".system", fmt::format("unknown system '{}'; the catalog has: {}", g.system, ids_of(catalog.systems())));
    if (std::find(seen.begin(), seen.end(), g.system) != seen.end())
      fail(key + ".system", fmt::format("{} is already in the cluster: give its nodes once", g.system));
    seen.push_back(g.system);
    g.system_spec = sys->second;
    g.gpu_spec = catalog.gpu(g.system_spec.gpu);
    const SystemSpec& x = g.system_spec;
    if (x.gpus_per_node != main.gpus_per_node || x.nics_per_node != main.nics_per_node)
      fail(key + ".system", fmt::format("{} has {} GPUs and {} NICs per node, {} has {} and {}: mixed systems must match "
                                        "per node", x.id, x.gpus_per_node, x.nics_per_node, main.id, main.gpus_per_node,
                                        main.nics_per_node));
    for (const SystemSpec* t : {&main, &x})
      if (t->nvlink_domain > t->gpus_per_node)
        fail(key + ".system", fmt::format("{} has a {}-GPU NVLink domain spanning nodes; only systems whose NVLink stays "
                                          "inside a node can be mixed", t->id, t->nvlink_domain));
    if (!catalog.nics().count(x.default_nic))
      fail(key + ".system", fmt::format("{} has no default NIC in the catalog", x.id));
    g.nic_spec = catalog.nic(x.default_nic);
    if (spec.nic_spec && g.nic_spec->protocol != spec.nic_spec->protocol)
      fail(key + ".system", fmt::format("{}'s NICs ({}) speak {}, the fabric ({}) {}: no link between the systems", x.id,
                                        g.nic_spec->id, g.nic_spec->protocol, spec.nic_spec->id, spec.nic_spec->protocol));
  }
}

}  // namespace

void resolve_cluster(ClusterSpec& spec, const Catalog& catalog, const ResolveErrorSink& sink) {
  auto fail = [&](const std::string& key, const std::string& message) {
    if (sink) sink(key, message);
    throw InputError(key + ": " + message);
  };
  const auto sys = catalog.systems().find(spec.system);
  if (sys == catalog.systems().end())
    fail("cluster.system", fmt::format("unknown system '{}'; the catalog has: {}", spec.system, ids_of(catalog.systems())));
  spec.system_spec = sys->second;
  spec.gpu_spec = catalog.gpu(spec.system_spec.gpu);  // the catalog checked this reference when it loaded
  const SystemSpec& s = spec.system_spec;
  const int gpus = spec.total_nodes() * s.gpus_per_node;
  const bool multi_domain = gpus > std::max(s.nvlink_domain, s.gpus_per_node);
  spec.nic_spec.reset();
  spec.switch_spec.reset();
  if (multi_domain || !spec.fabric.nic.empty()) {
    const std::string nic_id = spec.fabric.nic.empty() ? s.default_nic : spec.fabric.nic;
    if (!catalog.nics().count(nic_id))
      fail("cluster.fabric.nic", fmt::format("unknown NIC '{}'; the catalog has: {}", nic_id, ids_of(catalog.nics())));
    if (std::find(s.supported_nics.begin(), s.supported_nics.end(), nic_id) == s.supported_nics.end())
      fail("cluster.fabric.nic", fmt::format("system {} cannot take NIC {}; it takes: {}", s.id, nic_id,
                                             fmt::join(s.supported_nics, ", ")));
    spec.nic_spec = catalog.nic(nic_id);
    const SwitchSpec* sw = nullptr;
    if (!spec.fabric.switch_id.empty()) {
      if (!catalog.switches().count(spec.fabric.switch_id))
        fail("cluster.fabric.switch", fmt::format("unknown switch '{}'; the catalog has: {}", spec.fabric.switch_id,
                                                  ids_of(catalog.switches())));
      sw = &catalog.switch_(spec.fabric.switch_id);
    } else {
      sw = default_switch(catalog, *spec.nic_spec);
      if (!sw)
        fail("cluster.fabric", fmt::format("no catalog switch speaks {} at the NIC's speed; name one with fabric.switch",
                                           spec.nic_spec->protocol));
    }
    if (sw->protocol != spec.nic_spec->protocol)
      fail("cluster.fabric.switch", fmt::format("{} is a {} switch but NIC {} is {}", sw->id, sw->protocol,
                                                spec.nic_spec->id, spec.nic_spec->protocol));
    spec.switch_spec = *sw;
  }
  resolve_extra_nodes(spec, catalog, fail);
  spec.resolved = true;
}

}  // namespace foresight::hw
