// Memory-bound operators of a transformer layer. All tensors are contiguous row-major; T is the
// storage type given by `dtype` (fp32, fp16 or bf16) and all arithmetic is fp32.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "kernels/dtype.hpp"

namespace foresight::kernels {

// y[r, :] = x[r, :] / sqrt(mean(x[r, :]^2) + eps) * w
void rmsnorm(const void* x, const void* w, void* y, int64_t rows, int64_t cols, float eps, DType dtype,
             cudaStream_t stream);
// y[r, :] = (x[r, :] - mean) / sqrt(var + eps) * w + b   (biased variance, as torch.nn.LayerNorm)
void layernorm(const void* x, const void* w, const void* b, void* y, int64_t rows, int64_t cols, float eps,
               DType dtype, cudaStream_t stream);
// out = silu(gate) * up, elementwise over n elements (Llama MLP).
void swiglu(const void* gate, const void* up, void* out, int64_t n, DType dtype, cudaStream_t stream);
// out = gelu(x) with the exact erf form.
void gelu(const void* x, void* out, int64_t n, DType dtype, cudaStream_t stream);
// Rotary embedding, rotate-half (GPT-NeoX / Llama) pairing (i, i + head_dim/2):
//   x, out: [tokens, heads, head_dim]; positions: [tokens] int32;
//   angle = pos * theta^(-2i/head_dim).
void rope(const void* x, void* out, const int32_t* positions, int64_t tokens, int heads, int head_dim,
          float theta, DType dtype, cudaStream_t stream);
// Fused softmax + cross-entropy over logits [rows, vocab] with int32 labels (label < 0 is
// ignored: loss 0, grad 0). loss[r] (fp32) = logsumexp(x[r]) - x[r, label]. When grad != nullptr
// also writes grad = (softmax(x) - onehot(label)) * grad_scale in the logits' dtype.
void softmax_cross_entropy(const void* logits, const int32_t* labels, float* loss, void* grad, int64_t rows,
                           int64_t vocab, float grad_scale, DType dtype, cudaStream_t stream);
// c = a + b
void add(const void* a, const void* b, void* c, int64_t n, DType dtype, cudaStream_t stream);
// Device-to-device copy through a vectorised kernel (cudaMemcpyAsync is timed by the harness as a
// separate backend).
void copy(const void* src, void* dst, std::size_t bytes, cudaStream_t stream);

// Utilities used by the harness and the tests.
// Fills n elements with values of random sign and magnitude in [0.1, 1] * scale (never zero), from
// a counter-based hash of (seed, index) so results do not depend on the launch geometry.
void fill_random(void* p, int64_t n, DType dtype, uint64_t seed, float scale, cudaStream_t stream);
// Writes an all-ones bit pattern, a NaN in fp32, fp16, bf16 and e4m3, so unwritten outputs show.
void poison(void* p, std::size_t bytes, cudaStream_t stream);
// Number of NaN/Inf elements among n; synchronises the stream.
int64_t count_nonfinite(const void* p, int64_t n, DType dtype, cudaStream_t stream);

}  // namespace foresight::kernels
