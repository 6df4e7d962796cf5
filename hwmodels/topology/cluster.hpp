#pragma once
// A cluster as a graph of directed links with routes computed from GPU indices (no N^2 tables), so
// 100k-GPU clusters build in milliseconds. Both network models (analytical and SimGrid flows) read
// the same links and routes.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "hwmodels/catalog/catalog.hpp"

namespace foresight::hw {

enum class FabricKind { rail_optimized_fat_tree, fat_tree };

struct FabricSpec {
  FabricKind kind = FabricKind::rail_optimized_fat_tree;
  std::string nic;               // catalog id; empty = the system's default NIC
  std::string switch_id;         // catalog id; empty = the catalog switch matching the NIC's protocol and speed
  double oversubscription = 1.0; // leaf down:up port ratio
  int tiers = 0;                 // 2 or 3; 0 = the fewest that fit
};

// More nodes of another system on the same scale-out fabric, after the cluster's own (serving's
// heterogeneous pools: H100 prefill, A100 decode). Same GPUs and NICs per node as the main system,
// NVLink domains no larger than a node, and NICs of the fabric's protocol; each node keeps its own
// GPUs, NVLink and NIC speeds (the system's default NIC).
struct NodeGroup {
  std::string system;
  int nodes = 1;
  // Resolved (resolve_cluster):
  SystemSpec system_spec;
  GpuSpec gpu_spec;
  std::optional<NicSpec> nic_spec;
};

// A cluster as the user chose it (catalog ids) plus the hardware those ids resolved to, so nothing
// downstream looks an id up again: resolve_cluster() fills the resolved part from one catalog.
struct ClusterSpec {
  std::string system;
  int nodes = 1;
  FabricSpec fabric;
  std::vector<NodeGroup> extra;  // nodes of other systems, numbered after these
  uint64_t seed = 1;             // ECMP hashing
  int total_nodes() const {
    int n = nodes;
    for (const auto& g : extra) n += g.nodes;
    return n;
  }
  // Resolved (resolve_cluster):
  SystemSpec system_spec;
  GpuSpec gpu_spec;
  std::optional<NicSpec> nic_spec;        // set when the cluster has a scale-out fabric or a NIC was named
  std::optional<SwitchSpec> switch_spec;  // set with nic_spec
  bool resolved = false;
};

// Where a resolution problem lies: the dotted scenario key ("cluster.fabric.nic") and the message.
// The sink must throw (the scenario loader throws a located InputError); if it returns,
// resolve_cluster throws an unlocated one.
using ResolveErrorSink = std::function<void(const std::string& key, const std::string& message)>;

// Looks the ids up in `catalog`: the system and its GPU; the NIC (named, or the system's default
// when more than one NVLink domain needs a fabric) and the switch (named, or the catalog switch of
// the NIC's protocol at the NIC's speed with the largest radix). Checks that the system takes the
// NIC and that switch and NIC speak one protocol.
void resolve_cluster(ClusterSpec& spec, const Catalog& catalog, const ResolveErrorSink& fail = {});

// Transfer endpoints: a GPU index >= 0, or the NVSwitch of NVLink domain d encoded as -1 - d (NVLS
// traffic goes to and from the switch itself).
// A node's host memory and its local NVMe are endpoints too (serving's KV offload tiers), encoded
// below the NVSwitches' range.
constexpr int kHostEndpointBase = 1 << 28, kNvmeEndpointBase = 1 << 29;
inline int nvswitch_endpoint(int domain) { return -1 - domain; }
inline bool is_nvswitch(int endpoint) { return endpoint < 0 && endpoint > -kHostEndpointBase; }
inline int host_endpoint(int node) { return -kHostEndpointBase - node; }
inline int nvme_endpoint(int node) { return -kNvmeEndpointBase - node; }
inline bool is_host(int endpoint) { return endpoint <= -kHostEndpointBase && endpoint > -kNvmeEndpointBase; }
inline bool is_nvme(int endpoint) { return endpoint <= -kNvmeEndpointBase; }
inline int endpoint_node(int endpoint) {  // of a host or NVMe endpoint
  return is_nvme(endpoint) ? -kNvmeEndpointBase - endpoint : -kHostEndpointBase - endpoint;
}

enum class LinkKind : uint8_t {
  nvlink_up, nvlink_down, nic_tx, nic_rx, leaf_up, leaf_down, agg_up, agg_down,
  pcie_up, pcie_down,        // GPU to / from its node's host memory (its PCIe x16)
  nvme_read, nvme_write      // a node's local NVMe drives, all together
};

struct Link {
  LinkKind kind;
  double bandwidth;              // bytes/s, one direction
};

struct Route {
  // Latency is not part of a route: collectives charge NCCL's per-step latencies (decompose.cpp).
  std::vector<int> links;        // indices into Cluster::links()
  bool crosses_network = false;
};

class Cluster {
 public:
  // Builds from a resolved spec (resolve_cluster); throws InputError when the nodes do not fill
  // whole NVLink domains or the fabric needs more tiers than asked for.
  static Cluster build(const ClusterSpec& spec);

