#pragma once
// Device memory a framework process cannot give to its tensors: the CUDA context with its kernel
// images and library workspaces (cuBLAS, cuDNN), and each NCCL communicator's buffers. A plan that
// fills the whole HBM with weights, gradients and activations does not fit.
namespace foresight::sim {

// CUDA context and library workspaces per process: 551 MB, the figure NVIDIA AIConfigurator
// (aiconfigurator-core 0.12, systems/h100_sxm.yaml other_mem) started from before padding it to
// 3.5 GiB as a deployment safety margin.
inline constexpr double kCudaContextBytes = 551e6;

// One NCCL communicator's channel buffers: AIConfigurator 0.12 observed 342 MB at 2 ranks and
// 392 MB at 4 and 8 (systems/h100_sxm.yaml nccl_mem); we charge the larger per communicator.
inline constexpr double kNcclCommunicatorBytes = 392e6;

inline double device_reserve_bytes(int communicators) { return kCudaContextBytes + communicators * kNcclCommunicatorBytes; }

inline constexpr const char* kDeviceReserveSource =
    "reserved = 551 MB CUDA context + 392 MB per NCCL communicator (NVIDIA AIConfigurator 0.12 systems/h100_sxm.yaml)";

}  // namespace foresight::sim
