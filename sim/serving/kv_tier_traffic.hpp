#pragma once
// KV-cache tier traffic on the simulated links, and what the tiers did over a run.
#include <vector>

#include <nlohmann/json.hpp>

#include "hwmodels/topology/cluster.hpp"
#include "sim/engine/engine.hpp"
#include "sim/serving/kv_offload_spec.hpp"
#include "sim/serving/replica.hpp"

namespace foresight::sim {

// One transfer per GPU of the replica at `first_gpu` (its shard) and tier with bytes: host memory
// over the GPU's PCIe, the node's NVMe behind it, a remote pool (Mooncake-style, in the other
// nodes' memory) over the fabric to the same GPU of the next node. Loads come into HBM; a store
// goes into its tier from HBM (tier 0) or from the tier above (a host-to-NVMe copy stays on the
// node's drives; copies into a remote pool leave through the GPU's NIC). Adds what it sends to
// `sent_bytes`; returns the transfers.
std::vector<ActivityId> send_kv_tier_traffic(Engine& engine, const hw::Cluster& cluster, const ServingSpec& pool,
                                             int first_gpu, const std::vector<double>& bytes_per_gpu, bool load,
                                             double& sent_bytes);

struct KvTierTime {
  double step_time_added_s = 0;   // timed tiers' loads and excess stores, inside steps
  double async_load_s = 0;        // timed tiers' loads on the copy stream
  double link_bytes = 0;          // sent as transfers on links
};

// Each tier over the replicas that have one: blocks in and out, hits served, the traffic's cost.
nlohmann::json kv_tiers_json(const KvOffloadSpec& offload, const std::vector<const Replica*>& replicas, const KvTierTime& time);

}  // namespace foresight::sim
