#pragma once
// Protocol and latency parameters of the NCCL-style collective model. Defaults come from public
// sources (cited in nccl_params.cpp); a calibration profile may replace any of them.
#include <string>

namespace foresight::sim {

enum class Algorithm { ring, tree, nvls, hierarchical, direct };
enum class Protocol { ll, ll128, simple };

const char* algorithm_name(Algorithm a);
const char* protocol_name(Protocol p);

struct NcclParams {
  // Latency model of NCCL's tuner: base + steps x per-hop latency, in seconds, [algorithm][protocol].
  double base_latency[3][3];       // ring, tree, nvls  x  ll, ll128, simple
  double nvlink_hop_latency[3][3];
  double network_hop_latency[3][3];
  // Fraction of link bandwidth a protocol delivers as payload, per medium.
  double nvlink_efficiency[3];     // ll, ll128, simple
  double network_efficiency[3];
  double ll_max_bandwidth;         // bytes/s per rank: LL's flag-polling ceiling
  double nvls_efficiency;          // extra factor on NVLink for in-switch reduction, Hopper
  double nvls_efficiency_blackwell;
  double nvls_efficiency_for(const std::string& architecture) const {
    return architecture == "blackwell" ? nvls_efficiency_blackwell : nvls_efficiency;
  }
  int nvls_channels;
  double nvls_chunk_bytes;
  int ring_channels_single_node;
  double launch_overhead;          // s, one kernel launch per collective

  static NcclParams defaults();
  std::string sources() const;     // one line per default, for provenance
};

}  // namespace foresight::sim
