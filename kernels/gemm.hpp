// GEMM through cuBLASLt with heuristic algorithm selection.
//
// Row-major semantics, the way training code thinks about it:
//   layout "NN": C[m,n] = A[m,k]   * B[k,n]     (activation gradient: dX = dY * W)
//   layout "NT": C[m,n] = A[m,k]   * B[n,k]^T   (forward Linear: Y = X * W^T)
//   layout "TN": C[m,n] = A[k,m]^T * B[k,n]     (weight gradient: dW = dY^T * X)
// Internally the row-major product is computed as the column-major C^T = op(B)^T op(A)^T.
// Batched GEMMs use contiguous strided batches (stride m*k, k*n, m*n).
//
// dtypes: bf16 and fp16 (fp32 accumulate, output in the input type), tf32 (fp32 storage,
// TF32 tensor-core math), e4m3 (fp8 inputs with per-tensor fp32 scale pointers on the device,
// bf16 output, fp32 accumulate). Hopper cuBLASLt runs fp8 only with "NT" (its TN) layout; other
// layouts throw KernelError. Alignment limits (fp8 wants 16-byte leading dimensions) are left to
// cuBLASLt's heuristic: a shape it has no algorithm for throws UnsupportedError.
#pragma once
#include <cublasLt.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>
#include <tuple>

#include "kernels/dtype.hpp"

namespace foresight::kernels {

enum class GemmLayout { NN, NT, TN };
const char* gemm_layout_name(GemmLayout l);
GemmLayout parse_gemm_layout(const std::string& s);  // throws KernelError

struct GemmShape {
  int64_t m = 0, n = 0, k = 0, batch = 1;
  GemmLayout layout = GemmLayout::NT;
  DType dtype = DType::bf16;
  bool operator<(const GemmShape& o) const {
    return std::tie(m, n, k, batch, layout, dtype) < std::tie(o.m, o.n, o.k, o.batch, o.layout, o.dtype);
  }
};

// Storage type of C/D for a given input dtype (bf16 for fp8).
DType gemm_output_dtype(DType in);
double gemm_flops(const GemmShape& s);
double gemm_bytes(const GemmShape& s);  // compulsory traffic: read A and B, write C once

class LtGemm {
 public:
  // workspace_bytes: 32 MiB is what cuBLAS recommends for Hopper.
  explicit LtGemm(std::size_t workspace_bytes = 32u << 20);
  ~LtGemm();
  LtGemm(const LtGemm&) = delete;
  LtGemm& operator=(const LtGemm&) = delete;

  // C = alpha * op(A) op(B). a_scale/b_scale are device pointers to one float each (fp8 only;
  // ignored otherwise). The first call for a shape runs the heuristic; later calls reuse its plan,
  // so timing loops do not time the heuristic.
  void run(const GemmShape& s, const void* a, const void* b, void* c, cudaStream_t stream,
           const float* a_scale = nullptr, const float* b_scale = nullptr, float alpha = 1.f);
  // Throws KernelError when cuBLASLt offers no algorithm for the shape.
  void prepare(const GemmShape& s);
  std::string algo_description(const GemmShape& s);

 private:
  struct Plan;
  Plan& plan_for(const GemmShape& s);
  // Asks cuBLASLt's heuristic for up to `max_algos` algorithms for the plan's current descriptor.
  std::vector<cublasLtMatmulAlgo_t> heuristic(Plan& p, int max_algos);
  cublasLtHandle_t handle_ = nullptr;
  void* workspace_ = nullptr;
  // One device float 1.0: the fp8 scale pointers the heuristic sees before real ones are given.
  float* unit_scale_ = nullptr;
  std::size_t workspace_bytes_ = 0;
  std::map<GemmShape, std::unique_ptr<Plan>> plans_;
};

std::string cublaslt_version_string();

}  // namespace foresight::kernels
