// FlashAttention-2-style backward pass (SIMT, fp32 accumulation).
//
// Following FA2: D_i = rowsum(dO_i * O_i) first; then one block per (key tile, kv head, batch)
// walks every query tile of every query head in its GQA group, recomputing P = exp(S - lse) from
// the forward's log-sum-exp, and accumulates dK and dV in registers (no atomics for them because a
// block owns its keys for the whole group). dQ receives contributions from every key tile, so it
// is accumulated with fp32 atomics into a workspace and converted at the end.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "kernels/attention_common.cuh"
#include "kernels/device_utils.cuh"

namespace foresight::kernels {
namespace {

constexpr int kThreads = 128;
constexpr int kBc = 32;  // keys per block
constexpr int kBr = 64;  // queries per inner tile
constexpr int kKeysPerWarp = kBc / (kThreads / 32);

template <typename T, int D>
constexpr size_t bwd_smem_bytes() {
  return sizeof(T) * (2 * kBc * D + 2 * kBr * (D + 2)) + sizeof(float) * (2 * kBc * kBr + 2 * kBr);
}

// delta[b, h, i] = sum_d dO[b, i, h, d] * O[b, i, h, d]; one warp per row.
template <typename T, int D>
__global__ void bwd_delta_kernel(const T* __restrict__ o, const T* __restrict__ dout, float* __restrict__ delta,
                                 int batch, int seq_q, int heads) {
  using namespace dev;
  const long long row = static_cast<long long>(blockIdx.x) * (blockDim.x / 32) + (threadIdx.x >> 5);
  const int lane = threadIdx.x & 31;
  if (row >= static_cast<long long>(batch) * seq_q * heads) return;
  // row enumerates (b, i, h) in memory order; delta is stored as (b, h, i).
  const int h = static_cast<int>(row % heads);
  const long long bi = row / heads;
  const int i = static_cast<int>(bi % seq_q);
  const int b = static_cast<int>(bi / seq_q);
  float s = 0.f;
  for (int c = lane; c < D; c += 32) s += to_f(o[row * D + c]) * to_f(dout[row * D + c]);
  s = warp_sum(s);
  if (lane == 0) delta[(static_cast<long long>(b) * heads + h) * seq_q + i] = s;
}

template <typename T>
__global__ void convert_kernel(const float* __restrict__ src, T* __restrict__ dst, long long n) {
  for (long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<long long>(gridDim.x) * blockDim.x)
    dst[i] = dev::from_f<T>(src[i]);
}

template <typename T, int D>
__global__ void __launch_bounds__(kThreads)
    fa2_backward_kernel(const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v,
                        const T* __restrict__ dout, const float* __restrict__ lse,
                        const float* __restrict__ delta, float* __restrict__ dq_acc, T* __restrict__ dk,
                        T* __restrict__ dv, int seq_q, int seq_kv, int heads, int kv_heads, bool causal,
                        float scale) {
  using namespace dev;
  constexpr int DP = D + 2;  // odd word stride: conflict-free when lanes read different rows
  constexpr int CPL = D / 32;
  extern __shared__ __align__(16) unsigned char smem[];
  T* sK = reinterpret_cast<T*>(smem);
  T* sV = sK + kBc * D;
  T* sQ = sV + kBc * D;
  T* sdO = sQ + kBr * DP;
  float* sP = reinterpret_cast<float*>(sdO + kBr * DP);  // [kBc][kBr], P transposed
  float* sdS = sP + kBc * kBr;                           // [kBc][kBr]
  float* sLse = sdS + kBc * kBr;
  float* sDelta = sLse + kBr;

  const int k0 = blockIdx.x * kBc, kvh = blockIdx.y, b = blockIdx.z;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int group = heads / kv_heads;
  const int off = seq_kv - seq_q;
  const float scale_log2 = scale * kLog2e;
  const long long q_row_stride = static_cast<long long>(heads) * D;
  const long long kv_row_stride = static_cast<long long>(kv_heads) * D;
  const long long kv_base = (static_cast<long long>(b) * seq_kv + k0) * kv_row_stride + static_cast<long long>(kvh) * D;

  detail::load_tile<T, D>(sK, D, k + kv_base, kv_row_stride, kBc, seq_kv - k0);
  detail::load_tile<T, D>(sV, D, v + kv_base, kv_row_stride, kBc, seq_kv - k0);

  float dk_acc[kKeysPerWarp][CPL], dv_acc[kKeysPerWarp][CPL];
#pragma unroll
  for (int kk = 0; kk < kKeysPerWarp; ++kk)
#pragma unroll
    for (int c = 0; c < CPL; ++c) dk_acc[kk][c] = dv_acc[kk][c] = 0.f;

  // Query i sees key j iff i >= j - off, so queries below k0 - off never see this tile.
  int q_start = 0;
  if (causal) q_start = max(0, (k0 - off) / kBr * kBr);

  for (int hh = 0; hh < group; ++hh) {
    const int h = kvh * group + hh;
    for (int q0 = q_start; q0 < seq_q; q0 += kBr) {
      __syncthreads();  // previous tile fully consumed
      const long long q_base = (static_cast<long long>(b) * seq_q + q0) * q_row_stride + static_cast<long long>(h) * D;
      detail::load_tile<T, D>(sQ, DP, q + q_base, q_row_stride, kBr, seq_q - q0);
      detail::load_tile<T, D>(sdO, DP, dout + q_base, q_row_stride, kBr, seq_q - q0);
      for (int i = threadIdx.x; i < kBr; i += kThreads) {
        const int qi = q0 + i;
        float l = INFINITY, dl = 0.f;  // +inf lse makes P = 0 for padding rows
        if (qi < seq_q) {
          const long long idx = (static_cast<long long>(b) * heads + h) * seq_q + qi;
          l = lse[idx];
          dl = delta[idx];
          if (l == -INFINITY) l = INFINITY;  // a row that saw no key has P = 0, not exp(+inf)
        }
        sLse[i] = l * kLog2e;
        sDelta[i] = dl;
      }
      __syncthreads();

      // S^T and dP^T for this warp's keys against query rows lane and lane+32.
      float st[kKeysPerWarp][2], dpt[kKeysPerWarp][2];
#pragma unroll
      for (int kk = 0; kk < kKeysPerWarp; ++kk) st[kk][0] = st[kk][1] = dpt[kk][0] = dpt[kk][1] = 0.f;
#pragma unroll 2
      for (int d = 0; d < D; d += 2) {
        const float2 qa = to_f2(sQ + lane * DP + d), qb = to_f2(sQ + (lane + 32) * DP + d);
        const float2 ga = to_f2(sdO + lane * DP + d), gb = to_f2(sdO + (lane + 32) * DP + d);
#pragma unroll
        for (int kk = 0; kk < kKeysPerWarp; ++kk) {
          const int key = warp * kKeysPerWarp + kk;
          const float2 kv = to_f2(sK + key * D + d), vv = to_f2(sV + key * D + d);
          st[kk][0] = fmaf(qa.x, kv.x, fmaf(qa.y, kv.y, st[kk][0]));
          st[kk][1] = fmaf(qb.x, kv.x, fmaf(qb.y, kv.y, st[kk][1]));
          dpt[kk][0] = fmaf(ga.x, vv.x, fmaf(ga.y, vv.y, dpt[kk][0]));
          dpt[kk][1] = fmaf(gb.x, vv.x, fmaf(gb.y, vv.y, dpt[kk][1]));
        }
      }
#pragma unroll
      for (int kk = 0; kk < kKeysPerWarp; ++kk) {
        const int key = warp * kKeysPerWarp + kk;
        const int kj = k0 + key;
#pragma unroll
        for (int c = 0; c < 2; ++c) {
          const int row = lane + 32 * c;
          const int qi = q0 + row;
          const bool valid = kj < seq_kv && qi < seq_q && (!causal || kj <= qi + off);
          const float p = valid ? exp2f(st[kk][c] * scale_log2 - sLse[row]) : 0.f;
          sP[key * kBr + row] = p;
          sdS[key * kBr + row] = p * (dpt[kk][c] - sDelta[row]);
        }
      }
      __syncthreads();  // dQ below reads every warp's dS

      // dV += P^T dO and dK += dS^T Q for this warp's keys; lane owns columns lane + 32*c.
#pragma unroll 2
      for (int i = 0; i < kBr; ++i) {
        float gv[CPL], qv[CPL];
#pragma unroll
        for (int c = 0; c < CPL; ++c) {
          gv[c] = to_f(sdO[i * DP + lane + 32 * c]);
          qv[c] = to_f(sQ[i * DP + lane + 32 * c]);
        }
#pragma unroll
        for (int kk = 0; kk < kKeysPerWarp; ++kk) {
          const int key = warp * kKeysPerWarp + kk;
          const float p = sP[key * kBr + i], ds = sdS[key * kBr + i];
#pragma unroll
          for (int c = 0; c < CPL; ++c) {
            dv_acc[kk][c] = fmaf(p, gv[c], dv_acc[kk][c]);
            dk_acc[kk][c] = fmaf(ds, qv[c], dk_acc[kk][c]);
          }
        }
      }

      // dQ[i, :] += scale * sum_j dS[i, j] K[j, :] over this block's keys.
      const int rows = min(kBr, seq_q - q0);
      for (int idx = threadIdx.x; idx < rows * D; idx += kThreads) {
        const int i = idx / D, col = idx % D;
        float sum = 0.f;
#pragma unroll 8
        for (int j = 0; j < kBc; ++j) sum = fmaf(sdS[j * kBr + i], to_f(sK[j * D + col]), sum);
        if (sum != 0.f) atomicAdd(dq_acc + q_base + static_cast<long long>(i) * q_row_stride + col, sum * scale);
      }
    }
  }

#pragma unroll
  for (int kk = 0; kk < kKeysPerWarp; ++kk) {
    const int kj = k0 + warp * kKeysPerWarp + kk;
    if (kj >= seq_kv) continue;
    const long long base = kv_base + static_cast<long long>(warp * kKeysPerWarp + kk) * kv_row_stride;
#pragma unroll
    for (int c = 0; c < CPL; ++c) {
      dk[base + lane + 32 * c] = dev::from_f<T>(dk_acc[kk][c] * scale);
      dv[base + lane + 32 * c] = dev::from_f<T>(dv_acc[kk][c]);
    }
  }
}

struct Workspace {
  float* dq_acc;
  float* delta;
};

Workspace split_workspace(const AttentionParams& p, void* ws) {
  auto* base = static_cast<float*>(ws);
  const long long n_dq = static_cast<long long>(p.batch) * p.seq_q * p.heads * p.head_dim;
  return {base, base + n_dq};
}

template <typename T, int D>
void launch_backward(const AttentionBackwardParams& bp, cudaStream_t stream) {
  const AttentionParams& p = bp.fwd;
  const Workspace ws = split_workspace(p, bp.workspace);
  const long long n_dq = static_cast<long long>(p.batch) * p.seq_q * p.heads * D;
  FS_CUDA(cudaMemsetAsync(ws.dq_acc, 0, n_dq * sizeof(float), stream));

  const long long rows = static_cast<long long>(p.batch) * p.seq_q * p.heads;
  bwd_delta_kernel<T, D><<<static_cast<unsigned>((rows + 7) / 8), 256, 0, stream>>>(
      static_cast<const T*>(p.o), static_cast<const T*>(bp.dout), ws.delta, p.batch, p.seq_q, p.heads);
  FS_CUDA_LAUNCH();

  auto kernel = fa2_backward_kernel<T, D>;
  constexpr size_t smem = bwd_smem_bytes<T, D>();
  FS_CUDA(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem)));
  const dim3 grid((p.seq_kv + kBc - 1) / kBc, p.kv_heads, p.batch);
  kernel<<<grid, kThreads, smem, stream>>>(
      static_cast<const T*>(p.q), static_cast<const T*>(p.k), static_cast<const T*>(p.v),
      static_cast<const T*>(bp.dout), p.lse, ws.delta, ws.dq_acc, static_cast<T*>(bp.dk),
      static_cast<T*>(bp.dv), p.seq_q, p.seq_kv, p.heads, p.kv_heads, p.causal, detail::attention_scale(p));
  FS_CUDA_LAUNCH();

