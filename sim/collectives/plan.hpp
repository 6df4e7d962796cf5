#pragma once
// How NCCL runs a collective, as data: phases of concurrent transfers (one aggregated transfer per
// ring/tree edge per channel, carrying all of that edge's bytes) plus the latency the NCCL tuner
// charges for its steps. Phases run one after another; both network models time the same plan.
#include <vector>

#include "hwmodels/topology/cluster.hpp"
#include "sim/collectives/nccl_params.hpp"

namespace foresight::sim {

using hw::is_nvswitch;
using hw::nvswitch_endpoint;

struct Transfer {
  int src = 0, dst = 0;       // endpoints: GPU index, hw::nvswitch_endpoint(domain), host_/nvme_endpoint(node)
  double payload_bytes = 0;   // user data moved along this edge
  double wire_bytes = 0;      // what the link carries: payload / protocol efficiency
};

struct Phase {
  std::vector<Transfer> transfers;
  double latency_s = 0;       // step latencies of this phase, added to the bandwidth time
  double pipeline_factor = 1; // >1 when too few chunks per channel to fill a pipeline
};

struct CollectivePlan {
  Algorithm algorithm = Algorithm::ring;
  Protocol protocol = Protocol::simple;
  std::vector<Phase> phases;
};

// Total payload the plan moves, for conservation checks.
double total_payload(const CollectivePlan& plan);

}  // namespace foresight::sim
