// NCCL collectives for calibration timing (single process, all local GPUs).
#include "kernels/collectives.hpp"

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <string>

#include "kernels/cuda_check.hpp"
#include "kernels/memory_ops.hpp"

namespace foresight::kernels {
namespace {

void nccl_check(ncclResult_t r, const char* what, const char* file, int line) {
  if (r != ncclSuccess)
    throw KernelError(std::string(file) + ":" + std::to_string(line) + ": " + what + ": " + ncclGetErrorString(r));
}
#define FS_NCCL(expr) nccl_check((expr), #expr, __FILE__, __LINE__)

ncclDataType_t nccl_type(DType t) {
  switch (t) {
    case DType::f32: case DType::tf32: return ncclFloat32;
    case DType::f16: return ncclFloat16;
    case DType::bf16: return ncclBfloat16;
    case DType::e4m3: return ncclUint8;  // moved, never reduced: see launch()
  }
  return ncclFloat32;
}

// Sets an environment variable for the lifetime of the object and restores the old value, so a
// forced algorithm never leaks into communicators created later with "auto".
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value == "auto") unsetenv(name);
    else setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_) setenv(name_, old_->c_str(), 1);
    else unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

}  // namespace

const char* coll_op_name(CollOp op) {
  switch (op) {
    case CollOp::all_reduce: return "all_reduce";
    case CollOp::all_gather: return "all_gather";
    case CollOp::reduce_scatter: return "reduce_scatter";
    case CollOp::all_to_all: return "all_to_all";
    case CollOp::send_recv: return "send_recv";
  }
  return "?";
}

std::string nccl_version_string() {
  int v = 0;
  if (ncclGetVersion(&v) != ncclSuccess) return "unknown";
  // NCCL >= 2.9 encodes major*10000 + minor*100 + patch.
  return std::to_string(v / 10000) + "." + std::to_string((v / 100) % 100) + "." + std::to_string(v % 100);
}

NcclGroup::NcclGroup(int ndev, const std::string& algorithm, const std::string& protocol) {
  if (ndev <= 0) throw KernelError("NcclGroup: need at least one device");
  devices_.resize(ndev);
  for (int i = 0; i < ndev; ++i) devices_[i] = i;
  comms_.resize(ndev);
  {
    ScopedEnv algo("NCCL_ALGO", algorithm);
    ScopedEnv proto("NCCL_PROTO", protocol);
    FS_NCCL(ncclCommInitAll(comms_.data(), ndev, devices_.data()));
  }
  streams_.resize(ndev);
  start_.resize(ndev);
  stop_.resize(ndev);
  send_.assign(ndev, nullptr);
  recv_.assign(ndev, nullptr);
  for (int i = 0; i < ndev; ++i) {
    FS_CUDA(cudaSetDevice(devices_[i]));
    FS_CUDA(cudaStreamCreateWithFlags(&streams_[i], cudaStreamNonBlocking));
    FS_CUDA(cudaEventCreate(&start_[i]));
    FS_CUDA(cudaEventCreate(&stop_[i]));
  }
}

NcclGroup::~NcclGroup() {
  for (std::size_t i = 0; i < comms_.size(); ++i) {
    cudaSetDevice(devices_[i]);
    if (streams_.size() > i && streams_[i]) cudaStreamSynchronize(streams_[i]);
    if (comms_[i]) ncclCommDestroy(comms_[i]);
    if (send_.size() > i && send_[i]) cudaFree(send_[i]);
    if (recv_.size() > i && recv_[i]) cudaFree(recv_[i]);
    if (start_.size() > i && start_[i]) cudaEventDestroy(start_[i]);
    if (stop_.size() > i && stop_[i]) cudaEventDestroy(stop_[i]);
    if (streams_.size() > i && streams_[i]) cudaStreamDestroy(streams_[i]);
  }
}

std::size_t NcclGroup::max_bytes_for_memory(int ndev, double fraction) {
  std::size_t best = ~std::size_t{0};
  for (int d = 0; d < ndev; ++d) {
    FS_CUDA(cudaSetDevice(d));
    std::size_t free_b = 0, total_b = 0;
    FS_CUDA(cudaMemGetInfo(&free_b, &total_b));
    best = std::min(best, static_cast<std::size_t>(free_b * fraction / 2));  // send + recv
  }
  return best;
}