  int gpus() const { return nodes_ * gpus_per_node_; }
  int nodes() const { return nodes_; }
  int gpus_per_node() const { return gpus_per_node_; }
  int nvlink_domain_size() const { return domain_size_; }
  int nics_per_node() const { return nics_per_node_; }
  int node_of(int gpu) const { return gpu / gpus_per_node_; }
  int domain_of(int gpu) const { return gpu / domain_size_; }
  int rail_of(int gpu) const { return (gpu % gpus_per_node_) * nics_per_node_ / gpus_per_node_; }
  bool same_domain(int a, int b) const { return domain_of(a) == domain_of(b); }
  int tiers() const { return tiers_; }
  int leaf_of(int node, int rail) const;

  // Whether the node of `gpu` has local NVMe bandwidth in the catalog (its NVMe endpoint's links).
  bool has_nvme(int gpu) const { return group_at(gpu).nvme_bw > 0; }
  int nvlink_up_link(int gpu) const { return base_nvl_up_ + gpu; }     // GPU -> its NVSwitch
  int nvlink_down_link(int gpu) const { return base_nvl_down_ + gpu; } // NVSwitch -> GPU
  Route route(int src, int dst) const;
  void route_into(int src, int dst, Route& out) const;  // GPU to GPU; reuses out's storage
  // Between transfer endpoints: a GPU and its domain's NVSwitch use only that GPU's NVLink port.
  void route_endpoints(int src, int dst, Route& out) const;
  const std::vector<Link>& links() const { return links_; }
  std::string link_name(int id) const;

  const SystemSpec& system() const { return system_; }
  const GpuSpec& gpu() const { return gpu_; }
  // Mixed systems (ClusterSpec::extra): the system and GPU a GPU index belongs to, and the GPU
  // range [first, end) of a system; the main system's when the cluster is uniform.
  bool uniform() const { return groups_.size() == 1; }
  const SystemSpec& system_at(int gpu) const { return group_at(gpu).system; }
  const GpuSpec& gpu_at(int gpu) const { return group_at(gpu).gpu; }
  // {first GPU, end GPU} of `system_id`'s nodes; {0, 0} when the cluster has none.
  std::pair<int, int> gpus_of(const std::string& system_id) const;
  const NicSpec* nic() const { return nic_ ? &*nic_ : nullptr; }
  const SwitchSpec* fabric_switch() const { return switch_ ? &*switch_ : nullptr; }
  double nvlink_bandwidth() const { return nvlink_bw_; }
  double nic_bandwidth() const { return nic_bw_; }
  double switch_latency() const { return switch_latency_; }  // port to port, 0 when unpublished
  int leaf_switches() const { return leaves_; }
  // Nodes that lose a NIC port when one leaf switch fails (a rail-optimized leaf serves one rail of
  // `down` nodes; a plain fat-tree leaf serves all rails of fewer nodes).
  int nodes_per_leaf() const;
  std::string describe() const;

 private:
  struct Group {
    int first_node = 0, nodes = 0;
    SystemSpec system;
    GpuSpec gpu;
    double nvlink_bw = 0, nic_bw = 0, pcie_bw = 0, nvme_bw = 0;
  };
  const Group& group_at(int gpu) const;
  std::vector<Group> groups_;   // the main system first
  SystemSpec system_;
  GpuSpec gpu_;
  std::optional<NicSpec> nic_;
  std::optional<SwitchSpec> switch_;
  FabricKind kind_ = FabricKind::rail_optimized_fat_tree;
  int nodes_ = 1, gpus_per_node_ = 8, domain_size_ = 8, nics_per_node_ = 0;
  int down_ = 0, up_ = 0, leaves_ = 0, leaves_per_rail_ = 0, tiers_ = 1, pod_leaves_ = 0, core_up_ = 0, pods_ = 0;
  double nvlink_bw_ = 0, nic_bw_ = 0, switch_latency_ = 0;
  uint64_t seed_ = 1;
  // First link index of each kind; see link_name() for the layout.
  int base_nvl_up_ = 0, base_nvl_down_ = 0, base_nic_tx_ = 0, base_nic_rx_ = 0, base_leaf_up_ = 0,
      base_leaf_down_ = 0, base_agg_up_ = 0, base_agg_down_ = 0;
  int base_pcie_up_ = 0, base_pcie_down_ = 0, base_nvme_read_ = 0, base_nvme_write_ = 0;   // appended last
  void add_host_links();
  std::vector<Link> links_;
};

}  // namespace foresight::hw
