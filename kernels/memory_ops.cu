// Memory-bound operators. Elementwise kernels move 16-byte vectors when the pointers allow it,
// because scalar 2-byte accesses leave a large part of HBM bandwidth unused and the harness
// calibrates bandwidth-bound cost models from these timings.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_fp8.h>

#include <algorithm>
#include <string>
#include <type_traits>

#include "kernels/cuda_check.hpp"
#include "kernels/device_utils.cuh"
#include "kernels/memory_ops.hpp"

namespace foresight::kernels {
namespace {

using dev::from_f;
using dev::to_f;

unsigned grid_for(int64_t work, int threads) {
  // Grid-stride loops: enough blocks to fill any current GPU many times over, not one per element.
  return static_cast<unsigned>(std::max<int64_t>(1, std::min<int64_t>((work + threads - 1) / threads, 65536)));
}

bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15u) == 0; }

template <typename T>
struct alignas(16) Pack {
  static constexpr int N = 16 / sizeof(T);
  T v[N];
};

// Applies f(a_i, b_i) -> out_i over n elements, vectorised when every pointer is 16-byte aligned.
template <typename T, typename F>
__global__ void binary_kernel(const T* __restrict__ a, const T* __restrict__ b, T* __restrict__ out, int64_t n,
                              bool vec, F f) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  int64_t start = 0;
  if (vec) {
    constexpr int N = Pack<T>::N;
    const int64_t nv = n / N;
    auto* av = reinterpret_cast<const Pack<T>*>(a);
    auto* bv = reinterpret_cast<const Pack<T>*>(b);
    auto* ov = reinterpret_cast<Pack<T>*>(out);
    for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < nv; i += stride) {
      const Pack<T> x = av[i];
      Pack<T> y;
      if (b) {
        const Pack<T> z = bv[i];
#pragma unroll
        for (int j = 0; j < N; ++j) y.v[j] = from_f<T>(f(to_f(x.v[j]), to_f(z.v[j])));
      } else {
#pragma unroll
        for (int j = 0; j < N; ++j) y.v[j] = from_f<T>(f(to_f(x.v[j]), 0.f));
      }
      ov[i] = y;
    }
    start = nv * N;
  }
  for (int64_t i = start + blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n; i += stride)
    out[i] = from_f<T>(f(to_f(a[i]), b ? to_f(b[i]) : 0.f));
}

struct AddOp {
  __device__ float operator()(float x, float y) const { return x + y; }
};
struct SwigluOp {
  __device__ float operator()(float g, float u) const { return g / (1.f + expf(-g)) * u; }
};
struct GeluOp {
  __device__ float operator()(float x, float) const { return 0.5f * x * (1.f + erff(x * 0.70710678118654752f)); }
};

template <typename F>
void launch_binary(const void* a, const void* b, void* out, int64_t n, DType dtype, cudaStream_t s, F f) {
  const bool vec = aligned16(a) && (b == nullptr || aligned16(b)) && aligned16(out);
  const unsigned grid = grid_for(vec ? n / 8 + 1 : n, 256);
  switch (dtype) {
    case DType::f32:
      binary_kernel<float><<<grid, 256, 0, s>>>(static_cast<const float*>(a), static_cast<const float*>(b),
                                                 static_cast<float*>(out), n, vec, f);
      break;
    case DType::f16:
      binary_kernel<__half><<<grid, 256, 0, s>>>(static_cast<const __half*>(a), static_cast<const __half*>(b),
                                                  static_cast<__half*>(out), n, vec, f);
      break;
    case DType::bf16:
      binary_kernel<__nv_bfloat16><<<grid, 256, 0, s>>>(static_cast<const __nv_bfloat16*>(a),
                                                         static_cast<const __nv_bfloat16*>(b),
                                                         static_cast<__nv_bfloat16*>(out), n, vec, f);
      break;
    default:
      throw KernelError(std::string("elementwise op: unsupported dtype ") + dtype_name(dtype));
  }
  FS_CUDA_LAUNCH();
}

// One block per row. Reads the row once for the statistic and once more to write; the second read
// usually hits L1/L2 for the row sizes of LLM hidden dimensions.
template <typename T>
__global__ void rmsnorm_kernel(const T* __restrict__ x, const T* __restrict__ w, T* __restrict__ y, int64_t cols,
                               float eps) {
  __shared__ float scratch[32];
  const T* xr = x + blockIdx.x * cols;
  T* yr = y + blockIdx.x * cols;
  float ss = 0.f;
  for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) {
    const float v = to_f(xr[c]);
    ss = fmaf(v, v, ss);
  }
  const float inv = rsqrtf(dev::block_sum(ss, scratch) / static_cast<float>(cols) + eps);
  for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) yr[c] = from_f<T>(to_f(xr[c]) * inv * to_f(w[c]));
}

