#pragma once
// How NCCL runs a collective, as data: phases of concurrent transfers (one aggregated transfer per
// ring/tree edge per channel, carrying all of that edge's bytes) plus the latency the NCCL tuner
// charges for its steps. Phases run one after another; both network models time the same plan.
#include <string>
#include <vector>

#include "hwmodels/topology/cluster.hpp"
#include "sim/collectives/collective.hpp"
#include "sim/collectives/nccl_params.hpp"

namespace foresight::sim {

// Endpoint of a transfer: a GPU index >= 0, or the NVSwitch of NVLink domain d encoded as -1 - d.
inline int nvswitch_endpoint(int domain) { return -1 - domain; }
inline bool is_nvswitch(int endpoint) { return endpoint < 0; }

struct Transfer {
  int src = 0, dst = 0;
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

// Which algorithms can run this request on this cluster (e.g. NVLS needs one NVLS-capable domain).
std::vector<Algorithm> applicable_algorithms(const CollectiveRequest& req, const hw::Cluster& cluster);
std::vector<Protocol> applicable_protocols(Algorithm a);

CollectivePlan decompose(const CollectiveRequest& req, Algorithm algorithm, Protocol protocol,
                         const hw::Cluster& cluster, const NcclParams& params);

// Total payload the plan moves, for conservation checks.
double total_payload(const CollectivePlan& plan);

}  // namespace foresight::sim
