// NCCL collectives over all local GPUs from one process (ncclCommInitAll), for timing.
//
// `bytes` follows nccl-tests' "size" column so imported nccl-tests logs and our own measurements
// mean the same thing:
//   all_reduce     : bytes of the buffer on every rank
//   all_gather     : bytes of the gathered output (each rank contributes bytes / ranks)
//   reduce_scatter : bytes of the input (each rank keeps bytes / ranks)
//   all_to_all     : bytes of each rank's send buffer (bytes / ranks to every peer)
//   send_recv      : bytes every rank sends to rank+1 (and receives from rank-1), a ring of pairs
#pragma once
#include <cuda_runtime.h>
#include <nccl.h>

#include <cstddef>
#include <string>
#include <vector>

#include "kernels/dtype.hpp"

namespace foresight::kernels {

enum class CollOp { all_reduce, all_gather, reduce_scatter, all_to_all, send_recv };
const char* coll_op_name(CollOp op);

std::string nccl_version_string();

class NcclGroup {
 public:
  // algorithm / protocol: "auto" leaves NCCL's tuner alone; anything else (e.g. "Ring", "Tree",
  // "NVLS"; "LL", "LL128", "Simple") is put in NCCL_ALGO / NCCL_PROTO before the communicators
  // are created, since NCCL reads them at init. Any previous value is restored afterwards.
  NcclGroup(int ndev, const std::string& algorithm, const std::string& protocol);
  ~NcclGroup();
  NcclGroup(const NcclGroup&) = delete;
  NcclGroup& operator=(const NcclGroup&) = delete;

  int ranks() const { return static_cast<int>(comms_.size()); }
  // Grows the per-rank send/recv buffers to hold `bytes` each (fills send with non-zero data).
  void reserve(std::size_t bytes);
  std::size_t capacity() const { return capacity_; }
  // Largest `bytes` for which every op fits the given free-memory fraction on every device.
  static std::size_t max_bytes_for_memory(int ndev, double fraction);

  // Enqueues the op on every rank's stream. Throws if bytes is not divisible as the op needs.
  void launch(CollOp op, std::size_t bytes, DType dtype);
  // Runs the op once with events on every rank and returns the slowest rank's time in seconds.
  double time_once(CollOp op, std::size_t bytes, DType dtype);
  void synchronize();

  // Direct buffer access for the correctness tests.
  void* send_buffer(int rank) const { return send_[rank]; }
  void* recv_buffer(int rank) const { return recv_[rank]; }
  cudaStream_t stream(int rank) const { return streams_[rank]; }
  int device(int rank) const { return devices_[rank]; }

 private:
  std::vector<int> devices_;
  std::vector<ncclComm_t> comms_;
  std::vector<cudaStream_t> streams_;
  std::vector<cudaEvent_t> start_, stop_;
  std::vector<void*> send_, recv_;
  std::size_t capacity_ = 0;
};

}  // namespace foresight::kernels
