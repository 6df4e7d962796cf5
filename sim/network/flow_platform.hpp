#pragma once
// The cluster as a SimGrid platform: one host per GPU, per NVSwitch and per node's host memory
// and NVMe, one SimGrid link per
// cluster link, and a routing zone that asks hw::Cluster for routes instead of storing them, so
// building 16k GPUs takes milliseconds (see DESIGN.md). Must be created inside a live s4u::Engine.
#include <vector>

#include <simgrid/s4u.hpp>

#include "hwmodels/topology/cluster.hpp"

namespace foresight::sim {

class FlowPlatform {
 public:
  explicit FlowPlatform(const hw::Cluster& cluster);
  simgrid::s4u::Host* endpoint(int e) const;   // GPU index, nvswitch_endpoint(domain), host_/nvme_endpoint(node)
  simgrid::s4u::Host* control() const { return control_; }

 private:
  std::vector<simgrid::s4u::Host*> gpus_, switches_, hosts_, nvmes_;
  simgrid::s4u::Host* control_ = nullptr;
};

// Configures the network model DESIGN.md calls for (CM02, no cross traffic, no TCP window cap) and
// silences SimGrid's logging. Call before FlowPlatform.
void configure_simgrid_engine();

}  // namespace foresight::sim