  const unsigned blocks = static_cast<unsigned>(std::min<long long>((n_dq + 255) / 256, 65535LL * 8));
  convert_kernel<T><<<blocks, 256, 0, stream>>>(ws.dq_acc, static_cast<T*>(bp.dq), n_dq);
  FS_CUDA_LAUNCH();
}

}  // namespace

std::size_t attention_backward_workspace_bytes(const AttentionParams& p) {
  const std::size_t n_dq = static_cast<std::size_t>(p.batch) * p.seq_q * p.heads * p.head_dim;
  const std::size_t n_delta = static_cast<std::size_t>(p.batch) * p.heads * p.seq_q;
  return (n_dq + n_delta) * sizeof(float);
}

void attention_backward(const AttentionBackwardParams& bp, cudaStream_t stream) {
  const AttentionParams& p = bp.fwd;
  detail::validate_attention(p);
  if (!p.lse || !p.o || !bp.dout || !bp.dq || !bp.dk || !bp.dv || !bp.workspace)
    throw KernelError("attention_backward: o, lse, dout, dq, dk, dv and workspace are required");
  if (p.dtype == DType::bf16) {
    if (p.head_dim == 64) launch_backward<__nv_bfloat16, 64>(bp, stream);
    else launch_backward<__nv_bfloat16, 128>(bp, stream);
  } else {
    if (p.head_dim == 64) launch_backward<__half, 64>(bp, stream);
    else launch_backward<__half, 128>(bp, stream);
  }
}

}  // namespace foresight::kernels
