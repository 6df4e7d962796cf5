#include "sim/network/flow_platform.hpp"

#include <string>

#include <simgrid/kernel/routing/NetPoint.hpp>
#include <simgrid/kernel/routing/NetZoneImpl.hpp>
#include <xbt/log.h>


namespace foresight::sim {

namespace {

namespace routing = simgrid::kernel::routing;

// Netpoints are numbered in creation order: GPUs 0..n-1, then one NVSwitch per domain, then each
// node's host memory, then each node's NVMe, then the control host. Links carry zero latency: latency is added analytically per collective step, which
// also keeps CM02 from weighting flows by their route latency.
class ClusterZone final : public routing::NetZoneImpl {
 public:
  ClusterZone(const std::string& name, const hw::Cluster& cluster) : NetZoneImpl(name), cluster_(cluster) {}

  void set_links(std::vector<simgrid::kernel::resource::StandardLinkImpl*> links) { links_ = std::move(links); }

  void get_local_route(const routing::NetPoint* src, const routing::NetPoint* dst, routing::Route* into,
                       double* /*latency*/) override {
    const int n = cluster_.gpus();
    const int domains = n / cluster_.nvlink_domain_size(), nodes = cluster_.nodes();
    auto decode = [&](unsigned long id) {
      const int i = static_cast<int>(id);
      if (i < n) return i;
      if (i < n + domains) return hw::nvswitch_endpoint(i - n);
      if (i < n + domains + nodes) return hw::host_endpoint(i - n - domains);
      if (i < n + domains + 2 * nodes) return hw::nvme_endpoint(i - n - domains - nodes);
      return kControl;
    };
    const int s = decode(src->id()), d = decode(dst->id());
    if (s == kControl || d == kControl) return;
    cluster_.route_endpoints(s, d, scratch_);
    for (int l : scratch_.links) into->link_list_.push_back(links_[static_cast<size_t>(l)]);
  }

 private:
  static constexpr int kControl = 1 << 30;
  const hw::Cluster& cluster_;
  std::vector<simgrid::kernel::resource::StandardLinkImpl*> links_;
  hw::Route scratch_;
};

}  // namespace

void configure_simgrid_engine() {
  xbt_log_control_set("root.thres:critical");
  simgrid::s4u::Engine::set_config("network/model:CM02");
  simgrid::s4u::Engine::set_config("network/crosstraffic:0");
  simgrid::s4u::Engine::set_config("network/TCP-gamma:1e30");
  // The flow executor runs an actor per transfer endpoint (tens of thousands at 16k GPUs): small
  // stacks without guard pages, which would cost two memory mappings each (Linux allows 65530).
  simgrid::s4u::Engine::set_config("contexts/stack-size:16");
  simgrid::s4u::Engine::set_config("contexts/guard-size:0");
}

FlowPlatform::FlowPlatform(const hw::Cluster& cluster) {
  // The first zone created becomes the engine's root and initialises the network model.
  auto* zone = new ClusterZone("cluster", cluster);
  const int n = cluster.gpus();
  const int domains = n / cluster.nvlink_domain_size();
  gpus_.reserve(static_cast<size_t>(n));
  for (int g = 0; g < n; ++g) gpus_.push_back(zone->create_host("gpu" + std::to_string(g), {1.0}));
  for (int d = 0; d < domains; ++d) switches_.push_back(zone->create_host("nvswitch" + std::to_string(d), {1.0}));
  for (int m = 0; m < cluster.nodes(); ++m) hosts_.push_back(zone->create_host("host" + std::to_string(m), {1.0}));
  for (int m = 0; m < cluster.nodes(); ++m) nvmes_.push_back(zone->create_host("nvme" + std::to_string(m), {1.0}));
  control_ = zone->create_host("control", {1.0});
  std::vector<simgrid::kernel::resource::StandardLinkImpl*> links;
  links.reserve(cluster.links().size());
  for (size_t i = 0; i < cluster.links().size(); ++i) {
    auto* link = zone->create_link("l" + std::to_string(i), {cluster.links()[i].bandwidth});
    link->set_latency(0);
    link->seal();
    links.push_back(link->get_impl());
  }
  zone->set_links(std::move(links));
  zone->seal();
}

simgrid::s4u::Host* FlowPlatform::endpoint(int e) const {
  if (hw::is_host(e)) return hosts_[static_cast<size_t>(hw::endpoint_node(e))];
  if (hw::is_nvme(e)) return nvmes_[static_cast<size_t>(hw::endpoint_node(e))];
  return hw::is_nvswitch(e) ? switches_[static_cast<size_t>(-1 - e)] : gpus_[static_cast<size_t>(e)];
}

}  // namespace foresight::sim
