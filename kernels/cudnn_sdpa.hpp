// cuDNN's fused scaled-dot-product attention (forward), built through the cuDNN 9 backend graph
// API, timed as backend "cudnn-sdpa" because that is what frameworks run.
//
// Same tensor layouts and semantics as attention_forward (BSHD, GQA, natural-log LSE). Causal
// masking here requires seq_q == seq_kv (top-left and bottom-right alignment then coincide).
// Whether an engine exists for a shape is up to the installed cuDNN: forward() throws
// UnsupportedError with cuDNN's message when none does (and the constructor throws it when built
// without cuDNN); other cuDNN failures throw KernelError.
#pragma once
#include <cuda_runtime.h>

#include <map>
#include <memory>
#include <string>
#include <tuple>

#include "kernels/attention.hpp"

namespace foresight::kernels {

class CudnnSdpa {
 public:
  CudnnSdpa();  // throws UnsupportedError without cuDNN, KernelError when cudnnCreate fails
  ~CudnnSdpa();
  CudnnSdpa(const CudnnSdpa&) = delete;
  CudnnSdpa& operator=(const CudnnSdpa&) = delete;

  // Requires p.lse (cuDNN's softmax statistics). The first call for a shape builds and caches
  // the execution plan (engine heuristics + finalisation take milliseconds to seconds).
  void forward(const AttentionParams& p, cudaStream_t stream);

  static bool built_with_cudnn();
  static std::string version_string();

 private:
  struct Plan;
  using Key = std::tuple<int, int, int, int, int, int, bool, int, float>;
  Plan& plan_for(const AttentionParams& p);
  void* handle_ = nullptr;  // cudnnHandle_t, kept opaque so this header needs no cuDNN include
  std::map<Key, std::unique_ptr<Plan>> plans_;
  void* workspace_ = nullptr;
  std::size_t workspace_bytes_ = 0;
};

}  // namespace foresight::kernels
