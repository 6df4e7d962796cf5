#pragma once
#include <string>
#include <vector>

#include "core/yaml_reader.hpp"
#include "hwmodels/topology/cluster.hpp"

namespace foresight::sim {

struct ServingSpec;

// KV-cache tiers below HBM (`serving.kv_offload`), in order: where evicted prefix blocks go and
// prefix hits can be loaded back from. Capacity per replica; bandwidth per GPU (each GPU moves its
// own shard of a block), from the catalog unless given.
struct KvTierSpec {
  std::string tier;                 // host | nvme | remote
  double capacity = 0;              // bytes per replica
  double bandwidth = 0;             // bytes/s: per GPU when timed; on links, the link's (NVMe: the node's)
  std::string source;               // where the bandwidth comes from
  // Its traffic runs as transfers on simulated links: host over each GPU's PCIe, NVMe over the
  // node's drives and PCIe, remote over the fabric to the next node (when no bandwidth is given).
  bool on_links = false;
};

struct KvOffloadSpec {
  std::vector<KvTierSpec> tiers;
  // blocking: a request's prefix loads before the step that admits it (the batch waits, as
  // LMCache's synchronous load); async: it waits for its KV outside the batch on a copy stream
  // (vLLM's WAITING_FOR_REMOTE_KVS), and the batch runs on.
  bool async_load = false;
  bool enabled() const { return !tiers.empty(); }
};

// `serving.kv_offload`, once the replicas (or pools) are parsed: their GPUs per replica bound the
// capacities, the cluster's catalog entries give the default bandwidths.
void parse_kv_offload(const YamlNode& o, ServingSpec& s, const hw::ClusterSpec& cluster);

}  // namespace foresight::sim
