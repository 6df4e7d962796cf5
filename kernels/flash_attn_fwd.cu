// FlashAttention-2-style fused forward pass (SIMT, fp32 accumulation).
//
// One block of 4 warps owns 64 query rows of one (batch, head); it streams the key/value sequence
// through shared memory in tiles of 64 and keeps a running max / sum per row (online softmax), so
// the seq_q x seq_kv score matrix never touches global memory. Each warp owns 16 query rows; lane
// j computes the scores against keys j and j+32 of the tile and owns output columns lane + 32*c.
// Plain FMA instead of tensor cores: correctness and readability over speed (see README).
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "kernels/attention_common.cuh"
#include "kernels/device_utils.cuh"

namespace foresight::kernels {
namespace {

constexpr int kThreads = 128;
constexpr int kBr = 64;  // query rows per block
constexpr int kBc = 64;  // keys per tile
constexpr int kRowsPerWarp = kBr / (kThreads / 32);

template <typename T, int D>
constexpr size_t fwd_smem_bytes() {
  // Q and K rows are padded by one 32-bit word so that 32 lanes reading 32 different rows at the
  // same column hit 32 different banks ((D+2)/2 is odd).
  return sizeof(T) * (kBr * (D + 2) + kBc * (D + 2) + kBc * D) + sizeof(float) * kBr * kBc;
}

template <typename T, int D>
__global__ void __launch_bounds__(kThreads)
    fa2_forward_kernel(const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v,
                       T* __restrict__ o, float* __restrict__ lse, int seq_q, int seq_kv, int heads,
                       int kv_heads, bool causal, float scale) {
  using namespace dev;
  constexpr int DP = D + 2;
  constexpr int CPL = D / 32;  // output columns per lane
  extern __shared__ __align__(16) unsigned char smem[];
  T* sQ = reinterpret_cast<T*>(smem);
  T* sK = sQ + kBr * DP;
  T* sV = sK + kBc * DP;
  float* sP = reinterpret_cast<float*>(sV + kBc * D);

  const int q0 = blockIdx.x * kBr, h = blockIdx.y, b = blockIdx.z;
  const int kvh = h / (heads / kv_heads);
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int off = seq_kv - seq_q;
  const float scale_log2 = scale * kLog2e;  // exp2 is one instruction; exp is two

  const long long q_row_stride = static_cast<long long>(heads) * D;
  const long long kv_row_stride = static_cast<long long>(kv_heads) * D;
  const T* qb = q + (static_cast<long long>(b) * seq_q + q0) * q_row_stride + static_cast<long long>(h) * D;
  const T* kb = k + static_cast<long long>(b) * seq_kv * kv_row_stride + static_cast<long long>(kvh) * D;
  const T* vb = v + static_cast<long long>(b) * seq_kv * kv_row_stride + static_cast<long long>(kvh) * D;

  detail::load_tile<T, D>(sQ, DP, qb, q_row_stride, kBr, seq_q - q0);

  float m[kRowsPerWarp], l[kRowsPerWarp], acc[kRowsPerWarp][CPL];
#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r) {
    m[r] = -INFINITY;
    l[r] = 0.f;
#pragma unroll
    for (int c = 0; c < CPL; ++c) acc[r][c] = 0.f;
  }