void NcclGroup::reserve(std::size_t bytes) {
  if (bytes <= capacity_) return;
  for (int i = 0; i < ranks(); ++i) {
    FS_CUDA(cudaSetDevice(devices_[i]));
    FS_CUDA(cudaStreamSynchronize(streams_[i]));
    if (send_[i]) FS_CUDA(cudaFree(send_[i]));
    if (recv_[i]) FS_CUDA(cudaFree(recv_[i]));
    send_[i] = recv_[i] = nullptr;
    FS_CUDA(cudaMalloc(&send_[i], bytes));
    FS_CUDA(cudaMalloc(&recv_[i], bytes));
    // bf16 data keeps the reductions finite at any rank count; it is just non-zero bytes otherwise.
    fill_random(send_[i], static_cast<int64_t>(bytes / 2), DType::bf16, 1234 + i, 1.f, streams_[i]);
    FS_CUDA(cudaMemsetAsync(recv_[i], 0, bytes, streams_[i]));
  }
  capacity_ = bytes;
  synchronize();
}

void NcclGroup::launch(CollOp op, std::size_t bytes, DType dtype) {
  const std::size_t es = dtype_size(dtype);
  const std::size_t n = static_cast<std::size_t>(ranks());
  if (bytes > capacity_) throw KernelError("NcclGroup: bytes exceed reserved buffers");
  if (bytes % es) throw KernelError("NcclGroup: bytes not a multiple of the element size");
  const bool per_rank_split = op == CollOp::all_gather || op == CollOp::reduce_scatter || op == CollOp::all_to_all;
  if (per_rank_split && bytes % (es * n))
    throw KernelError(std::string(coll_op_name(op)) + ": bytes must be divisible by element size * ranks");
  if (dtype == DType::e4m3 && (op == CollOp::all_reduce || op == CollOp::reduce_scatter))
    throw KernelError("NcclGroup: fp8 reductions are not timed");
  if (op == CollOp::send_recv && n < 2) throw KernelError("send_recv needs at least 2 ranks");
  const ncclDataType_t t = nccl_type(dtype);
  const std::size_t count = bytes / es, chunk = count / n;

  FS_NCCL(ncclGroupStart());
  for (int r = 0; r < ranks(); ++r) {
    ncclComm_t c = comms_[r];
    cudaStream_t s = streams_[r];
    switch (op) {
      case CollOp::all_reduce: FS_NCCL(ncclAllReduce(send_[r], recv_[r], count, t, ncclSum, c, s)); break;
      case CollOp::all_gather: FS_NCCL(ncclAllGather(send_[r], recv_[r], chunk, t, c, s)); break;
      case CollOp::reduce_scatter: FS_NCCL(ncclReduceScatter(send_[r], recv_[r], chunk, t, ncclSum, c, s)); break;
      case CollOp::all_to_all:
        // NCCL has no all-to-all primitive; grouped point-to-point is what frameworks issue.
        for (int peer = 0; peer < ranks(); ++peer) {
          FS_NCCL(ncclSend(static_cast<char*>(send_[r]) + peer * chunk * es, chunk, t, peer, c, s));
          FS_NCCL(ncclRecv(static_cast<char*>(recv_[r]) + peer * chunk * es, chunk, t, peer, c, s));
        }
        break;
      case CollOp::send_recv: {
        const int next = (r + 1) % ranks(), prev = (r + ranks() - 1) % ranks();
        FS_NCCL(ncclSend(send_[r], count, t, next, c, s));
        FS_NCCL(ncclRecv(recv_[r], count, t, prev, c, s));
        break;
      }
    }
  }
  FS_NCCL(ncclGroupEnd());
}

double NcclGroup::time_once(CollOp op, std::size_t bytes, DType dtype) {
  for (int r = 0; r < ranks(); ++r) {
    FS_CUDA(cudaSetDevice(devices_[r]));
    FS_CUDA(cudaEventRecord(start_[r], streams_[r]));
  }
  launch(op, bytes, dtype);
  for (int r = 0; r < ranks(); ++r) {
    FS_CUDA(cudaSetDevice(devices_[r]));
    FS_CUDA(cudaEventRecord(stop_[r], streams_[r]));
  }
  double worst = 0;
  for (int r = 0; r < ranks(); ++r) {
    FS_CUDA(cudaSetDevice(devices_[r]));
    FS_CUDA(cudaEventSynchronize(stop_[r]));
    float ms = 0.f;
    FS_CUDA(cudaEventElapsedTime(&ms, start_[r], stop_[r]));
    worst = std::max(worst, ms * 1e-3);
  }
  return worst;
}

void NcclGroup::synchronize() {
  for (int r = 0; r < ranks(); ++r) {
    FS_CUDA(cudaSetDevice(devices_[r]));
    FS_CUDA(cudaStreamSynchronize(streams_[r]));
  }
}

}  // namespace foresight::kernels
