#pragma once
// Which algorithms can run a collective on a cluster, and the plan of one (algorithm, protocol).
#include <vector>

#include "hwmodels/topology/cluster.hpp"
#include "sim/collectives/collective.hpp"
#include "sim/collectives/nccl_params.hpp"
#include "sim/collectives/plan.hpp"

namespace foresight::sim {

// Which algorithms can run this request on this cluster (e.g. NVLS needs one NVLS-capable domain).
std::vector<Algorithm> applicable_algorithms(const CollectiveRequest& req, const hw::Cluster& cluster);
std::vector<Protocol> applicable_protocols(Algorithm a);

// The plan of `req` run by (algorithm, protocol), with one kernel launch charged to its first phase.
CollectivePlan decompose(const CollectiveRequest& req, Algorithm algorithm, Protocol protocol,
                         const hw::Cluster& cluster, const NcclParams& params);

// A one-way point-to-point transfer (ncclSend/ncclRecv of `bytes` from src to dst) with the Simple
// protocol: one edge, one NVLink or network step, one launch.
CollectivePlan decompose_transfer(int src, int dst, double bytes, const hw::Cluster& cluster, const NcclParams& params);
// A DMA copy between a GPU and its node's host memory or NVMe (hw::host_endpoint, nvme_endpoint):
// one phase, the bytes at the route's link rate, no NCCL step latency.
CollectivePlan decompose_host_copy(int src, int dst, double bytes);

}  // namespace foresight::sim