  // With causal masking no row of this block sees a key beyond (last row) + off.
  int kv_end = seq_kv;
  if (causal) kv_end = min(seq_kv, q0 + kBr + off);
  for (int k0 = 0; k0 < kv_end; k0 += kBc) {
    __syncthreads();  // the previous tile's sK/sV/sP are no longer read
    detail::load_tile<T, D>(sK, DP, kb + k0 * kv_row_stride, kv_row_stride, kBc, seq_kv - k0);
    detail::load_tile<T, D>(sV, D, vb + k0 * kv_row_stride, kv_row_stride, kBc, seq_kv - k0);
    __syncthreads();

    float s[kRowsPerWarp][2];
#pragma unroll
    for (int r = 0; r < kRowsPerWarp; ++r) s[r][0] = s[r][1] = 0.f;
#pragma unroll 4
    for (int d = 0; d < D; d += 2) {
      const float2 ka = to_f2(sK + lane * DP + d);
      const float2 kb2 = to_f2(sK + (lane + 32) * DP + d);
#pragma unroll
      for (int r = 0; r < kRowsPerWarp; ++r) {
        const float2 qv = to_f2(sQ + (warp * kRowsPerWarp + r) * DP + d);
        s[r][0] = fmaf(qv.x, ka.x, fmaf(qv.y, ka.y, s[r][0]));
        s[r][1] = fmaf(qv.x, kb2.x, fmaf(qv.y, kb2.y, s[r][1]));
      }
    }

#pragma unroll
    for (int r = 0; r < kRowsPerWarp; ++r) {
      const int row = warp * kRowsPerWarp + r;
      const int qi = q0 + row;
#pragma unroll
      for (int c = 0; c < 2; ++c) {
        const int kj = k0 + lane + 32 * c;
        const bool valid = kj < seq_kv && (!causal || kj <= qi + off);
        s[r][c] = valid ? s[r][c] * scale_log2 : -INFINITY;
      }
      const float m_new = fmaxf(m[r], warp_max(fmaxf(s[r][0], s[r][1])));
      // A row that has seen only masked keys keeps m = -inf; subtracting 0 instead of -inf avoids
      // exp2(-inf - -inf) = NaN while still giving p = 0 for the masked scores.
      const float m_use = m_new == -INFINITY ? 0.f : m_new;
      const float p0 = exp2f(s[r][0] - m_use), p1 = exp2f(s[r][1] - m_use);
      const float alpha = exp2f(m[r] - m_use);
      l[r] = l[r] * alpha + warp_sum(p0 + p1);
      m[r] = m_new;
#pragma unroll
      for (int c = 0; c < CPL; ++c) acc[r][c] *= alpha;
      sP[row * kBc + lane] = p0;
      sP[row * kBc + lane + 32] = p1;
    }
    __syncwarp();  // each warp reads back only its own rows of sP

#pragma unroll 2
    for (int j = 0; j < kBc; ++j) {
      float vv[CPL];
#pragma unroll
      for (int c = 0; c < CPL; ++c) vv[c] = to_f(sV[j * D + lane + 32 * c]);
#pragma unroll
      for (int r = 0; r < kRowsPerWarp; ++r) {
        const float p = sP[(warp * kRowsPerWarp + r) * kBc + j];
#pragma unroll
        for (int c = 0; c < CPL; ++c) acc[r][c] = fmaf(p, vv[c], acc[r][c]);
      }
    }
  }

#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r) {
    const int qi = q0 + warp * kRowsPerWarp + r;
    if (qi >= seq_q) continue;
    const float inv = l[r] > 0.f ? 1.f / l[r] : 0.f;
    T* orow = o + (static_cast<long long>(b) * seq_q + qi) * q_row_stride + static_cast<long long>(h) * D;
#pragma unroll
    for (int c = 0; c < CPL; ++c) orow[lane + 32 * c] = from_f<T>(acc[r][c] * inv);
    if (lane == 0 && lse != nullptr)
      lse[(static_cast<long long>(b) * heads + h) * seq_q + qi] =
          l[r] > 0.f ? (m[r] + log2f(l[r])) * kLn2 : -INFINITY;
  }
}

template <typename T, int D>
void launch_forward(const AttentionParams& p, cudaStream_t stream) {
  auto kernel = fa2_forward_kernel<T, D>;
  constexpr size_t smem = fwd_smem_bytes<T, D>();
  FS_CUDA(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem)));
  const dim3 grid((p.seq_q + kBr - 1) / kBr, p.heads, p.batch);
  kernel<<<grid, kThreads, smem, stream>>>(static_cast<const T*>(p.q), static_cast<const T*>(p.k),
                                           static_cast<const T*>(p.v), static_cast<T*>(p.o), p.lse,
                                           p.seq_q, p.seq_kv, p.heads, p.kv_heads, p.causal,
                                           detail::attention_scale(p));
  FS_CUDA_LAUNCH();
}

}  // namespace

double attention_forward_flops(const AttentionParams& p) {
  const double f = 4.0 * p.batch * p.heads * static_cast<double>(p.seq_q) * p.seq_kv * p.head_dim;
  return p.causal ? f / 2 : f;
}

void attention_forward(const AttentionParams& p, cudaStream_t stream) {
  detail::validate_attention(p);
  if (p.dtype == DType::bf16) {
    if (p.head_dim == 64) launch_forward<__nv_bfloat16, 64>(p, stream);
    else launch_forward<__nv_bfloat16, 128>(p, stream);
  } else {
    if (p.head_dim == 64) launch_forward<__half, 64>(p, stream);
    else launch_forward<__half, 128>(p, stream);
  }
}

}  // namespace foresight::kernels