template <typename T>
__global__ void layernorm_kernel(const T* __restrict__ x, const T* __restrict__ w, const T* __restrict__ b,
                                 T* __restrict__ y, int64_t cols, float eps) {
  __shared__ float scratch[32];
  const T* xr = x + blockIdx.x * cols;
  T* yr = y + blockIdx.x * cols;
  float s = 0.f;
  for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) s += to_f(xr[c]);
  const float mean = dev::block_sum(s, scratch) / static_cast<float>(cols);
  // Two-pass variance: E[x^2] - mean^2 cancels catastrophically when |mean| >> std.
  float sq = 0.f;
  for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) {
    const float d = to_f(xr[c]) - mean;
    sq = fmaf(d, d, sq);
  }
  const float inv = rsqrtf(dev::block_sum(sq, scratch) / static_cast<float>(cols) + eps);
  for (int64_t c = threadIdx.x; c < cols; c += blockDim.x)
    yr[c] = from_f<T>((to_f(xr[c]) - mean) * inv * to_f(w[c]) + to_f(b[c]));
}

template <typename T>
__global__ void rope_kernel(const T* __restrict__ x, T* __restrict__ out, const int32_t* __restrict__ pos,
                            int64_t tokens, int heads, int head_dim, float theta) {
  const int half = head_dim / 2;
  const int64_t total = tokens * heads * half;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int j = static_cast<int>(i % half);
    const int64_t th = i / half;  // token * heads + head
    const int64_t t = th / heads;
    // Full-precision powf/sincosf: angles reach thousands of radians at long positions, where the
    // fast intrinsics lose all accuracy.
    const float inv_freq = powf(theta, -2.f * static_cast<float>(j) / static_cast<float>(head_dim));
    float sn, cs;
    sincosf(static_cast<float>(pos[t]) * inv_freq, &sn, &cs);
    const int64_t base = th * head_dim;
    const float x1 = to_f(x[base + j]), x2 = to_f(x[base + j + half]);
    out[base + j] = from_f<T>(x1 * cs - x2 * sn);
    out[base + j + half] = from_f<T>(x2 * cs + x1 * sn);
  }
}

// One block per row: online max/sum (one read), then an optional second read for the gradient.
template <typename T>
__global__ void softmax_xent_kernel(const T* __restrict__ logits, const int32_t* __restrict__ labels,
                                    float* __restrict__ loss, T* __restrict__ grad, int64_t vocab, float grad_scale) {
  __shared__ float scratch[32];
  const T* xr = logits + blockIdx.x * vocab;
  float m = -INFINITY, s = 0.f;
  for (int64_t c = threadIdx.x; c < vocab; c += blockDim.x) {
    const float v = to_f(xr[c]);
    if (v > m) {
      s = s * expf(m - v) + 1.f;
      m = v;
    } else {
      s += expf(v - m);
    }
  }
  const float row_max = dev::block_max(m, scratch);
  const float total = dev::block_sum(m == -INFINITY ? 0.f : s * expf(m - row_max), scratch);
  const float lse = row_max + logf(total);
  const int32_t label = labels[blockIdx.x];
  if (threadIdx.x == 0) loss[blockIdx.x] = label >= 0 && label < vocab ? lse - to_f(xr[label]) : 0.f;
  if (grad == nullptr) return;
  T* gr = grad + blockIdx.x * vocab;
  const float gs = label >= 0 ? grad_scale : 0.f;
  for (int64_t c = threadIdx.x; c < vocab; c += blockDim.x)
    gr[c] = from_f<T>((expf(to_f(xr[c]) - lse) - (c == label ? 1.f : 0.f)) * gs);
}

__global__ void copy_kernel(const uint4* __restrict__ src, uint4* __restrict__ dst, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    dst[i] = src[i];
}
__global__ void copy_bytes_kernel(const unsigned char* __restrict__ src, unsigned char* __restrict__ dst, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    dst[i] = src[i];
}

