// Decode attention over a paged KV cache (vLLM-style block table).
//
// One block of 4 warps per (query head, sequence). Warps take the context tokens round-robin; each
// lane holds head_dim/32 columns, a token's score is a warp reduction, and every warp keeps its own
// online-softmax state. The four partial states are merged in shared memory at the end. No
// split-K across blocks (flash-decoding), so a batch of one long sequence uses few SMs: see README.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cmath>
#include <string>

#include "kernels/attention.hpp"
#include "kernels/cuda_check.hpp"
#include "kernels/device_utils.cuh"

namespace foresight::kernels {
namespace {

constexpr int kWarps = 4;

template <typename T, int D>
__global__ void __launch_bounds__(kWarps * 32)
    paged_decode_kernel(const T* __restrict__ q, const T* __restrict__ kc, const T* __restrict__ vc,
                        const int* __restrict__ block_table, const int* __restrict__ context_lens,
                        T* __restrict__ out, int heads, int kv_heads, int page_size, int max_pages, float scale) {
  using namespace dev;
  constexpr int CPL = D / 32;
  __shared__ float s_m[kWarps], s_l[kWarps];
  __shared__ float s_acc[kWarps][D];

  const int h = blockIdx.x, b = blockIdx.y;
  const int kvh = h / (heads / kv_heads);
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int ctx = context_lens[b];
  const float scale_log2 = scale * kLog2e;

  float qv[CPL], acc[CPL];
  const T* qrow = q + (static_cast<long long>(b) * heads + h) * D;
#pragma unroll
  for (int c = 0; c < CPL; ++c) {
    qv[c] = to_f(qrow[lane + 32 * c]) * scale_log2;
    acc[c] = 0.f;
  }
  float m = -INFINITY, l = 0.f;
  const int* pages = block_table + static_cast<long long>(b) * max_pages;
  for (int t = warp; t < ctx; t += kWarps) {
    const long long slot = static_cast<long long>(pages[t / page_size]) * page_size + t % page_size;
    const long long base = (slot * kv_heads + kvh) * D;
    float s = 0.f;
#pragma unroll
    for (int c = 0; c < CPL; ++c) s = fmaf(qv[c], to_f(kc[base + lane + 32 * c]), s);
    s = warp_sum(s);
    const float m_new = fmaxf(m, s);
    const float alpha = exp2f(m - m_new);  // m = -inf on the first token gives 0
    const float p = exp2f(s - m_new);
    l = l * alpha + p;
#pragma unroll
    for (int c = 0; c < CPL; ++c) acc[c] = fmaf(p, to_f(vc[base + lane + 32 * c]), acc[c] * alpha);
    m = m_new;
  }
  if (lane == 0) {
    s_m[warp] = m;
    s_l[warp] = l;
  }
#pragma unroll
  for (int c = 0; c < CPL; ++c) s_acc[warp][lane + 32 * c] = acc[c];
  __syncthreads();

  float m_all = -INFINITY;
#pragma unroll
  for (int w = 0; w < kWarps; ++w) m_all = fmaxf(m_all, s_m[w]);
  T* orow = out + (static_cast<long long>(b) * heads + h) * D;
  for (int col = threadIdx.x; col < D; col += blockDim.x) {
    float num = 0.f, den = 0.f;
#pragma unroll
    for (int w = 0; w < kWarps; ++w) {
      // A warp that got no token has m = -inf and l = 0; skip it rather than form exp2(-inf - -inf).
      if (s_m[w] == -INFINITY) continue;
      const float f = exp2f(s_m[w] - m_all);
      num = fmaf(s_acc[w][col], f, num);
      den = fmaf(s_l[w], f, den);
    }
    orow[col] = from_f<T>(den > 0.f ? num / den : 0.f);
  }
}

template <typename T, int D>
void launch(const PagedDecodeParams& p, cudaStream_t stream) {
  const float scale = p.scale != 0.f ? p.scale : 1.f / std::sqrt(static_cast<float>(D));
  const dim3 grid(p.heads, p.batch);
  paged_decode_kernel<T, D><<<grid, kWarps * 32, 0, stream>>>(
      static_cast<const T*>(p.q), static_cast<const T*>(p.k_cache), static_cast<const T*>(p.v_cache),
      p.block_table, p.context_lens, static_cast<T*>(p.out), p.heads, p.kv_heads, p.page_size,
      p.max_pages_per_seq, scale);
  FS_CUDA_LAUNCH();
}

}  // namespace

void paged_decode_attention(const PagedDecodeParams& p, cudaStream_t stream) {
  if (p.head_dim != 64 && p.head_dim != 128)
    throw KernelError("paged_decode_attention: head_dim must be 64 or 128, got " + std::to_string(p.head_dim));
  if (p.kv_heads <= 0 || p.heads % p.kv_heads != 0) throw KernelError("paged_decode_attention: kv_heads must divide heads");
  if (p.page_size <= 0 || p.max_pages_per_seq <= 0) throw KernelError("paged_decode_attention: bad page geometry");
  if (p.batch <= 0 || p.batch > 65535) throw KernelError("paged_decode_attention: batch must be in 1..65535");
  if (p.dtype == DType::bf16) {
    if (p.head_dim == 64) launch<__nv_bfloat16, 64>(p, stream);
    else launch<__nv_bfloat16, 128>(p, stream);
  } else if (p.dtype == DType::f16) {
    if (p.head_dim == 64) launch<__half, 64>(p, stream);
    else launch<__half, 128>(p, stream);
  } else {
    throw KernelError(std::string("paged_decode_attention: dtype must be bf16 or fp16, got ") + dtype_name(p.dtype));
  }
}

}  // namespace foresight::kernels
