#include "sim/collectives/nccl_params.hpp"

namespace foresight::sim {

const char* algorithm_name(Algorithm a) {
  switch (a) {
    case Algorithm::ring: return "ring";
    case Algorithm::tree: return "tree";
    case Algorithm::nvls: return "nvls";
    case Algorithm::hierarchical: return "hierarchical";
    case Algorithm::direct: return "direct";
  }
  return "?";
}

const char* protocol_name(Protocol p) {
  switch (p) {
    case Protocol::ll: return "ll";
    case Protocol::ll128: return "ll128";
    case Protocol::simple: return "simple";
  }
  return "?";
}

NcclParams NcclParams::defaults() {
  NcclParams p{};
  constexpr double us = 1e-6;
  // NVIDIA/nccl src/graph/tuning.cc (2.19-2.21): baseLat Ring {6.6, 14.0, 8.4}, Tree {6.8, 14.0, 8.4};
  // NVLS has no base term, its latency is the NVLink hop latency below.
  const double base[3][3] = {{6.6, 14.0, 8.4}, {6.8, 14.0, 8.4}, {0, 0, 0}};
  // hwLat[NVLINK]: Ring {0.6, 1.9, 3.4}, Tree {0.6, 1.25, 4.0}, NVLS Simple 25.
  const double nvl[3][3] = {{0.6, 1.9, 3.4}, {0.6, 1.25, 4.0}, {0, 0, 25.0}};
  // hwLat[NET]: Ring {2.7, 4.0, 14.0}, Tree {5.0, 8.5, 14.0}.
  const double net[3][3] = {{2.7, 4.0, 14.0}, {5.0, 8.5, 14.0}, {0, 0, 25.0}};
  for (int a = 0; a < 3; ++a)
    for (int q = 0; q < 3; ++q) {
      p.base_latency[a][q] = base[a][q] * us;
      p.nvlink_hop_latency[a][q] = nvl[a][q] * us;
      p.network_hop_latency[a][q] = net[a][q] * us;
    }
  // Simple on NVLink: "450GB/s is the line rate. With the protocol overhead (~20%) NCCL can get an
  // effective NVLink bandwidth of 370GB/s" (NCCL maintainer, nccl-tests issue #212): 370/450.
  const double simple_nvlink = 370.0 / 450.0;
  // Simple on the network: "For NDR @ 400Gbps you should see 46-48GB/s per NIC" (nccl-tests #290): 47/50.
  const double simple_net = 47.0 / 50.0;
  // LL128 carries 120 payload bytes per 128-byte line; LL 4 payload bytes per 8-byte flagged word.
  p.nvlink_efficiency[2] = simple_nvlink;
  p.nvlink_efficiency[1] = simple_nvlink * 120.0 / 128.0;
  p.nvlink_efficiency[0] = simple_nvlink * 0.5;
  p.network_efficiency[2] = simple_net;
  p.network_efficiency[1] = simple_net * 120.0 / 128.0;
  p.network_efficiency[0] = simple_net * 0.5;
  // tuning.cc llMaxBws, Hopper single node: 87.7 GB/s.
  p.ll_max_bandwidth = 87.7e9;
  // tuning.cc nvlsEfficiency: Hopper 0.85, Blackwell 0.74.
  p.nvls_efficiency = 0.85;
  p.nvls_efficiency_blackwell = 0.74;
  // NCCL_NVLS_NCHANNELS default 16 on H100 and NVLS chunk 128 KiB (NCCL environment documentation).
  p.nvls_channels = 16;
  p.nvls_chunk_bytes = 131072;
  p.ring_channels_single_node = 16;
  // NCCL runs a collective as one kernel, whose launch its tuner does not charge but nccl-tests
  // measures: ~2 us per launch (NVIDIA Developer Blog, "Getting Started with CUDA Graphs", A. Gray,
  // 2019), the same figure the roofline compute model charges per kernel.
  p.launch_overhead = 2e-6;
  return p;
}

std::string NcclParams::sources() const {
  return "NCCL latencies and LL ceiling: NVIDIA/nccl src/graph/tuning.cc; Simple NVLink efficiency 370/450 "
         "(nccl-tests #212, measured on H100, assumed for every NVLink generation); network efficiency 47/50 "
         "(nccl-tests #290, NDR, assumed for every NIC); NVLS efficiency 0.85 Hopper / 0.74 Blackwell (tuning.cc); 2 us kernel launch (CUDA Graphs blog)";
}

}  // namespace foresight::sim