__device__ __forceinline__ uint64_t splitmix64(uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

template <typename T>
__global__ void fill_kernel(T* p, int64_t n, uint64_t seed, float scale) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const uint64_t r = splitmix64(seed * 0x2545F4914F6CDD1Dull + static_cast<uint64_t>(i));
    const float mag = 0.1f + 0.9f * static_cast<float>(r >> 40) * (1.f / 16777216.f);
    const float v = (r & 1u) ? mag * scale : -mag * scale;
    if constexpr (std::is_same_v<T, __nv_fp8_e4m3>) p[i] = __nv_fp8_e4m3(v);
    else p[i] = from_f<T>(v);
  }
}

template <typename T>
__global__ void nonfinite_kernel(const T* p, int64_t n, unsigned long long* count) {
  unsigned long long local = 0;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    float v;
    if constexpr (std::is_same_v<T, __nv_fp8_e4m3>) v = static_cast<float>(p[i]);
    else v = to_f(p[i]);
    local += isfinite(v) ? 0 : 1;
  }
  if (local) atomicAdd(count, local);
}

}  // namespace

void rmsnorm(const void* x, const void* w, void* y, int64_t rows, int64_t cols, float eps, DType dtype,
             cudaStream_t s) {
  if (rows <= 0 || cols <= 0) return;
  switch (dtype) {
    case DType::f32: rmsnorm_kernel<float><<<rows, 256, 0, s>>>((const float*)x, (const float*)w, (float*)y, cols, eps); break;
    case DType::f16: rmsnorm_kernel<__half><<<rows, 256, 0, s>>>((const __half*)x, (const __half*)w, (__half*)y, cols, eps); break;
    case DType::bf16:
      rmsnorm_kernel<__nv_bfloat16><<<rows, 256, 0, s>>>((const __nv_bfloat16*)x, (const __nv_bfloat16*)w,
                                                          (__nv_bfloat16*)y, cols, eps);
      break;
    default: throw KernelError(std::string("rmsnorm: unsupported dtype ") + dtype_name(dtype));
  }
  FS_CUDA_LAUNCH();
}

void layernorm(const void* x, const void* w, const void* b, void* y, int64_t rows, int64_t cols, float eps,
               DType dtype, cudaStream_t s) {
  if (rows <= 0 || cols <= 0) return;
  switch (dtype) {
    case DType::f32:
      layernorm_kernel<float><<<rows, 256, 0, s>>>((const float*)x, (const float*)w, (const float*)b, (float*)y, cols, eps);
      break;
    case DType::f16:
      layernorm_kernel<__half><<<rows, 256, 0, s>>>((const __half*)x, (const __half*)w, (const __half*)b, (__half*)y, cols, eps);
      break;
    case DType::bf16:
      layernorm_kernel<__nv_bfloat16><<<rows, 256, 0, s>>>((const __nv_bfloat16*)x, (const __nv_bfloat16*)w,
                                                            (const __nv_bfloat16*)b, (__nv_bfloat16*)y, cols, eps);
      break;
    default: throw KernelError(std::string("layernorm: unsupported dtype ") + dtype_name(dtype));
  }
  FS_CUDA_LAUNCH();
}

void swiglu(const void* gate, const void* up, void* out, int64_t n, DType dtype, cudaStream_t s) {
  if (n > 0) launch_binary(gate, up, out, n, dtype, s, SwigluOp{});
}
void gelu(const void* x, void* out, int64_t n, DType dtype, cudaStream_t s) {
  if (n > 0) launch_binary(x, nullptr, out, n, dtype, s, GeluOp{});
}
void add(const void* a, const void* b, void* c, int64_t n, DType dtype, cudaStream_t s) {
  if (n > 0) launch_binary(a, b, c, n, dtype, s, AddOp{});
}

void rope(const void* x, void* out, const int32_t* positions, int64_t tokens, int heads, int head_dim, float theta,
          DType dtype, cudaStream_t s) {
  if (head_dim % 2 != 0) throw KernelError("rope: head_dim must be even");
  const int64_t work = tokens * heads * (head_dim / 2);
  if (work <= 0) return;
  const unsigned grid = grid_for(work, 256);
  switch (dtype) {
    case DType::f32: rope_kernel<float><<<grid, 256, 0, s>>>((const float*)x, (float*)out, positions, tokens, heads, head_dim, theta); break;
    case DType::f16: rope_kernel<__half><<<grid, 256, 0, s>>>((const __half*)x, (__half*)out, positions, tokens, heads, head_dim, theta); break;
    case DType::bf16:
      rope_kernel<__nv_bfloat16><<<grid, 256, 0, s>>>((const __nv_bfloat16*)x, (__nv_bfloat16*)out, positions, tokens,
                                                       heads, head_dim, theta);
      break;
    default: throw KernelError(std::string("rope: unsupported dtype ") + dtype_name(dtype));
  }
  FS_CUDA_LAUNCH();
}

