// Pieces shared by the forward and backward attention kernels.
#pragma once
#include <cuda_runtime.h>

#include <cmath>
#include <string>

#include "kernels/attention.hpp"
#include "kernels/cuda_check.hpp"

namespace foresight::kernels::detail {

inline void validate_attention(const AttentionParams& p) {
  if (p.head_dim != 64 && p.head_dim != 128)
    throw KernelError("attention: head_dim must be 64 or 128, got " + std::to_string(p.head_dim));
  if (p.dtype != DType::bf16 && p.dtype != DType::f16)
    throw KernelError(std::string("attention: dtype must be bf16 or fp16, got ") + dtype_name(p.dtype));
  if (p.kv_heads <= 0 || p.heads % p.kv_heads != 0)
    throw KernelError("attention: kv_heads must divide heads");
  if (p.batch <= 0 || p.seq_q <= 0 || p.seq_kv <= 0)
    throw KernelError("attention: batch and sequence lengths must be positive");
  if (p.heads > 65535 || p.batch > 65535)
    throw KernelError("attention: heads and batch must fit a grid dimension (<= 65535)");
}

inline float attention_scale(const AttentionParams& p) {
  return p.scale != 0.f ? p.scale : 1.f / std::sqrt(static_cast<float>(p.head_dim));
}

// Copies `rows` rows of D 16-bit elements from a strided global tensor into shared memory with row
// stride `ld` (elements), zero-filling rows past `valid`. Zero fill matters: masked scores give
// P = 0, and 0 * (uninitialised NaN) would still poison the accumulator.
template <typename T, int D>
__device__ __forceinline__ void load_tile(T* dst, int ld, const T* src, long long row_stride, int rows,
                                          int valid) {
  static_assert(D % 2 == 0, "pairs");
  constexpr int kPairs = D / 2;
  for (int idx = threadIdx.x; idx < rows * kPairs; idx += blockDim.x) {
    const int r = idx / kPairs, c = (idx % kPairs) * 2;
    unsigned int w = 0u;
    if (r < valid) w = *reinterpret_cast<const unsigned int*>(src + r * row_stride + c);
    *reinterpret_cast<unsigned int*>(dst + r * ld + c) = w;
  }
}

}  // namespace foresight::kernels::detail