void softmax_cross_entropy(const void* logits, const int32_t* labels, float* loss, void* grad, int64_t rows,
                           int64_t vocab, float grad_scale, DType dtype, cudaStream_t s) {
  if (rows <= 0 || vocab <= 0) return;
  switch (dtype) {
    case DType::f32:
      softmax_xent_kernel<float><<<rows, 512, 0, s>>>((const float*)logits, labels, loss, (float*)grad, vocab, grad_scale);
      break;
    case DType::f16:
      softmax_xent_kernel<__half><<<rows, 512, 0, s>>>((const __half*)logits, labels, loss, (__half*)grad, vocab, grad_scale);
      break;
    case DType::bf16:
      softmax_xent_kernel<__nv_bfloat16><<<rows, 512, 0, s>>>((const __nv_bfloat16*)logits, labels, loss,
                                                               (__nv_bfloat16*)grad, vocab, grad_scale);
      break;
    default: throw KernelError(std::string("softmax_cross_entropy: unsupported dtype ") + dtype_name(dtype));
  }
  FS_CUDA_LAUNCH();
}

void copy(const void* src, void* dst, std::size_t bytes, cudaStream_t s) {
  if (bytes == 0) return;
  if (aligned16(src) && aligned16(dst) && bytes % 16 == 0) {
    const int64_t n = static_cast<int64_t>(bytes / 16);
    copy_kernel<<<grid_for(n, 256), 256, 0, s>>>(static_cast<const uint4*>(src), static_cast<uint4*>(dst), n);
  } else {
    const int64_t n = static_cast<int64_t>(bytes);
    copy_bytes_kernel<<<grid_for(n, 256), 256, 0, s>>>(static_cast<const unsigned char*>(src),
                                                       static_cast<unsigned char*>(dst), n);
  }
  FS_CUDA_LAUNCH();
}

void fill_random(void* p, int64_t n, DType dtype, uint64_t seed, float scale, cudaStream_t s) {
  if (n <= 0) return;
  const unsigned grid = grid_for(n, 256);
  switch (dtype) {
    case DType::f32: case DType::tf32: fill_kernel<float><<<grid, 256, 0, s>>>((float*)p, n, seed, scale); break;
    case DType::f16: fill_kernel<__half><<<grid, 256, 0, s>>>((__half*)p, n, seed, scale); break;
    case DType::bf16: fill_kernel<__nv_bfloat16><<<grid, 256, 0, s>>>((__nv_bfloat16*)p, n, seed, scale); break;
    case DType::e4m3: fill_kernel<__nv_fp8_e4m3><<<grid, 256, 0, s>>>((__nv_fp8_e4m3*)p, n, seed, scale); break;
  }
  FS_CUDA_LAUNCH();
}

void poison(void* p, std::size_t bytes, cudaStream_t s) { FS_CUDA(cudaMemsetAsync(p, 0xFF, bytes, s)); }

int64_t count_nonfinite(const void* p, int64_t n, DType dtype, cudaStream_t s) {
  unsigned long long* d_count = nullptr;
  FS_CUDA(cudaMallocAsync(&d_count, sizeof(*d_count), s));
  FS_CUDA(cudaMemsetAsync(d_count, 0, sizeof(*d_count), s));
  const unsigned grid = grid_for(n, 256);
  switch (dtype) {
    case DType::f32: case DType::tf32: nonfinite_kernel<float><<<grid, 256, 0, s>>>((const float*)p, n, d_count); break;
    case DType::f16: nonfinite_kernel<__half><<<grid, 256, 0, s>>>((const __half*)p, n, d_count); break;
    case DType::bf16: nonfinite_kernel<__nv_bfloat16><<<grid, 256, 0, s>>>((const __nv_bfloat16*)p, n, d_count); break;
    case DType::e4m3: nonfinite_kernel<__nv_fp8_e4m3><<<grid, 256, 0, s>>>((const __nv_fp8_e4m3*)p, n, d_count); break;
  }
  FS_CUDA_LAUNCH();
  unsigned long long h = 0;
  FS_CUDA(cudaMemcpyAsync(&h, d_count, sizeof(h), cudaMemcpyDeviceToHost, s));
  FS_CUDA(cudaFreeAsync(d_count, s));
  FS_CUDA(cudaStreamSynchronize(s));
  return static_cast<int64_t>(h);
}

}  // namespace foresight::kernels
